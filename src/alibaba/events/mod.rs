//! Typed Alibaba Cloud event notifications: ApsaraVideo VOD and Intelligent Media Services
//! (IMS), as an HTTP callback body or an MNS message body.
//!
//! * [`Event`] has one variant per (product, EventType) of `spec/alibaba-events.json` (19 for
//!   VOD, 29 for IMS), named product first, plus [`Event::Unknown`]. It is generated (see
//!   `generated.rs`), as are the payload structs.
//! * [`ReceivedEvent`] is what a source hands on: the raw JSON as received, the product and
//!   EventType read up front, and the typed [`Event`] decoded on first use. It implements
//!   [`VodEvent`](crate::VodEvent).
//!
//! ```
//! use vod_events::alibaba::events::{decode_json, Event, Outcome, Product};
//! use vod_events::VodEvent;
//!
//! // An IMS callback: the fields are wrapped in `MessageBody`, next to `UserId`.
//! let body = r#"{"EventType":"FileUploadComplete","UserId":1833220977560000,
//!     "EventTime":"2022-07-15T08:48:14Z",
//!     "MessageBody":{"Status":"Success","MediaId":"c321b3a0041a71eda1590674a2ce****",
//!                    "Size":"5510872","MediaType":"video"}}"#;
//! let received = decode_json(body)?;
//! assert_eq!(received.product(), Product::Ims);
//! assert_eq!(received.idempotency_key(),
//!            "alibaba-ims:FileUploadComplete:c321b3a0041a71eda1590674a2ce****");
//!
//! let Ok(Event::ImsFileUploadComplete(upload)) = received.event() else { panic!() };
//! let size = upload.message_body.size.as_ref().and_then(|s| s.as_u64());
//! assert_eq!(size, Some(5_510_872)); // sent as a string
//! assert_eq!(received.event().ok().and_then(Event::outcome), Some(Outcome::Success));
//!
//! // The same EventType from VOD is a flat object: a different variant.
//! let vod = Event::from_json(r#"{"EventType":"FileUploadComplete","VideoId":"43q9","Size":1439213}"#)?;
//! assert!(matches!(vod, Event::VodFileUploadComplete(_)));
//! assert_eq!(vod.product(), Product::Vod);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Telling the products apart
//!
//! 13 EventType names are used by both products with different shapes, so the name alone never
//! decides. An object whose `MessageBody` is an object and that has a (non-null) `UserId` is
//! IMS; anything else is VOD (§1.3 of `alibaba.md`). The EventType is then looked up within
//! that product; a name the product does not have (including a known name of the other
//! product) is [`Event::Unknown`], which keeps the whole object exactly.
//!
//! # JSON form, round trip and leniency
//!
//! `Event` serialises back to the object it came from: every field the model knows, in the
//! form it came in (a number sent as a string is written as a string, `JobId` sent for the
//! model's `jobId` is written as `JobId`, `"SourceURL "` keeps its space), and every field the
//! model does not know, as raw JSON text (so integers beyond 2^53 survive), at every level.
//! Key order may differ. Numbers go in [`LenientNumber`] (a number or a string holding one),
//! JSON carried in strings in [`EmbeddedJson`] (the string or the JSON itself, with
//! [`EmbeddedJson::decode`]); status words stay raw and [`Event::outcome`] normalises them.
//!
//! A known field holding the wrong kind of value (an object where the model has a string or
//! a number) makes that one event an [`EventDecodeError`] naming the JSON path
//! (`MessageBody.Size`) and keeping the raw JSON; other events are not affected.

mod decode;
mod generated;
mod idempotency;
pub(crate) mod model;
mod received;
mod scalar;

use std::fmt;
use std::sync::Arc;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::event::Provider;

pub use generated::*;
pub use model::{Extra, ImsBody, ImsEvent};
pub use received::{decode_json, decode_message, ReceivedEvent};
pub use scalar::{EmbeddedJson, LenientNumber, Outcome, RawObject};

/// The Alibaba Cloud product that sent an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Product {
    /// ApsaraVideo VOD: flat event objects.
    Vod,
    /// Intelligent Media Services: `{EventType, UserId, EventTime, MessageBody}`.
    Ims,
}

impl Product {
    /// `VOD` or `IMS`, as the documentation writes them.
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Vod => "VOD",
            Product::Ims => "IMS",
        }
    }

    /// The [`Provider`] of events from this product.
    pub fn provider(self) -> Provider {
        match self {
            Product::Vod => Provider::AlibabaVod,
            Product::Ims => Provider::AlibabaIms,
        }
    }
}

