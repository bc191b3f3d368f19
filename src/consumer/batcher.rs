//! The acknowledgement batcher: one task per stream that groups acknowledged tokens into
//! calls of at most `max_batch`, sent when a batch is full, when the auto-ack stream finished
//! a received batch, when a token's lease ends before the next timed flush, or after
//! `ack_flush_interval`; never once a token's lease is over.

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use tokio::sync::oneshot;

use crate::consumer::core::{lock, AckMsg, AckResult, Core};
use crate::consumer::metrics::add;
use crate::consumer::options::later;
use crate::consumer::source::{ErrorClass, LeaseError, Source, SourceError};
use crate::ErrorChain;

/// Queued tokens with the end of their usable lease and who waits for the outcome.
type Queue<T> = Vec<(T, Instant, Option<oneshot::Sender<AckResult>>)>;

fn tell(receipt: Option<oneshot::Sender<AckResult>>, result: AckResult) {
    if let Some(receipt) = receipt {
        let _ = receipt.send(result);
    }
}

pub(crate) async fn run<S: Source>(
    core: Arc<Core<S>>,
    mut rx: mpsc::UnboundedReceiver<AckMsg<S::Token>>,
) {
    let opts = &core.options;
    let in_flight = Arc::new(Semaphore::new(opts.effective_ack_concurrency()));
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let mut queue: Queue<S::Token> = Vec::new();
    let mut oldest: Option<Instant> = None;
    let max = core.source.max_batch().max(1);
    loop {
        let flush_at = oldest.map(|t| later(t, opts.ack_flush_interval));
        let msg = tokio::select! {
            m = rx.recv() => m,
            _ = sleep_until_opt(flush_at) => {
                send(&core, &in_flight, &mut tasks, &mut queue, true).await;
                oldest = None;
                continue;
            }
        };
        match msg {
            Some(AckMsg::Ack {
                token,
                usable_until,
                flush,
                receipt,
            }) => {
                add(&core.counters.acked, 1);
                queue.push((token, usable_until, receipt));
                oldest.get_or_insert_with(Instant::now);
                // One whose lease ends before the next timed flush goes now, not expired.
                // A zero interval sends at once: a timer due now still waits for the timer's
                // next millisecond tick (push answers took >= 1 ms).
                let urgent = opts.ack_flush_interval.is_zero()
                    || usable_until.saturating_duration_since(Instant::now())
                        <= opts.ack_flush_interval;
                if flush || urgent || queue.len() >= max {
                    send(&core, &in_flight, &mut tasks, &mut queue, flush || urgent).await;
                    if queue.is_empty() {
                        oldest = None;
                    }
                }
            }
            Some(AckMsg::AckWithoutToken) => add(&core.counters.acked, 1),
            Some(AckMsg::Expired) => {
                add(&core.counters.expired, 1);
                opts.metrics.expired(1);
            }
            Some(AckMsg::Release(token)) => {
                let core = core.clone();
                let in_flight = in_flight.clone();
                tasks.push(tokio::spawn(async move {
                    // Releases count against the same bound as acknowledge calls.
                    let Ok(_permit) = in_flight.acquire_owned().await else {
                        return;
                    };
                    match core.source.release(token).await {
                        Ok(()) | Err(LeaseError::Unsupported) => {}
                        Err(LeaseError::Source(error)) => {
                            tracing::debug!(error = %error, "a release failed; the message comes back when its lease ends");
                        }
                    }
                }));
            }
            Some(AckMsg::Flush(done)) => {
                send(&core, &in_flight, &mut tasks, &mut queue, true).await;
                oldest = None;
                for t in tasks.drain(..) {
                    let _ = t.await;
                }
                let _ = done.send(());
            }
            None => {
                send(&core, &in_flight, &mut tasks, &mut queue, true).await;
                for t in tasks.drain(..) {
                    let _ = t.await;
                }
                return;
            }
        }
        tasks.retain(|t| !t.is_finished());
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => futures::future::pending().await,
    }
}

