//! An in-process fake of Alibaba Cloud MNS queues, for tests, `poll --demo --mns` and
//! users' own tests.
//!
//! [`FakeMns`] is a real HTTP/1.1 server on `127.0.0.1` that serves the queue operations the
//! way MNS does:
//!
//! * every request must carry a valid `MNS <AccessKeyId>:<Signature>` made with one of the
//!   configured [`FakeMnsCredential`]s over exactly the request-target received, a `Date`
//!   (or `x-mns-date`) within 15 min of the fake's clock (real time plus a settable offset),
//!   `x-mns-version: 2015-06-06`, and, if configured, the expected `security-token`;
//! * BatchReceiveMessage long-polls (woken at once by a send or a message surfacing) and
//!   answers 404 `MessageNotExist` when the wait ends empty;
//! * each delivery gets a fresh handle holding `+ / =` and hides the message for the
//!   visibility timeout; `DequeueCount` counts deliveries; an undeleted message comes back
//!   with a new handle, and only the newest handle works;
//! * ChangeMessageVisibility swaps the handle (0 makes the message visible at once);
//!   (Batch)DeleteMessage deletes, with per-handle `<Errors>`;
//! * [`Fault`]s are scripted ([`FakeMnsState::fail_next`]) or drawn from a seeded
//!   [`FaultMix`]; idle connections can be closed under the client
//!   ([`FakeMnsConfig::max_requests_per_connection`]); everything is counted in
//!   [`FakeMnsStats`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use vod_events::alibaba::mns::fake::{FakeMns, FakeMnsConfig};
//!
//! let fake = FakeMns::start(FakeMnsConfig::default()).await?;
//! fake.push_samples("vod-callback", 100);
//! println!("queue {} with key {}", fake.queue_url("vod-callback"), FakeMnsConfig::DEFAULT_ACCESS_KEY_ID);
//! # Ok(())
//! # }
//! ```

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod faults;
pub mod samples;
mod server;
mod state;

pub use faults::{Fault, FaultMix};
pub use state::{FakeMnsState, FakeMnsStats};

/// One accepted AccessKey pair.
#[derive(Clone, PartialEq, Eq)]
pub struct FakeMnsCredential {
    /// The AccessKey ID.
    pub access_key_id: String,
    /// The AccessKey secret signatures are checked with.
    pub access_key_secret: String,
}

impl std::fmt::Debug for FakeMnsCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMnsCredential")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Settings of a fake MNS; most can be changed while it runs through [`FakeMnsState`].
#[derive(Clone)]
pub struct FakeMnsConfig {
    /// Accepted key pairs (default: [`DEFAULT_ACCESS_KEY_ID`](Self::DEFAULT_ACCESS_KEY_ID) /
    /// [`DEFAULT_ACCESS_KEY_SECRET`](Self::DEFAULT_ACCESS_KEY_SECRET)).
    pub credentials: Vec<FakeMnsCredential>,
    /// When set, every request must carry this `security-token`.
    pub required_token: Option<String>,
    /// Queues that exist from the start (default: `vod-callback`); sending creates others.
    pub queues: Vec<String>,
    /// How long a received message stays hidden (default 30 s, as MNS).
    pub visibility_timeout: Duration,
    /// Caps every long poll, whatever `waitseconds` asks (default 30 s; short in tests).
    pub max_hold: Duration,
    /// Added to the real clock, in seconds (moves `Date`, the date check and the times in
    /// answers).
    pub clock_offset_secs: i64,
    /// Closes a connection, without warning, after this many requests: the "idle connection
    /// closed by the server" a pooled client must survive. Default: never.
    pub max_requests_per_connection: Option<u32>,
    /// Seed of the handles' random part.
    pub seed: u64,
}

