//! HTTP plumbing shared by the clouds' clients: building the reqwest client, reading answers
//! under a cap, retry decisions with backoff and a budget, pacing, the server's clock, and
//! telling a refused TLS certificate apart.
//!
//! Nothing here knows a cloud: each client maps its own errors onto
//! [`retry::RetryClass`] and signs its own requests.

pub mod clock;
pub mod http;
pub mod pacing;
pub mod retry;
pub mod tls;

pub use clock::{Clock, ClockSkew, SystemClock};
pub use pacing::Pacer;
pub use retry::{Decision, GiveUpReason, RetryBudget, RetryClass, RetryPolicy};
pub use tls::TlsProblem;
