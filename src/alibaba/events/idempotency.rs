//! Idempotency keys (see [`Event::idempotency_key`]) and content digests.
//!
//! A key is `<provider>:<EventType>:<parts>`: the provider (`alibaba-vod`, `alibaba-ims`), the
//! EventType as the model names it (an alias the event came with gives the same key), then
//! the payload fields that identify one occurrence, chosen per EventType (listed on each
//! [`Event`] variant and in [`EventTypeInfo::idempotency_key`](super::EventTypeInfo)). A
//! missing part is left empty; when the first one is missing, or the EventType is unknown,
//! the parts are `sha256:<digest>` of the whole event.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Event;

/// One part of a key recipe (generated per EventType).
pub(super) enum Part<'a> {
    /// A payload field (its text as sent; a number sent bare or quoted gives the same text).
    Field(Option<&'a str>),
    /// The content digest, for events that can recur with the same ids (a metadata change).
    Digest,
}

/// Builds `event`'s key.
pub(super) fn key(event: &Event) -> String {
    let provider = event.product().provider();
    let event_type = event.info().map_or(event.event_type(), |i| i.event_type);
    let parts = event.key_parts();
    let identified =
        matches!(parts.as_deref(), Some([Part::Field(Some(id)), ..]) if !id.is_empty());
    let mut out = format!("{provider}:{event_type}");
    match parts {
        Some(parts) if identified => {
            for part in parts {
                out.push(':');
                match part {
                    Part::Field(value) => out.push_str(value.unwrap_or("")),
                    Part::Digest => {
                        out.push_str("sha256:");
                        out.push_str(&event.content_digest());
                    }
                }
            }
        }
        _ => {
            out.push_str(":sha256:");
            out.push_str(&event.content_digest());
        }
    }
    out
}

/// Lower-case hex SHA-256 of the JSON text's canonical form: parsed, object keys sorted at
/// every level, no whitespace. The same JSON gives the same digest whatever the key order or
/// spacing it came with. Text that is not JSON is digested as it is.
pub(crate) fn digest_json(text: &str) -> String {
    let canonical = match serde_json::from_str::<Value>(text) {
        Ok(value) => sorted(value).to_string(),
        Err(_) => text.to_owned(),
    };
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// `value` with every object's keys inserted in sorted order, so it prints sorted whether or
/// not serde_json's `preserve_order` feature is on somewhere in the build.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ignores_key_order_and_spacing() {
        assert_eq!(
            digest_json(r#"{"b":1,"a":{"d":[1,"x"],"c":null}}"#),
            digest_json(r#"{ "a" : { "c" : null, "d" : [1, "x"] }, "b" : 1 }"#)
        );
        assert_ne!(digest_json(r#"{"a":1}"#), digest_json(r#"{"a":2}"#));
    }
}
