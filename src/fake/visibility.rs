//! The leased queue both fakes are built on: visible items in order, leased items hidden
//! until their lease ends, one live handle per item, and lazy expiry.
//!
//! Leases are ordered in a heap by their end, and handles map to items directly, so no
//! operation scans the queue. An expired lease is noticed when a request touches the queue
//! ([`VisibilityQueue::expire`]); its heap entry is recognised as stale by its lease number
//! once the item was leased again, released or removed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

/// An item and how many times it was leased.
#[derive(Debug)]
pub(crate) struct Item<B> {
    /// What the queue holds.
    pub(crate) body: B,
    /// Leases so far (MNS's `DequeueCount`).
    pub(crate) deliveries: u32,
}

#[derive(Debug)]
struct Slot<T, B> {
    item: Item<B>,
    /// The current lease: its number, handle and end.
    lease: Option<(u64, Box<str>, T)>,
    /// Whether the item is in the visible list.
    visible: bool,
}

/// What happens to a handle when its lease ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpiredHandles {
    /// It dies with the lease (Tencent's EventHandle).
    Die,
    /// It works until the item is leased again (MNS's ReceiptHandle).
    LiveUntilReleased,
}

/// A queue of items `B` under leases that end at times `T` (a monotonic instant, or a
/// wall-clock millisecond for a fake whose clock can be moved).
#[derive(Debug)]
pub(crate) struct VisibilityQueue<T, B> {
    slots: HashMap<u64, Slot<T, B>>,
    visible: VecDeque<u64>,
    leases: BinaryHeap<Reverse<(T, u64, u64)>>,
    handles: HashMap<Box<str>, u64>,
    next_lease: u64,
    expired_handles: ExpiredHandles,
}

impl<T: Ord + Copy, B> VisibilityQueue<T, B> {
    /// An empty queue.
    pub(crate) fn new(expired_handles: ExpiredHandles) -> Self {
        VisibilityQueue {
            slots: HashMap::new(),
            visible: VecDeque::new(),
            leases: BinaryHeap::new(),
            handles: HashMap::new(),
            next_lease: 1,
            expired_handles,
        }
    }

    /// Adds a visible item under `id` (ids are the caller's, unique).
    pub(crate) fn push(&mut self, id: u64, body: B) {
        self.slots.insert(
            id,
            Slot {
                item: Item {
                    body,
                    deliveries: 0,
                },
                lease: None,
                visible: true,
            },
        );
        self.visible.push_back(id);
    }

    /// Makes the items whose lease ended by `now` visible again; true if any did.
    pub(crate) fn expire(&mut self, now: T) -> bool {
        let mut any = false;
        while let Some(Reverse((end, lease, id))) = self.leases.peek().copied() {
            if end > now {
                break;
            }
            self.leases.pop();
            let Some(slot) = self.slots.get_mut(&id) else {
                continue;
            };
            if slot.visible || slot.lease.as_ref().is_none_or(|(n, _, _)| *n != lease) {
                continue;
            }
            if self.expired_handles == ExpiredHandles::Die {
                if let Some((_, handle, _)) = slot.lease.take() {
                    self.handles.remove(&handle);
                }
            }
            slot.visible = true;
            self.visible.push_back(id);
            any = true;
        }
        any
    }

    /// Takes the oldest visible item's id, for [`lease`](Self::lease).
    pub(crate) fn pop_visible(&mut self) -> Option<u64> {
        while let Some(id) = self.visible.pop_front() {
            if let Some(slot) = self.slots.get_mut(&id) {
                slot.visible = false;
                return Some(id);
            }
        }
        None
    }

    /// Leases item `id` (just taken with [`pop_visible`](Self::pop_visible)) under `handle`
    /// until `until`; its earlier handle dies. `None` if there is no such item.
    pub(crate) fn lease(&mut self, id: u64, handle: Box<str>, until: T) -> Option<&mut Item<B>> {
        let lease = self.next_lease;
        self.next_lease += 1;
        let slot = self.slots.get_mut(&id)?;
        if let Some((_, old, _)) = slot.lease.replace((lease, handle.clone(), until)) {
            self.handles.remove(&old);
        }
        slot.item.deliveries = slot.item.deliveries.saturating_add(1);
        self.handles.insert(handle, id);
        self.leases.push(Reverse((until, lease, id)));
        Some(&mut slot.item)
    }

