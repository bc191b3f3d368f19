//! [`TkeOidcProvider`]: temporary credentials for a TKE pod, exchanged for its OIDC token with
//! STS `AssumeRoleWithWebIdentity`.
//!
//! Sent as the official SDKs send it (tencentcloud-sdk-go `common/oidc_role_arn_provider.go`
//! with `request.SetSkipSign(true)` and `Client.sendWithoutSignature`; tencentcloud-sdk-python
//! `OIDCRoleArnCredential.refresh` with `{'SkipSign': True}` and
//! `AbstractClient._build_req_without_signature`): a JSON POST **without a signature** —
//! `Authorization: SKIP`, which the STS API reference asks for on this action — with the
//! `X-TC-Action`, `X-TC-Version` (`2018-08-13`), `X-TC-Timestamp` and `X-TC-Region` headers
//! and the body `{ProviderId, WebIdentityToken, RoleArn, RoleSessionName, DurationSeconds}`.
//! The answer is `{"Response":{"Credentials":{"Token","TmpSecretId","TmpSecretKey"},
//! "ExpiredTime","Expiration","RequestId"}}`, or `{"Response":{"Error":{"Code","Message"},
//! "RequestId"}}`.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::cvm_role::{expiry, printable};
use super::{Credentials, CredentialsError, Env, ProvideCredentials};
use crate::credentials::fetch::{self, FetchError, LazyClient};
use crate::credentials::read_small_file;

/// The region the pod's cluster is in, sent as `X-TC-Region`.
pub const ENV_TKE_REGION: &str = "TKE_REGION";
/// The OIDC identity provider's id in CAM.
pub const ENV_TKE_PROVIDER_ID: &str = "TKE_PROVIDER_ID";
/// The file holding the pod's OIDC token; TKE rotates it, so it is read on every refresh.
pub const ENV_TKE_WEB_IDENTITY_TOKEN_FILE: &str = "TKE_WEB_IDENTITY_TOKEN_FILE";
/// The role to assume, `qcs::cam::uin/<uin>:roleName/<name>`.
pub const ENV_TKE_ROLE_ARN: &str = "TKE_ROLE_ARN";
/// Environment variable with the STS session name (the official SDKs have none and use
/// `tencentcloud-<lang>-sdk-<microseconds>`); default `vod-events-<microseconds>`.
pub const ENV_ROLE_SESSION_NAME: &str = "VOD_EVENTS_TENCENT_ROLE_SESSION_NAME";
/// Environment variable replacing [`DEFAULT_STS_ENDPOINT`]; it must be https unless it is on
/// loopback.
pub const ENV_STS_ENDPOINT: &str = "VOD_EVENTS_TENCENT_STS_ENDPOINT";
/// Tencent Cloud STS.
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.tencentcloudapi.com/";
/// How long the credentials asked for last, as in the official SDKs.
pub const DEFAULT_ROLE_DURATION: Duration = Duration::from_secs(7200);
/// The longest lifetime STS grants.
pub const MAX_ROLE_DURATION: Duration = Duration::from_secs(43_200);

const P: &str = "TKE OIDC";
const ACTION: &str = "AssumeRoleWithWebIdentity";
const VERSION: &str = "2018-08-13";
const ALL_VARS: [&str; 4] = [
    ENV_TKE_REGION,
    ENV_TKE_PROVIDER_ID,
    ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
    ENV_TKE_ROLE_ARN,
];

/// Credentials of the role a TKE pod assumes with its OIDC token: the four `TKE_*` variables
/// that TKE's pod identity webhook sets ([`ENV_TKE_REGION`], [`ENV_TKE_PROVIDER_ID`],
/// [`ENV_TKE_WEB_IDENTITY_TOKEN_FILE`], [`ENV_TKE_ROLE_ARN`]). None set: not configured;
/// some: [`CredentialsError::Invalid`], naming the missing ones.
///
/// Every refresh reads the token file again and calls STS at [`DEFAULT_STS_ENDPOINT`] (or
/// [`ENV_STS_ENDPOINT`]). STS refusals keep their code, message and `RequestId` in the
/// error: throttling and `InternalError` are [`CredentialsError::Unavailable`], every other
/// refusal (a bad token, an unknown role, a parameter) [`CredentialsError::Invalid`].
#[derive(Clone)]
pub struct TkeOidcProvider {
    env: Env,
    session_name: Option<String>,
    duration: Duration,
    http: LazyClient,
}

impl fmt::Debug for TkeOidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TkeOidcProvider")
            .field("env", &self.env)
            .field("session_name", &self.session_name)
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}

