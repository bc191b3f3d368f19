//! Accessors and idempotency keys.

use serde_json::json;
use vod_events::tencent::events::{decode_event_json, event_type_info, Event, EventCategory};

fn event(v: serde_json::Value) -> Event {
    serde_json::from_value(v).expect("decodes")
}

#[test]
fn accessors_read_the_common_fields() {
    let ev = event(
        json!({"EventType":"EditMediaComplete","EditMediaCompleteEvent":{
        "TaskId":"t1","Status":"FINISH","ErrCode":70000,"ErrCodeExt":"InternalError","Message":"boom"}}),
    );
    assert_eq!(ev.task_id(), Some("t1"));
    assert_eq!(ev.status(), Some("FINISH"));
    assert_eq!(ev.err_code(), Some(70000));
    assert_eq!(ev.err_code_ext(), Some("InternalError"));
    assert_eq!(ev.message(), Some("boom"));
    assert_eq!(ev.file_id(), None, "EditMediaTask has no top-level FileId");

    let ev = event(json!({"EventType":"NewFileUpload","FileUploadEvent":{"FileId":"f1"}}));
    assert_eq!(ev.file_id(), Some("f1"));
    assert_eq!(ev.task_id(), None);
    assert_eq!(ev.status(), None);

    let ev = event(json!({"EventType":"PullComplete"}));
    assert_eq!(ev.file_id(), None);
    assert_eq!(ev.task_id(), None);
}

#[test]
fn idempotency_keys_follow_the_documented_recipes() {
    let cases = [
        (
            json!({"EventType":"NewFileUpload","FileUploadEvent":{"FileId":"f1","ProcedureTaskId":"p"}}),
            "NewFileUpload:f1",
        ),
        (
            json!({"EventType":"ProcedureStateChanged","ProcedureStateChangeEvent":{"TaskId":"t1","Status":"PROCESSING","FileId":"f"}}),
            "ProcedureStateChanged:t1:PROCESSING",
        ),
        (
            json!({"EventType":"ProcedureStateChanged","ProcedureStateChangeEvent":{"TaskId":"t1","Status":"FINISH"}}),
            "ProcedureStateChanged:t1:FINISH",
        ),
        (
            json!({"EventType":"FileDeleted","FileDeleteEvent":{"FileIdSet":["f2","f1","f2"]}}),
            "FileDeleted:f1,f2",
        ),
        (
            json!({"EventType":"RestoreMediaComplete","RestoreMediaCompleteEvent":{"FileId":"f1","Status":0}}),
            "RestoreMediaComplete:f1",
        ),
        (
            json!({"EventType":"TranscodeComplete","TranscodeCompleteEvent":{"TaskId":"t","FileId":"f"}}),
            "TranscodeComplete:t",
        ),
        (
            json!({"EventType":"MediaCastStatusChanged","MediaCastStatusChangedEvent":{"CastId":"c1","Status":"Working"}}),
            "MediaCastStatusChanged:c1:Working",
        ),
        (
            json!({"EventType":"PersistenceComplete","PersistenceCompleteEvent":{"FileId":"f9"}}),
            "PersistenceComplete:f9",
        ),
    ];
    for (v, key) in cases {
        assert_eq!(event(v.clone()).idempotency_key(), key, "{v}");
    }
}

