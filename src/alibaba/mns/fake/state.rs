//! The fake's queues: messages, visibility, handles, dequeue counts, and what was counted.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use md5::Digest as _;
use tokio::sync::Notify;

use super::faults::{Fault, FaultMix};
use super::FakeMnsConfig;
use crate::alibaba::mns::xml::ReceivedMessage;
use crate::fake::visibility::{ExpiredHandles, VisibilityQueue};

/// What the fake counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeMnsStats {
    /// Messages waiting or in flight, all queues.
    pub queued: usize,
    /// Messages ever sent into a queue.
    pub sent: u64,
    /// Deliveries handed out (a redelivery counts again).
    pub delivered: u64,
    /// Deliveries of a message delivered before (`DequeueCount` > 1).
    pub redelivered: u64,
    /// Messages deleted.
    pub deleted: u64,
    /// Successful visibility changes (releases included).
    pub visibility_changes: u64,
    /// Requests that passed the signature check.
    pub requests: u64,
    /// Requests that carried a `security-token` header.
    pub requests_with_token: u64,
    /// Requests refused for their signature, key, token or date.
    pub auth_failures: u64,
    /// Handles refused as stale or unknown (in any operation).
    pub stale_handles: u64,
    /// Faults injected.
    pub faults: u64,
}

#[derive(Debug)]
struct Stored {
    body: String,
    md5: String,
    enqueue_ms: u64,
    first_dequeue_ms: Option<u64>,
}

/// A queue on the fakes' shared leased-queue core, on the fake's wall clock in ms (so a
/// clock offset moves visibility too). A handle outlives its lease until the message is
/// received again, as MNS documents.
type Queue = VisibilityQueue<u64, Stored>;

fn new_queue() -> Queue {
    VisibilityQueue::new(ExpiredHandles::LiveUntilReleased)
}

pub(super) struct Inner {
    pub(super) config: FakeMnsConfig,
    queues: HashMap<String, Queue>,
    next_seq: u64,
    pub(super) stats: FakeMnsStats,
    pub(super) scripted: VecDeque<Fault>,
    pub(super) mix: Option<(FaultMix, fastrand::Rng)>,
    rng: fastrand::Rng,
}

/// The fake's state: a cheap handle, shared with the server.
#[derive(Clone)]
pub struct FakeMnsState {
    inner: Arc<Mutex<Inner>>,
    pub(super) notify: Arc<Notify>,
}

impl std::fmt::Debug for FakeMnsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMnsState")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Why an operation on a handle failed: the MNS error code.
pub(super) type Refusal = &'static str;

