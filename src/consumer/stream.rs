//! The delivery stream: receivers fill a bounded buffer, the stream hands deliveries over
//! one by one (never one whose lease is over, never more than `max_outstanding` at once),
//! and the batcher sends their acknowledgements.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::{mpsc, oneshot, watch, AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::consumer::batcher;
use crate::consumer::core::{lock, AckLink, AckMsg, Core};
use crate::consumer::delivery::{Acker, Delivery};
use crate::consumer::metrics::{add, Counters, Stats};
use crate::consumer::options::ConsumerOptions;
use crate::consumer::receiver::{self, Received};
use crate::consumer::source::{Leased, Source};

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// A received message waiting to be handed over.
struct Waiting<S: Source> {
    leased: Leased<S::Message, S::Token>,
    holds_room: bool,
    last_in_batch: bool,
    received_at: Instant,
    /// Set while the stream waits for a `max_outstanding` unit.
    acquire: Option<Acquire>,
}

/// The explicit-acknowledgement stream of a [`Source`]: yields a [`Delivery`] per message,
/// or the source's error (a fatal one ends the stream; a permanent one does not).
///
/// Must be created inside a Tokio runtime: it starts its receivers and its batcher.
pub struct DeliveryStream<S: Source> {
    core: Arc<Core<S>>,
    link: Arc<AckLink<S>>,
    rx: mpsc::UnboundedReceiver<Received<S>>,
    receivers: Vec<JoinHandle<()>>,
    batcher: Option<JoinHandle<()>>,
    waiting: Option<Waiting<S>>,
    finished: bool,
}

// Nothing in the stream is pinned in place: the one future it polls is boxed.
impl<S: Source> Unpin for DeliveryStream<S> {}

impl<S: Source> fmt::Debug for DeliveryStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryStream")
            .field("stats", &self.stats())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<S: Source> DeliveryStream<S> {
    /// Starts receiving from `source`. Must be called inside a Tokio runtime.
    pub fn new(source: S, options: ConsumerOptions) -> Self {
        let max = source.max_batch().max(1);
        let (stop, _) = watch::channel(false);
        let core = Arc::new(Core {
            room: Semaphore::new(options.effective_prefetch(max)),
            outstanding: Arc::new(Semaphore::new(options.effective_max_outstanding())),
            source,
            options,
            counters: Counters::default(),
            stop,
            fatal: Mutex::new(None),
            expiry_warned: AtomicBool::new(false),
        });
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let link = Arc::new(AckLink {
            core: core.clone(),
            tx: ack_tx,
            closed: RwLock::new(false),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let receivers = (0..core.options.concurrency.max(1))
            .map(|i| tokio::spawn(receiver::run(core.clone(), tx.clone(), i as u64)))
            .collect();
        let batcher = Some(tokio::spawn(batcher::run(core.clone(), ack_rx)));
        DeliveryStream {
            core,
            link,
            rx,
            receivers,
            batcher,
            waiting: None,
            finished: false,
        }
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.core.source
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.core.counters.snapshot()
    }

    /// Sends every acknowledgement queued so far now, without waiting for a full batch, and
    /// waits for those calls to finish.
    pub fn flush(&self) -> impl Future<Output = ()> + Send + 'static {
        // Holds the link, not `&self`: the stream is `Send` but not `Sync`, and a future
        // holding `&self` could not be spawned.
        flush(self.link.clone())
    }

    /// Stops receiving and hands over nothing more; waits up to
    /// [`shutdown_grace`](ConsumerOptions::shutdown_grace) for the deliveries still in your
    /// hands to be acknowledged or dropped; then stops taking acknowledgements (a later
    /// [`Acker::ack`] answers [`AckError::Closed`](crate::consumer::AckError::Closed)), sends
    /// every one taken, and reports. What was received but not handed over, and what was not
    /// acknowledged, the source redelivers.
    pub async fn shutdown(mut self) -> Stats {
        self.stop_receiving().await;
        self.rx.close();
        while self.rx.try_recv().is_ok() {}
        self.waiting = None;
        // Only owned handles across the awaits below (see `flush`).
        let (core, link) = (self.core.clone(), self.link.clone());
        let all = u32::try_from(core.options.effective_max_outstanding()).unwrap_or(u32::MAX);
        let settled = tokio::time::timeout(
            core.options.shutdown_grace,
            core.outstanding.acquire_many(all),
        )
        .await;
        drop(settled);
        *link.closed.write().unwrap_or_else(|p| p.into_inner()) = true;
        flush(link).await;
        self.finished = true;
        let stats = self.stats();
        if stats.outstanding > 0 {
            tracing::warn!(
                outstanding = stats.outstanding,
                "shut down with deliveries neither acknowledged nor dropped; they will be redelivered"
            );
        }
        stats
    }

    async fn stop_receiving(&mut self) {
        let _ = self.core.stop.send(true);
        self.core.room.close();
        for r in self.receivers.drain(..) {
            // A receiver blocked in a long poll is cancelled, not awaited: nothing it could
            // still receive would be handed over anyway.
            r.abort();
            let _ = r.await;
        }
    }

    /// Drops a message whose lease is (nearly) over instead of handing it over: the source
    /// redelivers it, and the consumer is spared work it could not acknowledge.
    fn drop_expired(&self, holds_room: bool) {
        if holds_room {
            self.core.room.add_permits(1);
        }
        add(&self.core.counters.expired_before_handover, 1);
        self.core.options.metrics.expired_before_handover(1);
        if !self.core.expiry_warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "a received message's lease ended before it could be handed over, so it was dropped and will be redelivered; \
                 the consumer is slower than the lease allows: speed up the handler, or lower concurrency, prefetch or max_outstanding"
            );
        }
    }
}

