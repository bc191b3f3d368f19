//! The signed VOD API client: one generic call for any action, with retries, clock-skew
//! correction, pacing, timeouts and a response-size cap.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_TYPE, HOST};
use tokio::time::Instant;
use tracing::{field, Instrument};

use crate::credentials::CredentialsCache;
use crate::tencent::api::{
    Action, ApiResponse, ConfirmEvents, ConfirmEventsResponse, DescribeEventConfig,
    DescribeEventConfigResponse, DescribeEventsState, DescribeEventsStateResponse,
    ModifyEventConfig, ModifyEventConfigResponse, PullEvents, PullEventsResponse, API_VERSION,
};
use crate::tencent::credentials::{Credentials, CredentialsError, ProvideCredentials, Secret};
use crate::tencent::error::{body_snippet, Error};
use crate::tencent::sign::{sign_with_key, signing_key, utc_date, SigningInput};
use crate::transport::clock::ClockSkew;
use crate::transport::http::{self, ReadError};
use crate::transport::tls;
use crate::transport::{Decision, GiveUpReason, Pacer, RetryBudget, RetryPolicy};

#[doc(hidden)]
pub use crate::tencent::api::decode_response;
pub use crate::tencent::builder::ClientBuilder;
pub use crate::transport::clock::{Clock, SystemClock};
pub use crate::transport::http::is_loopback;

/// The public endpoint of the VOD API.
pub const DEFAULT_ENDPOINT: &str = "https://vod.tencentcloudapi.com";
/// The credential-scope service name.
pub const SERVICE: &str = "vod";
/// The `Content-Type` sent and signed; one constant so the two can never differ.
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// Per-attempt timeout of PullEvents: the service holds a long poll up to 5 s, so anything
/// at or under 5 s would cut healthy polls off.
pub const DEFAULT_LONG_POLL_TIMEOUT: Duration = Duration::from_secs(10);
/// Per-attempt timeout of every other action.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
/// Connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Response bodies larger than this are refused (16 events rarely exceed a few hundred KiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Default pace of PullEvents and ConfirmEvents: under the service's 100 requests/s.
pub const DEFAULT_EVENT_ACTION_RATE: f64 = 98.0;
/// Default pace of the three other actions (the config calls are limited to 20/s).
pub const DEFAULT_OTHER_ACTION_RATE: f64 = 19.0;
/// The service refuses timestamps further than this from its clock.
pub const SIGNATURE_WINDOW_SECS: i64 = 300;

/// A VOD API client. Cheap to clone: clones share the connection pool, the credentials,
/// the pacing, the retry budget and the learned clock offset.
///
/// ```no_run
/// # async fn demo() -> Result<(), vod_events::tencent::Error> {
/// use vod_events::tencent::Client;
///
/// let client = Client::builder().sub_app_id(1500000001).build()?;
/// let pulled = client.pull_events().await?;
/// println!("{} events (RequestId {})", pulled.event_set.len(), pulled.request_id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) http: reqwest::Client,
    pub(super) url: reqwest::Url,
    pub(super) host: HeaderValue,
    pub(super) host_text: String,
    pub(super) credentials: Arc<dyn ProvideCredentials>,
    pub(super) resolved: CredentialsCache<Credentials>,
    pub(super) region: Option<HeaderValue>,
    pub(super) language: Option<HeaderValue>,
    pub(super) sub_app_id: Option<u64>,
    pub(super) request_timeout: Duration,
    pub(super) long_poll_timeout: Duration,
    pub(super) max_response_bytes: usize,
    pub(super) retry: RetryPolicy,
    pub(super) budgets: PerAction<RetryBudget>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) skew: ClockSkew,
    pub(super) pacers: PerAction<Pacer>,
    pub(super) rng: Mutex<fastrand::Rng>,
    /// The TC3 signing key of the last UTC day and credentials signed with: derived once a
    /// day instead of on every request, and again when refreshed credentials arrive.
    pub(super) signing_key: Mutex<Option<SigningKey>>,
}

