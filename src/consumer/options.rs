//! How a consumer is tuned.

use std::sync::Arc;
use std::time::Duration;

use crate::consumer::metrics::{Metrics, NoMetrics};
use crate::transport::RetryPolicy;

/// Options of a delivery stream, whatever its source.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Receive calls (long polls) in flight at once (default 1).
    pub concurrency: usize,
    /// Most messages received but not yet handed to the consumer (default
    /// `max_batch * (concurrency + 1)`: one batch per receiver plus one ahead). A receiver
    /// asks for a batch only when a whole batch fits, so messages never age in a buffer.
    pub prefetch: Option<usize>,
    /// Most deliveries handed over and not yet settled (acknowledged, released, or dropped)
    /// at once (default 1,000). At the bound the stream hands over nothing more, and so stops
    /// receiving, until a delivery is settled: slow handlers hold back the queue instead of
    /// letting leases run out in memory.
    pub max_outstanding: usize,
    /// Longest time an acknowledgement waits for a full batch before it is sent anyway
    /// (default 100 ms).
    pub ack_flush_interval: Duration,
    /// A message is not handed over, a token not sent, and an acknowledgement not retried,
    /// once less than this remains of its lease (default 2 s): too late to be of use. Leases
    /// shorter than four times the margin keep a quarter of their length instead.
    pub expiry_margin: Duration,
    /// Acknowledge calls in flight at once (default 8).
    pub ack_concurrency: usize,
    /// Backoff of a receiver after a failed receive (the source already retried inside).
    /// The stream never ends on such errors.
    pub receive_backoff: RetryPolicy,
    /// How long `shutdown` waits for deliveries still in the consumer's hands to be
    /// acknowledged or dropped before it stops taking acknowledgements (default 5 s).
    pub shutdown_grace: Duration,
    /// Hooks called on receives, acknowledgements and failures (default: none).
    pub metrics: Arc<dyn Metrics>,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        ConsumerOptions {
            concurrency: 1,
            prefetch: None,
            max_outstanding: 1_000,
            ack_flush_interval: Duration::from_millis(100),
            expiry_margin: Duration::from_secs(2),
            ack_concurrency: 8,
            receive_backoff: RetryPolicy {
                max_attempts: u32::MAX,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(30),
                min_rate_limited_delay: Duration::from_millis(200),
            },
            shutdown_grace: Duration::from_secs(5),
            metrics: Arc::new(NoMetrics),
        }
    }
}

/// The largest count a bound may have: tokio semaphores hold at most `usize::MAX >> 3`
/// permits, and `acquire_many` takes a `u32`. "Unbounded" (`usize::MAX`) becomes this.
pub(crate) const MAX_BOUND: usize = u32::MAX as usize >> 3;

impl ConsumerOptions {
    pub(crate) fn effective_prefetch(&self, max_batch: usize) -> usize {
        self.prefetch
            .unwrap_or_else(|| max_batch.saturating_mul(self.concurrency.max(1).saturating_add(1)))
            .clamp(max_batch.min(MAX_BOUND), MAX_BOUND)
    }

    pub(crate) fn effective_max_outstanding(&self) -> usize {
        self.max_outstanding.clamp(1, MAX_BOUND)
    }

    pub(crate) fn effective_ack_concurrency(&self) -> usize {
        self.ack_concurrency.clamp(1, MAX_BOUND)
    }

    /// The last moment an acknowledgement of a message leased at `leased_at` until
    /// `lease_until` is useful: the lease's end less the expiry margin, or less a quarter of
    /// the lease when that is shorter. A queue whose leases are shorter than the margin (an
    /// MNS queue's visibility timeout can be 1 s) would otherwise hand over nothing at all.
    pub(crate) fn usable_until(
        &self,
        leased_at: tokio::time::Instant,
        lease_until: tokio::time::Instant,
    ) -> tokio::time::Instant {
        let margin = self
            .expiry_margin
            .min(lease_until.saturating_duration_since(leased_at) / 4);
        lease_until.checked_sub(margin).unwrap_or(lease_until)
    }
}

/// `at + by`, or a far future instant where that overflows (a huge option value).
pub(crate) fn later(at: tokio::time::Instant, by: Duration) -> tokio::time::Instant {
    at.checked_add(by)
        .unwrap_or_else(|| at + Duration::from_secs(100 * 365 * 86_400))
}