/// What the four variables say.
struct TkeConfig {
    region: String,
    provider_id: String,
    token_file: PathBuf,
    role_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleWithWebIdentity<'a> {
    provider_id: &'a str,
    web_identity_token: &'a str,
    role_arn: &'a str,
    role_session_name: &'a str,
    duration_seconds: u64,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: StsResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsResponse {
    credentials: Option<StsCredentials>,
    expired_time: Option<i64>,
    expiration: Option<String>,
    request_id: Option<String>,
    error: Option<StsError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    token: Option<String>,
    tmp_secret_id: Option<String>,
    tmp_secret_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsError {
    code: Option<String>,
    message: Option<String>,
}

impl TkeOidcProvider {
    /// Reads the `TKE_*` variables, [`ENV_ROLE_SESSION_NAME`] and [`ENV_STS_ENDPOINT`] from
    /// the given environment (on every refresh).
    pub fn new(env: Env) -> Self {
        TkeOidcProvider {
            env,
            session_name: None,
            duration: DEFAULT_ROLE_DURATION,
            http: LazyClient::sts(),
        }
    }

    /// The STS session name (2 to 128 of letters, digits and `+=,.@_-`); wins over
    /// [`ENV_ROLE_SESSION_NAME`]. It shows in CloudAudit as who made the calls.
    pub fn with_role_session_name(mut self, name: impl Into<String>) -> Self {
        self.session_name = Some(name.into());
        self
    }

    /// How long the credentials asked for last (default [`DEFAULT_ROLE_DURATION`], at most
    /// [`MAX_ROLE_DURATION`], whole seconds).
    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    fn config(&self) -> Result<TkeConfig, CredentialsError> {
        let values = ALL_VARS.map(|name| self.env.get(name).map(|v| v.trim().to_owned()));
        let missing: Vec<&str> = ALL_VARS
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(name, _)| *name)
            .collect();
        if missing.len() == ALL_VARS.len() {
            return Err(CredentialsError::NotConfigured {
                provider: P,
                detail: format!("{} are not set", and_list(&ALL_VARS)),
            });
        }
        let [Some(region), Some(provider_id), Some(token_file), Some(role_arn)] = values else {
            let verb = if missing.len() == 1 { "is" } else { "are" };
            return Err(CredentialsError::Invalid {
                provider: P,
                reason: format!(
                    "{} {verb} not set (all four TKE_* variables are needed)",
                    and_list(&missing)
                ),
            });
        };
        Ok(TkeConfig {
            region,
            provider_id,
            token_file: PathBuf::from(token_file),
            role_arn,
        })
    }

    fn session_name(&self) -> Result<String, CredentialsError> {
        let (name, source) = match &self.session_name {
            Some(name) => (name.trim().to_owned(), "the role session name given"),
            None => match self.env.get(ENV_ROLE_SESSION_NAME) {
                Some(name) => (name.trim().to_owned(), ENV_ROLE_SESSION_NAME),
                None => {
                    // Unique per refresh, as the official SDKs make theirs.
                    let micros = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_micros();
                    return Ok(format!("vod-events-{micros}"));
                }
            },
        };
        let valid = (2..=128).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        if valid {
            Ok(name)
        } else {
            Err(CredentialsError::Invalid {
                provider: P,
                reason: format!(
                    "{source} is not a valid session name (2 to 128 of letters, digits and +=,.@_-)"
                ),
            })
        }
    }

    async fn resolve(&self) -> Result<Credentials, CredentialsError> {
        let invalid = |reason: String| CredentialsError::Invalid {
            provider: P,
            reason,
        };
        let config = self.config()?;
        let url = fetch::endpoint(&self.env, ENV_STS_ENDPOINT, DEFAULT_STS_ENDPOINT, P, false)?;
        let session_name = self.session_name()?;
        let duration = self.duration.as_secs();
        if duration == 0 || duration > MAX_ROLE_DURATION.as_secs() {
            return Err(invalid(format!(
                "the role duration must be 1 to {} seconds",
                MAX_ROLE_DURATION.as_secs()
            )));
        }
        let region = reqwest::header::HeaderValue::from_str(&config.region)
            .map_err(|_| invalid(format!("{ENV_TKE_REGION} is not a region name")))?;
        // Read on every refresh: TKE replaces the file before the token in it expires.
        let token = read_small_file(&config.token_file).map_err(|e| {
            invalid(format!(
                "cannot read {ENV_TKE_WEB_IDENTITY_TOKEN_FILE} {}: {e}",
                config.token_file.display()
            ))
        })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(invalid(format!(
                "{ENV_TKE_WEB_IDENTITY_TOKEN_FILE} {} is empty",
                config.token_file.display()
            )));
        }
        let body = serde_json::to_vec(&AssumeRoleWithWebIdentity {
            provider_id: &config.provider_id,
            web_identity_token: token,
            role_arn: &config.role_arn,
            role_session_name: &session_name,
            duration_seconds: duration,
        })
        .map_err(|e| invalid(format!("cannot encode the request: {e}")))?;
        let http = self.http.get(P)?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let request = http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::AUTHORIZATION, "SKIP")
            .header("X-TC-Action", ACTION)
            .header("X-TC-Version", VERSION)
            .header("X-TC-Timestamp", timestamp)
            .header("X-TC-Region", region)
            .header(
                "X-TC-RequestClient",
                concat!("vod-events/", env!("CARGO_PKG_VERSION")),
            )
            .body(body);
        match fetch::send(request).await {
            Ok(answer) => parse_answer(&answer, token),
            // STS answers its refusals with 200; an error status carrying the same envelope
            // is read the same way, anything else is judged by the status.
            Err(FetchError::Status { status, body }) => match parse_answer(&body, token) {
                Err(refused) if is_sts_refusal(&body) => Err(refused),
                _ if status >= 500 || status == 429 => Err(CredentialsError::Unavailable {
                    provider: P,
                    reason: format!("STS at {} answered HTTP {status}", fetch::shown(&url)),
                }),
                _ => Err(invalid(format!(
                    "STS at {} answered HTTP {status}",
                    fetch::shown(&url)
                ))),
            },
            // No retry helps a refused certificate.
            Err(e @ FetchError::Tls(_)) => Err(invalid(format!(
                "STS at {}: {}",
                fetch::shown(&url),
                e.describe()
            ))),
            // Configured, so an unreachable STS is an outage here, never "not configured".
            Err(e) => Err(CredentialsError::Unavailable {
                provider: P,
                reason: format!("STS at {}: {}", fetch::shown(&url), e.describe()),
            }),
        }
    }
}

