//! The fake's state: queues, deliveries, handles, settings, faults and statistics.
//!
//! Per application the queue is the fakes' shared leased-queue core
//! (`crate::fake::visibility`), so no request scans the queue. Expired deliveries are moved
//! back lazily, when a request touches the application (and when statistics are read).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::faults::{Fault, FaultKind, FaultMix, FaultPlan};
use super::samples::{Model, Template};
use super::{Action, ConfirmPolicy, EmptyPullShape, FakeConfig, FakeCredential, RateLimit};
use crate::fake::visibility::{ExpiredHandles, VisibilityQueue};
use crate::tencent::credentials::Secret;

/// Most handles the service accepts in one `ConfirmEvents`.
const MAX_CONFIRM_HANDLES: usize = 16;

/// An API error answer: code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Rule violations seen in `ConfirmEvents` requests. A well-behaved client never commits any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleViolations {
    /// Requests with a missing, `null` or empty `EventHandles` list.
    pub empty_list: u64,
    /// Requests containing an empty-string handle.
    pub empty_handle: u64,
    /// Requests with more than 16 handles.
    pub too_many_handles: u64,
    /// Requests whose `EventHandles` is not an array of strings.
    pub malformed: u64,
}

impl RuleViolations {
    /// The sum of all counters.
    pub fn total(&self) -> u64 {
        self.empty_list + self.empty_handle + self.too_many_handles + self.malformed
    }
}

/// A snapshot of the fake's counters. All counters survive restarts (they live in the state).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FakeStats {
    /// Requests received, by `X-TC-Action` value as sent (unknown actions included; a missing
    /// header counts under `""`), whatever their outcome.
    pub requests: BTreeMap<String, u64>,
    /// Events pushed into the fake.
    pub events_pushed: u64,
    /// Events handed out by `PullEvents`, redeliveries included.
    pub deliveries: u64,
    /// Deliveries of events that had been delivered before.
    pub redeliveries: u64,
    /// Distinct events deleted by `ConfirmEvents`.
    pub confirmed: u64,
    /// Events currently visible (waiting to be pulled), over all applications.
    pub queued: u64,
    /// Events currently delivered and unconfirmed, over all applications.
    pub in_flight: u64,
    /// Handles rejected by `ConfirmEvents` as expired, unknown or already used.
    pub confirm_handle_rejections: u64,
    /// Rule violations in `ConfirmEvents` requests.
    pub violations: RuleViolations,
    /// Most handles seen in one `ConfirmEvents` request.
    pub max_handles_per_confirm: usize,
    /// Requests answered `RequestLimitExceeded` by the rate limit (injected faults excluded).
    pub rate_limited: u64,
    /// Injected faults, by kind.
    pub faults_injected: BTreeMap<FaultKind, u64>,
    /// Requests rejected by authentication (`AuthFailure.*`), signature failures included.
    pub auth_failures: u64,
    /// Of which `AuthFailure.SignatureFailure`.
    pub signature_failures: u64,
    /// API errors answered, by code (injected `ApiError` faults included).
    pub errors: BTreeMap<String, u64>,
    /// `PullEvents` answers without events.
    pub empty_pulls: u64,
    /// Requests that carried an `X-TC-Token` header (temporary credentials).
    pub requests_with_token: u64,
}

impl FakeStats {
    /// Requests received for `action`.
    pub fn requests_for(&self, action: super::Action) -> u64 {
        self.requests.get(action.as_str()).copied().unwrap_or(0)
    }

    /// Injected faults of `kind`.
    pub fn faults_of(&self, kind: FaultKind) -> u64 {
        self.faults_injected.get(&kind).copied().unwrap_or(0)
    }

    /// Errors answered with `code`.
    pub fn errors_with(&self, code: &str) -> u64 {
        self.errors.get(code).copied().unwrap_or(0)
    }
}

/// One `ConfirmEvents` request as received (after authentication).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmRecord {
    /// The request's `SubAppId`.
    pub sub_app_id: Option<u64>,
    /// The handles, in request order (non-string entries are left out).
    pub handles: Vec<String>,
    /// Handles whose events were deleted.
    pub accepted: usize,
    /// Handles rejected as expired, unknown or already used.
    pub rejected: usize,
    /// The error code answered, if any.
    pub error: Option<String>,
}

