//! The HTTP side: accept loop, connections, and the request pipeline
//! (size limit → signature → version/action → body → rate limit → fault → action).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, DATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::auth::{verify, AuthPolicy, AuthRequest};
use super::faults::Fault;
use super::state::{ApiError, FakeState};
use super::Action;

/// The API version the fake serves.
const VERSION: &str = "2018-07-17";
/// How long in-flight requests may run on after shutdown starts.
const DRAIN: Duration = Duration::from_secs(2);

type Body = Full<Bytes>;

/// Returned by the service to make hyper close the connection without a response.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fake")
    }
}

impl std::error::Error for DropConnection {}

pub(crate) use crate::fake::wait_shutdown;

pub(crate) async fn accept_loop(
    listener: TcpListener,
    state: FakeState,
    shutdown: watch::Receiver<bool>,
) {
    crate::fake::accept_loop(
        listener,
        shutdown,
        DRAIN + Duration::from_millis(500),
        move |stream, shutdown| serve_connection(stream, state.clone(), shutdown),
    )
    .await;
}

async fn serve_connection(
    stream: TcpStream,
    state: FakeState,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service_shutdown = shutdown.clone();
    let service = service_fn(move |req| {
        let state = state.clone();
        let shutdown = service_shutdown.clone();
        async move { handle(state, shutdown, req).await }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = wait_shutdown(&mut shutdown) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(DRAIN, conn).await;
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A random UUID-v4-shaped request id.
fn request_id() -> String {
    let r = fastrand::u128(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        (r >> 96) as u32,
        (r >> 80) as u16,
        (r >> 68) as u16 & 0xfff,
        8 + ((r >> 66) as u8 & 0x3),
        (r >> 48) as u16 & 0xfff,
        r as u64 & 0xffff_ffff_ffff
    )
}

fn response(
    state: &FakeState,
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Body> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(state.now())) {
        headers.insert(DATE, date);
    }
    resp
}

fn ok_json(state: &FakeState, text: String) -> Response<Body> {
    response(state, StatusCode::OK, "application/json", Bytes::from(text))
}

fn error_text(code: &str, message: &str, request_id: &str) -> String {
    json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}})
        .to_string()
}

fn api_error(state: &FakeState, err: &ApiError, request_id: &str) -> Response<Body> {
    state.count_error(&err.code, false);
    ok_json(state, error_text(&err.code, &err.message, request_id))
}

fn err(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

async fn handle(
    state: FakeState,
    mut shutdown: watch::Receiver<bool>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let request_id = request_id();
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let action_name = header(headers, "x-tc-action").unwrap_or("");
    state.count_request(action_name, headers.contains_key("x-tc-token"));

    if parts.method != Method::POST || parts.uri.path() != "/" {
        let e = err(
            "UnsupportedOperation",
            "The fake accepts only `POST /` with a JSON body.",
        );
        return Ok(api_error(&state, &e, &request_id));
    }

    // Body, capped.
    let max = state.lock().config.max_request_bytes;
    let too_big = err(
        "RequestSizeLimitExceeded",
        format!("The request body exceeds {max} bytes."),
    );
    let declared =
        header(headers, CONTENT_LENGTH.as_str()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Ok(api_error(&state, &too_big, &request_id));
    }
    let collected = tokio::select! {
        c = Limited::new(body, max).collect() => c,
        _ = wait_shutdown(&mut shutdown) => return Err(DropConnection),
    };
    let bytes = match collected {
        Ok(c) => c.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Ok(api_error(&state, &too_big, &request_id));
        }
        Err(_) => return Err(DropConnection),
    };

    // Signature.
    let (credentials, required_token, max_skew) = {
        let inner = state.lock();
        (
            inner.config.credentials.clone(),
            inner.config.required_token.clone(),
            inner.config.max_clock_skew_secs,
        )
    };
    let checked = verify(
        &AuthRequest {
            authorization: header(headers, "authorization"),
            timestamp: header(headers, "x-tc-timestamp"),
            token: header(headers, "x-tc-token"),
            host: header(headers, "host").unwrap_or(""),
            content_type: header(headers, "content-type").unwrap_or(""),
            body: &bytes,
        },
        &AuthPolicy {
            credentials: &credentials,
            required_token: required_token.as_deref(),
            now: state.now_unix(),
            max_skew,
        },
    );
    if let Err(e) = checked {
        state.count_error(e.code, e.is_auth_failure);
        return Ok(ok_json(&state, error_text(e.code, &e.message, &request_id)));
    }

    // Version, action, parameters.
    let request = match parse_request(headers, action_name, &bytes) {
        Ok(r) => r,
        Err(e) => return Ok(api_error(&state, &e, &request_id)),
    };

    // Rate limit, then faults.
    let fault = match state.admit(request.action) {
        Ok(f) => f,
        Err(e) => return Ok(api_error(&state, &e, &request_id)),
    };
    match &fault {
        Some(Fault::HttpStatus(code)) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = format!(
                "<html><head><title>{status}</title></head><body><center><h1>{status}</h1></center></body></html>\n"
            );
            return Ok(response(&state, status, "text/html", Bytes::from(body)));
        }
        Some(Fault::ApiError { code, message }) => {
            return Ok(api_error(&state, &err(code, message.clone()), &request_id));
        }
        Some(Fault::Disconnect) => return Err(DropConnection),
        Some(Fault::Hang) => {
            wait_shutdown(&mut shutdown).await;
            return Err(DropConnection);
        }
        Some(Fault::GarbageBody) => {
            let body = Bytes::from_static(
                b"<!DOCTYPE html>\n<html><body>upstream said: \x00\x01 not json }{\n",
            );
            return Ok(response(&state, StatusCode::OK, "application/json", body));
        }
        Some(Fault::OversizeBody(n)) => return Ok(ok_json(&state, oversize(*n, &request_id))),
        Some(Fault::Slow(delay)) => {
            tokio::select! {
                _ = tokio::time::sleep(*delay) => {}
                _ = wait_shutdown(&mut shutdown) => return Err(DropConnection),
            }
        }
        Some(Fault::TruncatedBody | Fault::AppliedButLost | Fault::DuplicateEvents) | None => {}
    }

    let outcome = run(&state, &request, &request_id, &mut shutdown).await;
    let text = match outcome {
        Ok(text) => text,
        Err(e) => {
            state.count_error(&e.code, false);
            error_text(&e.code, &e.message, &request_id)
        }
    };
    match fault {
        Some(Fault::AppliedButLost) => Err(DropConnection),
        Some(Fault::TruncatedBody) => {
            let mut bytes = text.into_bytes();
            bytes.truncate(bytes.len() / 2);
            Ok(response(
                &state,
                StatusCode::OK,
                "application/json",
                Bytes::from(bytes),
            ))
        }
        Some(Fault::DuplicateEvents) => Ok(ok_json(&state, duplicate_event_set(text))),
        _ => Ok(ok_json(&state, text)),
    }
}

