//! Properties of the Alibaba decoder over generated events: the seed samples varied the ways
//! §3 of `alibaba.md` says real traffic varies (numbers as strings and back, `jobId`/`JobId`,
//! new fields with big numbers), and arbitrary objects built from the model's names.

use proptest::prelude::*;
use serde_json::{Map, Value};
use vod_events::alibaba::events::Event;

mod alibaba_common;

use alibaba_common::without_nulls;

fn sample_values() -> Vec<Value> {
    alibaba_common::samples()
        .into_iter()
        .map(|s| s.value)
        .collect()
}

/// A change real traffic may make to an event.
#[derive(Debug, Clone)]
enum Change {
    /// A field the model does not know, holding a number beyond 2^64 (spliced in as text).
    NewField {
        in_body: bool,
        name: String,
        digits: String,
    },
    /// A number sent as a string, or a numeric string sent as a number.
    FlipNumber { index: usize },
    /// `JobId` written `jobId` or the reverse.
    FlipJobId,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<bool>(), "[A-Z][a-zA-Z]{1,8}", "[1-9][0-9]{20,30}").prop_map(
            |(in_body, name, digits)| Change::NewField {
                in_body,
                name: format!("X{name}"),
                digits
            }
        ),
        (0usize..8).prop_map(|index| Change::FlipNumber { index }),
        Just(Change::FlipJobId),
    ]
}

const NUMERIC: &[&str] = &[
    "Size",
    "Width",
    "Height",
    "Duration",
    "Count",
    "UserId",
    "duration",
    "start_time",
];

/// Applies `changes` to a sample; returns the JSON text to decode.
fn vary(mut value: Value, changes: &[Change]) -> String {
    let mut splices = Vec::new();
    for c in changes {
        let is_ims = value.get("MessageBody").is_some_and(Value::is_object);
        match c {
            Change::NewField {
                in_body,
                name,
                digits,
            } => {
                let target = if *in_body && is_ims {
                    &mut value["MessageBody"]
                } else {
                    &mut value
                };
                if let Some(map) = target.as_object_mut() {
                    let marker = format!("@@{}@@", splices.len());
                    if !map.contains_key(name) {
                        map.insert(name.clone(), Value::String(marker.clone()));
                        splices.push((format!("\"{marker}\""), digits.clone()));
                    }
                }
            }
            Change::FlipNumber { index } => {
                if let Some(body) = value.get_mut("MessageBody").and_then(Value::as_object_mut) {
                    flip(body, *index);
                }
                if let Some(top) = value.as_object_mut() {
                    flip(top, *index);
                }
            }
            Change::FlipJobId => {
                let body = if is_ims {
                    &mut value["MessageBody"]
                } else {
                    &mut value
                };
                if let Some(map) = body.as_object_mut() {
                    if let Some(v) = map.remove("JobId") {
                        map.insert("jobId".into(), v);
                    } else if let Some(v) = map.remove("jobId") {
                        map.insert("JobId".into(), v);
                    }
                }
            }
        }
    }
    let mut text = value.to_string();
    for (marker, digits) in splices {
        text = text.replace(&marker, &digits);
    }
    text
}

fn flip(map: &mut Map<String, Value>, index: usize) {
    let Some(name) = NUMERIC.get(index % NUMERIC.len()) else {
        return;
    };
    let Some(v) = map.get_mut(*name) else { return };
    let flipped = match v {
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(s) => match serde_json::from_str::<serde_json::Number>(s) {
            Ok(n) => Value::Number(n),
            Err(_) => return,
        },
        _ => return,
    };
    *v = flipped;
}

fn known_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = vod_events::alibaba::events::EVENT_TYPES
        .iter()
        .map(|i| i.event_type)
        .collect();
    names.push("SomethingNew");
    names
}

/// Arbitrary JSON values, text form.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{1,25}"
            .prop_map(|d| d.trim_start_matches('0').to_owned())
            .prop_filter("a number", |d| !d.is_empty()),
        "[a-zA-Z0-9 {}\":]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3)
                .prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec((field_name(), inner), 0..4).prop_map(|kv| {
                let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "MediaId",
        "VideoId",
        "JobId",
        "jobId",
        "Status",
        "Size",
        "Width",
        "UserData",
        "Extend",
        "StreamInfos",
        "MetaInfo",
        "OutFileMeta",
        "MediaContent",
        "Jobs",
        "OutputFiles",
        "X",
    ])
    .prop_map(str::to_owned)
}

/// Objects shaped like either product's events, with model names and arbitrary values.
fn any_event() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(known_names()),
        any::<bool>(),
        proptest::collection::vec((field_name(), json_value()), 0..6),
    )
        .prop_map(|(event_type, ims, fields)| {
            let fields: Vec<String> = fields.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
            if ims {
                format!(
                    r#"{{"EventType":{event_type:?},"UserId":1833220977560000,"MessageBody":{{{}}}}}"#,
                    fields.join(",")
                )
            } else {
                let mut all = vec![format!("\"EventType\":{event_type:?}")];
                all.extend(fields);
                format!("{{{}}}", all.join(","))
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn varied_samples_decode_and_round_trip(
        index in 0usize..53,
        changes in proptest::collection::vec(change(), 0..5),
    ) {
        let samples = sample_values();
        let sample = samples[index % samples.len()].clone();
        let text = vary(sample, &changes);
        let event = Event::from_json(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert!(event.is_known(), "{}", text);
        let written = serde_json::to_string(&event).expect("serialises");
        // Big numbers compare as text: both sides parse them to the same f64.
        let sent: Value = serde_json::from_str(&text).expect("JSON");
        let back: Value = serde_json::from_str(&written).expect("JSON");
        prop_assert_eq!(without_nulls(back), without_nulls(sent), "{}", text);
        for change in &changes {
            if let Change::NewField { digits, .. } = change {
                if text.contains(digits.as_str()) {
                    prop_assert!(written.contains(digits.as_str()), "{} lost in {}", digits, written);
                }
            }
        }
        let again = Event::from_json(&written).expect("decodes again");
        prop_assert_eq!(&again, &event);
        prop_assert_eq!(again.idempotency_key(), event.idempotency_key());
    }

    #[test]
    fn arbitrary_objects_never_panic_and_what_decodes_round_trips(text in any_event()) {
        prop_assume!(serde_json::from_str::<&serde_json::value::RawValue>(&text).is_ok());
        let direct = Event::from_json(&text);
        let generic = serde_json::from_str::<Event>(&text);
        prop_assert_eq!(direct.is_ok(), generic.is_ok(), "{}", text);
        if let Ok(event) = direct {
            let generic = generic.ok();
            prop_assert_eq!(generic.as_ref(), Some(&event));
            let _ = (event.idempotency_key(), event.outcome(), event.event_time());
            let written = serde_json::to_string(&event).expect("serialises");
            prop_assert_eq!(Event::from_json(&written).expect("decodes again"), event);
        }
    }
}
