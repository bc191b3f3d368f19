//! The push signature checks against every vector of `tests/fixtures/push-vectors.json` (a
//! copy of `spec/push-vectors.json` in the shared specs), and the request-level checks of
//! [`Verifier`]: producer recognition, secure defaults, rotation, windows, refusals.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};
use vod_events::push::verify::{
    alibaba_signature, tencent_sign, verify_alibaba, verify_tencent, DEFAULT_WINDOW,
};
use vod_events::push::{KeyUsed, Keys, PushedEvent, Refusal, Secret, Verifier, VerifyError};
use vod_events::{Provider, VodEvent};

fn vectors() -> Value {
    serde_json::from_str(include_str!("fixtures/push-vectors.json")).expect("vectors file is JSON")
}

fn list<'a>(v: &'a Value, path: &[&str]) -> &'a Vec<Value> {
    let mut at = v;
    for p in path {
        at = &at[*p];
    }
    at.as_array().expect("a list of vectors")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {v}"))
}

const URL: &str = "https://www.example.com/your/callback";
const VOD_BODY: &str = r#"{"EventTime":"2018-02-23T08:53:10Z","EventType":"FileUploadComplete","VideoId":"v1","Status":"success","Size":1024,"FileUrl":"http://example.com/a.mp4"}"#;
const IMS_BODY: &str = r#"{"EventType":"FileUploadComplete","UserId":1833220977560000,"EventTime":"2022-07-27T08:13:36Z","MessageBody":{"MediaId":"m1","Status":"Success"}}"#;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.insert(*name, HeaderValue::from_str(value).expect("header value"));
    }
    h
}

fn hex(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn tencent_sign_vectors() {
    let v = vectors();
    let cases = list(&v, &["tencent_sign"]);
    assert_eq!(cases.len(), 6);
    for case in cases {
        let name = s(case, "name");
        let key = Secret::new(s(case, "sign_key"));
        let t = case["t"].as_i64().expect("t").to_string();
        assert_eq!(
            format!("{}{t}", key.expose()),
            s(case, "md5_input"),
            "{name}"
        );
        assert_eq!(hex(tencent_sign(&key, &t)), s(case, "sign"), "{name}");
        let t_num: i64 = t.parse().expect("t");
        let keys = Keys::new(key.clone());
        assert_eq!(
            verify_tencent(&keys, Some(s(case, "sign")), Some(&t), t_num),
            Ok(KeyUsed::Current),
            "{name}"
        );
        // And through a whole body.
        let body = json!({"EventType": "NewFileUpload", "FileUploadEvent": {"FileId": "1"},
                          "Sign": s(case, "sign"), "T": case["t"]});
        let checked = Verifier::new()
            .tencent_keys(keys)
            .check(&HeaderMap::new(), Bytes::from(body.to_string()), t_num - 1)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(checked.provider(), Provider::Tencent);
    }
}

#[test]
fn alibaba_signature_vectors() {
    let v = vectors();
    let cases = list(&v, &["alibaba_signature"]);
    assert_eq!(cases.len(), 5);
    for case in cases {
        let name = s(case, "name");
        let key = Secret::new(s(case, "auth_key"));
        let url = s(case, "callback_url");
        let ts = s(case, "timestamp");
        assert_eq!(
            format!("{url}|{ts}|{}", key.expose()),
            s(case, "md5_input"),
            "{name}"
        );
        assert_eq!(
            hex(alibaba_signature(&key, url, ts)),
            s(case, "signature"),
            "{name}"
        );
        let now: i64 = ts.parse().expect("timestamp");
        assert_eq!(
            verify_alibaba(
                &Keys::new(key.clone()),
                url,
                Some(ts),
                Some(s(case, "signature")),
                now,
                DEFAULT_WINDOW
            ),
            Ok(KeyUsed::Current),
            "{name}"
        );
        // And through a whole request, with the vector's own headers.
        let (provider, body) = match s(case, "product") {
            "vod" => (Provider::AlibabaVod, VOD_BODY),
            "ims" => (Provider::AlibabaIms, IMS_BODY),
            other => panic!("{name}: product {other}"),
        };
        let mut h = HeaderMap::new();
        for (k, val) in case["headers"].as_object().expect("headers") {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(val.as_str().expect("value")).expect("value"),
            );
        }
        let checked = Verifier::new()
            .alibaba_keys(Keys::new(key))
            .callback_url(url)
            .check(&h, Bytes::from_static(body.as_bytes()), now)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(checked.provider(), provider, "{name}");
        assert_eq!(checked.key_used(), Some(KeyUsed::Current), "{name}");
    }
}

