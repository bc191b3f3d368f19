//! Decoding: the fast path from raw JSON text ([`super::decode_event_content`]) and the
//! generic `Deserialize` implementation of [`Event`]. Both dispatch through the generated
//! `decode_payload`, so they agree on which payload field belongs to which EventType.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::generated::{decode_payload, payload_field_of, EVENT_TYPES};
use super::locate::locate;
use super::{Event, EventDecodeError, EventDecodeErrorKind, UnknownEvent};

const EVENT_HANDLE: &str = "EventHandle";
const EVENT_TYPE: &str = "EventType";

/// Produces the payload of one EventType, whatever the source of the JSON is.
pub(super) trait PayloadDecoder {
    /// Error produced when the payload does not match the model.
    type Error;
    /// Decodes the payload as `T` (`None` when the field is absent or `null`).
    fn decode<T: DeserializeOwned>(self) -> Result<Option<Box<T>>, Self::Error>;
}

/// A payload error with the full JSON path inside the event object.
#[derive(Debug)]
pub(super) struct PayloadError {
    pub(super) path: String,
    pub(super) message: String,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// `PullCompleteEvent` + `ErrCode` → `PullCompleteEvent.ErrCode`; `[0].X` is appended as is.
fn join_path(field: &str, inner: &serde_path_to_error::Path) -> String {
    let inner = inner.to_string();
    if inner == "." || inner.is_empty() {
        field.to_owned()
    } else if inner.starts_with('[') {
        format!("{field}{inner}")
    } else {
        format!("{field}.{inner}")
    }
}

/// Removes serde_json's ` at line L column C` suffix: positions inside a payload slice would
/// be misleading, the JSON path says where the problem is.
pub(super) fn strip_position(message: String) -> String {
    if let Some(idx) = message.rfind(" at line ") {
        let tail = &message[idx + " at line ".len()..];
        let mut parts = tail.splitn(3, ' ');
        let line_ok = parts
            .next()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        let column_word = parts.next() == Some("column");
        let col_ok = parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if line_ok && column_word && col_ok {
            let mut message = message;
            message.truncate(idx);
            return message;
        }
    }
    message
}

// ---------------------------------------------------------------------------------------------
// Fast path: raw JSON text.

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The top-level entries of an event object, values left as raw JSON (one scan, no copies).
pub(super) struct Scan<'a>(pub(super) Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Scan<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Scan<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scan<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16).min(64));
                while let Some(Key(k)) = map.next_key()? {
                    let v: &'de RawValue = map.next_value()?;
                    entries.push((k, v));
                }
                Ok(Scan(entries))
            }
        }
        d.deserialize_map(V)
    }
}

/// Decodes a payload from its raw JSON text; re-parses with path tracking only on error.
struct RawDecoder<'a> {
    field: &'static str,
    raw: Option<&'a RawValue>,
}

impl PayloadDecoder for RawDecoder<'_> {
    type Error = PayloadError;

    fn decode<T: DeserializeOwned>(self) -> Result<Option<Box<T>>, PayloadError> {
        let Some(raw) = self.raw else { return Ok(None) };
        match serde_json::from_str::<Option<Box<T>>>(raw.get()) {
            Ok(v) => Ok(v),
            Err(fast_err) => {
                // Rare: find where the payload departs from the model.
                let struct_name = EVENT_TYPES
                    .iter()
                    .find(|i| i.payload_field == self.field)
                    .map(|i| i.payload_struct);
                let mut path = self.field.to_owned();
                match struct_name.and_then(|s| locate(s, raw, &mut path)) {
                    Some(message) => Err(PayloadError { path, message }),
                    None => Err(PayloadError {
                        path: self.field.to_owned(),
                        message: strip_position(fast_err.to_string()),
                    }),
                }
            }
        }
    }
}

/// Result of decoding one `EventContent` object from its JSON text.
pub(super) struct Decoded {
    pub(super) handle: Option<String>,
    pub(super) event_type: Option<String>,
    pub(super) event: Result<Event, EventDecodeError>,
}

/// Decodes one `EventContent` object. Never panics; every failure becomes an error value.
///
/// Tries the one-pass [`decode_fast`] first; anything unusual (including every error) is
/// handled by [`decode_thorough`], which reports precise errors.
pub(super) fn decode_str(json: &str) -> Decoded {
    match decode_fast(json) {
        Some(decoded) => decoded,
        None => decode_thorough(json),
    }
}

/// Output of the one-pass visitor.
struct FastOut<'a> {
    handle: Option<String>,
    event_type: Option<String>,
    field: Option<&'static str>,
    typed: Option<Event>,
    /// Entries seen before `EventType` (values left raw).
    pending: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'de> Deserialize<'de> for FastOut<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FastVisitor)
    }
}

