//! The JetStream sink (feature `nats`): each event is published to
//! `PREFIX.<provider>.<EventType>` and counts as taken only once JetStream acknowledged the
//! publish, so the source is acknowledged only for events the stream holds.
//!
//! # De-duplication: `Nats-Msg-Id`
//!
//! Every publish carries `Nats-Msg-Id: <provider>:<content key>`, the content key being the
//! first 128 bits of the SHA-256 of the exact bytes published (Tencent: the event minus its
//! `EventHandle`; MNS: the message body; a push: the body as received). A redelivery of an
//! event carries the same bytes (the services store an event once and send that again; only
//! the handle, which is left out, changes), so within the stream's duplicate window
//! JetStream stores it once and answers the republish as a duplicate. Two different events
//! differ somewhere in their bytes, so they never share an id. The idempotency key
//! (`Vod-Idempotency-Key`) was not chosen for the id: it is built from a few ids per event
//! type, and an event type whose ids the model chose too coarsely would make JetStream drop
//! a real event as a "duplicate", which is worse than storing one twice. Consumers
//! downstream dedupe beyond the window on `Vod-Idempotency-Key`.
//!
//! # Durability
//!
//! A publish acknowledgement means the stream's leader (and, with replicas, a quorum) has the
//! message. A single-replica stream on a server without `sync_interval: always` can still
//! lose acknowledged messages if the machine crashes before the OS writes them out:
//! production wants 3 replicas, or sync on.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_nats::header::{HeaderMap, HeaderValue, NATS_EXPECTED_STREAM, NATS_MESSAGE_ID};
use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use bytes::{BufMut, Bytes, BytesMut};
use futures::future::BoxFuture;

use super::{subject_for, subject_token, Outgoing, Sink, SinkError, Stored};
use crate::tencent::credentials::Secret;

/// Header with the event's provider (`tencent`, `alibaba-vod`, `alibaba-ims`).
pub const HEADER_PROVIDER: &str = "Vod-Provider";
/// Header with the event's `EventType` as sent (absent when it had none).
pub const HEADER_EVENT_TYPE: &str = "Vod-Event-Type";
/// Header with the event's idempotency key, for de-duplication beyond the stream's window.
pub const HEADER_IDEMPOTENCY_KEY: &str = "Vod-Idempotency-Key";

/// Default duplicate window of a stream the sink creates: longer than any redelivery of the
/// sources (Tencent 30 s, MNS up to 12 h of visibility is the exception: set it higher
/// there) plus a relay restart.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(2 * 3600);

/// Default time to wait for one publish acknowledgement.
pub const DEFAULT_PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything that can go wrong with the JetStream sink. Never carries a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `--to` URL or an option is wrong; nothing was sent.
    #[error("NATS relay configuration: {0}")]
    Config(String),
    /// The first connection to the server failed.
    #[error("cannot connect to NATS at {server}: {source}")]
    Connect {
        /// The server, `nats://HOST:PORT` (never with credentials).
        server: String,
        /// What the client said.
        #[source]
        source: async_nats::ConnectError,
    },
    /// No stream captures the subjects and none was to be created.
    #[error("no JetStream stream captures {subjects}: create one, or pass --nats-stream NAME to create it")]
    StreamMissing {
        /// The subjects, `PREFIX.>`.
        subjects: String,
    },
    /// Looking up or creating the stream failed.
    #[error("JetStream stream {stream}: {reason}")]
    Stream {
        /// The stream's name (or the subjects looked up).
        stream: String,
        /// What the server or client said.
        reason: String,
    },
    /// A header value could not be built (a CR or LF in an event's type or key).
    #[error("the {header} header cannot carry this event's value (it holds a line break)")]
    Header {
        /// The header.
        header: &'static str,
    },
    /// The publish was not acknowledged: refused, timed out, or the connection went away.
    #[error("JetStream did not acknowledge the publish to {subject} ({kind}): {reason}")]
    Publish {
        /// The subject.
        subject: String,
        /// The client's classification.
        kind: PublishErrorKind,
        /// What the server or client said.
        reason: String,
    },
}