/// The event configuration of one application (`DescribeEventConfig` / `ModifyEventConfig`).
/// `Debug` leaves out the `SignKey` (it is a [`Secret`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventConfig {
    /// `PULL` (default) or `PUSH`. The fake queues pushed events in either mode.
    pub mode: String,
    /// The v3.0 callback URL; empty by default.
    pub notification_url: String,
    /// `ON` or `OFF` (default).
    pub upload_media_complete_event_switch: String,
    /// `ON` or `OFF` (default).
    pub delete_media_complete_event_switch: String,
    /// `ON` or `OFF` (default).
    pub persistence_complete_event_switch: String,
    /// The callback key; stored, never returned by `DescribeEventConfig`.
    pub sign_key: Option<Secret>,
}

impl Default for EventConfig {
    fn default() -> Self {
        EventConfig {
            mode: "PULL".into(),
            notification_url: String::new(),
            upload_media_complete_event_switch: "OFF".into(),
            delete_media_complete_event_switch: "OFF".into(),
            persistence_complete_event_switch: "OFF".into(),
            sign_key: None,
        }
    }
}

/// A stored event: its JSON object text (without `EventHandle`), shared templates for bulk
/// samples.
enum EventBody {
    /// A JSON object, starting with `{`.
    Text(Box<str>),
    /// A sample template and its index.
    Template(Arc<Template>, u64),
}

/// An application's queue: the fakes' shared leased-queue core on the monotonic clock
/// (an expired delivery's handle dies with it, as the service's), with its wake-up and
/// event configuration.
struct AppQueue {
    core: VisibilityQueue<Instant, EventBody>,
    notify: Arc<Notify>,
    config: EventConfig,
}

impl AppQueue {
    fn new() -> Self {
        AppQueue {
            core: VisibilityQueue::new(ExpiredHandles::Die),
            notify: Arc::new(Notify::new()),
            config: EventConfig::default(),
        }
    }

    /// Makes expired deliveries visible again; their handles die.
    fn expire(&mut self, now: Instant) {
        if self.core.expire(now) {
            self.notify.notify_waiters();
        }
    }

    fn in_flight(&self) -> usize {
        self.core.in_flight()
    }

    fn push(&mut self, id: u64, body: EventBody) {
        self.core.push(id, body);
    }
}

pub(crate) struct Inner {
    pub(crate) config: FakeConfig,
    apps: HashMap<Option<u64>, AppQueue>,
    next_event_id: u64,
    next_delivery: u64,
    next_sample_index: u64,
    stats: FakeStats,
    faults: FaultPlan,
    rate_windows: HashMap<Action, VecDeque<Instant>>,
    confirm_log: VecDeque<ConfirmRecord>,
}

impl Inner {
    fn app(&mut self, app: Option<u64>) -> &mut AppQueue {
        self.apps.entry(app).or_insert_with(AppQueue::new)
    }

    fn push_body(&mut self, app: Option<u64>, body: EventBody) -> u64 {
        let id = self.next_event_id;
        self.next_event_id += 1;
        self.stats.events_pushed += 1;
        self.app(app).push(id, body);
        id
    }

