//! The HTTP side of the fake MNS: accept loop, connections, and the request pipeline
//! (route → body → signature, date, token → queue → fault → operation).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE, DATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use percent_encoding::percent_decode_str;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

use super::faults::Fault;
use super::state::FakeMnsState;
use crate::alibaba::mns::sign::{sign, SigningInput, MNS_VERSION};
use crate::alibaba::mns::xml::{self, ReceivedMessage, NAMESPACE};
use crate::transport::clock::unix_secs;

/// Largest request body the fake reads.
const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// How far a request's `Date` may be from the fake's clock.
const DATE_WINDOW_SECS: i64 = 900;

type Body = Full<Bytes>;

/// Makes hyper close the connection without an answer.
#[derive(Debug)]
pub(super) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fake")
    }
}

impl std::error::Error for DropConnection {}

use crate::fake::wait_shutdown;

pub(super) async fn accept_loop(
    listener: TcpListener,
    state: FakeMnsState,
    shutdown: watch::Receiver<bool>,
) {
    crate::fake::accept_loop(
        listener,
        shutdown,
        Duration::from_secs(2),
        move |stream, shutdown| serve_connection(stream, state.clone(), shutdown),
    )
    .await;
}

async fn serve_connection(
    stream: TcpStream,
    state: FakeMnsState,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let limit = state.lock().config.max_requests_per_connection;
    let served = Arc::new(AtomicU32::new(0));
    let close = Arc::new(Notify::new());
    let service = {
        let (served, close, shutdown) = (served.clone(), close.clone(), shutdown.clone());
        service_fn(move |req| {
            let (state, served, close, shutdown) = (
                state.clone(),
                served.clone(),
                close.clone(),
                shutdown.clone(),
            );
            async move {
                let answer = handle(&state, shutdown, req).await;
                let n = served.fetch_add(1, Ordering::AcqRel) + 1;
                if limit.is_some_and(|limit| n >= limit) {
                    close.notify_one();
                }
                answer
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new());
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = async {
            close.notified().await;
            // Let the answer leave, then close the idle connection under the client, without
            // a `Connection: close`: the client finds out when it reuses it.
            tokio::time::sleep(Duration::from_millis(2)).await;
        } => {}
        _ = wait_shutdown(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn request_id() -> String {
    format!("{:024X}", fastrand::u128(..) >> 32)
}

fn reply(state: &FakeMnsState, status: StatusCode, body: String, id: &str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=utf-8"),
    );
    h.insert("x-mns-version", HeaderValue::from_static(MNS_VERSION));
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert("x-mns-request-id", v);
    }
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(state.now())) {
        h.insert(DATE, date);
    }
    resp
}

fn error(state: &FakeMnsState, status: u16, code: &str, message: &str, id: &str) -> Response<Body> {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Error xmlns="{NAMESPACE}"><Code>{code}</Code><Message>{}</Message><RequestId>{id}</RequestId><HostId>http://fake-mns.127.0.0.1</HostId></Error>"#,
        quick_xml::escape::escape(message)
    );
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    reply(state, status, body, id)
}

fn status_of(code: &str) -> u16 {
    match code {
        "MessageNotExist" | "QueueNotExist" => 404,
        "AccessDenied"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "InvalidSecurityToken" => 403,
        _ => 400,
    }
}

/// What one request asks for.
struct Call<'a> {
    method: Method,
    queue: String,
    query: Vec<(String, String)>,
    body: &'a [u8],
}

