//! Arbitrary JSON given to the event parser never panics, and whatever decodes re-serialises
//! to something that decodes to the same event.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use vod_events::tencent::events::{decode_event_json, Event, EventDecodeErrorKind, EVENT_TYPES};

/// Keys that hit the interesting paths: the discriminator, payload fields, common payload
/// field names, plus arbitrary strings.
fn key() -> impl Strategy<Value = String> {
    let known: Vec<String> = [
        "EventType",
        "EventHandle",
        "TaskId",
        "FileId",
        "ErrCode",
        "Status",
        "MetaData",
        "Duration",
        "VideoStreamSet",
        "Bitrate",
        "MediaProcessResultSet",
        "Type",
        "FileIdSet",
        "TranscodeTask",
        "Output",
        "Input",
        "MediaBasicInfo",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(EVENT_TYPES.iter().map(|i| i.payload_field.to_string()))
    .collect();
    prop_oneof![
        3 => proptest::sample::select(known),
        1 => "[A-Za-z\\\\\"é]{0,8}",
    ]
}

fn event_type_value() -> impl Strategy<Value = Value> {
    let types: Vec<Value> = EVENT_TYPES
        .iter()
        .map(|i| Value::String(i.event_type.to_string()))
        .collect();
    prop_oneof![
        4 => proptest::sample::select(types),
        1 => "[A-Za-z]{0,12}".prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<i64>().prop_map(|n| Value::Number(n.into())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z0-9 é\\\\\"]{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn event_object() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec((key(), json_value()), 0..8),
        proptest::option::weighted(0.9, event_type_value()),
    )
        .prop_map(|(entries, et)| {
            let mut m: Map<String, Value> = entries.into_iter().collect();
            if let Some(et) = et {
                m.insert("EventType".into(), et);
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_objects_never_panic(obj in event_object()) {
        let text = serde_json::to_string(&obj).expect("serialise");
        let received = decode_event_json(&text).expect("valid JSON");
        let _ = received.json_without_handle();
        let _ = received.idempotency_key();
        let generic_value = serde_json::from_value::<Event>(obj.clone());
        let generic_text = serde_json::from_str::<Event>(&text);
        // The fast path and the generic paths agree on success or failure.
        prop_assert_eq!(received.event().is_ok(), generic_text.is_ok(), "{}", text);
        prop_assert_eq!(generic_value.is_ok(), generic_text.is_ok(), "{}", text);
        // The fast path locates errors by walking the schema; the generic path tracks the
        // path while deserialising. They must name the same place and problem.
        if let (Err(fast), Err(generic)) = (received.event(), &generic_value) {
            if fast.kind() == EventDecodeErrorKind::InvalidPayload {
                prop_assert_eq!(
                    format!("{}: {}", fast.path(), fast.message()),
                    generic.to_string(),
                    "{}", text
                );
            }
        }
        if let Ok(event) = received.event() {
            prop_assert_eq!(Some(event), generic_text.as_ref().ok());
            let _ = event.idempotency_key();
            // Serialising and decoding again gives the same event.
            let again: Event = serde_json::from_value(serde_json::to_value(event).expect("ser"))
                .expect("re-decodes");
            prop_assert_eq!(&again, event);
        }
    }

    #[test]
    fn arbitrary_json_values_never_panic(v in json_value()) {
        let text = serde_json::to_string(&v).expect("serialise");
        let received = decode_event_json(&text).expect("valid JSON");
        let _ = received.json_without_handle();
        let _ = serde_json::from_value::<Event>(v);
    }
}
