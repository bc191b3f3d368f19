//! Decoding one event object from its raw JSON text, the path behind
//! [`super::decode_event_content`]: one pass for the layout the service sends, two passes with
//! precise errors for anything else. Like the generic `Deserialize` implementation of
//! [`Event`] (in `visitor`), it dispatches through the generated `decode_payload`, so the two
//! agree on which payload field belongs to which EventType.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::generated::{decode_payload, payload_field_of};
use super::path::strip_position;
use super::payload::{PayloadDecoder, RawDecoder};
use super::scan::{Key, Scan, EVENT_HANDLE, EVENT_TYPE};
use super::{Event, EventDecodeError, EventDecodeErrorKind, UnknownEvent};

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
