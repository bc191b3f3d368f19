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

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use decode::PayloadDecoder;
pub use generated::*;

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
        let decoder = decode::ValueDecoder {
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
        deserializer.deserialize_map(decode::EventVisitor)
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

/// One event as delivered by PullEvents: its handle, its typed value (or why it could not be
/// decoded) and the raw JSON it was parsed from, which holds everything the service sent.
///
/// The typed value is decoded on first use ([`event`](Self::event),
/// [`into_event`](Self::into_event), …) and kept: a consumer that only forwards the raw JSON
/// never pays for it. The handle and the EventType are known from the start.
#[derive(Clone)]
pub struct ReceivedEvent {
    handle: Option<String>,
    event_type: Option<String>,
    event: OnceLock<Result<Event, EventDecodeError>>,
    raw: Box<RawValue>,
    /// Where the `EventHandle` entry is in `raw`, when the layout was read without decoding.
    handle_entry: Option<Range<usize>>,
}

impl fmt::Debug for ReceivedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedEvent")
            .field("handle", &self.handle)
            .field("event_type", &self.event_type)
            .field("event", &self.event.get())
            .field("raw_len", &self.raw.get().len())
            .finish()
    }
}

/// Decodes one element of PullEvents' `Response.EventSet`.
///
/// Never panics and never fails as a whole: problems are reported in
/// [`ReceivedEvent::event`]. When the object starts the way the service writes it
/// (`{"EventHandle":"…","EventType":"…",…`) only those two entries are read now and the typed
/// value is decoded on first use; any other layout is decoded at once. Either way the results
/// are the same. The typed value is parsed directly from the raw text (one scan of the top
/// level plus one typed parse of the payload); nothing is copied unless asked for.
pub fn decode_event_content(raw: Box<RawValue>) -> ReceivedEvent {
    if let Some(identity) = decode::identify(raw.get()) {
        return ReceivedEvent {
            handle: Some(identity.handle),
            event_type: Some(identity.event_type),
            event: OnceLock::new(),
            raw,
            handle_entry: Some(identity.handle_entry),
        };
    }
    let decoded = decode::decode_str(raw.get());
    ReceivedEvent {
        handle: decoded.handle,
        event_type: decoded.event_type,
        event: OnceLock::from(decoded.event),
        raw,
        handle_entry: None,
    }
}

/// Like [`decode_event_content`] for JSON text (e.g. a push-callback body). Fails only if
/// `json` is not valid JSON.
pub fn decode_event_json(json: &str) -> Result<ReceivedEvent, serde_json::Error> {
    let raw = RawValue::from_string(json.to_owned())?;
    Ok(decode_event_content(raw))
}

impl ReceivedEvent {
    /// The `EventHandle` to confirm with ConfirmEvents, exactly as sent (`None` if missing or
    /// not a string; may be empty).
    pub fn handle(&self) -> Option<&str> {
        self.handle.as_deref()
    }

    /// The `EventType` string, if present and a string (also for unknown and undecodable events).
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The typed event, or why it could not be decoded (decoded now if this is the first use).
    pub fn event(&self) -> Result<&Event, &EventDecodeError> {
        self.event
            .get_or_init(|| decode::decode_str(self.raw.get()).event)
            .as_ref()
    }

    /// Takes the typed event, or why it could not be decoded.
    pub fn into_event(self) -> Result<Event, EventDecodeError> {
        self.into_parts().1
    }

    /// Splits into handle, typed event and raw JSON.
    pub fn into_parts(
        self,
    ) -> (
        Option<String>,
        Result<Event, EventDecodeError>,
        Box<RawValue>,
    ) {
        let event = match self.event.into_inner() {
            Some(event) => event,
            None => decode::decode_str(self.raw.get()).event,
        };
        (self.handle, event, self.raw)
    }

    /// The event object exactly as the service sent it (including `EventHandle`).
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// The event object as the service sent it minus `EventHandle`, as JSON text: the other
    /// entries are copied byte for byte, in order. This is the v3.0 push-body form.
    pub fn json_without_handle(&self) -> String {
        match self.around_handle() {
            Some((before, after)) => {
                let mut out = String::with_capacity(before.len() + after.len());
                out.push_str(before);
                out.push_str(after);
                out
            }
            None => decode::without_handle(self.raw.get()),
        }
    }

