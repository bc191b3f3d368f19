//! The one error type of the MNS client.

use std::time::Duration;

use crate::alibaba::credentials::CredentialsError;
use crate::consumer::{ErrorClass, SourceError};
use crate::transport::TlsProblem;

/// Everything that can go wrong calling MNS.
///
/// Each variant keeps what a person needs to act on it (the operation, MNS's code, message,
/// `RequestId` and `HostId`, the HTTP status, a snippet of an unreadable body) and never a
/// secret. Branch on [`Error::is_retryable`], [`Error::is_fatal`] and [`Error::code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// MNS refused the request with an `<Error>` body (or, for one handle of a batch
    /// delete, an `<Errors>` entry).
    #[error("{operation} was refused by MNS (HTTP {status}): {code}: {message} (RequestId {request_id}, HostId {host_id})")]
    Api {
        /// The operation, e.g. `BatchReceiveMessage`.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The MNS error code, e.g. `MessageNotExist`.
        code: String,
        /// The service's message, as sent.
        message: String,
        /// The `RequestId` to quote to support (empty if none was sent).
        request_id: String,
        /// The `HostId` (empty if none was sent).
        host_id: String,
    },
    /// A status MNS does not use for its own errors, without an `<Error>` body (a proxy, a
    /// load balancer).
    #[error("{operation} got HTTP status {status}; body starts with: {body_snippet:?}")]
    HttpStatus {
        /// The operation.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The first bytes of the body, lossily decoded.
        body_snippet: String,
    },
    /// The request could not be sent or the answer not read (connect, reset, a TLS failure
    /// other than a refused certificate). The reason (e.g. "Connection refused") is further
    /// down the source chain: [`ErrorChain`](crate::ErrorChain) shows all of it.
    #[error("{operation} could not reach MNS: {source}")]
    Transport {
        /// The operation.
        operation: &'static str,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The queue endpoint's TLS certificate was refused. Fatal: no retry makes it acceptable.
    /// [`TlsProblem::hint`] says what to do; the source holds the TLS library's own words.
    #[error("{operation}: the TLS certificate of {endpoint} was refused: {problem}; {hint}", hint = problem.hint())]
    Tls {
        /// The operation.
        operation: &'static str,
        /// Scheme, host and port of the queue's endpoint.
        endpoint: String,
        /// What is wrong with the certificate.
        problem: TlsProblem,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// No complete answer within the attempt timeout.
    #[error("{operation} got no answer within {after:?}")]
    Timeout {
        /// The operation.
        operation: &'static str,
        /// The timeout that expired.
        after: Duration,
    },
    /// A 2xx answer that is not the XML MNS documents (e.g. truncated).
    #[error("{operation} returned an answer that could not be read ({reason}); body starts with: {body_snippet:?}")]
    Decode {
        /// The operation.
        operation: &'static str,
        /// What the reader said.
        reason: String,
        /// The first bytes of the body, lossily decoded.
        body_snippet: String,
    },
    /// The answer was larger than the cap.
    #[error("{operation} returned a body larger than the {limit}-byte limit")]
    BodyTooLarge {
        /// The operation.
        operation: &'static str,
        /// The cap in bytes.
        limit: usize,
    },
    /// The answer came from another origin than the queue's (a redirect was followed).
    #[error("{operation} was answered from {origin}, not the queue's endpoint: build the HTTP client with reqwest::redirect::Policy::none()")]
    Redirected {
        /// The operation.
        operation: &'static str,
        /// Scheme, host and port it came from.
        origin: String,
    },
    /// A handle acknowledged or extended after this consumer received its message again
    /// under a newer handle: it is not sent (MNS would refuse it, and the redelivered copy
    /// must not be settled by the old one).
    #[error(
        "{operation} skipped a stale receipt handle: message {message_id} was received again since"
    )]
    StaleHandle {
        /// The operation.
        operation: &'static str,
        /// The message whose handle is stale.
        message_id: String,
    },
    /// No usable credentials.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The client was configured in a way that cannot work.
    #[error("invalid MNS client configuration: {0}")]
    Config(String),
    /// Refused before sending because MNS would reject it.
    #[error("invalid {operation} request: {reason}")]
    InvalidRequest {
        /// The operation.
        operation: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Codes that say who is calling is wrong: never retried, and no request can succeed.
const AUTH_CODES: &[&str] = &[
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSecurityToken",
    "SecurityTokenExpired",
    "SecurityTokenMalformed",
    "Unauthorized",
];

impl Error {
    /// The MNS error code, if MNS sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The `RequestId`, if MNS sent one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } if !request_id.is_empty() => Some(request_id),
            _ => None,
        }
    }

    /// The HTTP status of a refused request.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::HttpStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Why the endpoint's certificate was refused, for [`Error::Tls`].
    pub fn tls_problem(&self) -> Option<TlsProblem> {
        match self {
            Error::Tls { problem, .. } => Some(*problem),
            _ => None,
        }
    }

    /// Whether sending the same request again after a backoff may succeed: transport errors,
    /// timeouts, truncated or unreadable answers, HTTP 5xx and 429, `InternalError`,
    /// `QpsLimitExceeded`. Never authentication or parameter errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { code, status, .. } => {
                !self.is_auth()
                    && (code == "InternalError"
                        || code == "QpsLimitExceeded"
                        || code == "ServiceUnavailable"
                        || *status >= 500)
            }
            Error::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            Error::Transport { .. } | Error::Timeout { .. } | Error::Decode { .. } => true,
            Error::Credentials(e) => e.is_retryable(),
            _ => false,
        }
    }

    /// Whether MNS is rate limiting the caller.
    pub fn is_rate_limited(&self) -> bool {
        self.code() == Some("QpsLimitExceeded") || self.http_status() == Some(429)
    }

    /// Whether the error is about who is calling: key, signature, token or permission.
    pub fn is_auth(&self) -> bool {
        self.code().is_some_and(|c| AUTH_CODES.contains(&c))
    }

    /// Whether MNS refused the security token of temporary credentials (expired, or revoked
    /// when an instance role rotated it). The client drops its cached credentials on this and
    /// signs once more with fresh ones.
    pub fn is_token_refused(&self) -> bool {
        self.code().is_some_and(is_token_refused_code)
    }

    /// Whether the request was refused for its time: more than 15 min from MNS's clock.
    pub fn is_time_expired(&self) -> bool {
        matches!(self.code(), Some("TimeExpired" | "RequestTimeTooSkewed"))
    }

    /// Whether the handle is dead: the lease ended, the message was received again, or it
    /// was deleted already.
    pub fn is_stale_handle(&self) -> bool {
        matches!(self, Error::StaleHandle { .. })
            || matches!(self.code(), Some("MessageNotExist" | "ReceiptHandleError"))
    }

    /// Whether no request can succeed and a consumer should stop: credentials,
    /// configuration, a refused TLS certificate, authentication, a queue that does not
    /// exist, a redirect.
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Credentials(e) => !e.is_retryable(),
            Error::Config(_) | Error::Redirected { .. } | Error::Tls { .. } => true,
            Error::Api { code, .. } => self.is_auth() || code == "QueueNotExist",
            _ => false,
        }
    }
}

