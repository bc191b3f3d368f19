//! Client-side pacing: never send more than a set rate per action.
//!
//! The service allows 100 requests/s per action (20/s for the event-config calls) and
//! answers `RequestLimitExceeded` beyond that. Rather than learn the limit from errors, each
//! action gets evenly spaced send slots: with a rate of `r`, consecutive requests of that
//! action start at least `1/r` apart, so any one-second window holds at most `r + 1`
//! starts. One pacer is shared by every task using a client.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Evenly spaced send slots for one action.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl Pacer {
    /// At most `per_second` requests per second; `0` or less disables pacing.
    pub fn new(per_second: f64) -> Self {
        let interval = if per_second > 0.0 && per_second.is_finite() {
            Duration::from_secs_f64(1.0 / per_second)
        } else {
            Duration::ZERO
        };
        Pacer {
            interval,
            next_slot: Mutex::new(None),
        }
    }

    /// The spacing between two sends.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the next free slot at or after `now` and returns it. Pure bookkeeping: the
    /// caller sleeps until the returned instant.
    pub fn reserve(&self, now: Instant) -> Instant {
        if self.interval.is_zero() {
            return now;
        }
        // A poisoned lock only means another task panicked mid-update of a plain Instant;
        // the value is still usable.
        let mut next = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
        let slot = match *next {
            Some(n) if n > now => n,
            _ => now,
        };
        *next = Some(slot + self.interval);
        slot
    }

    /// Waits for this request's slot.
    pub async fn wait(&self) {
        let slot = self.reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_evenly_spaced_under_load() {
        let p = Pacer::new(100.0);
        let t0 = Instant::now();
        let slots: Vec<_> = (0..5).map(|_| p.reserve(t0)).collect();
        for (i, s) in slots.iter().enumerate() {
            assert_eq!(*s - t0, Duration::from_millis(10) * i as u32);
        }
    }

    #[test]
    fn an_idle_pacer_does_not_bank_slots() {
        let p = Pacer::new(100.0);
        let t0 = Instant::now();
        p.reserve(t0);
        // A second later the next request goes at once, and the one after waits a full interval.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(p.reserve(later), later);
        assert_eq!(p.reserve(later), later + Duration::from_millis(10));
    }

    #[test]
    fn no_one_second_window_exceeds_the_rate_plus_one() {
        let p = Pacer::new(98.0);
        let t0 = Instant::now();
        let slots: Vec<_> = (0..500).map(|_| p.reserve(t0)).collect();
        for (i, start) in slots.iter().enumerate() {
            let in_window = slots[i..]
                .iter()
                .take_while(|s| **s - *start < Duration::from_secs(1))
                .count();
            assert!(in_window <= 99, "window at {i} holds {in_window}");
        }
    }

    #[test]
    fn zero_rate_disables_pacing() {
        let p = Pacer::new(0.0);
        let t0 = Instant::now();
        assert_eq!(p.reserve(t0), t0);
        assert_eq!(p.reserve(t0), t0);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_sleeps_until_the_slot() {
        let p = Pacer::new(10.0);
        let t0 = Instant::now();
        p.wait().await;
        p.wait().await;
        p.wait().await;
        assert_eq!(Instant::now() - t0, Duration::from_millis(200));
    }
}
