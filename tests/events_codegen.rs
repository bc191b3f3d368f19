//! Generator for `src/tencent/events/generated.rs` and the test that keeps it in sync.
//!
//! The event model (payload structs, the `Event` enum, its dispatch tables and accessors) is
//! generated from `spec/tencent-vod-events.json`. This test rebuilds the Rust source from the
//! spec and fails when the checked-in file differs. To regenerate after a spec or generator
//! change:
//!
//! ```text
//! VOD_EVENTS_REGENERATE=1 cargo test --test events_codegen
//! ```
//!
//! The generator emits code that is already `rustfmt`-formatted (checked by
//! `generated_code_is_rustfmt_stable` when `rustfmt` is installed), so `cargo fmt --check`
//! passes on the generated file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

const SPEC_PATH: &str = "spec/tencent-vod-events.json";
const OUT_PATH: &str = "src/tencent/events/generated.rs";
const REGENERATE_ENV: &str = "VOD_EVENTS_REGENERATE";
const MAX_WIDTH: usize = 100;
const ATTR_FN_LIKE_WIDTH: usize = 70;

// ---------------------------------------------------------------------------------------------
// Spec reading (order-preserving: serde_json's `Map` may or may not keep insertion order
// depending on features enabled elsewhere in the dependency graph, so it is not used for
// objects whose order matters).

/// A JSON object with its keys in document order.
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    ty: String,
    doc: String,
    deprecated: bool,
}

#[derive(Debug, Clone)]
struct StructDef {
    name: String,
    doc: String,
    fields: Vec<Field>,
}

#[derive(Debug, Clone)]
struct EventTypeDef {
    event_type: String,
    payload_field: String,
    struct_name: String,
    category: String,
    doc: String,
}

struct Model {
    event_types: Vec<EventTypeDef>,
    /// All structs in spec order, `EventContent` excluded (it is represented by `Event`).
    structs: Vec<StructDef>,
}

fn str_of<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("spec: {ctx}: missing string `{key}`"))
}

