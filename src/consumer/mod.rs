//! The consumer engine: from any [`Source`] (a queue drained with long polls, or an HTTP
//! receiver) to a stream of deliveries, with acknowledgements flowing back.
//!
//! It knows no cloud and no HTTP. What it does for every source:
//!
//! - **Receivers**: `concurrency` tasks call [`Source::receive`], never holding more
//!   received-but-not-handed-over messages than `prefetch`, so leases do not age in a buffer.
//! - **Hand-over**: [`DeliveryStream`] yields a [`Delivery`] per message; a message whose
//!   lease is over (or inside `expiry_margin`) is dropped instead, counted, and the source
//!   redelivers it. At most `max_outstanding` deliveries are in the consumer's hands at once:
//!   at the bound the stream waits, and so the receivers stop.
//! - **Acknowledgements**: [`Delivery::ack`] queues; one batcher sends calls of at most
//!   [`Source::max_batch`] tokens, flushed when full, when a received batch is done, or after
//!   `ack_flush_interval`, never after a token's lease is over. `nack()` gives a message back
//!   now where the source can; [`Acker::extend`] extends a lease where it can.
//! - **Errors**: transient ones are retried with backoff and never end a stream; a
//!   [`Permanent`](ErrorClass::Permanent) one is yielded and receiving goes on after a
//!   backoff; a [`Fatal`](ErrorClass::Fatal) one is yielded and ends the stream.
//! - **Shutdown**: stop receiving, hand over nothing new, wait a grace period for deliveries
//!   in hand, stop taking acknowledgements, send the ones taken, and report [`Stats`].
//!
//! [`AutoAckStream`] acknowledges each message when the next is asked for, for consumers
//! that handle one message at a time; its docs list the combinators that break that.
//! [`memory::MemorySource`] is a source in memory for tests.

mod auto_ack;
mod batcher;
mod core;
pub mod dedup;
mod delivery;
pub mod memory;
mod metrics;
mod options;
mod receiver;
mod source;
mod stream;

pub use self::core::AckResult;
pub use auto_ack::AutoAckStream;
pub use dedup::{ContentKey, RecentlySeen};
pub use delivery::{AckError, AckOutcome, AckReceipt, Acker, Delivery, ExtendError};
pub use metrics::{Metrics, NoMetrics, Stats};
pub use options::ConsumerOptions;
pub use source::{ErrorClass, Lease, LeaseError, Leased, Received, Source, SourceError};
pub use stream::DeliveryStream;