#[test]
fn tencent_decision_vectors() {
    let v = vectors();
    let cases = list(&v, &["decisions", "tencent"]);
    assert_eq!(cases.len(), 8);
    for case in cases {
        let name = s(case, "name");
        let verifier = Verifier::new().tencent_keys(s(&case["receiver"], "sign_key"));
        let now = case["now"].as_i64().expect("now");
        let body = Bytes::from(case["body"].to_string());
        let verdict = verifier.check(&HeaderMap::new(), body, now);
        match s(case, "expect") {
            "accept" => {
                let event = verdict.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(event.provider(), Provider::Tencent, "{name}");
                assert_eq!(event.event_type(), Some("NewFileUpload"), "{name}");
            }
            "reject" => assert!(
                matches!(verdict, Err(Refusal::Verify(_))),
                "{name}: {verdict:?}"
            ),
            other => panic!("{name}: expect {other}"),
        }
    }
}

#[test]
fn alibaba_decision_vectors_for_vod_and_ims() {
    let v = vectors();
    let cases = list(&v, &["decisions", "alibaba"]);
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = s(case, "name");
        let receiver = &case["receiver"];
        let verifier = Verifier::new()
            .alibaba_keys(s(receiver, "auth_key"))
            .callback_url(s(receiver, "callback_url"))
            .window(Duration::from_secs(
                receiver["window"].as_u64().expect("window"),
            ));
        let now = case["now"].as_i64().expect("now");
        for (ts_name, sig_name, body) in [
            ("x-vod-timestamp", "x-vod-signature", VOD_BODY),
            ("x-ice-timestamp", "x-ice-signature", IMS_BODY),
        ] {
            let mut pairs = Vec::new();
            if let Some(ts) = case["headers"]["timestamp"].as_str() {
                pairs.push((ts_name, ts));
            }
            if let Some(sig) = case["headers"]["signature"].as_str() {
                pairs.push((sig_name, sig));
            }
            let verdict =
                verifier.check(&headers(&pairs), Bytes::from_static(body.as_bytes()), now);
            match s(case, "expect") {
                "accept" => {
                    let event = verdict.unwrap_or_else(|e| panic!("{name} {ts_name}: {e}"));
                    assert!(event.alibaba().is_some(), "{name}");
                }
                "reject" => assert!(
                    matches!(verdict, Err(Refusal::Verify(_))),
                    "{name} {ts_name}: {verdict:?}"
                ),
                other => panic!("{name}: expect {other}"),
            }
        }
    }
}

// Beyond the vectors.

const DOC_SIGN: &str = "292d55e60d1e5fbc2023fa07bc4a3081"; // mysignkey, T = 1735689600
const DOC_T: i64 = 1_735_689_600;
const VOD_SIG: &str = "c72b60894140fa98920f1279219b7ed4"; // test123, 1519375990
const VOD_TS: i64 = 1_519_375_990;

fn tencent_body(sign: Option<&str>, t: Option<Value>) -> Bytes {
    let mut body =
        json!({"EventType": "NewFileUpload", "FileUploadEvent": {"FileId": "5285890781763144364"}});
    if let Some(sign) = sign {
        body["Sign"] = json!(sign);
    }
    if let Some(t) = t {
        body["T"] = t;
    }
    Bytes::from(body.to_string())
}

fn vod_headers(ts: &str, sig: &str) -> HeaderMap {
    headers(&[("x-vod-timestamp", ts), ("x-vod-signature", sig)])
}

fn alibaba() -> Verifier {
    Verifier::new().alibaba_keys("test123").callback_url(URL)
}

fn vod_at(verifier: &Verifier, now: i64) -> Result<vod_events::push::PushEvent, Refusal> {
    verifier.check(
        &vod_headers(&VOD_TS.to_string(), VOD_SIG),
        Bytes::from_static(VOD_BODY.as_bytes()),
        now,
    )
}

