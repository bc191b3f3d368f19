//! An in-memory [`Source`] with leases, for tests of the engine and of your own handlers.
//!
//! It behaves like a queue service: a received message is hidden for the lease, comes back
//! if it is not acknowledged in time, and a token stops working once its lease is over or it
//! was extended or released. Time is tokio's, so tests run under paused time
//! (`#[tokio::test(start_paused = true)]`) and never sleep for real. Errors can be scripted.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::consumer::core::lock;
use crate::consumer::source::{ErrorClass, Lease, LeaseError, Leased, Source, SourceError};

/// A message of a [`MemorySource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryMessage {
    /// The message's id, in the order messages were pushed.
    pub id: u64,
    /// Its body.
    pub body: String,
}

/// A token of a [`MemorySource`]: the message and which of its leases it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryToken {
    /// The message's id.
    pub id: u64,
    /// The lease it was issued for; a newer lease (redelivery, extension) invalidates it.
    pub lease: u32,
}

/// An error of a [`MemorySource`], scripted by a test or met by a stale token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MemoryError {
    /// How the engine should treat it.
    pub class: ErrorClass,
    /// What happened.
    pub message: String,
}

impl MemoryError {
    /// An error of `class` saying `message`.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        MemoryError {
            class,
            message: message.into(),
        }
    }
}

impl SourceError for MemoryError {
    fn class(&self) -> ErrorClass {
        self.class
    }
}

/// How a [`MemorySource`] behaves.
#[derive(Debug, Clone)]
pub struct MemoryConfig {
    /// How long a received message stays hidden (default 30 s).
    pub lease: Duration,
    /// How long an empty receive waits for a message before answering empty (default 5 s).
    pub hold: Duration,
    /// Most messages per receive and tokens per acknowledge, as the source declares them
    /// (default 16).
    pub max_batch: usize,
    /// Messages one receive actually hands out, when it differs from `max_batch` (a source
    /// that sends more than it should; default: `max_batch`).
    pub batch_size: Option<usize>,
    /// Time that passes inside `receive` before the request that answers is sent, as
    /// pacing and retries inside a client would (default none). The lease starts after it.
    pub delay_before_send: Duration,
    /// How long an acknowledge call takes (default none).
    pub ack_latency: Duration,
    /// Whether `extend` and `release` are supported (default true).
    pub leases_adjustable: bool,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            lease: Duration::from_secs(30),
            hold: Duration::from_secs(5),
            max_batch: 16,
            batch_size: None,
            delay_before_send: Duration::ZERO,
            ack_latency: Duration::ZERO,
            leases_adjustable: true,
        }
    }
}

/// What happened to a [`MemorySource`] so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Receive calls answered (empty ones included), scripted errors not included.
    pub receives: u64,
    /// Messages handed out, redeliveries included.
    pub deliveries: u64,
    /// Acknowledge calls, and the number of tokens in each.
    pub ack_calls: Vec<usize>,
    /// Ids of the messages acknowledged, in order.
    pub acked: Vec<u64>,
    /// Tokens refused by acknowledge (stale, expired, unknown).
    pub stale_acks: u64,
    /// Messages given back with `release`.
    pub released: u64,
    /// Leases extended.
    pub extended: u64,
}

#[derive(Debug)]
struct Stored {
    body: String,
    visible_at: Instant,
    lease: u32,
    deliveries: u32,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    messages: BTreeMap<u64, Stored>,
    receive_errors: VecDeque<MemoryError>,
    ack_errors: VecDeque<MemoryError>,
    stats: MemoryStats,
}

/// An in-memory queue with leases; cheap to clone (clones share the queue), so a test keeps
/// one to push messages and inspect while the engine drains another.
#[derive(Debug, Clone)]
pub struct MemorySource {
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    config: MemoryConfig,
}

impl MemorySource {
    /// An empty queue.
    pub fn new(config: MemoryConfig) -> Self {
        MemorySource {
            state: Arc::default(),
            arrived: Arc::new(Notify::new()),
            config,
        }
    }

    /// Adds a message, visible at once; returns its id.
    pub fn push(&self, body: impl Into<String>) -> u64 {
        let mut state = lock(&self.state);
        let id = state.next_id;
        state.next_id += 1;
        state.messages.insert(
            id,
            Stored {
                body: body.into(),
                visible_at: Instant::now(),
                lease: 0,
                deliveries: 0,
            },
        );
        drop(state);
        self.arrived.notify_waiters();
        id
    }

    /// Makes the next receive calls fail with these errors, one call each.
    pub fn fail_receives(&self, errors: impl IntoIterator<Item = MemoryError>) {
        lock(&self.state).receive_errors.extend(errors);
    }

    /// Makes the next acknowledge calls fail whole with these errors, one call each.
    pub fn fail_acks(&self, errors: impl IntoIterator<Item = MemoryError>) {
        lock(&self.state).ack_errors.extend(errors);
    }

    /// Messages not acknowledged yet (hidden or visible).
    pub fn pending(&self) -> usize {
        lock(&self.state).messages.len()
    }

    /// What happened so far.
    pub fn stats(&self) -> MemoryStats {
        lock(&self.state).stats.clone()
    }

