//! The HTTP plumbing both clouds' clients share: one way to build the reqwest client, read
//! an answer under a size cap, and tell whether an answer came from the endpoint asked.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use reqwest::header::DATE;
use reqwest::Url;

use crate::transport::tls::ExtraRoots;
use crate::ErrorChain;

/// What the built-in HTTP client is made with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// The TCP connect timeout.
    pub connect_timeout: Duration,
    /// Refuse anything but https (set for an https endpoint).
    pub https_only: bool,
    /// Roots trusted besides the built-in ones (and, with the `native-roots` feature, the
    /// system's).
    pub extra_roots: Vec<reqwest::Certificate>,
}

impl HttpOptions {
    /// A connect timeout and whether only https is allowed; no extra roots.
    pub fn new(connect_timeout: Duration, https_only: bool) -> Self {
        HttpOptions {
            connect_timeout,
            https_only,
            extra_roots: Vec::new(),
        }
    }
}

/// Builds the HTTP client a cloud client uses when the user brings none: rustls with the
/// built-in roots and any extra ones, a connect timeout, `TCP_NODELAY`, https only for an
/// https endpoint, and no redirects. The APIs answer at their one endpoint and never
/// redirect; following a redirect would only send signed requests (and session tokens, which
/// reqwest does not strip) somewhere else.
///
/// Proxies come from the environment as reqwest reads it when the client is built
/// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, upper or lower case): deployments
/// behind a proxy need no code for it.
pub fn build_client(options: HttpOptions) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .tcp_nodelay(true)
        .https_only(options.https_only)
        .redirect(reqwest::redirect::Policy::none());
    for root in options.extra_roots {
        builder = builder.add_root_certificate(root);
    }
    builder.build()
}

/// The client given with a builder's `http_client`, left as it is (its proxies, roots and
/// timeouts are the user's), or else one built by [`build_client`] with `options` and the
/// extra `roots`. Roots given for a client the user brings are refused rather than dropped:
/// reqwest cannot add them to a built client, and silently not trusting them would surface
/// later as a refused certificate.
pub fn client_or_build(
    given: Option<reqwest::Client>,
    roots: &ExtraRoots,
    mut options: HttpOptions,
) -> Result<reqwest::Client, String> {
    if let Some(client) = given {
        if !roots.is_empty() {
            return Err("ca_file and add_root_certificate_pem apply to the built-in HTTP client; add the roots to the client given with http_client instead (reqwest::ClientBuilder::add_root_certificate)".into());
        }
        return Ok(client);
    }
    options.extra_roots = roots.load()?;
    build_client(options).map_err(|e| format!("cannot build the HTTP client: {}", ErrorChain(&e)))
}

/// An HTTP answer read whole: status, the server's `Date`, and the body.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The `Date` header, if present and well formed (for clock-skew correction).
    pub server_date: Option<SystemTime>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why an answer could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The answer came from another origin than the endpoint (a redirect was followed by a
    /// user-supplied client). Its body is not read.
    OtherOrigin {
        /// The origin it came from, as [`origin_for_display`] shows it.
        origin: String,
    },
    /// The body is larger than the cap (by `Content-Length`, or while reading).
    TooLarge,
    /// The connection failed or timed out while the body was read.
    Transport(reqwest::Error),
}

/// Reads `response` whole, refusing a body over `limit` bytes before reading past it, and an
/// answer from any origin other than `endpoint`'s.
pub async fn read_answer(
    mut response: reqwest::Response,
    endpoint: &Url,
    limit: usize,
) -> Result<Answer, ReadError> {
    if !same_origin(response.url(), endpoint) {
        return Err(ReadError::OtherOrigin {
            origin: origin_for_display(response.url()),
        });
    }
    let status = response.status().as_u16();
    let server_date = response
        .headers()
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    let capacity = response
        .content_length()
        .map_or(8 * 1024, |n| n as usize)
        .min(limit);
    let mut body: Vec<u8> = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        server_date,
        body,
    })
}

/// Whether two URLs share scheme, host and port.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A URL as errors and `Debug` show it: scheme, host and port only. User info, path and
/// query are left out, because that is where a credential pasted by mistake would sit.
pub fn origin_for_display(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        (None, _) => format!("{}:", url.scheme()),
    }
}

/// Whether a URL host names this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks an endpoint's scheme: https anywhere; http only to loopback, or anywhere with
/// `allow_insecure_http`. Says why not, without echoing more of the URL than its origin.
pub fn check_scheme(url: &Url, allow_insecure_http: bool) -> Result<(), String> {
    let shown = origin_for_display(url);
    let host = url
        .host_str()
        .ok_or_else(|| format!("endpoint {shown} has no host"))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(host) => {
            if !is_loopback(host) {
                tracing::warn!(endpoint = %shown, "plain http to a non-loopback host: traffic is not encrypted");
            }
            Ok(())
        }
        "http" => Err(format!(
            "endpoint {shown} uses plain http to a non-loopback host; use https, or call allow_insecure_http(true) if you really mean it"
        )),
        other => Err(format!("endpoint scheme {other:?} is not http or https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn loopback_detection() {
        for h in ["localhost", "127.0.0.1", "127.3.2.1", "[::1]", "::1"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["10.0.0.1", "example.com", "localhost.example.com", "[::2]"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let endpoint = url("https://vod.tencentcloudapi.com");
        assert!(same_origin(
            &url("https://vod.tencentcloudapi.com:443/x?y"),
            &endpoint
        ));
        assert!(!same_origin(
            &url("http://vod.tencentcloudapi.com"),
            &endpoint
        ));
        assert!(!same_origin(&url("https://evil.example.com"), &endpoint));
        assert!(!same_origin(
            &url("https://vod.tencentcloudapi.com:8443"),
            &endpoint
        ));
    }

    #[test]
    fn display_drops_user_info_path_and_query() {
        let shown = origin_for_display(&url("https://user:pw@host.example:8443/p?token=t"));
        assert_eq!(shown, "https://host.example:8443");
    }

    #[test]
    fn schemes() {
        assert!(check_scheme(&url("https://a.example"), false).is_ok());
        assert!(check_scheme(&url("http://127.0.0.1:1"), false).is_ok());
        let e = check_scheme(&url("http://a.example"), false).unwrap_err();
        assert!(e.contains("allow_insecure_http"), "{e}");
        assert!(check_scheme(&url("http://a.example"), true).is_ok());
        assert!(check_scheme(&url("ftp://a.example"), true).is_err());
    }
}