    /// Hands out up to `max_events_per_pull` visible events as a complete response text.
    fn try_pull(&mut self, app: Option<u64>, now: Instant, request_id: &str) -> Option<String> {
        let max = self.config.max_events_per_pull.max(1);
        let visibility = self.config.visibility_timeout;
        let Inner {
            apps,
            next_delivery,
            stats,
            ..
        } = self;
        let q = apps.entry(app).or_insert_with(AppQueue::new);
        q.expire(now);
        if q.core.visible_len() == 0 {
            return None;
        }
        let deadline = now + visibility;
        let mut out = String::with_capacity(4096);
        out.push_str("{\"Response\":{\"EventSet\":[");
        let mut count = 0;
        while count < max {
            let Some(id) = q.core.pop_visible() else {
                break;
            };
            let seq = *next_delivery;
            *next_delivery += 1;
            let handle: Box<str> = format!("{seq:012x}{:016x}", fastrand::u64(..)).into();
            let Some(ev) = q.core.lease(id, handle.clone(), deadline) else {
                continue;
            };
            stats.deliveries += 1;
            if ev.deliveries > 1 {
                stats.redeliveries += 1;
            }
            if count > 0 {
                out.push(',');
            }
            out.push_str("{\"EventHandle\":\"");
            out.push_str(&handle);
            out.push('"');
            match &ev.body {
                EventBody::Text(text) => {
                    let tail = text.get(1..).unwrap_or("}").trim_start();
                    if !tail.starts_with('}') {
                        out.push(',');
                    }
                    out.push_str(tail);
                }
                EventBody::Template(template, index) => {
                    out.push(',');
                    template.write_tail(*index, &mut out);
                }
            }
            count += 1;
        }
        out.push_str("],\"RequestId\":\"");
        out.push_str(request_id);
        out.push_str("\"}}");
        Some(out)
    }

    fn empty_pull(&mut self, request_id: &str) -> Result<String, ApiError> {
        self.stats.empty_pulls += 1;
        let set = match self.config.empty_pull {
            EmptyPullShape::EmptyList => "\"EventSet\":[],",
            EmptyPullShape::Null => "\"EventSet\":null,",
            EmptyPullShape::Absent => "",
            EmptyPullShape::ResourceNotFound => {
                return Err(ApiError::new(
                    "ResourceNotFound",
                    "There are no events to pull.",
                ))
            }
        };
        Ok(format!(
            "{{\"Response\":{{{set}\"RequestId\":\"{request_id}\"}}}}"
        ))
    }

    fn confirm(&mut self, app: Option<u64>, params: &Map<String, Value>) -> Result<(), ApiError> {
        let mut record = ConfirmRecord {
            sub_app_id: app,
            handles: Vec::new(),
            accepted: 0,
            rejected: 0,
            error: None,
        };
        let result = self.confirm_inner(app, params, &mut record);
        record.error = result.as_ref().err().map(|e| e.code.clone());
        let cap = self.config.confirm_log_capacity;
        if cap > 0 {
            while self.confirm_log.len() >= cap {
                self.confirm_log.pop_front();
            }
            self.confirm_log.push_back(record);
        }
        result
    }

    fn confirm_inner(
        &mut self,
        app: Option<u64>,
        params: &Map<String, Value>,
        record: &mut ConfirmRecord,
    ) -> Result<(), ApiError> {
        let list = match params.get("EventHandles") {
            None | Some(Value::Null) => {
                self.stats.violations.empty_list += 1;
                return Err(ApiError::new(
                    "MissingParameter",
                    "The request is missing a required parameter `EventHandles`.",
                ));
            }
            Some(Value::Array(list)) => list,
            Some(_) => {
                self.stats.violations.malformed += 1;
                return Err(ApiError::new(
                    "InvalidParameter",
                    "`EventHandles` must be an array of strings.",
                ));
            }
        };
        record.handles = list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        self.stats.max_handles_per_confirm = self.stats.max_handles_per_confirm.max(list.len());
        let mut violation = None;
        if record.handles.len() != list.len() {
            self.stats.violations.malformed += 1;
            violation = Some(ApiError::new(
                "InvalidParameter",
                "`EventHandles` must be an array of strings.",
            ));
        }
        if list.is_empty() {
            self.stats.violations.empty_list += 1;
            violation = Some(ApiError::new(
                "InvalidParameterValue",
                "`EventHandles` must not be empty.",
            ));
        }
        if list.len() > MAX_CONFIRM_HANDLES {
            self.stats.violations.too_many_handles += 1;
            violation = Some(ApiError::new(
                "InvalidParameterValue",
                format!(
                    "`EventHandles` holds {} handles; the limit is {MAX_CONFIRM_HANDLES}.",
                    list.len()
                ),
            ));
        }
        if record.handles.iter().any(String::is_empty) {
            self.stats.violations.empty_handle += 1;
            violation = Some(ApiError::new(
                "InvalidParameterValue",
                "`EventHandles` contains an empty handle.",
            ));
        }
        if let Some(err) = violation {
            return Err(err);
        }

        let policy = self.config.confirm_policy;
        let Inner { apps, stats, .. } = self;
        let q = apps.entry(app).or_insert_with(AppQueue::new);
        q.expire(Instant::now());
        let mut valid: Vec<&str> = Vec::with_capacity(record.handles.len());
        let mut invalid = 0usize;
        for h in &record.handles {
            if q.core.has_handle(h) && !valid.contains(&h.as_str()) {
                valid.push(h);
            } else {
                invalid += 1;
            }
        }
        if invalid == 0 || policy == ConfirmPolicy::ApplyValidThenError {
            for h in &valid {
                if q.core.remove(h).is_some() {
                    stats.confirmed += 1;
                }
            }
            record.accepted = valid.len();
        }
        if invalid == 0 {
            return Ok(());
        }
        record.rejected = invalid;
        stats.confirm_handle_rejections += invalid as u64;
        let applied = if record.accepted > 0 {
            format!(" The other {} were confirmed.", record.accepted)
        } else {
            String::new()
        };
        Err(ApiError::new(
            "InvalidParameterValue",
            format!(
                "{invalid} of {} EventHandles are invalid, expired or already confirmed.{applied}",
                record.handles.len()
            ),
        ))
    }