    /// Takes up to `max_batch` visible messages under a new lease.
    fn take_visible(&self, now: Instant) -> Vec<Leased<MemoryMessage, MemoryToken>> {
        let mut state = lock(&self.state);
        let lease_until = now + self.config.lease;
        let mut out = Vec::new();
        for (&id, stored) in state.messages.iter_mut() {
            if out.len()
                >= self
                    .config
                    .batch_size
                    .unwrap_or(self.config.max_batch)
                    .max(1)
            {
                break;
            }
            if stored.visible_at > now {
                continue;
            }
            stored.visible_at = lease_until;
            stored.lease += 1;
            stored.deliveries += 1;
            out.push(Leased {
                message: MemoryMessage {
                    id,
                    body: stored.body.clone(),
                },
                token: Some(MemoryToken {
                    id,
                    lease: stored.lease,
                }),
                lease_until,
                attempt: Some(stored.deliveries),
            });
        }
        state.stats.deliveries += out.len() as u64;
        out
    }

    /// When the next hidden message becomes visible.
    fn next_visible(&self) -> Option<Instant> {
        lock(&self.state)
            .messages
            .values()
            .map(|m| m.visible_at)
            .min()
    }

    /// Gives the message `token` holds the current lease on a new lease, visible again
    /// `visible_for` from now (the old token stops working), as extending and releasing do.
    fn relet(
        &self,
        token: &MemoryToken,
        visible_for: Duration,
    ) -> Result<Lease<MemoryToken>, LeaseError<MemoryError>> {
        if !self.config.leases_adjustable {
            return Err(LeaseError::Unsupported);
        }
        let now = Instant::now();
        let mut state = lock(&self.state);
        let stored = state
            .messages
            .get_mut(&token.id)
            .filter(|m| Self::is_current(m, token, now))
            .ok_or_else(|| {
                LeaseError::Source(MemoryError::new(
                    ErrorClass::Permanent,
                    "the token is stale or expired",
                ))
            })?;
        stored.lease += 1;
        stored.visible_at = now + visible_for;
        Ok(Lease {
            token: MemoryToken {
                id: token.id,
                lease: stored.lease,
            },
            lease_until: stored.visible_at,
        })
    }

    /// Whether `token` belongs to the message's current, unexpired lease.
    fn is_current(stored: &Stored, token: &MemoryToken, now: Instant) -> bool {
        stored.lease == token.lease && now < stored.visible_at
    }
}

impl Source for MemorySource {
    type Message = MemoryMessage;
    type Token = MemoryToken;
    type Error = MemoryError;

    fn max_batch(&self) -> usize {
        self.config.max_batch.max(1)
    }

    async fn receive(&self) -> Result<Vec<Leased<MemoryMessage, MemoryToken>>, MemoryError> {
        if !self.config.delay_before_send.is_zero() {
            tokio::time::sleep(self.config.delay_before_send).await;
        }
        if let Some(error) = lock(&self.state).receive_errors.pop_front() {
            return Err(error);
        }
        let give_up = Instant::now() + self.config.hold;
        loop {
            let arrived = self.arrived.notified();
            let now = Instant::now();
            let batch = self.take_visible(now);
            if !batch.is_empty() || now >= give_up {
                lock(&self.state).stats.receives += 1;
                return Ok(batch);
            }
            let wake = self.next_visible().map_or(give_up, |t| t.min(give_up));
            tokio::select! {
                _ = arrived => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    async fn acknowledge(
        &self,
        tokens: Vec<MemoryToken>,
        _deadline: Instant,
    ) -> Vec<Result<(), Arc<MemoryError>>> {
        if !self.config.ack_latency.is_zero() {
            tokio::time::sleep(self.config.ack_latency).await;
        }
        let mut state = lock(&self.state);
        state.stats.ack_calls.push(tokens.len());
        if let Some(error) = state.ack_errors.pop_front() {
            let error = Arc::new(error);
            return tokens.iter().map(|_| Err(error.clone())).collect();
        }
        let now = Instant::now();
        let mut results = Vec::with_capacity(tokens.len());
        for token in tokens {
            let current = state
                .messages
                .get(&token.id)
                .is_some_and(|m| Self::is_current(m, &token, now));
            if current {
                state.messages.remove(&token.id);
                state.stats.acked.push(token.id);
                results.push(Ok(()));
            } else {
                state.stats.stale_acks += 1;
                results.push(Err(Arc::new(MemoryError::new(
                    ErrorClass::Permanent,
                    format!("token {token:?} is stale or expired"),
                ))));
            }
        }
        results
    }

    async fn extend(
        &self,
        token: &MemoryToken,
        visible_for: Duration,
    ) -> Result<Lease<MemoryToken>, LeaseError<MemoryError>> {
        let lease = self.relet(token, visible_for)?;
        lock(&self.state).stats.extended += 1;
        Ok(lease)
    }

    async fn release(&self, token: MemoryToken) -> Result<(), LeaseError<MemoryError>> {
        match self.relet(&token, Duration::ZERO) {
            Ok(_) => {
                lock(&self.state).stats.released += 1;
                self.arrived.notify_waiters();
                Ok(())
            }
            // A stale token's message is no longer this consumer's to give back.
            Err(LeaseError::Source(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
