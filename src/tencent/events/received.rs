//! [`ReceivedEvent`]: one event as delivered by PullEvents, its typed value decoded on first
//! use; [`UndecodableEvent`]: one that did not match the model, with nothing lost.

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use serde_json::value::RawValue;
use serde_json::Value;

use super::{decode, idempotency, scan, Event, EventDecodeError};

/// One event as delivered by PullEvents: its handle, its typed value (or why it could not be
/// decoded) and the raw JSON it was parsed from, which holds everything the service sent.
///
/// The typed value is decoded on first use ([`event`](Self::event),
/// [`into_event`](Self::into_event), …) and kept: a consumer that only forwards the raw JSON
/// never pays for it. The handle and the EventType are known from the start.
#[derive(Clone)]
pub struct ReceivedEvent {
    handle: Option<String>,
    event_type: Option<String>,
    event: OnceLock<Result<Event, EventDecodeError>>,
    raw: Box<RawValue>,
    /// Where the `EventHandle` entry is in `raw`, when the layout was read without decoding.
    handle_entry: Option<Range<usize>>,
}

impl fmt::Debug for ReceivedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedEvent")
            .field("handle", &self.handle)
            .field("event_type", &self.event_type)
            .field("event", &self.event.get())
            .field("raw_len", &self.raw.get().len())
            .finish()
    }
}

/// Decodes one element of PullEvents' `Response.EventSet`.
///
/// Never panics and never fails as a whole: problems are reported in
/// [`ReceivedEvent::event`]. When the object starts the way the service writes it
/// (`{"EventHandle":"…","EventType":"…",…`) only those two entries are read now and the typed
/// value is decoded on first use; any other layout is decoded at once. Either way the results
/// are the same. The typed value is parsed directly from the raw text (one scan of the top
/// level plus one typed parse of the payload); nothing is copied unless asked for.
pub fn decode_event_content(raw: Box<RawValue>) -> ReceivedEvent {
    if let Some(identity) = scan::identify(raw.get()) {
        return ReceivedEvent {
            handle: Some(identity.handle),
            event_type: Some(identity.event_type),
            event: OnceLock::new(),
            raw,
            handle_entry: Some(identity.handle_entry),
        };
    }
    let decoded = decode::decode_str(raw.get());
    ReceivedEvent {
        handle: decoded.handle,
        event_type: decoded.event_type,
        event: OnceLock::from(decoded.event),
        raw,
        handle_entry: None,
    }
}

/// Like [`decode_event_content`] for JSON text (e.g. a push-callback body). Fails only if
/// `json` is not valid JSON.
pub fn decode_event_json(json: &str) -> Result<ReceivedEvent, serde_json::Error> {
    let raw = RawValue::from_string(json.to_owned())?;
    Ok(decode_event_content(raw))
}

impl ReceivedEvent {
    /// The `EventHandle` to confirm with ConfirmEvents, exactly as sent (`None` if missing or
    /// not a string; may be empty).
    pub fn handle(&self) -> Option<&str> {
        self.handle.as_deref()
    }

    /// The `EventType` string, if present and a string (also for unknown and undecodable events).
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The typed event, or why it could not be decoded (decoded now if this is the first use).
    pub fn event(&self) -> Result<&Event, &EventDecodeError> {
        self.event
            .get_or_init(|| decode::decode_str(self.raw.get()).event)
            .as_ref()
    }

    /// Takes the typed event, or why it could not be decoded.
    pub fn into_event(self) -> Result<Event, EventDecodeError> {
        self.into_parts().1
    }

    /// Splits into handle, typed event and raw JSON.
    pub fn into_parts(
        self,
    ) -> (
        Option<String>,
        Result<Event, EventDecodeError>,
        Box<RawValue>,
    ) {
        let event = match self.event.into_inner() {
            Some(event) => event,
            None => decode::decode_str(self.raw.get()).event,
        };
        (self.handle, event, self.raw)
    }

    /// The event object exactly as the service sent it (including `EventHandle`).
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// The event object as the service sent it minus `EventHandle`, as JSON text: the other
    /// entries are copied byte for byte, in order. This is the v3.0 push-body form.
    pub fn json_without_handle(&self) -> String {
        match self.around_handle() {
            Some((before, after)) => {
                let mut out = String::with_capacity(before.len() + after.len());
                out.push_str(before);
                out.push_str(after);
                out
            }
            None => scan::without_handle(self.raw.get()),
        }
    }

