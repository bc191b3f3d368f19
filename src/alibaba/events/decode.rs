//! From JSON text to [`Event`]: read the top level, tell VOD from IMS by shape, find the
//! EventType within that product, then decode the typed payload (again with path tracking
//! only when that fails).

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::generated::{decode_variant, EVENT_TYPES};
use super::{Event, EventDecodeError, EventDecodeErrorKind, Product, UnknownEvent};

/// The top-level entries of an object, values left as raw JSON.
pub(super) struct Entries<'a>(pub(super) Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    out.push((key, map.next_value()?));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Entries<'a> {
    /// The value of `key` (the last one, as a JSON map reader would see it).
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The string value of `key`, if it is a string.
    pub(super) fn str(&self, key: &str) -> Option<String> {
        self.get(key)
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    }

    /// §1.3: IMS wraps its fields in a `MessageBody` object next to a `UserId`; VOD is flat.
    pub(super) fn product(&self) -> Product {
        let body_is_object = self
            .get("MessageBody")
            .is_some_and(|v| v.get().starts_with('{'));
        let has_user = self.get("UserId").is_some_and(|v| v.get() != "null");
        if body_is_object && has_user {
            Product::Ims
        } else {
            Product::Vod
        }
    }

    /// The `EventType`: exactly one entry holding a string.
    pub(super) fn event_type(&self) -> Result<String, (EventDecodeErrorKind, String)> {
        let mut found = self.0.iter().filter(|(k, _)| k == "EventType");
        let Some((_, raw)) = found.next() else {
            return Err((
                EventDecodeErrorKind::MissingEventType,
                "missing field `EventType`".to_owned(),
            ));
        };
        if found.next().is_some() {
            return Err((
                EventDecodeErrorKind::InvalidEventType,
                "duplicate field `EventType`".to_owned(),
            ));
        }
        serde_json::from_str::<String>(raw.get())
            .map_err(|e| (EventDecodeErrorKind::InvalidEventType, without_position(&e)))
    }

    /// The status word as sent (`MessageBody.Status` for IMS), for unknown events.
    fn status(&self, product: Product) -> Option<String> {
        match product {
            Product::Vod => self.str("Status"),
            Product::Ims => {
                let body =
                    serde_json::from_str::<Entries<'_>>(self.get("MessageBody")?.get()).ok()?;
                body.str("Status")
            }
        }
    }
}

/// serde_json's message without its ` at line L column C` suffix: the JSON path says where.
pub(super) fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(m) => m.to_owned(),
        None => message,
    }
}

/// The index in [`EVENT_TYPES`] of `event_type` (or an alias of it) for `product`.
pub(super) fn lookup(product: Product, event_type: &str) -> Option<(usize, Option<&'static str>)> {
    EVENT_TYPES.iter().enumerate().find_map(|(i, info)| {
        if info.product != product {
            return None;
        }
        if info.event_type == event_type {
            return Some((i, None));
        }
        info.aliases
            .iter()
            .find(|a| **a == event_type)
            .map(|a| (i, Some(*a)))
    })
}

/// Decodes one event object from its JSON text. Never panics; every failure is an error value
/// that keeps the text.
pub(super) fn decode_str(json: &str) -> Result<Event, EventDecodeError> {
    let fail = |kind, product, event_type: Option<&str>, path: String, message: String| {
        Err(EventDecodeError {
            kind,
            product,
            event_type: event_type.map(str::to_owned),
            path,
            message,
            raw: Arc::from(json),
        })
    };
    let entries = match serde_json::from_str::<Entries<'_>>(json) {
        Ok(entries) => entries,
        Err(e) => {
            let kind = EventDecodeErrorKind::NotAnObject;
            return fail(
                kind,
                Product::Vod,
                None,
                String::new(),
                without_position(&e),
            );
        }
    };
    let product = entries.product();
    let event_type = match entries.event_type() {
        Ok(t) => t,
        Err((kind, message)) => return fail(kind, product, None, "EventType".into(), message),
    };
    let Some((index, alias)) = lookup(product, &event_type) else {
        let raw = match RawValue::from_string(json.to_owned()) {
            Ok(raw) => raw,
            Err(e) => {
                let kind = EventDecodeErrorKind::NotAnObject;
                return fail(
                    kind,
                    product,
                    Some(&event_type),
                    String::new(),
                    without_position(&e),
                );
            }
        };
        return Ok(Event::Unknown(Box::new(UnknownEvent {
            product,
            event_time: entries.str("EventTime"),
            status: entries.status(product),
            event_type,
            raw,
        })));
    };
    let mut de = serde_json::Deserializer::from_str(json);
    match decode_variant(index, &mut de) {
        Some(Ok(mut event)) => {
            if let Some(alias) = alias {
                event.set_alias(alias);
            }
            Ok(event)
        }
        Some(Err(_)) => {
            // Rare: decode again, tracking the path, to say where the value is wrong.
            let mut track = serde_path_to_error::Track::new();
            let mut de = serde_json::Deserializer::from_str(json);
            let tracked = serde_path_to_error::Deserializer::new(&mut de, &mut track);
            let message = match decode_variant(index, tracked) {
                Some(Err(e)) => without_position(&e),
                _ => "does not match the model".to_owned(),
            };
            let path = track.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let kind = EventDecodeErrorKind::InvalidPayload;
            fail(kind, product, Some(&event_type), path, message)
        }
        None => fail(
            EventDecodeErrorKind::InvalidPayload,
            product,
            Some(&event_type),
            String::new(),
            "no decoder for this EventType".to_owned(),
        ),
    }
}

/// Visitor behind `impl Deserialize for Event`: the object's entries are taken as raw JSON
/// (whatever the deserializer), written back as one object and decoded like text, so every
/// way in gives the same result.
pub(super) struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Alibaba VOD or IMS event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut text = String::from("{");
        while let Some(key) = map.next_key::<String>()? {
            let value: Box<RawValue> = map.next_value()?;
            if text.len() > 1 {
                text.push(',');
            }
            let quoted = serde_json::to_string(&key).map_err(de::Error::custom)?;
            text.push_str(&quoted);
            text.push(':');
            text.push_str(value.get());
        }
        text.push('}');
        decode_str(&text).map_err(de::Error::custom)
    }
}
