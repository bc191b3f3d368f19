//! How Alibaba events are told apart, what is accepted (§3 of `alibaba.md`), what is kept,
//! what is refused, and the keys: one behaviour per test.

use serde_json::{json, Value};
use vod_events::alibaba::events::{
    decode_json, EmbeddedJson, Event, EventDecodeErrorKind, Outcome, Product,
};
use vod_events::{Provider, VodEvent};

fn ims(event_type: &str, body: Value) -> String {
    json!({"EventType": event_type, "UserId": 1833220977560000u64,
           "EventTime": "2022-07-15T08:48:14Z", "MessageBody": body})
    .to_string()
}

fn round_trip(json: &str) -> Value {
    let event = Event::from_json(json).expect("decodes");
    serde_json::from_str(&serde_json::to_string(&event).expect("serialises")).expect("JSON")
}

#[test]
fn a_shared_name_is_told_apart_by_shape() {
    let vod =
        Event::from_json(r#"{"EventType":"TranscodeComplete","VideoId":"v","Status":"success"}"#)
            .expect("VOD");
    let ims = Event::from_json(&ims(
        "TranscodeComplete",
        json!({"JobId": "j", "Status": "Success"}),
    ))
    .expect("IMS");
    assert!(matches!(vod, Event::VodTranscodeComplete(_)));
    assert!(matches!(ims, Event::ImsTranscodeComplete(_)));
    assert_eq!((vod.product(), ims.product()), (Product::Vod, Product::Ims));
    assert_eq!(vod.event_type(), ims.event_type());
}

#[test]
fn ims_needs_both_a_message_body_object_and_a_user_id() {
    // A MessageBody without UserId, or a MessageBody that is not an object: the flat shape.
    for json in [
        r#"{"EventType":"MediaConvertComplete","EventTime":"t","MessageBody":{"JobId":"j"}}"#,
        r#"{"EventType":"MediaConvertComplete","UserId":1,"MessageBody":"{}"}"#,
        r#"{"EventType":"MediaConvertComplete","UserId":null,"MessageBody":{}}"#,
    ] {
        let event = Event::from_json(json).expect("decodes");
        assert_eq!(event.product(), Product::Vod, "{json}");
        // MediaConvertComplete is IMS-only: in VOD's shape it is unknown, kept whole.
        assert!(!event.is_known(), "{json}");
        assert_eq!(
            round_trip(json),
            serde_json::from_str::<Value>(json).expect("JSON")
        );
    }
}

#[test]
fn an_unknown_event_type_comes_back_exactly() {
    let json = r#"{"EventType":"AIMediaDNAComplete","Status":"success","N":123456789012345678901234567890,"X":{"y":[1.50,"\u00e9"]}}"#;
    let event = Event::from_json(json).expect("decodes");
    let Event::Unknown(unknown) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(unknown.event_type(), "AIMediaDNAComplete");
    assert_eq!(unknown.raw().get(), json);
    assert_eq!(serde_json::to_string(&event).expect("serialises"), json);
    assert_eq!(event.outcome(), Some(Outcome::Success));
    let key = event.idempotency_key();
    assert!(
        key.starts_with("alibaba-vod:AIMediaDNAComplete:sha256:"),
        "{key}"
    );
}

#[test]
fn unknown_fields_are_kept_at_every_level_with_big_integers_exact() {
    let big = "123456789012345678901234567890";
    let beyond_2_53 = "9007199254740993";
    let json = format!(
        r#"{{"EventType":"TranscodeComplete","VideoId":"v","New":{big},
            "StreamInfos":[{{"Definition":"LD","Later":{beyond_2_53}}}]}}"#
    );
    let event = Event::from_json(&json).expect("decodes");
    let Event::VodTranscodeComplete(t) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(t.extra.get("New").map(|r| r.get()), Some(big));
    let stream = &t.stream_infos.as_ref().expect("streams")[0];
    assert_eq!(
        stream.extra.get("Later").map(|r| r.get()),
        Some(beyond_2_53)
    );
    let written = serde_json::to_string(&event).expect("serialises");
    assert!(
        written.contains(big) && written.contains(beyond_2_53),
        "{written}"
    );
    // IMS: in the envelope and in MessageBody.
    let json = r#"{"EventType":"MediaConvertComplete","UserId":1,"Trace":{"id":18446744073709551617},
        "MessageBody":{"JobId":"j","Priority":18446744073709551616}}"#;
    let written = serde_json::to_string(&Event::from_json(json).expect("decodes")).expect("ser");
    assert!(written.contains("18446744073709551617") && written.contains("18446744073709551616"));
}

