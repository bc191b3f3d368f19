//! Skipping redeliveries within one process.
//!
//! The service delivers at least once: an event whose confirm was lost or late comes back,
//! with a new handle. Handlers should be idempotent anyway; this helper lets a process skip
//! the redeliveries it has already seen recently.

use std::collections::{HashSet, VecDeque};

/// A bounded set of recently seen keys, for skipping redeliveries within one process.
///
/// The service delivers at least once: an event whose confirm was lost comes back. Key it
/// with [`Event::idempotency_key`](crate::tencent::Event::idempotency_key), never with the handle (a redelivery has a new one).
///
/// ```
/// use vod_events::tencent::dedup::RecentlySeen;
/// let mut seen = RecentlySeen::new(2);
/// assert!(seen.first_time("a"));
/// assert!(!seen.first_time("a"));
/// assert!(seen.first_time("b"));
/// assert!(seen.first_time("c")); // evicts "a", the oldest
/// assert!(seen.first_time("a"));
/// ```
#[derive(Debug, Clone)]
pub struct RecentlySeen {
    capacity: usize,
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl RecentlySeen {
    /// Remembers at most `capacity` keys (at least 1); the oldest is forgotten first.
    pub fn new(capacity: usize) -> Self {
        RecentlySeen {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    /// True the first time a key is seen (and remembers it); false while it is remembered.
    pub fn first_time(&mut self, key: impl Into<String>) -> bool {
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

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}
