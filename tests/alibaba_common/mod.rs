//! What the Alibaba event tests share: the model's samples and the JSON comparison of
//! Contract 4.
#![allow(dead_code)] // each test crate uses a part

use serde_json::Value;
use vod_events::alibaba::Product;

/// One sample of `spec/alibaba-events.json`.
pub struct Sample {
    pub product: Product,
    pub event_type: String,
    /// `seed` or `outside the seeds`.
    pub origin: &'static str,
    /// The valid-JSON version (the repaired one where the seed's text is not JSON).
    pub value: Value,
}

/// Every sample of the model: the seeds' (success and failure) and the VOD ones from outside
/// the seeds.
pub fn samples() -> Vec<Sample> {
    let spec: Value =
        serde_json::from_str(include_str!("../../spec/alibaba-events.json")).expect("spec");
    let mut out = Vec::new();
    for ev in spec["events"].as_array().expect("events") {
        let product = match ev["product"].as_str() {
            Some("IMS") => Product::Ims,
            _ => Product::Vod,
        };
        let supplement = &ev["supplement_not_in_seeds"]["samples"];
        for (list, origin) in [(&ev["samples"], "seed"), (supplement, "outside the seeds")] {
            for s in list.as_array().into_iter().flatten() {
                let value = s.get("valid_json_version").or_else(|| s.get("parsed"));
                out.push(Sample {
                    product,
                    event_type: ev["event_type"].as_str().unwrap_or_default().to_owned(),
                    origin,
                    value: value.expect("a JSON version").clone(),
                });
            }
        }
    }
    out
}

/// `value` without `null` members (Contract 4: `null` and absent count as equal).
pub fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}
