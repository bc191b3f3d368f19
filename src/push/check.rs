//! From one request (headers and body) to a verified, typed [`PushEvent`], or the reason to
//! refuse it: the producer recognised, its signature checked, the event decoded. Pure: the
//! time is passed in, nothing is read or written.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use serde::de::{self, Deserializer, MapAccess};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::consumer::ContentKey;
use crate::event::{Provider, VodEvent};
use crate::push::verify::{self, KeyUsed, Keys, VerifyError, DEFAULT_WINDOW};
use crate::{alibaba, tencent};

/// Alibaba VOD's timestamp header.
pub const VOD_TIMESTAMP: &str = "x-vod-timestamp";
/// Alibaba VOD's signature header.
pub const VOD_SIGNATURE: &str = "x-vod-signature";
/// Alibaba IMS's timestamp header.
pub const ICE_TIMESTAMP: &str = "x-ice-timestamp";
/// Alibaba IMS's signature header.
pub const ICE_SIGNATURE: &str = "x-ice-signature";

/// Why a request was refused before it became a delivery. `Display` says which check
/// failed; nothing secret is ever in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The body is not UTF-8 text.
    #[error("the body is not UTF-8")]
    NotUtf8(#[source] std::str::Utf8Error),
    /// The body is not JSON (or has something after the JSON value).
    #[error("the body is not JSON")]
    NotJson(#[source] serde_json::Error),
    /// The body is JSON, but not one object.
    #[error("the body is not a JSON object")]
    NotAnObject,
    /// The request carries both Alibaba VOD (`X-VOD-*`) and IMS (`X-ICE-*`) headers.
    #[error("the request carries both X-VOD-* and X-ICE-* headers")]
    AmbiguousProducer,
    /// Neither the headers nor the body's shape say which producer sent it.
    #[error("the producer cannot be told from the headers or the body")]
    UnknownProducer,
    /// A signature check failed (or the producer has no key and unsigned pushes are off).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The body is larger than the receiver's cap.
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The body did not arrive within the receiver's body timeout.
    #[error("the body did not arrive within {0:?}")]
    BodyTimeout(Duration),
    /// Reading the body failed (the client went away mid-body).
    #[error("reading the body failed")]
    BodyRead(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The receiver is at its bound of requests in flight.
    #[error("too many requests in flight")]
    Overloaded,
    /// The same event (by idempotency key) is being handled by another request right now;
    /// that one's outcome counts, and the producer will retry this one.
    #[error("the same event is already being handled")]
    InFlight,
    /// The receiver's consumer is gone (its stream was dropped or shut down).
    #[error("the receiver is shutting down")]
    ShuttingDown,
}

impl Refusal {
    /// The HTTP status to answer with: 400 for a body that is not one JSON object or a
    /// producer that cannot be told, 401 for every signature check (Contract 5), 413 for a
    /// body over the cap, 408 for a body too slow to arrive, 503 where the producer should
    /// retry (overload, the same event in flight, shutting down).
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Refusal::NotUtf8(_)
            | Refusal::NotJson(_)
            | Refusal::NotAnObject
            | Refusal::AmbiguousProducer
            | Refusal::UnknownProducer => StatusCode::BAD_REQUEST,
            Refusal::Verify(_) => StatusCode::UNAUTHORIZED,
            Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Refusal::BodyRead(_) => StatusCode::BAD_REQUEST,
            Refusal::Overloaded | Refusal::InFlight | Refusal::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// A short stable name for counting refusals by reason (`bad_json`, `signature`, …).
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::NotUtf8(_) | Refusal::NotJson(_) | Refusal::NotAnObject => "bad_json",
            Refusal::AmbiguousProducer | Refusal::UnknownProducer => "unknown_producer",
            Refusal::Verify(VerifyError::NoKeyConfigured(_)) => "unsigned",
            Refusal::Verify(VerifyError::Expired { .. } | VerifyError::OutsideWindow { .. }) => {
                "expired"
            }
            Refusal::Verify(_) => "signature",
            Refusal::BodyTooLarge { .. } => "too_large",
            Refusal::BodyTimeout(_) | Refusal::BodyRead(_) => "body_read",
            Refusal::Overloaded => "overloaded",
            Refusal::InFlight => "in_flight",
            Refusal::ShuttingDown => "shutting_down",
        }
    }
}

