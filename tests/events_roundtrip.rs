//! Round-trip tests over the whole model: for every EventType, a fixture with every field
//! filled (built from `spec/tencent-vod-events.json`) decodes and serialises back exactly.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use vod_events::tencent::events::{decode_event_json, Event, EventDecodeErrorKind, EVENT_TYPES};

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/tencent-vod-events.json");
    let text = std::fs::read_to_string(path).expect("read spec");
    serde_json::from_str(&text).expect("parse spec")
}

/// Builds a value of model type `ty` with every field filled. `seed` varies scalars;
/// `visited` collects the structs built.
fn fill(spec: &Value, ty: &str, seed: &mut u64, visited: &mut BTreeSet<String>) -> Value {
    *seed += 1;
    let n = *seed;
    if let Some(inner) = ty.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
        return Value::Array(vec![
            fill(spec, inner, seed, visited),
            fill(spec, inner, seed, visited),
        ]);
    }
    match ty {
        "string" => Value::String(format!("s{n}-é\"x")),
        // Beyond i32, negative.
        "int64" => json!(-9_000_000_000_i64 - n as i64),
        // Beyond i64.
        "uint64" => json!(u64::MAX - n),
        // Non-integral, so it must come back as a float.
        "float64" => json!(n as f64 + 0.125),
        "bool" => json!(n.is_multiple_of(2)),
        name => {
            visited.insert(name.to_owned());
            let fields = spec["structs"][name]["fields"]
                .as_array()
                .unwrap_or_else(|| panic!("struct {name} not in spec"));
            let mut obj = Map::new();
            for f in fields {
                let fname = f["name"].as_str().expect("name");
                let fty = f["type"].as_str().expect("type");
                obj.insert(fname.to_owned(), fill(spec, fty, seed, visited));
            }
            Value::Object(obj)
        }
    }
}

fn full_event(spec: &Value, event_type: &str, visited: &mut BTreeSet<String>) -> Value {
    let info = &spec[event_type];
    let field = info["payload_field"].as_str().expect("payload_field");
    let sname = info["struct_name"].as_str().expect("struct_name");
    let mut seed = 0;
    json!({ "EventType": event_type, field: fill(spec, sname, &mut seed, visited) })
}

fn event_types(spec: &Value) -> Vec<String> {
    spec.as_object()
        .expect("object")
        .keys()
        .filter(|k| !matches!(k.as_str(), "_meta" | "EventContent" | "structs"))
        .cloned()
        .collect()
}

#[test]
fn every_event_type_round_trips_with_every_field_filled() {
    let spec = spec();
    let types = event_types(&spec);
    assert_eq!(types.len(), 37);
    assert_eq!(EVENT_TYPES.len(), 37);
    let mut visited = BTreeSet::new();
    for et in &types {
        let expected = full_event(&spec, et, &mut visited);

        // Generic Deserialize from a Value and from text.
        let from_value: Event = serde_json::from_value(expected.clone())
            .unwrap_or_else(|e| panic!("{et}: from_value: {e}"));
        assert_eq!(from_value.event_type(), et);
        assert!(from_value.is_known(), "{et} decoded as Unknown");
        let back = serde_json::to_value(&from_value).expect("serialise");
        assert_eq!(
            back, expected,
            "{et}: round trip through from_value differs"
        );

        let text = serde_json::to_string(&expected).expect("to_string");
        let from_str: Event =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{et}: from_str: {e}"));
        assert_eq!(
            from_str, from_value,
            "{et}: from_str and from_value disagree"
        );

        // Fast path, as PullEvents delivers it: with a handle and explicit nulls elsewhere.
        let mut delivered = expected.as_object().expect("object").clone();
        delivered.insert("EventHandle".into(), json!("handle-1"));
        for info in EVENT_TYPES.iter().filter(|i| i.event_type != et) {
            delivered.insert(info.payload_field.into(), Value::Null);
        }
        let text = serde_json::to_string(&delivered).expect("to_string");
        let received = decode_event_json(&text).expect("valid JSON");
        assert_eq!(received.handle(), Some("handle-1"));
        assert_eq!(received.event_type(), Some(et.as_str()));
        let event = received.event().unwrap_or_else(|e| panic!("{et}: {e}"));
        assert_eq!(
            event, &from_value,
            "{et}: fast path and generic path disagree"
        );
        assert_eq!(
            serde_json::to_value(event).expect("ser"),
            expected,
            "{et}: fast path"
        );

        // A payload-less event of a known type round-trips too.
        let bare = json!({ "EventType": et });
        let ev: Event = serde_json::from_value(bare.clone()).expect("bare");
        assert_eq!(
            ev.payload_field(),
            Some(spec[et.as_str()]["payload_field"].as_str().unwrap())
        );
        assert_eq!(serde_json::to_value(&ev).expect("ser"), bare, "{et}: bare");
        let mut with_null = bare.as_object().expect("object").clone();
        with_null.insert(ev.payload_field().expect("field").into(), Value::Null);
        let ev2: Event = serde_json::from_value(Value::Object(with_null)).expect("null payload");
        assert_eq!(ev2, ev);
    }
    // Every struct reachable from EventContent was built with all its fields, so every one of
    // the model's fields went through both directions.
    let all: BTreeSet<String> = spec["structs"]
        .as_object()
        .expect("structs")
        .keys()
        .filter(|k| k.as_str() != "EventContent")
        .cloned()
        .collect();
    assert_eq!(visited, all);
}