/// One pass over the text: once `EventType` is known (the service sends it second, after
/// `EventHandle`), the payload is deserialised straight into its struct and the other payload
/// fields (`null`s) are skipped. Entries before `EventType` are kept raw.
struct FastVisitor;

impl<'de> de::Visitor<'de> for FastVisitor {
    type Value = FastOut<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FastOut<'de>, A::Error> {
        let mut out = FastOut {
            handle: None,
            event_type: None,
            field: None,
            typed: None,
            pending: Vec::new(),
        };
        while let Some(Key(key)) = map.next_key()? {
            if key == EVENT_HANDLE {
                let v: &'de RawValue = map.next_value()?;
                out.handle = serde_json::from_str::<String>(v.get()).ok();
                continue;
            }
            if key == EVENT_TYPE {
                if out.event_type.is_some() {
                    return Err(de::Error::duplicate_field(EVENT_TYPE));
                }
                let t: String = map.next_value()?;
                out.field = payload_field_of(&t);
                out.event_type = Some(t);
                continue;
            }
            match (&out.event_type, out.field) {
                (Some(t), Some(f)) if key == f => {
                    let decoder = PlainMapDecoder {
                        map: &mut map,
                        marker: PhantomData,
                    };
                    match decode_payload(t, decoder)? {
                        Some(event) => out.typed = Some(event),
                        None => return Err(de::Error::custom("no decoder for this EventType")),
                    }
                }
                (Some(_), Some(_)) => {
                    map.next_value::<IgnoredAny>()?;
                }
                (None, _) => {
                    let v: &'de RawValue = map.next_value()?;
                    out.pending.push((key, v));
                }
                // Unknown EventType: the whole object is parsed separately.
                (Some(_), None) => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// Decodes the payload from the value the map access is positioned at, without tracking.
struct PlainMapDecoder<'m, 'de, A> {
    map: &'m mut A,
    marker: PhantomData<&'de ()>,
}

impl<'de, A: MapAccess<'de>> PayloadDecoder for PlainMapDecoder<'_, 'de, A> {
    type Error = A::Error;

    fn decode<T: DeserializeOwned>(self) -> Result<Option<Box<T>>, A::Error> {
        self.map.next_value()
    }
}

/// What [`identify`] reads of an event object.
pub(super) struct Identity {
    pub(super) handle: String,
    pub(super) event_type: String,
    /// The bytes to cut to drop the `EventHandle` entry (with its comma) from the text.
    pub(super) handle_entry: Range<usize>,
}

/// The `EventHandle` and `EventType` of an event object laid out the way the service sends
/// it, found without parsing the rest: both must be the first two entries (either order, any
/// whitespace) with plain string values (no escapes), and no other key anywhere in the object
/// may be, or may unescape to, either name. `None` for anything else: the caller then decodes
/// the whole object, which settles every odd case (duplicates, escapes, non-strings) the same
/// way it always did. The text must be valid JSON (a `RawValue`), which is what makes the
/// scans below sound.
pub(super) fn identify(json: &str) -> Option<Identity> {
    let mut cursor = Cursor { text: json, at: 0 };
    cursor.skip_ws();
    cursor.eat(b'{')?;
    let open = cursor.at;
    let (first_key, first_value) = cursor.plain_entry()?;
    cursor.skip_ws();
    let comma = cursor.at;
    cursor.eat(b',')?;
    cursor.skip_ws();
    let second = cursor.at;
    let (second_key, second_value) = cursor.plain_entry()?;
    let second_end = cursor.at;
    cursor.skip_ws();
    let rest = cursor.rest();
    if !rest.starts_with([',', '}']) {
        return None;
    }
    let (handle, event_type, handle_entry) = match (first_key, second_key) {
        (EVENT_HANDLE, EVENT_TYPE) => (first_value, second_value, open..second),
        (EVENT_TYPE, EVENT_HANDLE) => (second_value, first_value, comma..second_end),
        _ => return None,
    };
    if names_event_key(rest) || has_escaped_key(rest) {
        return None;
    }
    Some(Identity {
        handle: handle.to_owned(),
        event_type: event_type.to_owned(),
        handle_entry,
    })
}

/// Whether `json` holds a string `"EventHandle"` or `"EventType"` (as a key or not: either
/// sends the caller to the full decode, which is only slower).
fn names_event_key(json: &str) -> bool {
    static FINDER: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\"Event"));
    let bytes = json.as_bytes();
    FINDER.find_iter(bytes).any(|at| {
        let tail = bytes.get(at + 6..).unwrap_or_default();
        tail.starts_with(b"Handle\"") || tail.starts_with(b"Type\"")
    })
}

/// Whether some object key in `json` (valid JSON, or a tail of it that starts outside any
/// string) contains an escape sequence: such a key could unescape to `EventHandle`.
/// Backslashes occur only inside strings, so each one found leads to the end of its string,
/// and a string followed by `:` is a key.
fn has_escaped_key(json: &str) -> bool {
    let bytes = json.as_bytes();
    let mut from = 0;
    while let Some(offset) = bytes
        .get(from..)
        .and_then(|tail| memchr::memchr(b'\\', tail))
    {
        let mut at = from + offset;
        // Walk to the closing quote of the string this backslash is in.
        loop {
            match bytes.get(at) {
                Some(b'\\') => at += 2,
                Some(b'"') => break,
                Some(_) => at += 1,
                None => return false,
            }
        }
        at += 1;
        while matches!(bytes.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            at += 1;
        }
        if bytes.get(at) == Some(&b':') {
            return true;
        }
        from = at;
    }
    false
}

/// A position in JSON text, for [`identify`].
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.text.as_bytes().get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// A string without escapes; its text between the quotes.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = self.text.get(start..)?.find(['"', '\\'])?;
        self.at = start + len;
        self.eat(b'"')?;
        self.text.get(start..start + len)
    }

    /// `"key": "value"` with surrounding whitespace, both plain strings.
    fn plain_entry(&mut self) -> Option<(&'a str, &'a str)> {
        self.skip_ws();
        let key = self.plain_string()?;
        self.skip_ws();
        self.eat(b':')?;
        self.skip_ws();
        let value = self.plain_string()?;
        Some((key, value))
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or("")
    }
}

