//! One Alibaba VOD or IMS event object: `alibaba::Event::from_json` (and serde's generic path,
//! which must agree), re-serialising whatever decoded (it must decode again to the same event),
//! and the received-event wrapper a source hands on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vod_events::alibaba::events::{decode_json, Event};
use vod_events::VodEvent;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let direct = Event::from_json(text);
    if let Ok(event) = &direct {
        let _ = (event.event_type(), event.product(), event.outcome());
        let _ = event.idempotency_key();
        let json = serde_json::to_string(event).expect("a decoded event serialises");
        let again = Event::from_json(&json).expect("a serialised event decodes");
        assert_eq!(&again, event, "{text}");
    }
    if let Ok(received) = decode_json(text) {
        // The generic `Deserialize` gives what the text decoder gives.
        let generic = serde_json::from_str::<Event>(text);
        assert_eq!(generic.is_ok(), direct.is_ok(), "{text}");
        assert_eq!(received.event().ok(), direct.as_ref().ok(), "{text}");
        assert_eq!(VodEvent::json(&received), text.trim());
        let _ = VodEvent::idempotency_key(&received);
        let _ = VodEvent::provider(&received);
    }
});
