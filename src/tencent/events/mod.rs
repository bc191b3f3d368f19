//! Typed VOD event notifications (`EventContent`).
//!
//! [`PullEvents`](https://www.tencentcloud.com/document/product/266/33433) returns a list of
//! `EventContent` objects; a v3.0 push callback POSTs the same object without `EventHandle`.
//! This module turns one such object into an [`Event`]:
//!
//! * [`Event`] has one variant per EventType of the spec (37), named after the EventType string
//!   and holding its payload struct (boxed, `None` if the service sent no payload), plus
//!   [`Event::Unknown`] for EventTypes this crate does not know yet. The payload structs and
//!   `Event` are generated from `spec/tencent-vod-events.json` (see `generated.rs`).
//! * [`decode_event_content`] decodes one element of `Response.EventSet` into a
//!   [`ReceivedEvent`]: the `EventHandle`, the `EventType`, the typed
//!   `Result<Event, EventDecodeError>` (decoded on first use) and the raw JSON it was parsed
//!   from. It never fails as a whole and never panics, so one bad event cannot take down a
//!   batch.
//!
//! ```
//! use vod_events::tencent::events::{decode_event_json, Event};
//!
//! // One element of PullEvents' `Response.EventSet` (null payload fields as the service sends them).
//! let json = r#"{
//!     "EventHandle": "EventHandleX",
//!     "EventType": "PullComplete",
//!     "FileUploadEvent": null,
//!     "PullCompleteEvent": {
//!         "TaskId": "125676836723-Pull-f5ac8127b3b6b85cdc13f237c6005d8",
//!         "Status": "FINISH",
//!         "ErrCode": 0,
//!         "FileId": "14508071098244959037",
//!         "FileUrl": "http://125676836723.vod2.myqcloud.com/xxx/xxx/xxx.mp4"
//!     }
//! }"#;
//! let received = decode_event_json(json)?;
//! assert_eq!(received.handle(), Some("EventHandleX"));
//!
//! match received.event() {
//!     Ok(Event::PullComplete(Some(task))) => {
//!         assert_eq!(task.file_id.as_deref(), Some("14508071098244959037"));
//!         assert_eq!(
//!             task.file_url.as_deref(),
//!             Some("http://125676836723.vod2.myqcloud.com/xxx/xxx/xxx.mp4")
//!         );
//!     }
//!     Ok(other) => panic!("unexpected event type {}", other.event_type()),
//!     Err(e) => panic!("undecodable event: {e}"),
//! }
//!
//! // Helpers that work for every EventType that has the field:
//! let event = received.event().map_err(|e| e.clone())?;
//! assert_eq!(event.event_type(), "PullComplete");
//! assert_eq!(event.file_id(), Some("14508071098244959037"));
//! assert_eq!(event.err_code(), Some(0));
//! assert_eq!(
//!     event.idempotency_key(),
//!     "PullComplete:125676836723-Pull-f5ac8127b3b6b85cdc13f237c6005d8:FINISH"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # JSON form of `Event`
//!
//! `Event` implements `Serialize` and `Deserialize` in the service's `EventContent` shape
//! **without** `EventHandle`, which is also the body of a v3.0 push callback:
//! `{"EventType":"PullComplete","PullCompleteEvent":{...}}`.
//!
//! * Deserialising dispatches on `EventType` (the payload field name is taken from the model,
//!   never derived: `RemoveWatermark` → `RemoveWatermarkCompleteEvent`,
//!   `ExtractBlindWatermarkComplete` → `ExtractBlindWatermarkComplete`, …). The other payload
//!   fields may be absent or `null` and are ignored; so is `EventHandle`. Unknown fields never
//!   fail parsing. A missing or `null` payload gives the variant with `None`.
//! * Serialising writes `EventType` and the payload field (if any). For every field the model
//!   knows, deserialising and serialising gives back the same JSON (`null` and absent count as
//!   equal). `float64` values that are integral are written as JSON integers, as the service
//!   does (`"Duration": 60`).
//! * [`Event::Unknown`] keeps the whole object (minus `EventHandle`) and serialises it back
//!   unchanged.
//!
//! # Nothing is lost
//!
//! The typed structs hold only the fields the model knows. Everything else (fields added to the
//! service after the spec was taken, differently nested objects such as the `MediaBasicInfo`
//! of the PullComplete doc page, non-null payload fields of other EventTypes) stays available
//! in [`ReceivedEvent::raw`], the exact JSON text of the event. An event that cannot be decoded
//! (for example a string where the model says integer) gives an [`EventDecodeError`] naming the
//! JSON path and the EventType, next to its handle and raw JSON.
//!
//! # Field naming
//!
//! Wire names are PascalCase; Rust names are their snake_case with acronyms kept together
//! (`HDRInfo` → `hdr_info`, `EnableBGM` → `enable_bgm`, `SPEKEDrm` → `speke_drm`). `Type`
//! becomes `kind`. Every field has an explicit `#[serde(rename = "...")]`, is an `Option` and
//! is skipped when `None`. Types follow the model: `int64` → `i64`, `uint64` → `u64`,
//! `float64` → `f64` (JSON integers accepted), `bool`, `String`, `Vec<T>`, nested structs
//! (e.g. `RestoreMediaTask.status` is an `i64` while other `status` fields are `String`s).

