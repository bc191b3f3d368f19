//! The receiver: an axum [`Router`] whose requests become deliveries of a
//! [`DeliveryStream`], answered 200 only once the consumer acknowledged them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http::StatusCode;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::time::Instant;

use crate::consumer::{later, ContentKey};
use crate::consumer::{
    ConsumerOptions, Delivery, DeliveryStream, ErrorClass, Leased, Received, Source, SourceError,
};
use crate::event::{Provider, VodEvent};
use crate::push::check::{PushEvent, Refusal, Verifier};
use crate::push::verify::Keys;
use crate::transport::{Clock, SystemClock};

/// The default body cap: 1 MiB. Events are a few KiB; raise it with
/// [`ReceiverBuilder::body_limit`] for larger ones.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// The default time a body has to arrive once the headers are in: producers give up after
/// 5 s (Alibaba IMS 3 s) anyway, and a slow client must not hold a slot longer.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// The default bound of requests in flight (reading, or waiting for their acknowledgement).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1_000;
/// Default time from a Tencent push's arrival to its acknowledgement: Tencent's documented
/// timeout is 5 s; 1 s is left for the network and the answer.
pub const DEFAULT_TENCENT_DEADLINE: Duration = Duration::from_secs(4);
/// Default for Alibaba VOD callbacks (the producer waits 5 s).
pub const DEFAULT_VOD_DEADLINE: Duration = Duration::from_secs(4);
/// Default for Alibaba IMS callbacks (the producer waits 3 s).
pub const DEFAULT_IMS_DEADLINE: Duration = Duration::from_secs(2);
/// How long an acknowledged event is remembered, so that a repeat (a producer retry whose
/// 200 was lost, a replayed signature) is answered 200 and not delivered again: twice the
/// default Alibaba window, so every replay its timestamp check lets through is covered.
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// Most acknowledged events remembered at once; past it the oldest are forgotten first.
pub const DEFAULT_DEDUP_CAPACITY: usize = 100_000;

/// A delivery of a push: the same [`Delivery`] as for the queues. [`Delivery::ack`] answers
/// the request 200; [`Delivery::nack`], dropping it, or missing its deadline answers 503.
pub type PushDelivery = Delivery<PushSource>;
/// The stream of [`PushDelivery`]s the router feeds.
pub type PushStream = DeliveryStream<PushSource>;

/// Why the receiver could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An Alibaba key is set but no callback URL: Alibaba signs the URL, so no signature
    /// could match.
    #[error("an Alibaba key needs the callback URL it signs (callback_url)")]
    MissingCallbackUrl,
    /// The callback URL does not parse as an absolute URL.
    #[error("the callback URL is not an absolute URL")]
    InvalidCallbackUrl(#[source] url::ParseError),
    /// The path to serve does not start with `/`, or has a `{` or `}` (axum's parameter
    /// syntax).
    #[error("the path to serve must start with '/' and have no '{{' or '}}'")]
    InvalidPath,
}

/// Builds the receiver: [`Receiver::builder`].
#[derive(Debug)]
pub struct Receiver;

impl Receiver {
    /// A builder with the defaults: no keys (so every push is refused until one is set or
    /// [`allow_unsigned`](ReceiverBuilder::allow_unsigned) is on), a 1 MiB body cap, 5 s
    /// for the body, 1,000 requests in flight, deadlines 4 s (Tencent, Alibaba VOD) and 2 s
    /// (IMS), repeats of an acknowledged event answered 200 for 10 minutes.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }
}

/// Configures a receiver; [`build`](Self::build) gives the [`Router`] to mount and the
/// [`PushStream`] to consume.
pub struct ReceiverBuilder {
    verifier: Verifier,
    path: Option<String>,
    body_limit: usize,
    body_timeout: Duration,
    max_in_flight: usize,
    deadlines: [Duration; 3],
    dedup_window: Duration,
    dedup_capacity: usize,
    options: Option<ConsumerOptions>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("verifier", &self.verifier)
            .field("path", &self.path)
            .field("body_limit", &self.body_limit)
            .field("body_timeout", &self.body_timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("deadlines", &self.deadlines)
            .field("dedup_window", &self.dedup_window)
            .finish_non_exhaustive()
    }
}

