//! One event as a source delivers it: the raw JSON, what is read up front (product,
//! EventType), and the typed value decoded on first use.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde_json::value::RawValue;

use super::decode::{decode_str, Entries};
use super::{idempotency, Event, EventDecodeError, Product};
use crate::event::{Provider, VodEvent};

/// One Alibaba event as received (an MNS message body, an HTTP callback body): the raw JSON,
/// which holds everything that was sent, and its typed value (or why it could not be decoded).
///
/// The product and the EventType are read when it is made; the typed value is decoded on
/// first use ([`event`](Self::event)) and kept, so a consumer that only forwards the JSON never
/// pays for it.
#[derive(Clone)]
pub struct ReceivedEvent {
    product: Product,
    event_type: Option<String>,
    event: OnceLock<Result<Event, EventDecodeError>>,
    raw: Box<RawValue>,
}

impl fmt::Debug for ReceivedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedEvent")
            .field("product", &self.product)
            .field("event_type", &self.event_type)
            .field("event", &self.event.get())
            .field("raw_len", &self.raw.get().len())
            .finish()
    }
}

/// Wraps one event object. Never fails and never panics: problems show in
/// [`ReceivedEvent::event`]. Something that is not an object counts as VOD (the flat shape)
/// with no EventType.
pub fn decode_message(raw: Box<RawValue>) -> ReceivedEvent {
    let (product, event_type) = match serde_json::from_str::<Entries<'_>>(raw.get()) {
        Ok(entries) => (entries.product(), entries.event_type().ok()),
        Err(_) => (Product::Vod, None),
    };
    ReceivedEvent {
        product,
        event_type,
        event: OnceLock::new(),
        raw,
    }
}

/// Like [`decode_message`] for JSON text. Fails only if `json` is not valid JSON.
pub fn decode_json(json: &str) -> Result<ReceivedEvent, serde_json::Error> {
    Ok(decode_message(RawValue::from_string(json.to_owned())?))
}

impl ReceivedEvent {
    /// The product, by the object's shape.
    pub fn product(&self) -> Product {
        self.product
    }

    /// The `EventType` string, if present and a string (also for unknown and undecodable
    /// events).
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The typed event, or why it could not be decoded (decoded now if this is the first use).
    pub fn event(&self) -> Result<&Event, &EventDecodeError> {
        self.event
            .get_or_init(|| decode_str(self.raw.get()))
            .as_ref()
    }

    /// Takes the typed event, or why it could not be decoded.
    pub fn into_event(self) -> Result<Event, EventDecodeError> {
        match self.event.into_inner() {
            Some(event) => event,
            None => decode_str(self.raw.get()),
        }
    }

    /// The event object exactly as received.
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// [`Event::idempotency_key`] when the event decodes; otherwise
    /// `<provider>:<EventType>:sha256:<digest>` over the canonical form of the raw JSON.
    pub fn idempotency_key(&self) -> String {
        match self.event() {
            Ok(event) => event.idempotency_key(),
            Err(_) => format!(
                "{}:{}:sha256:{}",
                self.product.provider(),
                self.event_type.as_deref().unwrap_or("Invalid"),
                idempotency::digest_json(self.raw.get())
            ),
        }
    }
}

impl VodEvent for ReceivedEvent {
    fn provider(&self) -> Provider {
        self.product.provider()
    }

    fn event_type(&self) -> Option<&str> {
        ReceivedEvent::event_type(self)
    }

    fn idempotency_key(&self) -> String {
        ReceivedEvent::idempotency_key(self)
    }

    /// The body as received: nothing in an Alibaba event belongs to one delivery only (the
    /// MNS receipt handle travels outside the body).
    fn json(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.raw.get())
    }
}