/// One of a thing for each of the two event actions, and one for the others. Pacing follows
/// the service's per-action limits. Retry budgets are per action too, so a storm of long-poll
/// timeouts cannot drain the budget that confirms (whose handles are about to expire) need;
/// each success refills all of them, so confirms (16 events a call, far fewer calls than
/// pulls) are not starved of refills either.
pub(super) struct PerAction<T> {
    pull: T,
    confirm: T,
    other: T,
}

impl<T> PerAction<T> {
    pub(super) fn new(mut make: impl FnMut(&'static str) -> T) -> Self {
        PerAction {
            pull: make("PullEvents"),
            confirm: make("ConfirmEvents"),
            other: make("other"),
        }
    }

    fn all(&self) -> [&T; 3] {
        [&self.pull, &self.confirm, &self.other]
    }

    fn for_action(&self, action: &str) -> &T {
        match action {
            "PullEvents" => &self.pull,
            "ConfirmEvents" => &self.confirm,
            _ => &self.other,
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("endpoint", &i.url.as_str())
            .field("sub_app_id", &i.sub_app_id)
            .field("credentials", &i.credentials)
            .field("request_timeout", &i.request_timeout)
            .field("long_poll_timeout", &i.long_poll_timeout)
            .field("retry", &i.retry)
            .field("clock_skew_secs", &i.skew.offset_secs())
            .finish_non_exhaustive()
    }
}

/// A derived TC3 key, valid for one UTC day and one SecretId/SecretKey pair.
pub(super) struct SigningKey {
    day: i64,
    secret_id: String,
    secret_key: Secret,
    key: [u8; 32],
}

/// One failed attempt, with what the retry loop needs beyond the error.
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

impl Client {
    /// A builder with the defaults: public endpoint, credentials from the default chain.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The endpoint URL requests go to.
    pub fn endpoint(&self) -> &str {
        self.inner.url.as_str()
    }

    /// The default `SubAppId` filled into requests that have none.
    pub fn sub_app_id(&self) -> Option<u64> {
        self.inner.sub_app_id
    }

    /// The offset (server minus local, in seconds) learned from a `SignatureExpire` answer;
    /// 0 until one happens.
    pub fn clock_skew_secs(&self) -> i64 {
        self.inner.skew.offset_secs()
    }

    /// Sends any action, signed, retrying transient failures.
    pub async fn call<A: Action>(&self, request: A) -> Result<A::Response, Error> {
        self.call_with_deadline(request, None).await
    }

    /// Like [`Client::call`], but no retry starts after `deadline` (for confirms, whose
    /// handles expire 30 s after the pull).
    ///
    /// Each attempt's timeout is also clipped to the time left before `deadline`: an answer
    /// that arrives after it is of no use to the caller.
    pub async fn call_with_deadline<A: Action>(
        &self,
        request: A,
        deadline: Option<Instant>,
    ) -> Result<A::Response, Error> {
        self.call_timed(request, deadline)
            .await
            .map(|(response, _)| response)
    }

    /// [`Client::call_with_deadline`], also returning when the attempt that got the answer
    /// was sent (after pacing and earlier attempts): where a PullEvents handle's 30 s begin.
    pub async fn call_timed<A: Action>(
        &self,
        mut request: A,
        deadline: Option<Instant>,
    ) -> Result<(A::Response, Instant), Error> {
        if let Some(id) = self.inner.sub_app_id {
            request.set_default_sub_app_id(id);
        }
        request.validate().map_err(|reason| Error::InvalidRequest {
            action: A::NAME,
            reason,
        })?;
        // Serialise once: these exact bytes are signed and sent on every attempt.
        let body =
            Bytes::from(
                serde_json::to_vec(&request).map_err(|e| Error::InvalidRequest {
                    action: A::NAME,
                    reason: e.to_string(),
                })?,
            );
        let timeout = if request.is_long_poll() {
            self.inner.long_poll_timeout
        } else {
            self.inner.request_timeout
        };
        let span = tracing::debug_span!(
            "vod_call",
            action = A::NAME,
            attempt = field::Empty,
            request_id = field::Empty
        );
        self.retry_loop::<A>(body, timeout, deadline)
            .instrument(span)
            .await
    }

    async fn retry_loop<A: Action>(
        &self,
        body: Bytes,
        timeout: Duration,
        deadline: Option<Instant>,
    ) -> Result<(A::Response, Instant), Error> {
        let inner = &self.inner;
        let mut attempt: u32 = 1;
        let mut resigned_for_skew = false;
        let mut resigned_for_token = false;
        // What the retry now in flight cost the budget (refunded if it succeeds).
        let mut retry_cost: Option<u32> = None;
        loop {
            tracing::Span::current().record("attempt", attempt);
            inner.pacers.for_action(A::NAME).wait().await;
            let sent_at = Instant::now();
            let timeout = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(sent_at);
                    if left.is_zero() {
                        return Err(Error::Timeout {
                            action: A::NAME,
                            after: Duration::ZERO,
                        });
                    }
                    timeout.min(left)
                }
                None => timeout,
            };
            let budget = inner.budgets.for_action(A::NAME);
            match self.attempt::<A>(body.clone(), timeout).await {
                Ok(response) => {
                    // Every success refills every bucket (a healthy service is healthy for
                    // all actions); only the call's own bucket gets back a retry's cost.
                    for other in inner.budgets.all() {
                        if std::ptr::eq(other, budget) {
                            other.refund(retry_cost.unwrap_or(1));
                        } else {
                            other.on_success();
                        }
                    }
                    tracing::Span::current().record("request_id", response.request_id());
                    tracing::debug!("ok");
                    return Ok((response, sent_at));
                }
                Err(Failure { error, server_date }) => {
                    if let Some(id) = error.request_id() {
                        tracing::Span::current().record("request_id", id);
                    }
                    // A skewed clock is fixed by learning the offset, not by waiting: re-sign
                    // at once, but only once per call so a persistent problem cannot loop.
                    if error.is_signature_expired() && !resigned_for_skew {
                        if let Some(server) = server_date {
                            resigned_for_skew = true;
                            self.learn_skew(server);
                            continue;
                        }
                    }
                    // A refused session token was dropped from the cache by the attempt:
                    // sign again at once with fresh credentials, once per call.
                    if error.is_token_refused() && !resigned_for_token {
                        resigned_for_token = true;
                        tracing::info!(
                            "session token refused; signing again with refreshed credentials"
                        );
                        continue;
                    }
                    let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
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
                            tracing::debug!(error = %error, ?delay, "retrying");
                            tokio::time::sleep(delay).await;
                            attempt += 1;
                        }
                        Decision::GiveUp(reason) => {
                            tracing::debug!(error = %error, ?reason, "giving up");
                            return Err(error);
                        }
                    }
                }
            }
        }
    }

    fn learn_skew(&self, server: SystemTime) {
        self.inner
            .skew
            .learn(server, self.inner.clock.now(), "Tencent Cloud VOD");
    }

    fn now_unix(&self) -> i64 {
        self.inner.skew.server_now_unix(self.inner.clock.now())
    }

    /// Resolves the credentials now instead of at the first call, so a missing key or an
    /// unreachable instance role shows at start-up. They are kept, and refreshed ahead of
    /// their expiry, for the calls that follow.
    pub async fn load_credentials(&self) -> Result<(), CredentialsError> {
        self.credentials().await.map(drop)
    }

    async fn credentials(&self) -> Result<Arc<Credentials>, CredentialsError> {
        let inner = &self.inner;
        inner
            .resolved
            .get(
                || inner.skew.server_time(inner.clock.now()),
                || inner.credentials.provide(),
            )
            .await
    }

    async fn attempt<A: Action>(
        &self,
        body: Bytes,
        timeout: Duration,
    ) -> Result<A::Response, Failure> {
        let inner = &self.inner;
        let creds = self.credentials().await.map_err(Error::from)?;
        let timestamp = self.now_unix();
        let day = timestamp.div_euclid(86_400);
        let key = {
            let mut cached = lock(&inner.signing_key);
            match &*cached {
                Some(k)
                    if k.day == day
                        && k.secret_id == creds.secret_id()
                        && k.secret_key == *creds.secret_key() =>
                {
                    k.key
                }
                _ => {
                    let key =
                        signing_key(creds.secret_key().expose(), &utc_date(timestamp), SERVICE);
                    *cached = Some(SigningKey {
                        day,
                        secret_id: creds.secret_id().to_owned(),
                        secret_key: creds.secret_key().clone(),
                        key,
                    });
                    key
                }
            }
        };
        let signed = sign_with_key(
            &SigningInput {
                secret_id: creds.secret_id(),
                secret_key: creds.secret_key().expose(),
                service: SERVICE,
                host: &inner.host_text,
                content_type: CONTENT_TYPE_JSON,
                timestamp,
                payload: &body,
            },
            &key,
        );
        let authorization = header_value(A::NAME, &signed.authorization)?;
        let mut request = inner
            .http
            .post(inner.url.clone())
            .header(HOST, inner.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON))
            .header("X-TC-Action", HeaderValue::from_static(A::NAME))
            .header("X-TC-Version", HeaderValue::from_static(API_VERSION))
            .header("X-TC-Timestamp", HeaderValue::from(timestamp))
            .header(
                "X-TC-RequestClient",
                HeaderValue::from_static(REQUEST_CLIENT),
            )
            .header(reqwest::header::AUTHORIZATION, authorization)
            .timeout(timeout)
            .body(body);
        if let Some(token) = creds.token() {
            let mut value = header_value(A::NAME, token.expose())?;
            value.set_sensitive(true);
            request = request.header("X-TC-Token", value);
        }
        if let Some(region) = &inner.region {
            request = request.header("X-TC-Region", region.clone());
        }
        if let Some(language) = &inner.language {
            request = request.header("X-TC-Language", language.clone());
        }

        let transport = |e: reqwest::Error| -> Failure {
            if e.is_timeout() {
                Error::Timeout {
                    action: A::NAME,
                    after: timeout,
                }
            } else if let Some(problem) = tls::classify(&e) {
                Error::Tls {
                    action: A::NAME,
                    endpoint: http::origin_for_display(&inner.url),
                    problem,
                    source: e.without_url(),
                }
            } else {
                // Strip the URL: it carries no secret, but keeps errors short and uniform.
                Error::Transport {
                    action: A::NAME,
                    source: e.without_url(),
                }
            }
            .into()
        };
        let response = request.send().await.map_err(transport)?;
        let limit = inner.max_response_bytes;
        let answer = http::read_answer(response, &inner.url, limit)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => Error::BodyTooLarge {
                    action: A::NAME,
                    limit,
                }
                .into(),
                ReadError::Transport(e) => transport(e),
                ReadError::OtherOrigin { origin } => Error::Redirected {
                    action: A::NAME,
                    origin,
                }
                .into(),
            })?;
        let (status, server_date, buf) = (answer.status, answer.server_date, answer.body);
        let fail = |error: Error| Failure { error, server_date };
        if status != 200 {
            return Err(fail(Error::HttpStatus {
                action: A::NAME,
                status,
                body_snippet: body_snippet(&buf),
            }));
        }
        decode_response::<A>(&buf).map_err(|error| {
            if error.is_token_refused() {
                inner.resolved.invalidate(&creds);
            }
            fail(error)
        })
    }

    /// `PullEvents` for the client's default `SubAppId`: up to 16 events, after a long
    /// poll of at most 5 s. An empty queue (including the `ResourceNotFound` code) is an
    /// empty `event_set`, not an error.
    pub async fn pull_events(&self) -> Result<PullEventsResponse, Error> {
        self.pull_events_for(None).await
    }

    /// `PullEvents` for a given `SubAppId` (or the client's default with `None`).
    ///
    /// [`PullEventsResponse::sent_at`] says when the attempt that got the answer was sent:
    /// the handles' 30 s started then, not when this call began (pacing and retries come
    /// before it).
    pub async fn pull_events_for(
        &self,
        sub_app_id: Option<u64>,
    ) -> Result<PullEventsResponse, Error> {
        match self.call_timed(PullEvents { sub_app_id }, None).await {
            Ok((mut response, sent_at)) => {
                response.sent_at = Some(sent_at);
                Ok(response)
            }
            Err(Error::Api {
                code, request_id, ..
            }) if code == "ResourceNotFound" => Ok(PullEventsResponse::empty(request_id)),
            Err(other) => Err(other),
        }
    }

    /// `ConfirmEvents` for 1 to 16 handles; anything else is refused before sending.
    pub async fn confirm_events(
        &self,
        event_handles: Vec<String>,
    ) -> Result<ConfirmEventsResponse, Error> {
        self.call(ConfirmEvents {
            event_handles,
            sub_app_id: None,
        })
        .await
    }

    /// `DescribeEventsState`: the approximate number of events waiting (lags ~3 minutes).
    pub async fn describe_events_state(&self) -> Result<DescribeEventsStateResponse, Error> {
        self.call(DescribeEventsState::default()).await
    }

    /// `DescribeEventConfig`: the receiving mode (`PULL` is what this crate drains) and switches.
    pub async fn describe_event_config(&self) -> Result<DescribeEventConfigResponse, Error> {
        self.call(DescribeEventConfig::default()).await
    }

    /// `ModifyEventConfig`, e.g. `Mode: Some("PULL")` to switch the app to reliable callback.
    pub async fn modify_event_config(
        &self,
        request: ModifyEventConfig,
    ) -> Result<ModifyEventConfigResponse, Error> {
        self.call(request).await
    }
}

