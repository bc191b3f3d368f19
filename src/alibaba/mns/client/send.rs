//! Sending one MNS request: signing, the retry loop with the shared policy and budgets,
//! credentials kept fresh, the server's clock learned from `Date`, and reading the answer
//! under the cap into a reply or an [`Error`].

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, DATE, USER_AGENT};
use tokio::time::Instant;
use tracing::Instrument;

use super::{Failure, MnsClient, Op, Reply, Sent, CONTENT_TYPE_XML};
use crate::alibaba::credentials::{Credentials, CredentialsError};
use crate::alibaba::mns::error::is_token_refused_code;
use crate::alibaba::mns::error::{body_snippet, Error};
use crate::alibaba::mns::sign::{http_date, sign, SigningInput, MNS_VERSION};
use crate::alibaba::mns::xml;
use crate::transport::clock::unix_secs;
use crate::transport::http::{self, ReadError};
use crate::transport::tls;
use crate::transport::{Decision, GiveUpReason, RetryBudget};

impl MnsClient {
    /// Sends `op` until an answer `decode` accepts, or the retries give up. Decoding is part
    /// of the attempt, so a truncated answer is retried like a reset.
    pub(super) async fn call<T>(
        &self,
        op: Op,
        decode: impl Fn(&Reply) -> Result<T, Error>,
    ) -> Result<(T, Reply), Error> {
        let span = tracing::debug_span!("mns_call", operation = op.name);
        self.retry_loop(op, decode).instrument(span).await
    }

