//! Idempotency keys and content digests (see [`Event::idempotency_key`]).

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Event;

/// Where an EventType's identity comes from (chosen per EventType by the generator).
pub(super) enum IdSource<'a> {
    /// One id string (`TaskId`, `FileId`, …) and the `Status` string if the payload has one.
    Single(Option<&'a str>, Option<&'a str>),
    /// A set of ids (`FileIdSet`) and the `Status` string if the payload has one.
    Set(Option<&'a [String]>, Option<&'a str>),
    /// No identity field: use the content digest.
    Digest,
}

/// Builds the key for `event` from its identity, falling back to the content digest.
pub(super) fn key(event: &Event, source: IdSource<'_>) -> String {
    let event_type = event.event_type();
    let (id, status) = match source {
        IdSource::Single(Some(id), status) if !id.is_empty() => (id.to_owned(), status),
        IdSource::Set(Some(ids), status)
            if !ids.is_empty() && ids.iter().all(|s| !s.is_empty()) =>
        {
            let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            sorted.dedup();
            (sorted.join(","), status)
        }
        _ => return format!("{event_type}:sha256:{}", event.content_digest()),
    };
    match status.filter(|s| !s.is_empty()) {
        Some(status) => format!("{event_type}:{id}:{status}"),
        None => format!("{event_type}:{id}"),
    }
}

/// Lower-case hex SHA-256 of the canonical form of `value` (see [`canonical_json`]).
pub(super) fn digest_value(value: &Value) -> String {
    let mut text = String::with_capacity(256);
    canonical_json(value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Canonical JSON: no whitespace, object keys sorted by code point at every level, numbers and
/// strings as serde_json writes them. Independent of serde_json's `preserve_order` feature.
pub(super) fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => push_json_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_str(k, out);
                out.push(':');
                canonical_json(v, out);
            }
            out.push('}');
        }
    }
}

fn push_json_str(s: &str, out: &mut String) {
    // Serialising a `str` cannot fail; fall back to an empty string literal just in case.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,2.5,"x"],"c":null}}"#).unwrap_or_default();
        let mut s = String::new();
        canonical_json(&v, &mut s);
        assert_eq!(s, r#"{"a":{"c":null,"d":[1,2.5,"x"]},"b":1}"#);
    }
}