fn parse_fields(v: &Value, ctx: &str) -> Vec<Field> {
    let arr = v
        .get("fields")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("spec: {ctx}: missing `fields` array"));
    arr.iter()
        .map(|f| Field {
            name: str_of(f, "name", ctx).to_owned(),
            ty: str_of(f, "type", ctx).to_owned(),
            doc: f
                .get("doc")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            deprecated: f
                .get("deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
        .collect()
}

fn load_model(spec_text: &str) -> Model {
    let top: Ordered = serde_json::from_str(spec_text).expect("spec is not a JSON object");
    let mut event_types = Vec::new();
    let mut structs = Vec::new();
    let mut event_content = None;
    for (key, value) in &top.0 {
        match key.as_str() {
            "_meta" => {}
            "EventContent" => event_content = Some(parse_fields(value, "EventContent")),
            "structs" => {
                let obj: Ordered =
                    serde_json::from_value(value.clone()).expect("spec: `structs` not an object");
                for (name, s) in obj.0 {
                    if name == "EventContent" {
                        continue;
                    }
                    structs.push(StructDef {
                        doc: s
                            .get("doc")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        fields: parse_fields(&s, &name),
                        name,
                    });
                }
            }
            event_type => {
                event_types.push(EventTypeDef {
                    event_type: event_type.to_owned(),
                    payload_field: str_of(value, "payload_field", event_type).to_owned(),
                    struct_name: str_of(value, "struct_name", event_type).to_owned(),
                    category: str_of(value, "category", event_type).to_owned(),
                    doc: value
                        .get("doc")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                });
                // The per-EventType field list must agree with the struct of the same name.
                let listed: Vec<String> = parse_fields(value, event_type)
                    .into_iter()
                    .map(|f| format!("{}:{}", f.name, f.ty))
                    .collect();
                let sname = str_of(value, "struct_name", event_type);
                let in_structs = top
                    .0
                    .iter()
                    .find(|(k, _)| k == "structs")
                    .and_then(|(_, s)| s.get(sname))
                    .unwrap_or_else(|| panic!("spec: struct {sname} of {event_type} missing"));
                let from_struct: Vec<String> = parse_fields(in_structs, sname)
                    .into_iter()
                    .map(|f| format!("{}:{}", f.name, f.ty))
                    .collect();
                assert_eq!(
                    listed, from_struct,
                    "spec: {event_type} fields differ from {sname}"
                );
            }
        }
    }
    let model = Model {
        event_types,
        structs,
    };
    validate(
        &model,
        event_content.as_deref().expect("spec: no EventContent"),
    );
    model
}

fn validate(model: &Model, event_content: &[Field]) {
    let names: BTreeSet<&str> = model.structs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names.len(),
        model.structs.len(),
        "spec: duplicate struct names"
    );
    for s in &model.structs {
        let mut seen = BTreeSet::new();
        for f in &s.fields {
            let leaf = leaf_type(&f.ty);
            assert!(
                is_scalar(leaf) || names.contains(leaf),
                "spec: {}.{} has unknown type {}",
                s.name,
                f.name,
                f.ty
            );
            assert!(
                seen.insert(rust_field_name(&f.name)),
                "spec: {}: two fields map to the Rust name {}",
                s.name,
                rust_field_name(&f.name)
            );
        }
    }
    // EventContent = EventHandle + EventType + one payload field per EventType.
    let mut expected: BTreeMap<&str, &str> = BTreeMap::new();
    for et in &model.event_types {
        assert!(
            names.contains(et.struct_name.as_str()),
            "spec: {} missing",
            et.struct_name
        );
        assert!(
            expected
                .insert(&et.payload_field, &et.struct_name)
                .is_none(),
            "spec: payload field {} used twice",
            et.payload_field
        );
        assert_ne!(
            et.event_type, "Unknown",
            "`Unknown` is reserved for the fallback variant"
        );
    }
    let mut actual: BTreeMap<&str, &str> = BTreeMap::new();
    for f in event_content {
        if f.name == "EventHandle" || f.name == "EventType" {
            assert_eq!(
                f.ty, "string",
                "spec: EventContent.{} must be a string",
                f.name
            );
            continue;
        }
        actual.insert(&f.name, &f.ty);
    }
    assert_eq!(
        expected, actual,
        "spec: EventContent payload fields disagree with the EventTypes"
    );
}

// ---------------------------------------------------------------------------------------------
// Naming.

fn is_scalar(t: &str) -> bool {
    matches!(t, "string" | "int64" | "uint64" | "float64" | "bool")
}

fn leaf_type(t: &str) -> &str {
    let mut t = t;
    while let Some(inner) = t.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
        t = inner;
    }
    t
}

/// `PascalCase` → `snake_case`, keeping acronyms together (`HDRInfo` → `hdr_info`,
/// `EnableBGM` → `enable_bgm`, `AigcHunyuan3DTask` → `aigc_hunyuan3d_task`).
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) if p.is_ascii_lowercase() => true,
                Some(p) if p.is_ascii_uppercase() || p.is_ascii_digit() => next_lower,
                Some(_) => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "union",
];

/// Rust field name for a wire name. `Type` becomes `kind`; any other keyword gets a trailing
/// underscore (none exist in the current spec).
fn rust_field_name(wire: &str) -> String {
    let s = snake_case(wire);
    match s.as_str() {
        "type" => "kind".to_owned(),
        k if RUST_KEYWORDS.contains(&k) => format!("{k}_"),
        _ => s,
    }
}

fn rust_type(t: &str) -> String {
    if let Some(inner) = t.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
        return format!("Vec<{}>", rust_type(inner));
    }
    match t {
        "string" => "String".to_owned(),
        "int64" => "i64".to_owned(),
        "uint64" => "u64".to_owned(),
        "float64" => "f64".to_owned(),
        "bool" => "bool".to_owned(),
        s => s.to_owned(),
    }
}

