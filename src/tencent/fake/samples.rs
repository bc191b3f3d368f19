//! Realistic sample `EventContent` objects, generated at run time from the event model in
//! `spec/tencent-vod-events.json`.
//!
//! For every EventType of the model, [`sample_event`] builds `{"EventType": .., "<payload
//! field>": {..}}` with **every** field of the payload struct filled recursively:
//!
//! * a field's `example` is used when it has the field's type (numbers are parsed, lists
//!   must be JSON arrays of the element type);
//! * else its first type-compatible `values_hint`;
//! * else a plausible value from its type and name (ids, `https://example.com/...` URLs,
//!   ISO-8601 times such as `2026-01-02T03:04:05Z`, sizes, durations...);
//! * lists get one element, nested structs are filled the same way.
//!
//! Samples carry no `EventHandle` (the fake adds it on delivery). They are deterministic:
//! the same EventType and `index` always give the same JSON. The index is written into the
//! payload's identity fields (`TaskId`, `FileId`, `CastId`, the first `FileIdSet` entry; for
//! a payload without any of these, its first string field), zero-padded to 6 digits, so
//! events built with different indices have different idempotency keys.
//!
//! [`unknown_event_sample`] builds an event of a future EventType the model does not know.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Map, Number, Value};

/// The embedded event model (`spec/tencent-vod-events.json`).
pub const MODEL_JSON: &str = include_str!("../../../spec/tencent-vod-events.json");

/// The EventType of [`unknown_event_sample`].
pub const UNKNOWN_EVENT_TYPE: &str = "FutureFeatureComplete";

/// Marker replaced by the index when a template is rendered.
const MARK: &str = "@@FAKE_VOD_INDEX@@";

/// One EventType of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventTypeInfo {
    /// The `EventType` string, e.g. `NewFileUpload`.
    pub event_type: String,
    /// The `EventContent` field that carries the payload, e.g. `FileUploadEvent`.
    pub payload_field: String,
    /// The payload struct, e.g. `FileUploadTask`.
    pub struct_name: String,
    /// The model's category: `listed`, `legacy-2017`, `field-doc-only` or `obsolete`.
    pub category: String,
}

#[derive(Deserialize)]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    values_hint: Vec<Value>,
    #[serde(default)]
    example: Option<Value>,
}

#[derive(Deserialize)]
struct RawStruct {
    fields: Vec<RawField>,
}

#[derive(Deserialize)]
struct RawEventType {
    payload_field: String,
    struct_name: String,
    #[serde(default)]
    category: String,
}