/// The typed event of a push, by cloud.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PushedEvent {
    /// A Tencent v3.0 push; its JSON is the body without `Sign` and `T`.
    Tencent(tencent::ReceivedEvent),
    /// An Alibaba VOD or IMS callback; its JSON is the body.
    Alibaba(alibaba::ReceivedEvent),
}

/// One verified push: who sent it, which key signed it, its typed event, and the body
/// exactly as received.
#[derive(Clone)]
pub struct PushEvent {
    provider: Provider,
    key_used: Option<KeyUsed>,
    event: PushedEvent,
    body: Bytes,
    received_unix: i64,
}

impl fmt::Debug for PushEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushEvent")
            .field("provider", &self.provider)
            .field("key_used", &self.key_used)
            .field("event", &self.event)
            .field("body_len", &self.body.len())
            .field("received_unix", &self.received_unix)
            .finish()
    }
}

impl PushEvent {
    /// Who sent it: from the Alibaba headers when present, else from the body's shape.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Which key the signature matched; `None` for a push accepted unsigned
    /// ([`Verifier::allow_unsigned`]).
    pub fn key_used(&self) -> Option<KeyUsed> {
        self.key_used
    }

    /// The typed event.
    pub fn event(&self) -> &PushedEvent {
        &self.event
    }

    /// Takes the typed event.
    pub fn into_event(self) -> PushedEvent {
        self.event
    }

    /// The Tencent event, if Tencent sent it.
    pub fn tencent(&self) -> Option<&tencent::ReceivedEvent> {
        match &self.event {
            PushedEvent::Tencent(event) => Some(event),
            PushedEvent::Alibaba(_) => None,
        }
    }

    /// The Alibaba event, if Alibaba VOD or IMS sent it.
    pub fn alibaba(&self) -> Option<&alibaba::ReceivedEvent> {
        match &self.event {
            PushedEvent::Alibaba(event) => Some(event),
            PushedEvent::Tencent(_) => None,
        }
    }

    /// The body exactly as received (for Tencent, `Sign` and `T` included).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The `now` the request was checked against (Unix seconds).
    pub fn received_unix(&self) -> i64 {
        self.received_unix
    }
}

impl VodEvent for PushEvent {
    fn provider(&self) -> Provider {
        self.provider
    }

    fn event_type(&self) -> Option<&str> {
        match &self.event {
            PushedEvent::Tencent(event) => event.event_type(),
            PushedEvent::Alibaba(event) => event.event_type(),
        }
    }

    /// The event's own key, prefixed with the provider so that keys of different producers
    /// never meet (Tencent's keys do not name the cloud).
    fn idempotency_key(&self) -> String {
        let key = match &self.event {
            PushedEvent::Tencent(event) => event.idempotency_key(),
            PushedEvent::Alibaba(event) => event.idempotency_key(),
        };
        format!("{}|{key}", self.provider)
    }

    /// The event object: for Tencent the body without `Sign` and `T` (they belong to one
    /// delivery, like `EventHandle`), for Alibaba the body as received.
    fn json(&self) -> Cow<'_, str> {
        match &self.event {
            PushedEvent::Tencent(event) => Cow::Borrowed(event.raw().get()),
            PushedEvent::Alibaba(event) => Cow::Borrowed(event.raw().get()),
        }
    }

    fn content_key(&self) -> ContentKey {
        ContentKey::of(self.json().as_bytes())
    }
}