impl ProvideCredentials for TkeOidcProvider {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.resolve())
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn is_sts_refusal(body: &[u8]) -> bool {
    serde_json::from_slice::<Envelope>(body).is_ok_and(|e| e.response.error.is_some())
}

/// Reads STS's answer. `web_identity_token` is scrubbed from a refusal's message, should STS
/// ever quote it back.
fn parse_answer(body: &[u8], web_identity_token: &str) -> Result<Credentials, CredentialsError> {
    let garbled = |what: String| CredentialsError::Unavailable {
        provider: P,
        reason: format!("STS's {ACTION} answer {what}"),
    };
    // The parser's message may quote a value (a key); say where only.
    let Envelope { response } = serde_json::from_slice(body).map_err(|e| {
        garbled(format!(
            "is not the expected JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let request_id = response
        .request_id
        .as_deref()
        .map(printable)
        .unwrap_or_else(|| "none".into());
    if let Some(error) = response.error {
        let code = error.code.as_deref().map(printable).unwrap_or_default();
        let mut message = error.message.unwrap_or_default();
        if !web_identity_token.is_empty() {
            message = message.replace(web_identity_token, "** redacted **");
        }
        let message: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(300)
            .collect();
        let reason = format!("STS refused {ACTION}: {code}: {message} (RequestId {request_id})");
        return Err(if is_retryable_code(&code) {
            CredentialsError::Unavailable {
                provider: P,
                reason,
            }
        } else {
            CredentialsError::Invalid {
                provider: P,
                reason,
            }
        });
    }
    let in_answer = |what: &str| garbled(format!("has no {what} (RequestId {request_id})"));
    let credentials = response
        .credentials
        .ok_or_else(|| in_answer("Credentials"))?;
    let field = |value: Option<String>, name: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| in_answer(name))
    };
    let id = field(credentials.tmp_secret_id, "Credentials.TmpSecretId")?;
    let key = field(credentials.tmp_secret_key, "Credentials.TmpSecretKey")?;
    let token = field(credentials.token, "Credentials.Token")?;
    let expires = expiry(response.expired_time, response.expiration.as_deref())
        .ok_or_else(|| in_answer("ExpiredTime or Expiration"))?;
    Ok(Credentials::new(id.trim(), key.trim())
        .with_token(token.trim())
        .with_expiration(expires))
}

/// The codes asking again may cure: throttling (`InvalidParameter.OverLimit` is STS's own
/// rate limit, listed for this action) and faults on STS's side.
fn is_retryable_code(code: &str) -> bool {
    code.starts_with("InternalError")
        || code.starts_with("RequestLimitExceeded")
        || code == "InvalidParameter.OverLimit"
        || code.starts_with("ServiceUnavailable")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::credentials::test_support::block;

    fn env(pairs: &[(&str, &str)]) -> TkeOidcProvider {
        TkeOidcProvider::new(Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn none_set_is_not_configured_some_set_is_invalid_and_names_the_missing() {
        let e = block(env(&[]).provide()).unwrap_err();
        assert!(e.is_not_configured(), "{e:?}");
        let e =
            block(env(&[(ENV_TKE_ROLE_ARN, "qcs::cam::uin/1:roleName/r")]).provide()).unwrap_err();
        assert!(matches!(e, CredentialsError::Invalid { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains(
                "TKE_REGION, TKE_PROVIDER_ID and TKE_WEB_IDENTITY_TOKEN_FILE are not set"
            ),
            "{text}"
        );
        let e = block(
            env(&[
                (ENV_TKE_REGION, "ap-guangzhou"),
                (ENV_TKE_PROVIDER_ID, "p"),
                (ENV_TKE_ROLE_ARN, "r"),
            ])
            .provide(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("TKE_WEB_IDENTITY_TOKEN_FILE is not set"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_token_file_is_invalid() {
        let p = env(&[
            (ENV_TKE_REGION, "ap-guangzhou"),
            (ENV_TKE_PROVIDER_ID, "p"),
            (
                ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
                "/nonexistent/vod-events/token",
            ),
            (ENV_TKE_ROLE_ARN, "r"),
            (ENV_STS_ENDPOINT, "http://127.0.0.1:1/"),
        ]);
        let e = block(p.provide()).unwrap_err();
        assert!(matches!(e, CredentialsError::Invalid { .. }), "{e:?}");
        assert!(
            e.to_string().contains("/nonexistent/vod-events/token"),
            "{e}"
        );
    }

    #[test]
    fn session_names_and_durations_are_checked() {
        let p = env(&[]);
        assert!(p.session_name().unwrap().starts_with("vod-events-"));
        let p = env(&[(ENV_ROLE_SESSION_NAME, "from-env")]);
        assert_eq!(p.session_name().unwrap(), "from-env");
        assert_eq!(
            p.clone()
                .with_role_session_name("given")
                .session_name()
                .unwrap(),
            "given"
        );
        let e = env(&[(ENV_ROLE_SESSION_NAME, "a b")])
            .session_name()
            .unwrap_err();
        assert!(e.to_string().contains(ENV_ROLE_SESSION_NAME), "{e}");
        assert!(p.with_role_session_name("x").session_name().is_err());
    }

    #[test]
    fn an_answer_with_credentials_and_expiry() {
        let body = br#"{"Response":{"Credentials":{"Token":"TOKEN","TmpSecretId":"AKIDtmp",
            "TmpSecretKey":"KEY"},"ExpiredTime":1700007200,"Expiration":"2023-11-15T00:13:20Z",
            "RequestId":"rid-1"}}"#;
        let c = parse_answer(body, "jwt").unwrap();
        assert_eq!(c.secret_id(), "AKIDtmp");
        assert_eq!(c.secret_key().expose(), "KEY");
        assert_eq!(c.token().unwrap().expose(), "TOKEN");
        assert_eq!(
            c.expiration(),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_007_200))
        );
    }

    #[test]
    fn refusals_keep_code_message_and_request_id_and_no_token() {
        let body = br#"{"Response":{"Error":{"Code":"InvalidParameter.WebIdentityTokenError",
            "Message":"token eyJSECRET is expired"},"RequestId":"rid-2"}}"#;
        let e = parse_answer(body, "eyJSECRET").unwrap_err();
        assert!(matches!(e, CredentialsError::Invalid { .. }), "{e:?}");
        let text = e.to_string();
        for part in [
            "InvalidParameter.WebIdentityTokenError",
            "is expired",
            "rid-2",
        ] {
            assert!(text.contains(part), "{text}");
        }
        assert!(!text.contains("eyJSECRET"), "{text}");
        for code in [
            "InternalError.SystemError",
            "RequestLimitExceeded",
            "InvalidParameter.OverLimit",
        ] {
            let body = format!(
                r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"m"}},"RequestId":"r"}}}}"#
            );
            assert!(parse_answer(body.as_bytes(), "t")
                .unwrap_err()
                .is_retryable());
        }
    }

    #[test]
    fn garbled_answers_are_unavailable_and_quote_nothing() {
        let bodies: [&[u8]; 4] = [
            b"<html>KEY</html>",
            br#"{"Response":{"RequestId":"r"}}"#,
            br#"{"Response":{"Credentials":{"Token":"t","TmpSecretId":"i","TmpSecretKey":"KEY"}}}"#,
            br#"{"Response":{"Credentials":{"Token":"t","TmpSecretId":"i","TmpSecretKey":7}}}"#,
        ];
        for body in bodies {
            let e = parse_answer(body, "t").unwrap_err();
            assert!(e.is_retryable(), "{e:?}");
            assert!(!e.to_string().contains("KEY"), "{e}");
        }
    }
}
