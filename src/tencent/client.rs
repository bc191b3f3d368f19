//! The signed VOD API client: one generic call for any action, with retries, clock-skew
//! correction, pacing, timeouts and a response-size cap.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_TYPE, HOST};
use tokio::sync::OnceCell;
use tokio::time::Instant;
use tracing::{field, Instrument};

use crate::tencent::api::{
    Action, ApiResponse, ConfirmEvents, ConfirmEventsResponse, DescribeEventConfig,
    DescribeEventConfigResponse, DescribeEventsState, DescribeEventsStateResponse, Envelope,
    ModifyEventConfig, ModifyEventConfigResponse, PullEvents, PullEventsResponse, API_VERSION,
};
use crate::tencent::credentials::{Credentials, DefaultChain, ProvideCredentials};
use crate::tencent::error::{body_snippet, Error};
use crate::tencent::sign::{sign_with_key, signing_key, utc_date, SigningInput};
use crate::transport::clock::ClockSkew;
use crate::transport::http::{self, origin_for_display, ReadError};
use crate::transport::{Decision, GiveUpReason, Pacer, RetryBudget, RetryPolicy};

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
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    url: reqwest::Url,
    host: HeaderValue,
    host_text: String,
    credentials: Arc<dyn ProvideCredentials>,
    resolved: OnceCell<Credentials>,
    region: Option<HeaderValue>,
    language: Option<HeaderValue>,
    sub_app_id: Option<u64>,
    request_timeout: Duration,
    long_poll_timeout: Duration,
    max_response_bytes: usize,
    retry: RetryPolicy,
    budgets: PerAction<RetryBudget>,
    clock: Arc<dyn Clock>,
    skew: ClockSkew,
    pacers: PerAction<Pacer>,
    rng: Mutex<fastrand::Rng>,
    /// The TC3 signing key of the last UTC day signed for (day number, key): derived once a
    /// day instead of on every request. The resolved credentials never change.
    signing_key: Mutex<Option<(i64, [u8; 32])>>,
}

/// One of a thing for each of the two event actions, and one for the others. Pacing follows
/// the service's per-action limits. Retry budgets are per action too, so a storm of long-poll
/// timeouts cannot drain the budget that confirms (whose handles are about to expire) need;
/// each success refills all of them, so confirms (16 events a call, far fewer calls than
/// pulls) are not starved of refills either.
struct PerAction<T> {
    pull: T,
    confirm: T,
    other: T,
}