/// The top-level object with its keys in file order (serde_json's map is sorted).
struct OrderedTop(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedTop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedTop;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedTop, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(OrderedTop(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// An `EventContent` object as compact JSON text in the order the service writes it:
/// `EventHandle` (when present), `EventType`, then the other entries in the map's order.
/// (A `serde_json::Map` sorts its keys, which the service never does; the stream reads the
/// handle and type without decoding only when they come first.)
pub fn service_order_json(object: &Map<String, Value>) -> String {
    const FIRST: [&str; 2] = ["EventHandle", "EventType"];
    let entries = FIRST
        .iter()
        .filter_map(|k| object.get_key_value(*k))
        .chain(object.iter().filter(|(k, _)| !FIRST.contains(&k.as_str())));
    let mut out = String::from("{");
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(key.as_str()).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

/// A pre-serialized event with index placeholders: rendering is string concatenation.
#[derive(Debug)]
pub(crate) struct Template {
    /// The JSON text split at the placeholders; never empty, the first part starts with `{`.
    parts: Vec<String>,
}

impl Template {
    fn new(value: &Map<String, Value>) -> Template {
        let text = service_order_json(value);
        Template {
            parts: text.split(MARK).map(str::to_owned).collect(),
        }
    }

    /// Appends the rendered JSON object, without its opening `{`, to `out`.
    pub(crate) fn write_tail(&self, index: u64, out: &mut String) {
        use std::fmt::Write;
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                let _ = write!(out, "{index:06}");
            }
            out.push_str(if i == 0 {
                part.get(1..).unwrap_or("")
            } else {
                part
            });
        }
    }

    /// The rendered JSON text.
    pub(crate) fn render(&self, index: u64) -> String {
        let mut out = String::with_capacity(self.parts.iter().map(String::len).sum::<usize>() + 16);
        out.push('{');
        self.write_tail(index, &mut out);
        out
    }
}

pub(crate) struct Model {
    types: Vec<EventTypeInfo>,
    templates: Vec<Arc<Template>>,
    by_name: HashMap<String, usize>,
    unknown: Arc<Template>,
}

impl Model {
    fn load() -> Option<Model> {
        let top: OrderedTop = serde_json::from_str(MODEL_JSON).ok()?;
        let mut structs: HashMap<String, RawStruct> = HashMap::new();
        let mut raw_types = Vec::new();
        for (key, value) in top.0 {
            match key.as_str() {
                "_meta" | "EventContent" => {}
                "structs" => structs = serde_json::from_value(value).ok()?,
                _ => raw_types.push((key, serde_json::from_value::<RawEventType>(value).ok()?)),
            }
        }
        let gen = Generator { structs: &structs };
        let mut types = Vec::new();
        let mut templates = Vec::new();
        let mut by_name = HashMap::new();
        for (event_type, raw) in raw_types {
            let mut payload = gen.fill_struct(&raw.struct_name, 0);
            mark_identity(&mut payload);
            let mut event = Map::new();
            event.insert("EventType".into(), Value::String(event_type.clone()));
            event.insert(raw.payload_field.clone(), payload);
            by_name.insert(event_type.clone(), types.len());
            templates.push(Arc::new(Template::new(&event)));
            types.push(EventTypeInfo {
                event_type,
                payload_field: raw.payload_field,
                struct_name: raw.struct_name,
                category: raw.category,
            });
        }
        let unknown = json!({
            "EventType": UNKNOWN_EVENT_TYPE,
            "FutureFeatureCompleteEvent": {
                "TaskId": format!("1500000001-FutureFeature-{MARK}"),
                "Status": "FINISH",
                "ErrCode": 0,
                "Message": "SUCCESS",
                "FutureOutput": {"Url": "https://example.com/future/output.mp4", "Score": 0.5},
                "CreateTime": "2026-01-02T03:04:05Z"
            },
            "SomeFutureTopLevelField": {"Enabled": true, "Tags": ["a", "b"]}
        });
        Some(Model {
            types,
            templates,
            by_name,
            unknown: Arc::new(Template::new(unknown.as_object()?)),
        })
    }

    pub(crate) fn get() -> Option<&'static Model> {
        static MODEL: OnceLock<Option<Model>> = OnceLock::new();
        MODEL.get_or_init(Model::load).as_ref()
    }

    /// The template of the `i`-th type in the cycle over all model types.
    pub(crate) fn cycle(&self, i: u64) -> Option<&Arc<Template>> {
        let n = self.templates.len() as u64;
        if n == 0 {
            return None;
        }
        self.templates.get((i % n) as usize)
    }
}

/// Writes the index placeholder into the payload's identity fields.
fn mark_identity(payload: &mut Value) {
    let Value::Object(map) = payload else { return };
    let mut marked = false;
    for key in ["TaskId", "FileId", "CastId"] {
        if let Some(Value::String(s)) = map.get_mut(key) {
            let sep = if key == "FileId" { "" } else { "-" };
            *s = format!("{s}{sep}{MARK}");
            marked = true;
        }
    }
    if let Some(Value::Array(items)) = map.get_mut("FileIdSet") {
        if let Some(Value::String(s)) = items.first_mut() {
            *s = format!("{s}-{MARK}");
            marked = true;
        }
    }
    if !marked {
        mark_first_string(payload);
    }
}

fn mark_first_string(v: &mut Value) -> bool {
    match v {
        Value::String(s) => {
            *s = format!("{s}-{MARK}");
            true
        }
        Value::Array(items) => items.iter_mut().any(mark_first_string),
        Value::Object(map) => map.values_mut().any(mark_first_string),
        _ => false,
    }
}

struct Generator<'a> {
    structs: &'a HashMap<String, RawStruct>,
}

/// Scalar types of the model.
#[derive(Clone, Copy, PartialEq)]
enum Scalar {
    String,
    Int,
    Uint,
    Float,
    Bool,
}

