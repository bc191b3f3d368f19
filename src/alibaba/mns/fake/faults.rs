//! Injected faults: what can go wrong with an MNS request, scripted or drawn from a mix.

use std::time::Duration;

/// A failure the fake can inject. Faults are picked only for requests that passed the
/// signature and date checks, so a scripted fault is never used up by a refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// HTTP 500 with an `InternalError` body; nothing applied.
    InternalError,
    /// HTTP 403 `QpsLimitExceeded`; nothing applied.
    QpsLimitExceeded,
    /// The connection is closed without an answer; nothing applied.
    Reset,
    /// The operation is applied and the answer cut in half (a complete HTTP body that is
    /// not complete XML).
    TruncatedXml,
    /// The answer comes this much later (the operation is applied at the end).
    Slow(Duration),
    /// The operation is applied (messages received or deleted), then the connection is
    /// closed without an answer: receive- or delete-applied-but-answer-lost.
    AppliedButLost,
    /// A BatchDeleteMessage deletes only every other handle and reports the rest in
    /// `<Errors>` as `ReceiptHandleError`; other operations answer normally.
    PartialDelete,
}

/// Random faults: each request fails with `probability`, with a fault picked uniformly from
/// `faults`, drawn from `fastrand::Rng::with_seed(seed)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultMix {
    /// Chance in `[0, 1]` that a request gets a fault.
    pub probability: f64,
    /// The faults to pick from.
    pub faults: Vec<Fault>,
    /// The RNG seed.
    pub seed: u64,
}

impl FaultMix {
    /// Every fault of the list at once, with `probability` (slow answers of 50 ms).
    pub fn everything(probability: f64, seed: u64) -> Self {
        FaultMix {
            probability,
            faults: vec![
                Fault::InternalError,
                Fault::QpsLimitExceeded,
                Fault::Reset,
                Fault::TruncatedXml,
                Fault::Slow(Duration::from_millis(50)),
                Fault::AppliedButLost,
                Fault::PartialDelete,
            ],
            seed,
        }
    }
}