/// `{"Response":{"EventSet":[a,b],...}}` → `{"Response":{"EventSet":[a,a,b,b],...}}`;
/// any other answer is returned unchanged.
fn duplicate_event_set(text: String) -> String {
    let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
        return text;
    };
    let Some(Value::Array(set)) = value.pointer_mut("/Response/EventSet") else {
        return text;
    };
    let doubled: Vec<Value> = set
        .drain(..)
        .flat_map(|event| [event.clone(), event])
        .collect();
    *set = doubled;
    value.to_string()
}

struct ParsedRequest {
    action: Action,
    sub_app_id: Option<u64>,
    params: Map<String, Value>,
}

fn parse_request(
    headers: &HeaderMap,
    action_name: &str,
    body: &[u8],
) -> Result<ParsedRequest, ApiError> {
    match header(headers, "x-tc-version") {
        None => {
            return Err(err(
                "MissingParameter",
                "The parameter `X-TC-Version` is missing.",
            ))
        }
        Some(VERSION) => {}
        Some(v) => {
            return Err(err(
                "NoSuchVersion",
                format!("The API version `{v}` does not exist."),
            ))
        }
    }
    if action_name.is_empty() {
        return Err(err(
            "MissingParameter",
            "The parameter `X-TC-Action` is missing.",
        ));
    }
    let Some(action) = Action::from_name(action_name) else {
        return Err(err(
            "InvalidAction",
            format!("The action `{action_name}` is not valid."),
        ));
    };
    let params = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(err(
                "InvalidParameter",
                "The request body must be a JSON object.",
            ))
        }
        Err(e) => {
            return Err(err(
                "InvalidParameter",
                format!("The request body is not valid JSON: {e}."),
            ))
        }
    };
    let sub_app_id = match params.get("SubAppId") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(id) => Some(id),
            None => {
                return Err(err(
                    "InvalidParameterValue",
                    "`SubAppId` must be an unsigned integer.",
                ))
            }
        },
    };
    Ok(ParsedRequest {
        action,
        sub_app_id,
        params,
    })
}

async fn run(
    state: &FakeState,
    req: &ParsedRequest,
    request_id: &str,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<String, ApiError> {
    let app = req.sub_app_id;
    match req.action {
        Action::PullEvents => state.pull(app, request_id, shutdown).await,
        Action::ConfirmEvents => {
            state.confirm(app, &req.params)?;
            Ok(json!({"Response": {"RequestId": request_id}}).to_string())
        }
        Action::DescribeEventsState => Ok(json!({"Response": {
            "CountOfEventsToPull": state.count_of_events_to_pull(app),
            "RequestId": request_id,
        }})
        .to_string()),
        Action::DescribeEventConfig => {
            let c = state.event_config(app);
            Ok(json!({"Response": {
                "Mode": c.mode,
                "NotificationUrl": c.notification_url,
                "UploadMediaCompleteEventSwitch": c.upload_media_complete_event_switch,
                "DeleteMediaCompleteEventSwitch": c.delete_media_complete_event_switch,
                "PersistenceCompleteEventSwitch": c.persistence_complete_event_switch,
                "RequestId": request_id,
            }})
            .to_string())
        }
        Action::ModifyEventConfig => {
            state.modify_event_config(app, &req.params)?;
            Ok(json!({"Response": {"RequestId": request_id}}).to_string())
        }
    }
}

/// A valid JSON response of `n` bytes (or the smallest possible one, if bigger).
fn oversize(n: usize, request_id: &str) -> String {
    let head = format!("{{\"Response\":{{\"RequestId\":\"{request_id}\",\"Padding\":\"");
    let tail = "\"}}";
    let pad = n.saturating_sub(head.len() + tail.len());
    let mut out = String::with_capacity(head.len() + pad + tail.len());
    out.push_str(&head);
    out.extend(std::iter::repeat_n('x', pad));
    out.push_str(tail);
    out
}
