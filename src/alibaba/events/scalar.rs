//! The lenient field types: what the seeds show the services actually send (§3 of
//! `alibaba.md`), accepted as sent and written back the same way.
//!
//! * [`LenientNumber`]: sizes, durations, dimensions, `UserId`… arrive as JSON numbers in one
//!   event and as strings holding numbers in another (`"Size":"5510872"` vs `"Size":1439213`).
//! * [`EmbeddedJson`]: `UserData`, `Extend`, `FilterPolicy`, `MediaContent`… are declared
//!   strings that carry JSON, and some samples send the JSON object itself instead.
//! * [`RawObject`]: an object the model does not break down further, kept as sent.
//! * [`Outcome`]: the status words (`success`, `Success`, `Succeed`, `Finished`, `fail`,
//!   `Failed`…) normalised.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Unexpected};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// A number the service may send as a JSON number or as a string holding one.
///
/// The text is kept exactly as sent (integers beyond 2^53, `24.0`, `1e3` are not rounded), and
/// so is the form: a quoted number is written back quoted, a bare one bare. A string that does
/// not hold a number (`""`) is accepted too: [`as_i64`](Self::as_i64) and friends then give
/// `None`. Objects, arrays and booleans are refused (a wrong-kind error with the field's path).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LenientNumber {
    text: Box<str>,
    quoted: bool,
}

impl LenientNumber {
    /// A number sent as a string, e.g. `LenientNumber::quoted("5510872")`.
    pub fn quoted(text: impl Into<String>) -> Self {
        LenientNumber {
            text: text.into().into_boxed_str(),
            quoted: true,
        }
    }

    /// The number's text: the digits of a bare number as sent, or the content of the string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the service sent it as a string.
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// The value as `i64`, if the text is an integer in range (`"12"`, `12`, `12.0`).
    pub fn as_i64(&self) -> Option<i64> {
        let text = self.text.trim();
        text.parse()
            .ok()
            .or_else(|| integral(text).and_then(exact_i64))
    }

    /// The value as `u64`, if the text is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        let text = self.text.trim();
        text.parse()
            .ok()
            .or_else(|| self.as_i64().and_then(|v| u64::try_from(v).ok()))
    }

    /// The value as `f64` (nearest), if the text is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
    }
}

/// `12.0` → 12.0: a float text whose value is an integer.
fn integral(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && v.fract() == 0.0)
}

fn exact_i64(v: f64) -> Option<i64> {
    // Within ±2^53 every integral f64 is exact, so the cast neither truncates nor rounds.
    const LIMIT: f64 = 9_007_199_254_740_992.0;
    #[allow(clippy::cast_possible_truncation)]
    (v.abs() <= LIMIT).then_some(v as i64)
}

impl From<i64> for LenientNumber {
    fn from(v: i64) -> Self {
        LenientNumber {
            text: v.to_string().into_boxed_str(),
            quoted: false,
        }
    }
}

impl From<u64> for LenientNumber {
    fn from(v: u64) -> Self {
        LenientNumber {
            text: v.to_string().into_boxed_str(),
            quoted: false,
        }
    }
}

impl fmt::Display for LenientNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for LenientNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted {
            write!(f, "{:?}", self.text)
        } else {
            f.write_str(&self.text)
        }
    }
}

impl Serialize for LenientNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.quoted {
            return s.serialize_str(&self.text);
        }
        if let Ok(v) = self.text.parse::<u64>() {
            return s.serialize_u64(v);
        }
        if let Ok(v) = self.text.parse::<i64>() {
            return s.serialize_i64(v);
        }
        // Anything else was checked to be a JSON number when it was read: written verbatim, so
        // `24.0` stays `24.0` and 30 digits stay 30 digits.
        match RawValue::from_string(self.text.to_string()) {
            Ok(raw) => raw.serialize(s),
            Err(_) => s.serialize_str(&self.text),
        }
    }
}

/// What a raw JSON value's first byte says it is, for wrong-kind errors.
fn unexpected(text: &str) -> Unexpected<'_> {
    match text.as_bytes().first() {
        Some(b'{') => Unexpected::Map,
        Some(b'[') => Unexpected::Seq,
        Some(b't') => Unexpected::Bool(true),
        Some(b'f') => Unexpected::Bool(false),
        Some(b'n') => Unexpected::Unit,
        _ => Unexpected::Other(text),
    }
}

impl<'de> Deserialize<'de> for LenientNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'"') => {
                let s: String = serde_json::from_str(text).map_err(de::Error::custom)?;
                Ok(LenientNumber::quoted(s))
            }
            Some(b'-' | b'0'..=b'9') => Ok(LenientNumber {
                text: text.into(),
                quoted: false,
            }),
            _ => Err(de::Error::invalid_type(
                unexpected(text),
                &"a number or a string holding one",
            )),
        }
    }
}

/// A field that carries JSON: usually a string holding JSON text (`"{\"aaa\": \"bbb\"}"`),
/// sometimes the JSON itself (an object where the model says string).
///
/// Either form is accepted and written back as it came. [`decode`](Self::decode) parses the
/// JSON whichever form it came in.
#[derive(Clone)]
pub enum EmbeddedJson {
    /// Sent as a JSON string (its content, unescaped).
    Text(String),
    /// Sent as JSON (object, array, number or boolean), exactly as sent.
    Json(Box<RawValue>),
}