impl FakeMnsConfig {
    /// The AccessKey ID of the default credential.
    pub const DEFAULT_ACCESS_KEY_ID: &'static str = "LTAIFakeMnsAccessKeyId";
    /// The AccessKey secret of the default credential.
    pub const DEFAULT_ACCESS_KEY_SECRET: &'static str = "FakeMnsAccessKeySecret000000000";

    /// Defaults with short waits, handy in tests: holds of at most 100 ms, 2 s visibility.
    pub fn fast() -> Self {
        FakeMnsConfig {
            max_hold: Duration::from_millis(100),
            visibility_timeout: Duration::from_secs(2),
            ..FakeMnsConfig::default()
        }
    }
}

impl Default for FakeMnsConfig {
    fn default() -> Self {
        FakeMnsConfig {
            credentials: vec![FakeMnsCredential {
                access_key_id: Self::DEFAULT_ACCESS_KEY_ID.into(),
                access_key_secret: Self::DEFAULT_ACCESS_KEY_SECRET.into(),
            }],
            required_token: None,
            queues: vec!["vod-callback".into()],
            visibility_timeout: Duration::from_secs(30),
            max_hold: Duration::from_secs(30),
            clock_offset_secs: 0,
            max_requests_per_connection: None,
            seed: 0x5eed,
        }
    }
}

impl std::fmt::Debug for FakeMnsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMnsConfig")
            .field("credentials", &self.credentials)
            .field(
                "required_token",
                &self.required_token.as_ref().map(|_| "** redacted **"),
            )
            .field("queues", &self.queues)
            .field("visibility_timeout", &self.visibility_timeout)
            .field("max_hold", &self.max_hold)
            .field("clock_offset_secs", &self.clock_offset_secs)
            .field(
                "max_requests_per_connection",
                &self.max_requests_per_connection,
            )
            .finish_non_exhaustive()
    }
}

/// A running fake MNS. Dereferences to its [`FakeMnsState`]. Dropping it stops the server
/// without waiting; [`shutdown`](Self::shutdown) waits.
pub struct FakeMns {
    state: FakeMnsState,
    addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl FakeMns {
    /// Starts a fake on `127.0.0.1` and a free port, inside a Tokio runtime.
    pub async fn start(config: FakeMnsConfig) -> io::Result<FakeMns> {
        let state = FakeMnsState::new(config);
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(listener, state.clone(), shutdown_rx));
        Ok(FakeMns {
            state,
            addr,
            shutdown_tx,
            task: Some(task),
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of queue `name`, `http://127.0.0.1:<port>/queues/<name>`.
    pub fn queue_url(&self, name: &str) -> String {
        format!(
            "http://{}/queues/{}",
            self.addr,
            crate::alibaba::mns::sign::encode_component(name)
        )
    }

    /// The default credentials, as a client takes them.
    pub fn credentials() -> crate::alibaba::credentials::Credentials {
        crate::alibaba::credentials::Credentials::new(
            FakeMnsConfig::DEFAULT_ACCESS_KEY_ID,
            FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET,
        )
    }

    /// Sends `n` sample bodies into `queue`, cycling through every VOD and IMS sample and an
    /// unknown type, each made distinct (see [`samples::numbered`]).
    pub fn push_samples(&self, queue: &str, n: usize) -> Vec<String> {
        let samples = samples::all_with_unknown();
        (0..n)
            .map(|i| self.state.send(queue, samples::numbered(&samples, i)))
            .collect()
    }

    /// The shared state.
    pub fn state(&self) -> &FakeMnsState {
        &self.state
    }

    /// Stops the server (long polls answer empty, connections close) and returns its state.
    pub async fn shutdown(mut self) -> FakeMnsState {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.state.clone()
    }
}

impl Deref for FakeMns {
    type Target = FakeMnsState;

    fn deref(&self) -> &FakeMnsState {
        &self.state
    }
}

impl Drop for FakeMns {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

impl std::fmt::Debug for FakeMns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMns").field("addr", &self.addr).finish()
    }
}