    /// Writes [`Self::json_without_handle`] to `out`; for the service's layout that is two
    /// slices of the raw text, with nothing allocated.
    pub fn write_json_without_handle<W: std::io::Write>(&self, mut out: W) -> std::io::Result<()> {
        match self.around_handle() {
            Some((before, after)) => {
                out.write_all(before.as_bytes())?;
                out.write_all(after.as_bytes())
            }
            None => out.write_all(decode::without_handle(self.raw.get()).as_bytes()),
        }
    }

    /// The raw text before and after the `EventHandle` entry, when the layout was read without
    /// decoding (no re-scan: this is on the operator binary's per-event path).
    fn around_handle(&self) -> Option<(&str, &str)> {
        let raw = self.raw.get();
        let cut = self.handle_entry.clone()?;
        Some((raw.get(..cut.start)?, raw.get(cut.end..)?))
    }

    /// The event object as the service sent it minus `EventHandle`, as a [`Value`] (all fields,
    /// including those the model does not know).
    pub fn value_without_handle(&self) -> Result<Value, serde_json::Error> {
        let mut value: Value = serde_json::from_str(self.raw.get())?;
        if let Value::Object(map) = &mut value {
            map.remove("EventHandle");
        }
        Ok(value)
    }

    /// The event's idempotency key: [`Event::idempotency_key`] when it decoded; otherwise
    /// `<EventType>:sha256:<hex>` over the canonical JSON of [`Self::value_without_handle`].
    pub fn idempotency_key(&self) -> String {
        match self.event() {
            Ok(event) => event.idempotency_key(),
            Err(_) => {
                let value = self.value_without_handle().unwrap_or(Value::Null);
                let event_type = self.event_type.as_deref().unwrap_or("Invalid");
                format!("{event_type}:sha256:{}", idempotency::digest_value(&value))
            }
        }
    }
}

/// An event that arrived but did not match the model (e.g. a string where an integer was
/// expected). Nothing is lost: the raw JSON and handle are here.
#[derive(Debug, Clone)]
pub struct UndecodableEvent {
    /// The event's handle.
    pub handle: Option<String>,
    /// The event exactly as the service sent it.
    pub raw: String,
    /// Where and why decoding failed.
    pub error: EventDecodeError,
}

impl fmt::Display for UndecodableEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl crate::event::VodEvent for ReceivedEvent {
    fn provider(&self) -> crate::event::Provider {
        crate::event::Provider::Tencent
    }

    fn event_type(&self) -> Option<&str> {
        ReceivedEvent::event_type(self)
    }

    fn idempotency_key(&self) -> String {
        ReceivedEvent::idempotency_key(self)
    }

    fn json(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Owned(self.json_without_handle())
    }

