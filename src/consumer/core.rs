//! State shared by a stream, its receivers, its acknowledgement batcher and its deliveries.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::time::Instant;

use crate::consumer::metrics::Counters;
use crate::consumer::options::ConsumerOptions;
use crate::consumer::source::Source;

/// What the stream's tasks share; the acknowledgement channel is not in here, so the batcher
/// (which holds a `Core`) ends once the stream and every delivery are gone.
pub(crate) struct Core<S: Source> {
    pub(crate) source: S,
    pub(crate) options: ConsumerOptions,
    pub(crate) counters: Counters,
    /// Room for received messages not yet handed over (the prefetch bound).
    pub(crate) room: Semaphore,
    /// Deliveries handed over and not yet settled (the `max_outstanding` bound).
    pub(crate) outstanding: Arc<Semaphore>,
    pub(crate) stop: watch::Sender<bool>,
    /// A fatal error met while acknowledging, yielded when the stream ends.
    pub(crate) fatal: Mutex<Option<S::Error>>,
    pub(crate) expiry_warned: AtomicBool,
}

/// What deliveries use to acknowledge: the channel to the batcher, and whether it still
/// takes acknowledgements. Held by the stream and by every delivery.
pub(crate) struct AckLink<S: Source> {
    pub(crate) core: Arc<Core<S>>,
    pub(crate) tx: mpsc::UnboundedSender<AckMsg<S::Token>>,
    /// Set by `shutdown` under the write lock; an acknowledgement checks it and sends under
    /// the read lock, so none can slip in behind the final flush.
    pub(crate) closed: RwLock<bool>,
}

impl<S: Source> AckLink<S> {
    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// A message to the acknowledgement batcher.
pub(crate) enum AckMsg<T> {
    /// Acknowledge `token`, useful until `usable_until`; `flush` sends the batch now.
    Ack {
        token: T,
        usable_until: Instant,
        flush: bool,
        /// Told the outcome, for [`Acker::ack_tracked`](crate::consumer::Acker::ack_tracked).
        receipt: Option<oneshot::Sender<AckResult>>,
    },
    /// A delivery without a token was acknowledged (counted; nothing to send).
    AckWithoutToken,
    /// An acknowledgement came too late.
    Expired,
    /// Give the message back now, where the source can.
    Release(T),
    /// Send everything queued and answer when those calls are done.
    Flush(oneshot::Sender<()>),
}

/// The outcome of one acknowledgement, as an [`AckReceipt`](crate::consumer::AckReceipt)
/// reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckResult {
    /// The source accepted it.
    Accepted,
    /// The source refused it (or the call failed); the message will be redelivered.
    Refused,
    /// There was nothing to send: the source gave no token for the message (it comes back
    /// after its lease), or another message of the same batch carries the token (it is
    /// acknowledged with that one).
    NoToken,
    /// Its lease ended before it could be sent; the message will be redelivered.
    Expired,
}

/// Locks a mutex, taking the value of a poisoned one: every value kept under these locks
/// is valid after any partial update.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
