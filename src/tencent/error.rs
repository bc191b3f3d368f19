//! The one error type of the Tencent VOD client.

use std::time::Duration;

use crate::tencent::credentials::CredentialsError;
use crate::transport::TlsProblem;

/// Everything that can go wrong calling the VOD API.
///
/// Each variant keeps what a person needs to act on it (the action, the API's code, message
/// and `RequestId`, the HTTP status, a snippet of an undecodable body) and never a secret.
/// Callers branch on [`Error::is_retryable`], [`Error::is_fatal`] and [`Error::code`]
/// rather than on the text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service processed the request and answered with `Response.Error`.
    #[error("{action} was refused by the API: {code}: {message} (RequestId {request_id})")]
    Api {
        /// The API action, e.g. `PullEvents`.
        action: &'static str,
        /// The API error code, e.g. `AuthFailure.SignatureFailure`.
        code: String,
        /// The service's message, as sent.
        message: String,
        /// The `RequestId` to quote to Tencent support (empty if the service sent none).
        request_id: String,
    },
    /// The HTTP status was not 200 (the service reports API errors inside a 200 body, so
    /// this comes from a proxy, a load balancer or an overloaded server).
    #[error(
        "{action} got HTTP status {status} instead of 200; body starts with: {body_snippet:?}"
    )]
    HttpStatus {
        /// The API action.
        action: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The first bytes of the body, lossily decoded.
        body_snippet: String,
    },
    /// The request could not be sent or the response could not be read (DNS, connect,
    /// connection reset, a TLS failure other than a refused certificate). Its own text ends
    /// with the HTTP client's outermost words ("error sending request"); the reason (e.g.
    /// "Connection refused") is further down the source chain:
    /// [`ErrorChain`](crate::ErrorChain) shows all of it.
    #[error("{action} could not reach the VOD endpoint: {source}")]
    Transport {
        /// The API action.
        action: &'static str,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// The endpoint's TLS certificate was refused. Fatal: no retry makes it acceptable.
    /// [`TlsProblem::hint`] says what to do; the source holds the TLS library's own words
    /// (e.g. the names the certificate is valid for).
    #[error("{action}: the TLS certificate of {endpoint} was refused: {problem}; {hint}", hint = problem.hint())]
    Tls {
        /// The API action.
        action: &'static str,
        /// Scheme, host and port of the endpoint.
        endpoint: String,
        /// What is wrong with the certificate.
        problem: TlsProblem,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// No complete response arrived within the per-attempt timeout.
    #[error("{action} got no response within {after:?}")]
    Timeout {
        /// The API action.
        action: &'static str,
        /// The per-attempt timeout that expired.
        after: Duration,
    },
    /// The response was not the JSON envelope the API documents.
    #[error("{action} returned a response that could not be decoded ({reason}); body starts with: {body_snippet:?}")]
    Decode {
        /// The API action.
        action: &'static str,
        /// What the decoder said.
        reason: String,
        /// The first bytes of the body, lossily decoded.
        body_snippet: String,
    },
    /// The response body was larger than the configured cap; reading stopped at the cap.
    #[error("{action} returned a body larger than the {limit}-byte limit (raise it with ClientBuilder::max_response_bytes if this is expected)")]
    BodyTooLarge {
        /// The API action.
        action: &'static str,
        /// The cap in bytes.
        limit: usize,
    },
    /// No usable credentials (none configured, or a malformed source).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The client was configured in a way that cannot work.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// An event arrived that does not match the model. Nothing is lost: the error carries
    /// its raw JSON and handle (only the explicit-ack stream leaves the choice to confirm it
    /// to you; [`Client::sequential_events`](crate::tencent::Client::sequential_events)
    /// confirms it once handed over).
    #[error("an event could not be decoded: {0}")]
    UndecodableEvent(Box<crate::tencent::events::UndecodableEvent>),
    /// The answer came from another origin than the endpoint: the HTTP client followed a
    /// redirect (only a client given with `ClientBuilder::http_client` can). Refused, and
    /// fatal: configure that client with `redirect::Policy::none()`.
    #[error("{action} was answered from {origin}, not the endpoint: the HTTP client followed a redirect; build it with reqwest::redirect::Policy::none()")]
    Redirected {
        /// The API action.
        action: &'static str,
        /// Scheme, host and port the answer came from.
        origin: String,
    },
    /// The request was refused before sending because the API would reject it.
    #[error("invalid {action} request: {reason}")]
    InvalidRequest {
        /// The API action.
        action: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Codes after which the same request can succeed if sent again later.
const RETRYABLE_CODES: &[&str] = &["InternalError", "ServiceUnavailable"];

impl Error {
    /// The API error code, if the service sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The API `RequestId`, if the service sent one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } if !request_id.is_empty() => Some(request_id),
            _ => None,
        }
    }

    /// The HTTP status of a non-200 response.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::HttpStatus { status, .. } => Some(*status),
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

    /// Whether sending the same request again, after a backoff, may succeed: transport
    /// errors, timeouts, HTTP 5xx and 429, undecodable (e.g. truncated) bodies,
    /// `RequestLimitExceeded*`, `InternalError` and `ServiceUnavailable`. All five event
    /// actions are safe to repeat. Never true for authentication or parameter errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { code, .. } => is_retryable_code(code),
            Error::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            Error::Transport { .. } | Error::Timeout { .. } | Error::Decode { .. } => true,
            Error::Credentials(e) => e.is_retryable(),
            Error::BodyTooLarge { .. }
            | Error::Tls { .. }
            | Error::Redirected { .. }
            | Error::Config(_)
            | Error::InvalidRequest { .. }
            | Error::UndecodableEvent(_) => false,
        }
    }

    /// Whether the error means the request is being rate limited.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::Api { code, .. } if code.starts_with("RequestLimitExceeded"))
            || self.http_status() == Some(429)
    }

    /// Whether the error is about who is calling: signature, key, token or permission.
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Api { code, .. }
            if code.starts_with("AuthFailure") || code.starts_with("UnauthorizedOperation"))
    }

    /// Whether the service refused the session token of temporary credentials
    /// (`AuthFailure.TokenFailure`: expired, or revoked when an instance role rotated it).
    /// The client drops its cached credentials on this and signs once more with fresh ones.
    pub fn is_token_refused(&self) -> bool {
        self.code() == Some("AuthFailure.TokenFailure")
    }

    /// Whether the timestamp was outside the service's ±5 minute window (`AuthFailure.SignatureExpire`).
    pub fn is_signature_expired(&self) -> bool {
        self.code() == Some("AuthFailure.SignatureExpire")
    }

    /// Whether no amount of retrying will help and a consumer loop should stop: credentials,
    /// configuration, a refused TLS certificate, authentication and permission errors, and
    /// the VOD service not being enabled for the account.
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Credentials(e) => !e.is_retryable(),
            Error::Config(_) | Error::Redirected { .. } | Error::Tls { .. } => true,
            Error::Api { code, .. } => {
                self.is_auth()
                    || code == "FailedOperation.InvalidVodUser"
                    || code.starts_with("InvalidAction")
                    || code == "NoSuchVersion"
                    || code == "ActionOffline"
                    || code.starts_with("IpNotInWhitelist")
                    || code.starts_with("IpInBlacklist")
            }
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

