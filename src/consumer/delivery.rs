//! A message handed to the consumer, and how it is settled: acknowledged, released, or
//! dropped for redelivery.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::consumer::core::{lock, AckLink, AckMsg, AckResult};
use crate::consumer::metrics::add;
use crate::consumer::source::{LeaseError, Source};

/// Why an acknowledgement was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The lease (less the safety margin) is over: the source would refuse the token and
    /// redeliver the message anyway.
    #[error("the lease ended {late:?} ago; the message will be redelivered")]
    Expired {
        /// How long ago the usable part of the lease ended.
        late: Duration,
    },
    /// The stream was shut down: nothing acknowledges any more. The message will be
    /// redelivered.
    #[error("the stream is shut down; the message will be redelivered")]
    Closed,
}

/// What [`Acker::ack`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// The token was queued for the next acknowledge call.
    Queued,
    /// This delivery was already settled (acknowledged or released); nothing more was done.
    AlreadyAcked,
}

/// Reports how one acknowledgement ended: [`AckReceipt::result`] waits for it,
/// [`AckReceipt::try_result`] asks without waiting.
#[derive(Debug)]
pub struct AckReceipt {
    rx: Option<oneshot::Receiver<AckResult>>,
    known: Option<AckResult>,
}

impl AckReceipt {
    fn known(result: AckResult) -> Self {
        AckReceipt {
            rx: None,
            known: Some(result),
        }
    }

    /// The outcome once the source answered (or the lease ran out first). A stream dropped
    /// before sending counts as refused.
    pub async fn result(mut self) -> AckResult {
        if let Some(result) = self.known {
            return result;
        }
        match self.rx.take() {
            Some(rx) => rx.await.unwrap_or(AckResult::Refused),
            None => AckResult::Refused,
        }
    }

    /// The outcome if it is known yet.
    pub fn try_result(&mut self) -> Option<AckResult> {
        if self.known.is_none() {
            if let Some(rx) = self.rx.as_mut() {
                self.known = match rx.try_recv() {
                    Ok(result) => Some(result),
                    Err(oneshot::error::TryRecvError::Empty) => None,
                    Err(oneshot::error::TryRecvError::Closed) => Some(AckResult::Refused),
                };
            }
        }
        self.known
    }
}

/// Why [`Acker::extend`] did not extend the lease.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtendError<E> {
    /// The source cannot extend leases (Tencent's queue cannot).
    #[error("the source cannot extend leases")]
    Unsupported,
    /// The delivery was already acknowledged or released.
    #[error("the delivery is already settled")]
    Settled,
    /// The message came without a token; there is no lease to extend.
    #[error("the message has no token")]
    NoToken,
    /// The stream was shut down.
    #[error("the stream is shut down")]
    Closed,
    /// The source refused.
    #[error(transparent)]
    Source(E),
}

/// One received message with what is needed to settle it.
///
/// [`Delivery::split`] separates the message from its [`Acker`], so the payload can move
/// into a handler while the acknowledgement stays with whoever decides the work is done.
pub struct Delivery<S: Source> {
    pub(crate) message: S::Message,
    pub(crate) acker: Acker<S>,
}

impl<S: Source> fmt::Debug for Delivery<S>
where
    S::Message: fmt::Debug,
    S::Token: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("message", &self.message)
            .field("acker", &self.acker)
            .finish()
    }
}

impl<S: Source> Delivery<S> {
    /// The message.
    pub fn message(&self) -> &S::Message {
        &self.message
    }

    /// The acknowledgement half.
    pub fn acker(&self) -> &Acker<S> {
        &self.acker
    }

    /// Queues the acknowledgement (see [`Acker::ack`]).
    pub fn ack(&self) -> Result<AckOutcome, AckError> {
        self.acker.ack()
    }

    /// Gives the message back for redelivery now (see [`Acker::nack`]).
    pub fn nack(&self) {
        self.acker.nack()
    }

    /// Separates the message from its acknowledgement.
    pub fn split(self) -> (S::Message, Acker<S>) {
        (self.message, self.acker)
    }
}