/// The common case in one pass; `None` when the event needs [`decode_thorough`].
fn decode_fast(json: &str) -> Option<Decoded> {
    let out = serde_json::from_str::<FastOut<'_>>(json).ok()?;
    let event_type = out.event_type?;
    let event = match (out.field, out.typed) {
        (Some(_), Some(event)) => Ok(event),
        // Payload before `EventType`, or no payload.
        (Some(field), None) => {
            let raw = out
                .pending
                .iter()
                .rev()
                .find(|(k, _)| k == field)
                .map(|(_, v)| *v);
            match decode_payload(&event_type, RawDecoder { field, raw }) {
                Ok(Some(event)) => Ok(event),
                _ => return None,
            }
        }
        (None, _) => {
            let mut object = serde_json::from_str::<Map<String, Value>>(json).ok()?;
            object.remove(EVENT_HANDLE);
            Ok(Event::Unknown(Box::new(UnknownEvent {
                event_type: event_type.clone(),
                object,
            })))
        }
    };
    Some(Decoded {
        handle: out.handle,
        event_type: Some(event_type),
        event,
    })
}

/// Two passes (top-level scan, then the payload), with path tracking on error.
fn decode_thorough(json: &str) -> Decoded {
    let scan = match serde_json::from_str::<Scan<'_>>(json) {
        Ok(scan) => scan,
        Err(e) => {
            return Decoded {
                handle: None,
                event_type: None,
                event: Err(EventDecodeError::new(
                    EventDecodeErrorKind::NotAnObject,
                    None,
                    String::new(),
                    strip_position(e.to_string()),
                )),
            };
        }
    };
    let mut handle = None;
    let mut type_raw: Option<&RawValue> = None;
    let mut duplicate_type = false;
    for (k, v) in &scan.0 {
        match k.as_ref() {
            EVENT_HANDLE => handle = serde_json::from_str::<String>(v.get()).ok(),
            EVENT_TYPE => {
                duplicate_type |= type_raw.is_some();
                type_raw = Some(v);
            }
            _ => {}
        }
    }
    let type_error = |kind, message: String| Decoded {
        handle: handle.clone(),
        event_type: None,
        event: Err(EventDecodeError::new(
            kind,
            None,
            EVENT_TYPE.to_owned(),
            message,
        )),
    };
    let Some(type_raw) = type_raw else {
        return type_error(
            EventDecodeErrorKind::MissingEventType,
            "missing field `EventType`".to_owned(),
        );
    };
    if duplicate_type {
        return type_error(
            EventDecodeErrorKind::InvalidEventType,
            "duplicate field `EventType`".to_owned(),
        );
    }
    let event_type = match serde_json::from_str::<String>(type_raw.get()) {
        Ok(t) => t,
        Err(e) => {
            return type_error(
                EventDecodeErrorKind::InvalidEventType,
                strip_position(e.to_string()),
            )
        }
    };
    let event = match payload_field_of(&event_type) {
        Some(field) => {
            // Last occurrence wins, as in a JSON object parsed into a map.
            let raw = scan
                .0
                .iter()
                .rev()
                .find(|(k, _)| k == field)
                .map(|(_, v)| *v);
            match decode_payload(&event_type, RawDecoder { field, raw }) {
                Ok(Some(event)) => Ok(event),
                Err(e) => Err(EventDecodeError::new(
                    EventDecodeErrorKind::InvalidPayload,
                    Some(event_type.clone()),
                    e.path,
                    e.message,
                )),
                Ok(None) => Err(EventDecodeError::new(
                    EventDecodeErrorKind::InvalidPayload,
                    Some(event_type.clone()),
                    field.to_owned(),
                    "no decoder for this EventType".to_owned(),
                )),
            }
        }
        None => match serde_json::from_str::<Map<String, Value>>(json) {
            Ok(mut object) => {
                object.remove(EVENT_HANDLE);
                Ok(Event::Unknown(Box::new(UnknownEvent {
                    event_type: event_type.clone(),
                    object,
                })))
            }
            Err(e) => Err(EventDecodeError::new(
                EventDecodeErrorKind::NotAnObject,
                Some(event_type.clone()),
                String::new(),
                strip_position(e.to_string()),
            )),
        },
    };
    Decoded {
        handle,
        event_type: Some(event_type),
        event,
    }
}