fn scalar(ty: &str) -> Option<Scalar> {
    Some(match ty {
        "string" => Scalar::String,
        "int64" => Scalar::Int,
        "uint64" => Scalar::Uint,
        "float64" => Scalar::Float,
        "bool" => Scalar::Bool,
        _ => return None,
    })
}

/// Converts a model example or hint (normally a string) to a value of type `s`, if it fits.
fn coerce(raw: &Value, s: Scalar) -> Option<Value> {
    match (s, raw) {
        (Scalar::String, Value::String(t)) => Some(Value::String(t.clone())),
        (Scalar::Int, Value::String(t)) => t.trim().parse::<i64>().ok().map(Value::from),
        (Scalar::Uint, Value::String(t)) => t.trim().parse::<u64>().ok().map(Value::from),
        (Scalar::Float, Value::String(t)) => t
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number),
        (Scalar::Bool, Value::String(t)) => t.trim().parse::<bool>().ok().map(Value::Bool),
        (Scalar::String, _) => None,
        (Scalar::Int, Value::Number(n)) => n.as_i64().map(Value::from),
        (Scalar::Uint, Value::Number(n)) => n.as_u64().map(Value::from),
        (Scalar::Float, Value::Number(n)) => {
            n.as_f64().and_then(Number::from_f64).map(Value::Number)
        }
        (Scalar::Bool, Value::Bool(b)) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// A list example (JSON array text) whose elements all fit `s`.
fn coerce_list(raw: &Value, s: Scalar) -> Option<Value> {
    let parsed: Value = match raw {
        Value::String(t) => serde_json::from_str(t).ok()?,
        other => other.clone(),
    };
    let Value::Array(items) = parsed else {
        return None;
    };
    if items.is_empty() {
        return None;
    }
    let items = items
        .iter()
        .map(|item| match (s, item) {
            (Scalar::String, Value::String(_)) | (Scalar::Bool, Value::Bool(_)) => {
                Some(item.clone())
            }
            (Scalar::String, _) | (Scalar::Bool, _) => None,
            _ => coerce(item, s),
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Value::Array(items))
}

/// A plausible value for a field of type `s` named `name`.
fn plausible(name: &str, s: Scalar) -> Value {
    match s {
        Scalar::String => Value::String(plausible_string(name)),
        Scalar::Int | Scalar::Uint => Value::from(match name {
            "ErrCode" | "Status" => 0,
            "Width" => 1280,
            "Height" => 720,
            "Size" | "FileSize" => 7_700_180,
            "Bitrate" => 1_021_028,
            "Duration" => 60,
            "Progress" => 100,
            "Definition" => 100_010,
            "SamplingRate" => 48_000,
            _ => 1,
        }),
        Scalar::Float => {
            let v = match name {
                "Duration" | "VideoDuration" | "AudioDuration" => 60.0,
                "Fps" => 25.0,
                "Confidence" | "Score" => 90.0,
                _ => 1.5,
            };
            Number::from_f64(v).map_or(Value::from(1), Value::Number)
        }
        Scalar::Bool => Value::Bool(false),
    }
}

fn plausible_string(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with("time") {
        "2026-01-02T03:04:05Z".into()
    } else if lower.contains("url") {
        format!("https://example.com/vod/sample/{lower}.mp4")
    } else if lower == "md5" {
        "07d635581e7f295b623f40bad0fbfd4c".into()
    } else if lower.ends_with("id") {
        format!("sample-{lower}-1001")
    } else {
        match name {
            "Message" => "SUCCESS".into(),
            "ErrCodeExt" => String::new(),
            "Status" => "SUCCESS".into(),
            "Codec" => "h264".into(),
            "Container" => "mp4".into(),
            "Region" => "ap-guangzhou".into(),
            _ => format!("sample-{name}"),
        }
    }
}

impl Generator<'_> {
    fn fill_struct(&self, name: &str, depth: usize) -> Value {
        let mut map = Map::new();
        // The model has no cycles and a depth of 7; the bound only guards a broken model.
        if depth < 32 {
            if let Some(st) = self.structs.get(name) {
                for field in &st.fields {
                    map.insert(field.name.clone(), self.fill_field(field, depth));
                }
            }
        }
        Value::Object(map)
    }

    fn fill_field(&self, field: &RawField, depth: usize) -> Value {
        if let Some(inner) = field
            .ty
            .strip_prefix("list<")
            .and_then(|t| t.strip_suffix('>'))
        {
            return match scalar(inner) {
                Some(s) => field
                    .example
                    .as_ref()
                    .and_then(|e| coerce_list(e, s))
                    .unwrap_or_else(|| Value::Array(vec![self.scalar_value(field, s)])),
                None => Value::Array(vec![self.fill_struct(inner, depth + 1)]),
            };
        }
        match scalar(&field.ty) {
            Some(s) => field
                .example
                .as_ref()
                .and_then(|e| coerce(e, s))
                .unwrap_or_else(|| self.scalar_value(field, s)),
            None => self.fill_struct(&field.ty, depth + 1),
        }
    }

    /// A value for one scalar (or one list element): first fitting hint, else plausible.
    fn scalar_value(&self, field: &RawField, s: Scalar) -> Value {
        field
            .values_hint
            .iter()
            .find_map(|h| coerce(h, s))
            .unwrap_or_else(|| plausible(&field.name, s))
    }
}

/// The EventTypes of the model, in model order (37 of them). Empty only if the embedded
/// model could not be parsed.
pub fn event_types() -> &'static [EventTypeInfo] {
    Model::get().map_or(&[], |m| m.types.as_slice())
}

