//! The HTTP the network providers use: an instance's metadata service (plain http on an
//! internal address, which must cost little to probe where there is none) and STS endpoints
//! (https, through the user's proxy). Answers are small and read under a cap; errors never
//! carry a body, since a credentials answer is all secret.

use std::time::{Duration, SystemTime};

use reqwest::Url;

use super::{CredentialsError, Env};

/// How long connecting to a metadata service may take. On an instance it answers in
/// milliseconds; off one, its address is unroutable and this is what the probe costs.
pub(crate) const METADATA_CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// How long a metadata request may take once connected.
pub(crate) const METADATA_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an STS call may take.
pub(crate) const STS_TIMEOUT: Duration = Duration::from_secs(10);
/// Answers larger than this are refused; credentials answers are a few KiB.
pub(crate) const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why a request to a credentials endpoint failed. `Debug` leaves out the body.
pub(crate) enum FetchError {
    /// Nothing answered: connection refused, unroutable, or no such host.
    Unreachable(String),
    /// Connected, but no answer in time.
    Timeout,
    /// An answer that is not 2xx. The body is kept for the caller to read an error code
    /// from, never to show.
    Status { status: u16, body: Vec<u8> },
    /// An answer over [`MAX_ANSWER_BYTES`].
    TooLarge,
    /// The connection failed while the answer was read.
    Transport(String),
    /// The endpoint's TLS certificate was refused: no retry helps.
    Tls(String),
}

impl std::fmt::Debug for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl FetchError {
    /// One line for an error message (no body, no secret).
    pub(crate) fn describe(&self) -> String {
        match self {
            FetchError::Unreachable(why) => format!("not reachable: {why}"),
            FetchError::Timeout => "no answer in time".into(),
            FetchError::Status { status, .. } => format!("answered HTTP {status}"),
            FetchError::TooLarge => format!("answer larger than {MAX_ANSWER_BYTES} bytes"),
            FetchError::Transport(why) => why.clone(),
            FetchError::Tls(why) => why.clone(),
        }
    }
}

/// The client for metadata services: short connect timeout, no proxy (the metadata service
/// is on the instance's own network; a corporate proxy must never see its credentials), no
/// redirects.
pub(crate) fn metadata_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(METADATA_CONNECT_TIMEOUT)
        .timeout(METADATA_TIMEOUT)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| error_chain(&e))
}

/// The client for STS endpoints: the environment's proxy settings apply, no redirects.
pub(crate) fn sts_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(STS_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| error_chain(&e))
}

/// An HTTP client built on first use and shared by clones: providers are made for every
/// chain, most never ask anything (off the cloud, with keys in the environment), and building
/// a client loads TLS roots.
#[derive(Clone)]
pub(crate) struct LazyClient {
    build: fn() -> Result<reqwest::Client, String>,
    cell: std::sync::Arc<std::sync::OnceLock<Result<reqwest::Client, String>>>,
}

impl LazyClient {
    /// For a metadata service ([`metadata_client`]).
    pub(crate) fn metadata() -> Self {
        Self::with(metadata_client)
    }

    /// For STS ([`sts_client`]).
    pub(crate) fn sts() -> Self {
        Self::with(sts_client)
    }

    fn with(build: fn() -> Result<reqwest::Client, String>) -> Self {
        LazyClient {
            build,
            cell: Default::default(),
        }
    }

    /// The client; a build failure is `provider` being unavailable.
    pub(crate) fn get(&self, provider: &'static str) -> Result<&reqwest::Client, CredentialsError> {
        self.cell
            .get_or_init(self.build)
            .as_ref()
            .map_err(|why| CredentialsError::Unavailable {
                provider,
                reason: format!("cannot build the HTTP client: {why}"),
            })
    }
}

/// Sends `request` and reads a 2xx answer's body under the cap.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<Vec<u8>, FetchError> {
    let mut response = request.send().await.map_err(|e| {
        // A user name or password in an overridden URL must not reach the message.
        let e = e.without_url();
        // Before the connect check: reqwest reports a refused certificate as a failed connect,
        // which would read as "no metadata service here" or as an outage worth waiting for.
        if let Some(problem) = crate::transport::tls::classify(&e) {
            FetchError::Tls(format!(
                "the TLS certificate was refused: {problem}: {}",
                error_chain(&e)
            ))
        } else if e.is_connect() {
            FetchError::Unreachable(error_chain(&e))
        } else if e.is_timeout() {
            FetchError::Timeout
        } else {
            FetchError::Transport(error_chain(&e))
        }
    })?;
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Err(FetchError::Timeout),
            Err(e) => return Err(FetchError::Transport(error_chain(&e.without_url()))),
        }
    }
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(FetchError::Status { status, body })
    }
}

/// An error and its causes on one line (`outer: cause: cause`).
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    crate::ErrorChain(error).to_string()
}

/// The base URL of an endpoint: the environment variable `var` if set, else `default`.
/// An overridden STS endpoint must be https unless it is on loopback (tests); a metadata
/// service is plain http by nature, so `metadata` allows http anywhere.
pub(crate) fn endpoint(
    env: &Env,
    var: &str,
    default: &str,
    provider: &'static str,
    metadata: bool,
) -> Result<Url, CredentialsError> {
    let text = env.get(var).unwrap_or_else(|| default.to_owned());
    let invalid = |reason: String| CredentialsError::Invalid { provider, reason };
    let mut url =
        Url::parse(text.trim()).map_err(|e| invalid(format!("{var} is not a URL ({e})")))?;
    if !metadata {
        crate::transport::http::check_scheme(&url, false)
            .map_err(|e| invalid(format!("{var}: {e}")))?;
    } else if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("{var} must be an http:// URL")));
    }
    // Relative paths are joined onto the base, which must then end in a slash.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A URL as credentials errors show it: origin and path, without user info or query (where
/// a pasted secret would sit).
pub(crate) fn shown(url: &Url) -> String {
    format!(
        "{}{}",
        crate::transport::http::origin_for_display(url),
        url.path()
    )
}

/// An RFC 3339 time such as `2021-03-12T23:00:47Z`, as instance roles and STS give expiries.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim().trim_end_matches('Z')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn expiries_parse_with_or_without_fractions() {
        let at = parse_rfc3339("2021-03-12T23:00:47Z").unwrap();
        assert_eq!(
            at.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_615_590_047
        );
        assert!(parse_rfc3339("2021-03-12T23:00:47.5Z").is_some());
        assert!(parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn endpoints_from_the_environment() {
        let env = Env::from_pairs([("X", "http://127.0.0.1:9/meta")]);
        let url = endpoint(&env, "X", "http://d/", "p", true).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/meta/");
        let env = Env::from_pairs::<&str, &str>([]);
        assert_eq!(
            endpoint(&env, "X", "http://100.100.100.200/latest/", "p", true)
                .unwrap()
                .as_str(),
            "http://100.100.100.200/latest/"
        );
        let env = Env::from_pairs([("X", "http://sts.example.com/")]);
        assert!(endpoint(&env, "X", "https://d/", "p", false).is_err());
        let env = Env::from_pairs([("X", "ftp://x/")]);
        assert!(endpoint(&env, "X", "http://d/", "p", true).is_err());
    }
}
