//! HTTP plumbing shared by the clouds' clients: building the reqwest client, reading answers
//! under a cap, retry decisions with backoff and a budget, pacing, and the server's clock.
//!
//! Nothing here knows a cloud: each client maps its own errors onto
//! [`retry::RetryClass`] and signs its own requests.

pub mod clock;
pub mod http;
pub mod pacing;
pub mod retry;

pub use clock::{Clock, ClockSkew, SystemClock};
pub use pacing::Pacer;
pub use retry::{Decision, GiveUpReason, RetryBudget, RetryClass, RetryPolicy};