#[test]
fn event_type_table_matches_the_spec() {
    let spec = spec();
    let types = event_types(&spec);
    let mut ours: Vec<&str> = EVENT_TYPES.iter().map(|i| i.event_type).collect();
    ours.sort_unstable();
    let mut theirs: Vec<&str> = types.iter().map(String::as_str).collect();
    theirs.sort_unstable();
    assert_eq!(ours, theirs);
    for info in &EVENT_TYPES {
        let et = info.event_type;
        assert_eq!(info.payload_field, spec[et]["payload_field"], "{et}");
        assert_eq!(info.payload_struct, spec[et]["struct_name"], "{et}");
    }
}

#[test]
fn irregular_payload_field_names_come_from_the_model() {
    for (et, field) in [
        ("NewFileUpload", "FileUploadEvent"),
        ("RemoveWatermark", "RemoveWatermarkCompleteEvent"),
        (
            "ExtractBlindWatermarkComplete",
            "ExtractBlindWatermarkComplete",
        ),
        ("AigcImageTaskComplete", "AigcImageCompleteEvent"),
        (
            "CreateSnapshotByTimeOffsetComplete",
            "SnapshotByTimeOffsetCompleteEvent",
        ),
        ("ProcedureStateChanged", "ProcedureStateChangeEvent"),
    ] {
        let id = if et == "NewFileUpload" {
            "FileId"
        } else {
            "TaskId"
        };
        let v = json!({ "EventType": et, field: { id: "t1" } });
        let ev: Event = serde_json::from_value(v.clone()).expect("decode");
        assert_eq!(ev.payload_field(), Some(field));
        assert_eq!(serde_json::to_value(&ev).expect("ser"), v, "{et}");
        assert!(
            ev.task_id() == Some("t1") || ev.file_id() == Some("t1"),
            "{et}"
        );
    }
    // The payload under a derived (wrong) name is not taken for the typed value.
    let v = json!({ "EventType": "RemoveWatermark", "RemoveWatermarkEvent": { "TaskId": "t1" } });
    let ev: Event = serde_json::from_value(v).expect("decode");
    assert_eq!(ev, Event::RemoveWatermark(None));
}

#[test]
fn unknown_event_types_round_trip_exactly() {
    let v = json!({
        "EventType": "SomethingNewComplete",
        "SomethingNewCompleteEvent": { "TaskId": "t9", "Nested": { "A": [1, 2.5, null, "x"] } },
        "PullCompleteEvent": null,
        "ExtraTopLevel": 42
    });
    let ev: Event = serde_json::from_value(v.clone()).expect("decode");
    assert!(!ev.is_known());
    assert_eq!(ev.event_type(), "SomethingNewComplete");
    assert_eq!(ev.payload_field(), None);
    assert_eq!(serde_json::to_value(&ev).expect("ser"), v);

    // From text, with the handle first (dropped) and EventType after other keys.
    let text = r#"{"EventHandle":"h","X":{"y":[true,null]},"EventType":"Zzz","N":null}"#;
    let ev: Event = serde_json::from_str(text).expect("decode");
    assert_eq!(
        serde_json::to_value(&ev).expect("ser"),
        json!({"X":{"y":[true,null]},"EventType":"Zzz","N":null})
    );
    let received = decode_event_json(text).expect("json");
    assert_eq!(received.event().expect("ok"), &ev);
    assert_eq!(received.handle(), Some("h"));
}

