//! The Tencent reliable-callback queue as a [`Source`] of the consumer engine: PullEvents
//! receives, ConfirmEvents acknowledges.

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::time::Instant;

use crate::consumer::{ErrorClass, Leased, Source, SourceError};
use crate::tencent::api::ConfirmEvents;
use crate::tencent::client::Client;
use crate::tencent::error::Error;
use crate::tencent::events::{decode_event_content, ReceivedEvent};

/// How long the service keeps a handle valid after the PullEvents request that delivered it.
pub const HANDLE_LIFETIME: Duration = Duration::from_secs(30);

/// A VOD application's event queue, drained with PullEvents and confirmed with
/// ConfirmEvents. Make one with [`Client::queue`], then a stream with
/// [`TencentQueue::deliveries`] or [`TencentQueue::sequential_events`].
#[derive(Debug, Clone)]
pub struct TencentQueue {
    client: Client,
    sub_app_id: Option<u64>,
    handle_lifetime: Duration,
    splits: Arc<SplitAllowance>,
}

/// How many extra ConfirmEvents calls splitting refused batches may cost: a token bucket of
/// [`SplitAllowance::PER_SECOND`] calls a second. When many handles go stale at once (the
/// service's window shorter than believed, a stalled consumer), nearly every batch is refused
/// and splitting them all would multiply confirm calls; the extra calls would delay fresh
/// confirms past their handles' life, and refuse more batches. Past the allowance a refused
/// batch counts as refused whole, and its events come back.
#[derive(Debug)]
struct SplitAllowance {
    state: std::sync::Mutex<(f64, Instant)>,
}

impl SplitAllowance {
    /// Extra calls a second: a tenth of the service's 100 ConfirmEvents a second.
    const PER_SECOND: f64 = 10.0;
    /// Calls that may be spent at once.
    const BURST: f64 = 20.0;

    fn new() -> Self {
        SplitAllowance {
            state: std::sync::Mutex::new((Self::BURST, Instant::now())),
        }
    }

    /// Takes `calls` if they are there.
    fn take(&self, calls: f64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, at) = &mut *state;
        let now = Instant::now();
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * Self::PER_SECOND).min(Self::BURST);
        *at = now;
        if *tokens >= calls {
            *tokens -= calls;
            true
        } else {
            false
        }
    }
}

impl TencentQueue {
    /// The queue of the client's default SubAppId.
    pub fn new(client: Client) -> Self {
        TencentQueue {
            client,
            sub_app_id: None,
            handle_lifetime: HANDLE_LIFETIME,
            splits: Arc::new(SplitAllowance::new()),
        }
    }

    /// Drains this SubAppId instead of the client's default.
    pub fn sub_app_id(mut self, sub_app_id: u64) -> Self {
        self.sub_app_id = Some(sub_app_id);
        self
    }

