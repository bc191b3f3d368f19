//! The signed MNS queue client: BatchReceiveMessage, BatchDeleteMessage, DeleteMessage and
//! ChangeMessageVisibility, with retries, clock-skew correction, timeouts and a body cap.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::{Method, Url};
use tokio::time::Instant;

use crate::alibaba::credentials::{Credentials, ProvideCredentials};
use crate::alibaba::mns::error::{body_snippet, Error};
use crate::alibaba::mns::sign::encode_component;
use crate::alibaba::mns::xml::{self, DeleteFailure, ReceivedMessage, VisibilityChanged};
use crate::credentials::CredentialsCache;
use crate::transport::clock::{Clock, ClockSkew};
use crate::transport::http::origin_for_display;
use crate::transport::{RetryBudget, RetryPolicy};

/// Most messages one BatchReceiveMessage returns, and most handles one BatchDeleteMessage takes.
pub const MAX_BATCH: usize = 16;
/// The longest long poll MNS holds.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// The longest visibility timeout MNS takes (12 h).
pub const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);
/// MNS refuses requests whose `Date` is further than this from its clock (15 min).
pub const SIGNATURE_WINDOW_SECS: i64 = 900;
/// The `Content-Type` sent (and signed) with a body; one constant so the two never differ.
pub const CONTENT_TYPE_XML: &str = "text/xml;charset=UTF-8";
/// Default long-poll wait of BatchReceiveMessage.
pub const DEFAULT_WAIT: Duration = MAX_WAIT;
/// How much longer than the long-poll wait a receive attempt may take before it times out.
pub const LONG_POLL_GRACE: Duration = Duration::from_secs(10);
/// Per-attempt timeout of the other operations.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Answers larger than this are refused (16 messages of 64 KiB, XML-escaped, fit well).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// A client of one MNS queue. Cheap to clone: clones share the connection pool, the
/// credentials, the retry budgets and the learned clock offset.
#[derive(Clone)]
pub struct MnsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    origin: Url,
    /// `/queues/<name>`, percent-encoded as sent.
    queue_path: String,
    credentials: Arc<dyn ProvideCredentials>,
    resolved: CredentialsCache<Credentials>,
    wait: Duration,
    request_timeout: Duration,
    max_response_bytes: usize,
    retry: RetryPolicy,
    receive_budget: RetryBudget,
    other_budget: RetryBudget,
    clock: Arc<dyn Clock>,
    skew: ClockSkew,
    rng: Mutex<fastrand::Rng>,
}

impl fmt::Debug for MnsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("MnsClient")
            .field("endpoint", &origin_for_display(&i.origin))
            .field("queue_path", &i.queue_path)
            .field("credentials", &i.credentials)
            .field("wait", &i.wait)
            .field("clock_skew_secs", &i.skew.offset_secs())
            .finish_non_exhaustive()
    }
}

/// When a request that answered was sent, on both clocks: where leases begin.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// On the local monotonic clock.
    pub at: Instant,
    /// On the server's clock as best known once the answer came (ms since the epoch).
    pub server_ms: i64,
}

impl Sent {
    /// How long after the request was sent a server time `server_ms` lies (zero if before).
    pub fn until(&self, server_ms: u64) -> Duration {
        let ms = (server_ms as i64).saturating_sub(self.server_ms);
        Duration::from_millis(ms.max(0) as u64)
    }
}

/// A BatchReceiveMessage answer.
#[derive(Debug)]
pub struct Received {
    /// The messages (none when the queue stayed empty through the wait).
    pub messages: Vec<ReceivedMessage>,
    /// When the answering attempt was sent.
    pub sent: Sent,
    /// MNS's `x-mns-request-id` (empty if none).
    pub request_id: String,
}

/// A ChangeMessageVisibility answer.
#[derive(Debug)]
pub struct Changed {
    /// The new handle and next visible time.
    pub visibility: VisibilityChanged,
    /// When the answering attempt was sent.
    pub sent: Sent,
}

/// One request, as the retry loop sends it on every attempt.
struct Op {
    name: &'static str,
    method: Method,
    /// Path and query, percent-encoded: exactly what is sent and signed.
    target: String,
    body: Option<Bytes>,
    timeout: Duration,
    deadline: Option<Instant>,
    /// BatchDeleteMessage: an `<Errors>` answer is a per-handle result, not a failure.
    per_handle_errors: bool,
}

