//! A fake CVM metadata service and a fake STS on 127.0.0.1, for the Tencent instance-role
//! and TKE OIDC providers. Included with `#[path]` by the tests that need them, so the other
//! test crates do not compile axum servers they never start.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Temporary credentials as a metadata service or STS hands them out.
#[derive(Clone, Debug)]
pub struct RoleCredentials {
    pub id: String,
    pub key: String,
    pub token: String,
    /// Whole seconds: both services say the expiry in Unix seconds.
    pub expires: SystemTime,
}

impl RoleCredentials {
    /// Set number `n`, expiring `lifetime` after `now`.
    pub fn numbered(n: u32, now: SystemTime, lifetime: Duration) -> Self {
        RoleCredentials {
            id: format!("AKIDROLE{n:04}"),
            key: format!("RoleSecretKey{n:04}xxxxxxxxxxxxxxxx"),
            token: format!("RoleSessionToken{n:04}yyyyyyyyyyyyyyyy"),
            expires: UNIX_EPOCH + Duration::from_secs(unix(now + lifetime)),
        }
    }

    pub fn expired_time(&self) -> u64 {
        unix(self.expires)
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Stops the server task when dropped.
struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(router: Router) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Server { addr, task }
}

// ----- the metadata service -----

const ROLES: &str = "/latest/meta-data/cam/security-credentials/";

#[derive(Default)]
struct MetaInner {
    role: Option<String>,
    credentials: Option<RoleCredentials>,
    status: Option<u16>,
    body: Option<String>,
    list_calls: usize,
    credential_calls: usize,
    paths: Vec<String>,
}

struct MetaState {
    inner: Mutex<MetaInner>,
    // Credentials answers wait while this is false.
    released: watch::Sender<bool>,
}

/// The CVM metadata service's two credential paths: `cam/security-credentials/` answers the
/// role's name (404 without one), `cam/security-credentials/<role>` its credentials.
pub struct FakeMetadata {
    state: Arc<MetaState>,
    server: Server,
}

impl FakeMetadata {
    pub async fn start(role: Option<&str>, credentials: Option<RoleCredentials>) -> Self {
        let (released, _) = watch::channel(true);
        let state = Arc::new(MetaState {
            inner: Mutex::new(MetaInner {
                role: role.map(str::to_owned),
                credentials,
                ..MetaInner::default()
            }),
            released,
        });
        let router = Router::new()
            .fallback(metadata_answer)
            .with_state(state.clone());
        FakeMetadata {
            state,
            server: serve(router).await,
        }
    }

    /// The base URL, as `VOD_EVENTS_TENCENT_METADATA_URL` takes it.
    pub fn url(&self) -> String {
        format!("http://{}/latest/meta-data/", self.server.addr)
    }

    pub fn set_credentials(&self, credentials: RoleCredentials) {
        lock(&self.state.inner).credentials = Some(credentials);
    }

    /// Every request answers this status (with a body holding a secret-looking value).
    pub fn set_status(&self, status: Option<u16>) {
        lock(&self.state.inner).status = status;
    }

    /// The credentials path answers this body as it is.
    pub fn set_body(&self, body: Option<&str>) {
        lock(&self.state.inner).body = body.map(str::to_owned);
    }

    /// Credentials answers wait until [`release`](Self::release) (they are counted first).
    pub fn hold(&self) {
        self.state.released.send_replace(false);
    }

    pub fn release(&self) {
        self.state.released.send_replace(true);
    }

    pub fn list_calls(&self) -> usize {
        lock(&self.state.inner).list_calls
    }

    pub fn credential_calls(&self) -> usize {
        lock(&self.state.inner).credential_calls
    }

