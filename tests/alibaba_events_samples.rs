//! Every sample of `spec/alibaba-events.json` (the seeds' samples in their valid-JSON
//! versions, success and failure, and the VOD samples from outside the seeds) decodes into
//! its own (product, EventType) variant and round-trips per Contract 4.

use serde_json::Value;
use vod_events::alibaba::events::{decode_json, Event, Product, EVENT_TYPES};
use vod_events::{Provider, VodEvent};

mod alibaba_common;

use alibaba_common::{samples, without_nulls, Sample};

fn json(s: &Sample) -> String {
    s.value.to_string()
}

#[test]
fn there_is_a_sample_for_every_ims_event_and_both_refresh_outcomes() {
    let samples = samples();
    for info in EVENT_TYPES.iter().filter(|i| i.product == Product::Ims) {
        assert!(
            samples
                .iter()
                .any(|s| s.product == Product::Ims && s.event_type == info.event_type),
            "{}",
            info.event_type
        );
    }
    let refresh: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.event_type == "SubmitMediaRefreshComplete")
        .collect();
    assert_eq!(refresh.len(), 2, "success and failure samples of seed 000");
    // VOD WorkflowTaskComplete is the only event without any sample.
    assert_eq!(samples.len(), 29 + 2 + 22);
}

#[test]
fn every_sample_decodes_into_its_own_variant() {
    for s in samples() {
        let event = Event::from_json(&json(&s)).unwrap_or_else(|e| {
            panic!(
                "{} {} ({}): {e}\n{}",
                s.product, s.event_type, s.origin, s.value
            )
        });
        assert!(event.is_known(), "{} {}: unknown", s.product, s.event_type);
        assert_eq!(event.product(), s.product, "{}", s.value);
        // The MediaConvertOutputGroupComplete sample sends an alias, kept as sent.
        let sent: Value = serde_json::from_str(&json(&s)).expect("JSON");
        assert_eq!(Some(event.event_type()), sent["EventType"].as_str());
        let info = event.info().expect("known");
        assert_eq!(
            (info.product, info.event_type),
            (s.product, s.event_type.as_str())
        );
    }
}

#[test]
fn every_sample_round_trips() {
    for s in samples() {
        let event = Event::from_json(&json(&s)).expect("decodes");
        let written = serde_json::to_string(&event).expect("serialises");
        let sent: Value = serde_json::from_str(&json(&s)).expect("JSON");
        let back: Value = serde_json::from_str(&written).expect("JSON");
        assert_eq!(
            without_nulls(back),
            without_nulls(sent),
            "{} {} ({})",
            s.product,
            s.event_type,
            s.origin
        );
        // And through serde's generic path (`from_str`, `from_value`): the same event.
        assert_eq!(
            serde_json::from_str::<Event>(&json(&s)).expect("from_str"),
            event
        );
        let value: Value = serde_json::from_str(&json(&s)).expect("JSON");
        assert_eq!(
            serde_json::from_value::<Event>(value).expect("from_value"),
            event
        );
        assert_eq!(Event::from_json(&written).expect("decodes again"), event);
    }
}

#[test]
fn every_sample_reports_product_type_and_a_payload_key() {
    for s in samples() {
        let received = decode_json(&json(&s)).expect("JSON");
        let provider = match s.product {
            Product::Vod => Provider::AlibabaVod,
            Product::Ims => Provider::AlibabaIms,
        };
        assert_eq!(VodEvent::provider(&received), provider);
        assert_eq!(received.product().provider(), provider);
        let key = VodEvent::idempotency_key(&received);
        let prefix = format!("{provider}:{}:", s.event_type);
        assert!(key.starts_with(&prefix), "{key}");
        assert_eq!(
            key,
            decode_json(&json(&s)).expect("JSON").idempotency_key(),
            "stable"
        );
        assert_eq!(VodEvent::json(&received), json(&s).as_str());
        assert!(received.event().is_ok());
    }
}
