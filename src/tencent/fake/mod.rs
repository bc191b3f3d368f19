//! An in-process fake of the Tencent Cloud VOD event API, for tests, benches and demos.
//!
//! [`FakeVod`] is a real HTTP/1.1 server on `127.0.0.1` that speaks the five event actions
//! of API version `2018-07-17` (`PullEvents`, `ConfirmEvents`, `DescribeEventsState`,
//! `DescribeEventConfig`, `ModifyEventConfig`) the way the service does:
//!
//! * every request must carry a valid TC3-HMAC-SHA256 signature made with one of the
//!   configured [`FakeCredential`]s, a timestamp within 300 s of the fake's clock (real time
//!   plus a settable offset) and, if configured, the expected `X-TC-Token`;
//! * `PullEvents` long-polls: it answers at once when events are visible, otherwise it holds
//!   the request until an event is pushed (waiting pullers are woken immediately) or the hold
//!   elapses (5 s by default);
//! * each delivered event gets a fresh, opaque `EventHandle` and stays invisible for the
//!   visibility window (30 s by default); unconfirmed events become visible again and are
//!   redelivered with a new handle, and the old handle is dead;
//! * `ConfirmEvents` deletes the events of valid, current handles; expired, unknown or reused
//!   handles give `InvalidParameterValue`;
//! * every SubAppId (and the default application, `None`) has its own queue.
//!
//! Responses are always HTTP 200 with the `{"Response":{...,"RequestId":"..."}}` envelope
//! and a `Date` header, unless a [`Fault`] is injected. Faults can be scripted
//! ([`FakeState::fail_next`]) or drawn at random from a seeded mix
//! ([`FakeState::set_fault_mix`]). Everything the fake sees is counted in [`FakeStats`].
//!
//! All state lives in a [`FakeState`], a cheap-to-clone handle that outlives the listener:
//! [`FakeVod::shutdown`] returns it and [`FakeVod::start_with_state`] serves it again, on
//! the same address if you like, with the queues, handles and statistics kept
//! ([`FakeVod::restart`] does both).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use vod_events::tencent::fake::{FakeConfig, FakeVod};
//!
//! let fake = FakeVod::start(FakeConfig::default()).await?;
//! fake.push_samples(None, 100);
//! println!("endpoint {} with SecretId {}", fake.endpoint(), FakeConfig::DEFAULT_SECRET_ID);
//! let fake = fake.restart().await?; // same port, queue kept
//! assert_eq!(fake.stats().queued, 100);
//! fake.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! [`samples`] builds a realistic `EventContent` for every EventType of the model in
//! `spec/tencent-vod-events.json`, plus one unknown, future EventType.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod auth;
mod faults;
pub mod samples;
mod server;
mod state;

pub use faults::{Fault, FaultKind, FaultMix};
pub use state::{ConfirmRecord, EventConfig, FakeState, FakeStats, RuleViolations};

/// One accepted API key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct FakeCredential {
    /// The SecretId, as it appears in the `Credential=` part of `Authorization`.
    pub secret_id: String,
    /// The SecretKey used to recompute signatures.
    pub secret_key: String,
}

impl FakeCredential {
    /// A key pair.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        FakeCredential {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
        }
    }
}

impl std::fmt::Debug for FakeCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCredential")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"** redacted **")
            .finish()
    }
}

/// What `PullEvents` answers when the hold elapses without events.
///
/// The service's exact "no events" shape is undocumented, so a client must accept all four.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmptyPullShape {
    /// `"EventSet": []` (the default).
    #[default]
    EmptyList,
    /// `"EventSet": null`.
    Null,
    /// No `EventSet` key at all.
    Absent,
    /// The error `ResourceNotFound`.
    ResourceNotFound,
}

/// How `ConfirmEvents` treats a batch that mixes valid and invalid handles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConfirmPolicy {
    /// Delete the events of the valid handles, then answer `InvalidParameterValue`
    /// (the default).
    #[default]
    ApplyValidThenError,
    /// Apply nothing and answer `InvalidParameterValue`.
    RejectAll,
}

