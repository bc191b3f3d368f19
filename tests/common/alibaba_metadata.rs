//! A fake ECS metadata service and a fake STS, each a small axum server on 127.0.0.1 inside
//! the test process, for the Alibaba role providers.
//!
//! Test crates include this file with `#[path = "common/alibaba_metadata.rs"] mod ...;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::task::JoinHandle;

const TOKEN_PATH: &str = "/latest/api/token";
const ROLES_PATH: &str = "/latest/meta-data/ram/security-credentials/";

/// Whether the fake insists on hardened mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hardened {
    /// GETs need a token from the PUT (401 without one): hardened mode enforced.
    Required,
    /// The PUT answers 403, GETs need no token: an old metadata service.
    Unsupported,
}

/// A scripted failure of the credentials GET.
#[derive(Debug, Clone)]
pub enum Fail {
    /// Answer this status with a small body.
    Status(u16),
    /// Answer 200 with this body.
    Body(String),
    /// Accept and never answer.
    Hang,
}

/// What the fake counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaCounts {
    pub token_puts: u32,
    pub role_lists: u32,
    pub credential_gets: u32,
    /// GETs refused for a missing or unknown token.
    pub refused: u32,
    /// GETs that came without a token.
    pub without_token: u32,
}

/// What the role's credentials GET answers.
#[derive(Debug, Clone)]
pub struct Served {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: String,
    pub expiration: SystemTime,
    pub code: String,
}

struct MetaState {
    hardened: Hardened,
    role: Option<String>,
    served: Served,
    fail: Option<Fail>,
    issued: Vec<String>,
    last_ttl: Option<String>,
    counts: MetaCounts,
}

/// The fake ECS metadata service, under `/latest/`.
pub struct FakeEcsMetadata {
    addr: SocketAddr,
    state: Arc<Mutex<MetaState>>,
    task: JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The RFC 3339 form metadata answers carry.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl FakeEcsMetadata {
    /// A fake with `role` attached (None: no role, the list answers 404), hardened mode
    /// enforced, serving `served`.
    pub async fn start(role: Option<&str>, served: Served) -> FakeEcsMetadata {
        let state = Arc::new(Mutex::new(MetaState {
            hardened: Hardened::Required,
            role: role.map(str::to_owned),
            served,
            fail: None,
            issued: Vec::new(),
            last_ttl: None,
            counts: MetaCounts::default(),
        }));
        let app = Router::new()
            .fallback(meta_handler)
            .with_state(state.clone());
        let (addr, task) = serve(app).await;
        FakeEcsMetadata { addr, state, task }
    }

    /// The base URL providers take: `http://127.0.0.1:<port>/latest/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/latest/", self.addr)
    }

    pub fn serve(&self, served: Served) {
        lock(&self.state).served = served;
    }

    pub fn set_hardened(&self, hardened: Hardened) {
        lock(&self.state).hardened = hardened;
    }

    pub fn set_fail(&self, fail: Option<Fail>) {
        lock(&self.state).fail = fail;
    }

    pub fn counts(&self) -> MetaCounts {
        lock(&self.state).counts.clone()
    }

    /// The TTL header of the last token PUT.
    pub fn last_ttl(&self) -> Option<String> {
        lock(&self.state).last_ttl.clone()
    }
}

