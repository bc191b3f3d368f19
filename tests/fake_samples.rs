//! The sample events of `fake::samples`, checked against the model by an independent walker.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use vod_events::tencent::client::decode_response;
use vod_events::tencent::fake::samples::{
    all_sample_events, cycling_sample, event_types, sample_event, service_order_json,
    unknown_event_sample, UNKNOWN_EVENT_TYPE,
};
use vod_events::tencent::fake::{FakeConfig, FakeVod};
use vod_events::tencent::sign::{sign, SigningInput};
use vod_events::tencent::PullEvents;

/// The model, read from the spec file (not from the library's embedded copy).
struct Model {
    structs: HashMap<String, Vec<(String, String)>>,
    /// EventType → (payload field, struct name).
    event_types: BTreeMap<String, (String, String)>,
}

fn model() -> Model {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/tencent-vod-events.json");
    let raw: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let fields = |v: &Value| -> Vec<(String, String)> {
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_owned(),
                    f["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let mut structs = HashMap::new();
    for (name, st) in raw["structs"].as_object().unwrap() {
        structs.insert(name.clone(), fields(st));
    }
    let mut event_types = BTreeMap::new();
    for (key, v) in raw.as_object().unwrap() {
        if ["_meta", "EventContent", "structs"].contains(&key.as_str()) {
            continue;
        }
        event_types.insert(
            key.clone(),
            (
                v["payload_field"].as_str().unwrap().to_owned(),
                v["struct_name"].as_str().unwrap().to_owned(),
            ),
        );
    }
    Model {
        structs,
        event_types,
    }
}

impl Model {
    /// Checks `v` against type `ty`; with `complete`, every struct field must be present and
    /// non-null.
    fn check(&self, ty: &str, v: &Value, path: &str, complete: bool, errors: &mut Vec<String>) {
        if v.is_null() {
            if complete {
                errors.push(format!("{path}: null"));
            }
            return;
        }
        let ok = match ty {
            "string" => v.is_string(),
            "int64" => v.is_i64(),
            "uint64" => v.is_u64(),
            "float64" => v.is_number(),
            "bool" => v.is_boolean(),
            _ => {
                if let Some(inner) = ty.strip_prefix("list<").and_then(|t| t.strip_suffix('>')) {
                    let Some(items) = v.as_array() else {
                        errors.push(format!("{path}: expected a list"));
                        return;
                    };
                    if complete && items.is_empty() {
                        errors.push(format!("{path}: empty list"));
                    }
                    for (i, item) in items.iter().enumerate() {
                        self.check(inner, item, &format!("{path}[{i}]"), complete, errors);
                    }
                    return;
                }
                let Some(fields) = self.structs.get(ty) else {
                    errors.push(format!("{path}: unknown type {ty}"));
                    return;
                };
                let Some(obj) = v.as_object() else {
                    errors.push(format!("{path}: expected object {ty}"));
                    return;
                };
                for (key, val) in obj {
                    match fields.iter().find(|(n, _)| n == key) {
                        Some((_, fty)) => {
                            self.check(fty, val, &format!("{path}.{key}"), complete, errors)
                        }
                        None => errors.push(format!("{path}.{key}: not a field of {ty}")),
                    }
                }
                if complete {
                    for (name, _) in fields {
                        if !obj.contains_key(name) {
                            errors.push(format!("{path}.{name}: missing"));
                        }
                    }
                }
                return;
            }
        };
        if !ok {
            errors.push(format!("{path}: {v} is not a {ty}"));
        }
    }

    /// Validates an `EventContent` (sample or delivered event). Returns the errors.
    fn check_event(&self, event: &Value, complete: bool) -> Vec<String> {
        let mut errors = Vec::new();
        let event_type = event["EventType"].as_str().unwrap_or_default();
        let Some((payload_field, struct_name)) = self.event_types.get(event_type) else {
            return vec![format!("unknown EventType {event_type}")];
        };
        for (key, val) in event.as_object().unwrap() {
            match key.as_str() {
                "EventType" | "EventHandle" => assert!(val.is_string()),
                k if k == payload_field => {
                    self.check(struct_name, val, payload_field, complete, &mut errors)
                }
                k => {
                    // Other payload fields may only be present as null.
                    if !self.structs["EventContent"].iter().any(|(n, _)| n == k) {
                        errors.push(format!("{k}: not a field of EventContent"));
                    } else if !val.is_null() {
                        errors.push(format!("{k}: set on a {event_type} event"));
                    }
                }
            }
        }
        if complete && event.get(payload_field).is_none() {
            errors.push(format!("{payload_field}: missing"));
        }
        errors
    }
}

#[test]
fn samples_cover_every_event_type_and_fill_every_field() {
    let m = model();
    assert_eq!(m.event_types.len(), 37);
    assert_eq!(m.structs.len(), 319);
    let types = event_types();
    assert_eq!(types.len(), 37);
    let names: HashSet<_> = types.iter().map(|t| t.event_type.clone()).collect();
    assert_eq!(names, m.event_types.keys().cloned().collect());

    let samples = all_sample_events(3);
    assert_eq!(samples.len(), 37);
    let mut seen = HashSet::new();
    for (info, sample) in types.iter().zip(&samples) {
        assert_eq!(sample["EventType"], info.event_type.as_str());
        assert!(sample.get("EventHandle").is_none());
        assert_eq!(
            m.event_types[&info.event_type],
            (info.payload_field.clone(), info.struct_name.clone())
        );
        let errors = m.check_event(sample, true);
        assert!(errors.is_empty(), "{}: {errors:#?}", info.event_type);
        // The payload field is declared in EventContent with the payload struct's type.
        let ec = &m.structs["EventContent"];
        assert!(ec.contains(&(info.payload_field.clone(), info.struct_name.clone())));
        seen.insert(info.event_type.clone());
    }
    assert_eq!(seen.len(), 37);
}

#[test]
fn the_walker_accepts_the_official_sample_and_catches_mistakes() {
    let m = model();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/spec/tencent-vod-pullevents-example.json"
    );
    let example: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let event = &example["Response"]["EventSet"][0];
    assert_eq!(m.check_event(event, false), Vec::<String>::new());

    let mut bad = sample_event("NewFileUpload", 0).unwrap();
    bad["FileUploadEvent"]["MediaBasicInfo"]["NoSuchField"] = json!(1);
    bad["FileUploadEvent"]["FileId"] = json!(5);
    let errors = m.check_event(&bad, true);
    assert_eq!(errors.len(), 2, "{errors:?}");
    let mut incomplete = sample_event("FileDeleted", 0).unwrap();
    incomplete["FileDeleteEvent"]
        .as_object_mut()
        .unwrap()
        .remove("FileIdSet");
    assert_eq!(m.check_event(&incomplete, true).len(), 1);
}

#[test]
fn samples_use_examples_hints_and_plausible_values() {
    let s = sample_event("NewFileUpload", 42).unwrap();
    let p = &s["FileUploadEvent"];
    // Model example, plus the zero-padded index.
    assert_eq!(p["FileId"], "5285485487985271487000042");
    assert_eq!(
        p["ProcedureTaskId"],
        "125xxx65-procedurev2-bffb15f07530b57bc1aabb01fac74bca"
    );
    let info = &p["MediaBasicInfo"];
    for (key, val) in info.as_object().unwrap() {
        if key.ends_with("Time") {
            let t = val.as_str().unwrap();
            assert!(t.len() >= 20 && t.as_bytes()[10] == b'T', "{key}: {t}");
        }
    }
    let s = sample_event("ProcedureStateChanged", 1).unwrap();
    let p = &s["ProcedureStateChangeEvent"];
    // First values_hint when there is no example.
    assert!(["PROCESSING", "FINISH"].contains(&p["Status"].as_str().unwrap()));
    assert!(p["TaskId"].as_str().unwrap().ends_with("-000001"));
    // URLs stay under example.com when the model gives no example.
    let text = s.to_string();
    assert!(text.contains("https://example.com/"));
    assert!(!text.contains("@@"), "unreplaced marker");
}

#[test]
fn samples_are_deterministic_and_indices_give_distinct_ids() {
    for info in event_types() {
        let a = sample_event(&info.event_type, 5).unwrap();
        assert_eq!(a, sample_event(&info.event_type, 5).unwrap());
        assert_ne!(
            a,
            sample_event(&info.event_type, 6).unwrap(),
            "{}",
            info.event_type
        );
    }
    let types = event_types();
    for i in [0u64, 1, 36, 37, 1000] {
        let s = cycling_sample(i).unwrap();
        assert_eq!(s["EventType"], types[(i % 37) as usize].event_type.as_str());
    }
    assert!(sample_event("NoSuchType", 0).is_none());
}

#[test]
fn the_unknown_sample_is_outside_the_model() {
    let m = model();
    let s = unknown_event_sample(9);
    assert_eq!(s["EventType"], UNKNOWN_EVENT_TYPE);
    assert!(!m.event_types.contains_key(UNKNOWN_EVENT_TYPE));
    let ec = &m.structs["EventContent"];
    let extra: Vec<_> = s
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !ec.iter().any(|(n, _)| n == *k))
        .collect();
    assert_eq!(extra.len(), 2, "{extra:?}");
    assert_eq!(
        s["FutureFeatureCompleteEvent"]["TaskId"],
        "1500000001-FutureFeature-000009"
    );
}