impl<T> PerAction<T> {
    fn new(mut make: impl FnMut(&'static str) -> T) -> Self {
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

    async fn credentials(&self) -> Result<&Credentials, Error> {
        // Resolved once and cached: the default chain reads files, which must not happen
        // on every request. A failed resolution is not cached, so a fix is picked up.
        self.inner
            .resolved
            .get_or_try_init(|| self.inner.credentials.provide())
            .await
            .map_err(Error::from)
    }

    async fn attempt<A: Action>(
        &self,
        body: Bytes,
        timeout: Duration,
    ) -> Result<A::Response, Failure> {
        let inner = &self.inner;
        let creds = self.credentials().await?;
        let timestamp = self.now_unix();
        let day = timestamp.div_euclid(86_400);
        let key = {
            let mut cached = lock(&inner.signing_key);
            match *cached {
                Some((d, key)) if d == day => key,
                _ => {
                    let key =
                        signing_key(creds.secret_key().expose(), &utc_date(timestamp), SERVICE);
                    *cached = Some((day, key));
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
        decode_response::<A>(&buf).map_err(fail)
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

/// Decodes an HTTP 200 response body of action `A` exactly as the client does: the
/// `{"Response": ...}` envelope, then `Response.Error` as [`Error::Api`]. Public only so the
/// fuzz targets, benches and tests decode exactly as the client does; not part of the API.
#[doc(hidden)]
pub fn decode_response<A: Action>(body: &[u8]) -> Result<A::Response, Error> {
    let mut decoded = serde_json::from_slice::<Envelope<A::Response>>(body)
        .map_err(|e| Error::Decode {
            action: A::NAME,
            reason: e.to_string(),
            body_snippet: body_snippet(body),
        })?
        .response;
    if let Some(api) = decoded.take_error() {
        return Err(Error::Api {
            action: A::NAME,
            code: api.code,
            message: api.message,
            request_id: decoded.request_id().to_owned(),
        });
    }
    Ok(decoded)
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

/// Builds a [`Client`].
pub struct ClientBuilder {
    endpoint: String,
    allow_insecure_http: bool,
    credentials: Option<Arc<dyn ProvideCredentials>>,
    region: Option<String>,
    language: Option<String>,
    sub_app_id: Option<u64>,
    http: Option<reqwest::Client>,
    connect_timeout: Duration,
    request_timeout: Duration,
    long_poll_timeout: Duration,
    max_response_bytes: usize,
    retry: RetryPolicy,
    retry_budget: u32,
    event_action_rate: f64,
    other_action_rate: f64,
    clock: Arc<dyn Clock>,
    jitter_seed: Option<u64>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = reqwest::Url::parse(self.endpoint.trim())
            .map(|url| origin_for_display(&url))
            .unwrap_or_else(|_| "(not a URL)".into());
        f.debug_struct("ClientBuilder")
            .field("endpoint", &endpoint)
            .field("credentials", &self.credentials)
            .field("sub_app_id", &self.sub_app_id)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoint: DEFAULT_ENDPOINT.into(),
            allow_insecure_http: false,
            credentials: None,
            region: None,
            language: None,
            sub_app_id: None,
            http: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            long_poll_timeout: DEFAULT_LONG_POLL_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryPolicy::default(),
            retry_budget: 500,
            event_action_rate: DEFAULT_EVENT_ACTION_RATE,
            other_action_rate: DEFAULT_OTHER_ACTION_RATE,
            clock: Arc::new(SystemClock),
            jitter_seed: None,
        }
    }
}

impl ClientBuilder {
    /// The API endpoint, `https://vod.tencentcloudapi.com` by default. `http://` is accepted
    /// for loopback addresses (tests, the fake server); elsewhere only with
    /// [`ClientBuilder::allow_insecure_http`].
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self
    }

    /// Allows plain `http://` to a non-loopback host. Credentials stay secret (only a
    /// signature travels), but events and tokens would cross the network unencrypted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Where credentials come from (default: [`DefaultChain`]). A [`Credentials`] value works too.
    pub fn credentials(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.credentials = Some(Arc::new(provider));
        self
    }

    /// Like [`ClientBuilder::credentials`], for a provider already shared.
    pub fn credentials_provider(mut self, provider: Arc<dyn ProvideCredentials>) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// Sends `X-TC-Region` (the VOD event actions do not need it; left out by default).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sends `X-TC-Language` (`zh-CN` or `en-US`) to choose the language of error messages.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// The `SubAppId` used when a request sets none (required for accounts opened on or
    /// after 2023-12-25).
    pub fn sub_app_id(mut self, sub_app_id: u64) -> Self {
        self.sub_app_id = Some(sub_app_id);
        self
    }

    /// Uses this `reqwest::Client` (for proxies, custom TLS roots, a shared pool). Its own
    /// timeouts still apply; the per-attempt timeouts set here are added per request.
    ///
    /// Build it with `.redirect(reqwest::redirect::Policy::none())`: reqwest keeps custom
    /// headers such as `X-TC-Token` across a redirect to another host. An answer that comes
    /// from anywhere but the endpoint is refused as [`Error::Redirected`], but by then the
    /// request has gone there.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// TCP connect timeout of the built-in HTTP client (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Per-attempt timeout of every action but PullEvents (default 8 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Per-attempt timeout of PullEvents (default 10 s). Must exceed the service's 5 s hold.
    pub fn long_poll_timeout(mut self, timeout: Duration) -> Self {
        self.long_poll_timeout = timeout;
        self
    }

    /// Largest response body accepted (default 8 MiB).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// How failed calls are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Size of each action's retry budget, shared by all calls of that action (default 500
    /// tokens; a retry costs 5, a retry after a timeout 10, a success refunds 1). PullEvents,
    /// ConfirmEvents and the other actions each have their own.
    pub fn retry_budget(mut self, tokens: u32) -> Self {
        self.retry_budget = tokens;
        self
    }

    /// Most requests per second for PullEvents and for ConfirmEvents, each (default 98;
    /// the service allows 100). `0` disables pacing.
    pub fn event_action_rate(mut self, per_second: f64) -> Self {
        self.event_action_rate = per_second;
        self
    }

    /// Most requests per second for each of the other three actions (default 19).
    pub fn other_action_rate(mut self, per_second: f64) -> Self {
        self.other_action_rate = per_second;
        self
    }

    /// The clock used for `X-TC-Timestamp` (tests inject a skewed one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Seeds the backoff jitter, for reproducible runs.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let url = reqwest::Url::parse(self.endpoint.trim()).map_err(|e| {
            // Not echoed: a mistyped endpoint may hold a pasted credential.
            Error::Config(format!(
                "the endpoint is not a URL ({e}); expected https://host[:port]"
            ))
        })?;
        let shown = origin_for_display(&url);
        http::check_scheme(&url, self.allow_insecure_http).map_err(Error::Config)?;
        let host_name = url
            .host_str()
            .ok_or_else(|| Error::Config(format!("endpoint {shown} has no host")))?;
        if url.path() != "/"
            || url.query().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(Error::Config(format!(
                "endpoint {shown} must be scheme://host[:port] only, without user info, path or query (the API path is always /)"
            )));
        }
        if self.long_poll_timeout <= Duration::from_secs(5) {
            tracing::warn!(
                timeout = ?self.long_poll_timeout,
                "long-poll timeout does not exceed the service's 5 s hold; healthy polls may time out"
            );
        }
        // Exactly what goes into the Host header is what gets signed.
        let host_text = match url.port() {
            Some(port) => format!("{host_name}:{port}"),
            None => host_name.to_owned(),
        };
        let host = HeaderValue::from_str(&host_text).map_err(|_| {
            Error::Config(format!(
                "endpoint host {host_text:?} is not a valid header value"
            ))
        })?;
        let optional_header =
            |name: &str, value: Option<String>| -> Result<Option<HeaderValue>, Error> {
                value
                    .map(|v| {
                        HeaderValue::from_str(&v).map_err(|_| {
                            Error::Config(format!("{name} {v:?} is not a valid header value"))
                        })
                    })
                    .transpose()
            };
        let region = optional_header("region", self.region)?;
        let language = optional_header("language", self.language)?;
        let http = match self.http {
            Some(http) => http,
            None => http::build_client(self.connect_timeout, url.scheme() == "https")
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        let rng = match self.jitter_seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                url,
                host,
                host_text,
                credentials: self
                    .credentials
                    .unwrap_or_else(|| Arc::new(DefaultChain::new())),
                resolved: OnceCell::new(),
                region,
                language,
                sub_app_id: self.sub_app_id,
                request_timeout: self.request_timeout,
                long_poll_timeout: self.long_poll_timeout,
                max_response_bytes: self.max_response_bytes,
                retry: self.retry,
                budgets: PerAction::new(|_| RetryBudget::new(self.retry_budget)),
                clock: self.clock,
                skew: ClockSkew::default(),
                pacers: PerAction::new(|action| match action {
                    "PullEvents" | "ConfirmEvents" => Pacer::new(self.event_action_rate),
                    _ => Pacer::new(self.other_action_rate),
                }),
                rng: Mutex::new(rng),
                signing_key: Mutex::new(None),
            }),
        })
    }
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