#[test]
fn a_rotated_key_is_accepted_and_named() {
    let tencent = Verifier::new().tencent_keys(Keys::new("newkey").with_previous("mysignkey"));
    let event = tencent
        .check(
            &HeaderMap::new(),
            tencent_body(Some(DOC_SIGN), Some(json!(DOC_T))),
            DOC_T,
        )
        .expect("previous key");
    assert_eq!(event.key_used(), Some(KeyUsed::Previous));

    let current = Verifier::new().tencent_keys(Keys::new("mysignkey").with_previous("oldkey"));
    let event = current
        .check(
            &HeaderMap::new(),
            tencent_body(Some(DOC_SIGN), Some(json!(DOC_T))),
            DOC_T,
        )
        .expect("current key");
    assert_eq!(event.key_used(), Some(KeyUsed::Current));

    let ali = Verifier::new()
        .alibaba_keys(Keys::new("Rotated9").with_previous("test123"))
        .callback_url(URL);
    assert_eq!(
        vod_at(&ali, VOD_TS).expect("previous key").key_used(),
        Some(KeyUsed::Previous)
    );
}

#[test]
fn a_wrong_key_is_refused_by_both_clouds() {
    let tencent = Verifier::new().tencent_keys(Keys::new("wrong").with_previous("wrong2"));
    let verdict = tencent.check(
        &HeaderMap::new(),
        tencent_body(Some(DOC_SIGN), Some(json!(DOC_T))),
        DOC_T,
    );
    assert!(
        matches!(
            verdict,
            Err(Refusal::Verify(VerifyError::Mismatch(Provider::Tencent)))
        ),
        "{verdict:?}"
    );
    let ali = Verifier::new().alibaba_keys("Test123").callback_url(URL);
    let verdict = vod_at(&ali, VOD_TS);
    assert!(
        matches!(
            verdict,
            Err(Refusal::Verify(VerifyError::Mismatch(Provider::AlibabaVod)))
        ),
        "{verdict:?}"
    );
}

#[test]
fn tencent_expiry_is_now_after_t() {
    let v = Verifier::new().tencent_keys("mysignkey");
    let body = || tencent_body(Some(DOC_SIGN), Some(json!(DOC_T)));
    assert!(v.check(&HeaderMap::new(), body(), DOC_T - 600).is_ok());
    assert!(v.check(&HeaderMap::new(), body(), DOC_T).is_ok());
    let verdict = v.check(&HeaderMap::new(), body(), DOC_T + 1);
    assert!(
        matches!(
            verdict,
            Err(Refusal::Verify(VerifyError::Expired { t: DOC_T, late: 1 }))
        ),
        "{verdict:?}"
    );
}

#[test]
fn tencent_t_may_be_a_digit_string_but_nothing_else() {
    let v = Verifier::new().tencent_keys("mysignkey");
    let ok = v.check(
        &HeaderMap::new(),
        tencent_body(Some(DOC_SIGN), Some(json!("1735689600"))),
        DOC_T,
    );
    assert!(ok.is_ok(), "{ok:?}");
    for t in [
        json!(1735689600.0),
        json!("1735689600 "),
        json!(true),
        json!({"a": 1}),
    ] {
        let verdict = v.check(
            &HeaderMap::new(),
            tencent_body(Some(DOC_SIGN), Some(t.clone())),
            DOC_T,
        );
        assert!(
            matches!(verdict, Err(Refusal::Verify(VerifyError::InvalidT))),
            "{t}: {verdict:?}"
        );
    }
    let verdict = v.check(
        &HeaderMap::new(),
        tencent_body(Some(DOC_SIGN), Some(Value::Null)),
        DOC_T,
    );
    assert!(
        matches!(verdict, Err(Refusal::Verify(VerifyError::MissingT))),
        "{verdict:?}"
    );
    let verdict = v.check(
        &HeaderMap::new(),
        tencent_body(None, Some(json!(DOC_T))),
        DOC_T,
    );
    assert!(
        matches!(verdict, Err(Refusal::Verify(VerifyError::MissingSign))),
        "{verdict:?}"
    );
}

