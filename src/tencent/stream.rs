//! Draining the event queue as a `futures::Stream`.
//!
//! Two ways to consume, sharing one engine:
//!
//! - [`Client::events`] yields `Result<Event, Error>` and confirms for you: an event is
//!   acknowledged when you come back for the next item, i.e. after you have taken it and
//!   finished with it. A consumer that stops mid-batch loses nothing: what it did not come
//!   back from is redelivered by the service after 30 s.
//! - [`Client::deliveries`] yields [`Delivery`] values that carry the event, its raw JSON and
//!   its handle; you call [`Delivery::ack`] when your work is done (in any order, from any
//!   task). A delivery dropped without `ack` is left for redelivery.
//!
//! Underneath, `concurrency` puller tasks long-poll PullEvents, never holding more pulled but
//! not yet handed-over events than `prefetch` (so handles do not age in a buffer), and one
//! confirmer task batches acknowledged handles into ConfirmEvents calls of at most 16,
//! flushed when 16 are queued, when a batch is complete, or after `ack_flush_interval`, and
//! never retried past the handles' 30 s lifetime.
//!
//! Errors the client will retry never end a stream: pullers back off and poll again. A
//! fatal error (wrong key, no permission, VOD not enabled) is yielded once and ends it.
//! [`EventStream::shutdown`] / [`DeliveryStream::shutdown`] stop pulling, confirm what was
//! acknowledged, and report what was left for redelivery.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::tencent::api::{ConfirmEvents, MAX_EVENTS_PER_CALL};
use crate::tencent::client::Client;
use crate::tencent::error::Error;
use crate::tencent::events::{decode_event_content, Event, EventDecodeError, ReceivedEvent};
use crate::tencent::retry::RetryPolicy;

/// How long the service keeps a handle valid after delivering the event.
pub const HANDLE_LIFETIME: Duration = Duration::from_secs(30);

/// Options of an event stream.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Puller tasks long-polling at once (default 1). All share the client's pacing, so the
    /// service's per-action rate limit holds whatever the number.
    pub concurrency: usize,
    /// Most events pulled but not yet handed to the consumer (default `16 * (concurrency + 1)`:
    /// one batch in hand per puller plus one ahead).
    pub prefetch: Option<usize>,
    /// The SubAppId to drain (default: the client's).
    pub sub_app_id: Option<u64>,
    /// Longest time an acknowledged handle waits for 15 others before it is confirmed
    /// anyway (default 100 ms).
    pub ack_flush_interval: Duration,
    /// How long a handle stays valid after the pull (default [`HANDLE_LIFETIME`], the
    /// service's 30 s; shorter only to match a test server's window).
    pub handle_lifetime: Duration,
    /// A handle is not sent, and a confirm not retried, once less than this remains of its
    /// lifetime (default 2 s): a confirm that lands late only earns an error.
    pub expiry_margin: Duration,
    /// ConfirmEvents calls in flight at once (default 8).
    pub confirm_concurrency: usize,
    /// Backoff of a puller after the client gave up on a transient error (the client
    /// already retried inside the call). The stream never ends on such errors.
    pub pull_backoff: RetryPolicy,
    /// Hooks called on pulls, confirms and failures (default: none).
    pub metrics: Arc<dyn StreamMetrics>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            concurrency: 1,
            prefetch: None,
            sub_app_id: None,
            ack_flush_interval: Duration::from_millis(100),
            handle_lifetime: HANDLE_LIFETIME,
            expiry_margin: Duration::from_secs(2),
            confirm_concurrency: 8,
            pull_backoff: RetryPolicy {
                max_attempts: u32::MAX,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(30),
                min_rate_limited_delay: Duration::from_millis(200),
            },
            metrics: Arc::new(NoMetrics),
        }
    }
}

impl StreamOptions {
    fn effective_prefetch(&self) -> usize {
        self.prefetch
            .unwrap_or(MAX_EVENTS_PER_CALL * (self.concurrency.max(1) + 1))
            .max(MAX_EVENTS_PER_CALL)
    }
}