/// Whether an API error code is worth retrying after a backoff.
pub fn is_retryable_code(code: &str) -> bool {
    code.starts_with("RequestLimitExceeded") || RETRYABLE_CODES.contains(&code)
}

/// At most this many bytes of a body are kept in an error, so errors stay small and a body
/// that happens to be huge is never copied around.
pub(crate) const SNIPPET_BYTES: usize = 256;

/// The first [`SNIPPET_BYTES`] of a body, lossily decoded (a character cut in half becomes U+FFFD).
pub(crate) fn body_snippet(body: &[u8]) -> String {
    let cut = &body[..body.len().min(SNIPPET_BYTES)];
    String::from_utf8_lossy(cut).into_owned()
}

/// An API error as PullEvents would report it, for unit tests of the decisions built on it.
#[cfg(test)]
pub(crate) fn api(code: &str) -> Error {
    Error::Api {
        action: "PullEvents",
        code: code.into(),
        message: "m".into(),
        request_id: "rid".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes() {
        for code in [
            "RequestLimitExceeded",
            "RequestLimitExceeded.UinLimitExceeded",
            "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
            "InternalError",
            "ServiceUnavailable",
        ] {
            assert!(api(code).is_retryable(), "{code}");
            assert!(!api(code).is_fatal(), "{code}");
        }
        for code in [
            "AuthFailure.SignatureFailure",
            "AuthFailure.SignatureExpire",
            "InvalidParameterValue",
            "UnauthorizedOperation",
            "FailedOperation.InvalidVodUser",
            "InternalErrorX",
        ] {
            assert!(!api(code).is_retryable(), "{code}");
        }
    }

    #[test]
    fn fatal_codes() {
        assert!(api("AuthFailure.SecretIdNotFound").is_fatal());
        assert!(api("UnauthorizedOperation").is_fatal());
        assert!(api("FailedOperation.InvalidVodUser").is_fatal());
        assert!(!api("InvalidParameterValue").is_fatal());
        assert!(!api("InternalError").is_fatal());
    }

    #[test]
    fn http_status_classes() {
        let s = |status| Error::HttpStatus {
            action: "PullEvents",
            status,
            body_snippet: String::new(),
        };
        assert!(s(500).is_retryable());
        assert!(s(503).is_retryable());
        assert!(s(429).is_retryable() && s(429).is_rate_limited());
        assert!(!s(404).is_retryable());
    }

    #[test]
    fn display_names_code_message_and_request_id() {
        let text = api("AuthFailure.SignatureFailure").to_string();
        assert!(
            text.contains("AuthFailure.SignatureFailure")
                && text.contains("rid")
                && text.contains("PullEvents"),
            "{text}"
        );
    }

    #[test]
    fn snippet_is_bounded_and_lossy() {
        let body = vec![0xffu8; 10_000];
        let s = body_snippet(&body);
        assert!(s.chars().count() <= SNIPPET_BYTES);
        assert_eq!(body_snippet(b"abc"), "abc");
    }
}