impl Default for ReceiverBuilder {
    fn default() -> Self {
        ReceiverBuilder {
            verifier: Verifier::new(),
            path: None,
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            deadlines: [
                DEFAULT_TENCENT_DEADLINE,
                DEFAULT_VOD_DEADLINE,
                DEFAULT_IMS_DEADLINE,
            ],
            dedup_window: DEFAULT_DEDUP_WINDOW,
            dedup_capacity: DEFAULT_DEDUP_CAPACITY,
            options: None,
            clock: Arc::new(SystemClock),
        }
    }
}

fn slot(provider: Provider) -> usize {
    match provider {
        Provider::Tencent => 0,
        Provider::AlibabaVod => 1,
        Provider::AlibabaIms => 2,
    }
}

impl ReceiverBuilder {
    /// Verifies Tencent v3.0 pushes with this `SignKey` (or [`Keys`] with a previous one).
    pub fn tencent_sign_key(mut self, keys: impl Into<Keys>) -> Self {
        self.verifier = self.verifier.tencent_keys(keys);
        self
    }

    /// Verifies Alibaba VOD and IMS callbacks with this `AuthKey` (or [`Keys`]); needs
    /// [`callback_url`](Self::callback_url).
    pub fn alibaba_auth_key(mut self, keys: impl Into<Keys>) -> Self {
        self.verifier = self.verifier.alibaba_keys(keys);
        self
    }

    /// Replaces the whole signature configuration (per-product Alibaba keys, window, …).
    pub fn verifier(mut self, verifier: Verifier) -> Self {
        self.verifier = verifier;
        self
    }