/// An answer the operation reads.
struct Reply {
    status: u16,
    body: Vec<u8>,
    request_id: String,
    sent: Sent,
    /// Whether an earlier attempt of this call may have been applied (its answer was lost).
    after_lost_attempt: bool,
}

struct Failure {
    error: Error,
    server_date: Option<SystemTime>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            server_date: None,
        }
    }
}

impl MnsClient {
    /// A builder for the queue at `queue_url`, e.g.
    /// `https://<account-id>.mns.<region>.aliyuncs.com/queues/<name>`.
    pub fn builder(queue_url: impl Into<String>) -> MnsClientBuilder {
        MnsClientBuilder::new(queue_url.into())
    }

    /// The queue's URL as logs may show it: scheme, host, port and path, never user info
    /// or a query (where a credential pasted by mistake would sit).
    pub fn queue_url_for_display(&self) -> String {
        format!(
            "{}{}",
            crate::transport::http::origin_for_display(&self.inner.origin),
            self.inner.queue_path
        )
    }

    /// The queue's path, `/queues/<name>` (percent-encoded).
    pub fn queue_path(&self) -> &str {
        &self.inner.queue_path
    }

    /// The learned offset of MNS's clock from ours, in seconds (server minus local).
    pub fn clock_skew_secs(&self) -> i64 {
        self.inner.skew.offset_secs()
    }

    /// Resolves the credentials now instead of at the first request, so a missing key or an
    /// unreachable instance role shows at start-up. They are kept, and refreshed ahead of
    /// their expiry, for the requests that follow.
    pub async fn load_credentials(
        &self,
    ) -> Result<(), crate::alibaba::credentials::CredentialsError> {
        self.credentials().await.map(drop)
    }

    /// BatchReceiveMessage: up to `max` (1 to 16) messages, after a long poll of the
    /// client's wait. An empty queue (404 `MessageNotExist`) gives no messages, not an error.
    pub async fn batch_receive(&self, max: usize) -> Result<Received, Error> {
        let max = max.clamp(1, MAX_BATCH);
        let wait = self.inner.wait.as_secs();
        let op = Op {
            name: "BatchReceiveMessage",
            method: Method::GET,
            target: format!(
                "{}/messages?numOfMessages={max}&waitseconds={wait}",
                self.inner.queue_path
            ),
            body: None,
            timeout: self.inner.wait + LONG_POLL_GRACE,
            deadline: None,
            per_handle_errors: false,
        };
        let decode = |reply: &Reply| {
            xml::parse_messages(&String::from_utf8_lossy(&reply.body)).map_err(|e| Error::Decode {
                operation: "BatchReceiveMessage",
                reason: e.to_string(),
                body_snippet: body_snippet(&reply.body),
            })
        };
        match self.call(op, decode).await {
            Ok((messages, reply)) => Ok(Received {
                messages,
                sent: reply.sent,
                request_id: reply.request_id,
            }),
            Err(Error::Api {
                code, request_id, ..
            }) if code == "MessageNotExist" => Ok(Received {
                messages: Vec::new(),
                sent: self.sent_now(Instant::now(), self.inner.clock.now()),
                request_id,
            }),
            Err(other) => Err(other),
        }
    }