#[test]
fn alibaba_skew_is_allowed_up_to_the_window_both_ways() {
    let v = alibaba();
    for offset in [-300, -1, 0, 1, 300] {
        assert!(vod_at(&v, VOD_TS + offset).is_ok(), "offset {offset}");
    }
    for offset in [-301, 301, -100_000, 100_000] {
        let verdict = vod_at(&v, VOD_TS + offset);
        match verdict {
            Err(Refusal::Verify(VerifyError::OutsideWindow {
                offset: o,
                window: 300,
                ..
            })) => {
                assert_eq!(o, offset)
            }
            other => panic!("offset {offset}: {other:?}"),
        }
    }
    let narrow = alibaba().window(Duration::from_secs(10));
    assert!(vod_at(&narrow, VOD_TS + 10).is_ok());
    assert!(vod_at(&narrow, VOD_TS - 11).is_err());
}

#[test]
fn hex_case_does_not_matter_but_hex_does() {
    let v = alibaba();
    let check = |sig: &str| {
        v.check(
            &vod_headers(&VOD_TS.to_string(), sig),
            Bytes::from_static(VOD_BODY.as_bytes()),
            VOD_TS,
        )
    };
    assert!(check(&VOD_SIG.to_uppercase()).is_ok());
    assert!(check("c72b60894140FA98920f1279219B7ED4").is_ok());
    for bad in [
        "",
        "c72b",
        "c72b60894140fa98920f1279219b7ed",
        "c72b60894140fa98920f1279219b7ed4 ",
        "zz2b60894140fa98920f1279219b7ed4",
        "c72b60894140fa98920f1279219b7ed4c72b",
    ] {
        assert!(
            matches!(check(bad), Err(Refusal::Verify(VerifyError::Mismatch(_)))),
            "{bad:?}"
        );
    }
    let t = Verifier::new().tencent_keys("mysignkey");
    assert!(t
        .check(
            &HeaderMap::new(),
            tencent_body(Some(&DOC_SIGN.to_uppercase()), Some(json!(DOC_T))),
            DOC_T
        )
        .is_ok());
}

#[test]
fn missing_or_odd_alibaba_headers_are_refused() {
    let v = alibaba();
    let body = || Bytes::from_static(VOD_BODY.as_bytes());
    let ts = VOD_TS.to_string();
    for (pairs, expected) in [
        (
            vec![("x-vod-timestamp", ts.as_str())],
            VerifyError::MissingSignature(Provider::AlibabaVod),
        ),
        (
            vec![("x-vod-signature", VOD_SIG)],
            VerifyError::MissingTimestamp(Provider::AlibabaVod),
        ),
        (
            vec![("x-ice-signature", VOD_SIG)],
            VerifyError::MissingTimestamp(Provider::AlibabaIms),
        ),
        (
            vec![
                ("x-vod-timestamp", "+1519375990"),
                ("x-vod-signature", VOD_SIG),
            ],
            VerifyError::InvalidTimestamp(Provider::AlibabaVod),
        ),
        (
            vec![
                ("x-vod-timestamp", "1519375990.0"),
                ("x-vod-signature", VOD_SIG),
            ],
            VerifyError::InvalidTimestamp(Provider::AlibabaVod),
        ),
    ] {
        match v.check(&headers(&pairs), body(), VOD_TS) {
            Err(Refusal::Verify(e)) => assert_eq!(e, expected, "{pairs:?}"),
            other => panic!("{pairs:?}: {other:?}"),
        }
    }
    // A VOD-shaped body with no headers at all: the VOD key is configured, so it needs them.
    let verdict = v.check(&HeaderMap::new(), body(), VOD_TS);
    assert!(
        matches!(
            verdict,
            Err(Refusal::Verify(VerifyError::MissingTimestamp(
                Provider::AlibabaVod
            )))
        ),
        "{verdict:?}"
    );
    // Both products' headers at once.
    let mut both = vod_headers(&ts, VOD_SIG);
    both.insert(
        "x-ice-timestamp",
        HeaderValue::from_str(&ts).expect("value"),
    );
    assert!(matches!(
        v.check(&both, body(), VOD_TS),
        Err(Refusal::AmbiguousProducer)
    ));
}

