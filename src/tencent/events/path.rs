//! Error paths and messages shared by the decoders: [`PayloadError`] carries the JSON path
//! inside the event object, so serde_json's positions (meaningless inside a payload slice) are
//! stripped.

use std::fmt;

/// A payload error with the full JSON path inside the event object.
#[derive(Debug)]
pub(super) struct PayloadError {
    pub(super) path: String,
    pub(super) message: String,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// `PullCompleteEvent` + `ErrCode` → `PullCompleteEvent.ErrCode`; `[0].X` is appended as is.
pub(super) fn join_path(field: &str, inner: &serde_path_to_error::Path) -> String {
    let inner = inner.to_string();
    if inner == "." || inner.is_empty() {
        field.to_owned()
    } else if inner.starts_with('[') {
        format!("{field}{inner}")
    } else {
        format!("{field}.{inner}")
    }
}

/// Removes serde_json's ` at line L column C` suffix: positions inside a payload slice would
/// be misleading, the JSON path says where the problem is.
pub(super) fn strip_position(message: String) -> String {
    if let Some(idx) = message.rfind(" at line ") {
        let tail = &message[idx + " at line ".len()..];
        let mut parts = tail.splitn(3, ' ');
        let line_ok = parts
            .next()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        let column_word = parts.next() == Some("column");
        let col_ok = parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if line_ok && column_word && col_ok {
            let mut message = message;
            message.truncate(idx);
            return message;
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_position_only_strips_the_suffix() {
        let s =
            strip_position("invalid type: string \"x\", expected i64 at line 1 column 9".into());
        assert_eq!(s, "invalid type: string \"x\", expected i64");
        let s = strip_position("value at line of sight".into());
        assert_eq!(s, "value at line of sight");
    }
}