    fn rate_limited(&mut self, action: Action, now: Instant) -> bool {
        let Some(RateLimit {
            max_requests,
            window,
        }) = self.config.rate_limit
        else {
            return false;
        };
        let log = self.rate_windows.entry(action).or_default();
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            log.pop_front();
        }
        if log.len() >= max_requests {
            self.stats.rate_limited += 1;
            return true;
        }
        log.push_back(now);
        false
    }

    fn expire_all(&mut self) {
        let now = Instant::now();
        for q in self.apps.values_mut() {
            q.expire(now);
        }
    }
}

struct Shared {
    inner: Mutex<Inner>,
    clock_offset: AtomicI64,
}

/// The state of a fake: queues, in-flight deliveries, settings, faults and statistics.
///
/// A cheap-to-clone handle (an `Arc`); it outlives the server that serves it, so a test can
/// shut a [`FakeVod`](super::FakeVod) down and serve the same state again.
#[derive(Clone)]
pub struct FakeState {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FakeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeState").finish_non_exhaustive()
    }
}

impl FakeState {
    /// Fresh state with these settings.
    pub fn new(config: FakeConfig) -> FakeState {
        let offset = config.clock_offset_secs;
        FakeState {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    config,
                    apps: HashMap::new(),
                    next_event_id: 0,
                    next_delivery: 1,
                    next_sample_index: 0,
                    stats: FakeStats::default(),
                    faults: FaultPlan::default(),
                    rate_windows: HashMap::new(),
                    confirm_log: VecDeque::new(),
                }),
                clock_offset: AtomicI64::new(offset),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the state torn in a way that matters to a
        // test double; keep serving.
        self.shared
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ----- settings -----

    /// A copy of the current settings.
    pub fn config(&self) -> FakeConfig {
        let mut config = self.lock().config.clone();
        config.clock_offset_secs = self.clock_offset();
        config
    }

    /// Changes settings while running. Takes effect for requests that start afterwards
    /// (a `PullEvents` already holding keeps its hold).
    pub fn update_config(&self, f: impl FnOnce(&mut FakeConfig)) {
        let mut inner = self.lock();
        inner.config.clock_offset_secs = self.clock_offset();
        f(&mut inner.config);
        self.shared
            .clock_offset
            .store(inner.config.clock_offset_secs, Ordering::Relaxed);
    }

    /// Sets the clock offset in seconds (negative = behind real time).
    pub fn set_clock_offset(&self, secs: i64) {
        self.shared.clock_offset.store(secs, Ordering::Relaxed);
    }

    /// The clock offset in seconds.
    pub fn clock_offset(&self) -> i64 {
        self.shared.clock_offset.load(Ordering::Relaxed)
    }

    /// The fake's clock: real time plus the offset.
    pub fn now(&self) -> SystemTime {
        let offset = self.clock_offset();
        let now = SystemTime::now();
        let delta = Duration::from_secs(offset.unsigned_abs());
        let shifted = if offset >= 0 {
            now.checked_add(delta)
        } else {
            now.checked_sub(delta)
        };
        shifted.unwrap_or(now)
    }

