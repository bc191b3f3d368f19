//! Building an [`MnsClient`]: the queue URL checked, defaults for the rest.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;

use super::{
    Inner, MnsClient, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT, DEFAULT_WAIT, MAX_WAIT,
};
use crate::alibaba::credentials::{DefaultChain, ProvideCredentials};
use crate::alibaba::mns::error::Error;
use crate::transport::clock::{Clock, ClockSkew, SystemClock};
use crate::transport::http::{self, origin_for_display, HttpOptions};
use crate::transport::tls::ExtraRoots;
use crate::transport::{RetryBudget, RetryPolicy};

/// Builds an [`MnsClient`] for one queue.
pub struct MnsClientBuilder {
    queue_url: String,
    allow_insecure_http: bool,
    credentials: Option<Arc<dyn ProvideCredentials>>,
    http: Option<reqwest::Client>,
    roots: ExtraRoots,
    connect_timeout: Duration,
    wait: Duration,
    request_timeout: Duration,
    max_response_bytes: usize,
    retry: RetryPolicy,
    retry_budget: u32,
    clock: Arc<dyn Clock>,
    jitter_seed: Option<u64>,
}

impl fmt::Debug for MnsClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = Url::parse(self.queue_url.trim())
            .map(|u| origin_for_display(&u))
            .unwrap_or_else(|_| "(not a URL)".into());
        f.debug_struct("MnsClientBuilder")
            .field("endpoint", &shown)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl MnsClientBuilder {
    pub(super) fn new(queue_url: String) -> Self {
        MnsClientBuilder {
            queue_url,
            allow_insecure_http: false,
            credentials: None,
            http: None,
            roots: ExtraRoots::default(),
            connect_timeout: Duration::from_secs(5),
            wait: DEFAULT_WAIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryPolicy::default(),
            retry_budget: 500,
            clock: Arc::new(SystemClock),
            jitter_seed: None,
        }
    }

    /// Allows plain `http://` to a non-loopback host (MNS's public endpoints answer on
    /// http too; messages would cross the network unencrypted).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Where credentials come from (default: [`DefaultChain`]); a `Credentials` value works.
    pub fn credentials(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.credentials = Some(Arc::new(provider));
        self
    }

    /// Like [`MnsClientBuilder::credentials`], for a provider already shared.
    pub fn credentials_provider(mut self, provider: Arc<dyn ProvideCredentials>) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// Uses this `reqwest::Client` as it is (its own timeouts, roots and proxies apply);
    /// build it with `redirect::Policy::none()`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Also trusts the CA certificates in this PEM file (one or more `CERTIFICATE` blocks),
    /// besides the built-in roots: for an endpoint behind a private CA or a TLS-inspecting
    /// proxy. Read by [`MnsClientBuilder::build`]; a file that cannot be read or holds no
    /// usable certificate is an [`Error::Config`] naming it. May be given more than once.
    /// Applies to the built-in HTTP client only: with [`MnsClientBuilder::http_client`] it is
    /// a configuration error.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.roots.add_file(path);
        self
    }

    /// Like [`MnsClientBuilder::ca_file`], for PEM text already in memory.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.add_pem(pem);
        self
    }

    /// TCP connect timeout of the built-in HTTP client (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Long-poll wait of BatchReceiveMessage, whole seconds up to 30 (default 30 s); the
    /// attempt timeout is this plus [`LONG_POLL_GRACE`](super::LONG_POLL_GRACE).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Per-attempt timeout of every operation but the receive (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Largest answer accepted (default 8 MiB).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// How failed calls are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Size of each retry budget (receives have one, the other operations another;
    /// default 500 tokens).
    pub fn retry_budget(mut self, tokens: u32) -> Self {
        self.retry_budget = tokens;
        self
    }

    /// The wall clock used for `Date` (tests inject a skewed one).
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
    pub fn build(self) -> Result<MnsClient, Error> {
        let url = Url::parse(self.queue_url.trim()).map_err(|e| {
            // Not echoed: a mistyped URL may hold a pasted credential.
            Error::Config(format!(
                "the queue URL is not a URL ({e}); expected https://<account-id>.mns.<region>.aliyuncs.com/queues/<name>"
            ))
        })?;
        let shown = origin_for_display(&url);
        http::check_scheme(&url, self.allow_insecure_http).map_err(Error::Config)?;
        let path = url.path().trim_end_matches('/');
        let name = path.strip_prefix("/queues/").unwrap_or_default();
        if name.is_empty()
            || name.contains('/')
            || url.query().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(Error::Config(format!(
                "the queue URL on {shown} must be scheme://host[:port]/queues/<name>, without user info or query"
            )));
        }
        if self.wait > MAX_WAIT || self.wait.subsec_nanos() != 0 {
            return Err(Error::Config(format!(
                "wait {:?} must be whole seconds from 0 to 30",
                self.wait
            )));
        }
        let queue_path = path.to_owned();
        let mut origin = url.clone();
        origin.set_path("/");
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
        Ok(MnsClient {
            inner: Arc::new(Inner {
                http,
                origin,
                queue_path,
                credentials: self
                    .credentials
                    .unwrap_or_else(|| Arc::new(DefaultChain::new())),
                resolved: crate::credentials::CredentialsCache::new(),
                wait: self.wait,
                request_timeout: self.request_timeout,
                max_response_bytes: self.max_response_bytes,
                retry: self.retry,
                receive_budget: RetryBudget::new(self.retry_budget),
                other_budget: RetryBudget::new(self.retry_budget),
                clock: self.clock,
                skew: ClockSkew::default(),
                rng: Mutex::new(rng),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alibaba::credentials::Credentials;

    fn build(url: &str) -> Result<MnsClient, Error> {
        MnsClient::builder(url)
            .credentials(Credentials::new("id", "TOPSECRET"))
            .build()
    }

    #[test]
    fn queue_urls() {
        let c = build("https://123.mns.cn-shanghai.aliyuncs.com/queues/vod-callback").unwrap();
        assert_eq!(c.queue_path(), "/queues/vod-callback");
        assert!(build("https://123.mns.cn-shanghai.aliyuncs.com/queues/q/").is_ok());
        let c = build("http://127.0.0.1:9/queues/视频回调").unwrap();
        assert_eq!(
            c.queue_path(),
            "/queues/%E8%A7%86%E9%A2%91%E5%9B%9E%E8%B0%83"
        );
        for bad in [
            "https://a.example/",
            "https://a.example/queues/",
            "https://a.example/queues/q/messages",
            "https://a.example/queues/q?x=1",
            "https://u:p@a.example/queues/q",
            "http://a.example/queues/q",
            "not a url",
        ] {
            assert!(build(bad).is_err(), "{bad}");
        }
        assert!(
            !format!("{:?}", build("https://a.example/queues/q").unwrap()).contains("TOPSECRET")
        );
    }
}