/// Takes one `max_outstanding` unit (forgotten: the delivery gives it back when settled), or
/// registers for the next free one.
fn poll_outstanding<S: Source>(
    core: &Core<S>,
    acquire: &mut Option<Acquire>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let pending = match acquire {
        Some(pending) => pending,
        None => match core.outstanding.clone().try_acquire_owned() {
            Ok(permit) => {
                permit.forget();
                return Poll::Ready(());
            }
            Err(_) => acquire.insert(Box::pin(core.outstanding.clone().acquire_owned())),
        },
    };
    let result = std::task::ready!(pending.as_mut().poll(cx));
    *acquire = None;
    // The bound's semaphore is never closed, so the wait always ends with a unit.
    if let Ok(permit) = result {
        permit.forget();
    }
    Poll::Ready(())
}

async fn flush<S: Source>(link: Arc<AckLink<S>>) {
    let (tx, rx) = oneshot::channel();
    if link.tx.send(AckMsg::Flush(tx)).is_ok() {
        let _ = rx.await;
    }
}

impl<S: Source> Drop for DeliveryStream<S> {
    fn drop(&mut self) {
        let _ = self.core.stop.send(true);
        self.core.room.close();
        for r in &self.receivers {
            r.abort();
        }
        // The batcher sends the acknowledgements already queued, then exits once the last
        // delivery is gone.
        let _ = self.batcher.take();
    }
}

impl<S: Source> Stream for DeliveryStream<S> {
    type Item = Result<Delivery<S>, S::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            let Some(waiting) = this.waiting.as_mut() else {
                let item = match this.rx.poll_recv(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(item)) => item,
                    Poll::Ready(None) => {
                        this.finished = true;
                        let fatal = lock(&this.core.fatal).take();
                        return Poll::Ready(fatal.map(Err));
                    }
                };
                match item {
                    Received::Error(error) => return Poll::Ready(Some(Err(error))),
                    Received::Fatal(error) => {
                        this.finished = true;
                        let _ = this.core.stop.send(true);
                        return Poll::Ready(Some(Err(error)));
                    }
                    Received::Message {
                        leased,
                        holds_room,
                        last_in_batch,
                        received_at,
                    } => {
                        this.waiting = Some(Waiting {
                            leased,
                            holds_room,
                            last_in_batch,
                            received_at,
                            acquire: None,
                        });
                    }
                }
                continue;
            };
            let usable_until = this
                .core
                .options
                .usable_until(waiting.received_at, waiting.leased.lease_until);
            let expired = Instant::now() >= usable_until;
            if !expired && poll_outstanding(&this.core, &mut waiting.acquire, cx).is_pending() {
                return Poll::Pending;
            }
            let Some(Waiting {
                leased,
                holds_room,
                last_in_batch,
                received_at,
                ..
            }) = this.waiting.take()
            else {
                continue;
            };
            // Checked again after the unit came: the wait can outlast the lease.
            if expired || Instant::now() >= usable_until {
                if !expired {
                    this.core.outstanding.add_permits(1);
                }
                this.drop_expired(holds_room);
                continue;
            }
            if holds_room {
                this.core.room.add_permits(1);
            }
            add(&this.core.counters.handed_over, 1);
            let acker = Acker::new(
                leased.token,
                usable_until,
                received_at,
                leased.attempt,
                last_in_batch,
                this.link.clone(),
            );
            return Poll::Ready(Some(Ok(Delivery {
                message: leased.message,
                acker,
            })));
        }
    }
}
