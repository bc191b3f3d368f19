//! Push callbacks: Tencent VOD v3.0 "normal callbacks" and Alibaba VOD / IMS HTTP
//! callbacks, verified, typed, and answered 200 only once your code has taken the event.
//!
//! Alibaba counts a callback delivered only on HTTP 200 within its timeout (VOD 5 s, IMS
//! 3 s), retries twice 1 s apart, then drops the event. So a receiver that answers 200
//! before the event is safely handed over loses it, and one that answers slowly gets
//! duplicates. Tencent's normal callback is weaker: its (legacy) docs say a callback that
//! times out (5 s) is retried twice, but the answer's status is ignored, so the 503 of a
//! push that was not acknowledged probably brings no retry. Where an event must not be
//! lost, use Tencent's reliable callback ([`tencent::Client::deliveries`](crate::tencent::Client::deliveries)).
//!
//! - [`verify`]: the signature checks as pure functions (no clock, no I/O).
//! - [`Verifier`]: one request (headers and body) to a verified [`PushEvent`] or a
//!   [`Refusal`]: recognises the producer (from the `X-VOD-*` / `X-ICE-*` headers, else
//!   from the body's shape), checks its signature, decodes the typed event. Pure as well:
//!   usable from any HTTP server.
//!   Tencent's legacy v2.0 format (`{"version":"4.0","eventType":…}`) is not modelled and is
//!   refused as an unknown producer (400); switch the callback to v3.0.
//! - `Receiver` (feature `push`): an axum `Router` to mount in your own server, and the
//!   stream of deliveries it feeds.
//!
//! # Why a push is a [`Source`](crate::consumer::Source)
//!
//! The receiver is a source of the same engine as the queues, so consuming code is the same
//! for both: `PushSource` is fed by the router's handlers through a channel; each request's
//! token carries the way back to that request, so the engine's acknowledge call answers it
//! 200, and a `nack()` (the engine's release) or a dropped delivery answers 503 at once.
//! The request's deadline is the message's lease: the engine refuses to hand over a
//! message whose deadline has passed, and `ack()` after it reports
//! [`AckError::Expired`](crate::consumer::AckError::Expired), while the request answers
//! 503 so the producer retries. What the engine adds — the bound on deliveries in hand,
//! shutdown, stats, metrics, the auto-ack stream — applies to pushes unchanged. Its ack
//! batching would only delay answers, so the receiver's default options flush each
//! acknowledgement at once (`ack_flush_interval` zero). A push-specific delivery type would
//! have duplicated all of that for one difference (nothing to batch).
//!
//! # Stopping
//!
//! To stop without losing anything: stop the HTTP server first (axum's
//! `with_graceful_shutdown`), so the requests in flight are still delivered and answered;
//! once every copy of the router is gone the stream yields `PushError::Closed` and ends.
//! `shutdown()` on the stream stops taking requests (from then on they are answered 503 at
//! once, and the producer retries), waits its grace period for the deliveries in your hands
//! (an `ack()` still answers 200), then answers what is left 503.
//!
//! # What the signatures do not cover
//!
//! Alibaba signs the callback URL and a timestamp, **not the body**: whoever captures one
//! request can send any body with its headers for as long as the timestamp window lasts
//! (5 minutes each way by default). The receiver remembers acknowledged events by their
//! idempotency key, so a replay of a known event is answered 200 and delivered only once;
//! a forged body with replayed headers cannot be told from a real one. Use HTTPS, keep
//! handlers idempotent, and re-read the resource through the API before a decision that
//! matters. Tencent's `Sign` covers only `T`, not the body either: the same advice holds.
//!
//! # Hostile traffic
//!
//! The receiver refuses, before anything is delivered: a body over the cap (413, checked on
//! `Content-Length` before reading and while reading), a body that does not arrive within
//! the body timeout (408), a body that is not one JSON object (400), an unknown producer
//! (400), a failed signature check, an expired `T` or a timestamp outside the window, and a
//! producer without a key when unsigned pushes are off (all 401), more requests in flight
//! than the bound (503). Another path is 404 and another method 405 (axum's routing). The
//! time a client may take to send its *headers* is the hosting server's setting (hyper's
//! `header_read_timeout`).

pub mod check;
#[cfg(feature = "push")]
mod receiver;
pub mod verify;

pub use check::{PushEvent, PushedEvent, Refusal, Verifier};
#[cfg(feature = "push")]
pub use receiver::{
    ConfigError, PushDelivery, PushError, PushSource, PushStats, PushStream, PushToken, Receiver,
    ReceiverBuilder, DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_DEDUP_CAPACITY,
    DEFAULT_DEDUP_WINDOW, DEFAULT_IMS_DEADLINE, DEFAULT_MAX_IN_FLIGHT, DEFAULT_TENCENT_DEADLINE,
    DEFAULT_VOD_DEADLINE,
};
pub use verify::{KeyUsed, Keys, VerifyError};

/// The redacting secret type keys are held in (the same as for the clouds' credentials).
pub use crate::tencent::credentials::Secret;
