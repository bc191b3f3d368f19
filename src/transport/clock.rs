//! Wall-clock time and the offset to a server's clock.
//!
//! Both clouds refuse requests signed too far from their own clock (Tencent ±5 min, MNS
//! ±15 min). A client learns the offset from a response's `Date` header and signs with the
//! server's time from then on, so a badly set local clock costs one refused request, not all.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time; replaceable in tests.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The learned offset of a server's clock from ours, shared by every task of one client.
#[derive(Debug, Default)]
pub struct ClockSkew {
    offset_secs: AtomicI64,
    warned: AtomicBool,
}

impl ClockSkew {
    /// The offset (server minus local, in seconds); 0 until one was learned.
    pub fn offset_secs(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }

    /// Records the server's time `server` seen when the local clock read `local`, and warns
    /// once per client that the local clock is off (the cure is NTP, not this crate).
    pub fn learn(&self, server: SystemTime, local: SystemTime, service: &str) -> i64 {
        let offset = unix_secs(server) - unix_secs(local);
        self.offset_secs.store(offset, Ordering::Relaxed);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                offset_secs = offset,
                service,
                "local clock differs from the server's; signing with the server's time from now on (fix the clock: NTP)"
            );
        }
        offset
    }

    /// `local` corrected by the learned offset, in Unix seconds.
    pub fn server_now_unix(&self, local: SystemTime) -> i64 {
        unix_secs(local) + self.offset_secs()
    }

    /// The server's time when the local clock reads `local`. Expiry times of temporary
    /// credentials are on the cloud's clock, so this is what they are compared with.
    pub fn server_time(&self, local: SystemTime) -> SystemTime {
        let offset = self.offset_secs();
        let shift = std::time::Duration::from_secs(offset.unsigned_abs());
        if offset >= 0 {
            local.checked_add(shift).unwrap_or(local)
        } else {
            local.checked_sub(shift).unwrap_or(local)
        }
    }
}

/// Seconds since the Unix epoch (negative before it).
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn learns_the_offset_in_both_directions() {
        let skew = ClockSkew::default();
        let local = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(skew.server_now_unix(local), 1_000_000);
        skew.learn(local + Duration::from_secs(600), local, "test");
        assert_eq!(skew.offset_secs(), 600);
        assert_eq!(skew.server_now_unix(local), 1_000_600);
        assert_eq!(skew.server_time(local), local + Duration::from_secs(600));
        skew.learn(local - Duration::from_secs(30), local, "test");
        assert_eq!(skew.server_now_unix(local), 999_970);
        assert_eq!(skew.server_time(local), local - Duration::from_secs(30));
    }

    #[test]
    fn unix_secs_before_the_epoch_is_negative() {
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(5)), -5);
    }
}