/// The object's JSON text without its top-level `EventHandle` entry (other entries byte for
/// byte as received, in their order). Non-objects are returned unchanged.
pub(super) fn without_handle(json: &str) -> String {
    let Ok(scan) = serde_json::from_str::<Scan<'_>>(json) else {
        return json.to_owned();
    };
    let mut out = String::with_capacity(json.len());
    out.push('{');
    let mut first = true;
    for (k, v) in &scan.0 {
        if k == EVENT_HANDLE {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        match serde_json::to_string(k.as_ref()) {
            Ok(quoted) => out.push_str(&quoted),
            Err(_) => out.push_str("\"\""),
        }
        out.push(':');
        out.push_str(v.get());
    }
    out.push('}');
    out
}

// ---------------------------------------------------------------------------------------------
// Generic `Deserialize` for `Event`.

/// Deserialises a payload with path tracking, turning errors into `PayloadField.Path: msg`.
struct TrackedSeed<T> {
    field: &'static str,
    marker: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for TrackedSeed<T> {
    type Value = Option<Box<T>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let mut track = serde_path_to_error::Track::new();
        match Option::<Box<T>>::deserialize(serde_path_to_error::Deserializer::new(d, &mut track)) {
            Ok(v) => Ok(v),
            Err(e) => {
                let path = join_path(self.field, &track.path());
                Err(de::Error::custom(format_args!(
                    "{path}: {}",
                    strip_position(e.to_string())
                )))
            }
        }
    }
}

/// Decodes the payload from the value the map access is positioned at.
struct MapDecoder<'m, 'de, A> {
    map: &'m mut A,
    field: &'static str,
    marker: PhantomData<&'de ()>,
}

impl<'de, A: MapAccess<'de>> PayloadDecoder for MapDecoder<'_, 'de, A> {
    type Error = A::Error;

    fn decode<T: DeserializeOwned>(self) -> Result<Option<Box<T>>, A::Error> {
        self.map.next_value_seed(TrackedSeed::<T> {
            field: self.field,
            marker: PhantomData,
        })
    }
}

/// Decodes the payload from an already-parsed [`Value`] (rare: a payload that came before
/// `EventType` in the generic path, or [`UnknownEvent::decode_as`]). The value is written back
/// to text and decoded like raw input, so no extra `Value`-deserializer code is generated for
/// the 318 structs.
pub(super) struct ValueDecoder {
    pub(super) field: &'static str,
    pub(super) value: Option<Value>,
}

impl PayloadDecoder for ValueDecoder {
    type Error = PayloadError;

    fn decode<T: DeserializeOwned>(self) -> Result<Option<Box<T>>, PayloadError> {
        let Some(value) = self.value else {
            return Ok(None);
        };
        let text = value.to_string();
        let raw: Option<&RawValue> = serde_json::from_str(&text).ok();
        match raw {
            Some(raw) => RawDecoder {
                field: self.field,
                raw: Some(raw),
            }
            .decode(),
            None => Err(PayloadError {
                path: self.field.to_owned(),
                message: "payload is not valid JSON".to_owned(),
            }),
        }
    }
}