#[test]
fn numbers_are_accepted_as_strings_and_strings_as_numbers_and_kept_as_sent() {
    // §3.8: VOD VideoAnalysisComplete declares Width Long and sends "630"; IMS declares Size
    // String and sends "5510872"; UserId may come as a string.
    let vod = r#"{"EventType":"VideoAnalysisComplete","VideoId":"v","Width":"630","Height":360,"Duration":"12.5","Size":1234}"#;
    let Event::VodVideoAnalysisComplete(v) = Event::from_json(vod).expect("decodes") else {
        panic!()
    };
    assert_eq!(v.width.as_ref().and_then(|n| n.as_i64()), Some(630));
    assert!(v.width.as_ref().is_some_and(|n| n.is_quoted()));
    assert_eq!(v.height.as_ref().and_then(|n| n.as_i64()), Some(360));
    assert_eq!(v.duration.as_ref().and_then(|n| n.as_f64()), Some(12.5));
    assert_eq!(
        round_trip(vod),
        serde_json::from_str::<Value>(vod).expect("JSON")
    );

    let body = ims(
        "FileUploadComplete",
        json!({"MediaId": "m", "Size": 5510872}),
    );
    let body = body.replace("1833220977560000", "\"1833220977560000\"");
    let Event::ImsFileUploadComplete(f) = Event::from_json(&body).expect("decodes") else {
        panic!()
    };
    assert_eq!(
        f.user_id.as_ref().and_then(|u| u.as_u64()),
        Some(1_833_220_977_560_000)
    );
    assert_eq!(
        f.message_body.size.as_ref().and_then(|s| s.as_u64()),
        Some(5_510_872)
    );
    assert_eq!(
        round_trip(&body),
        serde_json::from_str::<Value>(&body).expect("JSON")
    );
}

#[test]
fn job_id_is_accepted_in_either_spelling_and_written_back_as_sent() {
    // §3.2: LiveSnapshotFileCreated's table says jobId, its sample sends JobId.
    for key in ["jobId", "JobId"] {
        let body = ims(
            "LiveSnapshotFileCreated",
            json!({key: "j-1", "SnapshotUrl": "u"}),
        );
        let event = Event::from_json(&body).expect("decodes");
        let Event::ImsLiveSnapshotFileCreated(s) = &event else {
            panic!()
        };
        assert_eq!(s.message_body.job_id.as_deref(), Some("j-1"));
        assert_eq!(round_trip(&body)["MessageBody"][key], "j-1");
        assert_eq!(
            event.idempotency_key(),
            "alibaba-ims:LiveSnapshotFileCreated:j-1:u"
        );
    }
}

#[test]
fn keys_with_stray_spaces_are_read_and_kept() {
    // A VOD sample sends "SourceURL " and "ErrorCode " (§2.3).
    let json = r#"{"EventType":"UploadByURLComplete","JobId":"j","SourceURL ":"http://a","ErrorCode ":"E"}"#;
    let Event::VodUploadByURLComplete(u) = Event::from_json(json).expect("decodes") else {
        panic!()
    };
    assert_eq!(u.source_url.as_deref(), Some("http://a"));
    assert_eq!(u.error_code.as_deref(), Some("E"));
    assert_eq!(
        round_trip(json),
        serde_json::from_str::<Value>(json).expect("JSON")
    );
}

#[test]
fn json_in_strings_decodes_whichever_form_it_came_in() {
    // §3.7: VOD's MediaContent is an object in its sample, IMS's a string.
    let vod = r#"{"EventType":"MediaBaseChangeComplete","MediaId":"m","MediaContent":{"Title":"{\"NewValue\":\"t\"}"}}"#;
    let Event::VodMediaBaseChangeComplete(v) = Event::from_json(vod).expect("decodes") else {
        panic!()
    };
    let content = v.media_content.as_ref().expect("content");
    assert!(matches!(content, EmbeddedJson::Json(_)));
    let title: Value = content.to_value().expect("JSON")["Title"].clone();
    assert_eq!(title, "{\"NewValue\":\"t\"}");
    let body = ims(
        "StreamUploadComplete",
        json!({"MediaId": "m", "UserData": "{\"MessageCallback\":\"{}\"}"}),
    );
    let Event::ImsStreamUploadComplete(s) = Event::from_json(&body).expect("decodes") else {
        panic!()
    };
    let user_data = s.message_body.user_data.as_ref().expect("UserData");
    assert_eq!(user_data.as_text(), Some("{\"MessageCallback\":\"{}\"}"));
    assert_eq!(
        user_data.to_value().expect("JSON"),
        json!({"MessageCallback": "{}"})
    );
    assert_eq!(
        round_trip(vod),
        serde_json::from_str::<Value>(vod).expect("JSON")
    );
}

