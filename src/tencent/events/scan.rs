//! Reading the top level of an event object without decoding its payloads: the
//! `EventHandle`/`EventType` check of the service's layout ([`identify`]), the entries as raw
//! JSON ([`Scan`]) and the text without its `EventHandle` ([`without_handle`]).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem;
use serde::de::{self, Deserializer, MapAccess};
use serde::Deserialize;
use serde_json::value::RawValue;

pub(super) const EVENT_HANDLE: &str = "EventHandle";
pub(super) const EVENT_TYPE: &str = "EventType";

/// An object key, borrowed from the input when it has no escapes.
pub(super) struct Key<'de>(pub(super) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The top-level entries of an event object, values left as raw JSON (one scan, no copies).
pub(super) struct Scan<'a>(pub(super) Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Scan<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Scan<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scan<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16).min(64));
                while let Some(Key(k)) = map.next_key()? {
                    let v: &'de RawValue = map.next_value()?;
                    entries.push((k, v));
                }
                Ok(Scan(entries))
            }
        }
        d.deserialize_map(V)
    }
}

/// What [`identify`] reads of an event object.
pub(super) struct Identity {
    pub(super) handle: String,
    pub(super) event_type: String,
    /// The bytes to cut to drop the `EventHandle` entry (with its comma) from the text.
    pub(super) handle_entry: Range<usize>,
}

/// The `EventHandle` and `EventType` of an event object laid out the way the service sends
/// it, found without parsing the rest: both must be the first two entries (either order, any
/// whitespace) with plain string values (no escapes), and no other key anywhere in the object
/// may be, or may unescape to, either name. `None` for anything else: the caller then decodes
/// the whole object, which settles every odd case (duplicates, escapes, non-strings) the same
/// way it always did. The text must be valid JSON (a `RawValue`), which is what makes the
/// scans below sound.
pub(super) fn identify(json: &str) -> Option<Identity> {
    let mut cursor = Cursor { text: json, at: 0 };
    cursor.skip_ws();
    cursor.eat(b'{')?;
    let open = cursor.at;
    let (first_key, first_value) = cursor.plain_entry()?;
    cursor.skip_ws();
    let comma = cursor.at;
    cursor.eat(b',')?;
    cursor.skip_ws();
    let second = cursor.at;
    let (second_key, second_value) = cursor.plain_entry()?;
    let second_end = cursor.at;
    cursor.skip_ws();
    let rest = cursor.rest();
    if !rest.starts_with([',', '}']) {
        return None;
    }
    let (handle, event_type, handle_entry) = match (first_key, second_key) {
        (EVENT_HANDLE, EVENT_TYPE) => (first_value, second_value, open..second),
        (EVENT_TYPE, EVENT_HANDLE) => (second_value, first_value, comma..second_end),
        _ => return None,
    };
    if names_event_key(rest) || has_escaped_key(rest) {
        return None;
    }
    Some(Identity {
        handle: handle.to_owned(),
        event_type: event_type.to_owned(),
        handle_entry,
    })
}

/// Whether `json` holds a string `"EventHandle"` or `"EventType"` (as a key or not: either
/// sends the caller to the full decode, which is only slower).
fn names_event_key(json: &str) -> bool {
    static FINDER: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\"Event"));
    let bytes = json.as_bytes();
    FINDER.find_iter(bytes).any(|at| {
        let tail = bytes.get(at + 6..).unwrap_or_default();
        tail.starts_with(b"Handle\"") || tail.starts_with(b"Type\"")
    })
}

/// Whether some object key in `json` (valid JSON, or a tail of it that starts outside any
/// string) contains an escape sequence: such a key could unescape to `EventHandle`.
/// Backslashes occur only inside strings, so each one found leads to the end of its string,
/// and a string followed by `:` is a key.
fn has_escaped_key(json: &str) -> bool {
    let bytes = json.as_bytes();
    let mut from = 0;
    while let Some(offset) = bytes
        .get(from..)
        .and_then(|tail| memchr::memchr(b'\\', tail))
    {
        let mut at = from + offset;
        // Walk to the closing quote of the string this backslash is in.
        loop {
            match bytes.get(at) {
                Some(b'\\') => at += 2,
                Some(b'"') => break,
                Some(_) => at += 1,
                None => return false,
            }
        }
        at += 1;
        while matches!(bytes.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            at += 1;
        }
        if bytes.get(at) == Some(&b':') {
            return true;
        }
        from = at;
    }
    false
}

/// A position in JSON text, for [`identify`].
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.text.as_bytes().get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// A string without escapes; its text between the quotes.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = self.text.get(start..)?.find(['"', '\\'])?;
        self.at = start + len;
        self.eat(b'"')?;
        self.text.get(start..start + len)
    }

    /// `"key": "value"` with surrounding whitespace, both plain strings.
    fn plain_entry(&mut self) -> Option<(&'a str, &'a str)> {
        self.skip_ws();
        let key = self.plain_string()?;
        self.skip_ws();
        self.eat(b':')?;
        self.skip_ws();
        let value = self.plain_string()?;
        Some((key, value))
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or("")
    }
}

/// The object's JSON text without its top-level `EventHandle` entry (other entries byte for
/// byte as received, in their order). Non-objects are returned unchanged.
pub(super) fn without_handle(json: &str) -> String {
    let Ok(scan) = serde_json::from_str::<Scan<'_>>(json) else {
        return json.to_owned();
    };
    let mut out = String::with_capacity(json.len());
    out.push('{');
    let mut first = true;
    for (k, v) in &scan.0 {
        if k == EVENT_HANDLE {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        match serde_json::to_string(k.as_ref()) {
            Ok(quoted) => out.push_str(&quoted),
            Err(_) => out.push_str("\"\""),
        }
        out.push(':');
        out.push_str(v.get());
    }
    out.push('}');
    out
}