#[test]
fn unknown_type_reusing_a_known_payload_field_can_be_decoded_on_request() {
    let v = json!({
        "EventType": "SceneAigcImageComplete",
        "SceneAigcImageCompleteEvent": { "TaskId": "t1", "Status": "FINISH" },
        "FileUploadEvent": null
    });
    let ev: Event = serde_json::from_value(v).expect("decode");
    let Event::Unknown(u) = &ev else {
        panic!("expected Unknown")
    };
    let known: Vec<&str> = u.known_payload_fields().map(|i| i.event_type).collect();
    assert_eq!(known, ["SceneAigcImageCompleteEvent"]);
    let typed = u.decode_as(known[0]).expect("known type").expect("decodes");
    assert_eq!(typed.task_id(), Some("t1"));
    assert!(u.decode_as("NoSuchType").is_none());
}

#[test]
fn unknown_fields_do_not_fail_parsing_and_stay_in_the_raw_json() {
    let text = r#"{"EventHandle":"h","EventType":"PullComplete","NewTopLevel":{"a":1},
        "PullCompleteEvent":{"TaskId":"t","BrandNewField":[1,2,3],
        "MetaData":{"Duration":60,"FutureCodecInfo":{"x":"y"}}}}"#;
    let received = decode_event_json(text).expect("json");
    let event = received.event().expect("decodes");
    assert_eq!(event.task_id(), Some("t"));
    let Event::PullComplete(Some(task)) = event else {
        panic!("variant")
    };
    assert_eq!(task.meta_data.as_ref().and_then(|m| m.duration), Some(60.0));
    let raw: Value = serde_json::from_str(received.raw().get()).expect("raw");
    assert_eq!(raw["PullCompleteEvent"]["BrandNewField"], json!([1, 2, 3]));
    assert_eq!(
        raw["PullCompleteEvent"]["MetaData"]["FutureCodecInfo"]["x"],
        "y"
    );
    assert_eq!(raw["NewTopLevel"]["a"], 1);
    // Known fields round-trip; `Duration: 60` comes back as an integer, as sent.
    assert_eq!(
        serde_json::to_value(event).expect("ser"),
        json!({"EventType":"PullComplete","PullCompleteEvent":{"TaskId":"t","MetaData":{"Duration":60}}})
    );
}