    /// Writes [`Self::json_without_handle`] to `out`; for the service's layout that is two
    /// slices of the raw text, with nothing allocated.
    pub fn write_json_without_handle<W: std::io::Write>(&self, mut out: W) -> std::io::Result<()> {
        match self.around_handle() {
            Some((before, after)) => {
                out.write_all(before.as_bytes())?;
                out.write_all(after.as_bytes())
            }
            None => out.write_all(scan::without_handle(self.raw.get()).as_bytes()),
        }
    }

    /// [`Self::json_without_handle`] as two pieces to be read one after the other: for the
    /// service's layout, the raw text before and after the `EventHandle` entry, with nothing
    /// built; otherwise the built text and an empty second piece. For code that hashes,
    /// compares or writes the content of every event.
    pub fn json_without_handle_parts(&self) -> (std::borrow::Cow<'_, str>, &str) {
        match self.around_handle() {
            Some((before, after)) => (std::borrow::Cow::Borrowed(before), after),
            None => (
                std::borrow::Cow::Owned(scan::without_handle(self.raw.get())),
                "",
            ),
        }
    }

    /// The raw text before and after the `EventHandle` entry, when the layout was read without
    /// decoding (no re-scan: this is on the operator binary's per-event path).
    fn around_handle(&self) -> Option<(&str, &str)> {
        let raw = self.raw.get();
        let cut = self.handle_entry.clone()?;
        Some((raw.get(..cut.start)?, raw.get(cut.end..)?))
    }

    /// The event object as the service sent it minus `EventHandle`, as a [`Value`] (all fields,
    /// including those the model does not know).
    pub fn value_without_handle(&self) -> Result<Value, serde_json::Error> {
        let mut value: Value = serde_json::from_str(self.raw.get())?;
        if let Value::Object(map) = &mut value {
            map.remove("EventHandle");
        }
        Ok(value)
    }

    /// The event's idempotency key: [`Event::idempotency_key`] when it decoded; otherwise
    /// `<EventType>:sha256:<hex>` over the canonical JSON of [`Self::value_without_handle`].
    pub fn idempotency_key(&self) -> String {
        match self.event() {
            Ok(event) => event.idempotency_key(),
            Err(_) => {
                let value = self.value_without_handle().unwrap_or(Value::Null);
                let event_type = self.event_type.as_deref().unwrap_or("Invalid");
                format!("{event_type}:sha256:{}", idempotency::digest_value(&value))
            }
        }
    }
}

/// An event that arrived but did not match the model (e.g. a string where an integer was
/// expected). Nothing is lost: the raw JSON and handle are here.
#[derive(Debug, Clone)]
pub struct UndecodableEvent {
    /// The event's handle.
    pub handle: Option<String>,
    /// The event exactly as the service sent it.
    pub raw: String,
    /// Where and why decoding failed.
    pub error: EventDecodeError,
}

impl fmt::Display for UndecodableEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl crate::event::VodEvent for ReceivedEvent {
    fn provider(&self) -> crate::event::Provider {
        crate::event::Provider::Tencent
    }

    fn event_type(&self) -> Option<&str> {
        ReceivedEvent::event_type(self)
    }

    fn idempotency_key(&self) -> String {
        ReceivedEvent::idempotency_key(self)
    }

    fn json(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Owned(self.json_without_handle())
    }

    fn json_pieces(&self) -> (std::borrow::Cow<'_, str>, &str) {
        self.json_without_handle_parts()
    }