impl crate::transport::RetryClass for Error {
    fn is_retryable(&self) -> bool {
        Error::is_retryable(self)
    }
    fn is_rate_limited(&self) -> bool {
        Error::is_rate_limited(self)
    }
    fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

impl SourceError for Error {
    fn class(&self) -> ErrorClass {
        if self.is_fatal() {
            ErrorClass::Fatal
        } else if self.is_rate_limited() {
            ErrorClass::RateLimited
        } else if self.is_retryable() {
            ErrorClass::Transient
        } else {
            ErrorClass::Permanent
        }
    }
}

/// The first bytes of a body for an error message, lossily decoded.
pub(crate) fn body_snippet(body: &[u8]) -> String {
    let end = body.len().min(200);
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// Whether an MNS error code says the security token is no longer good.
pub(crate) fn is_token_refused_code(code: &str) -> bool {
    code.starts_with("InvalidSecurityToken") || code.starts_with("SecurityTokenExpired")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> Error {
        Error::Api {
            operation: "BatchReceiveMessage",
            status,
            code: code.into(),
            message: String::new(),
            request_id: "R".into(),
            host_id: String::new(),
        }
    }

    #[test]
    fn classes() {
        assert_eq!(api(500, "InternalError").class(), ErrorClass::Transient);
        assert_eq!(api(503, "Whatever").class(), ErrorClass::Transient);
        assert_eq!(
            api(400, "QpsLimitExceeded").class(),
            ErrorClass::RateLimited
        );
        for code in [
            "AccessDenied",
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId",
            "QueueNotExist",
        ] {
            assert_eq!(api(403, code).class(), ErrorClass::Fatal, "{code}");
            assert!(
                !api(500, code).is_retryable() || code == "QueueNotExist",
                "{code}"
            );
        }
        assert_eq!(api(400, "InvalidArgument").class(), ErrorClass::Permanent);
        assert!(api(404, "MessageNotExist").is_stale_handle());
        assert!(api(400, "TimeExpired").is_time_expired());
    }
}