#[test]
fn status_words_are_normalised_next_to_the_raw_word() {
    for (json, raw, outcome) in [
        (
            r#"{"EventType":"FileUploadComplete","Status":"success"}"#.to_owned(),
            "success",
            Outcome::Success,
        ),
        (
            r#"{"EventType":"RestoreMediaComplete","Status":"Failed"}"#.to_owned(),
            "Failed",
            Outcome::Failure,
        ),
        (
            ims("WorkflowTaskComplete", json!({"Status": "Succeed"})),
            "Succeed",
            Outcome::Success,
        ),
        (
            ims("MediaConvertComplete", json!({"Status": "Complete"})),
            "Complete",
            Outcome::Success,
        ),
        (
            ims("SmartJobComplete", json!({"Status": "Finished"})),
            "Finished",
            Outcome::Success,
        ),
        (
            ims("UploadStreamByURLComplete", json!({"Status": "Fail"})),
            "Fail",
            Outcome::Failure,
        ),
    ] {
        let event = Event::from_json(&json).expect("decodes");
        assert_eq!(event.status(), Some(raw));
        assert_eq!(event.outcome(), Some(outcome), "{json}");
    }
}

#[test]
fn the_seed_alias_of_an_event_type_is_accepted_and_kept() {
    // §3.4: MediaConvertOutputGroupComplete's sample says ApsaraVideoForMediaProcessingOutputGroupComplete.
    let alias = "ApsaraVideoForMediaProcessingOutputGroupComplete";
    let body = ims(alias, json!({"JobId": "j", "TaskId": "t"}));
    let event = Event::from_json(&body).expect("decodes");
    assert!(matches!(
        event,
        Event::ImsMediaConvertOutputGroupComplete(_)
    ));
    assert_eq!(event.event_type(), alias);
    assert_eq!(round_trip(&body)["EventType"], alias);
    let canonical = Event::from_json(&ims(
        "MediaConvertOutputGroupComplete",
        json!({"JobId": "j", "TaskId": "t"}),
    ));
    assert_eq!(
        event.idempotency_key(),
        canonical.expect("decodes").idempotency_key()
    );
}

#[test]
fn a_wrong_kind_is_an_error_naming_the_path_and_keeping_the_json() {
    for (json, path) in [
        (
            r#"{"EventType":"FileUploadComplete","VideoId":{"id":1}}"#.to_owned(),
            "VideoId",
        ),
        (
            ims("FileUploadComplete", json!({"Size": {"bytes": 1}})),
            "MessageBody.Size",
        ),
        (
            r#"{"EventType":"TranscodeComplete","StreamInfos":[{},{"Width":[630]}]}"#.to_owned(),
            "StreamInfos[1].Width",
        ),
        (
            ims("TranscodeComplete", json!({"OutFileMeta": "not an object"})),
            "MessageBody.OutFileMeta",
        ),
        (
            ims("FileUploadComplete", json!({})).replace("1833220977560000", "true"),
            "UserId",
        ),
    ] {
        let err = Event::from_json(&json).expect_err(&json);
        assert_eq!(err.kind(), EventDecodeErrorKind::InvalidPayload, "{json}");
        assert_eq!(err.path(), path, "{err}");
        assert_eq!(err.raw(), json);
        assert!(err.to_string().contains(path), "{err}");
        // serde's generic path says where too.
        let serde_err = serde_json::from_str::<Event>(&json).expect_err("refused");
        assert!(serde_err.to_string().contains(path), "{serde_err}");
    }
}

