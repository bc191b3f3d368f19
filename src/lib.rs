//! # vod-events
//!
//! Reliable consumption of Tencent Cloud VOD event notifications: the "reliable callback"
//! queue, drained with signed PullEvents / ConfirmEvents calls, as a typed
//! [`futures::Stream`] that confirms each event only after you have taken it.
//!
//! Everything lives under [`tencent`]:
//!
//! - [`tencent::Client`]: TC3-signed calls with retries, pacing and clock-skew correction;
//! - [`tencent::Client::deliveries`] / [`tencent::Client::sequential_events`]: the event
//!   streams, on the source-neutral [`consumer`] engine;
//! - [`tencent::Event`]: every v3.0 event type, generated from the service's model;
//! - `tencent::fake` (feature `fake`): an in-process fake of the service for tests.
//!
//! [`alibaba`] holds the typed Alibaba Cloud VOD and IMS events ([`alibaba::Event`]).
//!
//! ## Example
//!
//! This runs as written: it starts the fake VOD server on 127.0.0.1, queues two events, and
//! drains them.
//!
//! ```
//! use futures::StreamExt;
//! use vod_events::tencent::fake::{samples, FakeConfig, FakeVod};
//! use vod_events::tencent::{Client, Credentials, Event};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fake = FakeVod::start(FakeConfig::fast()).await?;
//! fake.push_event(None, samples::sample_event("PullComplete", 1).unwrap());
//! fake.push_event(None, samples::sample_event("NewFileUpload", 2).unwrap());
//!
//! // Against the real service: `Client::builder().sub_app_id(..).build()?`, with keys
//! // from TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY.
//! let client = Client::builder()
//!     .endpoint(fake.endpoint())
//!     .credentials(Credentials::new(FakeConfig::DEFAULT_SECRET_ID, FakeConfig::DEFAULT_SECRET_KEY))
//!     .build()?;
//!
//! let mut events = client.sequential_events();
//! let mut seen = Vec::new();
//! while seen.len() < 2 {
//!     let event = events.next().await.expect("the stream runs until shut down")?;
//!     if let Event::PullComplete(Some(task)) = &event {
//!         assert!(task.file_id.is_some());
//!     }
//!     seen.push(event.event_type().to_owned());
//! }
//! let report = events.shutdown().await; // confirms what was taken
//! assert_eq!(report.confirmed, 2);
//! assert_eq!(fake.stats().confirmed, 2);
//! seen.sort();
//! assert_eq!(seen, ["NewFileUpload", "PullComplete"]);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod alibaba;
pub mod consumer;
pub mod event;
#[cfg(feature = "fake")]
mod fake;
pub mod tencent;
pub mod transport;

pub use event::{Provider, VodEvent};

/// The README's examples, compiled as doc-tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