mod decode;
mod generated;
mod idempotency;
mod locate;
mod num;
mod path;
mod payload;
mod received;
mod scan;
mod visitor;

use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use generated::*;
use payload::PayloadDecoder;
pub use received::{decode_event_content, decode_event_json, ReceivedEvent, UndecodableEvent};

/// How the spec classifies an EventType (§6.2 of the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventCategory {
    /// Appears in the official `EventType` list.
    Listed,
    /// A 2017-era event type, fired for tasks started through 2017-era APIs.
    Legacy2017,
    /// The EventType string appears only in the payload field's description (less certain).
    FieldDocOnly,
    /// The payload field is documented as no longer valid.
    Obsolete,
}

/// Static description of one known EventType (see [`EVENT_TYPES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct EventTypeInfo {
    /// The `EventType` string, e.g. `"PullComplete"`; also the name of the [`Event`] variant.
    pub event_type: &'static str,
    /// The `EventContent` field that carries the payload, e.g. `"PullCompleteEvent"`.
    pub payload_field: &'static str,
    /// The Rust (and SDK) name of the payload struct, e.g. `"PullUploadTask"`.
    pub payload_struct: &'static str,
    /// How the spec classifies this EventType.
    pub category: EventCategory,
}

/// Looks up a known EventType by its string.
pub fn event_type_info(event_type: &str) -> Option<&'static EventTypeInfo> {
    EVENT_TYPES.iter().find(|i| i.event_type == event_type)
}

/// An event whose EventType this crate does not know: the whole JSON object, minus
/// `EventHandle`, exactly as received.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownEvent {
    event_type: String,
    object: Map<String, Value>,
}

impl UnknownEvent {
    /// The `EventType` string.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The whole event object (including `EventType`, excluding `EventHandle`).
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// Takes the whole event object (including `EventType`, excluding `EventHandle`).
    pub fn into_object(self) -> Map<String, Value> {
        self.object
    }

    /// Payload fields of known EventTypes that are present and not `null`, with the EventType
    /// they belong to. For a new EventType string that reuses a known payload field (the spec
    /// is unsure about several EventType strings) this tells which one the service filled.
    pub fn known_payload_fields(&self) -> impl Iterator<Item = &'static EventTypeInfo> + '_ {
        EVENT_TYPES.iter().filter(|i| {
            self.object
                .get(i.payload_field)
                .is_some_and(|v| !v.is_null())
        })
    }

