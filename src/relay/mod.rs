//! Where events go once received: a [`Sink`] takes a batch of events and says, for each one,
//! whether it now holds it durably. A consumer acknowledges the source (ConfirmEvents,
//! BatchDeleteMessage, HTTP 200) only for the events the sink took, so an event the sink
//! lost comes back from the source and is offered again.
//!
//! Two sinks ship with the crate: [`LinesSink`] writes one JSON line per event to any
//! writer (what `poll` prints on stdout), and, with the `nats` feature,
//! `jetstream::JetStreamSink` publishes into a NATS JetStream stream and waits for each
//! publish acknowledgement.
//!
//! ```
//! use vod_events::relay::{LinesSink, Outgoing, Sink, Stored};
//! use vod_events::tencent::events::decode_event_json;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let event = decode_event_json(
//!     r#"{"EventHandle":"h1","EventType":"NewFileUpload","FileUploadEvent":{"FileId":"52"}}"#,
//! ).unwrap();
//! let sink = LinesSink::new(Vec::new());
//! let results = sink.send_batch(&[Outgoing::new(&event)]).await;
//! assert!(matches!(results[0], Ok(Stored::New)));
//! let written = sink.into_inner();
//! assert_eq!(written, b"{\"EventType\":\"NewFileUpload\",\"FileUploadEvent\":{\"FileId\":\"52\"}}\n");
//! # }
//! ```

#[cfg(feature = "nats")]
pub mod jetstream;
mod lines;
mod subject;

use std::borrow::Cow;
use std::fmt;

use futures::future::BoxFuture;

use crate::event::VodEvent;

pub use lines::LinesSink;
pub use subject::{subject_for, subject_token};

/// One event offered to a sink: the event (for its provider, type and keys) and the bytes
/// to store, in two pieces written one after the other (a Tencent event's text around the
/// `EventHandle` entry that is left out, without a copy).
#[derive(Clone)]
pub struct Outgoing<'a> {
    event: &'a (dyn VodEvent + Sync),
    payload: (Cow<'a, str>, &'a str),
}

impl fmt::Debug for Outgoing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("provider", &self.event.provider())
            .field("event_type", &self.event.event_type())
            .field("payload_len", &self.payload_len())
            .finish()
    }
}

impl<'a> Outgoing<'a> {
    /// An event whose payload is its JSON as [`VodEvent::json_pieces`] gives it.
    pub fn new(event: &'a (dyn VodEvent + Sync)) -> Self {
        Outgoing {
            event,
            payload: event.json_pieces(),
        }
    }

    /// An event with a payload of its own (e.g. a readable line instead of the JSON).
    pub fn with_payload(event: &'a (dyn VodEvent + Sync), payload: Cow<'a, str>) -> Self {
        Outgoing {
            event,
            payload: (payload, ""),
        }
    }

    /// The event.
    pub fn event(&self) -> &'a (dyn VodEvent + Sync) {
        self.event
    }

    /// The payload, in two pieces.
    pub fn payload(&self) -> (&[u8], &[u8]) {
        (self.payload.0.as_bytes(), self.payload.1.as_bytes())
    }

    /// The payload's length in bytes.
    pub fn payload_len(&self) -> usize {
        self.payload.0.len() + self.payload.1.len()
    }
}

/// How a sink holds an event it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored now.
    New,
    /// Held already (a redelivery recognised by the sink, e.g. JetStream's duplicate window):
    /// just as safe to acknowledge at the source.
    Duplicate,
}

/// Something that takes events durably. Implementations must answer one result per event,
/// in order, and `Ok` only once the event survives the sink's own failures as far as the
/// sink can promise (a flushed write; a stream's publish acknowledgement).
pub trait Sink: Send + Sync {
    /// Takes `batch`; one result per event, in order.
    fn send_batch<'a>(
        &'a self,
        batch: &'a [Outgoing<'a>],
    ) -> BoxFuture<'a, Vec<Result<Stored, SinkError>>>;
}

/// Why a sink did not take an event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Writing or flushing the output failed (e.g. stdout closed): nothing more can be
    /// written there.
    #[error("cannot write the event: {0}")]
    Write(#[source] std::io::Error),
    /// The log refused or did not confirm the event; the source will offer it again.
    #[cfg(feature = "nats")]
    #[error(transparent)]
    JetStream(#[from] jetstream::Error),
}

impl SinkError {
    /// Whether offering the event again later may succeed (the relay waits and goes on);
    /// otherwise the output is gone and the consumer should stop.
    pub fn is_retryable(&self) -> bool {
        match self {
            SinkError::Write(_) => false,
            #[cfg(feature = "nats")]
            SinkError::JetStream(e) => e.is_retryable(),
        }
    }
}