#[test]
fn a_producer_without_a_key_is_refused_unless_unsigned_is_allowed() {
    let tencent_unsigned = || tencent_body(None, None);
    let ims_unsigned = || Bytes::from_static(IMS_BODY.as_bytes());
    let vod_unsigned = || Bytes::from_static(VOD_BODY.as_bytes());
    let nothing = Verifier::new();
    for (body, provider) in [
        (tencent_unsigned(), Provider::Tencent),
        (ims_unsigned(), Provider::AlibabaIms),
        (vod_unsigned(), Provider::AlibabaVod),
    ] {
        match nothing.check(&HeaderMap::new(), body, 0) {
            Err(Refusal::Verify(VerifyError::NoKeyConfigured(p))) => assert_eq!(p, provider),
            other => panic!("{provider}: {other:?}"),
        }
    }
    // A key for Tencent only: Alibaba is still refused.
    let tencent_only = Verifier::new().tencent_keys("mysignkey");
    assert!(matches!(
        tencent_only.check(
            &vod_headers(&VOD_TS.to_string(), VOD_SIG),
            vod_unsigned(),
            VOD_TS
        ),
        Err(Refusal::Verify(VerifyError::NoKeyConfigured(
            Provider::AlibabaVod
        )))
    ));

    let open = Verifier::new().allow_unsigned(true);
    for body in [tencent_unsigned(), ims_unsigned(), vod_unsigned()] {
        let event = open
            .check(&HeaderMap::new(), body, 0)
            .expect("unsigned allowed");
        assert_eq!(event.key_used(), None);
    }
    // Opting in to unsigned pushes does not weaken a producer that has a key.
    let mixed = Verifier::new()
        .tencent_keys("mysignkey")
        .allow_unsigned(true);
    assert!(matches!(
        mixed.check(&HeaderMap::new(), tencent_unsigned(), 0),
        Err(Refusal::Verify(VerifyError::MissingSign))
    ));
    assert!(mixed.check(&HeaderMap::new(), vod_unsigned(), 0).is_ok());
}

