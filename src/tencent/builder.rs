//! Building a [`Client`]: endpoint, credentials, timeouts, retries, pacing, clock.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::credentials::CredentialsCache;
use reqwest::header::HeaderValue;

use crate::tencent::client::{
    Client, Clock, Inner, PerAction, SystemClock, DEFAULT_CONNECT_TIMEOUT, DEFAULT_ENDPOINT,
    DEFAULT_EVENT_ACTION_RATE, DEFAULT_LONG_POLL_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_OTHER_ACTION_RATE, DEFAULT_REQUEST_TIMEOUT,
};
use crate::tencent::credentials::{DefaultChain, ProvideCredentials};
use crate::tencent::error::Error;
use crate::transport::clock::ClockSkew;
use crate::transport::http::{self, origin_for_display, HttpOptions};
use crate::transport::tls::ExtraRoots;
use crate::transport::{Pacer, RetryBudget, RetryPolicy};

/// Builds a [`Client`].
pub struct ClientBuilder {
    endpoint: String,
    allow_insecure_http: bool,
    credentials: Option<Arc<dyn ProvideCredentials>>,
    region: Option<String>,
    language: Option<String>,
    sub_app_id: Option<u64>,
    http: Option<reqwest::Client>,
    roots: ExtraRoots,
    connect_timeout: Duration,
    request_timeout: Duration,
    long_poll_timeout: Duration,
    max_response_bytes: usize,
    retry: RetryPolicy,
    retry_budget: u32,
    event_action_rate: f64,
    other_action_rate: f64,
    clock: Arc<dyn Clock>,
    jitter_seed: Option<u64>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = reqwest::Url::parse(self.endpoint.trim())
            .map(|url| origin_for_display(&url))
            .unwrap_or_else(|_| "(not a URL)".into());
        f.debug_struct("ClientBuilder")
            .field("endpoint", &endpoint)
            .field("credentials", &self.credentials)
            .field("sub_app_id", &self.sub_app_id)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoint: DEFAULT_ENDPOINT.into(),
            allow_insecure_http: false,
            credentials: None,
            region: None,
            language: None,
            sub_app_id: None,
            http: None,
            roots: ExtraRoots::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            long_poll_timeout: DEFAULT_LONG_POLL_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryPolicy::default(),
            retry_budget: 500,
            event_action_rate: DEFAULT_EVENT_ACTION_RATE,
            other_action_rate: DEFAULT_OTHER_ACTION_RATE,
            clock: Arc::new(SystemClock),
            jitter_seed: None,
        }
    }
}