/// A per-action request rate limit: at most `max_requests` in any window of `window`.
///
/// Every action is limited separately. Requests over the limit get `RequestLimitExceeded`
/// and are not counted against the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window, per action.
    pub max_requests: usize,
    /// The sliding window.
    pub window: Duration,
}

impl RateLimit {
    /// `max_requests` per second, per action (the service documents 100/s for PullEvents and
    /// ConfirmEvents, 20/s for the config actions).
    pub fn per_second(max_requests: usize) -> Self {
        RateLimit {
            max_requests,
            window: Duration::from_secs(1),
        }
    }
}

/// The API actions the fake implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `PullEvents`.
    PullEvents,
    /// `ConfirmEvents`.
    ConfirmEvents,
    /// `DescribeEventsState`.
    DescribeEventsState,
    /// `DescribeEventConfig`.
    DescribeEventConfig,
    /// `ModifyEventConfig`.
    ModifyEventConfig,
}

impl Action {
    /// All actions, in declaration order.
    pub const ALL: [Action; 5] = [
        Action::PullEvents,
        Action::ConfirmEvents,
        Action::DescribeEventsState,
        Action::DescribeEventConfig,
        Action::ModifyEventConfig,
    ];

    /// The `X-TC-Action` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::PullEvents => "PullEvents",
            Action::ConfirmEvents => "ConfirmEvents",
            Action::DescribeEventsState => "DescribeEventsState",
            Action::DescribeEventConfig => "DescribeEventConfig",
            Action::ModifyEventConfig => "ModifyEventConfig",
        }
    }

    /// Parses an `X-TC-Action` value (exact, case-sensitive, as the service does).
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings of a fake. Every field can also be changed while the fake runs, through the
/// setters of [`FakeState`] or [`FakeState::update_config`].
///
/// `Debug` leaves out the secret keys and the required token.
#[derive(Clone)]
pub struct FakeConfig {
    /// Accepted key pairs. Default: one pair,
    /// [`DEFAULT_SECRET_ID`](Self::DEFAULT_SECRET_ID) / [`DEFAULT_SECRET_KEY`](Self::DEFAULT_SECRET_KEY).
    pub credentials: Vec<FakeCredential>,
    /// When set, every request must carry this `X-TC-Token`, else `AuthFailure.TokenFailure`.
    /// When unset, the header is ignored.
    pub required_token: Option<String>,
    /// Most events per `PullEvents` answer. Default 16, as the service.
    pub max_events_per_pull: usize,
    /// How long `PullEvents` holds when nothing is visible. Default 5 s, as the service.
    pub pull_hold: Duration,
    /// How long a delivered event stays invisible and its handle valid. Default 30 s.
    pub visibility_timeout: Duration,
    /// The "no events" answer. Default `"EventSet": []`.
    pub empty_pull: EmptyPullShape,
    /// Mixed valid/invalid `ConfirmEvents` batches. Default: apply the valid ones.
    pub confirm_policy: ConfirmPolicy,
    /// Per-action rate limit. Default: none.
    pub rate_limit: Option<RateLimit>,
    /// Added to the real clock (seconds, may be negative): it moves the `Date` header and the
    /// reference time of the signature-expiry check. Default 0.
    pub clock_offset_secs: i64,
    /// Largest accepted `|X-TC-Timestamp - fake clock|` in seconds. Default 300.
    pub max_clock_skew_secs: i64,
    /// Largest accepted request body; bigger ones get `RequestSizeLimitExceeded`.
    /// Default 10 MiB, as the service.
    pub max_request_bytes: usize,
    /// How many `ConfirmEvents` requests [`FakeState::confirm_log`] keeps (the oldest are
    /// dropped first). Default 10,000.
    pub confirm_log_capacity: usize,
}

impl FakeConfig {
    /// The SecretId of the default credential.
    pub const DEFAULT_SECRET_ID: &'static str = "AKIDFAKEVOD0000000000000000000000000";
    /// The SecretKey of the default credential.
    pub const DEFAULT_SECRET_KEY: &'static str = "FakeVodSecretKey0000000000000000";

