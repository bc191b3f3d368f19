//! Alibaba Cloud MNS (Simple Message Queue): the queue VOD and IMS write events into,
//! drained on the consumer engine.
//!
//! - [`sign`]: the HMAC-SHA1 `Authorization`, as pure functions;
//! - [`xml`]: the answers read and the one body written;
//! - [`MnsClient`]: BatchReceiveMessage, BatchDeleteMessage, DeleteMessage and
//!   ChangeMessageVisibility with retries, clock-skew correction and a body cap;
//! - [`MnsQueue`]: the queue as a [`Source`](crate::consumer::Source), with leases from
//!   `NextVisibleTime`, `DequeueCount`, extension and release;
//! - [`keep_lease`]: keeps a delivery's lease extended while long work runs;
//! - `fake` (feature `fake`): an in-process fake MNS for tests and demos.

mod body;
pub mod client;
mod error;
#[cfg(feature = "fake")]
pub mod fake;
mod lease;
mod queue;
pub mod sign;
pub mod xml;

pub use crate::transport::TlsProblem;
pub use body::{decode_body, BodyEncoding};
pub use client::{MnsClient, MnsClientBuilder};
pub use error::Error;
pub use lease::{keep_lease, KeepLease};
pub use queue::{MnsMessage, MnsQueue, MnsToken, DEFAULT_LEASE_MARGIN};