#[test]
fn wrong_scalar_types_name_the_json_path_and_keep_the_raw_object() {
    let text = r#"{"EventHandle":"h7","EventType":"PullComplete","PullCompleteEvent":{"TaskId":"t","ErrCode":"x"}}"#;
    let received = decode_event_json(text).expect("json");
    assert_eq!(received.handle(), Some("h7"));
    assert_eq!(received.event_type(), Some("PullComplete"));
    assert_eq!(received.raw().get(), text);
    let err = received.event().expect_err("must fail");
    assert_eq!(err.kind(), EventDecodeErrorKind::InvalidPayload);
    assert_eq!(err.event_type(), Some("PullComplete"));
    assert_eq!(err.path(), "PullCompleteEvent.ErrCode");
    assert_eq!(err.message(), r#"invalid type: string "x", expected i64"#);
    assert_eq!(
        err.to_string(),
        r#"PullComplete event: PullCompleteEvent.ErrCode: invalid type: string "x", expected i64"#
    );
    assert!(received
        .idempotency_key()
        .starts_with("PullComplete:sha256:"));

    // Nested, inside a list.
    let text = r#"{"EventType":"ProcedureStateChanged","ProcedureStateChangeEvent":{"MetaData":
        {"VideoStreamSet":[{"Bitrate":1},{"Bitrate":1.5}]}}}"#;
    let received = decode_event_json(text).expect("json");
    let err = received.event().expect_err("must fail");
    assert_eq!(
        err.path(),
        "ProcedureStateChangeEvent.MetaData.VideoStreamSet[1].Bitrate"
    );
    assert!(err.message().contains("expected i64"), "{}", err.message());

    // `Event::from_json` uses the same decoder.
    let err =
        Event::from_json(r#"{"EventType":"PullComplete","PullCompleteEvent":{"ErrCode":"x"}}"#)
            .expect_err("must fail");
    assert_eq!(err.path(), "PullCompleteEvent.ErrCode");
    assert_eq!(
        Event::from_json("not json").expect_err("not json").kind(),
        EventDecodeErrorKind::NotAnObject
    );

    // The generic Deserialize names the path too.
    let e = serde_json::from_str::<Event>(
        r#"{"EventType":"PullComplete","PullCompleteEvent":{"ErrCode":"x"}}"#,
    )
    .expect_err("must fail")
    .to_string();
    assert!(
        e.starts_with(r#"PullCompleteEvent.ErrCode: invalid type: string "x", expected i64"#),
        "{e}"
    );
    let e = serde_json::from_value::<Event>(
        json!({"PullCompleteEvent":{"ErrCode":"x"},"EventType":"PullComplete"}),
    )
    .expect_err("must fail")
    .to_string();
    assert_eq!(
        e,
        r#"PullCompleteEvent.ErrCode: invalid type: string "x", expected i64"#
    );

    // A uint64 field given a negative number; a payload that is not an object.
    let received = decode_event_json(
        r#"{"EventType":"WechatPublishComplete","WechatPublishCompleteEvent":{"Definition":-1}}"#,
    )
    .expect("json");
    assert_eq!(
        received.event().expect_err("fails").path(),
        "WechatPublishCompleteEvent.Definition"
    );
    let received = decode_event_json(r#"{"EventType":"PullComplete","PullCompleteEvent":"oops"}"#)
        .expect("json");
    assert_eq!(
        received.event().expect_err("fails").path(),
        "PullCompleteEvent"
    );
}

#[test]
fn event_type_problems_are_reported_with_the_handle() {
    let cases = [
        (
            r#"{"EventHandle":"h","FileUploadEvent":null}"#,
            EventDecodeErrorKind::MissingEventType,
        ),
        (
            r#"{"EventHandle":"h","EventType":5}"#,
            EventDecodeErrorKind::InvalidEventType,
        ),
        (
            r#"{"EventHandle":"h","EventType":null}"#,
            EventDecodeErrorKind::InvalidEventType,
        ),
        (
            r#"{"EventHandle":"h","EventType":"A","EventType":"B"}"#,
            EventDecodeErrorKind::InvalidEventType,
        ),
    ];
    for (text, kind) in cases {
        let r = decode_event_json(text).expect("json");
        assert_eq!(r.handle(), Some("h"), "{text}");
        let err = r.event().expect_err(text);
        assert_eq!(err.kind(), kind, "{text}");
        assert_eq!(err.path(), "EventType");
        assert!(serde_json::from_str::<Event>(text).is_err(), "{text}");
    }
    let r = decode_event_json("[1,2]").expect("json");
    assert_eq!(
        r.event().expect_err("array").kind(),
        EventDecodeErrorKind::NotAnObject
    );
    assert_eq!(r.handle(), None);
}

#[test]
fn restore_media_status_is_an_integer_as_the_model_says() {
    let v = json!({"EventType":"RestoreMediaComplete","RestoreMediaCompleteEvent":{"FileId":"f","Status":0}});
    let ev: Event = serde_json::from_value(v.clone()).expect("decode");
    assert_eq!(ev.status_code(), Some(0));
    assert_eq!(ev.status(), None);
    assert_eq!(serde_json::to_value(&ev).expect("ser"), v);
    let bad =
        json!({"EventType":"RestoreMediaComplete","RestoreMediaCompleteEvent":{"Status":"FINISH"}});
    assert!(serde_json::from_value::<Event>(bad).is_err());
}

#[test]
fn event_is_small() {
    assert!(
        std::mem::size_of::<Event>() <= 16,
        "size_of::<Event>() = {}",
        std::mem::size_of::<Event>()
    );
}
