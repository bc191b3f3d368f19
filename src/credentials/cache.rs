//! [`CredentialsCache`]: credentials resolved once and refreshed ahead of their expiry.
//!
//! Temporary credentials (instance roles, STS) last hours. Every signed request needs them,
//! so asking the provider each time would put a metadata call in front of every request;
//! keeping them forever lets them expire into an authentication error. The cache keeps one
//! set, refreshes it some minutes before it expires with one refresh at a time however many
//! tasks sign, keeps using it while still valid if a refresh fails, and drops it when the
//! service says the token is no longer good.
//!
//! What to do at a given moment is a pure function ([`plan`]) of the cached set and the time,
//! tested apart from the locking around it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::CredentialsError;

/// How long before their expiry temporary credentials are refreshed (at most half their
/// lifetime, for credentials that live less than twice this).
pub const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// After a failed refresh while the cached credentials are still valid, how long to wait
/// before the next try (requests keep signing with the cached ones meanwhile).
pub const RETRY_REFRESH_AFTER: Duration = Duration::from_secs(10);
/// Credentials this close to their expiry are not used at all: a request signed with them
/// could arrive after they expired. A caller waits for fresh ones instead.
const UNUSABLE_WITHIN: Duration = Duration::from_secs(10);

/// Credentials that may expire.
pub trait Expiring {
    /// When they stop working; `None` for long-lived keys.
    fn expiration(&self) -> Option<SystemTime>;
}

/// How long before `expires` credentials fetched at `fetched_at` are refreshed:
/// [`REFRESH_AHEAD`], or half their lifetime if that is shorter.
pub fn refresh_ahead(fetched_at: SystemTime, expires: SystemTime) -> Duration {
    let lifetime = expires.duration_since(fetched_at).unwrap_or_default();
    REFRESH_AHEAD.min(lifetime / 2)
}

/// What a caller does with the cache at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Use the cached credentials.
    Use,
    /// Use the cached credentials, and refresh them first if no one else is.
    UseAndRefresh,
    /// Nothing usable is cached: wait for fresh credentials.
    Refresh,
}

/// The decision, from the cached credentials' times and the time of the last failed refresh.
pub(crate) fn plan(
    cached: Option<(SystemTime, Option<SystemTime>)>,
    retry_after: Option<SystemTime>,
    now: SystemTime,
) -> Plan {
    let Some((fetched_at, expires)) = cached else {
        return Plan::Refresh;
    };
    let Some(expires) = expires else {
        return Plan::Use;
    };
    let unusable_within = UNUSABLE_WITHIN.min(refresh_ahead(fetched_at, expires) / 2);
    if now + unusable_within >= expires {
        return Plan::Refresh;
    }
    if now + refresh_ahead(fetched_at, expires) < expires {
        return Plan::Use;
    }
    match retry_after {
        Some(at) if now < at => Plan::Use,
        _ => Plan::UseAndRefresh,
    }
}

struct Cached<C> {
    // Shared, so that handing the credentials to each request costs no copy of their strings.
    value: Arc<C>,
    fetched_at: SystemTime,
}

struct State<C> {
    current: Option<Cached<C>>,
    retry_after: Option<SystemTime>,
    /// Waits for credentials (nothing usable cached) that asked the provider and have ended,
    /// and how the last of them ended: a task that queued behind a failed one takes its error
    /// instead of asking again, so N waiters cost one provider timeout, not N in a row.
    blocking_attempts: u64,
    last_failure: Option<CredentialsError>,
    /// Whether the provider ever gave credentials: from then on, a source finding nothing is
    /// down (an unreachable metadata service), not absent.
    ever_stored: bool,
}

/// One client's credentials: resolved on first use, refreshed ahead of expiry, one refresh
/// at a time. Long-lived keys are resolved once and kept.
pub struct CredentialsCache<C> {
    state: Mutex<State<C>>,
    // Held across a refresh so that only one task asks the provider; tasks that find valid
    // credentials cached never wait for it.
    refreshing: tokio::sync::Mutex<()>,
}

impl<C> Default for CredentialsCache<C> {
    fn default() -> Self {
        CredentialsCache {
            state: Mutex::new(State {
                current: None,
                retry_after: None,
                blocking_attempts: 0,
                last_failure: None,
                ever_stored: false,
            }),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }
}

impl<C> std::fmt::Debug for CredentialsCache<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self.lock().current.is_some();
        f.debug_struct("CredentialsCache")
            .field("cached", &cached)
            .finish_non_exhaustive()
    }
}