/// What is accepted, and with which keys: the pure half of the receiver.
///
/// Secure by default: a producer with no key is refused
/// ([`VerifyError::NoKeyConfigured`]) unless [`allow_unsigned`](Self::allow_unsigned) is
/// on; a producer with a key always needs a valid signature.
///
/// For an HTTP server other than axum: pass each request's headers and whole body, answer
/// [`Refusal::status`] on an error, and 200 only once the event is safely handed over.
///
/// ```
/// use bytes::Bytes;
/// use http::HeaderMap;
/// use vod_events::push::{Keys, Verifier};
/// use vod_events::{Provider, VodEvent};
///
/// let verifier = Verifier::new()
///     .tencent_keys("mysignkey")
///     .alibaba_keys(Keys::new("test123"))
///     .callback_url("https://www.example.com/your/callback");
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-vod-timestamp", "1519375990".parse()?);
/// headers.insert("x-vod-signature", "c72b60894140fa98920f1279219b7ed4".parse()?);
/// let body = Bytes::from_static(br#"{"EventType":"FileUploadComplete","VideoId":"v1","Status":"success"}"#);
/// let event = verifier.check(&headers, body, 1_519_375_990)?;
/// assert_eq!(event.provider(), Provider::AlibabaVod);
/// assert_eq!(event.event_type(), Some("FileUploadComplete"));
///
/// // The same request six minutes later: outside the 300 s window.
/// let stale = verifier.check(&headers, event.body().clone(), 1_519_375_990 + 360);
/// assert_eq!(stale.unwrap_err().status(), 401);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    tencent: Option<Keys>,
    vod: Option<Keys>,
    ims: Option<Keys>,
    callback_url: Option<String>,
    window: Duration,
    allow_unsigned: bool,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            tencent: None,
            vod: None,
            ims: None,
            callback_url: None,
            window: DEFAULT_WINDOW,
            allow_unsigned: false,
        }
    }
}

impl Verifier {
    /// No keys and no unsigned pushes: refuses everything until configured.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies Tencent v3.0 pushes with these `SignKey`s.
    pub fn tencent_keys(mut self, keys: impl Into<Keys>) -> Self {
        self.tencent = Some(keys.into());
        self
    }

    /// Verifies Alibaba VOD and IMS callbacks with these `AuthKey`s (see also
    /// [`alibaba_vod_keys`](Self::alibaba_vod_keys) and
    /// [`alibaba_ims_keys`](Self::alibaba_ims_keys) for different keys per product). Needs
    /// [`callback_url`](Self::callback_url).
    pub fn alibaba_keys(self, keys: impl Into<Keys>) -> Self {
        let keys = keys.into();
        self.alibaba_vod_keys(keys.clone()).alibaba_ims_keys(keys)
    }

    /// Verifies Alibaba VOD callbacks (`X-VOD-*`) with these keys.
    pub fn alibaba_vod_keys(mut self, keys: impl Into<Keys>) -> Self {
        self.vod = Some(keys.into());
        self
    }

    /// Verifies Alibaba IMS callbacks (`X-ICE-*`) with these keys.
    pub fn alibaba_ims_keys(mut self, keys: impl Into<Keys>) -> Self {
        self.ims = Some(keys.into());
        self
    }

    /// The callback URL exactly as configured at Alibaba (`SetMessageCallback` /
    /// `SetEventCallback`): it is part of what they sign, byte for byte. A job that
    /// overrides the callback URL signs its own URL, which this receiver does not know.
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// The configured callback URL.
    pub fn configured_callback_url(&self) -> Option<&str> {
        self.callback_url.as_deref()
    }

    /// How far an Alibaba timestamp may be from now, either way (default 300 s).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Accepts pushes from a producer that has no key here, unverified (default off).
    /// Producers with a key still need a valid signature.
    pub fn allow_unsigned(mut self, allow: bool) -> Self {
        self.allow_unsigned = allow;
        self
    }

    /// Whether an Alibaba key is set without the callback URL it signs: no signature could
    /// ever match.
    pub fn lacks_callback_url(&self) -> bool {
        (self.vod.is_some() || self.ims.is_some()) && self.callback_url.is_none()
    }