struct AckState<T> {
    token: Option<T>,
    usable_until: Instant,
    settled: bool,
}

/// The acknowledgement half of a [`Delivery`]: knows its token and when its lease ends.
/// Acknowledging twice is harmless and says so. Dropping it unsettled leaves the message
/// for redelivery when its lease ends.
pub struct Acker<S: Source> {
    state: Mutex<AckState<S::Token>>,
    received_at: Instant,
    attempt: Option<u32>,
    pub(crate) last_in_batch: bool,
    link: Arc<AckLink<S>>,
}

impl<S: Source> fmt::Debug for Acker<S>
where
    S::Token: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Acker")
            .field("token", &state.token)
            .field("usable_until", &state.usable_until)
            .field("settled", &state.settled)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl<S: Source> Acker<S> {
    /// Called at hand-over, once the delivery holds one unit of `max_outstanding`.
    pub(crate) fn new(
        token: Option<S::Token>,
        usable_until: Instant,
        received_at: Instant,
        attempt: Option<u32>,
        last_in_batch: bool,
        link: Arc<AckLink<S>>,
    ) -> Self {
        Acker {
            state: Mutex::new(AckState {
                token,
                usable_until,
                settled: false,
            }),
            received_at,
            attempt,
            last_in_batch,
            link,
        }
    }

    /// The token that acknowledges this delivery (after [`Acker::extend`], the new one);
    /// `None` if the source gave none, or once settled.
    pub fn token(&self) -> Option<S::Token> {
        lock(&self.state).token.clone()
    }

    /// When the receive call that delivered this message returned.
    pub fn received_at(&self) -> Instant {
        self.received_at
    }

    /// The last moment an acknowledgement is still useful: the lease's end less the expiry
    /// margin.
    pub fn usable_until(&self) -> Instant {
        lock(&self.state).usable_until
    }

    /// Whether the usable part of the lease is over.
    pub fn is_expired(&self) -> bool {
        Instant::now() >= self.usable_until()
    }

    /// Whether the delivery was settled already: acknowledged (even too late, or after
    /// shutdown) or released.
    pub fn is_acked(&self) -> bool {
        lock(&self.state).settled
    }

    /// How many times the source has delivered this message, this time included, where the
    /// source knows (MNS does, Tencent does not).
    pub fn attempt(&self) -> Option<u32> {
        self.attempt
    }

    /// Queues the acknowledgement; the engine batches it with others. Cheap (no I/O),
    /// idempotent (a second call answers `AlreadyAcked`, whatever the first did), and typed
    /// when it is too late (the lease is over: the source would refuse it) or the stream is
    /// shut down. A delivery without a token answers `Queued` with nothing to send.
    pub fn ack(&self) -> Result<AckOutcome, AckError> {
        self.ack_inner(false, None)
    }

    /// Like [`Acker::ack`], with a receipt that tells whether the source accepted it: for a
    /// consumer that must know its message will not come back (e.g. to stop only once all it
    /// printed is acknowledged). A delivery settled already gets a receipt that answers
    /// `Refused`: whether the earlier settlement landed is not known here.
    pub fn ack_tracked(&self) -> Result<AckReceipt, AckError> {
        let (tx, rx) = oneshot::channel();
        match self.ack_inner(false, Some(tx))? {
            AckOutcome::Queued => Ok(AckReceipt {
                rx: Some(rx),
                known: None,
            }),
            AckOutcome::AlreadyAcked => Ok(AckReceipt::known(AckResult::Refused)),
        }
    }

    pub(crate) fn ack_inner(
        &self,
        flush: bool,
        receipt: Option<oneshot::Sender<AckResult>>,
    ) -> Result<AckOutcome, AckError> {
        // The read lock first, and the outstanding unit back only once the acknowledgement
        // is in the channel: giving the unit back is what lets a shutdown waiting for
        // deliveries in hand go on to close and flush, which must not overtake this send.
        let closed = self.link.closed.read().unwrap_or_else(|p| p.into_inner());
        let Some((token, usable_until)) = self.mark_settled() else {
            return Ok(AckOutcome::AlreadyAcked);
        };
        let outcome = self.send_ack(*closed, token, usable_until, flush, receipt);
        drop(closed);
        self.free_outstanding();
        outcome
    }

    fn send_ack(
        &self,
        closed: bool,
        token: Option<S::Token>,
        usable_until: Instant,
        flush: bool,
        receipt: Option<oneshot::Sender<AckResult>>,
    ) -> Result<AckOutcome, AckError> {
        if closed {
            return Err(AckError::Closed);
        }
        let now = Instant::now();
        if now >= usable_until {
            if let Some(receipt) = receipt {
                let _ = receipt.send(AckResult::Expired);
            }
            let _ = self.link.tx.send(AckMsg::Expired);
            return Err(AckError::Expired {
                late: now - usable_until,
            });
        }
        let msg = match token {
            Some(token) => AckMsg::Ack {
                token,
                usable_until,
                flush,
                receipt,
            },
            None => {
                // Nothing to send: the source gave no token (the message comes back), or
                // another message of the same batch carries it.
                if let Some(receipt) = receipt {
                    let _ = receipt.send(AckResult::NoToken);
                }
                AckMsg::AckWithoutToken
            }
        };
        self.link.tx.send(msg).map_err(|_| AckError::Closed)?;
        Ok(AckOutcome::Queued)
    }

    /// Gives the message back now, where the source can (MNS: visibility 0), so another
    /// consumer gets it without waiting for the lease; elsewhere the message comes back when
    /// its lease ends. A settled delivery is left as it is.
    pub fn nack(&self) {
        let closed = self.link.closed.read().unwrap_or_else(|p| p.into_inner());
        let Some((token, _)) = self.mark_settled() else {
            return;
        };
        add(&self.link.core.counters.released, 1);
        if let (Some(token), false) = (token, *closed) {
            let _ = self.link.tx.send(AckMsg::Release(token));
        }
        drop(closed);
        self.free_outstanding();
    }

    /// Extends the lease to `visible_for` from now, where the source can (MNS), for work
    /// that takes longer than the lease. A later [`Acker::ack`] uses the token the source
    /// handed back. Do not acknowledge while an extension is in flight: the old token may
    /// die with it. Returns the new end of the lease.
    pub async fn extend(&self, visible_for: Duration) -> Result<Instant, ExtendError<S::Error>> {
        let token = {
            let state = lock(&self.state);
            if state.settled {
                return Err(ExtendError::Settled);
            }
            state.token.clone().ok_or(ExtendError::NoToken)?
        };
        if self.link.is_closed() {
            return Err(ExtendError::Closed);
        }
        let lease = match self.link.core.source.extend(&token, visible_for).await {
            Ok(lease) => lease,
            Err(LeaseError::Unsupported) => return Err(ExtendError::Unsupported),
            Err(LeaseError::Source(e)) => return Err(ExtendError::Source(e)),
        };
        let mut state = lock(&self.state);
        if !state.settled {
            state.token = Some(lease.token);
            state.usable_until = self
                .link
                .core
                .options
                .usable_until(Instant::now(), lease.lease_until);
        }
        Ok(lease.lease_until)
    }

    /// Marks the delivery settled and takes its token; `None` if it was settled already.
    /// The caller frees the `max_outstanding` unit once it is done.
    fn mark_settled(&self) -> Option<(Option<S::Token>, Instant)> {
        let mut state = lock(&self.state);
        if state.settled {
            return None;
        }
        state.settled = true;
        Some((state.token.take(), state.usable_until))
    }

    fn free_outstanding(&self) {
        let core = &self.link.core;
        core.counters.settled.fetch_add(1, Ordering::AcqRel);
        core.outstanding.add_permits(1);
    }
}

impl<S: Source> Drop for Acker<S> {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if !state.settled {
            state.settled = true;
            self.free_outstanding();
        }
    }
}
