//! What became of the events `poll` printed, to count `--max-events` and to recognise
//! redeliveries without printing them twice.

use std::collections::hash_map::{Entry, HashMap};
use std::time::Duration;

use tokio::time::Instant;
use vod_events::consumer::{AckReceipt, AckResult, Delivery};

use crate::queues::{Content, PollQueue};

/// What became of the events printed: `--max-events` counts an event once it was printed
/// *and* confirmed, and a redelivery of a printed event is confirmed again without being
/// printed or counted again.
///
/// Only printed events whose confirmation has not been accepted can come back, so only those
/// are remembered, with their exact content: a redelivery is recognised by comparing bytes
/// (the handle is left out of the content, and a redelivery has a new one), so two different
/// events are never taken for one, and no digest of every event is needed.
pub struct Ledger<Q: PollQueue> {
    /// Printed events not known to be confirmed, by a quick hash of their content.
    pending: HashMap<u64, Pending<Q>>,
    /// The rare ones whose hash another pending event has already.
    collided: Vec<(u64, Pending<Q>)>,
    /// How many pending events wait for a receipt.
    pub awaiting: usize,
    /// Refused confirmations whose events did not come back in time.
    pub presumed: u64,
    /// Distinct events printed.
    pub distinct: u64,
    /// Repeats of printed events, acknowledged again without printing.
    pub repeats: u64,
}

/// A printed event whose confirmation has not been accepted yet: the event itself (it owns
/// its text, so nothing is copied) and how its confirmation stands.
pub struct Pending<Q: PollQueue> {
    event: Q::Message,
    state: Confirmation,
    /// When the event, if its confirmation is refused, must have come back by.
    comes_back_by: Instant,
}

enum Confirmation {
    /// Sent; the receipt says how it ended.
    Sent(AckReceipt),
    /// Refused (or too late): the event comes back, or, when the refusal came from a retry of
    /// a confirmation whose answer was lost, it was confirmed and never comes back. Waited
    /// for until then.
    Refused { give_up: Instant },
}

/// How long after its lease ends an event whose confirmation was refused is waited for: the
/// lease is over by then, so an event the service still holds has been received again.
const COME_BACK_SLACK: Duration = Duration::from_secs(9);

/// The longest a refused confirmation's event is waited for from now, whatever its lease (an
/// MNS queue's visibility can be 12 hours): after that it is presumed confirmed.
const COME_BACK_AT_MOST: Duration = Duration::from_secs(120);

/// How much of each end of an event [`quick_hash`] reads.
const HASHED_ENDS: usize = 192;

/// A quick hash of an event's content (given in two pieces, read one after the other), to
/// find the remembered event it may repeat: its length and its first and last
/// [`HASHED_ENDS`] bytes, where the ids sit. Equal hashes are then compared byte for byte,
/// so the hash only has to make that rare, not impossible. Written out because std's keyed
/// SipHash over a whole event costs as much as the rest of poll's own work per event, and no
/// hashing crate is a dependency here.
pub fn quick_hash(content: (&[u8], &[u8])) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let len = content.0.len() + content.1.len();
    let mut ends = [0u8; 2 * HASHED_ENDS];
    let mut n = 0;
    let mut take = |from: usize, to: usize| {
        for (piece, offset) in [(content.0, 0), (content.1, content.0.len())] {
            let lo = from.max(offset).min(offset + piece.len()) - offset;
            let hi = to.max(offset).min(offset + piece.len()) - offset;
            ends[n..n + hi - lo].copy_from_slice(&piece[lo..hi]);
            n += hi - lo;
        }
    };
    take(0, len.min(HASHED_ENDS));
    take(
        len.saturating_sub(HASHED_ENDS).max(len.min(HASHED_ENDS)),
        len,
    );
    let mut h = len as u64;
    let mut chunks = ends[..n].chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    h
}