    pub fn paths(&self) -> Vec<String> {
        lock(&self.state.inner).paths.clone()
    }
}

/// A body an answer must never show in an error.
pub const LEAKY_BODY: &str = r#"{"TmpSecretKey":"LEAKED-IF-SHOWN"}"#;

async fn metadata_answer(State(state): State<Arc<MetaState>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    let Some(rest) = path.strip_prefix(ROLES).map(str::to_owned) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if rest.is_empty() {
        let mut inner = lock(&state.inner);
        inner.list_calls += 1;
        inner.paths.push(path);
        if let Some(status) = inner.status {
            return status_answer(status);
        }
        return match &inner.role {
            Some(role) => role.clone().into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    {
        let mut inner = lock(&state.inner);
        inner.credential_calls += 1;
        inner.paths.push(path);
    }
    let mut released = state.released.subscribe();
    let _ = released.wait_for(|r| *r).await;
    let inner = lock(&state.inner);
    if let Some(status) = inner.status {
        return status_answer(status);
    }
    if let Some(body) = &inner.body {
        return body.clone().into_response();
    }
    match (&inner.role, &inner.credentials) {
        (Some(role), Some(c)) if *role == rest => json!({
            "TmpSecretId": c.id,
            "TmpSecretKey": c.key,
            "ExpiredTime": c.expired_time(),
            "Expiration": humantime::format_rfc3339_seconds(c.expires).to_string(),
            "Token": c.token,
            "Code": "Success",
        })
        .to_string()
        .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn status_answer(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (status, LEAKY_BODY).into_response()
}

// ----- STS -----

/// What the fake STS answers.
#[derive(Clone, Debug)]
pub enum StsAnswer {
    Credentials(RoleCredentials),
    /// `{"Response":{"Error":{"Code","Message"},"RequestId"}}` with HTTP 200.
    Refusal {
        code: String,
        message: String,
    },
    /// This status with a body that is not STS's.
    Status(u16),
}

/// One request the fake STS received.
#[derive(Clone, Debug)]
pub struct StsRequest {
    pub method: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl StsRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct StsInner {
    answer: StsAnswer,
    requests: Vec<StsRequest>,
}

/// Tencent Cloud STS's `AssumeRoleWithWebIdentity`, at `/`.
pub struct FakeSts {
    state: Arc<Mutex<StsInner>>,
    server: Server,
}

/// The `RequestId` of the fake's answers.
pub const STS_REQUEST_ID: &str = "fake-sts-request-0001";

impl FakeSts {
    pub async fn start(answer: StsAnswer) -> Self {
        let state = Arc::new(Mutex::new(StsInner {
            answer,
            requests: Vec::new(),
        }));
        let router = Router::new().fallback(sts_answer).with_state(state.clone());
        FakeSts {
            state,
            server: serve(router).await,
        }
    }

    /// The endpoint, as `VOD_EVENTS_TENCENT_STS_ENDPOINT` takes it.
    pub fn url(&self) -> String {
        format!("http://{}/", self.server.addr)
    }

    pub fn set_answer(&self, answer: StsAnswer) {
        lock(&self.state).answer = answer;
    }

    pub fn requests(&self) -> Vec<StsRequest> {
        lock(&self.state).requests.clone()
    }
}

async fn sts_answer(
    State(state): State<Arc<Mutex<StsInner>>>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = lock(&state);
    inner.requests.push(StsRequest {
        method: method.to_string(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    match inner.answer.clone() {
        StsAnswer::Credentials(c) => json!({"Response": {
            "Credentials": {"Token": c.token, "TmpSecretId": c.id, "TmpSecretKey": c.key},
            "ExpiredTime": c.expired_time(),
            "Expiration": humantime::format_rfc3339_seconds(c.expires).to_string(),
            "RequestId": STS_REQUEST_ID,
        }})
        .to_string()
        .into_response(),
        StsAnswer::Refusal { code, message } => json!({"Response": {
            "Error": {"Code": code, "Message": message},
            "RequestId": STS_REQUEST_ID,
        }})
        .to_string()
        .into_response(),
        StsAnswer::Status(status) => status_answer(status),
    }
}

// ----- a server that never answers -----

/// A listener that accepts connections and never answers on them.
pub struct SilentServer {
    server: Server,
}

impl SilentServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                open.push(stream);
            }
        });
        SilentServer {
            server: Server { addr, task },
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/latest/meta-data/", self.server.addr)
    }
}
