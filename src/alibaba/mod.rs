//! Alibaba Cloud ApsaraVideo VOD and Intelligent Media Services (IMS) event notifications.
//!
//! - [`events`]: the typed events of both products ([`Event`]), generated from
//!   `spec/alibaba-events.json`, and [`ReceivedEvent`], the raw JSON with its typed value.

pub mod events;

pub use events::{
    decode_json, decode_message, EmbeddedJson, Event, EventDecodeError, EventDecodeErrorKind,
    LenientNumber, Outcome, Product, ReceivedEvent, UnknownEvent,
};