#[test]
fn bodies_that_are_not_one_json_object_are_refused() {
    let v = Verifier::new().allow_unsigned(true);
    for (body, reason) in [
        (&b"{"[..], "bad_json"),
        (b"", "bad_json"),
        (b"{\"EventType\":\"X\"} {}", "bad_json"),
        (b"[{\"EventType\":\"X\"}]", "bad_json"),
        (b"\"text\"", "bad_json"),
        (b"null", "bad_json"),
        (b"{\"EventType\":\"X\xff\"}", "bad_json"),
        (b"{}", "unknown_producer"),
        (b"{\"Status\":\"success\"}", "unknown_producer"),
        // Tencent's legacy v2.0 format is not modelled.
        (
            b"{\"version\":\"4.0\",\"eventType\":\"NewFileUpload\",\"data\":{\"fileId\":\"1\"}}",
            "unknown_producer",
        ),
    ] {
        let refusal = v
            .check(&HeaderMap::new(), Bytes::from_static(body), 0)
            .expect_err("refused");
        assert_eq!(
            refusal.reason(),
            reason,
            "{:?}: {refusal}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(refusal.status(), 400);
    }
    assert!(matches!(
        v.check(&HeaderMap::new(), Bytes::from_static(b"[1]"), 0),
        Err(Refusal::NotAnObject)
    ));
}

#[test]
fn the_tencent_event_drops_sign_and_t_and_keeps_the_rest_exactly() {
    let body = format!(
        r#"{{"EventType":"Mystery","MysteryEvent":{{"Big":123456789012345678901234567890,"F":1.50}},"Sign":"{DOC_SIGN}","T":{DOC_T}}}"#
    );
    let v = Verifier::new().tencent_keys("mysignkey");
    let event = v
        .check(&HeaderMap::new(), Bytes::from(body.clone()), DOC_T)
        .expect("accepted");
    assert_eq!(event.body().as_ref(), body.as_bytes());
    assert_eq!(
        event.json(),
        r#"{"EventType":"Mystery","MysteryEvent":{"Big":123456789012345678901234567890,"F":1.50}}"#
    );
    let PushedEvent::Tencent(received) = event.event() else {
        panic!("tencent");
    };
    assert_eq!(received.event_type(), Some("Mystery"));
    // Two deliveries of one event, sent at different times (different T), have one key.
    let later = tencent_body(
        Some("0ee2a19931a81750e12876a2a5d78bd7"),
        Some(json!(32503680000_i64)),
    );
    let earlier = tencent_body(Some(DOC_SIGN), Some(json!(DOC_T)));
    let k1 = v.check(&HeaderMap::new(), earlier, DOC_T).expect("one");
    let k2 = v.check(&HeaderMap::new(), later, DOC_T).expect("two");
    assert_eq!(k1.idempotency_key(), k2.idempotency_key());
    assert!(k1.idempotency_key().starts_with("tencent|"));
}

#[test]
fn alibaba_events_are_typed_by_their_shape() {
    let v = Verifier::new().allow_unsigned(true);
    let vod = v
        .check(
            &HeaderMap::new(),
            Bytes::from_static(VOD_BODY.as_bytes()),
            0,
        )
        .expect("vod");
    assert_eq!(vod.provider(), Provider::AlibabaVod);
    assert_eq!(vod.json(), VOD_BODY);
    let ims = v
        .check(
            &HeaderMap::new(),
            Bytes::from_static(IMS_BODY.as_bytes()),
            0,
        )
        .expect("ims");
    assert_eq!(ims.provider(), Provider::AlibabaIms);
    let event = ims.alibaba().expect("alibaba").event().expect("typed");
    assert_eq!(event.event_type(), "FileUploadComplete");
}

#[test]
fn refusals_never_show_keys_or_expected_signatures() {
    let v = Verifier::new()
        .tencent_keys(Keys::new("SUPERSECRET1").with_previous("mysignkey"))
        .alibaba_keys(Keys::new("SUPERSECRET2"))
        .callback_url(URL);
    let expected = hex(tencent_sign(
        &Secret::new("SUPERSECRET1"),
        &DOC_T.to_string(),
    ));
    let expected_ali = hex(alibaba_signature(
        &Secret::new("SUPERSECRET2"),
        URL,
        &VOD_TS.to_string(),
    ));
    let refusals = [
        v.check(
            &HeaderMap::new(),
            tencent_body(Some("00000000000000000000000000000000"), Some(json!(DOC_T))),
            0,
        ),
        vod_at(&v, VOD_TS),
    ];
    let text = format!(
        "{v:?} {refusals:?} {}",
        refusals
            .iter()
            .map(|r| match r {
                Err(e) => e.to_string(),
                Ok(_) => String::new(),
            })
            .collect::<String>()
    );
    for secret in [
        "SUPERSECRET1",
        "SUPERSECRET2",
        "mysignkey",
        &expected,
        &expected_ali,
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn header_value() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![
            Just(VOD_TS.to_string()),
            Just(VOD_SIG.to_owned()),
            "[ -~]{0,40}",
        ])
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            (
                proptest::sample::select(vec![
                    "Sign",
                    "T",
                    "EventType",
                    "MessageBody",
                    "UserId",
                    "EventTime",
                    "FileUploadEvent",
                    "X"
                ]),
                proptest::sample::select(vec![
                    "1",
                    "\"a\"",
                    "null",
                    "{}",
                    "[]",
                    "-1",
                    "1e400",
                    "123456789012345678901234567890",
                    "\"292d55e60d1e5fbc2023fa07bc4a3081\""
                ]),
                proptest::sample::select(vec!["Sign", "T", "EventType", "MessageBody"]),
                proptest::sample::select(vec![
                    "1735689600",
                    "\"NewFileUpload\"",
                    "{\"a\":1}",
                    "\"1735689600\""
                ]),
            )
                .prop_map(
                    |(k1, v1, k2, v2)| format!("{{\"{k1}\":{v1},\"{k2}\":{v2}}}").into_bytes()
                ),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn on_any_request(
            body in body(),
            vod_ts in header_value(),
            vod_sig in header_value(),
            ice_ts in header_value(),
            now in prop_oneof![Just(VOD_TS), Just(DOC_T), any::<i64>()],
        ) {
            let mut h = HeaderMap::new();
            for (name, value) in [("x-vod-timestamp", vod_ts), ("x-vod-signature", vod_sig), ("x-ice-timestamp", ice_ts)] {
                if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    h.insert(name, value);
                }
            }
            let verifier = Verifier::new()
                .tencent_keys("mysignkey")
                .alibaba_keys("test123")
                .callback_url(URL);
            if let Err(refusal) = verifier.check(&h, Bytes::from(body), now) {
                let _ = (refusal.status(), refusal.reason(), refusal.to_string());
            }
        }
    }
}