    async fn retry_loop<T>(
        &self,
        op: Op,
        decode: impl Fn(&Reply) -> Result<T, Error>,
    ) -> Result<(T, Reply), Error> {
        let inner = &self.inner;
        let budget = if op.name == "BatchReceiveMessage" {
            &inner.receive_budget
        } else {
            &inner.other_budget
        };
        let mut attempt: u32 = 1;
        let mut resigned_for_skew = false;
        let mut resigned_for_token = false;
        let mut retry_cost: Option<u32> = None;
        let mut lost_before = false;
        loop {
            let timeout = match op.deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout {
                            operation: op.name,
                            after: Duration::ZERO,
                        });
                    }
                    op.timeout.min(left)
                }
                None => op.timeout,
            };
            let outcome = match self.attempt(&op, timeout).await {
                Ok(reply) => match decode(&reply) {
                    Ok(value) => Ok((value, reply)),
                    Err(error) => Err(Failure::from(error)),
                },
                Err(failure) => Err(failure),
            };
            match outcome {
                Ok((value, mut reply)) => {
                    budget.refund(retry_cost.unwrap_or(1));
                    reply.after_lost_attempt = lost_before;
                    tracing::debug!(attempt, request_id = %reply.request_id, status = reply.status, "ok");
                    return Ok((value, reply));
                }
                Err(Failure { error, server_date }) => {
                    if error.is_time_expired() && !resigned_for_skew {
                        if let Some(server) = server_date {
                            resigned_for_skew = true;
                            inner
                                .skew
                                .learn(server, inner.clock.now(), "Alibaba Cloud MNS");
                            continue;
                        }
                    }
                    // A refused security token was dropped from the cache by the attempt:
                    // sign again at once with fresh credentials, once per call.
                    if error.is_token_refused() && !resigned_for_token {
                        resigned_for_token = true;
                        tracing::info!(
                            "security token refused; signing again with refreshed credentials"
                        );
                        continue;
                    }
                    // The request may have been applied without its answer reaching us.
                    lost_before |= matches!(
                        error,
                        Error::Transport { .. } | Error::Timeout { .. } | Error::Decode { .. }
                    );
                    let remaining = op
                        .deadline
                        .map(|d| d.saturating_duration_since(Instant::now()));
                    let random = lock(&inner.rng).f64();
                    let mut decision = inner.retry.decide(attempt, &error, random, remaining);
                    if matches!(decision, Decision::RetryAfter(_)) {
                        if budget.try_spend(&error) {
                            retry_cost = Some(RetryBudget::cost(&error));
                        } else {
                            decision = Decision::GiveUp(GiveUpReason::BudgetExhausted);
                        }
                    }
                    match decision {
                        Decision::RetryAfter(delay) => {
                            tracing::debug!(error = %error, ?delay, attempt, "retrying");
                            tokio::time::sleep(delay).await;
                            attempt += 1;
                        }
                        Decision::GiveUp(reason) => {
                            tracing::debug!(error = %error, ?reason, attempt, "giving up");
                            return Err(error);
                        }
                    }
                }
            }
        }
    }

    /// Credentials from the cache, which resolves them on first use and refreshes temporary
    /// ones ahead of their expiry, one refresh at a time.
    pub(super) async fn credentials(
        &self,
    ) -> Result<std::sync::Arc<Credentials>, CredentialsError> {
        let inner = &self.inner;
        inner
            .resolved
            .get(
                || inner.skew.server_time(inner.clock.now()),
                || inner.credentials.provide(),
            )
            .await
    }

    pub(super) fn sent_now(&self, at: Instant, wall: SystemTime) -> Sent {
        let local_ms = wall
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Sent {
            at,
            server_ms: local_ms + self.inner.skew.offset_secs() * 1000,
        }
    }

    /// Learns the server's clock from an answer's `Date` when it differs from what is known
    /// by more than the header's one-second grain could explain.
    fn observe_date(&self, server: SystemTime) {
        let local = self.inner.clock.now();
        let observed = unix_secs(server) - unix_secs(local);
        if (observed - self.inner.skew.offset_secs()).abs() >= 2 {
            self.inner.skew.learn(server, local, "Alibaba Cloud MNS");
        }
    }

    async fn attempt(&self, op: &Op, timeout: Duration) -> Result<Reply, Failure> {
        let inner = &self.inner;
        let creds = self.credentials().await.map_err(Error::from)?;
        let wall = inner.clock.now();
        let server_secs = inner.skew.server_now_unix(wall);
        let date = http_date(UNIX_EPOCH + Duration::from_secs(server_secs.max(0) as u64));
        let url = inner
            .origin
            .join(&op.target)
            .map_err(|e| Error::InvalidRequest {
                operation: op.name,
                reason: format!("the request target is not a URL path: {e}"),
            })?;
        // Sign exactly the request-target reqwest sends: the URL's path and query.
        let resource = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let content_type = op.body.as_ref().map(|_| CONTENT_TYPE_XML);
        let signed = sign(
            &SigningInput {
                method: op.method.as_str(),
                content_md5: None,
                content_type,
                date: &date,
                headers: &[("x-mns-version", MNS_VERSION)],
                resource: &resource,
            },
            creds.access_key_id(),
            creds.access_key_secret().expose(),
        );
        tracing::trace!(string_to_sign = %signed.string_to_sign, "signed");
        let mut authorization = secret_header(op.name, &signed.authorization)?;
        authorization.set_sensitive(true);
        let mut request = inner
            .http
            .request(op.method.clone(), url)
            .header(DATE, secret_header(op.name, &date)?)
            .header("x-mns-version", HeaderValue::from_static(MNS_VERSION))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .header(AUTHORIZATION, authorization)
            .timeout(timeout);
        if let Some(token) = creds.security_token() {
            let mut value = secret_header(op.name, token.expose())?;
            value.set_sensitive(true);
            request = request.header("security-token", value);
        }
        if let Some(body) = &op.body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_XML))
                .body(body.clone());
        }
        let operation = op.name;
        let transport = |e: reqwest::Error| -> Failure {
            if e.is_timeout() {
                Error::Timeout {
                    operation,
                    after: timeout,
                }
            } else if let Some(problem) = tls::classify(&e) {
                Error::Tls {
                    operation,
                    endpoint: http::origin_for_display(&inner.origin),
                    problem,
                    source: e.without_url(),
                }
            } else {
                Error::Transport {
                    operation,
                    source: e.without_url(),
                }
            }
            .into()
        };
        let sent_at = Instant::now();
        let response = request.send().await.map_err(transport)?;
        let request_id = response
            .headers()
            .get("x-mns-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let limit = inner.max_response_bytes;
        let answer = http::read_answer(response, &inner.origin, limit)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => Error::BodyTooLarge { operation, limit }.into(),
                ReadError::Transport(e) => transport(e),
                ReadError::OtherOrigin { origin } => Error::Redirected { operation, origin }.into(),
            })?;
        if let Some(server) = answer.server_date {
            self.observe_date(server);
        }
        let reply = Reply {
            status: answer.status,
            sent: self.sent_now(sent_at, wall),
            request_id,
            body: answer.body,
            after_lost_attempt: false,
        };
        if (200..300).contains(&reply.status) {
            return Ok(reply);
        }
        let text = String::from_utf8_lossy(&reply.body);
        match xml::root_name(&text).as_deref() {
            Some("Errors") if op.per_handle_errors => Ok(reply),
            Some("Error") => {
                // An `<Error>` that does not parse was cut short on the way (a truncated
                // answer): retried like one, never taken for an error without a code.
                let parsed = xml::parse_error(&text).and_then(|body| {
                    if body.code.is_empty() {
                        Err(xml::XmlError::Custom("an <Error> without a <Code>".into()))
                    } else {
                        Ok(body)
                    }
                });
                let body = match parsed {
                    Ok(body) => body,
                    Err(e) => {
                        return Err(Failure {
                            error: Error::Decode {
                                operation,
                                reason: format!("HTTP {}: {e}", reply.status),
                                body_snippet: body_snippet(&reply.body),
                            },
                            server_date: answer.server_date,
                        })
                    }
                };
                if is_token_refused_code(&body.code) {
                    inner.resolved.invalidate(&creds);
                }
                Err(Failure {
                    error: Error::Api {
                        operation,
                        status: reply.status,
                        code: body.code,
                        message: body.message,
                        request_id: if body.request_id.is_empty() {
                            reply.request_id
                        } else {
                            body.request_id
                        },
                        host_id: body.host_id,
                    },
                    server_date: answer.server_date,
                })
            }
            _ => Err(Failure {
                error: Error::HttpStatus {
                    operation,
                    status: reply.status,
                    body_snippet: body_snippet(&reply.body),
                },
                server_date: answer.server_date,
            }),
        }
    }
}

const USER_AGENT_VALUE: &str = concat!("vod-events/", env!("CARGO_PKG_VERSION"));

fn secret_header(operation: &'static str, text: &str) -> Result<HeaderValue, Error> {
    // Never echo the value: it may be a token.
    HeaderValue::from_str(text).map_err(|_| Error::InvalidRequest {
        operation,
        reason: "a credential or header contains characters not allowed in an HTTP header".into(),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
