//! vod-events: crate docs are written later.
#![warn(missing_docs)]
pub mod tencent;