/// Observability hooks. Every method has a no-op default; implement the ones you export.
pub trait StreamMetrics: Send + Sync + fmt::Debug {
    /// A PullEvents call returned `events` events (0 for an empty long poll).
    fn pulled(&self, events: usize) {
        let _ = events;
    }
    /// A PullEvents call failed after the client's own retries; the puller backs off.
    fn pull_failed(&self, error: &Error) {
        let _ = error;
    }
    /// A ConfirmEvents call succeeded for `handles` handles.
    fn confirmed(&self, handles: usize) {
        let _ = handles;
    }
    /// A ConfirmEvents call for `handles` handles failed; those events will be redelivered.
    fn confirm_failed(&self, handles: usize, error: &Error) {
        let _ = (handles, error);
    }
    /// `handles` acknowledgements came too late to be confirmed; the events will be redelivered.
    fn expired(&self, handles: usize) {
        let _ = handles;
    }
}

/// The default metrics hook: does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;
impl StreamMetrics for NoMetrics {}

/// Counters of one stream, as reported by `shutdown` and [`DeliveryStream::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// PullEvents calls that succeeded.
    pub pulls: u64,
    /// Of those, the ones that returned no event.
    pub empty_pulls: u64,
    /// Events received from PullEvents.
    pub received: u64,
    /// Events handed to the consumer.
    pub handed_over: u64,
    /// Events acknowledged by the consumer (explicitly, or by coming back in `events()`).
    pub acked: u64,
    /// Events confirmed with ConfirmEvents.
    pub confirmed: u64,
    /// Events whose confirm failed (they will be redelivered).
    pub confirm_failed: u64,
    /// Events acknowledged too late to be confirmed (they will be redelivered).
    pub expired: u64,
    /// Events received but never acknowledged, left for redelivery.
    pub left_for_redelivery: u64,
}

#[derive(Debug, Default)]
struct Counters {
    pulls: AtomicU64,
    empty_pulls: AtomicU64,
    received: AtomicU64,
    handed_over: AtomicU64,
    acked: AtomicU64,
    confirmed: AtomicU64,
    confirm_failed: AtomicU64,
    expired: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> StreamStats {
        let get = |c: &AtomicU64| c.load(Ordering::Acquire);
        let received = get(&self.received);
        let acked = get(&self.acked);
        StreamStats {
            pulls: get(&self.pulls),
            empty_pulls: get(&self.empty_pulls),
            received,
            handed_over: get(&self.handed_over),
            acked,
            confirmed: get(&self.confirmed),
            confirm_failed: get(&self.confirm_failed),
            expired: get(&self.expired),
            left_for_redelivery: received.saturating_sub(get(&self.confirmed)),
        }
    }
}

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::AcqRel);
}

/// Why an acknowledgement was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The handle's 30 s (less the safety margin) are over: confirming would only earn an
    /// error from the service. The event will be redelivered.
    #[error(
        "the event handle expired {late:?} ago (handles live 30 s); the event will be redelivered"
    )]
    Expired {
        /// How long ago the usable lifetime ended.
        late: Duration,
    },
    /// The stream was shut down or dropped; nothing confirms any more.
    #[error("the event stream is closed; the event will be redelivered")]
    Closed,
}

/// What [`Delivery::ack`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// The handle was queued for the next ConfirmEvents.
    Queued,
    /// This delivery was already acknowledged; nothing more was done.
    AlreadyAcked,
}

/// One pulled event with everything needed to acknowledge it.
///
/// [`Delivery::split`] separates the event from its [`Acker`], so the payload can move into
/// a handler while the acknowledgement stays with whoever decides the work is done.
#[derive(Debug)]
pub struct Delivery {
    received: ReceivedEvent,
    acker: Acker,
}