/// Whether two contents, each given in two pieces, are the same bytes.
pub fn same_content(a: (&[u8], &[u8]), b: (&[u8], &[u8])) -> bool {
    if a.0.len() + a.1.len() != b.0.len() + b.1.len() {
        return false;
    }
    let (mut a, mut b) = ([a.0, a.1], [b.0, b.1]);
    let (mut i, mut j) = (0, 0);
    while i < 2 && j < 2 {
        let n = a[i].len().min(b[j].len());
        if a[i][..n] != b[j][..n] {
            return false;
        }
        a[i] = &a[i][n..];
        b[j] = &b[j][n..];
        if a[i].is_empty() {
            i += 1;
        }
        if b[j].is_empty() {
            j += 1;
        }
    }
    true
}

/// An event's content in two pieces, as bytes.
pub fn pieces<'a>(parts: &'a Content<'a>) -> (&'a [u8], &'a [u8]) {
    (parts.0.as_bytes(), parts.1.as_bytes())
}

impl<Q: PollQueue> Ledger<Q> {
    /// An empty ledger.
    pub fn new() -> Self {
        Ledger {
            pending: HashMap::new(),
            collided: Vec::new(),
            awaiting: 0,
            presumed: 0,
            distinct: 0,
            repeats: 0,
        }
    }

    /// The remembered printed event with exactly this content.
    pub fn find(&mut self, hash: u64, content: (&[u8], &[u8])) -> Option<&mut Pending<Q>> {
        let matches = |p: &Pending<Q>| same_content(pieces(&Q::content(&p.event)), content);
        if let Some(p) = self.pending.get_mut(&hash) {
            if matches(p) {
                return Some(p);
            }
        }
        self.collided
            .iter_mut()
            .find(|(h, p)| *h == hash && matches(p))
            .map(|(_, p)| p)
    }

    /// Takes in the receipts that came back, and forgets events confirmed, or refused long
    /// enough ago that they are not coming back.
    pub fn settle(&mut self) {
        let now = Instant::now();
        let (mut awaiting, mut presumed) = (0, 0);
        let mut keep = |p: &mut Pending<Q>| match &mut p.state {
            Confirmation::Sent(receipt) => match receipt.try_result() {
                None => {
                    awaiting += 1;
                    true
                }
                // Accepted, or nothing to send (another event of its answer carries the
                // handle): nothing more this process can do for it.
                Some(AckResult::Accepted | AckResult::NoToken) => false,
                Some(_) => {
                    p.state = Confirmation::Refused {
                        give_up: p.comes_back_by.max(now),
                    };
                    true
                }
            },
            Confirmation::Refused { give_up } if now >= *give_up => {
                presumed += 1;
                false
            }
            Confirmation::Refused { .. } => true,
        };
        self.pending.retain(|_, p| keep(p));
        self.collided.retain_mut(|(_, p)| keep(p));
        self.awaiting = awaiting;
        self.presumed += presumed;
    }

    /// Printed events not known to be confirmed.
    pub fn unconfirmed(&self) -> usize {
        self.pending.len() + self.collided.len()
    }

    /// Whether every printed event is known to be confirmed (or presumed so).
    pub fn is_done(&self) -> bool {
        self.pending.is_empty() && self.collided.is_empty()
    }

    /// Confirms `delivery` and remembers it until the confirmation is accepted; a
    /// confirmation of a redelivery supersedes the earlier one of the same event.
    pub fn confirm(&mut self, hash: u64, delivery: Delivery<Q>) {
        let (event, acker) = delivery.split();
        let now = Instant::now();
        let comes_back_by = acker.usable_until().min(now + COME_BACK_AT_MOST) + COME_BACK_SLACK;
        let state = match acker.ack_tracked() {
            Ok(receipt) => Confirmation::Sent(receipt),
            Err(e) => {
                tracing::warn!(error = %e, "event not {}; it will come back", Q::WORDS.acked);
                Confirmation::Refused {
                    give_up: comes_back_by,
                }
            }
        };
        let parts = Q::content(&event);
        if let Some(earlier) = self.find(hash, pieces(&parts)) {
            earlier.state = state;
            return;
        }
        drop(parts);
        let pending = Pending {
            event,
            state,
            comes_back_by,
        };
        match self.pending.entry(hash) {
            Entry::Occupied(_) => self.collided.push((hash, pending)),
            Entry::Vacant(slot) => {
                slot.insert(pending);
            }
        }
    }
}
