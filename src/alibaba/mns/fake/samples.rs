//! Message bodies for the fake: every VOD and IMS sample of `spec/alibaba-events.json`, and
//! one event of a type no model knows.

use serde_json::Value;

/// The model the samples come from, compiled in so the fake needs no files at run time.
const SPEC: &str = include_str!("../../../../spec/alibaba-events.json");

/// A body of an EventType no model knows, with a field no model knows: consumers must keep
/// both.
pub const UNKNOWN_EVENT: &str = r#"{"EventType":"FutureEventFromTheFuture","EventTime":"2026-01-01T00:00:00Z","VideoId":"future-1","Status":"success","BrandNewField":{"nested":[1,2,3]}}"#;

/// One sample body per sample of the model (VOD and IMS, success and failure), compact
/// JSON, in the model's order; a type without a sample gets one made from its fields. Empty if the model could not be read (it is compiled in and
/// checked by the tests, so it can).
pub fn all() -> Vec<String> {
    let Ok(spec) = serde_json::from_str::<Value>(SPEC) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ev in spec["events"].as_array().into_iter().flatten() {
        let supplement = &ev["supplement_not_in_seeds"]["samples"];
        let before = out.len();
        for list in [&ev["samples"], supplement] {
            for s in list.as_array().into_iter().flatten() {
                if let Some(v) = s.get("valid_json_version").or_else(|| s.get("parsed")) {
                    out.push(v.to_string());
                }
            }
        }
        if out.len() == before {
            out.push(made_from_fields(ev).to_string());
        }
    }
    out
}

/// A body for a type the documents give no sample of (VOD's WorkflowTaskComplete), made
/// from its field list (the supplement's when there is one), so every type has a sample.
fn made_from_fields(ev: &Value) -> Value {
    let supplement = &ev["supplement_not_in_seeds"]["fields"];
    let fields = if supplement.is_array() {
        supplement
    } else {
        &ev["fields"]
    };
    let mut body = serde_json::Map::new();
    for field in fields.as_array().into_iter().flatten() {
        let (Some(path), Some(kind)) = (field["path"].as_str(), field["json_type"].as_str()) else {
            continue;
        };
        let value = match (path, kind) {
            ("EventType", _) => ev["event_type"].clone(),
            ("EventTime", _) => Value::from("2026-01-01T00:00:00Z"),
            ("Status", _) => Value::from("success"),
            (_, "integer") => Value::from(1),
            (_, "number") => Value::from(1.5),
            (_, "boolean") => Value::from(false),
            (_, "object") => Value::Object(serde_json::Map::new()),
            (_, "array") => Value::Array(Vec::new()),
            _ => Value::from(format!("sample-{path}")),
        };
        // Nested paths (`MessageBody.X`) go inside their parent object.
        let mut map = &mut body;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                map.entry(part).or_insert(value);
                break;
            }
            let parent = map
                .entry(part)
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            match parent {
                Value::Object(inner) => map = inner,
                _ => break,
            }
        }
    }
    Value::Object(body)
}

/// The sample bodies plus [`UNKNOWN_EVENT`].
pub fn all_with_unknown() -> Vec<String> {
    let mut out = all();
    out.push(UNKNOWN_EVENT.to_owned());
    out
}

/// The `i`-th body of a stream that cycles through [`all_with_unknown`], made distinct by
/// an `"n"`-style field (`"FakeMnsSeq"`) so each message has its own idempotency digest.
pub fn numbered(samples: &[String], i: usize) -> String {
    let Some(base) = samples.get(i % samples.len().max(1)) else {
        return UNKNOWN_EVENT.to_owned();
    };
    match serde_json::from_str::<Value>(base) {
        Ok(Value::Object(mut map)) => {
            map.insert("FakeMnsSeq".into(), Value::from(i as u64));
            Value::Object(map).to_string()
        }
        _ => base.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alibaba::events::{decode_json, Product, EVENT_TYPES};

    #[test]
    fn every_vod_and_ims_type_with_a_sample_is_covered() {
        let bodies = all();
        let decoded: Vec<_> = bodies.iter().map(|b| decode_json(b).unwrap()).collect();
        for info in EVENT_TYPES.iter() {
            if info.product == Product::Vod && info.event_type == "WorkflowTaskComplete" {
                continue; // the one event the model has no sample of
            }
            assert!(
                decoded.iter().any(|e| e
                    .event()
                    .ok()
                    .and_then(|ev| ev.info())
                    .is_some_and(|i| i.product == info.product && i.event_type == info.event_type)),
                "{:?} {}",
                info.product,
                info.event_type
            );
        }
        let unknown = decode_json(UNKNOWN_EVENT).unwrap();
        assert!(!unknown.event().unwrap().is_known());
        assert_ne!(numbered(&bodies, 0), numbered(&bodies, bodies.len()));
    }
}
