//! Tencent Cloud VOD (API 2018-07-17) event notifications.
//!
//! - [`Client`]: signed calls to the five event actions, with retries, pacing and
//!   clock-skew correction.
//! - [`credentials`]: where the SecretId/SecretKey come from.
//! - [`sign`]: TC3-HMAC-SHA256 as pure functions.
//! - [`events`]: the typed v3.0 events, generated from the service's model.
//! - [`stream`]: the event streams ([`Client::events`], [`Client::deliveries`]).

pub mod api;
pub mod client;
pub mod credentials;
pub mod dedup;
pub mod error;
pub mod events;
#[cfg(feature = "fake")]
pub mod fake;
pub mod pacing;
pub mod retry;
pub mod sign;
pub mod stream;

pub use api::{
    Action, ConfirmEvents, DescribeEventConfig, DescribeEventsState, ModifyEventConfig, PullEvents,
    PullEventsResponse, MAX_EVENTS_PER_CALL,
};
pub use client::{Client, ClientBuilder, Clock, SystemClock};
pub use credentials::{Credentials, CredentialsError, DefaultChain, ProvideCredentials};
pub use error::Error;
pub use events::{
    decode_event_content, Event, EventDecodeError, EventDecodeErrorKind, ReceivedEvent,
    UnknownEvent,
};
pub use retry::RetryPolicy;
pub use stream::{
    AckError, AckOutcome, Acker, Delivery, DeliveryStream, EventStream, StreamOptions, StreamStats,
};
