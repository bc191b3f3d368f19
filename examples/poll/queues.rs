//! What `poll` needs of each queue beyond the engine's [`Source`]: what it prints of a
//! message, the words it uses, and how a fatal error reads. The loop in `main.rs` is the same
//! for every queue.

use std::borrow::Cow;
use std::fmt;

use vod_events::alibaba::mns::MnsQueue;
use vod_events::consumer::Source;
use vod_events::tencent::TencentQueue;
use vod_events::transport::TlsProblem;
use vod_events::{ErrorChain, VodEvent};

/// A message's printed content (`--format jsonl`), in two pieces written one after the other:
/// a Tencent event is its text with the `EventHandle` entry cut out, without a copy.
pub type Content<'a> = (Cow<'a, str>, &'a str);

/// The words of a queue's protocol, for stderr.
pub struct Words {
    /// What acknowledging is called ("confirm").
    pub ack: &'static str,
    /// Its past participle ("confirmed").
    pub acked: &'static str,
    /// What receiving is called ("pull").
    pub receive: &'static str,
}

/// A queue `poll` can drain.
pub trait PollQueue: Source {
    /// The words of its protocol.
    const WORDS: Words;

    /// The event of a message.
    fn event(message: &Self::Message) -> &(dyn VodEvent + Sync);

    /// What `--format jsonl` prints of a message (without the newline): the event's JSON.
    fn content(message: &Self::Message) -> Content<'_> {
        Self::event(message).json_pieces()
    }

    /// The `--format text` line of a message (without the newline).
    fn text_line(message: &Self::Message, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// The stderr line of a fatal error: its code, message and request id when the service
    /// sent them, else the error with its causes.
    fn fatal_line(error: &Self::Error) -> String;
}

impl PollQueue for TencentQueue {
    const WORDS: Words = Words {
        ack: "confirm",
        acked: "confirmed",
        receive: "pull",
    };

    fn event(message: &Self::Message) -> &(dyn VodEvent + Sync) {
        message
    }

    fn text_line(message: &Self::Message, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let event_type = message.event_type().unwrap_or("(no EventType)");
        let event = match message.event() {
            Ok(event) => event,
            Err(e) => return write!(f, "{event_type} (undecodable: {e})"),
        };
        f.write_str(event_type)?;
        let fields: [(&str, Option<String>); 5] = [
            ("task", event.task_id().map(str::to_owned)),
            ("file", event.file_id().map(str::to_owned)),
            ("status", event.status().map(str::to_owned)),
            (
                "err",
                event.err_code().filter(|c| *c != 0).map(|c| c.to_string()),
            ),
            (
                "message",
                event.message().filter(|m| !m.is_empty()).map(str::to_owned),
            ),
        ];
        write_fields(f, fields)?;
        if !event.is_known() {
            f.write_str(" (unknown type)")?;
        }
        Ok(())
    }

    fn fatal_line(error: &Self::Error) -> String {
        match error {
            vod_events::tencent::Error::Api {
                code,
                message,
                request_id,
                ..
            } => format!("fatal API error {code}: {message} (RequestId {request_id})"),
            other => fatal_other(other, other.tls_problem()),
        }
    }
}

impl PollQueue for MnsQueue {
    const WORDS: Words = Words {
        ack: "delete",
        acked: "deleted",
        receive: "receive",
    };

    fn event(message: &Self::Message) -> &(dyn VodEvent + Sync) {
        &message.event
    }

    fn text_line(message: &Self::Message, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let received = &message.event;
        let event_type = received.event_type().unwrap_or("(no EventType)");
        write!(f, "{event_type} product={}", received.product().as_str())?;
        let event = match received.event() {
            Ok(event) => event,
            Err(e) => return write!(f, " (undecodable: {e})"),
        };
        write_fields(
            f,
            [
                ("status", event.status().map(str::to_owned)),
                ("key", Some(event.idempotency_key())),
                ("message", Some(message.message_id.clone())),
                ("dequeued", message.dequeue_count.map(|n| n.to_string())),
            ],
        )?;
        if !event.is_known() {
            f.write_str(" (unknown type)")?;
        }
        Ok(())
    }

    fn fatal_line(error: &Self::Error) -> String {
        match error {
            vod_events::alibaba::mns::Error::Api {
                code,
                message,
                request_id,
                ..
            } => format!("fatal API error {code}: {message} (RequestId {request_id})"),
            other => fatal_other(other, other.tls_problem()),
        }
    }
}

/// A fatal error that is not the service's answer, with its causes (a refused certificate
/// reads as "error sending request" without them), and poll's flag for an unknown issuer.
fn fatal_other(error: &(dyn std::error::Error + 'static), tls: Option<TlsProblem>) -> String {
    let mut line = format!("fatal error: {}", ErrorChain(error));
    if tls == Some(TlsProblem::UnknownIssuer) {
        line.push_str(
            "\npoll: to trust a private CA, pass its PEM certificate with --ca-file FILE",
        );
    }
    line
}

fn write_fields<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    fields: [(&str, Option<String>); N],
) -> fmt::Result {
    for (name, value) in fields {
        if let Some(value) = value {
            write!(f, " {name}={value}")?;
        }
    }
    Ok(())
}

/// One readable line per event for `--format text`.
pub struct TextLine<'a, Q: PollQueue>(pub &'a Q::Message);

impl<Q: PollQueue> fmt::Display for TextLine<'_, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Q::text_line(self.0, f)
    }
}