impl Call<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes `%XX` only: MNS takes a `+` in a query value literally (the Python SDK sends
/// handles unencoded), so a client that leaves `+` bare still works.
fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

async fn handle(
    state: &FakeMnsState,
    mut shutdown: watch::Receiver<bool>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let id = request_id();
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let segments: Vec<&str> = parts.uri.path().split('/').collect();
    let queue = match segments.as_slice() {
        ["", "queues", name, "messages"] => decode(name),
        _ => {
            let e = "The fake serves /queues/<name>/messages only.";
            return Ok(error(state, 400, "InvalidArgument", e, &id));
        }
    };
    let collected = tokio::select! {
        c = Limited::new(body, MAX_REQUEST_BYTES).collect() => c,
        _ = wait_shutdown(&mut shutdown) => return Err(DropConnection),
    };
    let Ok(bytes) = collected.map(|c| c.to_bytes()) else {
        return Ok(error(state, 400, "InvalidArgument", "body too large", &id));
    };
    if let Err((code, message)) = authenticate(state, &parts.method, headers, &target) {
        state.count(|s| s.auth_failures += 1);
        return Ok(error(state, status_of(code), code, &message, &id));
    }
    state.count(|s| {
        s.requests += 1;
        s.requests_with_token += u64::from(headers.contains_key("security-token"));
    });
    if !state.has_queue(&queue) {
        return Ok(error(
            state,
            404,
            "QueueNotExist",
            "The queue name you provided is not exist.",
            &id,
        ));
    }
    let call = Call {
        method: parts.method.clone(),
        queue,
        query: parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect(),
        body: &bytes,
    };
    let fault = state.take_fault();
    match &fault {
        Some(Fault::InternalError) => {
            return Ok(error(state, 500, "InternalError", "injected fault", &id))
        }
        Some(Fault::QpsLimitExceeded) => {
            return Ok(error(state, 403, "QpsLimitExceeded", "injected fault", &id))
        }
        Some(Fault::Reset) => return Err(DropConnection),
        Some(Fault::Slow(delay)) => tokio::select! {
            _ = tokio::time::sleep(*delay) => {}
            _ = wait_shutdown(&mut shutdown) => return Err(DropConnection),
        },
        _ => {}
    }
    let partial = fault == Some(Fault::PartialDelete);
    let answer = operate(state, &call, partial, &mut shutdown, &id).await?;
    match fault {
        Some(Fault::AppliedButLost) => Err(DropConnection),
        Some(Fault::TruncatedXml) => {
            let (parts, body) = answer.into_parts();
            let full = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            Ok(Response::from_parts(
                parts,
                Full::new(full.slice(..full.len() / 2)),
            ))
        }
        _ => Ok(answer),
    }
}

/// Checks the signature as MNS does: the `Date` (or `x-mns-date`), the version header, the
/// key, the HMAC over exactly the request-target received, and the STS token if one is set.
fn authenticate(
    state: &FakeMnsState,
    method: &Method,
    headers: &HeaderMap,
    target: &str,
) -> Result<(), (&'static str, String)> {
    let config = state.lock().config.clone();
    let date = header(headers, "x-mns-date")
        .or_else(|| header(headers, "date"))
        .ok_or(("MissingDateHeader", "Date header is required.".to_owned()))?;
    if header(headers, "x-mns-version") != Some(MNS_VERSION) {
        return Err((
            "MissingVersionHeader",
            "x-mns-version 2015-06-06 is required.".into(),
        ));
    }
    let auth = header(headers, "authorization").unwrap_or_default();
    let (key_id, signature) = auth
        .strip_prefix("MNS ")
        .and_then(|rest| rest.split_once(':'))
        .ok_or((
            "AccessDenied",
            "Authorization must be MNS <id>:<signature>.".to_owned(),
        ))?;
    let credential = config
        .credentials
        .iter()
        .find(|c| c.access_key_id == key_id)
        .ok_or((
            "InvalidAccessKeyId",
            "The AccessKeyId is not known.".to_owned(),
        ))?;
    let sent: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let expected = sign(
        &SigningInput {
            method: method.as_str(),
            content_md5: header(headers, "content-md5"),
            content_type: header(headers, "content-type"),
            date,
            headers: &sent,
            resource: target,
        },
        key_id,
        &credential.access_key_secret,
    );
    if expected.signature != signature {
        return Err((
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.".into(),
        ));
    }
    let when = httpdate::parse_http_date(date).map_err(|_| {
        (
            "InvalidArgument",
            "The Date header is not RFC 1123.".to_owned(),
        )
    })?;
    let now = unix_secs(state.now());
    if (unix_secs(when) - now).abs() > DATE_WINDOW_SECS {
        return Err((
            "TimeExpired",
            "The http request you sent is expired.".into(),
        ));
    }
    if let Some(token) = &config.required_token {
        if header(headers, "security-token") != Some(token.as_str()) {
            return Err((
                "InvalidSecurityToken",
                "The security token is missing or wrong.".into(),
            ));
        }
    }
    Ok(())
}

async fn operate(
    state: &FakeMnsState,
    call: &Call<'_>,
    partial: bool,
    shutdown: &mut watch::Receiver<bool>,
    id: &str,
) -> Result<Response<Body>, DropConnection> {
    let q = call.queue.as_str();
    let refused = |code: &str| error(state, status_of(code), code, "refused", id);
    match (&call.method, call.param("ReceiptHandle")) {
        (&Method::GET, _) => {
            let max: usize = call
                .param("numOfMessages")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            if !(1..=16).contains(&max) {
                return Ok(refused("InvalidArgument"));
            }
            let wait: u64 = call
                .param("waitseconds")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let got = long_poll(state, q, max, wait.min(30), shutdown).await?;
            if got.is_empty() {
                return Ok(error(
                    state,
                    404,
                    "MessageNotExist",
                    "Message not exist.",
                    id,
                ));
            }
            let single = call.param("numOfMessages").is_none();
            Ok(reply(state, StatusCode::OK, messages_xml(&got, single), id))
        }
        (&Method::DELETE, Some(handle)) => Ok(match state.delete(q, handle) {
            Ok(()) => reply(state, StatusCode::NO_CONTENT, String::new(), id),
            Err(code) => refused(code),
        }),
        (&Method::DELETE, None) => {
            let text = String::from_utf8_lossy(call.body);
            let Ok(handles) = xml::parse_receipt_handles(&text) else {
                return Ok(refused("MalformedXML"));
            };
            if handles.is_empty() || handles.len() > 16 {
                return Ok(refused("InvalidArgument"));
            }
            let mut failures = String::new();
            for (i, handle) in handles.iter().enumerate() {
                let outcome = if partial && i % 2 == 1 {
                    Err("ReceiptHandleError")
                } else {
                    state.delete(q, handle)
                };
                if let Err(code) = outcome {
                    failures.push_str(&format!(
                        "<Error><ErrorCode>{code}</ErrorCode><ErrorMessage>refused</ErrorMessage><ReceiptHandle>{}</ReceiptHandle></Error>",
                        quick_xml::escape::escape(handle.as_str())
                    ));
                }
            }
            Ok(if failures.is_empty() {
                reply(state, StatusCode::NO_CONTENT, String::new(), id)
            } else {
                let body = format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><Errors xmlns="{NAMESPACE}">{failures}</Errors>"#
                );
                reply(state, StatusCode::NOT_FOUND, body, id)
            })
        }
        (&Method::PUT, Some(handle)) => {
            let Some(secs) = call
                .param("VisibilityTimeout")
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|s| *s <= 43_200)
            else {
                return Ok(refused("InvalidArgument"));
            };
            Ok(match state.change_visibility(q, handle, secs) {
                Ok((new, until)) => {
                    let body = format!(
                        r#"<?xml version="1.0" encoding="UTF-8"?><ChangeVisibility xmlns="{NAMESPACE}"><ReceiptHandle>{}</ReceiptHandle><NextVisibleTime>{until}</NextVisibleTime></ChangeVisibility>"#,
                        quick_xml::escape::escape(new.as_str())
                    );
                    reply(state, StatusCode::OK, body, id)
                }
                Err(code) => refused(code),
            })
        }
        _ => Ok(refused("InvalidArgument")),
    }
}