impl Delivery {
    /// The typed event, or why it could not be decoded (its raw JSON is still in [`Delivery::raw`]).
    /// Decoded on first call, so a consumer that only forwards [`Delivery::raw`] never pays for it.
    pub fn event(&self) -> Result<&Event, &EventDecodeError> {
        self.received.event()
    }

    /// The decoded element of `EventSet`: typed event, raw JSON, handle.
    pub fn received(&self) -> &ReceivedEvent {
        &self.received
    }

    /// The event exactly as the service sent it (`EventHandle` included).
    pub fn raw(&self) -> &RawValue {
        self.received.raw()
    }

    /// The acknowledgement half.
    pub fn acker(&self) -> &Acker {
        &self.acker
    }

    /// The `EventHandle` (see [`Acker::handle`]).
    pub fn handle(&self) -> Option<&str> {
        self.acker.handle()
    }

    /// Queues the handle for ConfirmEvents (see [`Acker::ack`]).
    pub fn ack(&self) -> Result<AckOutcome, AckError> {
        self.acker.ack()
    }

    /// Separates the event from its acknowledgement.
    pub fn split(self) -> (ReceivedEvent, Acker) {
        (self.received, self.acker)
    }
}

/// The acknowledgement half of a [`Delivery`]: knows its handle and when it stops being
/// useful. Dropping it without [`Acker::ack`] leaves the event for redelivery.
pub struct Acker {
    handle: Option<String>,
    pulled_at: Instant,
    usable_until: Instant,
    acked: AtomicBool,
    last_in_batch: bool,
    confirmer: mpsc::UnboundedSender<ConfirmerMsg>,
}

