//! Event decoding speed.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-events cargo bench --bench parse
//! ```
//!
//! * `official_sample/*`: the one event of the official PullEvents sample (about 3.9 kB, with
//!   24 explicit `null` payload fields), already split out of the response as `Box<RawValue>`.
//! * `batch16/*`: a 16-event PullEvents response (8 copies of the official sample event and 8
//!   PullComplete events from the doc page, each with `null` for all 36 other payload fields,
//!   as the service sends them, and `EventHandle`, `EventType` first, as the service orders
//!   them).
//!
//! `decode_event_content` reads only `EventHandle` and `EventType` when the event is laid out
//! as the service sends it; the typed value is decoded on first `event()`. The benches name
//! which of the two they measure ("handle + type" or "typed").

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use vod_events::tencent::client::decode_response;
use vod_events::tencent::events::{decode_event_content, Event, ProcedureTask, EVENT_TYPES};
use vod_events::tencent::fake::samples::service_order_json;
use vod_events::tencent::PullEvents;

const OFFICIAL: &str = include_str!("../tests/fixtures/pullevents-official-sample.json");
const PULL_RESPONSE: &str = include_str!("../tests/fixtures/pullcomplete-pullevents-response.json");

/// The response's `EventSet`, decoded exactly as the client does.
fn event_set(text: &str) -> Vec<Box<RawValue>> {
    decode_response::<PullEvents>(text.as_bytes())
        .expect("envelope")
        .event_set
}

fn first_event(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).expect("json");
    v["Response"]["EventSet"][0].clone()
}

/// A PullEvents response with 16 events and explicit nulls.
fn batch16() -> String {
    let procedure = first_event(OFFICIAL);
    let mut pull = first_event(PULL_RESPONSE);
    for info in EVENT_TYPES
        .iter()
        .filter(|i| i.event_type != "PullComplete")
    {
        pull[info.payload_field] = Value::Null;
    }
    let mut events = Vec::new();
    for i in 0..8 {
        let mut p = procedure.clone();
        p["EventHandle"] = json!(format!("handle-p{i}"));
        p["ProcedureStateChangeEvent"]["TaskId"] = json!(format!("1256712345-Procedure-{i}"));
        events.push(p);
        let mut q = pull.clone();
        q["EventHandle"] = json!(format!("handle-q{i}"));
        q["PullCompleteEvent"]["TaskId"] = json!(format!("125676836723-Pull-{i}"));
        events.push(q);
    }
    // Laid out as the service sends events: EventHandle, EventType, then the rest.
    let events: Vec<String> = events
        .iter()
        .filter_map(Value::as_object)
        .map(service_order_json)
        .collect();
    format!(
        r#"{{"Response":{{"EventSet":[{}],"RequestId":"r"}}}}"#,
        events.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let official = event_set(OFFICIAL).pop().expect("one event");
    let official_text = official.get().to_owned();

    let mut g = c.benchmark_group("official_sample");
    g.throughput(Throughput::Elements(1));
    // Includes cloning the 5.4 kB `Box<RawValue>` input (an allocation and a memcpy): cloning
    // in a batched setup instead leaves the inputs cold in cache, which is not what the client
    // sees (it decodes each element right after reading the response).
    // `decode_event_content` reads only EventHandle and EventType of the service's layout;
    // the typed value is decoded on first `event()`. Both costs, separately and together:
    g.bench_function(
        "decode_event_content: handle + type (incl. input clone)",
        |b| b.iter(|| black_box(decode_event_content(black_box(&official).clone()))),
    );
    g.bench_function(
        "decode_event_content + event(): typed (incl. input clone)",
        |b| {
            b.iter(|| {
                let received = decode_event_content(black_box(&official).clone());
                black_box(received.event().is_ok());
                black_box(received)
            })
        },
    );
    g.bench_function("clone input only", |b| {
        b.iter(|| black_box(black_box(&official).clone()))
    });
    g.bench_function("serde_json::from_str::<Event>", |b| {
        b.iter(|| black_box(serde_json::from_str::<Event>(black_box(&official_text))))
    });
    let payload = first_event(OFFICIAL)["ProcedureStateChangeEvent"].to_string();
    g.bench_function(
        "baseline: from_str::<ProcedureTask> (payload only, compact)",
        |b| b.iter(|| black_box(serde_json::from_str::<ProcedureTask>(black_box(&payload)))),
    );
    let pretty_payload = {
        let parts: std::collections::BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(official.get()).expect("object");
        parts["ProcedureStateChangeEvent"].get().to_owned()
    };
    g.bench_function(
        "baseline: from_str::<ProcedureTask> (payload only, as sent)",
        |b| {
            b.iter(|| {
                black_box(serde_json::from_str::<ProcedureTask>(black_box(
                    &pretty_payload,
                )))
            })
        },
    );
    let received = decode_event_content(official.clone());
    g.bench_function("json_without_handle", |b| {
        b.iter(|| black_box(received.json_without_handle()))
    });
    g.bench_function("idempotency_key", |b| {
        b.iter(|| black_box(received.event().map(Event::idempotency_key)))
    });
    g.finish();

    let batch = batch16();
    let raws = event_set(&batch);
    assert_eq!(raws.len(), 16);
    let mut g = c.benchmark_group("batch16");
    g.throughput(Throughput::Elements(16));
    g.bench_function(
        "decode_event_content x16: handle + type (incl. input clone)",
        |b| {
            b.iter(|| {
                let events: Vec<_> = black_box(&raws)
                    .iter()
                    .cloned()
                    .map(decode_event_content)
                    .collect();
                black_box(events)
            })
        },
    );
    g.bench_function(
        "decode_event_content + event() x16: typed (incl. input clone)",
        |b| {
            b.iter(|| {
                let events: Vec<_> = black_box(&raws)
                    .iter()
                    .cloned()
                    .map(|raw| {
                        let received = decode_event_content(raw);
                        black_box(received.event().is_ok());
                        received
                    })
                    .collect();
                black_box(events)
            })
        },
    );
    g.bench_function(
        "response text -> 16 ReceivedEvent (envelope, handle + type)",
        |b| {
            b.iter(|| {
                let events: Vec<_> = event_set(black_box(&batch))
                    .into_iter()
                    .map(decode_event_content)
                    .collect();
                black_box(events)
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
