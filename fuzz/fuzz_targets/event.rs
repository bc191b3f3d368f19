//! One `EventContent` object: the generic `Deserialize` (`Event::from_json`) and the stream's
//! lazy path (`decode_event_json`, which must agree with it), and re-serialising whatever
//! decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vod_events::tencent::events::decode_event_json;
use vod_events::tencent::Event;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(event) = Event::from_json(text) {
        let _ = event.event_type();
        let _ = event.idempotency_key();
        let json = serde_json::to_string(&event).expect("a decoded event serialises");
        // What was serialised decodes again.
        Event::from_json(&json).expect("a serialised event decodes");
    }
    if let Ok(received) = decode_event_json(text) {
        let _ = received.idempotency_key();
        if let Ok(event) = received.event() {
            let _ = serde_json::to_string(event);
        }
        // Reading only EventHandle/EventType up front (and decoding on first use) must give
        // what decoding the whole object gives: the same typed result, the handle a map reader
        // sees (last key wins), and the object minus its handle.
        assert_eq!(received.event(), Event::from_json(text).as_ref(), "{text}");
        // (Valid JSON may still not fit a `Value`, e.g. a number beyond f64: then only the
        // typed result above is compared.)
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        assert_eq!(
            received.handle(),
            value.get("EventHandle").and_then(|h| h.as_str()),
            "{text}"
        );
        if let serde_json::Value::Object(mut object) = value {
            object.remove("EventHandle");
            let without: serde_json::Value =
                serde_json::from_str(&received.json_without_handle()).expect("valid JSON");
            assert_eq!(without, serde_json::Value::Object(object), "{text}");
        }
    }
});