impl fmt::Debug for Acker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acker")
            .field("handle", &self.handle)
            .field("pulled_at", &self.pulled_at)
            .field("usable_until", &self.usable_until)
            .field("acked", &self.acked.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Acker {
    /// The `EventHandle` used to confirm this delivery (`None` if the service sent none or
    /// an empty one; such an event cannot be confirmed and will come back).
    pub fn handle(&self) -> Option<&str> {
        self.handle.as_deref()
    }

    /// When the PullEvents call that delivered this event was sent: the handle's 30 s
    /// started no earlier.
    pub fn pulled_at(&self) -> Instant {
        self.pulled_at
    }

    /// The last moment an `ack` is still useful (30 s after the pull, less the margin).
    pub fn usable_until(&self) -> Instant {
        self.usable_until
    }

    /// Whether the handle's usable lifetime is over.
    pub fn is_expired(&self) -> bool {
        Instant::now() >= self.usable_until
    }

    /// Whether `ack` was called already.
    pub fn is_acked(&self) -> bool {
        self.acked.load(Ordering::Acquire)
    }

    /// Queues the handle for ConfirmEvents. Cheap (no I/O), idempotent, and typed when it is
    /// too late: an expired handle is not sent, because the service would refuse it and
    /// redeliver the event anyway.
    pub fn ack(&self) -> Result<AckOutcome, AckError> {
        self.ack_inner(false)
    }

    fn ack_inner(&self, flush: bool) -> Result<AckOutcome, AckError> {
        if self.acked.swap(true, Ordering::AcqRel) {
            return Ok(AckOutcome::AlreadyAcked);
        }
        let now = Instant::now();
        if now >= self.usable_until {
            let _ = self.confirmer.send(ConfirmerMsg::Expired);
            return Err(AckError::Expired {
                late: now - self.usable_until,
            });
        }
        let msg = match &self.handle {
            Some(handle) => ConfirmerMsg::Ack {
                handle: handle.clone(),
                usable_until: self.usable_until,
                flush,
            },
            // Nothing to confirm with; counted as acknowledged so the books balance.
            None => ConfirmerMsg::AckWithoutHandle,
        };
        self.confirmer.send(msg).map_err(|_| AckError::Closed)?;
        Ok(AckOutcome::Queued)
    }
}

enum ConfirmerMsg {
    Ack {
        handle: String,
        usable_until: Instant,
        flush: bool,
    },
    AckWithoutHandle,
    Expired,
    Flush(oneshot::Sender<()>),
}

/// State shared by the stream, its pullers and its confirmer.
struct Shared {
    client: Client,
    options: StreamOptions,
    counters: Counters,
    room: Semaphore,
    stop: watch::Sender<bool>,
    fatal: Mutex<Option<Error>>,
}

/// What a puller hands to the stream.
enum Pulled {
    /// A delivery, and whether it holds one unit of the prefetch room (the first 16 of a
    /// batch do; extras from a server that sends more than 16 do not).
    Delivery(Box<Delivery>, bool),
    Fatal(Error),
}

/// The explicit-acknowledgement stream; see the [module docs](self).
pub struct DeliveryStream {
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<Pulled>,
    confirmer_tx: mpsc::UnboundedSender<ConfirmerMsg>,
    pullers: Vec<JoinHandle<()>>,
    confirmer: Option<JoinHandle<()>>,
    finished: bool,
}

impl fmt::Debug for DeliveryStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryStream")
            .field("stats", &self.stats())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl DeliveryStream {
    pub(crate) fn start(client: Client, options: StreamOptions) -> Self {
        let (stop, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            room: Semaphore::new(options.effective_prefetch()),
            client,
            options,
            counters: Counters::default(),
            stop,
            fatal: Mutex::new(None),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let (confirmer_tx, confirmer_rx) = mpsc::unbounded_channel();
        let pullers = (0..shared.options.concurrency.max(1))
            .map(|i| {
                tokio::spawn(puller(
                    shared.clone(),
                    tx.clone(),
                    confirmer_tx.clone(),
                    i as u64,
                ))
            })
            .collect();
        let confirmer = Some(tokio::spawn(confirmer(shared.clone(), confirmer_rx)));
        DeliveryStream {
            shared,
            rx,
            confirmer_tx,
            pullers,
            confirmer,
            finished: false,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> StreamStats {
        self.shared.counters.snapshot()
    }

    /// Confirms every handle acknowledged so far now, without waiting for a full batch, and
    /// waits for those ConfirmEvents calls to finish.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.confirmer_tx.send(ConfirmerMsg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Stops pulling, hands over nothing more, confirms everything acknowledged, and reports.
    /// Events pulled but not handed over, and deliveries not acknowledged, are left for the
    /// service to redeliver.
    pub async fn shutdown(mut self) -> StreamStats {
        self.stop_pulling().await;
        // Undelivered events are dropped unacknowledged: the service redelivers them.
        self.rx.close();
        while self.rx.try_recv().is_ok() {}
        self.flush().await;
        self.finished = true;
        self.stats()
    }

    async fn stop_pulling(&mut self) {
        let _ = self.shared.stop.send(true);
        self.shared.room.close();
        for p in self.pullers.drain(..) {
            // A puller blocked in a long poll is cancelled, not awaited: nothing it could
            // still receive would be handed over anyway.
            p.abort();
            let _ = p.await;
        }
    }
}

impl Drop for DeliveryStream {
    fn drop(&mut self) {
        let _ = self.shared.stop.send(true);
        self.shared.room.close();
        for p in &self.pullers {
            p.abort();
        }
        // The confirmer finishes the acknowledgements already queued, then exits when the
        // last Delivery (holding a sender) is gone.
        let _ = self.confirmer.take();
    }
}

impl Stream for DeliveryStream {
    type Item = Result<Delivery, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Pulled::Delivery(d, holds_room))) => {
                if holds_room {
                    self.shared.room.add_permits(1);
                }
                add(&self.shared.counters.handed_over, 1);
                Poll::Ready(Some(Ok(*d)))
            }
            Poll::Ready(Some(Pulled::Fatal(e))) => {
                self.finished = true;
                let _ = self.shared.stop.send(true);
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.finished = true;
                let fatal = self
                    .shared
                    .fatal
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take();
                Poll::Ready(fatal.map(Err))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The confirm-as-you-go stream of typed events; see the [module docs](self).
///
/// Each item is acknowledged when the next one is asked for. An event that could not be
/// decoded is yielded as [`Error::UndecodableEvent`] (carrying its raw JSON and handle) and
/// is confirmed like any other once you come back: redelivering it would not make it
/// decodable, so keep the raw JSON from the error if you need it.
pub struct EventStream {
    inner: DeliveryStream,
    previous: Option<Acker>,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// Counters so far.
    pub fn stats(&self) -> StreamStats {
        self.inner.stats()
    }

    /// Stops pulling, confirms everything already yielded (you are done with it: you asked to
    /// stop), and reports.
    pub async fn shutdown(mut self) -> StreamStats {
        if let Some(previous) = self.previous.take() {
            let _ = previous.ack_inner(true);
        }
        self.inner.shutdown().await
    }

    fn settle_previous(&mut self) {
        if let Some(previous) = self.previous.take() {
            let flush = previous.last_in_batch;
            if let Err(e) = previous.ack_inner(flush) {
                tracing::warn!(error = %e, "an event was not confirmed in time and will be redelivered");
            }
        }
    }
}

impl Stream for EventStream {
    type Item = Result<Event, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Coming back for the next item is what acknowledges the previous one.
        self.settle_previous();
        let Some(next) = std::task::ready!(Pin::new(&mut self.inner).poll_next(cx)) else {
            return Poll::Ready(None);
        };
        let delivery = match next {
            Ok(delivery) => delivery,
            Err(error) => return Poll::Ready(Some(Err(error))),
        };
        let (received, acker) = delivery.split();
        self.previous = Some(acker);
        let (handle, event, raw) = received.into_parts();
        Poll::Ready(Some(event.map_err(|error| {
            Error::UndecodableEvent(Box::new(UndecodableEvent {
                handle,
                raw: raw.get().to_owned(),
                error,
            }))
        })))
    }
}

/// An event that arrived but did not match the model (e.g. a string where an integer was
/// expected). Nothing is lost: the raw JSON and handle are here.
#[derive(Debug, Clone)]
pub struct UndecodableEvent {
    /// The event's handle.
    pub handle: Option<String>,
    /// The event exactly as the service sent it.
    pub raw: String,
    /// Where and why decoding failed.
    pub error: EventDecodeError,
}

impl fmt::Display for UndecodableEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

async fn puller(
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Pulled>,
    confirmer_tx: mpsc::UnboundedSender<ConfirmerMsg>,
    seed: u64,
) {
    let mut stop = shared.stop.subscribe();
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut failures: u32 = 0;
    let opts = &shared.options;
    loop {
        if *stop.borrow() {
            return;
        }
        // Room for a whole batch before asking for one, so pulled events never wait in a
        // buffer long enough for their handles to age.
        let permit = tokio::select! {
            p = shared.room.acquire_many(MAX_EVENTS_PER_CALL as u32) => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        permit.forget();
        let pulled_at = Instant::now();
        let result = tokio::select! {
            r = shared.client.pull_events_for(opts.sub_app_id) => r,
            _ = stop.changed() => return,
        };
        match result {
            Ok(response) => {
                failures = 0;
                let pulled = dedupe_handles(response.event_set);
                if pulled.dropped > 0 {
                    tracing::warn!(
                        repeats = pulled.dropped,
                        "PullEvents listed the same event twice under one handle; handing it over once"
                    );
                }
                let n = pulled.events.len();
                add(&shared.counters.pulls, 1);
                add(&shared.counters.received, n);
                if n == 0 {
                    add(&shared.counters.empty_pulls, 1);
                }
                opts.metrics.pulled(n);
                tracing::debug!(events = n, request_id = %response.request_id, "pulled");
                // A hostile or buggy server may send more than 16: the extras are handed over
                // all the same but hold no room, so the bound is back once they are taken.
                shared
                    .room
                    .add_permits(MAX_EVENTS_PER_CALL.saturating_sub(n));
                let usable_until =
                    pulled_at + opts.handle_lifetime.saturating_sub(opts.expiry_margin);
                for (i, (received, handle)) in pulled.events.into_iter().enumerate() {
                    let delivery = Delivery {
                        received,
                        acker: Acker {
                            handle,
                            pulled_at,
                            usable_until,
                            acked: AtomicBool::new(false),
                            last_in_batch: i + 1 == n,
                            confirmer: confirmer_tx.clone(),
                        },
                    };
                    let holds_room = i < MAX_EVENTS_PER_CALL;
                    if tx
                        .send(Pulled::Delivery(Box::new(delivery), holds_room))
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Err(error) if error.is_fatal() => {
                shared.room.add_permits(MAX_EVENTS_PER_CALL);
                tracing::error!(error = %error, "PullEvents failed fatally; the stream ends");
                let _ = tx.send(Pulled::Fatal(error));
                let _ = shared.stop.send(true);
                return;
            }
            Err(error) => {
                shared.room.add_permits(MAX_EVENTS_PER_CALL);
                failures = failures.saturating_add(1);
                opts.metrics.pull_failed(&error);
                let delay = opts.pull_backoff.backoff(failures.min(16) - 1, rng.f64());
                let delay = if error.is_rate_limited() {
                    delay.max(opts.pull_backoff.min_rate_limited_delay)
                } else {
                    delay
                };
                tracing::warn!(error = %error, ?delay, "PullEvents failed; polling again after a backoff");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {},
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// The events of one PullEvents answer, each with the handle its acknowledgement confirms.
struct PulledBatch {
    events: Vec<(ReceivedEvent, Option<String>)>,
    /// Exact repeats (same handle, same bytes) left out.
    dropped: usize,
}

/// Guards the confirm batching against an answer that repeats a handle: an exact repeat
/// (same handle, same bytes) is the same delivery and is handed over once; different events
/// under one handle are all handed over, and only the last of them carries the handle, so
/// the handle is confirmed only after every event it stands for was handed over (deliveries
/// leave in order). No handle is ever queued twice from one answer.
fn dedupe_handles(event_set: Vec<Box<RawValue>>) -> PulledBatch {
    let decoded: Vec<ReceivedEvent> = event_set.into_iter().map(decode_event_content).collect();
    let usable: Vec<Option<&str>> = decoded
        .iter()
        .map(|r| r.handle().filter(|h| !h.trim().is_empty()))
        .collect();
    // Sorting indices by (handle, bytes, position) puts exact repeats next to each other and
    // each handle's events in one run, at O(n log n) whatever a server sends; the bytes are
    // compared only between events that share a handle, which is rare.
    let mut order: Vec<usize> = (0..decoded.len())
        .filter(|&i| usable[i].is_some())
        .collect();
    order.sort_unstable_by(|&a, &b| {
        usable[a]
            .cmp(&usable[b])
            .then_with(|| decoded[a].raw().get().cmp(decoded[b].raw().get()))
            .then(a.cmp(&b))
    });
    let mut keep = vec![true; decoded.len()];
    let mut carries_handle = vec![false; decoded.len()];
    for run in order.chunk_by(|&a, &b| usable[a] == usable[b]) {
        let mut last = run[0];
        for (k, &i) in run.iter().enumerate() {
            let repeat = k > 0 && decoded[run[k - 1]].raw().get() == decoded[i].raw().get();
            if repeat {
                keep[i] = false;
            } else {
                last = last.max(i);
            }
        }
        carries_handle[last] = true;
    }
    let dropped = keep.iter().filter(|k| !**k).count();
    let events = decoded
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep[*i])
        .map(|(i, r)| {
            let handle = r.handle().filter(|_| carries_handle[i]).map(str::to_owned);
            (r, handle)
        })
        .collect();
    PulledBatch { events, dropped }
}

async fn confirmer(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<ConfirmerMsg>) {
    let opts = &shared.options;
    let in_flight = Arc::new(Semaphore::new(opts.confirm_concurrency.max(1)));
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let mut queue: Vec<(String, Instant)> = Vec::new();
    let mut oldest: Option<Instant> = None;
    loop {
        let flush_at = oldest.map(|t| t + opts.ack_flush_interval);
        let msg = tokio::select! {
            m = rx.recv() => m,
            _ = sleep_until_opt(flush_at) => {
                send_batches(&shared, &in_flight, &mut tasks, &mut queue, true).await;
                oldest = None;
                continue;
            }
        };
        match msg {
            Some(ConfirmerMsg::Ack {
                handle,
                usable_until,
                flush,
            }) => {
                add(&shared.counters.acked, 1);
                queue.push((handle, usable_until));
                oldest.get_or_insert_with(Instant::now);
                if flush || queue.len() >= MAX_EVENTS_PER_CALL {
                    send_batches(&shared, &in_flight, &mut tasks, &mut queue, flush).await;
                    if queue.is_empty() {
                        oldest = None;
                    }
                }
            }
            Some(ConfirmerMsg::AckWithoutHandle) => add(&shared.counters.acked, 1),
            Some(ConfirmerMsg::Expired) => {
                add(&shared.counters.expired, 1);
                opts.metrics.expired(1);
            }
            Some(ConfirmerMsg::Flush(done)) => {
                send_batches(&shared, &in_flight, &mut tasks, &mut queue, true).await;
                oldest = None;
                for t in tasks.drain(..) {
                    let _ = t.await;
                }
                let _ = done.send(());
            }
            None => {
                send_batches(&shared, &in_flight, &mut tasks, &mut queue, true).await;
                for t in tasks.drain(..) {
                    let _ = t.await;
                }
                return;
            }
        }
        tasks.retain(|t| !t.is_finished());
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => futures::future::pending().await,
    }
}

/// Sends the queue as ConfirmEvents calls of at most 16 (all of it when `all`, else only
/// full batches).
async fn send_batches(
    shared: &Arc<Shared>,
    in_flight: &Arc<Semaphore>,
    tasks: &mut Vec<JoinHandle<()>>,
    queue: &mut Vec<(String, Instant)>,
    all: bool,
) {
    let now = Instant::now();
    let before = queue.len();
    queue.retain(|(_, until)| *until > now);
    let expired = before - queue.len();
    if expired > 0 {
        add(&shared.counters.expired, expired);
        shared.options.metrics.expired(expired);
        tracing::warn!(expired, "acknowledged handles expired before they could be confirmed; the events will be redelivered");
    }
    while queue.len() >= MAX_EVENTS_PER_CALL || (all && !queue.is_empty()) {
        let take = queue.len().min(MAX_EVENTS_PER_CALL);
        let batch: Vec<(String, Instant)> = queue.drain(..take).collect();
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            confirm_batch(&shared, batch).await;
        }));
    }
}

async fn confirm_batch(shared: &Shared, batch: Vec<(String, Instant)>) {
    let opts = &shared.options;
    let n = batch.len();
    let deadline = batch.iter().map(|(_, until)| *until).min();
    let handles: Vec<String> = batch.into_iter().map(|(h, _)| h).collect();
    let request = ConfirmEvents {
        event_handles: handles,
        sub_app_id: opts.sub_app_id,
    };
    match shared.client.call_with_deadline(request, deadline).await {
        Ok(response) => {
            add(&shared.counters.confirmed, n);
            opts.metrics.confirmed(n);
            tracing::debug!(handles = n, request_id = %response.request_id, "confirmed");
        }
        Err(error) => {
            add(&shared.counters.confirm_failed, n);
            opts.metrics.confirm_failed(n, &error);
            tracing::warn!(error = %error, handles = n, "ConfirmEvents failed; these events will be redelivered");
            if error.is_fatal() {
                *shared.fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
                let _ = shared.stop.send(true);
            }
        }
    }
}

impl Client {
    /// A stream of typed events that confirms each one when you come back for the next.
    /// See the [`stream`](crate::tencent::stream) module docs.
    ///
    /// Starts background tasks, so it must be called from within a Tokio runtime.
    pub fn events(&self) -> EventStream {
        self.events_with(StreamOptions::default())
    }

    /// [`Client::events`] with options (concurrency, prefetch, SubAppId, metrics...).
    pub fn events_with(&self, options: StreamOptions) -> EventStream {
        EventStream {
            inner: DeliveryStream::start(self.clone(), options),
            previous: None,
        }
    }

    /// A stream of [`Delivery`] values to acknowledge explicitly with [`Delivery::ack`].
    /// Must be called from within a Tokio runtime.
    pub fn deliveries(&self) -> DeliveryStream {
        self.deliveries_with(StreamOptions::default())
    }

    /// [`Client::deliveries`] with options.
    pub fn deliveries_with(&self, options: StreamOptions) -> DeliveryStream {
        DeliveryStream::start(self.clone(), options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::events::decode_event_json;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn exact_repeats_are_handed_over_once_and_a_shared_handle_goes_to_the_last_event() {
        let a = r#"{"EventHandle":"h1","EventType":"X","N":1}"#;
        let b = r#"{"EventHandle":"h1","EventType":"X","N":2}"#;
        let c = r#"{"EventHandle":"h2","EventType":"X","N":3}"#;
        let none = r#"{"EventType":"X","N":4}"#;
        let batch = dedupe_handles(vec![raw(a), raw(c), raw(a), raw(b), raw(none), raw(none)]);
        assert_eq!(
            batch.dropped, 1,
            "only the exact repeat of a (same handle, same bytes)"
        );
        let got: Vec<(&str, Option<&str>)> = batch
            .events
            .iter()
            .map(|(r, h)| (r.raw().get(), h.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (a, None), // h1 also stands for b, handed over later
                (c, Some("h2")),
                (b, Some("h1")), // confirmed only after a and b were both handed over
                (none, None),    // no handle: nothing to dedupe on, both handed over
                (none, None),
            ]
        );
    }

    /// The rule stated plainly (quadratic), to check the sorted implementation against.
    fn dedupe_reference(texts: &[String]) -> (Vec<(String, Option<String>)>, usize) {
        let handle = |t: &str| {
            decode_event_json(t)
                .ok()
                .and_then(|r| r.handle().map(str::to_owned))
                .filter(|h| !h.trim().is_empty())
        };
        let mut kept: Vec<usize> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let repeat = handle(t).is_some()
                && kept
                    .iter()
                    .any(|&k| handle(&texts[k]) == handle(t) && texts[k] == *t);
            if !repeat {
                kept.push(i);
            }
        }
        let events = kept
            .iter()
            .map(|&i| {
                let h = handle(&texts[i]);
                let last = kept.iter().rev().find(|&&k| handle(&texts[k]) == h);
                let carries = h.is_some() && last == Some(&i);
                (texts[i].clone(), h.filter(|_| carries))
            })
            .collect();
        (events, texts.len() - kept.len())
    }

    proptest::proptest! {
        #[test]
        fn dedupe_matches_the_plain_rule(
            picks in proptest::collection::vec((0usize..5, 0u8..3), 0..40)
        ) {
            let handles = ["h1", "h2", "h3", " ", ""];
            let texts: Vec<String> = picks
                .iter()
                .map(|&(h, n)| match h {
                    4 => format!(r#"{{"EventType":"X","N":{n}}}"#),
                    _ => format!(r#"{{"EventHandle":"{}","EventType":"X","N":{n}}}"#, handles[h]),
                })
                .collect();
            let batch = dedupe_handles(texts.iter().map(|t| raw(t)).collect());
            let got: Vec<(String, Option<String>)> = batch
                .events
                .iter()
                .map(|(r, h)| (r.raw().get().to_owned(), h.clone()))
                .collect();
            let (want, dropped) = dedupe_reference(&texts);
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(batch.dropped, dropped);
        }
    }
}