    /// The callback URL exactly as configured at Alibaba (signed byte for byte); its path is
    /// the path served unless [`path`](Self::path) says otherwise.
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.verifier = self.verifier.callback_url(url);
        self
    }

    /// How far an Alibaba timestamp may be from now, either way (default 300 s).
    pub fn window(mut self, window: Duration) -> Self {
        self.verifier = self.verifier.window(window);
        self
    }

    /// Accepts pushes, unverified, from a producer without a key here (default off).
    pub fn allow_unsigned(mut self, allow: bool) -> Self {
        self.verifier = self.verifier.allow_unsigned(allow);
        self
    }

    /// The path the router serves, relative to where it is mounted (default: the callback
    /// URL's path, else `/`). Use `/` to [`nest`](Router::nest) it at a path of your own.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The most bytes a body may have (default 1 MiB); larger ones are answered 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How long a body has to arrive (default 5 s); a slower one is answered 408.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The most requests in flight at once, reading or waiting for an acknowledgement
    /// (default 1,000); past it requests are answered 503 at once, and the producer retries.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        // Tokio's semaphores hold at most `MAX_PERMITS`; more would panic.
        self.max_in_flight = n.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// How long after a request from `provider` arrived it may wait for its
    /// acknowledgement before it is answered 503. Keep it well inside the producer's own
    /// timeout (Tencent and Alibaba VOD 5 s, IMS 3 s), or an acknowledged event is answered
    /// after the producer gave up, and comes again.
    pub fn ack_deadline(mut self, provider: Provider, deadline: Duration) -> Self {
        self.deadlines[slot(provider)] = deadline;
        self
    }

    /// How long an acknowledged event is remembered (default 10 minutes) and how many at
    /// most (default 100,000): a repeat within it is answered 200 and not delivered again.
    pub fn dedup(mut self, window: Duration, capacity: usize) -> Self {
        self.dedup_window = window;
        self.dedup_capacity = capacity.max(1);
        self
    }

    /// The engine's options (bounds, shutdown grace, metrics). The default differs from
    /// [`ConsumerOptions::default`] in one way: `ack_flush_interval` is zero, since each
    /// acknowledgement is a waiting HTTP answer, not a call to batch.
    pub fn consumer_options(mut self, options: ConsumerOptions) -> Self {
        self.options = Some(options);
        self
    }

    /// The wall clock the signatures are checked against (default the system's).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The router to mount and the stream of deliveries. Must be called inside a Tokio
    /// runtime (the stream starts its tasks).
    pub fn build(self) -> Result<(Router, PushStream), ConfigError> {
        if self.verifier.lacks_callback_url() {
            return Err(ConfigError::MissingCallbackUrl);
        }
        let url_path = match self.verifier.configured_callback_url() {
            Some(url) => Some(
                url::Url::parse(url)
                    .map_err(ConfigError::InvalidCallbackUrl)?
                    .path()
                    .to_owned(),
            ),
            None => None,
        };
        let path = self.path.or(url_path).unwrap_or_else(|| "/".to_owned());
        if !is_literal_path(&path) {
            return Err(ConfigError::InvalidPath);
        }
        let options = self.options.unwrap_or_else(|| ConsumerOptions {
            ack_flush_interval: Duration::ZERO,
            ..ConsumerOptions::default()
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let source = PushSource {
            rx: tokio::sync::Mutex::new(rx),
            margin: options.expiry_margin,
            counters: counters.clone(),
        };
        let shared = Arc::new(Shared {
            verifier: self.verifier,
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            in_flight: Arc::new(Semaphore::new(self.max_in_flight)),
            deadlines: self.deadlines,
            dedup: Dedup::new(self.dedup_window, self.dedup_capacity),
            clock: self.clock,
            tx,
            counters,
        });
        // Without the checks for axum 0.7's syntax, `/:x` and `/*x` are plain segments, as
        // in the callback URL.
        let router = Router::new()
            .without_v07_checks()
            .route(&path, post(handle))
            .with_state(shared);
        Ok((router, DeliveryStream::new(source, options)))
    }
}

/// Whether axum takes `path` as one literal route: `Router::route` panics on syntax it does
/// not accept, and a path with a parameter (`{…}`) would serve more than the callback URL.
/// Segments starting with `:` or `*` are literal with `without_v07_checks`.
fn is_literal_path(path: &str) -> bool {
    path.starts_with('/') && !path.contains(['{', '}'])
}

/// What the router's requests share.
struct Shared {
    verifier: Verifier,
    body_limit: usize,
    body_timeout: Duration,
    in_flight: Arc<Semaphore>,
    deadlines: [Duration; 3],
    dedup: Dedup,
    clock: Arc<dyn Clock>,
    tx: mpsc::UnboundedSender<Pending>,
    counters: Arc<Counters>,
}

/// A verified request waiting for its delivery to be settled.
struct Pending {
    event: PushEvent,
    reply: oneshot::Sender<()>,
    deadline: Instant,
}

/// What acknowledges one push: the way back to its waiting request. Clones share it; the
/// request is answered 503 as soon as the last clone is dropped unused.
#[derive(Clone)]
pub struct PushToken(Arc<Mutex<Option<oneshot::Sender<()>>>>);

impl fmt::Debug for PushToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiting = lock(&self.0).as_ref().is_some_and(|tx| !tx.is_closed());
        f.debug_struct("PushToken")
            .field("waiting", &waiting)
            .finish()
    }
}

/// Why a push acknowledgement did not land, or why the stream ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The request was answered already (its deadline passed, or the client went away):
    /// the producer will send the event again.
    #[error("the request was already answered; the producer will send the event again")]
    Answered,
    /// Every router of this receiver is gone (the server stopped): the stream ends.
    #[error("the receiver's router is gone; no more pushes can arrive")]
    Closed,
}

impl SourceError for PushError {
    fn class(&self) -> ErrorClass {
        match self {
            PushError::Answered => ErrorClass::Transient,
            PushError::Closed => ErrorClass::Exhausted,
        }
    }
}