impl<C: Expiring + PartialEq> CredentialsCache<C> {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The credentials to sign with now. `now` reads the clock (called again after waiting
    /// for another task's refresh); `fetch` asks the provider, and is called only when the
    /// cache decides to.
    pub async fn get<F, Fut>(
        &self,
        now: impl Fn() -> SystemTime,
        fetch: F,
    ) -> Result<Arc<C>, CredentialsError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<C, CredentialsError>>,
    {
        let (decision, current) = self.look(now());
        match (decision, current) {
            (Plan::Use, Some(c)) => Ok(c),
            (Plan::UseAndRefresh, Some(c)) => {
                let Ok(_guard) = self.refreshing.try_lock() else {
                    // Someone is refreshing already; these are still valid.
                    return Ok(c);
                };
                if let (Plan::Use, Some(fresh)) = self.look(now()) {
                    return Ok(fresh);
                }
                match fetch().await {
                    Ok(fresh) => Ok(self.store(fresh, now())),
                    Err(e) => {
                        let at = now();
                        self.lock().retry_after = Some(at + RETRY_REFRESH_AFTER);
                        tracing::warn!(
                            error = %e,
                            "refreshing temporary credentials failed; signing with the current ones until they expire"
                        );
                        Ok(c)
                    }
                }
            }
            _ => {
                let seen = self.lock().blocking_attempts;
                let _guard = self.refreshing.lock().await;
                // Another task may have refreshed, or failed to, while this one waited.
                if let (Plan::Use | Plan::UseAndRefresh, Some(c)) = self.look(now()) {
                    return Ok(c);
                }
                {
                    let state = self.lock();
                    if state.blocking_attempts != seen {
                        if let Some(e) = state.last_failure.clone() {
                            return Err(e);
                        }
                    }
                }
                let outcome = match fetch().await {
                    Ok(fresh) => {
                        let at = now();
                        match fresh.expiration() {
                            Some(expires) if expires <= at + UNUSABLE_WITHIN => {
                                Err(CredentialsError::Unavailable {
                                    provider: "credentials cache",
                                    reason: format!(
                                        "the provider gave credentials that expire at {} (now {}): too late to sign with",
                                        humantime::format_rfc3339_seconds(expires),
                                        humantime::format_rfc3339_seconds(at)
                                    ),
                                })
                            }
                            _ => Ok(self.store(fresh, at)),
                        }
                    }
                    Err(e) => Err(self.as_outage_if_seen_before(e)),
                };
                let mut state = self.lock();
                state.last_failure = outcome.as_ref().err().cloned();
                state.blocking_attempts += 1;
                outcome
            }
        }
    }

    /// A source that gave credentials before and now finds none (a metadata service that
    /// stopped answering) is taken as down, so that callers retry instead of stopping as if
    /// nothing were configured.
    fn as_outage_if_seen_before(&self, e: CredentialsError) -> CredentialsError {
        let not_found = e.is_not_configured() || matches!(e, CredentialsError::NoneFound { .. });
        if not_found && self.lock().ever_stored {
            CredentialsError::Unavailable {
                provider: "credentials cache",
                reason: format!("the source that gave credentials before finds none now ({e})"),
            }
        } else {
            e
        }
    }

    /// Forgets `used` if it is still the cached set: the service refused its token, so the
    /// next [`get`](Self::get) asks the provider. A set refreshed meanwhile is kept.
    pub fn invalidate(&self, used: &C) {
        let mut state = self.lock();
        if state.current.as_ref().is_some_and(|c| *c.value == *used) {
            state.current = None;
            state.retry_after = None;
        }
    }

    fn look(&self, now: SystemTime) -> (Plan, Option<Arc<C>>) {
        let state = self.lock();
        let times = state
            .current
            .as_ref()
            .map(|c| (c.fetched_at, c.value.expiration()));
        let decision = plan(times, state.retry_after, now);
        (
            decision,
            state.current.as_ref().map(|c| Arc::clone(&c.value)),
        )
    }

    /// Keeps `value`, unless it is the set already cached: a provider that has not rotated
    /// yet. Then the cached set keeps its fetch time (restarting it would shrink the refresh
    /// window at every try), and the next try waits [`RETRY_REFRESH_AFTER`].
    fn store(&self, value: C, now: SystemTime) -> Arc<C> {
        let mut state = self.lock();
        state.ever_stored = true;
        if let Some(cached) = state.current.as_ref().filter(|c| *c.value == value) {
            let same = Arc::clone(&cached.value);
            state.retry_after = Some(now + RETRY_REFRESH_AFTER);
            return same;
        }
        let value = Arc::new(value);
        state.current = Some(Cached {
            value: Arc::clone(&value),
            fetched_at: now,
        });
        state.retry_after = None;
        value
    }
}

impl<C> CredentialsCache<C> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<C>> {
        // The state is replaced whole under the lock, so a panic elsewhere cannot leave it
        // half written.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::UNIX_EPOCH;

