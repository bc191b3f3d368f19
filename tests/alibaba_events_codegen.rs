//! Generator for `src/alibaba/events/generated.rs` and the test that keeps it in sync.
//!
//! The Alibaba event model (one payload struct per (product, EventType), nested structs, the
//! `Event` enum, its dispatch and accessors, the idempotency recipes) is generated from
//! `spec/alibaba-events.json`. This test rebuilds the Rust source from the spec and fails when
//! the checked-in file differs. To regenerate after a spec or generator change:
//!
//! ```text
//! VOD_EVENTS_REGENERATE=1 cargo test --test alibaba_events_codegen
//! ```
//!
//! The emitted text is passed through `rustfmt` when it is installed (it always is in CI);
//! without it the comparison ignores whitespace.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

const SPEC_PATH: &str = "spec/alibaba-events.json";
const OUT_PATH: &str = "src/alibaba/events/generated.rs";
const REGENERATE_ENV: &str = "VOD_EVENTS_REGENERATE";

/// Fields declared as strings that carry JSON (§3.7, §7 of `alibaba.md`), and the
/// `MediaContent` members, which are JSON strings again.
const JSON_IN_STRING: &[&str] = &[
    "UserData",
    "Extend",
    "FilterPolicy",
    "MediaContent",
    "TaskInput",
    "ActivityResults",
    "Input",
    "Output",
    "TemplateConfig",
    "Result",
    "DynamicImageJobInfo",
];

/// Names whose values arrive as numbers or as strings holding numbers (§3.8), whatever the
/// seed's type word (compared case-insensitively).
const NUMERIC: &[&str] = &[
    "size",
    "duration",
    "width",
    "height",
    "bitrate",
    "fps",
    "filesize",
    "userid",
    "count",
    "snapshotcount",
];

/// EventType names the seeds also show for an event (§3.4): (product, EventType, alias).
fn aliases(ev: &Value) -> Vec<String> {
    ev.get("sample_event_type_in_seed")
        .and_then(Value::as_str)
        .map(|s| vec![s.to_owned()])
        .unwrap_or_default()
}

