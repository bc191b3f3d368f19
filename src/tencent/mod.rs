//! Tencent Cloud VOD (API 2018-07-17) event notifications.
//!
//! - [`Client`]: signed calls to the five event actions, with retries, pacing and
//!   clock-skew correction.
//! - [`credentials`]: where the SecretId/SecretKey come from.
//! - [`sign`]: TC3-HMAC-SHA256 as pure functions.
//! - [`events`]: the typed v3.0 events, generated from the service's model.
//! - [`queue`]: the queue as a source of the [consumer engine](crate::consumer);
//!   [`stream`]: the event streams ([`Client::deliveries`], [`Client::sequential_events`]).

pub mod api;
mod builder;
pub mod client;
pub mod credentials;
pub mod error;
pub mod events;
#[cfg(feature = "fake")]
pub mod fake;
pub mod queue;
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
    UndecodableEvent, UnknownEvent,
};
pub use queue::{TencentQueue, HANDLE_LIFETIME};
pub use stream::{Acker, Delivery, DeliveryStream, SequentialEvents};

/// Skipping redeliveries within one process (moved to [`crate::consumer::dedup`]).
pub use crate::consumer::dedup;
pub use crate::consumer::{AckError, AckOutcome, ConsumerOptions, Stats};
pub use crate::transport::{RetryPolicy, TlsProblem};