    /// Whether `handle` is live.
    pub(crate) fn has_handle(&self, handle: &str) -> bool {
        self.handles.contains_key(handle)
    }

    /// Removes the item of a live handle (an acknowledgement).
    pub(crate) fn remove(&mut self, handle: &str) -> Option<Item<B>> {
        let id = self.handles.remove(handle)?;
        let slot = self.slots.remove(&id)?;
        if slot.visible {
            self.visible.retain(|v| *v != id);
        }
        Some(slot.item)
    }

    /// Moves the lease of a live handle to a new handle ending at `until` (a visibility
    /// change); the old handle dies. False if the handle is not live.
    pub(crate) fn relet(&mut self, handle: &str, new_handle: Box<str>, until: T) -> bool {
        let Some(id) = self.handles.get(handle).copied() else {
            return false;
        };
        if self.slots.get(&id).is_some_and(|s| s.visible) {
            self.visible.retain(|v| *v != id);
            if let Some(slot) = self.slots.get_mut(&id) {
                slot.visible = false;
            }
        }
        let lease = self.next_lease;
        self.next_lease += 1;
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.lease = Some((lease, new_handle.clone(), until));
        }
        self.handles.remove(handle);
        self.handles.insert(new_handle, id);
        self.leases.push(Reverse((until, lease, id)));
        true
    }

    /// When the earliest lease ends (maybe a stale one: a wake-up too early is harmless).
    pub(crate) fn next_end(&self) -> Option<T> {
        self.leases.peek().map(|Reverse((end, _, _))| *end)
    }

    /// Items held, visible or leased.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Items visible.
    pub(crate) fn visible_len(&self) -> usize {
        self.visible.len()
    }

    /// Items leased.
    pub(crate) fn in_flight(&self) -> usize {
        self.slots.len().saturating_sub(self.visible.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leased(q: &mut VisibilityQueue<u64, &'static str>, h: &str, until: u64) -> Option<u32> {
        let id = q.pop_visible()?;
        q.lease(id, h.into(), until).map(|i| i.deliveries)
    }

    #[test]
    fn a_lease_hides_an_item_and_its_handle_removes_it() {
        let mut q = VisibilityQueue::new(ExpiredHandles::Die);
        q.push(1, "a");
        q.push(2, "b");
        assert_eq!(leased(&mut q, "h1", 10), Some(1));
        assert_eq!((q.visible_len(), q.in_flight()), (1, 1));
        assert_eq!(q.remove("h1").map(|i| i.body), Some("a"));
        assert!(q.remove("h1").is_none());
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn an_expired_lease_comes_back_and_its_handle_dies_or_lives_as_configured() {
        for mode in [ExpiredHandles::Die, ExpiredHandles::LiveUntilReleased] {
            let mut q = VisibilityQueue::new(mode);
            q.push(1, "a");
            leased(&mut q, "h1", 10);
            assert!(!q.expire(9));
            assert!(q.expire(10));
            assert_eq!(
                q.has_handle("h1"),
                mode == ExpiredHandles::LiveUntilReleased
            );
            assert_eq!(leased(&mut q, "h2", 20), Some(2), "{mode:?}");
            assert!(!q.has_handle("h1"), "only the newest handle works");
            assert!(q.remove("h2").is_some());
        }
    }

    #[test]
    fn relet_swaps_the_handle_and_moves_the_end() {
        let mut q = VisibilityQueue::new(ExpiredHandles::LiveUntilReleased);
        q.push(1, "a");
        leased(&mut q, "h1", 10);
        assert!(q.relet("h1", "h2".into(), 100));
        assert!(!q.has_handle("h1"));
        assert!(!q.expire(50), "the old lease's end is stale");
        assert!(q.expire(100));
        // Released (relet to now) items come back at the next expiry.
        assert!(q.relet("h2", "h3".into(), 100));
        assert!(q.expire(100));
        assert_eq!(q.visible_len(), 1);
        assert!(
            q.remove("h3").is_some(),
            "a live handle removes a visible item"
        );
        assert_eq!(q.len(), 0);
    }
}