/// Answers at once when messages are visible; otherwise holds until one is sent, a hidden
/// one surfaces, or the wait (capped by the config's `max_hold`) ends.
async fn long_poll(
    state: &FakeMnsState,
    queue: &str,
    max: usize,
    wait_secs: u64,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Vec<ReceivedMessage>, DropConnection> {
    let hold = Duration::from_secs(wait_secs).min(state.lock().config.max_hold);
    let deadline = tokio::time::Instant::now() + hold;
    loop {
        let notified = state.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let got = state.receive(queue, max).unwrap_or_default();
        let now = tokio::time::Instant::now();
        if !got.is_empty() || now >= deadline {
            return Ok(got);
        }
        let surfacing = state
            .next_surfacing_ms(queue)
            .map(|at| now + Duration::from_millis(at.saturating_sub(state.now_ms_pub()) + 1));
        let until = surfacing.map_or(deadline, |s| s.min(deadline));
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(until) => {}
            _ = wait_shutdown(shutdown) => return Ok(Vec::new()),
        }
    }
}

fn messages_xml(messages: &[ReceivedMessage], single: bool) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    if !single {
        out.push_str(&format!(r#"<Messages xmlns="{NAMESPACE}">"#));
    }
    for m in messages {
        let xmlns = if single {
            format!(r#" xmlns="{NAMESPACE}""#)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "<Message{xmlns}><MessageId>{}</MessageId><ReceiptHandle>{}</ReceiptHandle><MessageBodyMD5>{}</MessageBodyMD5><MessageBody>{}</MessageBody><EnqueueTime>{}</EnqueueTime><NextVisibleTime>{}</NextVisibleTime><FirstDequeueTime>{}</FirstDequeueTime><DequeueCount>{}</DequeueCount><Priority>8</Priority></Message>",
            m.message_id,
            quick_xml::escape::escape(m.receipt_handle.as_str()),
            m.message_body_md5.as_deref().unwrap_or_default(),
            quick_xml::escape::escape(m.message_body.as_str()),
            m.enqueue_time.unwrap_or_default(),
            m.next_visible_time,
            m.first_dequeue_time.unwrap_or_default(),
            m.dequeue_count.unwrap_or(1),
        ));
    }
    if !single {
        out.push_str("</Messages>");
    }
    out
}
