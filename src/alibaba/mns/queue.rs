//! An MNS queue as a [`Source`] of the consumer engine: BatchReceiveMessage receives,
//! BatchDeleteMessage acknowledges, ChangeMessageVisibility extends (and, at 0, releases).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::alibaba::events::ReceivedEvent;
use crate::alibaba::mns::body::{decode_body, BodyEncoding};
use crate::alibaba::mns::client::{MnsClient, MAX_BATCH};
use crate::alibaba::mns::error::Error;
use crate::consumer::{ConsumerOptions, DeliveryStream, Lease, LeaseError, Leased, Source};

/// Taken off every lease: the server's clock is known only to the second (the `Date`
/// header's grain), so a lease computed from it may be up to that much too long.
pub const DEFAULT_LEASE_MARGIN: Duration = Duration::from_secs(1);

/// One MNS message: the event in its body, with the message's own facts.
#[derive(Debug, Clone)]
pub struct MnsMessage {
    /// The event of the body.
    pub event: ReceivedEvent,
    /// The message id, unique within the queue (the same on every redelivery).
    pub message_id: String,
    /// How many times MNS has delivered it, this time included.
    pub dequeue_count: Option<u32>,
    /// When it was sent to the queue, in ms since the epoch.
    pub enqueue_time_ms: Option<u64>,
    /// How the body was found: raw JSON, base64 of JSON, or neither.
    pub body_encoding: BodyEncoding,
}

/// What acknowledges one delivery: its message and receipt handle. The handle changes on
/// every redelivery and every visibility change.
#[derive(Clone, PartialEq, Eq)]
pub struct MnsToken {
    message_id: Arc<str>,
    handle: Arc<str>,
}

impl MnsToken {
    /// The message id.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The receipt handle.
    pub fn handle(&self) -> &str {
        &self.handle
    }
}

impl fmt::Debug for MnsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A handle is a short-lived capability to delete the message: left out of logs.
        f.debug_struct("MnsToken")
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

/// An MNS queue, drained by the consumer engine. Make one with [`MnsQueue::new`], then a
/// stream with [`MnsQueue::deliveries`].
///
/// It remembers the newest handle of each message it has in hand, so a handle made stale by
/// a redelivery to this consumer (the lease ran out, the message came back) is never sent
/// as if it were current: acknowledging or extending it fails with
/// [`Error::StaleHandle`], and the redelivered copy is settled by its own delivery.
#[derive(Debug, Clone)]
pub struct MnsQueue {
    client: MnsClient,
    lease_margin: Duration,
    current: Arc<Mutex<Current>>,
}

/// The newest handle of each message in hand, with its lease end (for pruning).
#[derive(Debug, Default)]
struct Current {
    handles: HashMap<Arc<str>, (Arc<str>, Instant)>,
    prune_at: usize,
}

/// How long after its lease a message's newest handle is still remembered: an
/// acknowledgement that late is refused by MNS anyway.
const REMEMBER_AFTER_LEASE: Duration = Duration::from_secs(60);

impl Current {
    fn is_current(&self, token: &MnsToken) -> bool {
        self.handles
            .get(&token.message_id)
            .is_none_or(|(handle, _)| *handle == token.handle)
    }

    fn insert(&mut self, token: &MnsToken, lease_until: Instant) {
        self.handles.insert(
            token.message_id.clone(),
            (token.handle.clone(), lease_until),
        );
        if self.handles.len() > self.prune_at {
            let now = Instant::now();
            self.handles
                .retain(|_, (_, until)| *until + REMEMBER_AFTER_LEASE > now);
            self.prune_at = self.handles.len() * 2 + 64;
        }
    }

    fn remove(&mut self, token: &MnsToken) {
        if self.is_current(token) {
            self.handles.remove(&token.message_id);
        }
    }
}

impl MnsQueue {
    /// The queue the client talks to.
    pub fn new(client: MnsClient) -> Self {
        MnsQueue {
            client,
            lease_margin: DEFAULT_LEASE_MARGIN,
            current: Arc::new(Mutex::new(Current::default())),
        }
    }

    /// Taken off every lease computed from `NextVisibleTime` (default
    /// [`DEFAULT_LEASE_MARGIN`]).
    pub fn lease_margin(mut self, margin: Duration) -> Self {
        self.lease_margin = margin;
        self
    }

    /// The client.
    pub fn client(&self) -> &MnsClient {
        &self.client
    }