    /// The default settings with a short hold and visibility window, handy in tests:
    /// 50 ms hold, 500 ms visibility.
    pub fn fast() -> Self {
        FakeConfig {
            pull_hold: Duration::from_millis(50),
            visibility_timeout: Duration::from_millis(500),
            ..FakeConfig::default()
        }
    }
}

impl std::fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeConfig")
            .field("credentials", &self.credentials)
            .field(
                "required_token",
                &self.required_token.as_ref().map(|_| "** redacted **"),
            )
            .field("max_events_per_pull", &self.max_events_per_pull)
            .field("pull_hold", &self.pull_hold)
            .field("visibility_timeout", &self.visibility_timeout)
            .field("empty_pull", &self.empty_pull)
            .field("confirm_policy", &self.confirm_policy)
            .field("rate_limit", &self.rate_limit)
            .field("clock_offset_secs", &self.clock_offset_secs)
            .field("max_clock_skew_secs", &self.max_clock_skew_secs)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("confirm_log_capacity", &self.confirm_log_capacity)
            .finish()
    }
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            credentials: vec![FakeCredential::new(
                FakeConfig::DEFAULT_SECRET_ID,
                FakeConfig::DEFAULT_SECRET_KEY,
            )],
            required_token: None,
            max_events_per_pull: 16,
            pull_hold: Duration::from_secs(5),
            visibility_timeout: Duration::from_secs(30),
            empty_pull: EmptyPullShape::EmptyList,
            confirm_policy: ConfirmPolicy::ApplyValidThenError,
            rate_limit: None,
            clock_offset_secs: 0,
            max_clock_skew_secs: 300,
            max_request_bytes: 10 * 1024 * 1024,
            confirm_log_capacity: 10_000,
        }
    }
}

/// A running fake VOD server. Dereferences to its [`FakeState`], so
/// `fake.push_event(..)`, `fake.stats()`, `fake.fail_next(..)` work directly.
///
/// Dropping it signals the server to stop (without waiting); prefer
/// [`shutdown`](Self::shutdown), which waits and returns the state.
pub struct FakeVod {
    state: FakeState,
    addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl FakeVod {
    /// Starts a fake with fresh state on `127.0.0.1` and a free port.
    /// Must be called inside a Tokio runtime (the fake spawns tasks on it).
    pub async fn start(config: FakeConfig) -> io::Result<FakeVod> {
        FakeVod::start_with_state(
            FakeState::new(config),
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        )
        .await
    }

    /// Serves an existing state (for example one returned by [`shutdown`](Self::shutdown))
    /// on `addr`. Port 0 picks a free port. Queues, handles, settings, faults and statistics
    /// are those of `state`; in-flight deliveries keep their deadlines.
    pub async fn start_with_state(state: FakeState, addr: SocketAddr) -> io::Result<FakeVod> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(listener, state.clone(), shutdown_rx));
        Ok(FakeVod {
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

    /// The base URL to send requests to, `http://127.0.0.1:<port>/`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The `Host` header value a client sends (and signs): `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The shared state.
    pub fn state(&self) -> &FakeState {
        &self.state
    }

    /// Stops the server and returns its state.
    ///
    /// Stops accepting at once, ends long-polls (they answer "no events") and hanging or
    /// slowed requests (their connections are closed), lets other in-flight requests finish
    /// for up to 2 s, then aborts what is left. Returns once every task of this server ended.
    pub async fn shutdown(mut self) -> FakeState {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.state.clone()
    }

    /// Shuts down and starts again on the same address with the same state.
    /// Retries the bind for up to 2 s should the port still be busy.
    pub async fn restart(self) -> io::Result<FakeVod> {
        let addr = self.addr;
        let state = self.shutdown().await;
        let mut attempt = 0;
        loop {
            match FakeVod::start_with_state(state.clone(), addr).await {
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && attempt < 40 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }
}

impl Deref for FakeVod {
    type Target = FakeState;

    fn deref(&self) -> &FakeState {
        &self.state
    }
}

impl Drop for FakeVod {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

impl std::fmt::Debug for FakeVod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeVod").field("addr", &self.addr).finish()
    }
}