/// Drops the tokens whose usable lease is over, counting them.
fn drop_expired<S: Source>(core: &Core<S>, queue: &mut Queue<S::Token>) {
    let now = Instant::now();
    let before = queue.len();
    queue.retain_mut(|(_, until, receipt)| {
        let live = *until > now;
        if !live {
            tell(receipt.take(), AckResult::Expired);
        }
        live
    });
    let expired = before - queue.len();
    if expired > 0 {
        add(&core.counters.expired, expired);
        core.options.metrics.expired(expired);
        tracing::warn!(
            expired,
            "acknowledged messages' leases ended before they could be acknowledged; they will be redelivered"
        );
    }
}

/// Sends the queue as calls of at most `max_batch` (all of it when `all`, else only full
/// batches).
async fn send<S: Source>(
    core: &Arc<Core<S>>,
    in_flight: &Arc<Semaphore>,
    tasks: &mut Vec<JoinHandle<()>>,
    queue: &mut Queue<S::Token>,
    all: bool,
) {
    let max = core.source.max_batch().max(1);
    drop_expired(core, queue);
    while queue.len() >= max || (all && !queue.is_empty()) {
        let take = queue.len().min(max);
        let mut batch: Queue<S::Token> = queue.drain(..take).collect();
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        // Waiting for a slot can take a while when the source is slow: check again.
        drop_expired(core, &mut batch);
        if batch.is_empty() {
            continue;
        }
        let core = core.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            acknowledge(&core, batch).await;
        }));
    }
}

async fn acknowledge<S: Source>(core: &Core<S>, batch: Queue<S::Token>) {
    let opts = &core.options;
    let n = batch.len();
    let Some(deadline) = batch.iter().map(|(_, until, _)| *until).min() else {
        return;
    };
    let (tokens, receipts): (Vec<S::Token>, Vec<_>) =
        batch.into_iter().map(|(t, _, r)| (t, r)).unzip();
    let results = core.source.acknowledge(tokens, deadline).await;
    for (i, receipt) in receipts.into_iter().enumerate() {
        let accepted = matches!(results.get(i), Some(Ok(())));
        tell(
            receipt,
            if accepted {
                AckResult::Accepted
            } else {
                AckResult::Refused
            },
        );
    }
    let mut ok = results.iter().filter(|r| r.is_ok()).count();
    // A source that answers for fewer tokens than it was given: the rest did not land.
    ok = ok.min(n);
    let failed = n - ok;
    add(&core.counters.confirmed, ok);
    if ok > 0 {
        opts.metrics.acknowledged(ok);
    }
    tracing::debug!(acknowledged = ok, failed, "acknowledge call done");
    if failed == 0 {
        return;
    }
    add(&core.counters.confirm_failed, failed);
    let mut errors = results.into_iter().filter_map(Result::err);
    let Some(first) = errors.next() else {
        tracing::warn!(failed, "the source answered for fewer tokens than it was given; those messages will be redelivered");
        return;
    };
    opts.metrics.ack_failed(failed, first.as_ref());
    let shown = ErrorChain(first.as_ref()).to_string();
    let fatal = std::iter::once(first)
        .chain(errors)
        .find(|e| e.class() == ErrorClass::Fatal);
    let Some(error) = fatal else {
        tracing::warn!(error = %shown, failed, "acknowledgements were refused; these messages will be redelivered");
        return;
    };
    tracing::error!(error = %ErrorChain(error.as_ref()), failed, "acknowledging failed fatally; the stream ends and these messages will be redelivered");
    // The other results (which may share this error) are gone, so it is usually ours alone;
    // if the source kept a copy, the stream ends without yielding it (it was logged).
    if let Ok(error) = Arc::try_unwrap(error) {
        *lock(&core.fatal) = Some(error);
    }
    let _ = core.stop.send(true);
}