    fn content_key(&self) -> crate::consumer::ContentKey {
        // The operator binary keys every event on this: hash the raw text around the handle
        // in place instead of building the JSON without it.
        match self.around_handle() {
            Some((before, after)) => {
                crate::consumer::ContentKey::of_parts([before.as_bytes(), after.as_bytes()])
            }
            None => crate::consumer::ContentKey::of(self.json_without_handle().as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    type Outcome = (
        Option<String>,
        Option<String>,
        Result<Event, EventDecodeError>,
    );

    /// Everything the lazy `decode_event_content` reports, forcing the typed decode.
    fn lazy(json: &str) -> Outcome {
        let received = decode_event_json(json).expect("valid JSON");
        let handle = received.handle().map(str::to_owned);
        let event_type = received.event_type().map(str::to_owned);
        let event = received.event().cloned().map_err(Clone::clone);
        assert_eq!(received.clone().into_event(), event, "{json}");
        // Dropping the handle by cutting its entry out gives what the full scan gives.
        let without = received.json_without_handle();
        let mut written = Vec::new();
        received
            .write_json_without_handle(&mut written)
            .expect("writes to a Vec");
        assert_eq!(written, without.as_bytes(), "{json}");
        let reparsed = |text: &str| serde_json::from_str::<Value>(text).ok();
        assert_eq!(
            reparsed(&without),
            reparsed(&scan::without_handle(json)),
            "{json} -> {without}"
        );
        (handle, event_type, event)
    }

    /// The whole-object decode that `decode_event_content` used before it became lazy.
    fn eager(json: &str) -> Outcome {
        let d = decode::decode_str(json);
        (d.handle, d.event_type, d.event)
    }

    /// The JSON text without whitespace outside strings, keys in their order.
    fn minify(json: &str) -> String {
        let mut out = String::with_capacity(json.len());
        let (mut in_string, mut escaped) = (false, false);
        for c in json.chars() {
            if in_string {
                in_string = escaped || c != '"';
                escaped = !escaped && c == '\\';
            } else if c.is_ascii_whitespace() {
                continue;
            } else {
                in_string = c == '"';
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn the_service_layout_is_identified_without_decoding() {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(rename = "Response")]
            response: Body,
        }
        #[derive(Deserialize)]
        struct Body {
            #[serde(rename = "EventSet")]
            event_set: Vec<Box<RawValue>>,
        }
        let official = include_str!("../../../tests/fixtures/pullevents-official-sample.json");
        let envelope: Envelope = serde_json::from_str(official).expect("fixture");
        assert!(!envelope.response.event_set.is_empty());
        for raw in envelope.response.event_set {
            // The official sample as printed (indented), and compact as the service sends it.
            let value: Value = serde_json::from_str(raw.get()).expect("event");
            let compact = minify(raw.get());
            let received = decode_event_json(&compact).expect("valid JSON");
            assert_eq!(
                received.json_without_handle(),
                scan::without_handle(&compact),
                "compact text: byte for byte"
            );
            for json in [raw.get(), compact.as_str()] {
                let identified = scan::identify(json).expect("service layout");
                assert_eq!(identified.handle, value["EventHandle"]);
                assert_eq!(identified.event_type, value["EventType"]);
                let received = decode_event_json(json).expect("valid JSON");
                assert!(received.event.get().is_none(), "decoded too early");
                assert_eq!(lazy(json), eager(json));
            }
        }
        for json in [
            r#"{"EventHandle":"h","EventType":"PullComplete","PullCompleteEvent":{"FileUrl":"http://a/b?x=1\u0026y=2"}}"#,
            r#"{"EventHandle":"h","EventType":"PullComplete","PullCompleteEvent":{"FileUrl":"a\":b\\"}}"#,
            r#"{ "EventType" : "Mystery" ,
                "EventHandle" : "é" }"#,
            r#"{"EventHandle":"","EventType":"PullComplete","PullCompleteEvent":{"ErrCode":"x"}}"#,
        ] {
            assert!(scan::identify(json).is_some(), "{json}");
            assert_eq!(lazy(json), eager(json), "{json}");
        }
    }

    #[test]
    fn odd_layouts_are_decoded_at_once_and_agree() {
        for json in [
            // A second EventHandle, plain or escaped: the last one counts.
            r#"{"EventHandle":"a","EventType":"PullComplete","EventHandle":"b"}"#,
            r#"{"EventHandle":"a","EventType":"PullComplete","Event\u0048andle":"b"}"#,
            r#"{"EventHandle":"a","EventType":"PullComplete","X":{"Event\u0048andle":"b"}}"#,
            // A second EventType: an error, with no EventType reported.
            r#"{"EventHandle":"a","EventType":"PullComplete","EventType":"X"}"#,
            r#"{"EventHandle":"a","EventType":"PullComplete","Event\u0054ype":"X"}"#,
            // Escapes, non-strings, other orders, missing entries.
            r#"{"EventHandle":"a\"b","EventType":"PullComplete"}"#,
            r#"{"EventHandle":"a","EventType":"Pull\u0043omplete","PullCompleteEvent":{}}"#,
            r#"{"EventHandle":1,"EventType":"PullComplete"}"#,
            r#"{"EventHandle":"a","EventType":null}"#,
            r#"{"EventType":"PullComplete","PullCompleteEvent":{},"EventHandle":"a"}"#,
            r#"{"EventHandle":"a"}"#,
            r#"{"EventHandle":"a","EventType":"PullComplete" ]"#,
            r#"["EventHandle","a"]"#,
            r#""{\"EventHandle\":\"a\",\"EventType\":\"X\"}""#,
        ] {
            let Ok(raw) = serde_json::from_str::<&RawValue>(json) else {
                continue;
            };
            assert!(scan::identify(raw.get()).is_none(), "{json}");
            let received = decode_event_json(json).expect("valid JSON");
            assert!(
                received.event.get().is_some(),
                "not decoded at once: {json}"
            );
            assert_eq!(lazy(json), eager(json), "{json}");
        }
    }

    mod lazy_matches_eager {
        use super::*;
        use proptest::prelude::*;

        fn key() -> impl Strategy<Value = String> {
            proptest::sample::select(vec![
                "\"EventHandle\"",
                "\"EventType\"",
                "\"Event\\u0048andle\"",
                "\"Event\\u0054ype\"",
                "\"PullCompleteEvent\"",
                "\"FileUploadEvent\"",
                "\"FileUrl\"",
                "\"ErrCode\"",
                "\"a\\\"b\"",
            ])
            .prop_map(str::to_owned)
        }

        fn scalar() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::sample::select(vec![
                    "\"PullComplete\"",
                    "\"NewFileUpload\"",
                    "\"Mystery\"",
                    "\"\"",
                    "\"h\\u0026x\"",
                    "\"a\\\":b\"",
                    "\"é\"",
                    "null",
                    "0",
                    "-1.5",
                    "true",
                ])
                .prop_map(str::to_owned),
                "[a-zA-Z0-9]{0,12}".prop_map(|s| format!("\"{s}\"")),
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            scalar().prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec((key(), inner.clone()), 0..4).prop_map(|kv| {
                        let body: Vec<String> =
                            kv.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                        format!("{{{}}}", body.join(","))
                    }),
                    proptest::collection::vec(inner, 0..3)
                        .prop_map(|items| format!("[{}]", items.join(","))),
                ]
            })
        }

