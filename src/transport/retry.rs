//! Retry decisions: full-jitter exponential backoff, an attempt limit, a deadline and a
//! shared retry budget.
//!
//! Everything here is pure: randomness comes in as a number in `[0, 1)` and time as
//! arguments, so the decisions are tested without sleeping. The clients do the sleeping.
//! Errors of any cloud take part through [`RetryClass`].

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How an error looks to the retry decisions; implemented by each cloud's error type.
pub trait RetryClass {
    /// Whether sending the same request again, after a backoff, may succeed.
    fn is_retryable(&self) -> bool;
    /// Whether the service is rate limiting the caller (retries then wait at least
    /// [`RetryPolicy::min_rate_limited_delay`]).
    fn is_rate_limited(&self) -> bool;
    /// Whether the attempt timed out (a retry after a timeout costs the budget more).
    fn is_timeout(&self) -> bool;
}

/// How a client retries a failed call.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included. `1` disables retries.
    pub max_attempts: u32,
    /// The backoff ceiling before jitter for the first retry; it doubles on each retry.
    pub base_delay: Duration,
    /// No backoff is longer than this.
    pub max_delay: Duration,
    /// A rate-limited call waits at least this long, so a throttled loop never spins.
    pub min_rate_limited_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            min_rate_limited_delay: Duration::from_millis(100),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn no_retries() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The full-jitter backoff before retry number `retry` (0 for the first retry):
    /// a uniform draw from `[0, min(max_delay, base_delay * 2^retry))`, where `random`
    /// is a draw from `[0, 1)`.
    pub fn backoff(&self, retry: u32, random: f64) -> Duration {
        let ceiling = self
            .base_delay
            .checked_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        ceiling.mul_f64(random.clamp(0.0, 1.0))
    }

    /// Whether and when to retry after `error` on attempt number `attempt` (1-based).
    ///
    /// `remaining` is the time left before the caller's deadline, if it has one (a confirm
    /// must not be retried past its handles' 30 s): a retry that could not start before it
    /// is not attempted.
    pub fn decide(
        &self,
        attempt: u32,
        error: &impl RetryClass,
        random: f64,
        remaining: Option<Duration>,
    ) -> Decision {
        if !error.is_retryable() {
            return Decision::GiveUp(GiveUpReason::NotRetryable);
        }
        if attempt >= self.max_attempts {
            return Decision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        let mut delay = self.backoff(attempt - 1, random);
        if error.is_rate_limited() {
            delay = delay.max(self.min_rate_limited_delay);
        }
        match remaining {
            Some(left) if delay >= left => Decision::GiveUp(GiveUpReason::DeadlineTooClose),
            _ => Decision::RetryAfter(delay),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then send again.
    RetryAfter(Duration),
    /// Return the error to the caller.
    GiveUp(GiveUpReason),
}

/// Why a call is not retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The error will not go away by itself.
    NotRetryable,
    /// The policy's attempt limit was reached.
    AttemptsExhausted,
    /// The next attempt could not start before the caller's deadline.
    DeadlineTooClose,
    /// The client's shared retry budget is spent: the service is failing broadly.
    BudgetExhausted,
}

/// A token bucket shared by all calls of one client, in the manner of the AWS SDKs'
/// standard retry mode: each retry spends tokens, each success refunds one. When the
/// service is failing broadly the bucket empties and calls stop multiplying the load;
/// first attempts are never refused.
#[derive(Debug)]
pub struct RetryBudget {
    tokens: AtomicU32,
    capacity: u32,
}

/// Tokens a retry costs; a retry after a timeout costs double (timeouts hold resources longest).
pub const RETRY_COST: u32 = 5;
/// Tokens a retry after a timeout costs.
pub const TIMEOUT_RETRY_COST: u32 = 10;

impl RetryBudget {
    /// A full bucket of `capacity` tokens.
    pub fn new(capacity: u32) -> Self {
        RetryBudget {
            tokens: AtomicU32::new(capacity),
            capacity,
        }
    }

    /// What a retry after `error` costs.
    pub fn cost(error: &impl RetryClass) -> u32 {
        if error.is_timeout() {
            TIMEOUT_RETRY_COST
        } else {
            RETRY_COST
        }
    }

    /// Takes the cost of one retry after `error`; false (and nothing taken) if not enough is left.
    pub fn try_spend(&self, error: &impl RetryClass) -> bool {
        let cost = Self::cost(error);
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .is_ok()
    }

    /// Refunds one token after a call that succeeded at its first attempt.
    pub fn on_success(&self) {
        self.refund(1);
    }

    /// Refunds `tokens` (up to the capacity): after a retry that succeeded, its cost, as the
    /// AWS SDKs' standard mode does. Refunding only one token there would drain the budget
    /// under a steady fault rate that retries do overcome, and then stop retrying exactly the
    /// calls that were succeeding.
    pub fn refund(&self, tokens: u32) {
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                (t < self.capacity).then(|| t.saturating_add(tokens).min(self.capacity))
            });
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        self.tokens.load(Ordering::Acquire)
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(500)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error as a cloud's client would classify it, by the codes both clouds use.
    struct Test(&'static str);

    impl RetryClass for Test {
        fn is_retryable(&self) -> bool {
            matches!(self.0, "InternalError" | "RequestLimitExceeded" | "timeout")
        }
        fn is_rate_limited(&self) -> bool {
            self.0 == "RequestLimitExceeded"
        }
        fn is_timeout(&self) -> bool {
            self.0 == "timeout"
        }
    }

    fn api(code: &'static str) -> Test {
        Test(code)
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            min_rate_limited_delay: Duration::from_millis(50),
        }
    }

    #[test]
    fn backoff_grows_exponentially_with_full_jitter_and_a_cap() {
        let p = policy();
        // random just below 1 gives (almost) the ceiling: 100, 200, then capped at 350.
        let top = 0.999_999;
        assert!(
            p.backoff(0, top) <= Duration::from_millis(100)
                && p.backoff(0, top) > Duration::from_millis(99)
        );
        assert!(
            p.backoff(1, top) > Duration::from_millis(199)
                && p.backoff(1, top) <= Duration::from_millis(200)
        );
        assert!(
            p.backoff(2, top) <= Duration::from_millis(350)
                && p.backoff(2, top) > Duration::from_millis(349)
        );
        assert_eq!(p.backoff(40, top), p.backoff(2, top));
        // random 0 gives no wait at all (full jitter), random 0.5 half the ceiling.
        assert_eq!(p.backoff(1, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(1, 0.5), Duration::from_millis(100));
    }

    #[test]
    fn retries_transient_errors_until_attempts_run_out() {
        let p = policy();
        let e = api("InternalError");
        assert_eq!(
            p.decide(1, &e, 0.5, None),
            Decision::RetryAfter(Duration::from_millis(50))
        );
        assert_eq!(
            p.decide(3, &e, 0.5, None),
            Decision::RetryAfter(Duration::from_millis(175))
        );
        assert_eq!(
            p.decide(4, &e, 0.5, None),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn never_retries_auth_or_parameter_errors() {
        let p = policy();
        for code in [
            "AuthFailure.SignatureFailure",
            "InvalidParameterValue",
            "UnauthorizedOperation",
        ] {
            assert_eq!(
                p.decide(1, &api(code), 0.5, None),
                Decision::GiveUp(GiveUpReason::NotRetryable),
                "{code}"
            );
        }
    }

    #[test]
    fn rate_limited_calls_never_retry_immediately() {
        let p = policy();
        assert_eq!(
            p.decide(1, &api("RequestLimitExceeded"), 0.0, None),
            Decision::RetryAfter(Duration::from_millis(50))
        );
        // Other errors may retry at once under full jitter.
        assert_eq!(
            p.decide(1, &api("InternalError"), 0.0, None),
            Decision::RetryAfter(Duration::ZERO)
        );
    }

    #[test]
    fn no_retry_that_would_start_after_the_deadline() {
        let p = policy();
        let e = api("InternalError");
        assert_eq!(
            p.decide(2, &e, 0.5, Some(Duration::from_millis(99))),
            Decision::GiveUp(GiveUpReason::DeadlineTooClose)
        );
        assert_eq!(
            p.decide(2, &e, 0.5, Some(Duration::from_millis(101))),
            Decision::RetryAfter(Duration::from_millis(100))
        );
    }

    #[test]
    fn budget_drains_on_retries_and_refills_on_success() {
        let b = RetryBudget::new(12);
        let e = api("InternalError");
        assert!(b.try_spend(&e));
        assert!(b.try_spend(&e));
        assert!(!b.try_spend(&e), "2 tokens left, a retry costs 5");
        assert_eq!(b.available(), 2);
        for _ in 0..20 {
            b.on_success();
        }
        assert_eq!(b.available(), 12, "refill stops at capacity");
        let timeout = Test("timeout");
        assert!(b.try_spend(&timeout));
        assert_eq!(b.available(), 2);
    }

    #[test]
    fn a_retry_that_succeeds_refunds_its_cost() {
        let b = RetryBudget::new(20);
        let e = api("InternalError");
        for _ in 0..100 {
            // Under a steady fault rate that one retry overcomes, the budget holds.
            assert!(b.try_spend(&e));
            b.refund(RetryBudget::cost(&e));
        }
        assert_eq!(b.available(), 20);
        b.refund(1_000);
        assert_eq!(b.available(), 20, "never above capacity");
    }
}
