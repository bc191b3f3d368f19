//! What the engine needs from a queue or a receiver: the [`Source`] trait.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// How the engine treats an error from a [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Likely to go away by itself (a timeout, a reset, a 5xx): retried after a backoff and
    /// never shown to the consumer, only to the metrics hook and the log.
    Transient,
    /// The service is rate limiting: retried after at least the policy's rate-limited delay.
    RateLimited,
    /// Will not go away by retrying, yet says nothing about other requests (a parameter the
    /// service refuses, an answer over the size cap): yielded to the consumer as an error
    /// item, then retried after a backoff, so nothing loops in silence.
    Permanent,
    /// No request can succeed (wrong key, no permission): yielded once, and the stream ends.
    Fatal,
    /// The source is done for good, and that is no failure (a push receiver whose server
    /// stopped): the stream ends without an error item once what was received is handed
    /// over.
    Exhausted,
}

/// An error a [`Source`] returns, with what the engine should do about it.
pub trait SourceError: std::error::Error + Send + Sync + 'static {
    /// How the engine treats this error.
    fn class(&self) -> ErrorClass;
}

/// One message under a lease: the source hides it from other consumers until `lease_until`,
/// and redelivers it after that unless it was acknowledged with `token`.
#[derive(Debug)]
pub struct Leased<M, T> {
    /// The message.
    pub message: M,
    /// What acknowledges it (`None` if the source gave none: it cannot be acknowledged and
    /// comes back after the lease).
    pub token: Option<T>,
    /// When the lease ends, on the local monotonic clock. A source computes it from when the
    /// request that answered was *sent*, not when the answer arrived or the call began.
    pub lease_until: Instant,
    /// How many times the source has delivered the message, this time included, where it
    /// knows (MNS's `DequeueCount`).
    pub attempt: Option<u32>,
}

/// What one [`Source::receive`] returns: a batch of leased messages, or the error.
pub type Received<S> =
    Result<Vec<Leased<<S as Source>::Message, <S as Source>::Token>>, <S as Source>::Error>;

/// A lease a source extended: the token to use from now on, and the new end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease<T> {
    /// The token to acknowledge with from now on (MNS hands back a new receipt handle and
    /// kills the old one).
    pub token: T,
    /// When the extended lease ends, on the local monotonic clock.
    pub lease_until: Instant,
}

/// Why a lease operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError<E> {
    /// The source cannot do this (Tencent's queue has no way to extend or release a lease).
    #[error("the source does not support this lease operation")]
    Unsupported,
    /// The source tried and failed.
    #[error(transparent)]
    Source(E),
}

/// A queue or a receiver the engine drains. The engine knows no cloud and no HTTP: a source
/// turns its service's calls into these few operations.
///
/// Implementations are shared by the engine's tasks (`&self`), so they keep their own state
/// behind locks or atomics.
pub trait Source: Send + Sync + 'static {
    /// What is handed to the consumer (e.g. a received event with its raw JSON).
    type Message: Send + 'static;
    /// What acknowledges one message (a Tencent `EventHandle`, an MNS `ReceiptHandle`).
    type Token: Clone + Send + Sync + 'static;
    /// The source's error.
    type Error: SourceError;

    /// Most messages one `receive` asks for and most tokens one `acknowledge` takes (16 for
    /// both clouds' queues).
    fn max_batch(&self) -> usize {
        16
    }

    /// Waits for the next batch of messages (a long poll may come back empty). Retries that
    /// belong to one request (transport errors, throttling) happen inside; an error returned
    /// here has exhausted them.
    fn receive(&self) -> impl Future<Output = Received<Self>> + Send;

    /// Acknowledges up to [`max_batch`](Source::max_batch) tokens, whose leases all last at
    /// least until `deadline` (an answer after it is useless: the messages come back anyway).
    /// Returns one result per token, in order.
    fn acknowledge(
        &self,
        tokens: Vec<Self::Token>,
        deadline: Instant,
    ) -> impl Future<Output = Vec<Result<(), Arc<Self::Error>>>> + Send;

    /// Extends a lease to `visible_for` from now; may hand back a new token.
    fn extend(
        &self,
        token: &Self::Token,
        visible_for: Duration,
    ) -> impl Future<Output = Result<Lease<Self::Token>, LeaseError<Self::Error>>> + Send {
        let _ = (token, visible_for);
        async { Err(LeaseError::Unsupported) }
    }

    /// Gives a message back for redelivery now, before its lease ends.
    fn release(
        &self,
        token: Self::Token,
    ) -> impl Future<Output = Result<(), LeaseError<Self::Error>>> + Send {
        let _ = token;
        async { Err(LeaseError::Unsupported) }
    }
}