    /// Checks one request: recognises the producer, verifies its signature against `now`
    /// (Unix seconds), decodes the event. `body` is the whole body.
    pub fn check(&self, headers: &HeaderMap, body: Bytes, now: i64) -> Result<PushEvent, Refusal> {
        let text = std::str::from_utf8(&body).map_err(Refusal::NotUtf8)?;
        let entries = parse_object(text)?;
        let provider = recognise(headers, &entries)?;
        let (key_used, event) = match provider {
            Provider::AlibabaVod | Provider::AlibabaIms => {
                let key_used = self.check_alibaba(provider, headers, now)?;
                let event = alibaba::decode_json(text).map_err(Refusal::NotJson)?;
                (key_used, PushedEvent::Alibaba(event))
            }
            Provider::Tencent => {
                let key_used = self.check_tencent(&entries, now)?;
                let json = without_sign_and_t(text, &entries)?;
                let event = tencent::events::decode_event_content(json);
                (key_used, PushedEvent::Tencent(event))
            }
        };
        Ok(PushEvent {
            provider,
            key_used,
            event,
            body,
            received_unix: now,
        })
    }

    fn check_tencent(&self, entries: &Entries<'_>, now: i64) -> Result<Option<KeyUsed>, Refusal> {
        let Some(keys) = &self.tencent else {
            return self.unsigned(Provider::Tencent);
        };
        let sign = entries.get("Sign").and_then(string_value);
        let t = entries.get("T").and_then(|raw| {
            if raw.get().starts_with('"') {
                string_value(raw).map(Cow::Owned)
            } else if raw.get() == "null" {
                None
            } else {
                Some(Cow::Borrowed(raw.get()))
            }
        });
        let used = verify::verify_tencent(keys, sign.as_deref(), t.as_deref(), now)?;
        Ok(Some(used))
    }

    fn check_alibaba(
        &self,
        provider: Provider,
        headers: &HeaderMap,
        now: i64,
    ) -> Result<Option<KeyUsed>, Refusal> {
        let (keys, ts_name, sig_name) = if provider == Provider::AlibabaIms {
            (&self.ims, ICE_TIMESTAMP, ICE_SIGNATURE)
        } else {
            (&self.vod, VOD_TIMESTAMP, VOD_SIGNATURE)
        };
        let Some(keys) = keys else {
            return self.unsigned(provider);
        };
        // Without the URL nothing can match; `lacks_callback_url` lets a builder refuse
        // such a configuration up front.
        let url = self.callback_url.as_deref().unwrap_or_default();
        let used = verify::verify_alibaba_as(
            provider,
            keys,
            url,
            header(headers, ts_name),
            header(headers, sig_name),
            now,
            self.window,
        )?;
        Ok(Some(used))
    }

    fn unsigned(&self, provider: Provider) -> Result<Option<KeyUsed>, Refusal> {
        if self.allow_unsigned {
            Ok(None)
        } else {
            Err(VerifyError::NoKeyConfigured(provider).into())
        }
    }
}

/// A header's value; one that is not visible ASCII reads as empty, which no timestamp or
/// signature check accepts.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap_or_default())
}

fn string_value(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<String>(raw.get()).ok()
}

/// The top-level entries of the body, values left as raw JSON text.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Entries<'a> {
    /// The value of `key` (the last one, as a JSON map reader would see it).
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    out.push((key, map.next_value()?));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn parse_object(text: &str) -> Result<Entries<'_>, Refusal> {
    // Valid JSON first, so that a body that is JSON but not an object is told apart.
    let raw: &RawValue = serde_json::from_str(text).map_err(Refusal::NotJson)?;
    if !raw.get().starts_with('{') {
        return Err(Refusal::NotAnObject);
    }
    serde_json::from_str(raw.get()).map_err(Refusal::NotJson)
}