impl FakeMnsState {
    /// Fresh state with the configured queues, all empty.
    pub fn new(config: FakeMnsConfig) -> Self {
        let queues = config
            .queues
            .iter()
            .map(|q| (q.clone(), new_queue()))
            .collect();
        let seed = config.seed;
        FakeMnsState {
            inner: Arc::new(Mutex::new(Inner {
                config,
                queues,
                next_seq: 1,
                stats: FakeMnsStats::default(),
                scripted: VecDeque::new(),
                mix: None,
                rng: fastrand::Rng::with_seed(seed),
            })),
            notify: Arc::new(Notify::new()),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fake's clock: real time plus the configured offset.
    pub fn now(&self) -> SystemTime {
        let offset = self.lock().config.clock_offset_secs;
        shift(SystemTime::now(), offset)
    }

    fn now_ms(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// Moves the fake's clock: `secs` from real time (may be negative).
    pub fn set_clock_offset_secs(&self, secs: i64) {
        self.lock().config.clock_offset_secs = secs;
    }

    /// Requires this STS token on every request from now on (`None`: ignore the header).
    pub fn set_required_token(&self, token: Option<String>) {
        self.lock().config.required_token = token;
    }

    /// Changes how long a received message stays hidden.
    pub fn set_visibility_timeout(&self, timeout: Duration) {
        self.lock().config.visibility_timeout = timeout;
    }

    /// Creates a queue if it does not exist.
    pub fn create_queue(&self, name: &str) {
        self.lock()
            .queues
            .entry(name.to_owned())
            .or_insert_with(new_queue);
    }

    /// Sends a message with `body` (stored as is, as VOD and IMS write JSON) into `queue`,
    /// creating the queue if needed. Returns its MessageId.
    pub fn send(&self, queue: &str, body: impl Into<String>) -> String {
        let body = body.into();
        let now = self.now_ms();
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.stats.sent += 1;
        let q = inner
            .queues
            .entry(queue.to_owned())
            .or_insert_with(new_queue);
        let md5 = hex::encode_upper(md5::Md5::digest(body.as_bytes()));
        q.push(
            seq,
            Stored {
                body,
                md5,
                enqueue_ms: now,
                first_dequeue_ms: None,
            },
        );
        drop(inner);
        self.notify.notify_waiters();
        message_id(seq)
    }

    /// Sends `json` base64-encoded, as the Python SDK does by default.
    pub fn send_base64(&self, queue: &str, json: &str) -> String {
        self.send(
            queue,
            base64::engine::general_purpose::STANDARD.encode(json.as_bytes()),
        )
    }

    /// Whether `queue` exists.
    pub(super) fn has_queue(&self, queue: &str) -> bool {
        self.lock().queues.contains_key(queue)
    }

    /// Receives up to `max` visible messages, each hidden for the visibility timeout under a
    /// new handle. `None` if the queue does not exist.
    pub(super) fn receive(&self, queue: &str, max: usize) -> Option<Vec<ReceivedMessage>> {
        let now = self.now_ms();
        let mut inner = self.lock();
        let visibility = inner.config.visibility_timeout.as_millis() as u64;
        let inner = &mut *inner;
        let q = inner.queues.get_mut(queue)?;
        q.expire(now);
        let mut out = Vec::new();
        while out.len() < max {
            let Some(seq) = q.pop_visible() else {
                break;
            };
            let handle = new_handle(&mut inner.rng, seq);
            let until = now + visibility;
            let Some(item) = q.lease(seq, handle.clone().into(), until) else {
                continue;
            };
            let m = &mut item.body;
            m.first_dequeue_ms.get_or_insert(now);
            inner.stats.delivered += 1;
            if item.deliveries > 1 {
                inner.stats.redelivered += 1;
            }
            out.push(ReceivedMessage {
                message_id: message_id(seq),
                receipt_handle: handle,
                message_body: m.body.clone(),
                message_body_md5: Some(m.md5.clone()),
                enqueue_time: Some(m.enqueue_ms),
                next_visible_time: until,
                first_dequeue_time: m.first_dequeue_ms,
                dequeue_count: Some(item.deliveries),
                priority: Some(8),
            });
        }
        Some(out)
    }

    /// When the next hidden message of `queue` becomes visible, in ms on the fake's clock.
    pub(super) fn next_surfacing_ms(&self, queue: &str) -> Option<u64> {
        let inner = self.lock();
        inner.queues.get(queue)?.next_end()
    }

    pub(super) fn now_ms_pub(&self) -> u64 {
        self.now_ms()
    }

    /// Deletes the message of a current handle.
    pub(super) fn delete(&self, queue: &str, handle: &str) -> Result<(), Refusal> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let q = inner.queues.get_mut(queue).ok_or("QueueNotExist")?;
        if q.remove(handle).is_none() {
            inner.stats.stale_handles += 1;
            return Err(refusal_for(handle));
        }
        inner.stats.deleted += 1;
        Ok(())
    }

    /// Hides the message of a current handle for `secs` from now under a new handle
    /// (0: visible at once). Returns the new handle and next visible time.
    pub(super) fn change_visibility(
        &self,
        queue: &str,
        handle: &str,
        secs: u64,
    ) -> Result<(String, u64), Refusal> {
        let now = self.now_ms();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let q = inner.queues.get_mut(queue).ok_or("QueueNotExist")?;
        let new = new_handle(&mut inner.rng, inner.stats.visibility_changes);
        let until = now + secs * 1000;
        if !q.relet(handle, new.clone().into(), until) {
            inner.stats.stale_handles += 1;
            return Err(refusal_for(handle));
        }
        inner.stats.visibility_changes += 1;
        drop(guard);
        if secs == 0 {
            self.notify.notify_waiters();
        }
        Ok((new, until))
    }

    /// Injects `fault` into the next request that passes the checks.
    pub fn fail_next(&self, fault: Fault) {
        self.lock().scripted.push_back(fault);
    }

    /// Injects faults at random from now on (`None` stops).
    pub fn set_fault_mix(&self, mix: Option<FaultMix>) {
        self.lock().mix = mix.map(|m| {
            let rng = fastrand::Rng::with_seed(m.seed);
            (m, rng)
        });
    }

    /// The fault for the next request, if any.
    pub(super) fn take_fault(&self) -> Option<Fault> {
        let mut inner = self.lock();
        let fault = inner.scripted.pop_front().or_else(|| {
            let (mix, rng) = inner.mix.as_mut()?;
            if mix.faults.is_empty() || rng.f64() >= mix.probability {
                return None;
            }
            Some(mix.faults[rng.usize(..mix.faults.len())].clone())
        });
        if fault.is_some() {
            inner.stats.faults += 1;
        }
        fault
    }

    /// What was counted, with the current number of messages.
    pub fn stats(&self) -> FakeMnsStats {
        let inner = self.lock();
        let mut stats = inner.stats.clone();
        stats.queued = inner.queues.values().map(|q| q.len()).sum();
        stats
    }

    pub(super) fn count(&self, f: impl FnOnce(&mut FakeMnsStats)) {
        f(&mut self.lock().stats);
    }
}

/// Handles look like MNS's (`1-` and base64) and hold `+ / =`, so a client that does not
/// percent-encode them in a query string is caught.
fn new_handle(rng: &mut fastrand::Rng, seq: u64) -> String {
    let mut bytes = [0u8; 15];
    bytes[..8].copy_from_slice(&seq.to_be_bytes());
    for b in &mut bytes[8..] {
        *b = rng.u8(..);
    }
    format!(
        "1-{}+/A=",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn refusal_for(handle: &str) -> Refusal {
    if handle.starts_with("1-") {
        "MessageNotExist"
    } else {
        "ReceiptHandleError"
    }
}

fn message_id(seq: u64) -> String {
    format!("5F290C926D472878-1-{seq:012X}")
}

pub(super) fn shift(t: SystemTime, secs: i64) -> SystemTime {
    if secs >= 0 {
        t + Duration::from_secs(secs as u64)
    } else {
        t - Duration::from_secs(secs.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(visibility: Duration) -> FakeMnsState {
        FakeMnsState::new(FakeMnsConfig {
            visibility_timeout: visibility,
            ..FakeMnsConfig::default()
        })
    }

    #[test]
    fn a_received_message_is_hidden_and_its_handle_deletes_it_once() {
        let s = state(Duration::from_secs(60));
        s.send("q", "{}");
        s.send("q", "{}");
        let got = s.receive("q", 16).unwrap();
        assert_eq!(got.len(), 2);
        assert!(s.receive("q", 16).unwrap().is_empty(), "hidden");
        assert!(got[0].receipt_handle.contains('+') && got[0].receipt_handle.contains('/'));
        assert_eq!(s.delete("q", &got[0].receipt_handle), Ok(()));
        assert_eq!(
            s.delete("q", &got[0].receipt_handle),
            Err("MessageNotExist")
        );
        assert_eq!(s.delete("q", "garbage"), Err("ReceiptHandleError"));
        assert_eq!(s.stats().queued, 1);
    }

    #[test]
    fn expiry_redelivers_with_a_new_handle_and_kills_the_old() {
        let s = state(Duration::ZERO);
        s.send("q", "{}");
        let first = s.receive("q", 1).unwrap().remove(0);
        let second = s.receive("q", 1).unwrap().remove(0);
        assert_ne!(first.receipt_handle, second.receipt_handle);
        assert_eq!(second.dequeue_count, Some(2));
        assert!(s.delete("q", &first.receipt_handle).is_err());
        assert!(s.delete("q", &second.receipt_handle).is_ok());
        assert_eq!(s.stats().redelivered, 1);
    }

    #[test]
    fn visibility_change_swaps_the_handle_and_zero_releases() {
        let s = state(Duration::from_secs(60));
        s.send("q", "{}");
        let m = s.receive("q", 1).unwrap().remove(0);
        let (h2, _) = s.change_visibility("q", &m.receipt_handle, 120).unwrap();
        assert!(s.change_visibility("q", &m.receipt_handle, 1).is_err());
        let (h3, _) = s.change_visibility("q", &h2, 0).unwrap();
        let again = s.receive("q", 1).unwrap().remove(0);
        assert_eq!(again.dequeue_count, Some(2));
        assert!(
            s.delete("q", &h3).is_err(),
            "re-received: only the newest works"
        );
        assert!(s.delete("q", &again.receipt_handle).is_ok());
    }
}