/// Counters of a receiver, from [`PushSource::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushStats {
    /// Requests answered 200 after their delivery was acknowledged.
    pub accepted: u64,
    /// Repeats of an acknowledged event answered 200 without a delivery.
    pub duplicates: u64,
    /// Deliveries released (`nack()`) or dropped, answered 503.
    pub released: u64,
    /// Requests whose deadline passed before an acknowledgement, answered 503.
    pub late: u64,
    /// Refused requests by [`Refusal::reason`].
    pub refused: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    released: AtomicU64,
    late: AtomicU64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counters {
    fn refused(&self, reason: &'static str) {
        *lock(&self.refused).entry(reason).or_default() += 1;
    }
}

/// The push receiver as a [`Source`] of the consumer engine: the router's requests, once
/// verified, are its messages; acknowledging a token answers the request 200, releasing or
/// dropping it answers 503.
pub struct PushSource {
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    margin: Duration,
    counters: Arc<Counters>,
}

impl fmt::Debug for PushSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushSource")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl PushSource {
    /// What the receiver did so far.
    pub fn stats(&self) -> PushStats {
        let c = &self.counters;
        PushStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            released: c.released.load(Ordering::Relaxed),
            late: c.late.load(Ordering::Relaxed),
            refused: lock(&c.refused).clone(),
        }
    }

    fn leased(&self, pending: Pending) -> Leased<PushEvent, PushToken> {
        Leased {
            message: pending.event,
            token: Some(PushToken(Arc::new(Mutex::new(Some(pending.reply))))),
            // The engine stops acknowledging `expiry_margin` before a lease ends, or a
            // quarter of the lease when that is shorter. The margin added here makes the last
            // useful acknowledgement the deadline either way: the whole margin when the
            // deadline is at least three margins away, else a third of the time left (a
            // quarter of the lease that gives).
            lease_until: later(
                pending.deadline,
                self.margin.min(
                    pending
                        .deadline
                        .saturating_duration_since(tokio::time::Instant::now())
                        / 3,
                ),
            ),
            attempt: None,
        }
    }
}

impl Source for PushSource {
    type Message = PushEvent;
    type Token = PushToken;
    type Error = PushError;

    async fn receive(&self) -> Received<Self> {
        let mut receiving = Receiving {
            rx: self.rx.lock().await,
            done: false,
        };
        let Some(first) = receiving.rx.recv().await else {
            receiving.done = true;
            return Err(PushError::Closed);
        };
        let mut batch = vec![self.leased(first)];
        while batch.len() < self.max_batch() {
            match receiving.rx.try_recv() {
                Ok(pending) => batch.push(self.leased(pending)),
                Err(_) => break,
            }
        }
        receiving.done = true;
        Ok(batch)
    }

    async fn acknowledge(
        &self,
        tokens: Vec<PushToken>,
        _deadline: Instant,
    ) -> Vec<Result<(), Arc<PushError>>> {
        tokens
            .into_iter()
            .map(|token| {
                let reply = lock(&token.0).take();
                match reply.map(|tx| tx.send(())) {
                    Some(Ok(())) => Ok(()),
                    _ => Err(Arc::new(PushError::Answered)),
                }
            })
            .collect()
    }

    async fn release(
        &self,
        token: PushToken,
    ) -> Result<(), crate::consumer::LeaseError<PushError>> {
        // Dropping the sender is the answer: the request sees it closed and answers 503.
        drop(lock(&token.0).take());
        Ok(())
    }
}

/// The channel while a receive waits on it. The engine cancels a receive only when the
/// stream stops (shutdown, drop, a fatal error), so a receive dropped before it finished
/// closes the channel: requests arriving from then on are answered 503 at once instead of
/// waiting for their deadline, and those queued but never received are dropped, which
/// answers them 503 too.
struct Receiving<'a> {
    rx: tokio::sync::MutexGuard<'a, mpsc::UnboundedReceiver<Pending>>,
    done: bool,
}

impl Drop for Receiving<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.rx.close();
            while self.rx.try_recv().is_ok() {}
        }
    }
}

