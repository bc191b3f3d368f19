//! Skipping redeliveries within one process.
//!
//! Every source delivers at least once: a message whose acknowledgement was lost or late
//! comes back, with a new token. Handlers should be idempotent anyway; these helpers let a
//! process skip the redeliveries it has already seen recently.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

use sha2::{Digest, Sha256};

/// A bounded set of recently seen keys, for skipping redeliveries within one process.
///
/// Key it with the event's idempotency key ([`VodEvent::idempotency_key`](crate::VodEvent::idempotency_key))
/// or its exact content ([`ContentKey`]), never with a handle (a redelivery has a new one).
///
/// ```
/// use vod_events::consumer::RecentlySeen;
/// let mut seen: RecentlySeen = RecentlySeen::new(2);
/// assert!(seen.first_time("a"));
/// assert!(!seen.first_time("a"));
/// assert!(seen.first_time("b"));
/// assert!(seen.first_time("c")); // evicts "a", the oldest
/// assert!(seen.first_time("a"));
/// ```
#[derive(Debug, Clone)]
pub struct RecentlySeen<K = String> {
    capacity: usize,
    order: VecDeque<K>,
    set: HashSet<K>,
}

impl<K: Hash + Eq + Clone> RecentlySeen<K> {
    /// Remembers at most `capacity` keys (at least 1); the oldest is forgotten first.
    pub fn new(capacity: usize) -> Self {
        RecentlySeen {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    /// True the first time a key is seen (and remembers it); false while it is remembered.
    pub fn first_time(&mut self, key: impl Into<K>) -> bool {
        let key = key.into();
        if self.set.contains(&key) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(key.clone());
        self.set.insert(key);
        true
    }

    /// Whether `key` is remembered (without remembering it).
    pub fn contains(&self, key: &K) -> bool {
        self.set.contains(key)
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// The identity of an exact event content: 128 bits of its SHA-256. Two deliveries of one
/// event carry the same content (only the handle differs, and it is not part of it); two
/// different events collide with probability 2⁻¹²⁸ per pair, never in practice. A plain
/// 64-bit hash would not do: a collision would silently skip an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentKey([u8; 16]);

impl ContentKey {
    /// The key of content made of these parts, in order (e.g. the raw text before and
    /// after a handle that is left out).
    pub fn of_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        let digest = hasher.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        ContentKey(key)
    }

    /// The key of `content`.
    pub fn of(content: &[u8]) -> Self {
        Self::of_parts([content])
    }

    /// The key as 32 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_keys_depend_on_the_bytes_not_how_they_are_split() {
        assert_eq!(
            ContentKey::of(b"{\"a\":1}"),
            ContentKey::of_parts([&b"{\"a\""[..], &b":1}"[..]])
        );
        assert_ne!(ContentKey::of(b"{\"a\":1}"), ContentKey::of(b"{\"a\":2}"));
    }

    #[test]
    fn recently_seen_works_with_any_key() {
        let mut seen: RecentlySeen<ContentKey> = RecentlySeen::new(1);
        assert!(seen.first_time(ContentKey::of(b"x")));
        assert!(!seen.first_time(ContentKey::of(b"x")));
        assert!(seen.first_time(ContentKey::of(b"y")));
        assert_eq!(seen.len(), 1);
    }
}
