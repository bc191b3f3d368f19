//! The signed MNS queue client: BatchReceiveMessage, BatchDeleteMessage, DeleteMessage and
//! ChangeMessageVisibility, with retries, clock-skew correction, timeouts and a body cap.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, DATE, USER_AGENT};
use reqwest::{Method, Url};
use tokio::time::Instant;
use tracing::Instrument;

use crate::alibaba::credentials::{Credentials, ProvideCredentials};
use crate::alibaba::mns::error::{body_snippet, Error};
use crate::alibaba::mns::sign::{encode_component, http_date, sign, SigningInput, MNS_VERSION};
use crate::alibaba::mns::xml::{self, DeleteFailure, ReceivedMessage, VisibilityChanged};
use crate::transport::clock::{unix_secs, Clock, ClockSkew};
use crate::transport::http::{self, origin_for_display, ReadError};
use crate::transport::{Decision, GiveUpReason, RetryBudget, RetryPolicy};

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
/// Credentials that expire within this are resolved again before the next request.
const CREDENTIALS_REFRESH_AHEAD: Duration = Duration::from_secs(120);

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
    resolved: tokio::sync::Mutex<Option<Credentials>>,
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

    /// The queue's path, `/queues/<name>` (percent-encoded).
    pub fn queue_path(&self) -> &str {
        &self.inner.queue_path
    }

    /// The learned offset of MNS's clock from ours, in seconds (server minus local).
    pub fn clock_skew_secs(&self) -> i64 {
        self.inner.skew.offset_secs()
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

    /// Sends `op` until an answer `decode` accepts, or the retries give up. Decoding is part
    /// of the attempt, so a truncated answer is retried like a reset.
    async fn call<T>(
        &self,
        op: Op,
        decode: impl Fn(&Reply) -> Result<T, Error>,
    ) -> Result<(T, Reply), Error> {
        let span = tracing::debug_span!("mns_call", operation = op.name);
        self.retry_loop(op, decode).instrument(span).await
    }

    async fn retry_loop<T>(
        &self,
        op: Op,
        decode: impl Fn(&Reply) -> Result<T, Error>,
    ) -> Result<(T, Reply), Error> {
        let inner = &self.inner;
        let budget = if op.name == "BatchReceiveMessage" {
            &inner.receive_budget
        } else {
            &inner.other_budget
        };
        let mut attempt: u32 = 1;
        let mut resigned_for_skew = false;
        let mut retry_cost: Option<u32> = None;
        let mut lost_before = false;
        loop {
            let timeout = match op.deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout {
                            operation: op.name,
                            after: Duration::ZERO,
                        });
                    }
                    op.timeout.min(left)
                }
                None => op.timeout,
            };
            let outcome = match self.attempt(&op, timeout).await {
                Ok(reply) => match decode(&reply) {
                    Ok(value) => Ok((value, reply)),
                    Err(error) => Err(Failure::from(error)),
                },
                Err(failure) => Err(failure),
            };
            match outcome {
                Ok((value, mut reply)) => {
                    budget.refund(retry_cost.unwrap_or(1));
                    reply.after_lost_attempt = lost_before;
                    tracing::debug!(attempt, request_id = %reply.request_id, status = reply.status, "ok");
                    return Ok((value, reply));
                }
                Err(Failure { error, server_date }) => {
                    if error.is_time_expired() && !resigned_for_skew {
                        if let Some(server) = server_date {
                            resigned_for_skew = true;
                            inner
                                .skew
                                .learn(server, inner.clock.now(), "Alibaba Cloud MNS");
                            continue;
                        }
                    }
                    // The request may have been applied without its answer reaching us.
                    lost_before |= matches!(
                        error,
                        Error::Transport { .. } | Error::Timeout { .. } | Error::Decode { .. }
                    );
                    let remaining = op
                        .deadline
                        .map(|d| d.saturating_duration_since(Instant::now()));
                    let random = lock(&inner.rng).f64();
                    let mut decision = inner.retry.decide(attempt, &error, random, remaining);
                    if matches!(decision, Decision::RetryAfter(_)) {
                        if budget.try_spend(&error) {
                            retry_cost = Some(RetryBudget::cost(&error));
                        } else {
                            decision = Decision::GiveUp(GiveUpReason::BudgetExhausted);
                        }
                    }
                    match decision {
                        Decision::RetryAfter(delay) => {
                            tracing::debug!(error = %error, ?delay, attempt, "retrying");
                            tokio::time::sleep(delay).await;
                            attempt += 1;
                        }
                        Decision::GiveUp(reason) => {
                            tracing::debug!(error = %error, ?reason, attempt, "giving up");
                            return Err(error);
                        }
                    }
                }
            }
        }
    }

    /// Credentials, resolved once and again shortly before they expire; one resolution in
    /// flight at a time. A failed resolution is not kept, so a fix is picked up.
    async fn credentials(&self) -> Result<Credentials, Error> {
        let mut cached = self.inner.resolved.lock().await;
        let now = self.inner.clock.now();
        let fresh = |c: &Credentials| {
            c.expiration()
                .is_none_or(|at| at > now + CREDENTIALS_REFRESH_AHEAD)
        };
        match cached.as_ref() {
            Some(c) if fresh(c) => Ok(c.clone()),
            _ => {
                let c = self.inner.credentials.provide().await?;
                *cached = Some(c.clone());
                Ok(c)
            }
        }
    }

    fn sent_now(&self, at: Instant, wall: SystemTime) -> Sent {
        let local_ms = wall
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Sent {
            at,
            server_ms: local_ms + self.inner.skew.offset_secs() * 1000,
        }
    }

    /// Learns the server's clock from an answer's `Date` when it differs from what is known
    /// by more than the header's one-second grain could explain.
    fn observe_date(&self, server: SystemTime) {
        let local = self.inner.clock.now();
        let observed = unix_secs(server) - unix_secs(local);
        if (observed - self.inner.skew.offset_secs()).abs() >= 2 {
            self.inner.skew.learn(server, local, "Alibaba Cloud MNS");
        }
    }

    async fn attempt(&self, op: &Op, timeout: Duration) -> Result<Reply, Failure> {
        let inner = &self.inner;
        let creds = self.credentials().await?;
        let wall = inner.clock.now();
        let server_secs = inner.skew.server_now_unix(wall);
        let date = http_date(UNIX_EPOCH + Duration::from_secs(server_secs.max(0) as u64));
        let url = inner
            .origin
            .join(&op.target)
            .map_err(|e| Error::InvalidRequest {
                operation: op.name,
                reason: format!("the request target is not a URL path: {e}"),
            })?;
        // Sign exactly the request-target reqwest sends: the URL's path and query.
        let resource = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let content_type = op.body.as_ref().map(|_| CONTENT_TYPE_XML);
        let signed = sign(
            &SigningInput {
                method: op.method.as_str(),
                content_md5: None,
                content_type,
                date: &date,
                headers: &[("x-mns-version", MNS_VERSION)],
                resource: &resource,
            },
            creds.access_key_id(),
            creds.access_key_secret().expose(),
        );
        tracing::trace!(string_to_sign = %signed.string_to_sign, "signed");
        let mut authorization = secret_header(op.name, &signed.authorization)?;
        authorization.set_sensitive(true);
        let mut request = inner
            .http
            .request(op.method.clone(), url)
            .header(DATE, secret_header(op.name, &date)?)
            .header("x-mns-version", HeaderValue::from_static(MNS_VERSION))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .header(AUTHORIZATION, authorization)
            .timeout(timeout);
        if let Some(token) = creds.security_token() {
            let mut value = secret_header(op.name, token.expose())?;
            value.set_sensitive(true);
            request = request.header("security-token", value);
        }
        if let Some(body) = &op.body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_XML))
                .body(body.clone());
        }
        let operation = op.name;
        let transport = |e: reqwest::Error| -> Failure {
            if e.is_timeout() {
                Error::Timeout {
                    operation,
                    after: timeout,
                }
            } else {
                Error::Transport {
                    operation,
                    source: e.without_url(),
                }
            }
            .into()
        };
        let sent_at = Instant::now();
        let response = request.send().await.map_err(transport)?;
        let request_id = response
            .headers()
            .get("x-mns-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let limit = inner.max_response_bytes;
        let answer = http::read_answer(response, &inner.origin, limit)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => Error::BodyTooLarge { operation, limit }.into(),
                ReadError::Transport(e) => transport(e),
                ReadError::OtherOrigin { origin } => Error::Redirected { operation, origin }.into(),
            })?;
        if let Some(server) = answer.server_date {
            self.observe_date(server);
        }
        let reply = Reply {
            status: answer.status,
            sent: self.sent_now(sent_at, wall),
            request_id,
            body: answer.body,
            after_lost_attempt: false,
        };
        if (200..300).contains(&reply.status) {
            return Ok(reply);
        }
        let text = String::from_utf8_lossy(&reply.body);
        match xml::root_name(&text).as_deref() {
            Some("Errors") if op.per_handle_errors => Ok(reply),
            Some("Error") => {
                let body = xml::parse_error(&text).unwrap_or_default();
                Err(Failure {
                    error: Error::Api {
                        operation,
                        status: reply.status,
                        code: body.code,
                        message: body.message,
                        request_id: if body.request_id.is_empty() {
                            reply.request_id
                        } else {
                            body.request_id
                        },
                        host_id: body.host_id,
                    },
                    server_date: answer.server_date,
                })
            }
            _ => Err(Failure {
                error: Error::HttpStatus {
                    operation,
                    status: reply.status,
                    body_snippet: body_snippet(&reply.body),
                },
                server_date: answer.server_date,
            }),
        }
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

const USER_AGENT_VALUE: &str = concat!("vod-events/", env!("CARGO_PKG_VERSION"));

fn secret_header(operation: &'static str, text: &str) -> Result<HeaderValue, Error> {
    // Never echo the value: it may be a token.
    HeaderValue::from_str(text).map_err(|_| Error::InvalidRequest {
        operation,
        reason: "a credential or header contains characters not allowed in an HTTP header".into(),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

mod builder;
pub use builder::MnsClientBuilder;
