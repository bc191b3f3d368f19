//! One `EventContent` object: the generic `Deserialize` (`Event::from_json`) and the stream's
//! fast path (`decode_event_json`), and re-serialising whatever decoded.
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
    }
});