    /// A stream of deliveries on the consumer engine.
    pub fn deliveries(self, options: ConsumerOptions) -> DeliveryStream<MnsQueue> {
        DeliveryStream::new(self, options)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_current(&self, operation: &'static str, token: &MnsToken) -> Result<(), Error> {
        if self.lock().is_current(token) {
            Ok(())
        } else {
            Err(Error::StaleHandle {
                operation,
                message_id: token.message_id.to_string(),
            })
        }
    }

    fn lease_end(&self, sent: &crate::alibaba::mns::client::Sent, next_visible_ms: u64) -> Instant {
        sent.at
            + sent
                .until(next_visible_ms)
                .saturating_sub(self.lease_margin)
    }
}

impl Source for MnsQueue {
    type Message = MnsMessage;
    type Token = MnsToken;
    type Error = Error;

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    async fn receive(&self) -> Result<Vec<Leased<MnsMessage, MnsToken>>, Error> {
        let received = self.client.batch_receive(MAX_BATCH).await?;
        tracing::debug!(messages = received.messages.len(), request_id = %received.request_id, "received");
        let mut out = Vec::with_capacity(received.messages.len());
        let mut current = self.lock();
        for m in received.messages {
            let lease_until = self.lease_end(&received.sent, m.next_visible_time);
            let token = MnsToken {
                message_id: Arc::from(m.message_id.as_str()),
                handle: Arc::from(m.receipt_handle.as_str()),
            };
            current.insert(&token, lease_until);
            let (event, body_encoding) = decode_body(m.message_body);
            out.push(Leased {
                message: MnsMessage {
                    event,
                    message_id: m.message_id,
                    dequeue_count: m.dequeue_count,
                    enqueue_time_ms: m.enqueue_time,
                    body_encoding,
                },
                token: Some(token),
                lease_until,
                attempt: m.dequeue_count,
            });
        }
        Ok(out)
    }

    async fn acknowledge(
        &self,
        tokens: Vec<MnsToken>,
        deadline: Instant,
    ) -> Vec<Result<(), Arc<Error>>> {
        let mut results: Vec<Option<Result<(), Arc<Error>>>> = Vec::with_capacity(tokens.len());
        let mut send: Vec<usize> = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            match self.check_current("BatchDeleteMessage", token) {
                Ok(()) => {
                    results.push(None);
                    send.push(i);
                }
                Err(e) => results.push(Some(Err(Arc::new(e)))),
            }
        }
        for chunk in send.chunks(MAX_BATCH) {
            let handles: Vec<&str> = chunk.iter().map(|&i| &*tokens[i].handle).collect();
            match self.client.batch_delete(&handles, Some(deadline)).await {
                Ok(per_handle) => {
                    let mut current = self.lock();
                    for (&i, result) in chunk.iter().zip(per_handle) {
                        if result.is_ok() {
                            current.remove(&tokens[i]);
                        }
                        results[i] = Some(result.map_err(Arc::new));
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for &i in chunk {
                        results[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }

    async fn extend(
        &self,
        token: &MnsToken,
        visible_for: Duration,
    ) -> Result<Lease<MnsToken>, LeaseError<Error>> {
        self.check_current("ChangeMessageVisibility", token)
            .map_err(LeaseError::Source)?;
        let changed = self
            .client
            .change_visibility(&token.handle, visible_for)
            .await
            .map_err(LeaseError::Source)?;
        let lease_until = self.lease_end(&changed.sent, changed.visibility.next_visible_time);
        let new = MnsToken {
            message_id: token.message_id.clone(),
            handle: Arc::from(changed.visibility.receipt_handle.as_str()),
        };
        let mut current = self.lock();
        if current.is_current(token) {
            current.insert(&new, lease_until);
        }
        Ok(Lease {
            token: new,
            lease_until,
        })
    }

    async fn release(&self, token: MnsToken) -> Result<(), LeaseError<Error>> {
        self.check_current("ChangeMessageVisibility", &token)
            .map_err(LeaseError::Source)?;
        self.client
            .release(&token.handle)
            .await
            .map_err(LeaseError::Source)?;
        self.lock().remove(&token);
        Ok(())
    }
}

impl crate::consumer::Delivery<MnsQueue> {
    /// The event of the message's body.
    pub fn event(&self) -> &ReceivedEvent {
        &self.message().event
    }

    /// The body as JSON: as stored, or decoded from base64 (what `poll --mns` prints).
    pub fn raw(&self) -> &serde_json::value::RawValue {
        self.message().event.raw()
    }

    /// The message id, the same on every redelivery (a dedupe key).
    pub fn message_id(&self) -> &str {
        &self.message().message_id
    }
}