impl ClientBuilder {
    /// The API endpoint, `https://vod.tencentcloudapi.com` by default. `http://` is accepted
    /// for loopback addresses (tests, the fake server); elsewhere only with
    /// [`ClientBuilder::allow_insecure_http`].
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self
    }

    /// Allows plain `http://` to a non-loopback host. Credentials stay secret (only a
    /// signature travels), but events and tokens would cross the network unencrypted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Where credentials come from (default: [`DefaultChain`]). A
    /// [`Credentials`](crate::tencent::Credentials) value works too.
    pub fn credentials(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.credentials = Some(Arc::new(provider));
        self
    }

    /// Like [`ClientBuilder::credentials`], for a provider already shared.
    pub fn credentials_provider(mut self, provider: Arc<dyn ProvideCredentials>) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// Sends `X-TC-Region` (the VOD event actions do not need it; left out by default).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sends `X-TC-Language` (`zh-CN` or `en-US`) to choose the language of error messages.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// The `SubAppId` used when a request sets none (required for accounts opened on or
    /// after 2023-12-25).
    pub fn sub_app_id(mut self, sub_app_id: u64) -> Self {
        self.sub_app_id = Some(sub_app_id);
        self
    }

    /// Uses this `reqwest::Client` (for a shared pool, or TLS and proxy settings beyond
    /// [`ClientBuilder::ca_file`] and the environment's proxies), as it is: its own timeouts,
    /// roots and proxies apply; the per-attempt timeouts set here are added per request.
    ///
    /// Build it with `.redirect(reqwest::redirect::Policy::none())`: reqwest keeps custom
    /// headers such as `X-TC-Token` across a redirect to another host. An answer that comes
    /// from anywhere but the endpoint is refused as [`Error::Redirected`], but by then the
    /// request has gone there.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Also trusts the CA certificates in this PEM file (one or more `CERTIFICATE` blocks),
    /// besides the built-in roots: for an endpoint behind a private CA or a TLS-inspecting
    /// proxy. Read by [`ClientBuilder::build`]; a file that cannot be read or holds no usable
    /// certificate is an [`Error::Config`] naming it. May be given more than once. Applies to
    /// the built-in HTTP client only: with [`ClientBuilder::http_client`] it is a
    /// configuration error.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.roots.add_file(path);
        self
    }

    /// Like [`ClientBuilder::ca_file`], for PEM text already in memory.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.add_pem(pem);
        self
    }

    /// TCP connect timeout of the built-in HTTP client (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Per-attempt timeout of every action but PullEvents (default 8 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Per-attempt timeout of PullEvents (default 10 s). Must exceed the service's 5 s hold.
    pub fn long_poll_timeout(mut self, timeout: Duration) -> Self {
        self.long_poll_timeout = timeout;
        self
    }

    /// Largest response body accepted (default 8 MiB).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// How failed calls are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Size of each action's retry budget, shared by all calls of that action (default 500
    /// tokens; a retry costs 5, a retry after a timeout 10, a success refunds 1). PullEvents,
    /// ConfirmEvents and the other actions each have their own.
    pub fn retry_budget(mut self, tokens: u32) -> Self {
        self.retry_budget = tokens;
        self
    }

    /// Most requests per second for PullEvents and for ConfirmEvents, each (default 98;
    /// the service allows 100). `0` disables pacing.
    pub fn event_action_rate(mut self, per_second: f64) -> Self {
        self.event_action_rate = per_second;
        self
    }

    /// Most requests per second for each of the other three actions (default 19).
    pub fn other_action_rate(mut self, per_second: f64) -> Self {
        self.other_action_rate = per_second;
        self
    }

    /// The clock used for `X-TC-Timestamp` (tests inject a skewed one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Seeds the backoff jitter, for reproducible runs.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let url = reqwest::Url::parse(self.endpoint.trim()).map_err(|e| {
            // Not echoed: a mistyped endpoint may hold a pasted credential.
            Error::Config(format!(
                "the endpoint is not a URL ({e}); expected https://host[:port]"
            ))
        })?;
        let shown = origin_for_display(&url);
        http::check_scheme(&url, self.allow_insecure_http).map_err(Error::Config)?;
        let host_name = url
            .host_str()
            .ok_or_else(|| Error::Config(format!("endpoint {shown} has no host")))?;
        if url.path() != "/"
            || url.query().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(Error::Config(format!(
                "endpoint {shown} must be scheme://host[:port] only, without user info, path or query (the API path is always /)"
            )));
        }
        if self.long_poll_timeout <= Duration::from_secs(5) {
            tracing::warn!(
                timeout = ?self.long_poll_timeout,
                "long-poll timeout does not exceed the service's 5 s hold; healthy polls may time out"
            );
        }
        // Exactly what goes into the Host header is what gets signed.
        let host_text = match url.port() {
            Some(port) => format!("{host_name}:{port}"),
            None => host_name.to_owned(),
        };
        let host = HeaderValue::from_str(&host_text).map_err(|_| {
            Error::Config(format!(
                "endpoint host {host_text:?} is not a valid header value"
            ))
        })?;
        let optional_header =
            |name: &str, value: Option<String>| -> Result<Option<HeaderValue>, Error> {
                value
                    .map(|v| {
                        HeaderValue::from_str(&v).map_err(|_| {
                            Error::Config(format!("{name} {v:?} is not a valid header value"))
                        })
                    })
                    .transpose()
            };
        let region = optional_header("region", self.region)?;
        let language = optional_header("language", self.language)?;
        let http = http::client_or_build(
            self.http,
            &self.roots,
            HttpOptions::new(self.connect_timeout, url.scheme() == "https"),
        )
        .map_err(Error::Config)?;
        let rng = match self.jitter_seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                url,
                host,
                host_text,
                credentials: self
                    .credentials
                    .unwrap_or_else(|| Arc::new(DefaultChain::new())),
                resolved: CredentialsCache::new(),
                region,
                language,
                sub_app_id: self.sub_app_id,
                request_timeout: self.request_timeout,
                long_poll_timeout: self.long_poll_timeout,
                max_response_bytes: self.max_response_bytes,
                retry: self.retry,
                budgets: PerAction::new(|_| RetryBudget::new(self.retry_budget)),
                clock: self.clock,
                skew: ClockSkew::default(),
                pacers: PerAction::new(|action| match action {
                    "PullEvents" | "ConfirmEvents" => Pacer::new(self.event_action_rate),
                    _ => Pacer::new(self.other_action_rate),
                }),
                rng: Mutex::new(rng),
                signing_key: Mutex::new(None),
            }),
        })
    }
}
