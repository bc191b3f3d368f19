//! Alibaba Cloud ApsaraVideo VOD and Intelligent Media Services (IMS) event notifications.
//!
//! - [`events`]: the typed events of both products ([`Event`]), generated from
//!   `spec/alibaba-events.json`, and [`ReceivedEvent`], the raw JSON with its typed value;
//! - [`mns`]: the MNS queue VOD and IMS write events into, as a source of the consumer engine;
//! - [`credentials`]: AccessKey pairs and STS tokens from the environment, an OIDC role, the
//!   profile file or the ECS instance's RAM role.

pub mod credentials;
pub mod events;
pub mod mns;

pub use events::{
    decode_json, decode_message, EmbeddedJson, Event, EventDecodeError, EventDecodeErrorKind,
    LenientNumber, Outcome, Product, ReceivedEvent, UnknownEvent,
};