        fn ws() -> impl Strategy<Value = &'static str> {
            proptest::sample::select(vec!["", "", "", " ", "\n  "])
        }

        /// Objects that usually start like the service's (handle, type) and sometimes don't.
        fn object() -> impl Strategy<Value = String> {
            let head = prop_oneof![
                3 => (scalar(), scalar()).prop_map(|(h, t)| vec![
                    ("\"EventHandle\"".to_owned(), h),
                    ("\"EventType\"".to_owned(), t),
                ]),
                1 => (scalar(), scalar()).prop_map(|(h, t)| vec![
                    ("\"EventType\"".to_owned(), t),
                    ("\"EventHandle\"".to_owned(), h),
                ]),
                1 => proptest::collection::vec((key(), scalar()), 0..3),
            ];
            (
                head,
                proptest::collection::vec((key(), value()), 0..5),
                ws(),
                ws(),
            )
                .prop_map(|(head, tail, w1, w2)| {
                    let body: Vec<String> = head
                        .into_iter()
                        .chain(tail)
                        .map(|(k, v)| format!("{w1}{k}{w2}:{w1}{v}{w2}"))
                        .collect();
                    format!("{w1}{{{}}}", body.join(","))
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn on_any_object(json in object()) {
                prop_assume!(serde_json::from_str::<&RawValue>(&json).is_ok());
                prop_assert_eq!(lazy(&json), eager(&json), "{}", json);
            }
        }
    }
}