    /// BatchDeleteMessage for 1 to 16 handles, with no retry starting after `deadline`.
    /// The outer error is the whole request failing; otherwise one result per handle, in
    /// order (MNS lists the handles that failed in `<Errors>`).
    ///
    /// After an attempt whose answer was lost, a handle the retry finds gone
    /// (`MessageNotExist`, `ReceiptHandleError`) counts as deleted: most likely the lost
    /// attempt deleted it. If not, the message comes back and is delivered again, so
    /// nothing is lost either way.
    pub async fn batch_delete(
        &self,
        handles: &[&str],
        deadline: Option<Instant>,
    ) -> Result<Vec<Result<(), Error>>, Error> {
        if handles.is_empty() || handles.len() > MAX_BATCH {
            return Err(Error::InvalidRequest {
                operation: "BatchDeleteMessage",
                reason: format!("{} handles; 1 to {MAX_BATCH} allowed", handles.len()),
            });
        }
        let op = Op {
            name: "BatchDeleteMessage",
            method: Method::DELETE,
            target: format!("{}/messages", self.inner.queue_path),
            body: Some(Bytes::from(xml::receipt_handles_body(handles))),
            timeout: self.inner.request_timeout,
            deadline,
            per_handle_errors: true,
        };
        // A cut `<Errors>` answer must not read as "nothing failed": it is retried instead.
        let decode = |reply: &Reply| {
            if (200..300).contains(&reply.status) {
                return Ok(Vec::new());
            }
            xml::parse_delete_failures(&String::from_utf8_lossy(&reply.body)).ok_or_else(|| {
                Error::Decode {
                    operation: "BatchDeleteMessage",
                    reason: "an <Errors> answer that is not complete XML".into(),
                    body_snippet: body_snippet(&reply.body),
                }
            })
        };
        let (failures, reply) = self.call(op, decode).await?;
        let lost = reply.after_lost_attempt;
        Ok(handles
            .iter()
            .map(|handle| match failures.iter().find(|f| f.receipt_handle == *handle) {
                None => Ok(()),
                Some(f) if lost && is_gone(&f.error_code) => {
                    tracing::debug!(code = %f.error_code, "a handle was gone on a retried delete; counted as deleted by the lost attempt");
                    Ok(())
                }
                Some(f) => Err(delete_error(f, reply.status, &reply.request_id)),
            })
            .collect())
    }

    /// DeleteMessage for one handle (see [`MnsClient::batch_delete`] on retried deletes).
    pub async fn delete(&self, handle: &str, deadline: Option<Instant>) -> Result<(), Error> {
        let op = Op {
            name: "DeleteMessage",
            method: Method::DELETE,
            target: format!(
                "{}/messages?ReceiptHandle={}",
                self.inner.queue_path,
                encode_component(handle)
            ),
            body: None,
            timeout: self.inner.request_timeout,
            deadline,
            per_handle_errors: false,
        };
        self.call(op, |_| Ok(())).await.map(|_| ())
    }

    /// ChangeMessageVisibility: hides the message for `visible_for` (1 s to 12 h, whole
    /// seconds, rounded up) from now. The old handle dies; use the one returned.
    pub async fn change_visibility(
        &self,
        handle: &str,
        visible_for: Duration,
    ) -> Result<Changed, Error> {
        let secs = visible_for.as_secs() + u64::from(visible_for.subsec_nanos() > 0);
        self.change_visibility_secs(handle, secs.clamp(1, MAX_VISIBILITY.as_secs()))
            .await
    }

    /// ChangeMessageVisibility with `VisibilityTimeout=0`: the message is visible again at
    /// once (a nack).
    pub async fn release(&self, handle: &str) -> Result<Changed, Error> {
        self.change_visibility_secs(handle, 0).await
    }

    async fn change_visibility_secs(&self, handle: &str, secs: u64) -> Result<Changed, Error> {
        let op = Op {
            name: "ChangeMessageVisibility",
            method: Method::PUT,
            target: format!(
                "{}/messages?ReceiptHandle={}&VisibilityTimeout={secs}",
                self.inner.queue_path,
                encode_component(handle)
            ),
            body: None,
            timeout: self.inner.request_timeout,
            deadline: None,
            per_handle_errors: false,
        };
        let decode = |reply: &Reply| {
            xml::parse_visibility(&String::from_utf8_lossy(&reply.body)).map_err(|e| {
                Error::Decode {
                    operation: "ChangeMessageVisibility",
                    reason: e.to_string(),
                    body_snippet: body_snippet(&reply.body),
                }
            })
        };
        let (visibility, reply) = self.call(op, decode).await?;
        Ok(Changed {
            visibility,
            sent: reply.sent,
        })
    }
}

fn is_gone(code: &str) -> bool {
    matches!(code, "MessageNotExist" | "ReceiptHandleError")
}

fn delete_error(f: &DeleteFailure, status: u16, request_id: &str) -> Error {
    Error::Api {
        operation: "BatchDeleteMessage",
        status,
        code: f.error_code.clone(),
        message: f.error_message.clone(),
        request_id: request_id.to_owned(),
        host_id: String::new(),
    }
}

mod builder;
mod send;
pub use builder::MnsClientBuilder;