impl EmbeddedJson {
    /// The string, if it was sent as one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            EmbeddedJson::Text(s) => Some(s),
            EmbeddedJson::Json(_) => None,
        }
    }

    /// The JSON text carried: the string's content, or the embedded value's text.
    pub fn json_text(&self) -> &str {
        match self {
            EmbeddedJson::Text(s) => s,
            EmbeddedJson::Json(raw) => raw.get(),
        }
    }

    /// Parses the carried JSON as `T`. Raw control characters inside strings (a seed sample
    /// has newlines in `DynamicImageJobInfo`) are tolerated.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        let text = self.json_text();
        match serde_json::from_str(text) {
            Ok(v) => Ok(v),
            Err(e) => match escape_control_in_strings(text) {
                Some(repaired) => serde_json::from_str(&repaired).map_err(|_| e),
                None => Err(e),
            },
        }
    }

    /// Parses the carried JSON as a [`Value`].
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        self.decode()
    }
}

/// `text` with raw control characters inside string literals escaped, or `None` if it has none.
fn escape_control_in_strings(text: &str) -> Option<String> {
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if in_string && !escaped && c.is_control() {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
            changed = true;
            continue;
        }
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else {
            in_string = c == '"';
        }
        out.push(c);
    }
    changed.then_some(out)
}

impl PartialEq for EmbeddedJson {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (EmbeddedJson::Text(a), EmbeddedJson::Text(b)) => a == b,
            (EmbeddedJson::Json(a), EmbeddedJson::Json(b)) => same_json(a.get(), b.get()),
            _ => false,
        }
    }
}

impl fmt::Debug for EmbeddedJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmbeddedJson::Text(s) => write!(f, "Text({s:?})"),
            EmbeddedJson::Json(raw) => write!(f, "Json({})", raw.get()),
        }
    }
}

impl From<&str> for EmbeddedJson {
    fn from(s: &str) -> Self {
        EmbeddedJson::Text(s.to_owned())
    }
}

impl Serialize for EmbeddedJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EmbeddedJson::Text(text) => s.serialize_str(text),
            EmbeddedJson::Json(raw) => raw.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for EmbeddedJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        if raw.get().starts_with('"') {
            let s: String = serde_json::from_str(raw.get()).map_err(de::Error::custom)?;
            Ok(EmbeddedJson::Text(s))
        } else {
            Ok(EmbeddedJson::Json(raw))
        }
    }
}

/// Whether two JSON texts hold the same JSON: the same text, or equal once parsed (so
/// whitespace and key order do not matter).
pub(crate) fn same_json(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// A JSON object the model does not break down, exactly as sent. Anything but an object is a
/// wrong-kind error.
#[derive(Clone)]
pub struct RawObject(Box<RawValue>);

impl RawObject {
    /// The object's JSON text as sent.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parses the object as `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for RawObject {
    fn eq(&self, other: &Self) -> bool {
        same_json(self.get(), other.get())
    }
}

impl fmt::Debug for RawObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for RawObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        if raw.get().starts_with('{') {
            Ok(RawObject(raw))
        } else {
            Err(de::Error::invalid_type(unexpected(raw.get()), &"an object"))
        }
    }
}

/// A `Status` (or `JobStatus`) word normalised (§3.1: the products spell the same outcome in
/// several ways and cases). The raw word stays in the event's `status` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// `success`, `Success`, `succeed`, `succeeded`, `complete`, `completed`, `finished`,
    /// `AnalyzeSuccess` (any case).
    Success,
    /// `fail`, `failed`, `failure`, `AnalyzeFailed` (any case).
    Failure,
    /// Any other word (e.g. an intermediate state); see the raw status.
    Other,
}

impl Outcome {
    /// Normalises a status word, ignoring case and surrounding whitespace.
    pub fn of(status: &str) -> Outcome {
        let word = status.trim().to_ascii_lowercase();
        match word.as_str() {
            "success" | "succeed" | "succeeded" | "successful" | "complete" | "completed"
            | "finished" | "finish" | "analyzesuccess" => Outcome::Success,
            "fail" | "failed" | "failure" | "analyzefailed" => Outcome::Failure,
            _ => Outcome::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_form() {
        for (json, quoted, i) in [
            ("5510872", false, Some(5_510_872)),
            ("\"5510872\"", true, Some(5_510_872)),
            ("24.0", false, Some(24)),
            ("\"\"", true, None),
            ("123456789012345678901234567890", false, None),
        ] {
            let n: LenientNumber = serde_json::from_str(json).expect(json);
            assert_eq!(n.is_quoted(), quoted, "{json}");
            assert_eq!(n.as_i64(), i, "{json}");
            assert_eq!(serde_json::to_string(&n).ok().as_deref(), Some(json));
        }
        assert!(serde_json::from_str::<LenientNumber>("{}").is_err());
        assert!(serde_json::from_str::<LenientNumber>("true").is_err());
    }

    #[test]
    fn embedded_json_decodes_either_form_and_tolerates_raw_newlines() {
        let text: EmbeddedJson = serde_json::from_str(r#""{\"a\":1}""#).expect("string");
        let json: EmbeddedJson = serde_json::from_str(r#"{"a":1}"#).expect("object");
        for e in [&text, &json] {
            assert_eq!(e.to_value().ok(), Some(serde_json::json!({"a": 1})));
        }
        let newline = EmbeddedJson::Text("{\"a\":\"x\ny\"}".into());
        assert_eq!(
            newline.to_value().ok(),
            Some(serde_json::json!({"a": "x\ny"}))
        );
    }

    #[test]
    fn status_words_are_normalised() {
        for w in ["success", "Success", "Succeed", "Complete", "Finished"] {
            assert_eq!(Outcome::of(w), Outcome::Success, "{w}");
        }
        for w in ["fail", "Fail", "Failed", "AnalyzeFailed"] {
            assert_eq!(Outcome::of(w), Outcome::Failure, "{w}");
        }
        assert_eq!(Outcome::of("Processing"), Outcome::Other);
    }
}