/// One-line doc text: whitespace collapsed, brackets escaped so rustdoc does not read them as
/// intra-doc links.
fn doc_line(doc: &str, fallback: &str) -> String {
    let collapsed: String = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = if collapsed.is_empty() {
        fallback.to_owned()
    } else {
        collapsed
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '[' | ']' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn category_variant(c: &str) -> &'static str {
    match c {
        "listed" => "Listed",
        "legacy-2017" => "Legacy2017",
        "field-doc-only" => "FieldDocOnly",
        "obsolete" => "Obsolete",
        other => panic!("spec: unknown category {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Emission helpers (produce rustfmt-stable text).

struct Out(String);

impl Out {
    fn line(&mut self, indent: usize, text: &str) {
        if text.is_empty() {
            self.0.push('\n');
            return;
        }
        for _ in 0..indent {
            self.0.push_str("    ");
        }
        self.0.push_str(text);
        self.0.push('\n');
    }

    /// `#[serde(a, b, c)]`, broken over lines the way rustfmt does when it is too wide.
    fn attr(&mut self, indent: usize, name: &str, items: &[String]) {
        let inner = items.join(", ");
        let one = format!("#[{name}({inner})]");
        // rustfmt keeps an attribute on one line while its arguments fit `attr_fn_like_width`.
        if inner.len() <= ATTR_FN_LIKE_WIDTH && indent * 4 + one.len() <= MAX_WIDTH {
            self.line(indent, &one);
        } else {
            self.line(indent, &format!("#[{name}("));
            for (i, item) in items.iter().enumerate() {
                let sep = if i + 1 == items.len() { "" } else { "," };
                self.line(indent + 1, &format!("{item}{sep}"));
            }
            self.line(indent, ")]");
        }
    }

    /// `pub name: Type,` broken after the colon when too wide.
    fn field(&mut self, indent: usize, name: &str, ty: &str) {
        let one = format!("pub {name}: {ty},");
        if indent * 4 + one.len() <= MAX_WIDTH {
            self.line(indent, &one);
        } else {
            self.line(indent, &format!("pub {name}:"));
            self.line(indent + 1, &format!("{ty},"));
        }
    }

    /// A match arm `pat => expr,`, or the block form rustfmt uses when it does not fit.
    fn arm(&mut self, indent: usize, pat: &str, expr: &str) {
        let one = format!("{pat} => {expr},");
        if indent * 4 + one.len() <= MAX_WIDTH {
            self.line(indent, &one);
        } else {
            self.line(indent, &format!("{pat} => {{"));
            self.line(indent + 1, expr);
            self.line(indent, "}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Code generation.

/// Top-level payload field used by an accessor, if the payload struct has it with that type.
fn payload_field<'a>(
    model: &'a Model,
    et: &EventTypeDef,
    wire: &str,
    ty: &str,
) -> Option<&'a Field> {
    let s = model.structs.iter().find(|s| s.name == et.struct_name)?;
    s.fields.iter().find(|f| f.name == wire && f.ty == ty)
}

/// The identity used for an EventType's idempotency key.
enum IdRecipe<'a> {
    Single(&'a Field),
    Set(&'a Field),
    Digest,
}

fn id_recipe<'a>(model: &'a Model, et: &EventTypeDef) -> (IdRecipe<'a>, Option<&'a Field>) {
    let s = model
        .structs
        .iter()
        .find(|s| s.name == et.struct_name)
        .expect("payload struct exists (validated)");
    let string_field = |name: &str| s.fields.iter().find(|f| f.name == name && f.ty == "string");
    let status = s
        .fields
        .iter()
        .find(|f| f.name == "Status" && f.ty == "string" && !f.deprecated);
    let recipe = if let Some(f) = string_field("TaskId") {
        IdRecipe::Single(f)
    } else if let Some(f) = string_field("FileId") {
        IdRecipe::Single(f)
    } else if let Some(f) = s
        .fields
        .iter()
        .find(|f| f.name == "FileIdSet" && f.ty == "list<string>")
    {
        IdRecipe::Set(f)
    } else if let Some(f) = s
        .fields
        .iter()
        .find(|f| f.ty == "string" && f.name.ends_with("Id"))
    {
        IdRecipe::Single(f)
    } else {
        IdRecipe::Digest
    };
    (recipe, status)
}

fn generate(model: &Model) -> String {
    let mut o = Out(String::with_capacity(512 * 1024));
    let n = model.event_types.len();
    o.line(
        0,
        "// @generated by `tests/events_codegen.rs` from `spec/tencent-vod-events.json`.",
    );
    o.line(
        0,
        "// DO NOT EDIT BY HAND: edit the spec or the generator, then regenerate with",
    );
    o.line(
        0,
        "//     VOD_EVENTS_REGENERATE=1 cargo test --test events_codegen",
    );
    o.line(
        0,
        "// `cargo test` fails while this file and the spec disagree.",
    );
    o.line(0, "");
    o.line(0, "use serde::{Deserialize, Serialize};");
    o.line(0, "");
    o.line(0, "use super::idempotency::IdSource;");
    o.line(0, "use super::num::{ser_opt_f64, ser_opt_vec_f64};");
    o.line(
        0,
        "use super::{EventCategory, EventTypeInfo, PayloadDecoder, UnknownEvent};",
    );
    o.line(0, "");

    // EVENT_TYPES table.
    o.line(
        0,
        "/// Every EventType this crate knows, in the order of the spec (§6.2).",
    );
    o.line(
        0,
        &format!("pub const EVENT_TYPES: [EventTypeInfo; {n}] = ["),
    );
    for et in &model.event_types {
        o.line(1, "EventTypeInfo {");
        o.line(2, &format!("event_type: \"{}\",", et.event_type));
        o.line(2, &format!("payload_field: \"{}\",", et.payload_field));
        o.line(2, &format!("payload_struct: \"{}\",", et.struct_name));
        o.line(
            2,
            &format!(
                "category: EventCategory::{},",
                category_variant(&et.category)
            ),
        );
        o.line(1, "},");
    }
    o.line(0, "];");
    o.line(0, "");

    // The enum.
    o.line(
        0,
        "/// One event notification: the service's `EventContent` without `EventHandle`.",
    );
    o.line(0, "///");
    o.line(
        0,
        "/// There is one variant per EventType of the spec, named after the EventType string and",
    );
    o.line(
        0,
        "/// holding its payload, plus [`Event::Unknown`] for EventTypes this crate does not know.",
    );
    o.line(0, "/// The payload is `None` when the service sent the EventType without its payload field (or");
    o.line(
        0,
        "/// with `null`). See the [module docs](crate::tencent::events) for the JSON form.",
    );
    o.line(0, "#[derive(Debug, Clone, PartialEq)]");
    o.line(0, "#[non_exhaustive]");
    o.line(0, "pub enum Event {");
    for et in &model.event_types {
        o.line(
            1,
            &format!(
                "/// `{}` ({}): {} Payload field `{}`.",
                et.event_type,
                et.category,
                doc_line(&et.doc, ""),
                et.payload_field
            ),
        );
        o.line(
            1,
            &format!("{}(Option<Box<{}>>),", et.event_type, et.struct_name),
        );
    }
    o.line(1, "/// An EventType this crate does not know; keeps the whole JSON object (minus `EventHandle`).");
    o.line(1, "Unknown(Box<UnknownEvent>),");
    o.line(0, "}");
    o.line(0, "");

    // impl Event.
    o.line(0, "impl Event {");
    o.line(1, "/// The `EventType` string, e.g. `\"PullComplete\"`.");
    o.line(1, "pub fn event_type(&self) -> &str {");
    o.line(2, "match self {");
    for et in &model.event_types {
        o.arm(
            3,
            &format!("Self::{}(_)", et.event_type),
            &format!("\"{}\"", et.event_type),
        );
    }
    o.arm(3, "Self::Unknown(u)", "u.event_type()");
    o.line(2, "}");
    o.line(1, "}");
    o.line(0, "");

    o.line(
        1,
        "/// Name of the `EventContent` field that carries this EventType's payload (`None` for",
    );
    o.line(1, "/// [`Event::Unknown`]).");
    o.line(1, "pub fn payload_field(&self) -> Option<&'static str> {");
    o.line(2, "match self {");
    for et in &model.event_types {
        o.arm(
            3,
            &format!("Self::{}(_)", et.event_type),
            &format!("Some(\"{}\")", et.payload_field),
        );
    }
    o.arm(3, "Self::Unknown(_)", "None");
    o.line(2, "}");
    o.line(1, "}");

    // Accessors.
    struct Accessor {
        method: &'static str,
        wire: &'static str,
        ty: &'static str,
        ret: &'static str,
        expr: &'static str,
        doc: &'static str,
    }
    let accessors = [
        Accessor {
            method: "task_id",
            wire: "TaskId",
            ty: "string",
            ret: "Option<&str>",
            expr: "p.task_id.as_deref()",
            doc: "The payload's `TaskId`",
        },
        Accessor {
            method: "file_id",
            wire: "FileId",
            ty: "string",
            ret: "Option<&str>",
            expr: "p.file_id.as_deref()",
            doc: "The payload's top-level `FileId`",
        },
        Accessor {
            method: "status",
            wire: "Status",
            ty: "string",
            ret: "Option<&str>",
            expr: "p.status.as_deref()",
            doc: "The payload's `Status` string (e.g. `PROCESSING`, `FINISH`, `SUCCESS`, `FAIL`)",
        },
        Accessor {
            method: "status_code",
            wire: "Status",
            ty: "int64",
            ret: "Option<i64>",
            expr: "p.status",
            doc: "The payload's integer `Status` (only where the model types `Status` as int64)",
        },
        Accessor {
            method: "err_code",
            wire: "ErrCode",
            ty: "int64",
            ret: "Option<i64>",
            expr: "p.err_code",
            doc: "The payload's `ErrCode` (0 = success)",
        },
        Accessor {
            method: "err_code_ext",
            wire: "ErrCodeExt",
            ty: "string",
            ret: "Option<&str>",
            expr: "p.err_code_ext.as_deref()",
            doc: "The payload's `ErrCodeExt` (empty = success)",
        },
        Accessor {
            method: "message",
            wire: "Message",
            ty: "string",
            ret: "Option<&str>",
            expr: "p.message.as_deref()",
            doc: "The payload's `Message`",
        },
    ];
    for a in &accessors {
        let with: Vec<&EventTypeDef> = model
            .event_types
            .iter()
            .filter(|et| payload_field(model, et, a.wire, a.ty).is_some())
            .collect();
        let list: Vec<String> = with
            .iter()
            .map(|et| format!("`{}`", et.event_type))
            .collect();
        o.line(0, "");
        o.line(
            1,
            &format!(
                "/// {}, for the EventTypes whose payload has it; `None` otherwise.",
                a.doc
            ),
        );
        o.line(1, "///");
        o.line(1, &format!("/// Available for: {}.", list.join(", ")));
        o.line(1, &format!("pub fn {}(&self) -> {} {{", a.method, a.ret));
        o.line(2, "match self {");
        for et in &with {
            o.arm(3, &format!("Self::{}(Some(p))", et.event_type), a.expr);
        }
        o.arm(3, "_", "None");
        o.line(2, "}");
        o.line(1, "}");
    }

    // Idempotency key.
    o.line(0, "");
    o.line(
        1,
        "/// A stable key for de-duplicating deliveries of this event, built from the payload",
    );
    o.line(
        1,
        "/// (never from the `EventHandle`, which changes on every delivery).",
    );
    o.line(1, "///");
    o.line(1, "/// The identity fields are chosen from the model: `TaskId`, else `FileId`, else the sorted");
    o.line(
        1,
        "/// `FileIdSet`, else another top-level `…Id` string; the payload's `Status` string is",
    );
    o.line(
        1,
        "/// appended where it has one, so successive state changes of one task get distinct keys.",
    );
    o.line(
        1,
        "/// When the identity is missing or empty (and for EventTypes without one, and for",
    );
    o.line(
        1,
        "/// [`Event::Unknown`]) the key is `<EventType>:sha256:<hex>` over the event's canonical",
    );
    o.line(1, "/// JSON (see [`Event::content_digest`]).");
    o.line(1, "///");
    o.line(
        1,
        "/// With `TasksNotifyMode` `Change`, `ProcedureStateChanged` may be sent several times",
    );
    o.line(
        1,
        "/// for one task while it is `PROCESSING` (once per finished sub-task); those share a",
    );
    o.line(
        1,
        "/// key. If you act on each of them, de-duplicate on [`Event::content_digest`] instead.",
    );
    o.line(1, "///");
    o.line(1, "/// | EventType | Key |");
    o.line(1, "/// |---|---|");
    for et in &model.event_types {
        let (recipe, status) = id_recipe(model, et);
        let status_part = if status.is_some() { ":<Status>" } else { "" };
        let key = match recipe {
            IdRecipe::Single(f) => format!("`{}:<{}>{}`", et.event_type, f.name, status_part),
            IdRecipe::Set(f) => {
                format!(
                    "`{}:<{} sorted, comma-joined>{}`",
                    et.event_type, f.name, status_part
                )
            }
            IdRecipe::Digest => format!("`{}:sha256:<hex>`", et.event_type),
        };
        o.line(1, &format!("/// | `{}` | {} |", et.event_type, key));
    }
    o.line(1, "/// | any other | `<EventType>:sha256:<hex>` |");
    o.line(1, "pub fn idempotency_key(&self) -> String {");
    o.line(2, "super::idempotency::key(self, self.id_source())");
    o.line(1, "}");
    o.line(0, "");
    o.line(1, "fn id_source(&self) -> IdSource<'_> {");
    o.line(2, "match self {");
    for et in &model.event_types {
        let (recipe, status) = id_recipe(model, et);
        let st = match status {
            Some(f) => format!("p.{}.as_deref()", rust_field_name(&f.name)),
            None => "None".to_owned(),
        };
        let expr = match recipe {
            IdRecipe::Single(f) => {
                format!(
                    "IdSource::Single(p.{}.as_deref(), {st})",
                    rust_field_name(&f.name)
                )
            }
            IdRecipe::Set(f) => {
                format!(
                    "IdSource::Set(p.{}.as_deref(), {st})",
                    rust_field_name(&f.name)
                )
            }
            IdRecipe::Digest => continue,
        };
        o.arm(3, &format!("Self::{}(Some(p))", et.event_type), &expr);
    }
    o.arm(3, "_", "IdSource::Digest");
    o.line(2, "}");
    o.line(1, "}");

    // Serialisation of the payload entry.
    o.line(0, "");
    o.line(
        1,
        "/// Writes the payload entry (`\"<PayloadField>\": {...}`), if there is a payload.",
    );
    o.line(
        1,
        "pub(super) fn serialize_payload<M: serde::ser::SerializeMap>(",
    );
    o.line(2, "&self,");
    o.line(2, "map: &mut M,");
    o.line(1, ") -> Result<(), M::Error> {");
    o.line(2, "match self {");
    for et in &model.event_types {
        o.arm(
            3,
            &format!("Self::{}(Some(p))", et.event_type),
            &format!("map.serialize_entry(\"{}\", p)", et.payload_field),
        );
    }
    o.arm(3, "_", "Ok(())");
    o.line(2, "}");
    o.line(1, "}");
    o.line(0, "}");
    o.line(0, "");

    // Dispatch tables.
    o.line(0, "/// The payload field of a known EventType.");
    o.line(
        0,
        "pub(super) fn payload_field_of(event_type: &str) -> Option<&'static str> {",
    );
    o.line(1, "match event_type {");
    for et in &model.event_types {
        o.arm(
            2,
            &format!("\"{}\"", et.event_type),
            &format!("Some(\"{}\")", et.payload_field),
        );
    }
    o.arm(2, "_", "None");
    o.line(1, "}");
    o.line(0, "}");
    o.line(0, "");
    o.line(
        0,
        "/// Builds the typed event of a known EventType from its payload; `Ok(None)` if unknown.",
    );
    o.line(0, "pub(super) fn decode_payload<D: PayloadDecoder>(");
    o.line(1, "event_type: &str,");
    o.line(1, "decoder: D,");
    o.line(0, ") -> Result<Option<Event>, D::Error> {");
    o.line(1, "Ok(Some(match event_type {");
    for et in &model.event_types {
        o.arm(
            2,
            &format!("\"{}\"", et.event_type),
            &format!("Event::{}(decoder.decode()?)", et.event_type),
        );
    }
    o.arm(2, "_", "return Ok(None)");
    o.line(1, "}))");
    o.line(0, "}");

    // Schema for locating decode errors without per-type path-tracking code.
    o.line(0, "");
    o.line(
        0,
        "/// Wire names and model types of each struct's fields, one struct per line:",
    );
    o.line(
        0,
        "/// `<Struct> <Field>:<type> ...` (used to locate decode errors).",
    );
    o.line(0, "pub(super) const SCHEMA: &str = r#\"");
    for s in &model.structs {
        let fields: Vec<String> = s
            .fields
            .iter()
            .map(|f| format!("{}:{}", f.name, f.ty))
            .collect();
        o.0.push_str(&format!("{} {}\n", s.name, fields.join(" ")));
    }
    o.0.push_str("\"#;\n");

    // Structs.
    let payload_of: BTreeMap<&str, &EventTypeDef> = model
        .event_types
        .iter()
        .map(|et| (et.struct_name.as_str(), et))
        .collect();
    for s in &model.structs {
        o.line(0, "");
        o.line(
            0,
            &format!("/// {}", doc_line(&s.doc, &format!("`{}`.", s.name))),
        );
        if let Some(et) = payload_of.get(s.name.as_str()) {
            o.line(0, "///");
            o.line(
                0,
                &format!(
                    "/// Payload of EventType `{}` (field `{}`), see [`Event::{}`].",
                    et.event_type, et.payload_field, et.event_type
                ),
            );
        }
        o.line(
            0,
            "#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]",
        );
        o.line(0, "#[non_exhaustive]");
        o.line(0, &format!("pub struct {} {{", s.name));
        for f in &s.fields {
            let mut doc = doc_line(&f.doc, &format!("`{}`.", f.name));
            if f.deprecated && !doc.to_ascii_lowercase().contains("deprecated") {
                doc.push_str(" (Deprecated.)");
            }
            let rname = rust_field_name(&f.name);
            if rname != snake_case(&f.name) {
                doc.push_str(&format!(" Wire name `{}`.", f.name));
            }
            o.line(1, &format!("/// {doc}"));
            let mut items = vec![
                format!("rename = \"{}\"", f.name),
                "default".to_owned(),
                "skip_serializing_if = \"Option::is_none\"".to_owned(),
            ];
            match f.ty.as_str() {
                "float64" => items.push("serialize_with = \"ser_opt_f64\"".to_owned()),
                "list<float64>" => items.push("serialize_with = \"ser_opt_vec_f64\"".to_owned()),
                _ => {}
            }
            o.attr(1, "serde", &items);
            o.field(1, &rname, &format!("Option<{}>", rust_type(&f.ty)));
        }
        o.line(0, "}");
    }
    o.0
}

// ---------------------------------------------------------------------------------------------
// Tests.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generated_from_spec() -> String {
    let spec = std::fs::read_to_string(root().join(SPEC_PATH)).expect("read spec");
    generate(&load_model(&spec))
}

#[test]
fn generated_model_matches_spec() {
    let fresh = generated_from_spec();
    let path = root().join(OUT_PATH);
    if std::env::var(REGENERATE_ENV).is_ok_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write generated.rs");
        eprintln!("regenerated {}", path.display());
        return;
    }
    let current = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    if current != fresh {
        let (line, old, new) = current
            .lines()
            .zip(fresh.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| (i + 1, a.to_owned(), b.to_owned()))
            .unwrap_or_else(|| {
                let n = current.lines().count().min(fresh.lines().count());
                (
                    n + 1,
                    "<end of file>".to_owned(),
                    "<end of file>".to_owned(),
                )
            });
        panic!(
            "{OUT_PATH} is out of date with {SPEC_PATH} (first difference at line {line}):\n  \
             checked in: {old}\n  generated:  {new}\n\
             Regenerate with: {REGENERATE_ENV}=1 cargo test --test events_codegen"
        );
    }
}

#[test]
fn generated_code_is_rustfmt_stable() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let fresh = generated_from_spec();
    let child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("rustfmt not available; skipping the formatting check");
        return;
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(fresh.as_bytes()).expect("write to rustfmt");
    }
    let out = child.wait_with_output().expect("run rustfmt");
    assert!(
        out.status.success(),
        "rustfmt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let formatted = String::from_utf8(out.stdout).expect("utf8");
    if formatted != fresh {
        let (line, a, b) = fresh
            .lines()
            .zip(formatted.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| (i + 1, a.to_owned(), b.to_owned()))
            .unwrap_or((0, String::new(), String::new()));
        panic!(
            "generated code is not rustfmt-stable at line {line}:\n  emitted: {a}\n  rustfmt: {b}"
        );
    }
}

#[test]
fn snake_case_handles_acronyms_and_digits() {
    let cases = [
        ("FileId", "file_id"),
        ("EnableBGM", "enable_bgm"),
        ("EnablePBR", "enable_pbr"),
        ("HDRInfo", "hdr_info"),
        ("HDRType", "hdr_type"),
        ("KeepUV", "keep_uv"),
        ("LLMDetectionReport", "llm_detection_report"),
        ("PreserveHDRSwitch", "preserve_hdr_switch"),
        (
            "ProcessMediaByMPSCompleteEvent",
            "process_media_by_mps_complete_event",
        ),
        ("ResultUV", "result_uv"),
        ("SPEKEDrm", "speke_drm"),
        ("TEHDConfig", "tehd_config"),
        (
            "AigcHunyuan3DCompleteEvent",
            "aigc_hunyuan3d_complete_event",
        ),
        ("Md5", "md5"),
        ("XPos", "x_pos"),
    ];
    for (wire, want) in cases {
        assert_eq!(snake_case(wire), want, "{wire}");
    }
    assert_eq!(rust_field_name("Type"), "kind");
    assert_eq!(rust_field_name("Match"), "match_");
}

#[test]
fn model_has_the_documented_shape() {
    let spec = std::fs::read_to_string(root().join(SPEC_PATH)).expect("read spec");
    let model = load_model(&spec);
    assert_eq!(model.event_types.len(), 37);
    // 319 structs including EventContent, which is represented by `Event` instead.
    assert_eq!(model.structs.len(), 318);
    let fields: usize = model.structs.iter().map(|s| s.fields.len()).sum();
    assert_eq!(
        fields + 2 + 37,
        1675,
        "EventContent has EventHandle, EventType and 37 payloads"
    );
    let restore = model
        .structs
        .iter()
        .find(|s| s.name == "RestoreMediaTask")
        .expect("struct");
    let status = restore
        .fields
        .iter()
        .find(|f| f.name == "Status")
        .expect("Status");
    assert_eq!(status.ty, "int64");
}