/// Acknowledged events remembered for a while, and those being handled now, by the 128-bit
/// digest of their idempotency key: 16 bytes an entry whatever the key's length, so the
/// default 100,000 entries stay a few MiB.
struct Dedup {
    window: Duration,
    capacity: usize,
    inner: Mutex<DedupInner>,
}

#[derive(Default)]
struct DedupInner {
    /// `Some(until)` once acknowledged, `None` while in flight.
    keys: HashMap<ContentKey, Option<Instant>>,
    /// Acknowledged keys, oldest first.
    order: VecDeque<(Instant, ContentKey)>,
}

enum Seen {
    New,
    Acknowledged,
    InFlight,
}

impl Dedup {
    fn new(window: Duration, capacity: usize) -> Self {
        Dedup {
            window,
            capacity,
            inner: Mutex::new(DedupInner::default()),
        }
    }

    fn begin(&self, key: ContentKey, now: Instant) -> Seen {
        let mut inner = lock(&self.inner);
        inner.forget_before(now);
        match inner.keys.get(&key) {
            Some(Some(_)) => Seen::Acknowledged,
            Some(None) => Seen::InFlight,
            None => {
                inner.keys.insert(key, None);
                Seen::New
            }
        }
    }

    fn finish(&self, key: ContentKey, acknowledged: bool, now: Instant) {
        let mut inner = lock(&self.inner);
        if !acknowledged {
            if let Some(None) = inner.keys.get(&key) {
                inner.keys.remove(&key);
            }
            return;
        }
        let until = later(now, self.window);
        inner.keys.insert(key, Some(until));
        inner.order.push_back((until, key));
        while inner.order.len() > self.capacity {
            if let Some((_, old)) = inner.order.pop_front() {
                inner.forget(old);
            }
        }
    }
}

impl DedupInner {
    fn forget_before(&mut self, now: Instant) {
        while self.order.front().is_some_and(|(until, _)| *until <= now) {
            if let Some((_, old)) = self.order.pop_front() {
                self.forget(old);
            }
        }
    }

    /// Forgets an acknowledged key (not one in flight again since).
    fn forget(&mut self, key: ContentKey) {
        if let Some(Some(_)) = self.keys.get(&key) {
            self.keys.remove(&key);
        }
    }
}

/// Marks an event in flight until dropped: a request cancelled mid-wait (the client went
/// away) must not leave its key marked forever.
struct InFlight<'a> {
    dedup: &'a Dedup,
    key: ContentKey,
    acknowledged: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.dedup
            .finish(self.key, self.acknowledged, Instant::now());
    }
}

/// Locks a mutex, taking the value of a poisoned one: every value kept under these locks
/// is valid after any partial update.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn answer(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

fn refuse(shared: &Shared, refusal: Refusal) -> Response {
    shared.counters.refused(refusal.reason());
    tracing::debug!(reason = refusal.reason(), error = %refusal, "push refused");
    (refusal.status(), refusal.to_string()).into_response()
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let arrived = Instant::now();
    // Taken before the body is read, so slow clients count against the bound.
    let Ok(_permit) = shared.in_flight.clone().try_acquire_owned() else {
        return refuse(&shared, Refusal::Overloaded);
    };
    let (parts, body) = request.into_parts();
    let body = match read_body(&shared, &parts.headers, body).await {
        Ok(body) => body,
        Err(refusal) => return refuse(&shared, refusal),
    };
    let now = crate::transport::clock::unix_secs(shared.clock.now());
    let event = match shared.verifier.check(&parts.headers, body, now) {
        Ok(event) => event,
        Err(refusal) => return refuse(&shared, refusal),
    };
    let key = ContentKey::of(event.idempotency_key().as_bytes());
    match shared.dedup.begin(key, Instant::now()) {
        Seen::New => {}
        Seen::Acknowledged => {
            shared.counters.duplicates.fetch_add(1, Ordering::Relaxed);
            return answer(StatusCode::OK, "ok (already received)");
        }
        Seen::InFlight => return refuse(&shared, Refusal::InFlight),
    }
    let mut in_flight = InFlight {
        dedup: &shared.dedup,
        key,
        acknowledged: false,
    };
    // `later`: a huge configured deadline saturates instead of overflowing the clock.
    let deadline = later(arrived, shared.deadlines[slot(event.provider())]);
    let (reply, settled) = oneshot::channel();
    let pending = Pending {
        event,
        reply,
        deadline,
    };
    if shared.tx.send(pending).is_err() {
        drop(in_flight);
        return refuse(&shared, Refusal::ShuttingDown);
    }
    match tokio::time::timeout_at(deadline, settled).await {
        Ok(Ok(())) => {
            in_flight.acknowledged = true;
            drop(in_flight);
            shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
            answer(StatusCode::OK, "ok")
        }
        Ok(Err(_)) => {
            drop(in_flight);
            shared.counters.released.fetch_add(1, Ordering::Relaxed);
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "not acknowledged; send it again",
            )
        }
        Err(_) => {
            drop(in_flight);
            shared.counters.late.fetch_add(1, Ordering::Relaxed);
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "not acknowledged in time; send it again",
            )
        }
    }
}

