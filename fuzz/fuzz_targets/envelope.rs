//! The PullEvents response body as the client decodes it (envelope, `Response.Error`,
//! `EventSet` as raw values), then every event of the set as the stream decodes it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vod_events::tencent::client::decode_response;
use vod_events::tencent::{decode_event_content, ConfirmEvents, PullEvents};

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = decode_response::<PullEvents>(data) {
        for raw in response.event_set {
            let received = decode_event_content(raw);
            let _ = received.handle();
            let _ = received.idempotency_key();
            let _ = received.json_without_handle();
        }
    }
    let _ = decode_response::<ConfirmEvents>(data).map_err(|e| e.to_string());
});
