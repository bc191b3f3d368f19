//! Message bodies for the fake: every VOD and IMS sample of `spec/alibaba-events.json`, and
//! one event of a type no model knows.

use serde_json::Value;

/// The model the samples come from, compiled in so the fake needs no files at run time.
const SPEC: &str = include_str!("../../../../spec/alibaba-events.json");

/// A body of an EventType no model knows, with a field no model knows: consumers must keep
/// both.
pub const UNKNOWN_EVENT: &str = r#"{"EventType":"FutureEventFromTheFuture","EventTime":"2026-01-01T00:00:00Z","VideoId":"future-1","Status":"success","BrandNewField":{"nested":[1,2,3]}}"#;

/// One sample body per sample of the model (VOD and IMS, success and failure), compact
/// JSON, in the model's order. Empty if the model could not be read (it is compiled in and
/// checked by the tests, so it can).
pub fn all() -> Vec<String> {
    let Ok(spec) = serde_json::from_str::<Value>(SPEC) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ev in spec["events"].as_array().into_iter().flatten() {
        let supplement = &ev["supplement_not_in_seeds"]["samples"];
        for list in [&ev["samples"], supplement] {
            for s in list.as_array().into_iter().flatten() {
                if let Some(v) = s.get("valid_json_version").or_else(|| s.get("parsed")) {
                    out.push(v.to_string());
                }
            }
        }
    }
    out
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