    fn content_key(&self) -> crate::consumer::ContentKey {
        // The operator binary keys every event on this: hash the raw text around the handle
        // in place instead of building the JSON without it.
        match self.around_handle() {
            Some((before, after)) => {
                crate::consumer::ContentKey::of_parts([before.as_bytes(), after.as_bytes()])
            }
            None => crate::consumer::ContentKey::of(self.json_without_handle().as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_position_only_strips_the_suffix() {
        let s = decode::strip_position(
            "invalid type: string \"x\", expected i64 at line 1 column 9".into(),
        );
        assert_eq!(s, "invalid type: string \"x\", expected i64");
        let s = decode::strip_position("value at line of sight".into());
        assert_eq!(s, "value at line of sight");
    }

    type Outcome = (
        Option<String>,
        Option<String>,
        Result<Event, EventDecodeError>,
    );

    /// Everything the lazy `decode_event_content` reports, forcing the typed decode.
    fn lazy(json: &str) -> Outcome {
        let received = decode_event_json(json).expect("valid JSON");
        let handle = received.handle().map(str::to_owned);
        let event_type = received.event_type().map(str::to_owned);
        let event = received.event().cloned().map_err(Clone::clone);
        assert_eq!(received.clone().into_event(), event, "{json}");
        // Dropping the handle by cutting its entry out gives what the full scan gives.
        let without = received.json_without_handle();
        let mut written = Vec::new();
        received
            .write_json_without_handle(&mut written)
            .expect("writes to a Vec");
        assert_eq!(written, without.as_bytes(), "{json}");
        let reparsed = |text: &str| serde_json::from_str::<Value>(text).ok();
        assert_eq!(
            reparsed(&without),
            reparsed(&decode::without_handle(json)),
            "{json} -> {without}"
        );
        (handle, event_type, event)
    }

    /// The whole-object decode that `decode_event_content` used before it became lazy.
    fn eager(json: &str) -> Outcome {
        let d = decode::decode_str(json);
        (d.handle, d.event_type, d.event)
    }

    /// The JSON text without whitespace outside strings, keys in their order.
    fn minify(json: &str) -> String {
        let mut out = String::with_capacity(json.len());
        let (mut in_string, mut escaped) = (false, false);
        for c in json.chars() {
            if in_string {
                in_string = escaped || c != '"';
                escaped = !escaped && c == '\\';
            } else if c.is_ascii_whitespace() {
                continue;
            } else {
                in_string = c == '"';
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn the_service_layout_is_identified_without_decoding() {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(rename = "Response")]
            response: Body,
        }
        #[derive(Deserialize)]
        struct Body {
            #[serde(rename = "EventSet")]
            event_set: Vec<Box<RawValue>>,
        }
        let official = include_str!("../../../tests/fixtures/pullevents-official-sample.json");
        let envelope: Envelope = serde_json::from_str(official).expect("fixture");
        assert!(!envelope.response.event_set.is_empty());
        for raw in envelope.response.event_set {
            // The official sample as printed (indented), and compact as the service sends it.
            let value: Value = serde_json::from_str(raw.get()).expect("event");
            let compact = minify(raw.get());
            let received = decode_event_json(&compact).expect("valid JSON");
            assert_eq!(
                received.json_without_handle(),
                decode::without_handle(&compact),
                "compact text: byte for byte"
            );
            for json in [raw.get(), compact.as_str()] {
                let identified = decode::identify(json).expect("service layout");
                assert_eq!(identified.handle, value["EventHandle"]);
                assert_eq!(identified.event_type, value["EventType"]);
                let received = decode_event_json(json).expect("valid JSON");
                assert!(received.event.get().is_none(), "decoded too early");
                assert_eq!(lazy(json), eager(json));
            }
        }
        for json in [
            r#"{"EventHandle":"h","EventType":"PullComplete","PullCompleteEvent":{"FileUrl":"http://a/b?x=1\u0026y=2"}}"#,
            r#"{"EventHandle":"h","EventType":"PullComplete","PullCompleteEvent":{"FileUrl":"a\":b\\"}}"#,
            r#"{ "EventType" : "Mystery" ,
                "EventHandle" : "é" }"#,
            r#"{"EventHandle":"","EventType":"PullComplete","PullCompleteEvent":{"ErrCode":"x"}}"#,
        ] {
            assert!(decode::identify(json).is_some(), "{json}");
            assert_eq!(lazy(json), eager(json), "{json}");
        }
    }

    #[test]
    fn odd_layouts_are_decoded_at_once_and_agree() {
        for json in [
            // A second EventHandle, plain or escaped: the last one counts.
            r#"{"EventHandle":"a","EventType":"PullComplete","EventHandle":"b"}"#,
            r#"{"EventHandle":"a","EventType":"PullComplete","Event\u0048andle":"b"}"#,
            r#"{"EventHandle":"a","EventType":"PullComplete","X":{"Event\u0048andle":"b"}}"#,
            // A second EventType: an error, with no EventType reported.
            r#"{"EventHandle":"a","EventType":"PullComplete","EventType":"X"}"#,
            r#"{"EventHandle":"a","EventType":"PullComplete","Event\u0054ype":"X"}"#,
            // Escapes, non-strings, other orders, missing entries.
            r#"{"EventHandle":"a\"b","EventType":"PullComplete"}"#,
            r#"{"EventHandle":"a","EventType":"Pull\u0043omplete","PullCompleteEvent":{}}"#,
            r#"{"EventHandle":1,"EventType":"PullComplete"}"#,
            r#"{"EventHandle":"a","EventType":null}"#,
            r#"{"EventType":"PullComplete","PullCompleteEvent":{},"EventHandle":"a"}"#,
            r#"{"EventHandle":"a"}"#,
            r#"{"EventHandle":"a","EventType":"PullComplete" ]"#,
            r#"["EventHandle","a"]"#,
            r#""{\"EventHandle\":\"a\",\"EventType\":\"X\"}""#,
        ] {
            let Ok(raw) = serde_json::from_str::<&RawValue>(json) else {
                continue;
            };
            assert!(decode::identify(raw.get()).is_none(), "{json}");
            let received = decode_event_json(json).expect("valid JSON");
            assert!(
                received.event.get().is_some(),
                "not decoded at once: {json}"
            );
            assert_eq!(lazy(json), eager(json), "{json}");
        }
    }

    mod lazy_matches_eager {
        use super::*;
        use proptest::prelude::*;

        fn key() -> impl Strategy<Value = String> {
            proptest::sample::select(vec![
                "\"EventHandle\"",
                "\"EventType\"",
                "\"Event\\u0048andle\"",
                "\"Event\\u0054ype\"",
                "\"PullCompleteEvent\"",
                "\"FileUploadEvent\"",
                "\"FileUrl\"",
                "\"ErrCode\"",
                "\"a\\\"b\"",
            ])
            .prop_map(str::to_owned)
        }

        fn scalar() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::sample::select(vec![
                    "\"PullComplete\"",
                    "\"NewFileUpload\"",
                    "\"Mystery\"",
                    "\"\"",
                    "\"h\\u0026x\"",
                    "\"a\\\":b\"",
                    "\"é\"",
                    "null",
                    "0",
                    "-1.5",
                    "true",
                ])
                .prop_map(str::to_owned),
                "[a-zA-Z0-9]{0,12}".prop_map(|s| format!("\"{s}\"")),
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            scalar().prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec((key(), inner.clone()), 0..4).prop_map(|kv| {
                        let body: Vec<String> =
                            kv.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                        format!("{{{}}}", body.join(","))
                    }),
                    proptest::collection::vec(inner, 0..3)
                        .prop_map(|items| format!("[{}]", items.join(","))),
                ]
            })
        }