    /// The fake's clock as Unix seconds.
    pub fn now_unix(&self) -> i64 {
        let real = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        real.saturating_add(self.clock_offset())
    }

    /// Sets how long `PullEvents` holds when nothing is visible.
    pub fn set_pull_hold(&self, hold: Duration) {
        self.lock().config.pull_hold = hold;
    }

    /// Sets the visibility window of new deliveries.
    pub fn set_visibility_timeout(&self, window: Duration) {
        self.lock().config.visibility_timeout = window;
    }

    /// Sets the "no events" answer.
    pub fn set_empty_pull(&self, shape: EmptyPullShape) {
        self.lock().config.empty_pull = shape;
    }

    /// Sets the mixed-batch policy of `ConfirmEvents`.
    pub fn set_confirm_policy(&self, policy: ConfirmPolicy) {
        self.lock().config.confirm_policy = policy;
    }

    /// Sets or removes the per-action rate limit (and forgets past requests).
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut inner = self.lock();
        inner.config.rate_limit = limit;
        inner.rate_windows.clear();
    }

    /// Sets the most events per `PullEvents` answer (at least 1 is used).
    pub fn set_max_events_per_pull(&self, max: usize) {
        self.lock().config.max_events_per_pull = max;
    }

    /// Accepts one more key pair (e.g. to test key rotation).
    pub fn add_credential(&self, credential: FakeCredential) {
        self.lock().config.credentials.push(credential);
    }

    /// Stops accepting a SecretId.
    pub fn remove_credential(&self, secret_id: &str) {
        self.lock()
            .config
            .credentials
            .retain(|c| c.secret_id != secret_id);
    }

    /// Requires this `X-TC-Token` on every request, or (with `None`) ignores the header.
    pub fn set_required_token(&self, token: Option<String>) {
        self.lock().config.required_token = token;
    }

    // ----- events -----

    /// Queues one event for an application (`None` = the default application) and wakes its
    /// waiting pullers. `event` is an `EventContent` object without `EventHandle` (an
    /// `EventHandle` key is removed; a non-object value is stored as `{"RawEvent": value}`).
    /// Returns the fake's internal event id.
    pub fn push_event(&self, sub_app_id: Option<u64>, event: Value) -> u64 {
        let text = event_text(event);
        let id;
        let notify;
        {
            let mut inner = self.lock();
            id = inner.push_body(sub_app_id, EventBody::Text(text.into()));
            notify = inner.app(sub_app_id).notify.clone();
        }
        notify.notify_waiters();
        id
    }

    /// Queues several events in order, waking pullers once. Returns how many were queued.
    pub fn push_events(
        &self,
        sub_app_id: Option<u64>,
        events: impl IntoIterator<Item = Value>,
    ) -> usize {
        let texts: Vec<String> = events.into_iter().map(event_text).collect();
        let n = texts.len();
        let notify;
        {
            let mut inner = self.lock();
            for text in texts {
                inner.push_body(sub_app_id, EventBody::Text(text.into()));
            }
            notify = inner.app(sub_app_id).notify.clone();
        }
        notify.notify_waiters();
        n
    }

    /// Queues an event given as JSON text, delivered byte for byte (after the added
    /// `EventHandle`); handy to test how a client copes with odd but valid JSON. The text must
    /// be a JSON object without an `EventHandle` key.
    pub fn push_event_json(&self, sub_app_id: Option<u64>, json: &str) -> Result<u64, String> {
        let value: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        match value {
            Value::Object(map) if !map.contains_key("EventHandle") => {}
            _ => return Err("expected a JSON object without EventHandle".into()),
        }
        let notify;
        let id;
        {
            let mut inner = self.lock();
            id = inner.push_body(sub_app_id, EventBody::Text(json.trim().into()));
            notify = inner.app(sub_app_id).notify.clone();
        }
        notify.notify_waiters();
        Ok(id)
    }

    /// Queues `count` sample events cycling through all 37 model EventTypes (see
    /// [`samples`](super::samples)). Sample indices continue from call to call, so every
    /// event has its own `TaskId`/`FileId`; the returned range is the indices used
    /// (event `i` is `samples::cycling_sample(i)`). Cheap: samples share one pre-serialized
    /// template per type, so 100,000 events take a few MB.
    pub fn push_samples(&self, sub_app_id: Option<u64>, count: u64) -> Range<u64> {
        let Some(model) = Model::get() else {
            return 0..0;
        };
        let notify;
        let range;
        {
            let mut inner = self.lock();
            let start = inner.next_sample_index;
            range = start..start.saturating_add(count);
            inner.next_sample_index = range.end;
            for i in range.clone() {
                if let Some(t) = model.cycle(i) {
                    inner.push_body(sub_app_id, EventBody::Template(t.clone(), i));
                }
            }
            notify = inner.app(sub_app_id).notify.clone();
        }
        notify.notify_waiters();
        range
    }

    /// Events of an application waiting to be pulled.
    pub fn queued(&self, sub_app_id: Option<u64>) -> usize {
        let mut inner = self.lock();
        let q = inner.app(sub_app_id);
        q.expire(Instant::now());
        q.core.visible_len()
    }

    /// Events of an application delivered and not yet confirmed.
    pub fn in_flight(&self, sub_app_id: Option<u64>) -> usize {
        let mut inner = self.lock();
        let q = inner.app(sub_app_id);
        q.expire(Instant::now());
        q.in_flight()
    }

    /// The stored event configuration of an application (the `SignKey` included).
    pub fn event_config(&self, sub_app_id: Option<u64>) -> EventConfig {
        self.lock().app(sub_app_id).config.clone()
    }

    // ----- faults -----

    /// Injects `fault` into the next `times` requests for `action` (`None` = any action).
    /// Scripted faults are used in the order they were added, before any random mix.
    pub fn fail_next(&self, action: Option<Action>, fault: Fault, times: u64) {
        self.lock().faults.fail_next(action, fault, times);
    }

    /// Sets (or, with `None`, removes) the random fault mix; the RNG restarts from its seed.
    pub fn set_fault_mix(&self, mix: Option<FaultMix>) {
        self.lock().faults.set_mix(mix);
    }

    /// Removes all scripted faults and the random mix.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Scripted faults not yet used.
    pub fn pending_faults(&self) -> u64 {
        self.lock().faults.pending_scripted()
    }

    // ----- statistics -----

    /// A snapshot of the counters.
    pub fn stats(&self) -> FakeStats {
        let mut inner = self.lock();
        inner.expire_all();
        let (queued, in_flight) = inner.apps.values().fold((0, 0), |(v, f), q| {
            (v + q.core.visible_len() as u64, f + q.in_flight() as u64)
        });
        let mut stats = inner.stats.clone();
        stats.queued = queued;
        stats.in_flight = in_flight;
        stats
    }

    /// Zeroes the counters (queues and the confirm log are kept).
    pub fn reset_stats(&self) {
        self.lock().stats = FakeStats::default();
    }

    /// The most recent `ConfirmEvents` requests (up to `confirm_log_capacity`), oldest first.
    pub fn confirm_log(&self) -> Vec<ConfirmRecord> {
        self.lock().confirm_log.iter().cloned().collect()
    }

    // ----- crate-internal, used by the server -----

    pub(crate) fn count_request(&self, action: &str, with_token: bool) {
        let mut inner = self.lock();
        if with_token {
            inner.stats.requests_with_token += 1;
        }
        if let Some(n) = inner.stats.requests.get_mut(action) {
            *n += 1;
        } else {
            inner.stats.requests.insert(action.to_owned(), 1);
        }
    }

    pub(crate) fn count_error(&self, code: &str, auth_failure: bool) {
        let mut inner = self.lock();
        let stats = &mut inner.stats;
        *stats.errors.entry(code.to_owned()).or_default() += 1;
        if auth_failure {
            stats.auth_failures += 1;
            if code == "AuthFailure.SignatureFailure" {
                stats.signature_failures += 1;
            }
        }
    }

    /// Rate limit check and fault pick for an authenticated, well-formed request.
    pub(crate) fn admit(&self, action: Action) -> Result<Option<Fault>, ApiError> {
        let mut inner = self.lock();
        if inner.rate_limited(action, Instant::now()) {
            return Err(ApiError::new(
                "RequestLimitExceeded",
                format!("Your request rate for {action} is over the limit."),
            ));
        }
        let fault = inner.faults.pick(action);
        if let Some(f) = &fault {
            *inner.stats.faults_injected.entry(f.kind()).or_default() += 1;
        }
        Ok(fault)
    }

    /// `PullEvents`: answers at once if events are visible, else holds until one is pushed or
    /// becomes visible again, the hold elapses, or the server shuts down.
    pub(crate) async fn pull(
        &self,
        app: Option<u64>,
        request_id: &str,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<String, ApiError> {
        let hold_end = Instant::now() + self.lock().config.pull_hold;
        loop {
            let notify: Arc<Notify>;
            let notified;
            let wake_at;
            {
                let mut inner = self.lock();
                let now = Instant::now();
                if let Some(text) = inner.try_pull(app, now, request_id) {
                    return Ok(text);
                }
                if now >= hold_end {
                    return inner.empty_pull(request_id);
                }
                let q = inner.app(app);
                notify = q.notify.clone();
                // Registered before the lock is released, so no push can slip through.
                notified = notify.notified();
                let next = q.core.next_end();
                wake_at = next.map_or(hold_end, |d| d.min(hold_end));
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(wake_at) => {}
                _ = super::server::wait_shutdown(shutdown) => {
                    return self.lock().empty_pull(request_id);
                }
            }
        }
    }

    pub(crate) fn confirm(
        &self,
        app: Option<u64>,
        params: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        self.lock().confirm(app, params)
    }

    pub(crate) fn count_of_events_to_pull(&self, app: Option<u64>) -> usize {
        let mut inner = self.lock();
        let q = inner.app(app);
        q.expire(Instant::now());
        q.core.len()
    }

    pub(crate) fn modify_event_config(
        &self,
        app: Option<u64>,
        params: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        fn text<'a>(
            params: &'a Map<String, Value>,
            key: &str,
        ) -> Result<Option<&'a str>, ApiError> {
            match params.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(ApiError::new(
                    "InvalidParameter",
                    format!("`{key}` must be a string."),
                )),
            }
        }
        fn switch(params: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
            match text(params, key)? {
                None => Ok(None),
                Some(v @ ("ON" | "OFF")) => Ok(Some(v.to_owned())),
                Some(v) => Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("`{key}` must be ON or OFF, got `{v}`."),
                )),
            }
        }
        let mode = match text(params, "Mode")? {
            None => None,
            Some(m @ ("PUSH" | "PULL")) => Some(m.to_owned()),
            Some(m) => {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("`Mode` must be PUSH or PULL, got `{m}`."),
                ))
            }
        };
        let url = text(params, "NotificationUrl")?.map(str::to_owned);
        let upload = switch(params, "UploadMediaCompleteEventSwitch")?;
        let delete = switch(params, "DeleteMediaCompleteEventSwitch")?;
        let persistence = switch(params, "PersistenceCompleteEventSwitch")?;
        let sign_key = match text(params, "SignKey")? {
            Some(k) if k.len() > 32 || !k.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    "`SignKey` must be at most 32 letters and digits.",
                ))
            }
            other => other.map(str::to_owned),
        };
        let mut inner = self.lock();
        let config = &mut inner.app(app).config;
        if let Some(v) = mode {
            config.mode = v;
        }
        if let Some(v) = url {
            config.notification_url = v;
        }
        if let Some(v) = upload {
            config.upload_media_complete_event_switch = v;
        }
        if let Some(v) = delete {
            config.delete_media_complete_event_switch = v;
        }
        if let Some(v) = persistence {
            config.persistence_complete_event_switch = v;
        }
        if let Some(v) = sign_key {
            config.sign_key = Some(Secret::from(v));
        }
        Ok(())
    }
}

/// The stored text of a pushed event.
fn event_text(event: Value) -> String {
    let mut map = match event {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("RawEvent".into(), other);
            map
        }
    };
    map.remove("EventHandle");
    super::samples::service_order_json(&map)
}