async fn read_body(
    shared: &Shared,
    headers: &http::HeaderMap,
    body: Body,
) -> Result<bytes::Bytes, Refusal> {
    let limit = shared.body_limit;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // A declared length over the cap is refused before a byte of the body is read.
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Refusal::BodyTooLarge { limit });
    }
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(shared.body_timeout, collect).await {
        Err(_) => Err(Refusal::BodyTimeout(shared.body_timeout)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Refusal::BodyTooLarge { limit })
        }
        Ok(Err(error)) => Err(Refusal::BodyRead(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ContentKey {
        ContentKey::of(name.as_bytes())
    }

    #[test]
    fn an_event_is_in_flight_then_remembered_for_the_window() {
        let dedup = Dedup::new(Duration::from_secs(10), 100);
        let t0 = Instant::now();
        assert!(matches!(dedup.begin(key("a"), t0), Seen::New));
        assert!(matches!(dedup.begin(key("a"), t0), Seen::InFlight));
        dedup.finish(key("a"), true, t0);
        assert!(matches!(
            dedup.begin(key("a"), t0 + Duration::from_secs(9)),
            Seen::Acknowledged
        ));
        assert!(matches!(
            dedup.begin(key("a"), t0 + Duration::from_secs(10)),
            Seen::New
        ));
    }

    #[test]
    fn an_event_not_acknowledged_is_forgotten_at_once() {
        let dedup = Dedup::new(Duration::from_secs(10), 100);
        let t0 = Instant::now();
        assert!(matches!(dedup.begin(key("a"), t0), Seen::New));
        dedup.finish(key("a"), false, t0);
        assert!(matches!(dedup.begin(key("a"), t0), Seen::New));
    }

    #[test]
    fn past_the_capacity_the_oldest_acknowledged_go_first_and_in_flight_stay() {
        let dedup = Dedup::new(Duration::from_secs(10), 2);
        let t0 = Instant::now();
        assert!(matches!(dedup.begin(key("busy"), t0), Seen::New));
        for name in ["a", "b", "c"] {
            assert!(matches!(dedup.begin(key(name), t0), Seen::New));
            dedup.finish(key(name), true, t0);
        }
        assert!(matches!(dedup.begin(key("a"), t0), Seen::New));
        assert!(matches!(dedup.begin(key("c"), t0), Seen::Acknowledged));
        assert!(matches!(dedup.begin(key("busy"), t0), Seen::InFlight));
    }

    #[test]
    fn only_literal_paths_are_served() {
        for ok in ["/", "/vod/callback", "/a/:x/*y", "/a%7Bb%7D"] {
            assert!(is_literal_path(ok), "{ok}");
        }
        for bad in ["", "vod", "/{id}", "/a}"] {
            assert!(!is_literal_path(bad), "{bad}");
        }
    }
}