impl Error {
    /// Whether publishing again later may succeed (a timeout, a lost connection, a stream
    /// briefly without a leader); configuration and header errors never do.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Publish { .. } | Error::Connect { .. })
    }
}

/// How the relay authenticates to NATS. Kept out of the URL and out of logs.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum NatsAuth {
    /// No credentials.
    #[default]
    None,
    /// A token (`authorization { token: … }`).
    Token(Secret),
    /// A user and password.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: Secret,
    },
    /// A `.creds` file (JWT and NKey seed) of the NATS account system.
    CredsFile(PathBuf),
}

/// Where the relay publishes, read from `nats://HOST:PORT/PREFIX` (or `tls://…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The server, `nats://HOST:PORT` or `tls://HOST:PORT`.
    pub server: String,
    /// The subject prefix, e.g. `vod.events`.
    pub prefix: String,
}

impl Target {
    /// Reads `nats://HOST:PORT/PREFIX`. Credentials in the URL are refused (they would end
    /// up in shell history and process lists): use [`NatsAuth`].
    pub fn parse(url: &str) -> Result<Target, Error> {
        let usage = || {
            Error::Config(format!(
                "--to takes nats://HOST:PORT/PREFIX (or tls://…), not {:?}",
                shown(url)
            ))
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(usage)?;
        if scheme != "nats" && scheme != "tls" {
            return Err(usage());
        }
        let (authority, path) = rest.split_once('/').ok_or_else(usage)?;
        if authority.contains('@') {
            return Err(Error::Config(
                "credentials do not go in the NATS URL: use a creds file, a token or a user and password option".into(),
            ));
        }
        if authority.is_empty() || path.contains(['?', '#']) {
            return Err(usage());
        }
        let prefix = path.trim_end_matches('/');
        let valid = !prefix.is_empty()
            && prefix
                .split('.')
                .all(|token| !token.is_empty() && subject_token(token) == token);
        if !valid {
            return Err(Error::Config(format!(
                "the subject prefix {prefix:?} must be dot-separated tokens of letters, digits, - and _"
            )));
        }
        Ok(Target {
            server: format!("{scheme}://{authority}"),
            prefix: prefix.to_owned(),
        })
    }
}

/// The URL as an error may show it: up to the authority's `@` dropped.
fn shown(url: &str) -> String {
    match (url.split_once("://"), url.find('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://…{}", &url[at..]),
        _ => url.to_owned(),
    }
}

/// Builds a [`JetStreamSink`].
#[derive(Debug, Clone)]
pub struct JetStreamSinkBuilder {
    target: Result<Target, String>,
    auth: NatsAuth,
    ca_file: Option<PathBuf>,
    create_stream: Option<String>,
    duplicate_window: Duration,
    publish_timeout: Duration,
}

impl JetStreamSinkBuilder {
    /// Credentials for the server.
    pub fn auth(mut self, auth: NatsAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Trust this PEM file's certificates for the server's TLS (implies TLS).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Create the stream `name` (subjects `PREFIX.>`, file storage, the duplicate window) if
    /// it is missing; without this a missing stream is a configuration error.
    pub fn create_stream(mut self, name: impl Into<String>) -> Self {
        self.create_stream = Some(name.into());
        self
    }

    /// The duplicate window of a stream the sink creates (default 2 h).
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = window;
        self
    }

    /// How long one publish acknowledgement is waited for (default 10 s).
    pub fn publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// Connects, finds (or creates) the stream, and returns the sink. Reconnects later ride
    /// through server restarts; publishes in between fail and are offered again.
    pub async fn connect(self) -> Result<JetStreamSink, Error> {
        let target = self.target.map_err(Error::Config)?;
        let mut options = async_nats::ConnectOptions::new()
            .name(concat!("vod-events/", env!("CARGO_PKG_VERSION")))
            .max_reconnects(None)
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Connected => tracing::info!("NATS connected"),
                    async_nats::Event::Disconnected => {
                        tracing::warn!("NATS disconnected; reconnecting")
                    }
                    other => tracing::warn!(event = %other, "NATS"),
                }
            });
        options = match self.auth {
            NatsAuth::None => options,
            NatsAuth::Token(token) => options.token(token.expose().to_owned()),
            NatsAuth::UserPassword { user, password } => {
                options.user_and_password(user, password.expose().to_owned())
            }
            NatsAuth::CredsFile(path) => options.credentials_file(&path).await.map_err(|e| {
                Error::Config(format!(
                    "cannot read the creds file {}: {e}",
                    path.display()
                ))
            })?,
        };
        if let Some(ca) = self.ca_file {
            options = options.add_root_certificates(ca).require_tls(true);
        } else if target.server.starts_with("tls://") {
            options = options.require_tls(true);
        }
        let client = options
            .connect(target.server.as_str())
            .await
            .map_err(|source| Error::Connect {
                server: target.server.clone(),
                source,
            })?;
        let mut js = async_nats::jetstream::new(client);
        js.set_timeout(self.publish_timeout);
        let subjects = format!("{}.>", target.prefix);
        let stream = match self.create_stream {
            Some(name) => {
                let config = StreamConfig {
                    name: name.clone(),
                    subjects: vec![subjects.clone()],
                    storage: StorageType::File,
                    duplicate_window: self.duplicate_window,
                    ..StreamConfig::default()
                };
                js.get_or_create_stream(config)
                    .await
                    .map_err(|e| Error::Stream {
                        stream: name.clone(),
                        reason: e.to_string(),
                    })?;
                name
            }
            None => match js.stream_by_subject(subjects.clone()).await {
                Ok(name) => name,
                Err(e)
                    if e.kind()
                        == async_nats::jetstream::context::GetStreamByNameErrorKind::NotFound =>
                {
                    return Err(Error::StreamMissing { subjects })
                }
                Err(e) => {
                    return Err(Error::Stream {
                        stream: subjects,
                        reason: e.to_string(),
                    })
                }
            },
        };
        Ok(JetStreamSink {
            js,
            prefix: target.prefix,
            expected_stream: HeaderValue::from_str(&stream).map_err(|_| Error::Header {
                header: "Nats-Expected-Stream",
            })?,
            stream: Arc::from(stream),
        })
    }
}

