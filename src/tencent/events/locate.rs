//! Locating a decode error: which JSON path holds the value that does not match the model.
//!
//! The fast path deserialises payloads without tracking where it is. When that fails, the
//! payload text is walked against the model's schema (generated as [`SCHEMA`]) in document
//! order, and the first value that does not fit gives the path and the message. The messages
//! come from deserialising that value on its own, so they are serde's own wording
//! (`invalid type: string "x", expected i64`). This costs nothing on success and, unlike a
//! path-tracking deserializer, adds no per-struct code.

use std::fmt::Write as _;

use serde_json::value::RawValue;

use super::generated::SCHEMA;
use super::path::strip_position;
use super::scan::Scan;

/// Fields (`(wire name, model type)`) of a struct of the model.
fn fields_of(struct_name: &str) -> Option<impl Iterator<Item = (&'static str, &'static str)>> {
    let line = SCHEMA
        .lines()
        .find(|l| l.split(' ').next() == Some(struct_name))?;
    Some(line.split(' ').skip(1).filter_map(|f| f.split_once(':')))
}

/// Finds the first value of `raw` (of model type `ty`) that does not match the model.
/// Appends its location to `path` and returns the problem; `None` if everything matches.
pub(super) fn locate(ty: &str, raw: &RawValue, path: &mut String) -> Option<String> {
    if let Some(inner) = ty.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
        let items: Vec<&RawValue> = match serde_json::from_str(raw.get()) {
            Ok(items) => items,
            Err(e) => return Some(strip_position(e.to_string())),
        };
        for (i, item) in items.into_iter().enumerate() {
            let len = path.len();
            let _ = write!(path, "[{i}]");
            if let Some(problem) = locate(inner, item, path) {
                return Some(problem);
            }
            path.truncate(len);
        }
        return None;
    }
    let scalar_error = match ty {
        "string" => serde_json::from_str::<String>(raw.get()).err(),
        "int64" => serde_json::from_str::<i64>(raw.get()).err(),
        "uint64" => serde_json::from_str::<u64>(raw.get()).err(),
        "float64" => serde_json::from_str::<f64>(raw.get()).err(),
        "bool" => serde_json::from_str::<bool>(raw.get()).err(),
        struct_name => {
            let fields = fields_of(struct_name)?;
            if raw.get().starts_with('[') {
                // serde also accepts a struct as an array of its fields, in order.
                let fields: Vec<(&str, &str)> = fields.collect();
                return locate_positional(&fields, raw, path);
            }
            let entries = match serde_json::from_str::<Scan<'_>>(raw.get()) {
                Ok(scan) => scan.0,
                Err(e) => {
                    let message = strip_position(e.to_string());
                    return Some(
                        message.replace("a JSON object", &format!("struct {struct_name}")),
                    );
                }
            };
            let fields: Vec<(&str, &str)> = fields.collect();
            for (key, value) in &entries {
                let Some((_, field_ty)) = fields.iter().find(|(wire, _)| *wire == key.as_ref())
                else {
                    continue; // not in the model: ignored, as by the typed decoder
                };
                if value.get() == "null" {
                    continue; // every field is an `Option`
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if let Some(problem) = locate(field_ty, value, path) {
                    return Some(problem);
                }
                path.truncate(len);
            }
            // Duplicate keys are an error for the typed decoder.
            for (i, (key, _)) in entries.iter().enumerate() {
                let known = fields.iter().any(|(wire, _)| *wire == key.as_ref());
                if known && entries[..i].iter().any(|(k, _)| k == key) {
                    return Some(format!("duplicate field `{key}`"));
                }
            }
            return None;
        }
    };
    scalar_error.map(|e| strip_position(e.to_string()))
}

/// A struct written as an array of its field values.
fn locate_positional(fields: &[(&str, &str)], raw: &RawValue, path: &mut String) -> Option<String> {
    let items: Vec<&RawValue> = match serde_json::from_str(raw.get()) {
        Ok(items) => items,
        Err(e) => return Some(strip_position(e.to_string())),
    };
    for (i, (item, (_, field_ty))) in items.iter().zip(fields).enumerate() {
        if item.get() == "null" {
            continue;
        }
        let len = path.len();
        let _ = write!(path, "[{i}]");
        if let Some(problem) = locate(field_ty, item, path) {
            return Some(problem);
        }
        path.truncate(len);
    }
    if items.len() > fields.len() {
        return Some(format!(
            "invalid length {}, expected fewer elements in array",
            items.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ty: &str, json: &str) -> Option<(String, String)> {
        let raw: Box<RawValue> = serde_json::from_str(json).ok()?;
        let mut path = String::new();
        locate(ty, &raw, &mut path).map(|m| (path, m))
    }

    #[test]
    fn finds_the_first_mismatch_in_document_order() {
        let found = run(
            "PullUploadTask",
            r#"{"Unknown":{"x":1},"TaskId":"t","ErrCode":"x","Progress":"y"}"#,
        );
        assert_eq!(
            found,
            Some((
                "ErrCode".to_owned(),
                r#"invalid type: string "x", expected i64"#.to_owned()
            ))
        );
        let found = run(
            "ProcedureTask",
            r#"{"MetaData":{"VideoStreamSet":[{"Bitrate":1},{"Bitrate":-1.5}]}}"#,
        );
        assert_eq!(
            found.map(|(p, _)| p).as_deref(),
            Some("MetaData.VideoStreamSet[1].Bitrate")
        );
        assert_eq!(
            run("PullUploadTask", r#"{"TaskId":"t","ErrCode":null}"#),
            None
        );
        let found = run("FileDeleteTask", r#"{"FileIdSet":["a",null]}"#);
        assert_eq!(found.map(|(p, _)| p).as_deref(), Some("FileIdSet[1]"));
        let found = run("PullUploadTask", r#"{"MetaData":"x"}"#);
        assert_eq!(
            found.map(|(_, m)| m).as_deref(),
            Some(r#"invalid type: string "x", expected struct MediaMetaData"#)
        );
    }

    #[test]
    fn structs_written_as_arrays_are_walked_positionally() {
        // PersistenceCompleteTask = [FileId: string, PersistenceSource: string]
        let found = run("PersistenceCompleteTask", r#"["f", false]"#);
        assert_eq!(
            found,
            Some((
                "[1]".to_owned(),
                "invalid type: boolean `false`, expected a string".to_owned()
            ))
        );
        assert_eq!(run("PersistenceCompleteTask", r#"["f", null]"#), None);
        let found = run("PersistenceCompleteTask", r#"["f", "s", 3]"#);
        assert_eq!(
            found.map(|(_, m)| m).as_deref(),
            Some("invalid length 3, expected fewer elements in array")
        );
    }
}