/// The producer, from the Alibaba headers when present, else from the body's shape:
/// `Sign`/`T` or a Tencent payload field mean Tencent; a `MessageBody` object with a
/// `UserId` means IMS; `EventTime` means Alibaba VOD; another object-valued `…Event` field
/// means Tencent (an event type newer than this crate); any other object with an
/// `EventType` is taken as Alibaba VOD (flat).
fn recognise(headers: &HeaderMap, entries: &Entries<'_>) -> Result<Provider, Refusal> {
    let vod = headers.contains_key(VOD_TIMESTAMP) || headers.contains_key(VOD_SIGNATURE);
    let ims = headers.contains_key(ICE_TIMESTAMP) || headers.contains_key(ICE_SIGNATURE);
    match (vod, ims) {
        (true, true) => return Err(Refusal::AmbiguousProducer),
        (true, false) => return Ok(Provider::AlibabaVod),
        (false, true) => return Ok(Provider::AlibabaIms),
        (false, false) => {}
    }
    if entries.has("Sign") || entries.has("T") {
        return Ok(Provider::Tencent);
    }
    let is_object = |raw: &RawValue| raw.get().starts_with('{');
    let ims_body = entries.get("MessageBody").is_some_and(is_object)
        && entries.get("UserId").is_some_and(|v| v.get() != "null");
    if ims_body {
        return Ok(Provider::AlibabaIms);
    }
    let tencent_field = entries.0.iter().any(|(k, _)| {
        tencent::events::EVENT_TYPES
            .iter()
            .any(|info| info.payload_field == k.as_ref())
    });
    if tencent_field {
        return Ok(Provider::Tencent);
    }
    if entries.has("EventTime") {
        return Ok(Provider::AlibabaVod);
    }
    if entries
        .0
        .iter()
        .any(|(k, v)| k.ends_with("Event") && is_object(v))
    {
        return Ok(Provider::Tencent);
    }
    if entries
        .get("EventType")
        .is_some_and(|v| v.get().starts_with('"'))
    {
        return Ok(Provider::AlibabaVod);
    }
    Err(Refusal::UnknownProducer)
}

/// The Tencent body without its `Sign` and `T` entries, the other entries byte for byte in
/// their order (huge numbers stay exact); the body itself when it has neither.
fn without_sign_and_t(text: &str, entries: &Entries<'_>) -> Result<Box<RawValue>, Refusal> {
    let is_delivery_field = |k: &str| k == "Sign" || k == "T";
    let json = if entries.0.iter().any(|(k, _)| is_delivery_field(k)) {
        let mut out = String::with_capacity(text.len());
        out.push('{');
        for (k, v) in entries.0.iter().filter(|(k, _)| !is_delivery_field(k)) {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(k.as_ref()).map_err(Refusal::NotJson)?);
            out.push(':');
            out.push_str(v.get());
        }
        out.push('}');
        out
    } else {
        text.trim().to_owned()
    };
    RawValue::from_string(json).map_err(Refusal::NotJson)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(json: &str) -> Entries<'_> {
        parse_object(json).expect("object")
    }

    #[test]
    fn sign_and_t_are_cut_out_and_the_rest_kept_exactly() {
        let body = r#"{"EventType":"X","Sign":"ab","N":123456789012345678901234567890,"T":1,"K\"":{"a":1.50}}"#;
        let json = without_sign_and_t(body, &entries(body)).expect("json");
        assert_eq!(
            json.get(),
            r#"{"EventType":"X","N":123456789012345678901234567890,"K\"":{"a":1.50}}"#
        );
    }

    #[test]
    fn producers_are_told_by_shape() {
        let none = HeaderMap::new();
        for (body, expected) in [
            (
                r#"{"EventType":"NewFileUpload","FileUploadEvent":{}}"#,
                Provider::Tencent,
            ),
            (
                r#"{"EventType":"Brand","BrandNewEvent":{}}"#,
                Provider::Tencent,
            ),
            (r#"{"EventType":"X","T":1}"#, Provider::Tencent),
            (
                r#"{"EventType":"FileUploadComplete","UserId":1,"MessageBody":{}}"#,
                Provider::AlibabaIms,
            ),
            (
                r#"{"EventType":"FileUploadComplete","VideoId":"v","EventTime":"t"}"#,
                Provider::AlibabaVod,
            ),
            (
                r#"{"EventType":"Whatever","Status":"success"}"#,
                Provider::AlibabaVod,
            ),
        ] {
            assert_eq!(
                recognise(&none, &entries(body)).ok(),
                Some(expected),
                "{body}"
            );
        }
        assert!(matches!(
            recognise(&none, &entries("{}")),
            Err(Refusal::UnknownProducer)
        ));
    }
}
