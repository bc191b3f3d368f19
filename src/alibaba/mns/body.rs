//! Message bodies: raw JSON as VOD and IMS write them, or base64 of it as some SDKs write
//! by default (spec §5.6).

use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use serde_json::value::RawValue;

use crate::alibaba::events::{decode_message, ReceivedEvent};

/// How a body was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyEncoding {
    /// JSON as stored (what VOD and IMS write).
    Raw,
    /// Base64 of JSON (what the Python SDK writes by default).
    Base64,
    /// Neither: the body is kept as a JSON string, and decoding the event fails with it.
    NotJson,
}

/// Whether the base64 fallback was logged already (once per process: it is a property of
/// the producer, not of one message).
static LOGGED_BASE64: AtomicBool = AtomicBool::new(false);

/// Reads a body as JSON, else as base64 of JSON, else keeps it as a JSON string.
pub fn decode_body(body: String) -> (ReceivedEvent, BodyEncoding) {
    let trimmed = body.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(raw) = RawValue::from_string(trimmed.to_owned()) {
            return (decode_message(raw), BodyEncoding::Raw);
        }
    }
    if let Some(raw) = base64_json(trimmed) {
        if !LOGGED_BASE64.swap(true, Ordering::Relaxed) {
            tracing::info!(
                "an MNS message body was base64 of JSON, not raw JSON; decoded it (logged once)"
            );
        }
        return (decode_message(raw), BodyEncoding::Base64);
    }
    let quoted = serde_json::Value::String(body).to_string();
    let raw = RawValue::from_string(quoted)
        .unwrap_or_else(|_| unreachable!("a serialised JSON string is valid JSON"));
    (decode_message(raw), BodyEncoding::NotJson)
}

fn base64_json(text: &str) -> Option<Box<RawValue>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .ok()?;
    let json = String::from_utf8(bytes).ok()?;
    let json = json.trim();
    if !json.starts_with('{') {
        return None;
    }
    RawValue::from_string(json.to_owned()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_base64_and_neither() {
        let json = r#"{"EventType":"FileUploadComplete","VideoId":"v"}"#;
        let (e, enc) = decode_body(format!(" {json}\n"));
        assert_eq!((e.raw().get(), enc), (json, BodyEncoding::Raw));
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let (e, enc) = decode_body(b64);
        assert_eq!((e.raw().get(), enc), (json, BodyEncoding::Base64));
        assert_eq!(e.event_type(), Some("FileUploadComplete"));
        let (e, enc) = decode_body("hello <world>".into());
        assert_eq!(enc, BodyEncoding::NotJson);
        assert_eq!(e.raw().get(), r#""hello <world>""#);
        assert!(e.event().is_err());
        // A broken JSON body that is not base64 either is kept as text too.
        assert_eq!(decode_body("{broken".into()).1, BodyEncoding::NotJson);
    }
}
