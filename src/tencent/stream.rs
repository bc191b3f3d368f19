//! Draining the event queue as a `futures::Stream`, on the [consumer engine](crate::consumer).
//!
//! Two ways to consume, one engine underneath:
//!
//! - [`Client::deliveries`] yields [`Delivery`] values that carry the event, its raw JSON and
//!   its handle; call [`Delivery::ack`] when your work is done, in any order, from any task.
//!   A delivery dropped without `ack` is redelivered by the service after 30 s.
//! - [`Client::sequential_events`] yields `Result<Event, Error>` and confirms an event when you
//!   come back for the next one. That is right only for a loop that finishes each event before
//!   asking for the next: combinators that poll ahead (`for_each_concurrent`,
//!   `buffer_unordered`, `ready_chunks`, `forward`, `peek`, …) would confirm events whose work
//!   has not finished. Use `deliveries()` for those.
//!
//! Errors the client retries never end a stream. A fatal error (wrong key, no permission,
//! VOD not enabled) is yielded once and ends it; a permanent one (a parameter the service
//! refuses, such as a SubAppId the account does not have) is yielded with its code and
//! RequestId, and pulling goes on after a backoff.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde_json::value::RawValue;

use crate::consumer::{self, AutoAckStream, ConsumerOptions, Stats};
use crate::tencent::client::Client;
use crate::tencent::error::Error;
use crate::tencent::events::{Event, EventDecodeError, ReceivedEvent, UndecodableEvent};
use crate::tencent::queue::TencentQueue;

/// A pulled event with what is needed to confirm it.
pub type Delivery = consumer::Delivery<TencentQueue>;
/// The confirmation half of a [`Delivery`].
pub type Acker = consumer::Acker<TencentQueue>;
/// The explicit-acknowledgement stream of a Tencent queue.
pub type DeliveryStream = consumer::DeliveryStream<TencentQueue>;

impl consumer::Delivery<TencentQueue> {
    /// The typed event, or why it could not be decoded (its raw JSON is still in
    /// [`Delivery::raw`]). Decoded on first call, so a consumer that only forwards the raw
    /// JSON never pays for it.
    pub fn event(&self) -> Result<&Event, &EventDecodeError> {
        self.message().event()
    }

    /// The decoded element of `EventSet`: typed event, raw JSON, handle.
    pub fn received(&self) -> &ReceivedEvent {
        self.message()
    }

    /// The event exactly as the service sent it (`EventHandle` included).
    pub fn raw(&self) -> &RawValue {
        self.message().raw()
    }

    /// The `EventHandle` that confirms this delivery: `None` if the service sent none, or when
    /// an answer listed several events under one handle and another of them carries it (it
    /// is confirmed once all were handed over). The event's own field is
    /// [`ReceivedEvent::handle`].
    pub fn handle(&self) -> Option<String> {
        self.acker().token()
    }
}

/// The confirm-when-you-come-back stream of typed events; see the [module docs](self) for
/// when that is right.
///
/// An event that could not be decoded is yielded as [`Error::UndecodableEvent`] (carrying its
/// raw JSON and handle) and is confirmed like any other once you come back: redelivering it
/// would not make it decodable, so keep the raw JSON from the error if you need it.
#[derive(Debug)]
pub struct SequentialEvents {
    inner: AutoAckStream<TencentQueue>,
}

impl SequentialEvents {
    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Stops pulling, confirms everything already yielded (you are done with it: you asked to
    /// stop), and reports.
    pub async fn shutdown(self) -> Stats {
        self.inner.shutdown().await
    }
}

impl Stream for SequentialEvents {
    type Item = Result<Event, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let received = match std::task::ready!(Pin::new(&mut self.inner).poll_next(cx)) {
            Some(Ok(received)) => received,
            Some(Err(error)) => return Poll::Ready(Some(Err(error))),
            None => return Poll::Ready(None),
        };
        let (handle, event, raw) = received.into_parts();
        Poll::Ready(Some(event.map_err(|error| {
            Error::UndecodableEvent(Box::new(UndecodableEvent {
                handle,
                raw: raw.get().to_owned(),
                error,
            }))
        })))
    }
}

impl TencentQueue {
    /// A stream of [`Delivery`] values to confirm with [`Delivery::ack`]. Must be called
    /// inside a Tokio runtime.
    pub fn deliveries(self, options: ConsumerOptions) -> DeliveryStream {
        consumer::DeliveryStream::new(self, options)
    }

    /// A stream of typed events confirmed when you come back for the next; see
    /// [`SequentialEvents`]. Must be called inside a Tokio runtime.
    pub fn sequential_events(self, options: ConsumerOptions) -> SequentialEvents {
        SequentialEvents {
            inner: AutoAckStream::new(self.deliveries(options)),
        }
    }
}

impl Client {
    /// The event queue of the client's default SubAppId, as a consumer-engine source.
    pub fn queue(&self) -> TencentQueue {
        TencentQueue::new(self.clone())
    }

    /// A stream of [`Delivery`] values to confirm explicitly with [`Delivery::ack`], with
    /// default options. Must be called inside a Tokio runtime.
    pub fn deliveries(&self) -> DeliveryStream {
        self.deliveries_with(ConsumerOptions::default())
    }

    /// [`Client::deliveries`] with options (concurrency, prefetch, max_outstanding, metrics…).
    pub fn deliveries_with(&self, options: ConsumerOptions) -> DeliveryStream {
        self.queue().deliveries(options)
    }

    /// A stream of typed events that confirms each one when you come back for the next: for
    /// loops that finish each event before asking for the next (see [`SequentialEvents`]).
    /// Must be called inside a Tokio runtime.
    pub fn sequential_events(&self) -> SequentialEvents {
        self.sequential_events_with(ConsumerOptions::default())
    }

    /// [`Client::sequential_events`] with options.
    pub fn sequential_events_with(&self, options: ConsumerOptions) -> SequentialEvents {
        self.queue().sequential_events(options)
    }
}