/// Publishes events into a JetStream stream; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct JetStreamSink {
    js: async_nats::jetstream::Context,
    prefix: String,
    stream: Arc<str>,
    expected_stream: HeaderValue,
}

impl JetStreamSink {
    /// A builder for `url`, `nats://HOST:PORT/PREFIX`.
    pub fn builder(url: &str) -> JetStreamSinkBuilder {
        JetStreamSinkBuilder {
            target: Target::parse(url).map_err(|e| match e {
                Error::Config(message) => message,
                other => other.to_string(),
            }),
            auth: NatsAuth::None,
            ca_file: None,
            create_stream: None,
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
            publish_timeout: DEFAULT_PUBLISH_TIMEOUT,
        }
    }

    /// The stream the sink publishes into.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The subject prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The JetStream context, e.g. to read the stream back.
    pub fn context(&self) -> &async_nats::jetstream::Context {
        &self.js
    }

    /// The subject, headers and payload of one event.
    fn message(&self, event: &Outgoing<'_>) -> Result<(String, PublishMessage), Error> {
        let e = event.event();
        let subject = subject_for(&self.prefix, e.provider(), e.event_type());
        let mut headers = HeaderMap::new();
        let value = |header: &'static str, text: &str| {
            HeaderValue::from_str(text).map_err(|_| Error::Header { header })
        };
        headers.insert(NATS_MESSAGE_ID, value("Nats-Msg-Id", &message_id(event))?);
        headers.insert(NATS_EXPECTED_STREAM, self.expected_stream.clone());
        headers.insert(
            HEADER_PROVIDER,
            value(HEADER_PROVIDER, e.provider().as_str())?,
        );
        if let Some(event_type) = e.event_type() {
            headers.insert(HEADER_EVENT_TYPE, value(HEADER_EVENT_TYPE, event_type)?);
        }
        headers.insert(
            HEADER_IDEMPOTENCY_KEY,
            value(HEADER_IDEMPOTENCY_KEY, &e.idempotency_key())?,
        );
        let (before, after) = event.payload();
        let mut payload = BytesMut::with_capacity(before.len() + after.len());
        payload.put_slice(before);
        payload.put_slice(after);
        let message = PublishMessage::build()
            .payload(Bytes::from(payload))
            .headers(headers);
        Ok((subject, message))
    }
}

