//! What every event has, whichever cloud and delivery it came from.
//!
//! The engine, the sinks and the push receivers handle Tencent and Alibaba events alike
//! through [`VodEvent`]: which producer sent it, its EventType, a stable idempotency key and
//! its JSON as the producer sent it. Code written against the trait never matches on the
//! cloud.

use std::borrow::Cow;
use std::fmt;

use crate::consumer::ContentKey;

/// The producer of an event: the cloud and, for Alibaba, the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Provider {
    /// Tencent Cloud VOD (v3.0 events).
    Tencent,
    /// Alibaba Cloud ApsaraVideo VOD (flat event objects).
    AlibabaVod,
    /// Alibaba Cloud Intelligent Media Services (events wrapped in `MessageBody`).
    AlibabaIms,
}

impl Provider {
    /// The provider's name in subjects, headers and logs: `tencent`, `alibaba-vod` or
    /// `alibaba-ims`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Tencent => "tencent",
            Provider::AlibabaVod => "alibaba-vod",
            Provider::AlibabaIms => "alibaba-ims",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What code downstream of a source needs from an event, whatever its cloud.
///
/// Implemented by [`tencent::ReceivedEvent`](crate::tencent::ReceivedEvent) and by the
/// Alibaba received event. Every method works on events the crate could not decode too:
/// nothing here depends on the typed value.
pub trait VodEvent {
    /// Who produced the event.
    fn provider(&self) -> Provider;

    /// The `EventType` string as sent, or `None` when the object had none (or not a string).
    fn event_type(&self) -> Option<&str>;

    /// A key that is the same for every delivery of one event and different for different
    /// events, built from the payload (never from a handle or a receipt), so a consumer can
    /// do its work once however often the event arrives.
    fn idempotency_key(&self) -> String;

    /// The event object as the producer sent it, minus what belongs to one delivery only
    /// (Tencent's `EventHandle`): what `poll` prints and what a sink stores.
    fn json(&self) -> Cow<'_, str>;

    /// [`json`](VodEvent::json) in two pieces to be written one after the other, so an
    /// event whose stored text has a part cut out (Tencent's `EventHandle`) is given without
    /// a copy.
    fn json_pieces(&self) -> (Cow<'_, str>, &str) {
        (self.json(), "")
    }

    /// The identity of the exact content [`json`](VodEvent::json) gives: equal for two
    /// deliveries of one event, for skipping redeliveries (see
    /// [`RecentlySeen`](crate::consumer::RecentlySeen)).
    fn content_key(&self) -> ContentKey {
        ContentKey::of(self.json().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_are_the_documented_subject_tokens() {
        assert_eq!(Provider::Tencent.to_string(), "tencent");
        assert_eq!(Provider::AlibabaVod.as_str(), "alibaba-vod");
        assert_eq!(Provider::AlibabaIms.as_str(), "alibaba-ims");
    }
}
