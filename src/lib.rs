//! # vod-events
//!
//! Video-on-demand event notifications from the cloud, handed to a backend reliably: each
//! event acknowledged only after your code has taken it, nothing lost, typed events for every
//! kind the services document.
//!
//! - [`consumer`]: the engine every source runs on. A [`consumer::Source`] (a queue drained
//!   with long polls, or a receiver of pushes) becomes a [`futures::Stream`] of deliveries with
//!   batched acknowledgements, bounded prefetch and outstanding work, lease checks, shutdown
//!   and stats. It knows no cloud and no HTTP.
//! - [`tencent`]: Tencent Cloud VOD. [`tencent::Client`] makes TC3-signed calls with retries,
//!   pacing and clock-skew correction; [`tencent::TencentQueue`] is the reliable-callback queue
//!   (PullEvents / ConfirmEvents) as a source, behind [`tencent::Client::deliveries`] and
//!   [`tencent::Client::sequential_events`]; [`tencent::Event`] types all 37 v3.0 event
//!   types; `tencent::fake` (feature `fake`) is an in-process fake of the service.
//! - [`alibaba`]: the typed Alibaba Cloud VOD and IMS events ([`alibaba::Event`]).
//! - [`push`]: push callbacks (Tencent v3.0, Alibaba VOD and IMS): signature checks as pure
//!   functions, and (feature `push`) an axum `Router` whose requests become deliveries,
//!   answered 200 only once acknowledged.
//! - [`VodEvent`]: what every event has, whichever cloud (provider, EventType, idempotency
//!   key, JSON), so code downstream never matches on the cloud.
//! - [`transport`]: the HTTP plumbing the clouds' clients share, including
//!   [`transport::TlsProblem`], why a server's certificate was refused.
//! - [`ErrorChain`]: an error shown with its causes, each once: what logs and tools print.
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
pub mod credentials;
mod error_chain;
pub mod event;
#[cfg(feature = "fake")]
mod fake;
pub mod push;
pub mod relay;
pub mod tencent;
pub mod transport;

pub use error_chain::ErrorChain;
pub use event::{Provider, VodEvent};

/// The README's examples, compiled as doc-tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