const REQUEST_CLIENT: &str = concat!("vod-events/", env!("CARGO_PKG_VERSION"));

fn header_value(action: &'static str, text: &str) -> Result<HeaderValue, Error> {
    // Never echo the value: it may be a token.
    HeaderValue::from_str(text).map_err(|_| Error::InvalidRequest {
        action,
        reason: "a credential contains characters not allowed in an HTTP header".into(),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(endpoint: &str) -> Result<Client, Error> {
        Client::builder()
            .endpoint(endpoint)
            .credentials(Credentials::new("id", "key"))
            .build()
    }

    #[test]
    fn endpoints() {
        assert!(build("https://vod.tencentcloudapi.com").is_ok());
        assert!(build("https://vod.tencentcloudapi.com/").is_ok());
        assert!(build("http://127.0.0.1:8080").is_ok());
        assert!(build("http://localhost:8080").is_ok());
        assert!(build("http://[::1]:8080").is_ok());
        let e = build("http://vod.example.com").unwrap_err();
        assert!(e.to_string().contains("allow_insecure_http"), "{e}");
        assert!(Client::builder()
            .endpoint("http://vod.example.com")
            .allow_insecure_http(true)
            .credentials(Credentials::new("id", "key"))
            .build()
            .is_ok());
        assert!(build("ftp://x").is_err());
        assert!(build("https://vod.tencentcloudapi.com/v2?x=1").is_err());
        assert!(build("not a url").is_err());
    }

    #[test]
    fn host_header_matches_what_is_signed() {
        let c = build("http://127.0.0.1:8080").unwrap();
        assert_eq!(c.inner.host_text, "127.0.0.1:8080");
        let c = build("https://vod.tencentcloudapi.com:443").unwrap();
        assert_eq!(c.inner.host_text, "vod.tencentcloudapi.com");
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = Client::builder()
            .credentials(Credentials::new("AKIDx", "TOPSECRETKEY").with_token("TOKENVALUE"))
            .build()
            .unwrap();
        let text = format!("{c:?}");
        assert!(
            !text.contains("TOPSECRETKEY") && !text.contains("TOKENVALUE"),
            "{text}"
        );
    }
}