impl From<Product> for Provider {
    fn from(p: Product) -> Provider {
        p.provider()
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Static description of one known (product, EventType) (see [`EVENT_TYPES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct EventTypeInfo {
    /// The product.
    pub product: Product,
    /// The `EventType` string, e.g. `"TranscodeComplete"`.
    pub event_type: &'static str,
    /// Other EventType strings accepted for it (a seed sample uses
    /// `ApsaraVideoForMediaProcessingOutputGroupComplete` for `MediaConvertOutputGroupComplete`).
    pub aliases: &'static [&'static str],
    /// The payload struct: the whole object for VOD, the `MessageBody` for IMS.
    pub payload_struct: &'static str,
    /// What the event means, from the seed.
    pub description: &'static str,
    /// Whether some fields come from documentation outside the seeds (VOD, §2.3).
    pub fields_outside_seeds: bool,
    /// How its idempotency key is built, e.g. `alibaba-ims:MediaConvertComplete:<JobId>`.
    pub idempotency_key: &'static str,
}

/// An event this crate does not know: an EventType neither product's model has in the shape
/// it came in. The whole object is kept exactly as received.
#[derive(Debug, Clone)]
pub struct UnknownEvent {
    product: Product,
    event_type: String,
    event_time: Option<String>,
    status: Option<String>,
    raw: Box<RawValue>,
}

impl UnknownEvent {
    /// The product, by the object's shape.
    pub fn product(&self) -> Product {
        self.product
    }

    /// The `EventType` string.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The whole object, exactly as received.
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// The whole object as a [`Value`].
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(self.raw.get())
    }

    /// `EventTime` or the status word (IMS: `MessageBody.Status`), as sent.
    fn str_field(&self, key: &str) -> Option<&str> {
        match key {
            "EventTime" => self.event_time.as_deref(),
            _ => self.status.as_deref(),
        }
    }
}

impl PartialEq for UnknownEvent {
    fn eq(&self, other: &Self) -> bool {
        self.product == other.product && scalar::same_json(self.raw.get(), other.raw.get())
    }
}

impl Serialize for UnknownEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl Event {
    /// Decodes one event object (an HTTP callback body, an MNS message body). Errors name the
    /// JSON path and keep the text.
    pub fn from_json(json: &str) -> Result<Event, EventDecodeError> {
        decode::decode_str(json)
    }

    /// Whether the (product, EventType) is one this crate knows (not [`Event::Unknown`]).
    pub fn is_known(&self) -> bool {
        !matches!(self, Event::Unknown(_))
    }

    /// The model's description of this event, `None` for [`Event::Unknown`].
    pub fn info(&self) -> Option<&'static EventTypeInfo> {
        if !self.is_known() {
            return None;
        }
        decode::lookup(self.product(), self.event_type()).map(|(i, _)| &EVENT_TYPES[i])
    }

    /// The status word normalised (see [`Outcome`]); the raw word is [`Event::status`].
    pub fn outcome(&self) -> Option<Outcome> {
        self.status().map(Outcome::of)
    }

    /// A key that is the same for every delivery of this event and different for different
    /// events, from the payload: `<provider>:<EventType>:<ids>`, the ids chosen per EventType
    /// (see each variant); `…:sha256:<digest>` when they are missing or the type is unknown.
    pub fn idempotency_key(&self) -> String {
        idempotency::key(self)
    }

    /// Lower-case hex SHA-256 of the event's JSON in canonical form (keys sorted, no
    /// whitespace): equal for equal events whatever the key order they came in.
    pub fn content_digest(&self) -> String {
        match serde_json::to_string(self) {
            Ok(text) => idempotency::digest_json(&text),
            Err(_) => idempotency::digest_json("null"),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(decode::EventVisitor)
    }
}

/// What went wrong when decoding an event (see [`EventDecodeError::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventDecodeErrorKind {
    /// The event is not a JSON object (or not JSON at all).
    NotAnObject,
    /// The object has no `EventType`.
    MissingEventType,
    /// `EventType` is not a string, or appears twice.
    InvalidEventType,
    /// A known field holds the wrong kind of value (e.g. an object where the model has a
    /// string).
    InvalidPayload,
}

/// An event that could not be decoded: what went wrong, where (the JSON path inside the event
/// object, e.g. `MessageBody.Size`), and the raw JSON.
///
/// Displayed as `<product> <EventType> event: <path>: <problem>`, e.g.
/// `IMS FileUploadComplete event: MessageBody.Size: invalid type: map, expected a number or a
/// string holding one`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{product} {} event: {}: {message}", .event_type.as_deref().unwrap_or("(no EventType)"), if .path.is_empty() { "(root)" } else { .path.as_str() })]
pub struct EventDecodeError {
    kind: EventDecodeErrorKind,
    product: Product,
    event_type: Option<String>,
    path: String,
    message: String,
    raw: Arc<str>,
}

impl EventDecodeError {
    /// What went wrong.
    pub fn kind(&self) -> EventDecodeErrorKind {
        self.kind
    }

    /// The product, by the object's shape.
    pub fn product(&self) -> Product {
        self.product
    }

    /// The `EventType` string, if it could be read.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The JSON path inside the event object, e.g. `MessageBody.Size` or
    /// `StreamInfos[1].Width` (empty for the object itself).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The problem, without position information.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The event's JSON text, as received.
    pub fn raw(&self) -> &str {
        &self.raw
    }
}