    #[derive(Debug, Clone, PartialEq)]
    struct Temp {
        n: u32,
        expires: Option<SystemTime>,
    }

    impl Expiring for Temp {
        fn expiration(&self) -> Option<SystemTime> {
            self.expires
        }
    }

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    #[test]
    fn the_plan_over_an_hour_long_token() {
        let cached = Some((t(0), Some(t(3600))));
        assert_eq!(plan(None, None, t(0)), Plan::Refresh);
        assert_eq!(plan(Some((t(0), None)), None, t(1 << 30)), Plan::Use);
        assert_eq!(plan(cached, None, t(10)), Plan::Use);
        assert_eq!(plan(cached, None, t(3600 - 301)), Plan::Use);
        assert_eq!(plan(cached, None, t(3600 - 299)), Plan::UseAndRefresh);
        // A refresh failed: keep using them for a while, then try again.
        assert_eq!(plan(cached, Some(t(3400)), t(3399)), Plan::Use);
        assert_eq!(plan(cached, Some(t(3400)), t(3400)), Plan::UseAndRefresh);
        // Too close to the end to sign with.
        assert_eq!(plan(cached, None, t(3590)), Plan::Refresh);
        assert_eq!(plan(cached, None, t(4000)), Plan::Refresh);
    }

    #[test]
    fn short_lived_credentials_refresh_at_half_their_life() {
        assert_eq!(refresh_ahead(t(0), t(60)), Duration::from_secs(30));
        assert_eq!(refresh_ahead(t(0), t(7200)), REFRESH_AHEAD);
        assert_eq!(refresh_ahead(t(100), t(0)), Duration::ZERO);
        let cached = Some((t(0), Some(t(60))));
        assert_eq!(plan(cached, None, t(29)), Plan::Use);
        assert_eq!(plan(cached, None, t(31)), Plan::UseAndRefresh);
        assert_eq!(plan(cached, None, t(51)), Plan::Refresh);
    }

    fn block<T>(f: impl Future<Output = T>) -> T {
        futures::executor::block_on(f)
    }

