//! Keeping a lease extended while long work runs, up to a maximum.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::consumer::{Acker, Source};
use crate::ErrorChain;

/// How [`keep_lease`] extends a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepLease {
    /// Each extension hides the message this long from when it is made.
    pub visible_for: Duration,
    /// An extension is made when this little of the usable lease is left.
    pub renew_before: Duration,
    /// No extension reaches past this long after `keep_lease` began: work that hangs still
    /// gives its message back eventually.
    pub max_total: Duration,
}

impl KeepLease {
    /// Extensions of `visible_for`, made when a third of that is left, for at most
    /// `max_total`.
    pub fn new(visible_for: Duration, max_total: Duration) -> Self {
        KeepLease {
            visible_for,
            renew_before: visible_for / 3,
            max_total,
        }
    }
}

/// Runs `work` while keeping `acker`'s lease extended, and returns its output. Extending
/// stops at `keep.max_total`, when the delivery is settled, or after an extension fails
/// (logged: the message then comes back when its lease ends, and is delivered again).
pub async fn keep_lease<S, F>(acker: &Acker<S>, keep: KeepLease, work: F) -> F::Output
where
    S: Source,
    F: Future,
{
    let began = Instant::now();
    let limit = began + keep.max_total;
    tokio::pin!(work);
    let mut extending = true;
    loop {
        if !extending {
            return work.await;
        }
        let renew_at = acker
            .usable_until()
            .checked_sub(keep.renew_before)
            .unwrap_or(began);
        tokio::select! {
            out = &mut work => return out,
            _ = tokio::time::sleep_until(renew_at) => {
                let now = Instant::now();
                let visible_for = keep.visible_for.min(limit.saturating_duration_since(now));
                if visible_for < Duration::from_secs(1) || acker.is_acked() {
                    extending = false;
                    continue;
                }
                match acker.extend(visible_for).await {
                    Ok(until) => tracing::debug!(?visible_for, left = ?until.saturating_duration_since(now), "lease extended"),
                    Err(error) => {
                        tracing::warn!(error = %ErrorChain(&error), "could not extend a lease; the message comes back when it ends");
                        extending = false;
                    }
                }
            }
        }
    }
}
