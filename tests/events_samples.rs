//! The official PullEvents sample and the PullComplete doc-page examples.

use serde_json::{json, Value};
use vod_events::tencent::client;
use vod_events::tencent::events::{decode_event_content, decode_event_json, Event, ReceivedEvent};
use vod_events::tencent::PullEvents;

const OFFICIAL: &str = include_str!("fixtures/pullevents-official-sample.json");
const PULL_PUSH: &str = include_str!("fixtures/pullcomplete-push-body.json");
const PULL_RESPONSE: &str = include_str!("fixtures/pullcomplete-pullevents-response.json");

/// Decodes a PullEvents response the way the client does.
fn decode_response(text: &str) -> Vec<ReceivedEvent> {
    client::decode_response::<PullEvents>(text.as_bytes())
        .expect("envelope")
        .event_set
        .into_iter()
        .map(decode_event_content)
        .collect()
}

/// Removes `null` object entries recursively (`null` and absent count as equal).
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

#[test]
fn official_sample_parses_and_round_trips() {
    let events = decode_response(OFFICIAL);
    assert_eq!(events.len(), 1);
    let r = &events[0];
    assert_eq!(r.handle(), Some("EventHandle1"));
    assert_eq!(r.event_type(), Some("ProcedureStateChanged"));
    let event = r.event().expect("decodes");
    let Event::ProcedureStateChanged(Some(task)) = event else {
        panic!("variant: {event:?}")
    };
    assert_eq!(task.file_id.as_deref(), Some("5285890784246869930"));
    assert_eq!(task.status.as_deref(), Some("FINISH"));
    let meta = task.meta_data.as_ref().expect("MetaData");
    assert_eq!(meta.audio_duration, Some(59.990001678467));
    assert_eq!(meta.duration, Some(60.0));
    let vs = &meta.video_stream_set.as_ref().expect("VideoStreamSet")[0];
    let dr = vs.dynamic_range_info.as_ref().expect("DynamicRangeInfo");
    assert_eq!(dr.kind.as_deref(), Some("SDR"));
    assert_eq!(dr.hdr_type.as_deref(), Some(""));
    let results = task.media_process_result_set.as_ref().expect("results");
    assert_eq!(results[0].kind.as_deref(), Some("Transcode"));
    let transcode = results[0].transcode_task.as_ref().expect("TranscodeTask");
    assert_eq!(transcode.err_code, Some(0));
    assert_eq!(
        transcode.output.as_ref().and_then(|o| o.duration),
        Some(60.04700088501)
    );

    assert_eq!(
        event.task_id(),
        Some("1256712345-Procedure-475b7237438a39560b9879a4556cb177t2")
    );
    assert_eq!(event.file_id(), Some("5285890784246869930"));
    assert_eq!(event.status(), Some("FINISH"));

    // Every field of the sample is in the model, so serialising gives back the sample minus
    // EventHandle and nulls.
    let mut expected = r.value_without_handle().expect("value");
    expected = strip_nulls(&expected);
    assert_eq!(serde_json::to_value(event).expect("ser"), expected);

    // The operator's line: the event as sent minus EventHandle.
    let line = r.json_without_handle();
    assert!(!line.contains("EventHandle"));
    // Values are copied byte for byte (the nested pretty-printing survives).
    assert!(
        line.contains("\"AudioDuration\": 59.990001678467"),
        "{line}"
    );
    let reparsed: Value = serde_json::from_str(&line).expect("valid JSON");
    assert_eq!(reparsed, r.value_without_handle().expect("value"));
    assert_eq!(
        reparsed["FileUploadEvent"],
        Value::Null,
        "explicit nulls kept"
    );
    assert!(reparsed
        .as_object()
        .expect("object")
        .contains_key("FileUploadEvent"));
}