/// The sample `EventContent` (without `EventHandle`) of a model EventType, as JSON text.
pub fn sample_event_json(event_type: &str, index: u64) -> Option<String> {
    let model = Model::get()?;
    let i = *model.by_name.get(event_type)?;
    Some(model.templates.get(i)?.render(index))
}

/// The sample `EventContent` (without `EventHandle`) of a model EventType; `None` for a
/// type the model does not have.
pub fn sample_event(event_type: &str, index: u64) -> Option<Value> {
    serde_json::from_str(&sample_event_json(event_type, index)?).ok()
}

/// One sample per model EventType, in model order, all with the same `index`.
pub fn all_sample_events(index: u64) -> Vec<Value> {
    event_types()
        .iter()
        .filter_map(|t| sample_event(&t.event_type, index))
        .collect()
}

/// The `i`-th sample of the cycle through all model EventTypes: its type is
/// `event_types()[i % 37]` and its index is `i`.
pub fn cycling_sample(i: u64) -> Option<Value> {
    let template = Model::get()?.cycle(i)?;
    serde_json::from_str(&template.render(i)).ok()
}

/// An event of a future EventType ([`UNKNOWN_EVENT_TYPE`]) with a payload field of its own
/// (`FutureFeatureCompleteEvent`) and an extra unknown top-level field
/// (`SomeFutureTopLevelField`). A client must skip or surface it, never fail on it.
pub fn unknown_event_sample(index: u64) -> Value {
    Model::get()
        .and_then(|m| serde_json::from_str(&m.unknown.render(index)).ok())
        .unwrap_or_else(|| json!({ "EventType": UNKNOWN_EVENT_TYPE }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_loads_with_all_types() {
        assert_eq!(event_types().len(), 37);
        let s = sample_event("NewFileUpload", 7).unwrap();
        assert_eq!(s["EventType"], "NewFileUpload");
        assert_eq!(s["FileUploadEvent"]["FileId"], "5285485487985271487000007");
    }

    #[test]
    fn coercion_follows_types() {
        assert_eq!(coerce(&json!("12"), Scalar::Int), Some(json!(12)));
        assert_eq!(coerce(&json!("2023-01-01T00:00:00Z"), Scalar::Int), None);
        assert_eq!(coerce(&json!("-1"), Scalar::Uint), None);
        assert_eq!(coerce(&json!("0.5"), Scalar::Float), Some(json!(0.5)));
        assert_eq!(coerce(&json!("Kling"), Scalar::Uint), None);
        assert_eq!(
            coerce_list(&json!("[1, 2]"), Scalar::Int),
            Some(json!([1, 2]))
        );
        assert_eq!(coerce_list(&json!("[\"a\"]"), Scalar::Int), None);
    }
}