    /// How long a handle lives after its pull (default [`HANDLE_LIFETIME`], the service's
    /// 30 s; shorter only to match a test server's window).
    pub fn handle_lifetime(mut self, lifetime: Duration) -> Self {
        self.handle_lifetime = lifetime;
        self
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl SourceError for Error {
    fn class(&self) -> ErrorClass {
        if self.is_fatal() {
            ErrorClass::Fatal
        } else if self.is_rate_limited() {
            ErrorClass::RateLimited
        } else if self.is_retryable() {
            ErrorClass::Transient
        } else {
            ErrorClass::Permanent
        }
    }
}

/// Whether ConfirmEvents refused the batch for its handles (an expired, unknown or already
/// confirmed one): worth confirming its halves apart, so the good handles still land.
fn refused_for_a_handle(error: &Error) -> bool {
    error
        .code()
        .is_some_and(|code| code.starts_with("InvalidParameter"))
}

impl Source for TencentQueue {
    type Message = ReceivedEvent;
    type Token = String;
    type Error = Error;

    async fn receive(&self) -> Result<Vec<Leased<ReceivedEvent, String>>, Error> {
        let response = self.client.pull_events_for(self.sub_app_id).await?;
        // The handles' 30 s began when the answering attempt was sent, after pacing and any
        // earlier attempts: not when this call began.
        let sent_at = response.sent_at.unwrap_or_else(Instant::now);
        let lease_until = sent_at + self.handle_lifetime;
        let pulled = dedupe_handles(response.event_set);
        if pulled.dropped > 0 {
            tracing::warn!(
                repeats = pulled.dropped,
                "PullEvents listed the same event twice under one handle; handing it over once"
            );
        }
        tracing::debug!(events = pulled.events.len(), request_id = %response.request_id, "pulled");
        Ok(pulled
            .events
            .into_iter()
            .map(|(message, token)| Leased {
                message,
                token,
                lease_until,
                attempt: None,
            })
            .collect())
    }

    /// Confirms the handles with ConfirmEvents. The service refuses a whole batch for one
    /// expired, unknown or already confirmed handle, so a refused batch is split in halves,
    /// and split on while one half lands, so the good handles still land; when both halves
    /// are refused too it stops (3 calls): those messages come back. Extra calls are capped
    /// at 10 a second, so a burst of stale handles cannot crowd out fresh confirms.
    async fn acknowledge(
        &self,
        tokens: Vec<String>,
        deadline: Instant,
    ) -> Vec<Result<(), Arc<Error>>> {
        self.confirm_splitting(&tokens, deadline).await
    }
}

impl TencentQueue {
    async fn confirm(&self, handles: &[String], deadline: Instant) -> Result<(), Error> {
        let request = ConfirmEvents {
            event_handles: handles.to_vec(),
            sub_app_id: self.sub_app_id,
        };
        let response = self
            .client
            .call_with_deadline(request, Some(deadline))
            .await?;
        tracing::debug!(handles = handles.len(), request_id = %response.request_id, "confirmed");
        Ok(())
    }

    /// ConfirmEvents for `handles`, with a result per handle. The service refuses a whole
    /// batch for one expired, unknown or already confirmed handle (`InvalidParameterValue`),
    /// and whether it confirmed the others is not documented. So a refused batch is split in
    /// halves, both sent: when both are refused too, the handles are most likely all dead, or
    /// were confirmed by the refused call itself, and splitting on would only spend requests
    /// (their messages come back and are acknowledged again); when one half lands, the other
    /// is split on until the bad handle stands alone. Cost: 3 calls for a batch whose
    /// handles are all refused, about 2 log₂ n for one bad handle among n, and never more
    /// than the split allowance (see [`SplitAllowance`]).
    async fn confirm_splitting(
        &self,
        handles: &[String],
        deadline: Instant,
    ) -> Vec<Result<(), Arc<Error>>> {
        let mut results: Vec<Result<(), Arc<Error>>> = Vec::with_capacity(handles.len());
        results.resize_with(handles.len(), || Ok(()));
        let mut fill = |range: std::ops::Range<usize>, outcome: Result<(), Error>| {
            let outcome = outcome.map_err(Arc::new);
            for slot in &mut results[range] {
                *slot = outcome.clone();
            }
        };
        let whole = self.confirm(handles, deadline).await;
        let mut suspect = match whole {
            Err(error) if handles.len() > 1 && refused_for_a_handle(&error) => {
                tracing::debug!(error = %error, handles = handles.len(), "ConfirmEvents refused a batch; confirming its halves apart");
                Some((0..handles.len(), error))
            }
            other => {
                fill(0..handles.len(), other);
                None
            }
        };
        while let Some((range, error)) = suspect.take() {
            if Instant::now() >= deadline || !self.splits.take(2.0) {
                fill(range, Err(error));
                break;
            }
            let mid = range.start + range.len() / 2;
            let (a, b) = (range.start..mid, mid..range.end);
            let first = self.confirm(&handles[a.clone()], deadline).await;
            let second = self.confirm(&handles[b.clone()], deadline).await;
            let refused = |r: &Result<(), Error>| r.as_ref().is_err_and(refused_for_a_handle);
            match (refused(&first), refused(&second)) {
                (true, false) if a.len() > 1 => {
                    fill(b, second);
                    suspect = first.err().map(|e| (a, e));
                }
                (false, true) if b.len() > 1 => {
                    fill(a, first);
                    suspect = second.err().map(|e| (b, e));
                }
                _ => {
                    fill(a, first);
                    fill(b, second);
                }
            }
        }
        results
    }
}

/// The events of one PullEvents answer, each with the handle its acknowledgement confirms.
struct PulledBatch {
    events: Vec<(ReceivedEvent, Option<String>)>,
    /// Exact repeats (same handle, same bytes) left out.
    dropped: usize,
}

/// Guards the confirm batching against an answer that repeats a handle: an exact repeat
/// (same handle, same bytes) is the same delivery and is handed over once; different events
/// under one handle are all handed over, and only the last of them carries the handle, so
/// the handle is confirmed only after every event it stands for was handed over (deliveries
/// leave in order). No handle is ever queued twice from one answer.
fn dedupe_handles(event_set: Vec<Box<RawValue>>) -> PulledBatch {
    let decoded: Vec<ReceivedEvent> = event_set.into_iter().map(decode_event_content).collect();
    let usable: Vec<Option<&str>> = decoded
        .iter()
        .map(|r| r.handle().filter(|h| !h.trim().is_empty()))
        .collect();
    // Sorting indices by (handle, bytes, position) puts exact repeats next to each other and
    // each handle's events in one run, at O(n log n) whatever a server sends; the bytes are
    // compared only between events that share a handle, which is rare.
    let mut order: Vec<usize> = (0..decoded.len())
        .filter(|&i| usable[i].is_some())
        .collect();
    order.sort_unstable_by(|&a, &b| {
        usable[a]
            .cmp(&usable[b])
            .then_with(|| decoded[a].raw().get().cmp(decoded[b].raw().get()))
            .then(a.cmp(&b))
    });
    let mut keep = vec![true; decoded.len()];
    let mut carries_handle = vec![false; decoded.len()];
    for run in order.chunk_by(|&a, &b| usable[a] == usable[b]) {
        let mut last = run[0];
        for (k, &i) in run.iter().enumerate() {
            let repeat = k > 0 && decoded[run[k - 1]].raw().get() == decoded[i].raw().get();
            if repeat {
                keep[i] = false;
            } else {
                last = last.max(i);
            }
        }
        carries_handle[last] = true;
    }
    let dropped = keep.iter().filter(|k| !**k).count();
    let events = decoded
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep[*i])
        .map(|(i, r)| {
            let handle = r.handle().filter(|_| carries_handle[i]).map(str::to_owned);
            (r, handle)
        })
        .collect();
    PulledBatch { events, dropped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::events::decode_event_json;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn exact_repeats_are_handed_over_once_and_a_shared_handle_goes_to_the_last_event() {
        let a = r#"{"EventHandle":"h1","EventType":"X","N":1}"#;
        let b = r#"{"EventHandle":"h1","EventType":"X","N":2}"#;
        let c = r#"{"EventHandle":"h2","EventType":"X","N":3}"#;
        let none = r#"{"EventType":"X","N":4}"#;
        let batch = dedupe_handles(vec![raw(a), raw(c), raw(a), raw(b), raw(none), raw(none)]);
        assert_eq!(
            batch.dropped, 1,
            "only the exact repeat of a (same handle, same bytes)"
        );
        let got: Vec<(&str, Option<&str>)> = batch
            .events
            .iter()
            .map(|(r, h)| (r.raw().get(), h.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (a, None), // h1 also stands for b, handed over later
                (c, Some("h2")),
                (b, Some("h1")), // confirmed only after a and b were both handed over
                (none, None),    // no handle: nothing to dedupe on, both handed over
                (none, None),
            ]
        );
    }

    /// The rule stated plainly (quadratic), to check the sorted implementation against.
    fn dedupe_reference(texts: &[String]) -> (Vec<(String, Option<String>)>, usize) {
        let handle = |t: &str| {
            decode_event_json(t)
                .ok()
                .and_then(|r| r.handle().map(str::to_owned))
                .filter(|h| !h.trim().is_empty())
        };
        let mut kept: Vec<usize> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let repeat = handle(t).is_some()
                && kept
                    .iter()
                    .any(|&k| handle(&texts[k]) == handle(t) && texts[k] == *t);
            if !repeat {
                kept.push(i);
            }
        }
        let events = kept
            .iter()
            .map(|&i| {
                let h = handle(&texts[i]);
                let last = kept.iter().rev().find(|&&k| handle(&texts[k]) == h);
                let carries = h.is_some() && last == Some(&i);
                (texts[i].clone(), h.filter(|_| carries))
            })
            .collect();
        (events, texts.len() - kept.len())
    }

    proptest::proptest! {
        #[test]
        fn dedupe_matches_the_plain_rule(
            picks in proptest::collection::vec((0usize..5, 0u8..3), 0..40)
        ) {
            let handles = ["h1", "h2", "h3", " ", ""];
            let texts: Vec<String> = picks
                .iter()
                .map(|&(h, n)| match h {
                    4 => format!(r#"{{"EventType":"X","N":{n}}}"#),
                    _ => format!(r#"{{"EventHandle":"{}","EventType":"X","N":{n}}}"#, handles[h]),
                })
                .collect();
            let batch = dedupe_handles(texts.iter().map(|t| raw(t)).collect());
            let got: Vec<(String, Option<String>)> = batch
                .events
                .iter()
                .map(|(r, h)| (r.raw().get().to_owned(), h.clone()))
                .collect();
            let (want, dropped) = dedupe_reference(&texts);
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(batch.dropped, dropped);
        }
    }
}