#[test]
fn idempotency_key_falls_back_to_a_content_digest() {
    // No identity in the model.
    let a = event(
        json!({"EventType":"ProcessImageAsyncCompleteEvent","ProcessImageAsyncCompleteEvent":{"EncodeConfig":{"Format":"png"}}}),
    );
    let b = event(
        json!({"EventType":"ProcessImageAsyncCompleteEvent","ProcessImageAsyncCompleteEvent":{"EncodeConfig":{"Format":"jpg"}}}),
    );
    let ka = a.idempotency_key();
    assert!(
        ka.starts_with("ProcessImageAsyncCompleteEvent:sha256:"),
        "{ka}"
    );
    assert_eq!(
        ka.len(),
        "ProcessImageAsyncCompleteEvent:sha256:".len() + 64
    );
    assert_ne!(ka, b.idempotency_key());
    assert_eq!(ka, a.clone().idempotency_key(), "stable");

    // Identity missing or empty.
    let k = event(
        json!({"EventType":"PullComplete","PullCompleteEvent":{"TaskId":"","Status":"FINISH"}}),
    )
    .idempotency_key();
    assert!(k.starts_with("PullComplete:sha256:"), "{k}");

    // Unknown type: digest of the whole object, independent of key order; never the handle.
    let x = decode_event_json(r#"{"EventHandle":"h1","EventType":"New","A":1,"B":{"c":2,"d":3}}"#)
        .expect("json");
    let y = decode_event_json(r#"{"B":{"d":3,"c":2},"A":1,"EventType":"New","EventHandle":"h2"}"#)
        .expect("json");
    assert_eq!(x.idempotency_key(), y.idempotency_key());
    assert!(x.idempotency_key().starts_with("New:sha256:"));

    // Redelivery with another handle gives the same key.
    let p = decode_event_json(r#"{"EventHandle":"h1","EventType":"PullComplete","PullCompleteEvent":{"TaskId":"t","Status":"FINISH"}}"#).expect("json");
    let q = decode_event_json(r#"{"EventHandle":"h2","EventType":"PullComplete","PullCompleteEvent":{"TaskId":"t","Status":"FINISH"}}"#).expect("json");
    assert_eq!(p.idempotency_key(), q.idempotency_key());

    // Known digest value (canonical JSON is fixed, so this must never change).
    let d = event(json!({"EventType":"ProcessImageAsyncCompleteEvent"})).content_digest();
    // sha256 of `{"EventType":"ProcessImageAsyncCompleteEvent"}`
    assert_eq!(
        d,
        "dbff882e80eede2d385f2dfb8db80d1c0b164945bab3266ca34fff8812aa9400"
    );
}

#[test]
fn event_type_info_describes_the_types() {
    let info = event_type_info("CreateSnapshotByTimeOffsetComplete").expect("known");
    assert_eq!(info.payload_field, "SnapshotByTimeOffsetCompleteEvent");
    assert_eq!(info.payload_struct, "SnapshotByTimeOffsetTask2017");
    assert_eq!(info.category, EventCategory::Legacy2017);
    assert_eq!(
        event_type_info("ReduceMediaBitrateComplete")
            .expect("known")
            .category,
        EventCategory::Obsolete
    );
    assert!(event_type_info("Nope").is_none());
}

#[test]
fn json_without_handle_drops_only_the_handle_in_every_layout() {
    let cases = [
        // The service's layout: handle first, compact (the sliced fast path).
        r#"{"EventHandle":"h1","EventType":"X","A":1}"#,
        // Handle not first, whitespace, escapes, a second EventHandle key, the name in a value.
        r#"{"EventType":"X","EventHandle":"h1","A":1}"#,
        r#"{ "EventHandle" : "h1" , "EventType":"X"}"#,
        r#"{"EventHandle":"h\"1","EventType":"X"}"#,
        r#"{"EventHandle":"h1","EventType":"X","EventHandle":"h1"}"#,
        r#"{"EventHandle":"h1","EventType":"X","Note":"\"EventHandle\" in a value"}"#,
        r#"{"EventHandle":"h1"}"#,
    ];
    for raw in cases {
        let received = decode_event_json(raw).unwrap();
        let text = received.json_without_handle();
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{raw}: {text}: {e}"));
        assert!(value.get("EventHandle").is_none(), "{raw} -> {text}");
        let mut expected: serde_json::Value = serde_json::from_str(raw).unwrap();
        expected.as_object_mut().unwrap().remove("EventHandle");
        assert_eq!(value, expected, "{raw} -> {text}");
    }
    let fast = decode_event_json(cases[0]).unwrap().json_without_handle();
    assert_eq!(fast, r#"{"EventType":"X","A":1}"#);
}