#[test]
fn a_bad_event_does_not_take_down_its_batch() {
    let batch = [
        r#"{"EventType":"FileUploadComplete","VideoId":"a"}"#,
        r#"{"EventType":"FileUploadComplete","VideoId":["b"]}"#,
        r#"{"VideoId":"no type"}"#,
        r#"{"EventType":1}"#,
        r#"[1,2]"#,
        r#"{"EventType":"FileUploadComplete","VideoId":"c"}"#,
    ];
    let received: Vec<_> = batch
        .iter()
        .map(|j| decode_json(j).expect("JSON"))
        .collect();
    let ok: Vec<bool> = received.iter().map(|r| r.event().is_ok()).collect();
    assert_eq!(ok, [true, false, false, false, false, true]);
    let kinds: Vec<_> = received
        .iter()
        .filter_map(|r| r.event().err())
        .map(|e| e.kind())
        .collect();
    assert_eq!(
        kinds,
        [
            EventDecodeErrorKind::InvalidPayload,
            EventDecodeErrorKind::MissingEventType,
            EventDecodeErrorKind::InvalidEventType,
            EventDecodeErrorKind::NotAnObject
        ]
    );
    for (r, json) in received.iter().zip(batch) {
        assert_eq!(VodEvent::json(r), json, "raw JSON kept");
        assert!(!VodEvent::idempotency_key(r).is_empty());
        assert_eq!(VodEvent::provider(r), Provider::AlibabaVod);
    }
}

#[test]
fn idempotency_keys_come_from_the_payload() {
    let cases = [
        (
            r#"{"EventType":"FileUploadComplete","VideoId":"v1","EventTime":"t"}"#.to_owned(),
            "alibaba-vod:FileUploadComplete:v1",
        ),
        (
            r#"{"EventType":"SubmitMediaRefreshComplete","MediaRefreshJobId":"r1","MediaId":"m"}"#
                .to_owned(),
            "alibaba-vod:SubmitMediaRefreshComplete:r1",
        ),
        (
            r#"{"EventType":"TranscodeComplete","VideoId":"v1","EventTime":"t1"}"#.to_owned(),
            "alibaba-vod:TranscodeComplete:v1:t1",
        ),
        (
            ims("MediaConvertComplete", json!({"JobId": "j1"})),
            "alibaba-ims:MediaConvertComplete:j1",
        ),
        (
            ims(
                "MediaConvertOutputComplete",
                json!({"JobId": "j1", "TaskId": "o2"}),
            ),
            "alibaba-ims:MediaConvertOutputComplete:j1:o2",
        ),
        (
            ims(
                "LiveRecordFileCreated",
                json!({"jobId": "j", "record_id": "r"}),
            ),
            "alibaba-ims:LiveRecordFileCreated:j:r",
        ),
    ];
    for (json, key) in cases {
        let event = Event::from_json(&json).expect("decodes");
        assert_eq!(event.idempotency_key(), key);
        // Key order and whitespace do not change it; it never depends on a receipt handle.
        let reordered: Value = serde_json::from_str(&json).expect("JSON");
        let again = Event::from_json(&serde_json::to_string_pretty(&reordered).expect("ser"));
        assert_eq!(again.expect("decodes").idempotency_key(), key);
    }
    // Two metadata changes of one media asset are two events; a redelivery is one.
    let change = |title: &str| {
        let j = format!(
            r#"{{"EventType":"MediaBaseChangeComplete","MediaId":"m","MediaContent":"{{\"Title\":\"{title}\"}}"}}"#
        );
        Event::from_json(&j).expect("decodes").idempotency_key()
    };
    assert_eq!(change("a"), change("a"));
    assert_ne!(change("a"), change("b"));
    assert!(change("a").starts_with("alibaba-vod:MediaBaseChangeComplete:m:sha256:"));
    // No id at all: the content digest.
    let key = Event::from_json(r#"{"EventType":"FileUploadComplete"}"#)
        .expect("decodes")
        .idempotency_key();
    assert!(
        key.starts_with("alibaba-vod:FileUploadComplete:sha256:"),
        "{key}"
    );
}

#[test]
fn the_received_event_decodes_on_first_use_and_reports_without_it() {
    let json = ims(
        "SmartJobComplete",
        json!({"JobId": "j", "Status": "Finished"}),
    );
    let received = decode_json(&json).expect("JSON");
    assert_eq!(received.product(), Product::Ims);
    assert_eq!(VodEvent::event_type(&received), Some("SmartJobComplete"));
    assert_eq!(VodEvent::provider(&received).as_str(), "alibaba-ims");
    assert_eq!(received.idempotency_key(), "alibaba-ims:SmartJobComplete:j");
    let event = received.clone().into_event().expect("decodes");
    assert_eq!(received.event(), Ok(&event));
}
