//! The receive loop: one task per `concurrency` that asks the source for a batch whenever a
//! whole batch fits under the prefetch bound, and backs off after errors.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::consumer::core::Core;
use crate::consumer::metrics::add;
use crate::consumer::source::{ErrorClass, Leased, Source, SourceError};
use crate::ErrorChain;

/// What a receiver hands to the stream.
pub(crate) enum Received<S: Source> {
    Message {
        leased: Leased<S::Message, S::Token>,
        /// Whether it holds one unit of the prefetch room (the first `max_batch` of a batch
        /// do; extras from a source that sends more do not).
        holds_room: bool,
        last_in_batch: bool,
        received_at: Instant,
    },
    /// A permanent error: yielded, and the stream goes on.
    Error(S::Error),
    /// A fatal error: yielded, and the stream ends.
    Fatal(S::Error),
}

pub(crate) async fn run<S: Source>(
    core: Arc<Core<S>>,
    tx: mpsc::UnboundedSender<Received<S>>,
    seed: u64,
) {
    let mut stop = core.stop.subscribe();
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut failures: u32 = 0;
    let opts = &core.options;
    let max = core
        .source
        .max_batch()
        .clamp(1, crate::consumer::options::MAX_BOUND);
    loop {
        if *stop.borrow() {
            return;
        }
        // Room for a whole batch before asking for one, so received messages never wait in
        // a buffer long enough for their leases to age.
        let permit = tokio::select! {
            p = core.room.acquire_many(max as u32) => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        permit.forget();
        let result = tokio::select! {
            r = core.source.receive() => r,
            _ = stop.changed() => return,
        };
        let error = match result {
            Ok(batch) => {
                failures = 0;
                let n = batch.len();
                add(&core.counters.receives, 1);
                add(&core.counters.received, n);
                if n == 0 {
                    add(&core.counters.empty_receives, 1);
                }
                opts.metrics.received(n);
                // A buggy or hostile source may send more than asked: the extras are handed
                // over all the same but hold no room, so the bound is back once they are taken.
                core.room.add_permits(max.saturating_sub(n));
                let received_at = Instant::now();
                for (i, leased) in batch.into_iter().enumerate() {
                    let item = Received::Message {
                        leased,
                        holds_room: i < max,
                        last_in_batch: i + 1 == n,
                        received_at,
                    };
                    if tx.send(item).is_err() {
                        return;
                    }
                }
                continue;
            }
            Err(error) => error,
        };
        core.room.add_permits(max);
        let class = error.class();
        opts.metrics.receive_failed(&error, class);
        match class {
            ErrorClass::Exhausted => {
                tracing::debug!(error = %ErrorChain(&error), "the source has nothing more; the stream ends");
                let _ = core.stop.send(true);
                return;
            }
            ErrorClass::Fatal => {
                tracing::error!(error = %ErrorChain(&error), "receiving failed fatally; the stream ends");
                let _ = tx.send(Received::Fatal(error));
                let _ = core.stop.send(true);
                return;
            }
            ErrorClass::Permanent => {
                tracing::error!(error = %ErrorChain(&error), "receiving failed, and retrying will not help; the error is yielded and receiving goes on after a backoff");
                if tx.send(Received::Error(error)).is_err() {
                    return;
                }
            }
            _ => {
                tracing::warn!(error = %ErrorChain(&error), "receiving failed; trying again after a backoff")
            }
        }
        failures = failures.saturating_add(1);
        let mut delay = opts
            .receive_backoff
            .backoff(failures.min(16) - 1, rng.f64());
        if class == ErrorClass::RateLimited {
            delay = delay.max(opts.receive_backoff.min_rate_limited_delay);
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {},
            _ = stop.changed() => return,
        }
    }
}
