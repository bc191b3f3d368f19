//! Counters and observability hooks of a delivery stream.

use std::error::Error as StdError;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::consumer::source::ErrorClass;

/// Observability hooks. Every method has a no-op default; implement the ones you export.
/// Errors come as `dyn Error`: downcast to the source's error type for its details.
pub trait Metrics: Send + Sync + fmt::Debug {
    /// A receive call returned `messages` messages (0 for an empty long poll).
    fn received(&self, messages: usize) {
        let _ = messages;
    }
    /// A receive call failed after the source's own retries; the receiver backs off.
    fn receive_failed(&self, error: &(dyn StdError + 'static), class: ErrorClass) {
        let _ = (error, class);
    }
    /// The source accepted `tokens` acknowledgements.
    fn acknowledged(&self, tokens: usize) {
        let _ = tokens;
    }
    /// The source refused `tokens` acknowledgements; those messages will be redelivered.
    fn ack_failed(&self, tokens: usize, error: &(dyn StdError + 'static)) {
        let _ = (tokens, error);
    }
    /// `tokens` acknowledgements came too late to be sent; the messages will be redelivered.
    fn expired(&self, tokens: usize) {
        let _ = tokens;
    }
    /// A received message's lease was over before it could be handed over; it was dropped
    /// and will be redelivered.
    fn expired_before_handover(&self, messages: usize) {
        let _ = messages;
    }
}

/// The default metrics hook: does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;
impl Metrics for NoMetrics {}

/// Counters of one stream, as `stats()` and `shutdown()` report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Receive calls that succeeded.
    pub receives: u64,
    /// Of those, the ones that returned nothing.
    pub empty_receives: u64,
    /// Messages received.
    pub received: u64,
    /// Messages handed to the consumer.
    pub handed_over: u64,
    /// Messages dropped at hand-over because their lease was (nearly) over.
    pub expired_before_handover: u64,
    /// Acknowledgements queued by the consumer (explicitly, or by coming back in the auto-ack
    /// stream); those whose lease ran out before they could be sent are in `expired` too.
    pub acked: u64,
    /// Acknowledgements the source accepted (Tencent ConfirmEvents, MNS delete).
    pub confirmed: u64,
    /// Acknowledgements the source refused (those messages will be redelivered).
    pub confirm_failed: u64,
    /// Acknowledgements too late to be sent (those messages will be redelivered).
    pub expired: u64,
    /// Deliveries given back with `nack()`.
    pub released: u64,
    /// Deliveries still in the consumer's hands: handed over, neither acknowledged,
    /// released nor dropped.
    pub outstanding: u64,
    /// Messages received but not confirmed: the source will redeliver them.
    pub left_for_redelivery: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) receives: AtomicU64,
    pub(crate) empty_receives: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) handed_over: AtomicU64,
    pub(crate) expired_before_handover: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) confirmed: AtomicU64,
    pub(crate) confirm_failed: AtomicU64,
    pub(crate) expired: AtomicU64,
    pub(crate) released: AtomicU64,
    pub(crate) settled: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Acquire);
        let received = get(&self.received);
        let handed_over = get(&self.handed_over);
        Stats {
            receives: get(&self.receives),
            empty_receives: get(&self.empty_receives),
            received,
            handed_over,
            expired_before_handover: get(&self.expired_before_handover),
            acked: get(&self.acked),
            confirmed: get(&self.confirmed),
            confirm_failed: get(&self.confirm_failed),
            expired: get(&self.expired),
            released: get(&self.released),
            outstanding: handed_over.saturating_sub(get(&self.settled)),
            left_for_redelivery: received.saturating_sub(get(&self.confirmed)),
        }
    }
}

pub(crate) fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::AcqRel);
}