impl Drop for FakeEcsMetadata {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(app: Router) -> (SocketAddr, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

fn text(status: u16, body: impl Into<String>) -> Response {
    (StatusCode::from_u16(status).unwrap(), body.into()).into_response()
}

async fn meta_handler(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<MetaState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_owned();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let hang;
    let answer = {
        let mut s = lock(&state);
        if path == TOKEN_PATH {
            if method != Method::PUT {
                return text(405, "method not allowed");
            }
            s.counts.token_puts += 1;
            s.last_ttl = header("x-aliyun-ecs-metadata-token-ttl-seconds");
            if s.hardened == Hardened::Unsupported {
                return text(403, "forbidden");
            }
            let ttl_ok = s
                .last_ttl
                .as_deref()
                .and_then(|t| t.parse::<u32>().ok())
                .is_some_and(|t| (1..=21_600).contains(&t));
            if !ttl_ok {
                return text(400, "bad ttl");
            }
            let token = format!("md-token-{}", s.issued.len() + 1);
            s.issued.push(token.clone());
            return text(200, token);
        }
        if method != Method::GET {
            return text(405, "method not allowed");
        }
        let sent = header("x-aliyun-ecs-metadata-token");
        if sent.is_none() {
            s.counts.without_token += 1;
        }
        if s.hardened == Hardened::Required && !sent.is_some_and(|t| s.issued.contains(&t)) {
            s.counts.refused += 1;
            return text(401, "token required");
        }
        let Some(rest) = path.strip_prefix(ROLES_PATH) else {
            return text(404, "not found");
        };
        if rest.is_empty() {
            s.counts.role_lists += 1;
            return match &s.role {
                Some(role) => text(200, role.clone()),
                None => text(404, "not found"),
            };
        }
        s.counts.credential_gets += 1;
        if s.role.as_deref() != Some(rest) {
            return text(404, "not found");
        }
        hang = matches!(s.fail, Some(Fail::Hang));
        match &s.fail {
            Some(Fail::Status(code)) => {
                return text(*code, "<html>error SECRET-LOOKING-BODY</html>")
            }
            Some(Fail::Body(body)) => return text(200, body.clone()),
            _ => {}
        }
        let c = &s.served;
        serde_json::json!({
            "AccessKeyId": c.access_key_id,
            "AccessKeySecret": c.access_key_secret,
            "SecurityToken": c.security_token,
            "Expiration": rfc3339(c.expiration),
            "LastUpdated": rfc3339(SystemTime::now()),
            "Code": c.code,
        })
        .to_string()
    };
    if hang {
        std::future::pending::<()>().await;
    }
    text(200, answer)
}

/// One request STS received.
#[derive(Debug, Clone)]
pub struct StsRequest {
    pub method: String,
    /// The raw query string.
    pub query: String,
    pub content_type: Option<String>,
    /// The form body, decoded.
    pub form: Vec<(String, String)>,
    /// Whether an `Authorization` header came (the call is anonymous: it must not).
    pub authorization: bool,
}

impl StsRequest {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn query_field(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

struct StsState {
    status: u16,
    body: String,
    requests: Vec<StsRequest>,
}

/// A fake STS answering every POST with the scripted answer.
pub struct FakeSts {
    addr: SocketAddr,
    state: Arc<Mutex<StsState>>,
    task: JoinHandle<()>,
}

/// The documented AssumeRoleWithOIDC success.
pub fn sts_success(id: &str, secret: &str, token: &str, expiration: SystemTime) -> String {
    serde_json::json!({
        "RequestId": "3D57EAD2-8723-1F26-B69C-F8707D8B565D",
        "OIDCTokenInfo": {"Subject": "system:serviceaccount:ns:sa", "Issuer": "https://oidc"},
        "AssumedRoleUser": {"AssumedRoleId": "33157794895460****", "Arn": "acs:ram::1:role/r/s"},
        "Credentials": {
            "AccessKeyId": id,
            "AccessKeySecret": secret,
            "SecurityToken": token,
            "Expiration": rfc3339(expiration),
        },
    })
    .to_string()
}

impl FakeSts {
    pub async fn start(status: u16, body: String) -> FakeSts {
        let state = Arc::new(Mutex::new(StsState {
            status,
            body,
            requests: Vec::new(),
        }));
        let app = Router::new()
            .fallback(sts_handler)
            .with_state(state.clone());
        let (addr, task) = serve(app).await;
        FakeSts { addr, state, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn answer(&self, status: u16, body: String) {
        let mut s = lock(&self.state);
        s.status = status;
        s.body = body;
    }

    pub fn requests(&self) -> Vec<StsRequest> {
        lock(&self.state).requests.clone()
    }
}

impl Drop for FakeSts {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn sts_handler(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<StsState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = lock(&state);
    s.requests.push(StsRequest {
        method: method.to_string(),
        query: uri.query().unwrap_or_default().to_owned(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        form: url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        authorization: headers.contains_key("authorization"),
    });
    let mut response = text(s.status, s.body.clone());
    response.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json;charset=utf-8"),
    );
    response
}

/// Credentials that expire `in_secs` from now.
pub fn served(id: &str, secret: &str, token: &str, in_secs: u64) -> Served {
    Served {
        access_key_id: id.into(),
        access_key_secret: secret.into(),
        security_token: token.into(),
        expiration: SystemTime::now() + Duration::from_secs(in_secs),
        code: "Success".into(),
    }
}