/// Visitor behind `impl Deserialize for Event`.
///
/// Entries before `EventType` are buffered as [`Value`]s; once the EventType is known, its
/// payload is decoded straight from the input and the other entries are skipped (the service
/// sends `EventType` first, so in practice nothing is buffered). For an unknown EventType the
/// whole object except `EventHandle` is kept.
pub(super) struct EventVisitor;

impl<'de> de::Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an EventContent object with an EventType")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut event_type: Option<String> = None;
        let mut field: Option<&'static str> = None;
        let mut typed: Option<Event> = None;
        let mut buffered: Map<String, Value> = Map::new();

        while let Some(Key(key)) = map.next_key()? {
            if key == EVENT_HANDLE {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if key == EVENT_TYPE {
                if event_type.is_some() {
                    return Err(de::Error::duplicate_field(EVENT_TYPE));
                }
                let t: String = map.next_value()?;
                field = payload_field_of(&t);
                match field {
                    Some(f) => {
                        if let Some(v) = buffered.remove(f) {
                            let decoder = ValueDecoder {
                                field: f,
                                value: Some(v),
                            };
                            typed = Some(from_value_decoder::<A::Error>(&t, decoder)?);
                        }
                        buffered = Map::new();
                    }
                    None => {
                        buffered.insert(EVENT_TYPE.to_owned(), Value::String(t.clone()));
                    }
                }
                event_type = Some(t);
                continue;
            }
            match (&event_type, field) {
                (Some(t), Some(f)) if key == f => {
                    let decoder = MapDecoder {
                        map: &mut map,
                        field: f,
                        marker: PhantomData,
                    };
                    typed = Some(match decode_payload(t, decoder)? {
                        Some(event) => event,
                        None => return Err(de::Error::custom("no decoder for this EventType")),
                    });
                }
                (Some(_), Some(_)) => {
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    let v: Value = map.next_value()?;
                    buffered.insert(key.into_owned(), v);
                }
            }
        }

        let Some(t) = event_type else {
            return Err(de::Error::missing_field(EVENT_TYPE));
        };
        if field.is_none() {
            return Ok(Event::Unknown(Box::new(UnknownEvent {
                event_type: t,
                object: buffered,
            })));
        }
        match typed {
            Some(event) => Ok(event),
            None => {
                let decoder = ValueDecoder {
                    field: field.unwrap_or_default(),
                    value: None,
                };
                from_value_decoder(&t, decoder)
            }
        }
    }
}

fn from_value_decoder<E: de::Error>(event_type: &str, decoder: ValueDecoder) -> Result<Event, E> {
    match decode_payload(event_type, decoder) {
        Ok(Some(event)) => Ok(event),
        Err(e) => Err(E::custom(e)),
        Ok(None) => Err(E::custom("no decoder for this EventType")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFICIAL: &str = include_str!("../../../tests/fixtures/pullevents-official-sample.json");

    fn official_event() -> Value {
        let v: Value = serde_json::from_str(OFFICIAL).unwrap_or_default();
        v["Response"]["EventSet"][0].clone()
    }

    fn same(a: &Decoded, b: &Decoded) -> bool {
        a.handle == b.handle && a.event_type == b.event_type && a.event == b.event
    }

    #[test]
    fn fast_path_is_taken_for_the_service_shape_and_agrees_with_the_thorough_one() {
        let mut ev = official_event();
        let text = ev.to_string();
        let fast = decode_fast(&text);
        assert!(
            fast.is_some(),
            "official sample must take the one-pass path"
        );
        assert!(fast
            .as_ref()
            .is_some_and(|f| same(f, &decode_thorough(&text))));

        // Payload before EventType; no payload; unknown type.
        let reordered = format!(
            r#"{{"ProcedureStateChangeEvent":{},"EventType":"ProcedureStateChanged"}}"#,
            ev["ProcedureStateChangeEvent"]
        );
        for text in [
            reordered.as_str(),
            r#"{"EventType":"PullComplete","PullCompleteEvent":null}"#,
            r#"{"EventHandle":"h","EventType":"Nope","X":[1,{"y":null}]}"#,
        ] {
            let fast = decode_fast(text);
            assert!(fast.is_some(), "{text}");
            assert!(
                fast.as_ref()
                    .is_some_and(|f| same(f, &decode_thorough(text))),
                "{text}"
            );
        }

        // Errors always go to the thorough path.
        ev["ProcedureStateChangeEvent"]["TasksPriority"] = Value::String("x".into());
        assert!(decode_fast(&ev.to_string()).is_none());
        assert!(decode_fast(r#"{"EventType":1}"#).is_none());
        assert!(decode_fast(r#"{"A":1}"#).is_none());
    }
}