/// `<provider>:<hex of the content key>`: see the [module docs](self).
pub fn message_id(event: &Outgoing<'_>) -> String {
    let (before, after) = event.payload();
    let key = crate::consumer::ContentKey::of_parts([before, after]);
    format!("{}:{}", event.event().provider().as_str(), key.to_hex())
}

impl Sink for JetStreamSink {
    fn send_batch<'a>(
        &'a self,
        batch: &'a [Outgoing<'a>],
    ) -> BoxFuture<'a, Vec<Result<Stored, SinkError>>> {
        Box::pin(async move {
            // Publish everything first, then wait for the acknowledgements together: one
            // round trip per batch instead of one per event. Every ack future is awaited,
            // whatever happened to the others.
            let mut pending: Vec<Result<(String, PublishAckFuture), Error>> =
                Vec::with_capacity(batch.len());
            for event in batch {
                let sent = match self.message(event) {
                    Ok((subject, message)) => {
                        match self.js.send_publish(subject.clone(), message).await {
                            Ok(ack) => Ok((subject, ack)),
                            Err(e) => Err(publish_error(subject, e)),
                        }
                    }
                    Err(e) => Err(e),
                };
                pending.push(sent);
            }
            let acks = pending.into_iter().map(|sent| async move {
                let (subject, ack) = sent?;
                match ack.await {
                    Ok(ack) if ack.duplicate => Ok(Stored::Duplicate),
                    Ok(_) => Ok(Stored::New),
                    Err(e) => Err(publish_error(subject, e)),
                }
            });
            futures::future::join_all(acks)
                .await
                .into_iter()
                .map(|r| r.map_err(SinkError::from))
                .collect()
        })
    }
}

fn publish_error(subject: String, e: async_nats::jetstream::context::PublishError) -> Error {
    Error::Publish {
        subject,
        kind: e.kind(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_server_and_prefix() {
        assert_eq!(
            Target::parse("nats://127.0.0.1:4222/vod.events").unwrap(),
            Target {
                server: "nats://127.0.0.1:4222".into(),
                prefix: "vod.events".into()
            }
        );
        assert_eq!(
            Target::parse("tls://nats.example.com:4222/vod/")
                .unwrap()
                .prefix,
            "vod"
        );
    }

    #[test]
    fn bad_targets_are_configuration_errors_that_never_echo_a_password() {
        for url in [
            "nats://127.0.0.1:4222",
            "nats://127.0.0.1:4222/",
            "http://127.0.0.1:4222/vod",
            "nats:///vod",
            "nats://h:1/vod.*",
            "nats://h:1/vod..x",
            "nats://h:1/vod?x=1",
            "127.0.0.1:4222/vod",
        ] {
            assert!(matches!(Target::parse(url), Err(Error::Config(_))), "{url}");
        }
        let e = Target::parse("nats://user:hunter2@127.0.0.1:4222/vod").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = Target::parse("ftp://user:hunter2@h/vod").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn the_message_id_is_the_content_not_the_handle() {
        let a = crate::tencent::events::decode_event_json(
            r#"{"EventHandle":"h1","EventType":"NewFileUpload","FileUploadEvent":{"FileId":"1"}}"#,
        )
        .unwrap();
        let again = crate::tencent::events::decode_event_json(
            r#"{"EventHandle":"h2-other","EventType":"NewFileUpload","FileUploadEvent":{"FileId":"1"}}"#,
        )
        .unwrap();
        let other = crate::tencent::events::decode_event_json(
            r#"{"EventHandle":"h1","EventType":"NewFileUpload","FileUploadEvent":{"FileId":"2"}}"#,
        )
        .unwrap();
        let id = message_id(&Outgoing::new(&a));
        assert!(id.starts_with("tencent:"), "{id}");
        assert_eq!(id.len(), "tencent:".len() + 32);
        assert_eq!(id, message_id(&Outgoing::new(&again)));
        assert_ne!(id, message_id(&Outgoing::new(&other)));
    }
}