    #[test]
    fn refreshes_ahead_keeps_old_on_failure_and_invalidates() {
        let cache = CredentialsCache::new();
        let now = Arc::new(Mutex::new(t(0)));
        let clock = || *now.lock().unwrap();
        let calls = AtomicU32::new(0);
        let fetch = |ok: bool, expires: u64| {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if ok {
                    Ok(Temp {
                        n,
                        expires: Some(t(expires)),
                    })
                } else {
                    Err(CredentialsError::Unavailable {
                        provider: "test",
                        reason: "down".into(),
                    })
                }
            }
        };
        let first = block(cache.get(clock, || fetch(true, 3600))).unwrap();
        assert_eq!(first.n, 1);
        // Cached: the provider is not asked.
        assert_eq!(block(cache.get(clock, || fetch(true, 3600))).unwrap().n, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Inside the refresh window, the refresh fails: the old set is used, then not retried
        // before RETRY_REFRESH_AFTER.
        *now.lock().unwrap() = t(3400);
        assert_eq!(block(cache.get(clock, || fetch(false, 0))).unwrap().n, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(block(cache.get(clock, || fetch(true, 7200))).unwrap().n, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        *now.lock().unwrap() = t(3400) + RETRY_REFRESH_AFTER;
        assert_eq!(block(cache.get(clock, || fetch(true, 7200))).unwrap().n, 3);
        // Refused by the service: dropped, fetched again.
        let current = block(cache.get(clock, || fetch(true, 0))).unwrap();
        cache.invalidate(&first); // an old set: nothing happens
        assert_eq!(
            *block(cache.get(clock, || fetch(true, 0))).unwrap(),
            *current
        );
        cache.invalidate(&current);
        assert_eq!(block(cache.get(clock, || fetch(true, 9000))).unwrap().n, 4);
        // Expired and the refresh fails: the error comes out, nothing is kept.
        *now.lock().unwrap() = t(9000);
        assert!(block(cache.get(clock, || fetch(false, 0)))
            .unwrap_err()
            .is_retryable());
    }

    fn temp(n: u32, expires: u64) -> Temp {
        Temp {
            n,
            expires: Some(t(expires)),
        }
    }

    #[test]
    fn a_provider_that_has_not_rotated_yet_keeps_the_window_and_is_not_used_too_late() {
        let cache = CredentialsCache::new();
        let calls = AtomicU32::new(0);
        let same = || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(temp(1, 3600)) }
        };
        block(cache.get(|| t(0), same)).unwrap();
        // In the refresh window the provider gives the same set: kept, and not asked again
        // before RETRY_REFRESH_AFTER, however often credentials are wanted.
        for _ in 0..5 {
            assert_eq!(block(cache.get(|| t(3400), same)).unwrap().n, 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // The window did not shrink: the next try is 10 s later, not at once.
        assert_eq!(block(cache.get(|| t(3405), same)).unwrap().n, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(block(cache.get(|| t(3410), same)).unwrap().n, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Seconds before the expiry the same set again is refused, not signed with.
        let e = block(cache.get(|| t(3595), same)).unwrap_err();
        assert!(
            e.is_retryable() && e.to_string().contains("too late"),
            "{e}"
        );
    }

    #[test]
    fn a_source_that_answered_before_and_finds_nothing_now_is_down_not_absent() {
        let cache = CredentialsCache::new();
        let first = block(cache.get(|| t(0), || async { Ok(temp(1, 3600)) })).unwrap();
        cache.invalidate(&first);
        let gone = || async {
            Err(CredentialsError::NotConfigured {
                provider: "CVM role",
                detail: "connection refused".into(),
            })
        };
        let e = block(cache.get(|| t(10), gone)).unwrap_err();
        assert!(e.is_retryable(), "{e:?}");
        assert!(e.to_string().contains("connection refused"), "{e}");
        // A cache that never had any passes "not configured" on as it is.
        let fresh = CredentialsCache::<Temp>::new();
        assert!(block(fresh.get(|| t(10), gone))
            .unwrap_err()
            .is_not_configured());
    }

    /// `tasks` tasks want credentials at once from an empty cache; each fetch answers
    /// `answer` once every task has asked and one fetch has started, so the others queue behind
    /// it. Returns what each task got and how many fetches there were.
    async fn race(
        tasks: u32,
        answer: fn() -> Result<Temp, CredentialsError>,
    ) -> (Vec<Result<Arc<Temp>, CredentialsError>>, u32) {
        let cache = Arc::new(CredentialsCache::<Temp>::new());
        let calls = Arc::new(AtomicU32::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let entered = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (cache, calls, gate) = (cache.clone(), calls.clone(), gate.clone());
                let entered = entered.clone();
                tokio::spawn(async move {
                    entered.fetch_add(1, Ordering::SeqCst);
                    let fetch = || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        answer()
                    };
                    cache.get(|| t(0), fetch).await
                })
            })
            .collect();
        while calls.load(Ordering::SeqCst) == 0 || entered.load(Ordering::SeqCst) < tasks {
            tokio::task::yield_now().await;
        }
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        // Every fetch that starts may finish, so a regression shows as extra calls, not a hang.
        let opener = {
            let gate = gate.clone();
            tokio::spawn(async move {
                loop {
                    gate.notify_one();
                    tokio::task::yield_now().await;
                }
            })
        };
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.await.unwrap());
        }
        opener.abort();
        (results, calls.load(Ordering::SeqCst))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_signers_share_one_refresh() {
        let (results, calls) = race(16, || Ok(temp(1, 3600))).await;
        assert!(results.iter().all(|r| r.as_ref().is_ok_and(|c| c.n == 1)));
        assert_eq!(calls, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiters_behind_a_failed_fetch_take_its_error_instead_of_asking_again() {
        let (results, calls) = race(8, || {
            Err(CredentialsError::Unavailable {
                provider: "test",
                reason: "timed out".into(),
            })
        })
        .await;
        assert!(results.iter().all(|r| r.is_err()));
        assert_eq!(calls, 1, "the waiters asked again");
    }
}
