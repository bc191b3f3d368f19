//! Hostile response bodies: whatever the server sends, the client's decoder (the exact code the
//! client runs on a 200 body) and the event parser return a value or an error, never panic,
//! never recurse without bound. Deeper coverage: the cargo-fuzz targets in `fuzz/`.

use proptest::prelude::*;
use vod_events::tencent::client::decode_response;
use vod_events::tencent::events::decode_event_json;
use vod_events::tencent::{decode_event_content, Error, Event, PullEvents};

/// `depth` levels of `open` … `close` around a `0`.
fn nested(depth: usize, open: &str, close: &str) -> String {
    let mut s = String::with_capacity(depth * (open.len() + close.len()) + 1);
    for _ in 0..depth {
        s.push_str(open);
    }
    s.push('0');
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

/// Runs `f` on a thread with a 1 MiB stack (half the default): recursion bounded by
/// serde_json's limit of 128 fits even in a debug build; recursion over a million levels
/// would not.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("no stack overflow, no panic");
}

/// Decodes a body as the client and the stream do: events, and how many did not decode.
fn decode_all(body: &[u8]) -> Result<(usize, usize), Error> {
    let response = decode_response::<PullEvents>(body)?;
    let n = response.event_set.len();
    let mut undecodable = 0;
    for raw in response.event_set {
        let received = decode_event_content(raw);
        let _ = received.idempotency_key();
        undecodable += usize::from(received.event().is_err());
    }
    Ok((n, undecodable))
}

#[test]
fn deeply_nested_json_is_refused_without_a_stack_overflow() {
    on_small_stack(|| {
        for depth in [200, 200_000] {
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let deep = nested(depth, open, close);
                // As an event, or inside one: the envelope is fine, that event alone is
                // undecodable (surfaced with its raw JSON, so the others still flow).
                for body in [
                    format!(
                        r#"{{"Response":{{"EventSet":[{{"EventHandle":"h","EventType":"PullComplete","PullCompleteEvent":{{"TaskId":{deep}}}}},{{"EventHandle":"h2","EventType":"FutureThing"}}],"RequestId":"r"}}}}"#
                    ),
                    format!(
                        r#"{{"Response":{{"EventSet":[{deep},{{"EventHandle":"h2","EventType":"FutureThing"}}],"RequestId":"r"}}}}"#
                    ),
                ] {
                    let got = decode_all(body.as_bytes());
                    assert!(matches!(got, Ok((2, 1))), "depth {depth}: {got:?}");
                }
                // As the whole body, the Response or the error: refused, or (serde accepts
                // a struct as a sequence) nothing but undecodable events.
                for body in [
                    deep.clone(),
                    format!(r#"{{"Response":{deep}}}"#),
                    format!(r#"{{"Response":{{"Error":{deep},"RequestId":"r"}}}}"#),
                ] {
                    match decode_all(body.as_bytes()) {
                        // An `Error` object whose fields were all unknown: an API error
                        // with an empty code.
                        Err(Error::Decode { .. } | Error::Api { .. }) => {}
                        Ok((n, undecodable)) if n == undecodable => {}
                        other => panic!("depth {depth}: {other:?}"),
                    }
                }
                let event = format!(r#"{{"EventType":"FutureThing","Payload":{deep}}}"#);
                let err = Event::from_json(&event).expect_err("too deep");
                assert!(err.to_string().contains("recursion limit"), "{err}");
                let received = decode_event_json(&event).expect("the raw event is kept");
                assert!(received.event().is_err());
            }
        }
    });
}

#[test]
fn nesting_the_model_allows_is_accepted() {
    // 100 levels inside an unknown field: well under serde_json's limit of 128.
    let deep = nested(100, "[", "]");
    let body = format!(
        r#"{{"Response":{{"EventSet":[{{"EventHandle":"h","EventType":"FutureThing","X":{deep}}}],"RequestId":"r"}}}}"#
    );
    assert_eq!(decode_all(body.as_bytes()).unwrap(), (1, 0));
}

#[test]
fn more_than_sixteen_events_and_repeated_handles_decode() {
    // The decoder takes them as they come; the stream guards the confirm batching (see
    // tests/stream.rs: more_than_sixteen_..., a_server_repeating_events_...).
    let one =
        r#"{"EventHandle":"same","EventType":"PullComplete","PullCompleteEvent":{"TaskId":"t"}}"#;
    let set = vec![one; 40].join(",");
    let body = format!(r#"{{"Response":{{"EventSet":[{set}],"RequestId":"r"}}}}"#);
    assert_eq!(decode_all(body.as_bytes()).unwrap(), (40, 0));
}

/// Bodies shaped like the envelope, with arbitrary pieces where values go.
fn envelope_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("null".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just(r#""x""#.to_owned()),
        Just("1e999".to_owned()),
        Just("-0".to_owned()),
        Just(r#"{"Code":1}"#.to_owned()),
        Just(r#"{"EventHandle":null,"EventType":7}"#.to_owned()),
        Just(
            r#"{"EventHandle":"h","EventType":"PullComplete","PullCompleteEvent":"x"}"#.to_owned()
        ),
        "[ -~]{0,12}",
    ];
    (
        proptest::collection::vec(piece.clone(), 0..20),
        piece.clone(),
        piece,
        any::<bool>(),
        0usize..64,
    )
        .prop_map(|(set, error, request_id, with_error, cut)| {
            let mut body = format!(
                r#"{{"Response":{{"EventSet":[{}],{}"RequestId":{request_id}}}}}"#,
                set.join(","),
                if with_error {
                    format!(r#""Error":{error},"#)
                } else {
                    String::new()
                }
            )
            .into_bytes();
            // Sometimes truncated, as a cut connection leaves it.
            if cut < 8 {
                body.truncate(body.len() * cut / 8);
            }
            body
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_all(&body);
    }

    #[test]
    fn envelope_like_bodies_never_panic(body in envelope_like()) {
        match decode_all(&body) {
            Ok(_) | Err(Error::Decode { .. }) | Err(Error::Api { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error kind: {other:?}"),
        }
    }
}