/// The idempotency recipe per (product, EventType): the fields (paths inside the event's
/// payload) that identify one occurrence; `#EventTime` is the envelope's time and `#digest`
/// the content digest. Chosen so that a redelivery gives the same key and a second real
/// occurrence (a re-transcode, a second metadata change) does not.
fn recipe(product: &str, event_type: &str) -> &'static [&'static str] {
    match (product, event_type) {
        ("VOD", "FileUploadComplete") => &["VideoId"],
        ("VOD", "ImageUploadComplete") => &["ImageId"],
        ("VOD", "StreamTranscodeComplete") => &["VideoId", "Definition", "JobId", "#EventTime"],
        ("VOD", "TranscodeComplete") => &["VideoId", "#EventTime"],
        ("VOD", "SnapshotComplete") => &["VideoId", "SubType", "#EventTime"],
        ("VOD", "DynamicImageComplete") => &["JobId", "VideoId"],
        ("VOD", "AddLiveRecordVideoComplete") => &["VideoId"],
        ("VOD", "LiveRecordVideoComposeStart") => &["VideoId"],
        ("VOD", "UploadByURLComplete") => &["JobId", "VideoId"],
        ("VOD", "CreateAuditComplete") => &["MediaId", "#EventTime"],
        ("VOD", "VideoAnalysisComplete") => &["VideoId", "#EventTime"],
        ("VOD", "UpdateMediaStorageClassComplete") => &["MediaId", "StorageClass", "#EventTime"],
        ("VOD", "RestoreMediaComplete") => &["MediaId", "#EventTime"],
        ("VOD", "AttachedMediaUploadComplete") => &["AttachedMediaId"],
        ("VOD", "ProduceMediaComplete") => &["MediaId", "ProjectId"],
        ("VOD", "DeleteMediaComplete") => &["MediaId", "DeleteType"],
        ("VOD", "MediaBaseChangeComplete") => &["MediaId", "#digest"],
        ("VOD", "SubmitMediaRefreshComplete") => &["MediaRefreshJobId"],
        ("VOD", "WorkflowTaskComplete") => &["TaskId"],
        ("IMS", "FileUploadComplete" | "ImageUploadComplete" | "AttachedMediaUploadComplete") => {
            &["MediaId"]
        }
        ("IMS", "RegisterStreamComplete" | "StreamUploadComplete") => &["MediaId", "FileUrl"],
        ("IMS", "RegisterMediaComplete") => &["MediaId"],
        ("IMS", "CreateAuditComplete" | "VideoAnalysisComplete") => &["MediaId", "#EventTime"],
        ("IMS", "DeleteMediaComplete") => &["MediaId", "DeleteType"],
        ("IMS", "MediaBaseChangeComplete") => &["MediaId", "#digest"],
        ("IMS", "WorkflowTaskComplete") => &["TaskId"],
        ("IMS", "TranscodeParentComplete") => &["ParentJobId"],
        ("IMS", "MediaConvertOutputGroupComplete" | "MediaConvertOutputComplete") => {
            &["JobId", "TaskId"]
        }
        ("IMS", "MediaAiAnalysisComplete") => &["MediaId", "Type", "#EventTime"],
        ("IMS", "LiveRecordFileCreated") => &["jobId", "record_id"],
        ("IMS", "LiveRecordTaskStatus") => &["jobId", "event", "created", "#EventTime"],
        ("IMS", "LiveSnapshotFileCreated") => &["jobId", "SnapshotUrl"],
        // UploadByURLComplete, UploadStreamByURLComplete, SnapshotComplete,
        // DynamicImageComplete, TranscodeComplete, MediaConvertComplete, AIMediaAuditComplete,
        // AIProduceComplete, ProduceMediaComplete, BatchProduceMediaComplete, SmartJobComplete:
        // one event per job.
        ("IMS", _) => &["JobId"],
        _ => panic!("no idempotency recipe for {product} {event_type}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The model.

/// One field of a payload, with its members when it is an object or an array of objects.
#[derive(Debug, Clone)]
struct Node {
    wire: String,
    json_type: String,
    seed_type: String,
    required: Option<bool>,
    note: String,
    source: &'static str,
    array: bool,
    children: Vec<Node>,
}

#[derive(Debug)]
struct EventDef {
    product: String,
    event_type: String,
    aliases: Vec<String>,
    description: String,
    /// The struct that holds the payload (the whole object for VOD, `MessageBody` for IMS).
    struct_name: String,
    fields: Vec<Node>,
    supplemented: bool,
}

const SEED: &str = "the seeds";
const OUTSIDE: &str = "outside the seeds";
const SAMPLE: &str = "the seed sample (member inferred from it)";

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// Inserts a field given by its dot path (`StreamInfos[].Status`, `MetaInfo.Fps`).
fn insert(nodes: &mut Vec<Node>, path: &[&str], f: &Value, source: &'static str) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let (wire, array) = match first.strip_suffix("[]") {
        Some(w) => (w, true),
        None => (*first, false),
    };
    let pos = match nodes.iter().position(|n| n.wire == wire) {
        Some(p) => p,
        None => {
            nodes.push(Node {
                wire: wire.to_owned(),
                json_type: if rest.is_empty() {
                    text(f, "json_type")
                } else {
                    "object".into()
                },
                seed_type: if rest.is_empty() {
                    text(f, "seed_type")
                } else {
                    String::new()
                },
                required: if rest.is_empty() {
                    f.get("required").and_then(Value::as_bool)
                } else {
                    None
                },
                note: if rest.is_empty() {
                    text(f, "note")
                } else {
                    String::new()
                },
                source,
                array,
                children: Vec::new(),
            });
            nodes.len() - 1
        }
    };
    let node = &mut nodes[pos];
    node.array |= array || node.json_type == "array";
    if !rest.is_empty() {
        insert(&mut node.children, rest, f, source);
    }
}

/// Members of objects the model does not break down, read from the seed samples.
fn infer(nodes: &mut [Node], samples: &[Value]) {
    for node in nodes.iter_mut() {
        let values: Vec<&Value> = samples.iter().filter_map(|s| s.get(&node.wire)).collect();
        let is_container = matches!(node.json_type.as_str(), "object" | "array");
        if node.children.is_empty() && is_container && !JSON_IN_STRING.contains(&node.wire.as_str())
        {
            let objects: Vec<&Value> = values
                .iter()
                .flat_map(|v| match v {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![*other],
                })
                .filter(|v| v.is_object())
                .collect();
            for object in &objects {
                for (key, value) in object.as_object().into_iter().flatten() {
                    if node.children.iter().any(|c| &c.wire == key) {
                        continue;
                    }
                    node.children.push(Node {
                        wire: key.clone(),
                        json_type: match value {
                            Value::String(_) => "string",
                            Value::Number(_) => "number",
                            Value::Bool(_) => "boolean",
                            Value::Array(_) => "array",
                            _ => "object",
                        }
                        .into(),
                        seed_type: String::new(),
                        required: None,
                        note: String::new(),
                        source: SAMPLE,
                        array: value.is_array(),
                        children: Vec::new(),
                    });
                }
            }
        } else {
            let inner: Vec<Value> = values
                .iter()
                .flat_map(|v| match v {
                    Value::Array(items) => items.clone(),
                    other => vec![(*other).clone()],
                })
                .collect();
            infer(&mut node.children, &inner);
        }
    }
}

fn samples_of(ev: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let supplement = ev.get("supplement_not_in_seeds");
    for list in [ev.get("samples"), supplement.and_then(|s| s.get("samples"))] {
        for s in list.and_then(Value::as_array).into_iter().flatten() {
            if let Some(v) = s.get("valid_json_version").or_else(|| s.get("parsed")) {
                out.push(v.clone());
            }
        }
    }
    out
}

fn load(spec: &str) -> Vec<EventDef> {
    let top: Value = serde_json::from_str(spec).expect("spec is JSON");
    let events = top["events"].as_array().expect("events array");
    events
        .iter()
        .map(|ev| {
            let product = text(ev, "product");
            let event_type = text(ev, "event_type");
            let ims = product == "IMS";
            let mut fields = Vec::new();
            let mut add = |list: Option<&Value>, source: &'static str| {
                for f in list.and_then(Value::as_array).into_iter().flatten() {
                    let path = text(f, "path");
                    let path = if ims {
                        match path.strip_prefix("MessageBody.") {
                            Some(p) => p.to_owned(),
                            None => continue, // envelope rows: typed by `ImsEvent`
                        }
                    } else {
                        path
                    };
                    if path == "EventType" {
                        continue;
                    }
                    let parts: Vec<&str> = path.split('.').collect();
                    insert(&mut fields, &parts, f, source);
                }
            };
            add(ev.get("fields"), SEED);
            let supplement = ev
                .get("supplement_not_in_seeds")
                .and_then(|s| s.get("fields"));
            add(supplement, OUTSIDE);
            let samples: Vec<Value> = samples_of(ev)
                .into_iter()
                .map(|s| if ims { s["MessageBody"].clone() } else { s })
                .collect();
            infer(&mut fields, &samples);
            EventDef {
                struct_name: format!("{}{event_type}", pascal(&product)),
                aliases: aliases(ev),
                description: text(ev, "description"),
                supplemented: supplement.is_some(),
                product,
                event_type,
                fields,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Naming and types.

fn pascal(s: &str) -> String {
    let mut out = String::new();
    for part in s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.push(c.to_ascii_uppercase());
        }
        let rest: String = chars.collect();
        if part.chars().all(|c| c.is_ascii_uppercase()) {
            out.push_str(&rest.to_ascii_lowercase());
        } else {
            out.push_str(&rest);
        }
    }
    out
}

/// `FileURL` → `file_url`, `jobId` → `job_id`, `record_id` stays, `Type` → `kind`.
fn snake(wire: &str) -> String {
    let chars: Vec<char> = wire.trim().chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(|p| p.is_ascii_uppercase())
                    && next.is_some_and(|n| n.is_ascii_lowercase()));
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    match out.as_str() {
        "type" => "kind".into(),
        "self" | "match" | "ref" | "move" | "loop" | "async" | "await" => format!("{out}_"),
        _ => out,
    }
}

fn singular(s: &str) -> &str {
    s.strip_suffix("List")
        .or_else(|| s.strip_suffix('s'))
        .unwrap_or(s)
}

/// The Rust type of a field, and the nested struct to emit for it, if any.
fn rust_type(owner: &str, node: &Node, path_hint: &str) -> (String, Option<String>) {
    let lower = node.wire.to_ascii_lowercase();
    if JSON_IN_STRING.contains(&node.wire.as_str())
        || path_hint == "IMS.AIMediaAuditComplete.MediaId"
    {
        let content =
            (!node.children.is_empty()).then(|| format!("{owner}{}", pascal(singular(&node.wire))));
        return ("EmbeddedJson".into(), content);
    }
    if !node.children.is_empty() {
        let name = format!(
            "{owner}{}",
            pascal(if node.array {
                singular(&node.wire)
            } else {
                &node.wire
            })
        );
        let ty = if node.array {
            format!("Vec<{name}>")
        } else {
            name.clone()
        };
        return (ty, Some(name));
    }
    if NUMERIC.contains(&lower.as_str()) || matches!(node.json_type.as_str(), "integer" | "number")
    {
        return ("LenientNumber".into(), None);
    }
    let ty = match node.json_type.as_str() {
        "boolean" => "bool",
        "object" => "RawObject",
        "array" if node.seed_type.contains("String") || node.wire == "OutputFiles" => "Vec<String>",
        "array" => "Vec<RawObject>",
        _ => "String",
    };
    (ty.into(), None)
}

/// Doc text that rustdoc renders as written: no links, HTML or bare URLs.
fn doc_text(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            if w.contains("://") || w.contains('<') || w.contains('[') || w.contains('*') {
                format!("`{}`", w.replace('`', "'"))
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn field_doc(node: &Node) -> String {
    let mut doc = format!("`{}`", node.wire);
    let mut facts = Vec::new();
    if !node.seed_type.is_empty() {
        facts.push(format!("seed type {}", node.seed_type));
    }
    facts.push(
        match node.required {
            Some(true) => "required",
            Some(false) => "optional",
            None => "required: not stated",
        }
        .to_owned(),
    );
    facts.push(format!("from {}", node.source));
    let _ = write!(doc, " ({})", facts.join("; "));
    if !node.note.is_empty() {
        let _ = write!(doc, ": {}", doc_text(&node.note));
    }
    doc.push('.');
    doc
}

// ---------------------------------------------------------------------------------------------
// Emitting.

struct Emitter {
    out: String,
    emitted: BTreeSet<String>,
}

impl Emitter {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// Emits `payload! { Name [vod|ims "X"] { fields } }` and the structs of its members.
    fn payload(&mut self, name: &str, marker: &str, doc: &[String], fields: &[Node], hint: &str) {
        assert!(
            self.emitted.insert(name.to_owned()),
            "struct name used twice: {name}"
        );
        let mut nested = Vec::new();
        let mut body = String::new();
        let mut rust_names = BTreeSet::new();
        for node in fields {
            let (ty, inner) = rust_type(name, node, &format!("{hint}.{}", node.wire));
            let rname = snake(&node.wire);
            assert!(
                rust_names.insert(rname.clone()),
                "{name}: two fields named {rname}"
            );
            let mut wire = format!("{:?}", node.wire);
            for alias in field_aliases(&node.wire) {
                let _ = write!(wire, " | {alias:?}");
            }
            let mut doc = field_doc(node);
            if let (Some(inner), "EmbeddedJson") = (&inner, ty.as_str()) {
                let _ = write!(
                    doc,
                    " Decodes as [`{inner}`] with [`EmbeddedJson::decode`]."
                );
            }
            let _ = writeln!(body, "        /// {doc}\n        {rname}: {ty} = {wire};");
            if let Some(inner) = inner {
                nested.push((inner, node.clone()));
            }
        }
        self.line("payload! {");
        for d in doc {
            self.line(&format!("    /// {d}"));
        }
        self.line(&format!("    {name}{marker} {{"));
        self.out.push_str(&body);
        self.line("    }");
        self.line("}");
        self.line("");
        for (inner, node) in nested {
            let doc = vec![format!("The members of `{}` in [`{name}`].", node.wire)];
            self.payload(&inner, "", &doc, &node.children, hint);
        }
    }
}

/// `jobId` and `JobId` stand for each other (§3.2: a table says one, its sample the other).
fn field_aliases(wire: &str) -> Vec<&'static str> {
    match wire {
        "jobId" => vec!["JobId"],
        "JobId" => vec!["jobId"],
        _ => Vec::new(),
    }
}

fn variant(ev: &EventDef) -> String {
    ev.struct_name.clone()
}

fn variant_type(ev: &EventDef) -> String {
    if ev.product == "IMS" {
        format!("ImsEvent<{}>", ev.struct_name)
    } else {
        ev.struct_name.clone()
    }
}

fn key_doc(ev: &EventDef) -> String {
    let provider = if ev.product == "IMS" {
        "alibaba-ims"
    } else {
        "alibaba-vod"
    };
    let parts: Vec<String> = recipe(&ev.product, &ev.event_type)
        .iter()
        .map(|p| match *p {
            "#EventTime" => "<EventTime>".to_owned(),
            "#digest" => "sha256:<content digest>".to_owned(),
            f => format!("<{f}>"),
        })
        .collect();
    format!("`{provider}:{}:{}`", ev.event_type, parts.join(":"))
}

/// The expression for one recipe part of `ev`, with the payload bound to `e`.
fn key_part(ev: &EventDef, part: &str) -> String {
    let body = if ev.product == "IMS" {
        "e.message_body."
    } else {
        "e."
    };
    match part {
        "#digest" => "Part::Digest".into(),
        "#EventTime" => "Part::Field(e.event_time.as_deref())".into(),
        f => {
            let node = ev.fields.iter().find(|n| n.wire == f).unwrap_or_else(|| {
                panic!(
                    "{} {}: recipe field {f} not in the model",
                    ev.product, ev.event_type
                )
            });
            let (ty, _) = rust_type(&ev.struct_name, node, "");
            let access = match ty.as_str() {
                "String" => ".as_deref()",
                "LenientNumber" => ".as_ref().map(LenientNumber::as_str)",
                other => panic!("recipe field {f} has type {other}"),
            };
            format!("Part::Field({body}{}{access})", snake(f))
        }
    }
}

fn generate(events: &[EventDef]) -> String {
    let mut e = Emitter {
        out: String::new(),
        emitted: BTreeSet::new(),
    };
    e.line("// @generated by `tests/alibaba_events_codegen.rs` from `spec/alibaba-events.json`.");
    e.line("// DO NOT EDIT BY HAND: edit the spec or the generator, then regenerate with");
    e.line("//     VOD_EVENTS_REGENERATE=1 cargo test --test alibaba_events_codegen");
    e.line("// `cargo test` fails while this file and the spec disagree.");
    e.line("");
    e.line("use serde::{Deserialize, Deserializer, Serialize, Serializer};");
    e.line("");
    e.line("use super::idempotency::Part;");
    e.line("use super::model::{payload, ImsEvent};");
    e.line("use super::scalar::{EmbeddedJson, LenientNumber, RawObject};");
    e.line("use super::{EventTypeInfo, Product, UnknownEvent};");
    e.line("");
    e.line("/// Every (product, EventType) this crate knows, in the order of the spec: the 19 VOD");
    e.line("/// events of seed 002, then the 29 IMS events of seed 001.");
    e.line(&format!(
        "pub const EVENT_TYPES: [EventTypeInfo; {}] = [",
        events.len()
    ));
    for ev in events {
        e.line("EventTypeInfo {");
        e.line(&format!("product: Product::{},", pascal(&ev.product)));
        e.line(&format!("event_type: {:?},", ev.event_type));
        e.line(&format!("aliases: &{:?},", ev.aliases));
        e.line(&format!("payload_struct: {:?},", ev.struct_name));
        e.line(&format!("description: {:?},", ev.description));
        e.line(&format!("fields_outside_seeds: {},", ev.supplemented));
        e.line(&format!(
            "idempotency_key: {:?},",
            key_doc(ev).trim_matches('`')
        ));
        e.line("},");
    }
    e.line("];");
    e.line("");

    e.line("/// One Alibaba Cloud event notification, VOD or IMS, told apart by the shape of the");
    e.line("/// object and then by `EventType` (see the [module docs](crate::alibaba::events)).");
    e.line("///");
    e.line("/// One variant per (product, EventType) of the spec, named product first");
    e.line("/// (`VodTranscodeComplete` and `ImsTranscodeComplete` are different events), plus");
    e.line(
        "/// [`Event::Unknown`], which keeps the whole object of an EventType this crate does not",
    );
    e.line("/// know.");
    e.line("#[derive(Debug, Clone, PartialEq)]");
    e.line("#[non_exhaustive]");
    e.line("pub enum Event {");
    for ev in events {
        e.line(&format!(
            "/// {} `{}`: {} Idempotency key {}.",
            ev.product,
            ev.event_type,
            doc_text(&ev.description).trim_end_matches('.').to_owned() + ".",
            key_doc(ev)
        ));
        e.line(&format!("{}(Box<{}>),", variant(ev), variant_type(ev)));
    }
    e.line(
        "/// An EventType this crate does not know (or a known name in the other product's shape):",
    );
    e.line("/// the whole object, exactly as received.");
    e.line("Unknown(Box<UnknownEvent>),");
    e.line("}");
    e.line("");

    e.line("impl Event {");
    e.line("/// The `EventType` as sent.");
    e.line("pub fn event_type(&self) -> &str {");
    e.line("match self {");
    for ev in events {
        if ev.product == "IMS" {
            e.line(&format!("Event::{}(e) => e.event_type(),", variant(ev)));
        } else {
            e.line(&format!(
                "Event::{}(_) => {:?},",
                variant(ev),
                ev.event_type
            ));
        }
    }
    e.line("Event::Unknown(u) => u.event_type(),");
    e.line("}");
    e.line("}");
    e.line("");
    e.line("/// Which product sent the event, as told by the object's shape.");
    e.line("pub fn product(&self) -> Product {");
    e.line("match self {");
    let vod: Vec<String> = events
        .iter()
        .filter(|ev| ev.product == "VOD")
        .map(|ev| format!("Event::{}(_)", variant(ev)))
        .collect();
    e.line(&format!("{} => Product::Vod,", vod.join(" | ")));
    e.line("Event::Unknown(u) => u.product(),");
    e.line("_ => Product::Ims,");
    e.line("}");
    e.line("}");
    e.line("");
    e.line("/// `EventTime`, as sent.");
    e.line("pub fn event_time(&self) -> Option<&str> {");
    e.line("match self {");
    for ev in events {
        e.line(&format!(
            "Event::{}(e) => e.event_time.as_deref(),",
            variant(ev)
        ));
    }
    e.line("Event::Unknown(u) => u.str_field(\"EventTime\"),");
    e.line("}");
    e.line("}");
    e.line("");
    e.line("/// The raw `Status` word (the payload's; `MessageBody.Status` for IMS), if the event has one.");
    e.line("pub fn status(&self) -> Option<&str> {");
    e.line("match self {");
    for ev in events {
        let has = ev.fields.iter().any(|n| n.wire == "Status");
        let body = if ev.product == "IMS" {
            "e.message_body."
        } else {
            "e."
        };
        if has {
            e.line(&format!(
                "Event::{}(e) => {body}status.as_deref(),",
                variant(ev)
            ));
        }
    }
    e.line("Event::Unknown(u) => u.str_field(\"Status\"),");
    e.line("#[allow(unreachable_patterns)]");
    e.line("_ => None,");
    e.line("}");
    e.line("}");
    e.line("");
    e.line("/// The parts of the idempotency key (see each variant), `None` for unknown events.");
    e.line("pub(super) fn key_parts(&self) -> Option<Vec<Part<'_>>> {");
    e.line("Some(match self {");
    for ev in events {
        let parts: Vec<String> = recipe(&ev.product, &ev.event_type)
            .iter()
            .map(|p| key_part(ev, p))
            .collect();
        e.line(&format!(
            "Event::{}(e) => vec![{}],",
            variant(ev),
            parts.join(", ")
        ));
    }
    e.line("Event::Unknown(_) => return None,");
    e.line("})");
    e.line("}");
    e.line("");
    e.line("/// Records the EventType alias the event was sent with.");
    e.line("#[allow(clippy::single_match)]");
    e.line("pub(super) fn set_alias(&mut self, alias: &'static str) {");
    e.line("match self {");
    for ev in events.iter().filter(|ev| !ev.aliases.is_empty()) {
        e.line(&format!(
            "Event::{}(e) => e.alias = Some(alias),",
            variant(ev)
        ));
    }
    e.line("_ => {}");
    e.line("}");
    e.line("}");
    e.line("}");
    e.line("");

    e.line("/// Decodes the known event at `index` of [`EVENT_TYPES`] from a whole event object.");
    e.line("pub(super) fn decode_variant<'de, D: Deserializer<'de>>(");
    e.line("index: usize,");
    e.line("d: D,");
    e.line(") -> Option<Result<Event, D::Error>> {");
    e.line("Some(match index {");
    for (i, ev) in events.iter().enumerate() {
        e.line(&format!(
            "{i} => {}::deserialize(d).map(|p| Event::{}(Box::new(p))),",
            variant_type(ev).replace('<', "::<"),
            variant(ev)
        ));
    }
    e.line("_ => return None,");
    e.line("})");
    e.line("}");
    e.line("");

    e.line("impl Serialize for Event {");
    e.line("fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {");
    e.line("match self {");
    for ev in events {
        e.line(&format!("Event::{}(e) => e.serialize(s),", variant(ev)));
    }
    e.line("Event::Unknown(u) => u.serialize(s),");
    e.line("}");
    e.line("}");
    e.line("}");
    e.line("");

    for ev in events {
        let (marker, whole) = if ev.product == "IMS" {
            (
                format!(" ims {:?}", ev.event_type),
                "The `MessageBody` of the IMS",
            )
        } else {
            (format!(" vod {:?}", ev.event_type), "The VOD")
        };
        let mut doc = vec![format!(
            "{whole} `{}` event: {}",
            ev.event_type,
            doc_text(&ev.description)
        )];
        if ev.supplemented {
            doc.push(String::new());
            doc.push(
                "Seed 002 gives only the common parameters for this event; the fields marked \
                 \"from outside the seeds\" come from other Alibaba documentation (§2.3 of \
                 `alibaba.md`)."
                    .to_owned(),
            );
        }
        e.payload(
            &ev.struct_name,
            &marker,
            &doc,
            &ev.fields,
            &format!("{}.{}", ev.product, ev.event_type),
        );
    }
    reindent(&e.out)
}

/// Indents by bracket depth (rustfmt leaves items it cannot fit in 100 columns, such as long
/// string literals, as they are, and never touches the inside of `payload! { … }`).
fn reindent(source: &str) -> String {
    let mut out = String::with_capacity(source.len() * 2);
    let mut depth: usize = 0;
    for line in source.lines() {
        let line = line.trim();
        let code = !line.starts_with("//");
        if code && line.starts_with(['}', ')', ']']) {
            depth = depth.saturating_sub(1);
        }
        if !line.is_empty() {
            out.push_str(&"    ".repeat(depth));
        }
        out.push_str(line);
        out.push('\n');
        if code && line.ends_with(['{', '(', '[']) {
            depth += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tests.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The generated source, formatted by rustfmt when it is installed.
fn generated_from_spec() -> (String, bool) {
    let spec = std::fs::read_to_string(root().join(SPEC_PATH)).expect("read spec");
    let raw = generate(&load(&spec));
    match rustfmt(&raw) {
        Some(formatted) => (formatted, true),
        None => (raw, false),
    }
}

fn rustfmt(source: &str) -> Option<String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let source = source.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(source.as_bytes()));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    assert!(
        out.status.success(),
        "rustfmt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).ok()
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn generated_model_matches_spec() {
    let (fresh, formatted) = generated_from_spec();
    let path = root().join(OUT_PATH);
    if std::env::var(REGENERATE_ENV).is_ok_and(|v| v == "1") {
        assert!(formatted, "regenerating needs rustfmt");
        std::fs::write(&path, &fresh).expect("write generated.rs");
        eprintln!("regenerated {}", path.display());
        return;
    }
    let current = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let same = if formatted {
        current == fresh
    } else {
        squeeze(&current) == squeeze(&fresh)
    };
    if !same {
        let line = current
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or(0, |i| i + 1);
        panic!(
            "{OUT_PATH} is out of date with {SPEC_PATH} (first difference near line {line}).\n\
             Regenerate with: {REGENERATE_ENV}=1 cargo test --test alibaba_events_codegen"
        );
    }
}

#[test]
fn model_has_the_documented_shape() {
    let spec = std::fs::read_to_string(root().join(SPEC_PATH)).expect("read spec");
    let events = load(&spec);
    assert_eq!(events.iter().filter(|e| e.product == "VOD").count(), 19);
    assert_eq!(events.iter().filter(|e| e.product == "IMS").count(), 29);
    let both: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.product == "VOD")
        .map(|e| e.event_type.as_str())
        .filter(|t| {
            events
                .iter()
                .any(|e| e.product == "IMS" && e.event_type == *t)
        })
        .collect();
    assert_eq!(both.len(), 13, "names used by both products: {both:?}");
    // Fields from outside the seeds are part of the model (VOD TranscodeComplete's streams).
    let vod_transcode = events
        .iter()
        .find(|e| e.product == "VOD" && e.event_type == "TranscodeComplete")
        .expect("VOD TranscodeComplete");
    let streams = vod_transcode
        .fields
        .iter()
        .find(|n| n.wire == "StreamInfos")
        .expect("StreamInfos");
    assert!(streams.array && streams.children.len() == 14 && streams.source == OUTSIDE);
}

#[test]
fn snake_case_keeps_acronyms_together() {
    for (wire, want) in [
        ("FileURL", "file_url"),
        ("FileUrl", "file_url"),
        ("jobId", "job_id"),
        ("record_id", "record_id"),
        ("Type", "kind"),
        ("MediaURL", "media_url"),
        ("SourceURL ", "source_url"),
        ("AppId", "app_id"),
    ] {
        assert_eq!(snake(wire), want, "{wire}");
    }
}