        fn ws() -> impl Strategy<Value = &'static str> {
            proptest::sample::select(vec!["", "", "", " ", "\n  "])
        }

        /// Objects that usually start like the service's (handle, type) and sometimes don't.
        fn object() -> impl Strategy<Value = String> {
            let head = prop_oneof![
                3 => (scalar(), scalar()).prop_map(|(h, t)| vec![
                    ("\"EventHandle\"".to_owned(), h),
                    ("\"EventType\"".to_owned(), t),
                ]),
                1 => (scalar(), scalar()).prop_map(|(h, t)| vec![
                    ("\"EventType\"".to_owned(), t),
                    ("\"EventHandle\"".to_owned(), h),
                ]),
                1 => proptest::collection::vec((key(), scalar()), 0..3),
            ];
            (
                head,
                proptest::collection::vec((key(), value()), 0..5),
                ws(),
                ws(),
            )
                .prop_map(|(head, tail, w1, w2)| {
                    let body: Vec<String> = head
                        .into_iter()
                        .chain(tail)
                        .map(|(k, v)| format!("{w1}{k}{w2}:{w1}{v}{w2}"))
                        .collect();
                    format!("{w1}{{{}}}", body.join(","))
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn on_any_object(json in object()) {
                prop_assume!(serde_json::from_str::<&RawValue>(&json).is_ok());
                prop_assert_eq!(lazy(&json), eager(&json), "{}", json);
            }
        }
    }
}