#[test]
fn pull_complete_push_body_parses_and_keeps_the_nested_media_basic_info() {
    let received = decode_event_json(PULL_PUSH).expect("json");
    assert_eq!(received.handle(), None);
    let event = received.event().expect("decodes");
    let Event::PullComplete(Some(task)) = event else {
        panic!("variant: {event:?}")
    };
    assert_eq!(task.file_id.as_deref(), Some("14508071098244959037"));
    assert_eq!(
        task.file_url.as_deref(),
        Some("http://125676836723.vod2.myqcloud.com/xxx/xxx/xxx.mp4")
    );
    assert_eq!(task.err_code, Some(0));

    // The doc page nests `MediaBasicInfo { FileId, MediaBasicInfo { Name, ... } }`, unlike the
    // model (`MediaBasicInfo { Name, ... }`). The typed value sees an object whose known
    // fields are all absent...
    let info = task.media_basic_info.as_ref().expect("object present");
    assert_eq!(info.name, None);
    assert_eq!(info.media_url, None);
    // ...and nothing is lost: the raw JSON holds the nested object.
    let raw = received.value_without_handle().expect("value");
    let nested = &raw["PullCompleteEvent"]["MediaBasicInfo"];
    assert_eq!(nested["FileId"], "14508071098244959037");
    assert_eq!(nested["MediaBasicInfo"]["Name"], "Animal World");
    assert_eq!(
        nested["MediaBasicInfo"]["SourceInfo"]["SourceType"],
        "Upload"
    );
    // The operator's line keeps it too.
    let line: Value = serde_json::from_str(&received.json_without_handle()).expect("json");
    assert_eq!(
        line,
        serde_json::from_str::<Value>(PULL_PUSH).expect("json")
    );

    // The typed value re-serialises every field the model knows.
    let back = serde_json::to_value(event).expect("ser");
    assert_eq!(
        back["PullCompleteEvent"]["TaskId"],
        raw["PullCompleteEvent"]["TaskId"]
    );
    assert_eq!(back["PullCompleteEvent"]["MediaBasicInfo"], json!({}));
}

#[test]
fn pull_complete_reliable_callback_parses() {
    let events = decode_response(PULL_RESPONSE);
    assert_eq!(events.len(), 1);
    let r = &events[0];
    assert_eq!(r.handle(), Some("EventHandleX"));
    let event = r.event().expect("decodes");
    assert_eq!(event.event_type(), "PullComplete");
    assert_eq!(event.file_id(), Some("14508071098244959037"));
    assert_eq!(event.status(), Some("FINISH"));
    assert_eq!(event.message(), Some("SUCCESS"));
    // Same event as the push body: same typed value and same idempotency key.
    let push = decode_event_json(PULL_PUSH).expect("json");
    assert_eq!(push.event().expect("decodes"), event);
    assert_eq!(push.idempotency_key(), r.idempotency_key());
    assert_eq!(
        r.idempotency_key(),
        "PullComplete:125676836723-Pull-f5ac8127b3b6b85cdc13f237c6005d8:FINISH"
    );
}

#[test]
fn one_bad_event_does_not_take_down_the_batch() {
    let text = r#"{"Response":{"EventSet":[
        {"EventHandle":"h1","EventType":"NewFileUpload","FileUploadEvent":{"FileId":"f1"}},
        {"EventHandle":"h2","EventType":"PullComplete","PullCompleteEvent":{"ErrCode":"boom"}},
        {"EventHandle":"h3","EventType":"FileDeleted","FileDeleteEvent":{"FileIdSet":["b","a"]}},
        {"EventHandle":"","EventType":"BrandNew","BrandNewEvent":{}},
        "not an object"
    ],"RequestId":"r"}}"#;
    let events = decode_response(text);
    assert_eq!(events.len(), 5);
    assert_eq!(events[0].event().expect("ok").file_id(), Some("f1"));
    let err = events[1].event().expect_err("bad");
    assert_eq!(err.path(), "PullCompleteEvent.ErrCode");
    assert_eq!(events[1].handle(), Some("h2"));
    assert!(events[1].raw().get().contains("boom"));
    assert_eq!(events[2].idempotency_key(), "FileDeleted:a,b");
    assert_eq!(events[3].handle(), Some(""));
    assert!(!events[3].event().expect("unknown is ok").is_known());
    assert!(events[4].event().is_err());
    assert_eq!(events[4].json_without_handle(), "\"not an object\"");
}