#[test]
fn service_order_puts_handle_and_type_first() {
    let object = json!({"B": 1, "EventType": "X", "A": {"Z": 1, "Y": 2}, "EventHandle": "h"});
    assert_eq!(
        service_order_json(object.as_object().unwrap()),
        r#"{"EventHandle":"h","EventType":"X","A":{"Y":2,"Z":1},"B":1}"#
    );
    let object = json!({"B": 1, "EventType": "X"});
    assert_eq!(
        service_order_json(object.as_object().unwrap()),
        r#"{"EventType":"X","B":1}"#
    );
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_hundred_thousand_samples_are_cheap_and_delivered_valid() {
    let m = model();
    let fake = FakeVod::start(FakeConfig::fast()).await.unwrap();
    let t = Instant::now();
    let range = fake.push_samples(None, 100_000);
    let took = t.elapsed();
    assert_eq!(range, 0..100_000);
    assert!(took < Duration::from_secs(2), "pushing took {took:?}");
    assert_eq!(fake.stats().queued, 100_000);
    assert_eq!(fake.push_samples(Some(3), 2), 100_000..100_002);

    let http = reqwest::Client::new();
    let mut ids = HashSet::new();
    for _ in 0..4 {
        let ts = unix_now();
        let signed = sign(&SigningInput {
            secret_id: FakeConfig::DEFAULT_SECRET_ID,
            secret_key: FakeConfig::DEFAULT_SECRET_KEY,
            service: "vod",
            host: &fake.host(),
            content_type: "application/json",
            timestamp: ts,
            payload: b"{}",
        });
        let body = http
            .post(fake.endpoint())
            .header("Content-Type", "application/json")
            .header("X-TC-Action", "PullEvents")
            .header("X-TC-Version", "2018-07-17")
            .header("X-TC-Timestamp", ts.to_string())
            .header("Authorization", signed.authorization)
            .body("{}")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        // Laid out as the service lays events out: handle, type, payload.
        for raw in decode_response::<PullEvents>(&body).unwrap().event_set {
            let after_handle = raw
                .get()
                .strip_prefix("{\"EventHandle\":\"")
                .and_then(|rest| rest.split_once('"'))
                .map(|(_, rest)| rest);
            assert!(
                after_handle.is_some_and(|rest| rest.starts_with(",\"EventType\":\"")),
                "{}",
                &raw.get()[..raw.get().len().min(120)]
            );
        }
        let resp: Value = serde_json::from_slice(&body).unwrap();
        let events = resp["Response"]["EventSet"].as_array().unwrap();
        assert_eq!(events.len(), 16);
        for ev in events {
            assert!(ev["EventHandle"].is_string());
            let errors = m.check_event(ev, false);
            assert!(errors.is_empty(), "{errors:?}");
            ids.insert(ev.to_string());
        }
    }
    assert_eq!(ids.len(), 64);
    assert_eq!(fake.stats().in_flight, 64);
}
