//! # vod-events
//!
//! Reliable consumption of Tencent Cloud VOD event notifications: the "reliable callback"
//! queue drained with signed PullEvents / ConfirmEvents calls.
//!
//! Everything lives under [`tencent`]: the signed [`tencent::Client`], its credentials
//! providers, the typed error, and the TC3-HMAC-SHA256 signer.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod tencent;

/// The README's examples, compiled as doc-tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