    /// Decodes the payload as the known EventType `as_type`, ignoring the actual EventType
    /// string. Returns `None` if `as_type` is not a known EventType.
    pub fn decode_as(&self, as_type: &str) -> Option<Result<Event, EventDecodeError>> {
        let field = generated::payload_field_of(as_type)?;
        let decoder = payload::ValueDecoder {
            field,
            value: self.object.get(field).cloned(),
        };
        match generated::decode_payload(as_type, decoder) {
            Ok(Some(event)) => Some(Ok(event)),
            Ok(None) => None,
            Err(e) => Some(Err(EventDecodeError::new(
                EventDecodeErrorKind::InvalidPayload,
                Some(as_type.to_owned()),
                e.path,
                e.message,
            ))),
        }
    }
}

impl Event {
    /// Decodes one `EventContent` object from JSON text, e.g. the body of a v3.0 push callback
    /// (an `EventHandle`, if present, is ignored). Same fast decoder as
    /// [`decode_event_content`]; errors name the full JSON path. (`serde_json::from_str::<Event>`
    /// works too, and also names the path, but takes about 1.7× as long.)
    pub fn from_json(json: &str) -> Result<Event, EventDecodeError> {
        decode::decode_str(json).event
    }

    /// Whether the EventType is one this crate knows (not [`Event::Unknown`]).
    pub fn is_known(&self) -> bool {
        !matches!(self, Event::Unknown(_))
    }

    /// Lower-case hex SHA-256 of the event's canonical JSON (its serialised form with object
    /// keys sorted at every level, no whitespace). Equal events give equal digests across runs
    /// and crate versions with the same model. Used by [`Event::idempotency_key`] when the
    /// payload has no identity.
    pub fn content_digest(&self) -> String {
        match serde_json::to_value(self) {
            Ok(v) => idempotency::digest_value(&v),
            Err(_) => idempotency::digest_value(&Value::Null),
        }
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Event::Unknown(u) => u.object.serialize(serializer),
            _ => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("EventType", self.event_type())?;
                self.serialize_payload(&mut map)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(visitor::EventVisitor)
    }
}

/// What went wrong when decoding an event (see [`EventDecodeError::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventDecodeErrorKind {
    /// The event is not a JSON object (or, for [`Event::from_json`], not JSON at all).
    NotAnObject,
    /// The object has no `EventType`.
    MissingEventType,
    /// `EventType` is not a string, or appears twice.
    InvalidEventType,
    /// The payload does not match the model (e.g. a string where an integer is expected).
    InvalidPayload,
}

/// An event that could not be decoded. Names the JSON path inside the event object (e.g.
/// `PullCompleteEvent.ErrCode`) and the EventType.
///
/// Displayed as `<EventType> event: <path>: <problem>`, e.g.
/// `PullComplete event: PullCompleteEvent.ErrCode: invalid type: string "x", expected i64`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} event: {}: {message}", subject(.event_type), display_path(.path))]
pub struct EventDecodeError {
    kind: EventDecodeErrorKind,
    event_type: Option<String>,
    path: String,
    message: String,
}

fn subject(event_type: &Option<String>) -> &str {
    event_type.as_deref().unwrap_or("VOD")
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(root)"
    } else {
        path
    }
}

impl EventDecodeError {
    fn new(
        kind: EventDecodeErrorKind,
        event_type: Option<String>,
        path: String,
        message: String,
    ) -> Self {
        EventDecodeError {
            kind,
            event_type,
            path,
            message,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> EventDecodeErrorKind {
        self.kind
    }

    /// The `EventType` string, if it could be read.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// JSON path inside the event object, e.g. `PullCompleteEvent.MetaData.VideoStreamSet[0].Fps`
    /// (empty for the object itself).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The problem, without position information, e.g. `invalid type: string "x", expected i64`.
    pub fn message(&self) -> &str {
        &self.message
    }
}
