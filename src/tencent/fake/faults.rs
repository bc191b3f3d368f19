//! Injected faults: what can go wrong, scripted or drawn from a seeded mix.

use std::collections::VecDeque;
use std::time::Duration;

use super::Action;

/// A failure the fake can inject into a request.
///
/// Faults are picked only for requests that passed the signature check, the action check
/// and the rate limit, and whose body is valid JSON, so a scripted fault is never used up by a
/// request that would have failed anyway.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status (e.g. 500, 502, 503) and a small HTML body, without
    /// running the action. An invalid status code is sent as 500.
    HttpStatus(u16),
    /// Answer HTTP 200 with this API error, without running the action.
    ApiError {
        /// The error code, e.g. `InternalError`, `ServiceUnavailable`, `RequestLimitExceeded`.
        code: String,
        /// The error message.
        message: String,
    },
    /// Close the connection without any response, without running the action.
    Disconnect,
    /// Wait this long, then run the action and answer normally.
    Slow(Duration),
    /// Never answer: the request hangs until the client gives up or the fake shuts down.
    /// The action is not run.
    Hang,
    /// Run the action, then send only the first half of the JSON body (with a matching
    /// `Content-Length`, so the body is complete at HTTP level but not valid JSON).
    TruncatedBody,
    /// Answer HTTP 200 with a body that is not JSON, without running the action.
    GarbageBody,
    /// Answer HTTP 200 with a syntactically valid JSON body of this many bytes (or the
    /// smallest valid one, if bigger), without running the action.
    OversizeBody(usize),
    /// Run the action (events are handed out, confirmations applied), then close the
    /// connection without a response.
    AppliedButLost,
    /// Run the action; a `PullEvents` answer then lists every event twice, with the same
    /// `EventHandle` (as a buggy or hostile server might). Other actions answer normally.
    DuplicateEvents,
}

impl Fault {
    /// An [`ApiError`](Fault::ApiError) with a generic message.
    pub fn api_error(code: impl Into<String>) -> Fault {
        let code = code.into();
        Fault::ApiError {
            message: format!("injected fault: {code}"),
            code,
        }
    }

    /// The kind, the key of [`FakeStats::faults_injected`](super::FakeStats::faults_injected).
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::HttpStatus(_) => FaultKind::HttpStatus,
            Fault::ApiError { .. } => FaultKind::ApiError,
            Fault::Disconnect => FaultKind::Disconnect,
            Fault::Slow(_) => FaultKind::Slow,
            Fault::Hang => FaultKind::Hang,
            Fault::TruncatedBody => FaultKind::TruncatedBody,
            Fault::GarbageBody => FaultKind::GarbageBody,
            Fault::OversizeBody(_) => FaultKind::OversizeBody,
            Fault::AppliedButLost => FaultKind::AppliedButLost,
            Fault::DuplicateEvents => FaultKind::DuplicateEvents,
        }
    }
}

/// The kind of a [`Fault`], without its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// [`Fault::HttpStatus`].
    HttpStatus,
    /// [`Fault::ApiError`].
    ApiError,
    /// [`Fault::Disconnect`].
    Disconnect,
    /// [`Fault::Slow`].
    Slow,
    /// [`Fault::Hang`].
    Hang,
    /// [`Fault::TruncatedBody`].
    TruncatedBody,
    /// [`Fault::GarbageBody`].
    GarbageBody,
    /// [`Fault::OversizeBody`].
    OversizeBody,
    /// [`Fault::AppliedButLost`].
    AppliedButLost,
    /// [`Fault::DuplicateEvents`].
    DuplicateEvents,
}

/// Random faults: each eligible request fails with `probability`, with a fault picked
/// uniformly from `faults`. The draws come from `fastrand::Rng::with_seed(seed)`, so the same
/// seed and the same request sequence give the same faults.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultMix {
    /// Chance in `[0, 1]` that an eligible request gets a fault.
    pub probability: f64,
    /// The faults to pick from; an empty list injects nothing.
    pub faults: Vec<Fault>,
    /// The RNG seed.
    pub seed: u64,
    /// Only requests for this action are eligible; `None` means every action.
    pub action: Option<Action>,
}

struct Scripted {
    action: Option<Action>,
    fault: Fault,
    remaining: u64,
}

/// Scripted and random fault selection.
#[derive(Default)]
pub(crate) struct FaultPlan {
    scripted: VecDeque<Scripted>,
    mix: Option<(FaultMix, fastrand::Rng)>,
}

impl FaultPlan {
    pub(crate) fn fail_next(&mut self, action: Option<Action>, fault: Fault, times: u64) {
        if times > 0 {
            self.scripted.push_back(Scripted {
                action,
                fault,
                remaining: times,
            });
        }
    }

    pub(crate) fn set_mix(&mut self, mix: Option<FaultMix>) {
        self.mix = mix.map(|m| {
            let rng = fastrand::Rng::with_seed(m.seed);
            (m, rng)
        });
    }

    pub(crate) fn clear(&mut self) {
        self.scripted.clear();
        self.mix = None;
    }

    pub(crate) fn pending_scripted(&self) -> u64 {
        self.scripted.iter().map(|s| s.remaining).sum()
    }

    /// The fault for the next request of `action`, if any. Scripted faults go first, in the
    /// order they were added.
    pub(crate) fn pick(&mut self, action: Action) -> Option<Fault> {
        let pos = self
            .scripted
            .iter()
            .position(|s| s.action.is_none_or(|a| a == action));
        if let Some(pos) = pos {
            let entry = &mut self.scripted[pos];
            let fault = entry.fault.clone();
            entry.remaining -= 1;
            if entry.remaining == 0 {
                self.scripted.remove(pos);
            }
            return Some(fault);
        }
        let (mix, rng) = self.mix.as_mut()?;
        if mix.faults.is_empty() || mix.action.is_some_and(|a| a != action) {
            return None;
        }
        if rng.f64() < mix.probability {
            let i = rng.usize(..mix.faults.len());
            return mix.faults.get(i).cloned();
        }
        None
    }
}
