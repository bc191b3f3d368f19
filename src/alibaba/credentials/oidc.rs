//! [`OidcProvider`]: a RAM role assumed with an OIDC token (RRSA on Alibaba Cloud ACK, or any
//! OIDC identity provider trusted by RAM), through STS `AssumeRoleWithOIDC`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use reqwest::header::ACCEPT;
use reqwest::Url;
use serde::Deserialize;

use super::answer::{decode, is_true, printable, TemporaryKeys};
use super::{Credentials, CredentialsError, Env, ProvideCredentials, Secret};
use crate::credentials::fetch::{self, FetchError, LazyClient};
use crate::credentials::read_small_file;

/// Environment variable holding the ARN of the RAM role to assume (official).
pub const ENV_ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
/// Environment variable holding the ARN of the OIDC identity provider RAM trusts (official).
pub const ENV_OIDC_PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
/// Environment variable naming the file that holds the OIDC token (official; on ACK the
/// projected service-account token, which Kubernetes rotates).
pub const ENV_OIDC_TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
/// Environment variable holding the role session name (official; default
/// `vod-events-<unix ms>`).
pub const ENV_ROLE_SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";
/// Environment variable overriding the STS endpoint's base URL (https, or http to loopback).
pub const ENV_STS_ENDPOINT: &str = "VOD_EVENTS_ALIBABA_STS_ENDPOINT";
/// Environment variable choosing the regional STS endpoint `sts.<region>.aliyuncs.com`
/// (official).
pub const ENV_STS_REGION: &str = "ALIBABA_CLOUD_STS_REGION";
/// Environment variable that, set to `true`, uses the VPC endpoint
/// `sts-vpc.<region>.aliyuncs.com` of the region in `ALIBABA_CLOUD_STS_REGION` (official).
pub const ENV_VPC_ENDPOINT_ENABLED: &str = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED";
/// The STS endpoint without a region.
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.aliyuncs.com/";
/// How long the assumed role's credentials are asked to last (as the official libraries).
pub const SESSION_DURATION_SECS: u32 = 3600;

const PROVIDER: &str = "OIDC role";

/// Where the role and the token are, from the environment or a profile file.
#[derive(Debug, Clone)]
pub(super) struct OidcRole {
    pub(super) role_arn: String,
    pub(super) provider_arn: String,
    pub(super) token_file: PathBuf,
    pub(super) session_name: Option<String>,
}

/// Credentials of a RAM role assumed with an OIDC token: `ALIBABA_CLOUD_ROLE_ARN`,
/// `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` and `ALIBABA_CLOUD_OIDC_TOKEN_FILE` (all three, or none:
/// some of them is an error naming the others), optional `ALIBABA_CLOUD_ROLE_SESSION_NAME`.
///
/// Each call reads the token file again (Kubernetes rotates it) and POSTs
/// `AssumeRoleWithOIDC` to STS, as credentials-go does: `Action`, `Format`, `Version` and
/// `Timestamp` in the query, the role, provider, token, session name and duration in a form
/// body, so the token never appears in a URL. The call is anonymous: the token is the proof.
/// STS is `https://sts.aliyuncs.com/`, `sts[-vpc].<ALIBABA_CLOUD_STS_REGION>.aliyuncs.com`, or
/// `VOD_EVENTS_ALIBABA_STS_ENDPOINT`.
///
/// STS refusing (4xx: a wrong ARN, an expired token) is *invalid*, with its `Code`,
/// `Message` and `RequestId`; throttling, 5xx and network failures are *unavailable*.
/// Errors never hold the token.
#[derive(Clone)]
pub struct OidcProvider {
    env: Env,
    from_profile: Option<OidcRole>,
    client: LazyClient,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("env", &self.env)
            .field("from_profile", &self.from_profile)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Reads the role, provider and token file from the given environment.
    pub fn new(env: Env) -> Self {
        OidcProvider {
            env,
            from_profile: None,
            client: LazyClient::sts(),
        }
    }

    /// The role a profile file names; the environment still gives the endpoint.
    pub(super) fn for_role(env: Env, role: OidcRole) -> Self {
        OidcProvider {
            env,
            from_profile: Some(role),
            client: LazyClient::sts(),
        }
    }

    fn role(&self) -> Result<OidcRole, CredentialsError> {
        if let Some(role) = &self.from_profile {
            return Ok(role.clone());
        }
        let vars = [ENV_ROLE_ARN, ENV_OIDC_PROVIDER_ARN, ENV_OIDC_TOKEN_FILE];
        let values = vars.map(|v| self.env.get(v));
        if let [Some(role_arn), Some(provider_arn), Some(token_file)] = &values {
            return Ok(OidcRole {
                role_arn: role_arn.trim().to_owned(),
                provider_arn: provider_arn.trim().to_owned(),
                token_file: PathBuf::from(token_file.trim()),
                session_name: None,
            });
        }
        let (set, missing): (Vec<_>, Vec<_>) = vars
            .iter()
            .zip(&values)
            .partition(|(_, value)| value.is_some());
        // "A is set", "A and B are set".
        let said = |list: Vec<(&&str, &Option<String>)>| {
            let names: Vec<&str> = list.iter().map(|(name, _)| **name).collect();
            match names.as_slice() {
                [one] => format!("{one} is"),
                [rest @ .., last] => format!("{} and {last} are", rest.join(", ")),
                [] => String::new(),
            }
        };
        if set.is_empty() {
            return Err(CredentialsError::NotConfigured {
                provider: PROVIDER,
                detail: format!("{} not set", said(missing)),
            });
        }
        Err(invalid(format!(
            "{} set but {} not (all three are needed)",
            said(set),
            said(missing)
        )))
    }

    async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let role = self.role()?;
        let endpoint = sts_endpoint(&self.env)?;
        let shown = format!(
            "{}{}",
            crate::transport::http::origin_for_display(&endpoint),
            endpoint.path()
        );
        let token = read_token(&role.token_file)?;
        let session_name = role
            .session_name
            .clone()
            .or_else(|| self.env.get(ENV_ROLE_SESSION_NAME))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(default_session_name);
        let timestamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let duration = SESSION_DURATION_SECS.to_string();
        let request = self
            .client
            .get(PROVIDER)?
            .post(endpoint)
            .query(&[
                ("Action", "AssumeRoleWithOIDC"),
                ("Format", "JSON"),
                ("Version", "2015-04-01"),
                ("Timestamp", timestamp.as_str()),
            ])
            .header(ACCEPT, "application/json")
            .form(&[
                ("RoleArn", role.role_arn.as_str()),
                ("OIDCProviderArn", role.provider_arn.as_str()),
                ("OIDCToken", token.expose()),
                ("RoleSessionName", session_name.as_str()),
                ("DurationSeconds", duration.as_str()),
            ]);
        match fetch::send(request).await {
            Ok(body) => sts_credentials(&body, &shown),
            Err(e) => Err(sts_failure(e, &shown, &token)),
        }
    }
}

impl ProvideCredentials for OidcProvider {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.fetch())
    }
}

fn invalid(reason: String) -> CredentialsError {
    CredentialsError::Invalid {
        provider: PROVIDER,
        reason,
    }
}

fn unavailable(reason: String) -> CredentialsError {
    CredentialsError::Unavailable {
        provider: PROVIDER,
        reason,
    }
}

fn default_session_name() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("vod-events-{ms}")
}

/// STS's base URL: the override, else credentials-go's choice from the region and the VPC
/// switch (`oidc.go`, `Build`).
fn sts_endpoint(env: &Env) -> Result<Url, CredentialsError> {
    let default = match env.get(ENV_STS_REGION) {
        Some(region) => {
            let region = region.trim();
            if !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(invalid(format!(
                    "{ENV_STS_REGION} is not a region ID such as cn-hangzhou"
                )));
            }
            let prefix = if is_true(env, ENV_VPC_ENDPOINT_ENABLED) {
                "sts-vpc"
            } else {
                "sts"
            };
            format!("https://{prefix}.{region}.aliyuncs.com/")
        }
        None => DEFAULT_STS_ENDPOINT.to_owned(),
    };
    fetch::endpoint(env, ENV_STS_ENDPOINT, &default, PROVIDER, false)
}

fn read_token(path: &Path) -> Result<Secret, CredentialsError> {
    let text = read_small_file(path).map_err(|e| {
        invalid(format!(
            "cannot read the OIDC token file {}: {e}",
            path.display()
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(invalid(format!(
            "the OIDC token file {} is empty",
            path.display()
        )));
    }
    Ok(Secret::new(token))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct StsError {
    request_id: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsAnswer {
    request_id: Option<String>,
    credentials: Option<TemporaryKeys>,
}

/// STS's error as one line: status, code, message and request id, which is what support
/// asks for; the OIDC token is cut out should STS ever quote it.
fn sts_failure(e: FetchError, shown: &str, token: &Secret) -> CredentialsError {
    let FetchError::Status { status, body } = e else {
        let reason = format!("AssumeRoleWithOIDC at {shown}: {}", e.describe());
        return match e {
            FetchError::TooLarge | FetchError::Tls(_) => invalid(reason),
            _ => unavailable(reason),
        };
    };
    let parsed: StsError = serde_json::from_slice(&body).unwrap_or_default();
    let code = parsed.code.as_deref().map(|c| printable(c, 100));
    let mut reason = format!("AssumeRoleWithOIDC at {shown} answered HTTP {status}");
    if let Some(code) = &code {
        reason.push_str(&format!(" {code}"));
    }
    if let Some(message) = &parsed.message {
        let message = message.replace(token.expose(), "** redacted **");
        reason.push_str(&format!(": {}", printable(&message, 300)));
    }
    if let Some(id) = &parsed.request_id {
        reason.push_str(&format!(" (RequestId {})", printable(id, 100)));
    }
    let code = code.unwrap_or_default();
    let transient = status == 429
        || status >= 500
        || code.starts_with("Throttling")
        || matches!(code.as_str(), "ServiceUnavailable" | "InternalError");
    if transient {
        unavailable(reason)
    } else {
        invalid(reason)
    }
}

fn sts_credentials(body: &[u8], shown: &str) -> Result<Credentials, CredentialsError> {
    let what = format!("the AssumeRoleWithOIDC answer from {shown}");
    let answer: StsAnswer = decode(body, PROVIDER, &what)?;
    let request = answer
        .request_id
        .as_deref()
        .map(|id| format!(" (RequestId {})", printable(id, 100)))
        .unwrap_or_default();
    let Some(keys) = answer.credentials else {
        return Err(invalid(format!("{what} has no Credentials{request}")));
    };
    keys.into_credentials(PROVIDER, &what, &request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_region_and_the_vpc_switch() {
        let url = |pairs: &[(&str, &str)]| {
            sts_endpoint(&Env::from_pairs(pairs.iter().copied())).map(|u| u.to_string())
        };
        assert_eq!(url(&[]).unwrap(), DEFAULT_STS_ENDPOINT);
        assert_eq!(
            url(&[(ENV_STS_REGION, "cn-shanghai")]).unwrap(),
            "https://sts.cn-shanghai.aliyuncs.com/"
        );
        assert_eq!(
            url(&[
                (ENV_STS_REGION, "cn-shanghai"),
                (ENV_VPC_ENDPOINT_ENABLED, "true")
            ])
            .unwrap(),
            "https://sts-vpc.cn-shanghai.aliyuncs.com/"
        );
        assert_eq!(
            url(&[
                (ENV_STS_REGION, "cn-shanghai"),
                (ENV_STS_ENDPOINT, "http://127.0.0.1:9/sts")
            ])
            .unwrap(),
            "http://127.0.0.1:9/sts/"
        );
        assert!(url(&[(ENV_STS_REGION, "cn/../x")]).is_err());
        assert!(url(&[(ENV_STS_ENDPOINT, "http://sts.example.com/")]).is_err());
    }

    #[test]
    fn sts_errors_keep_code_message_and_request_id_but_never_the_token() {
        let token = Secret::new("eyJTOKEN");
        let body = br#"{"RequestId":"RID-1","HostId":"sts.aliyuncs.com","Code":"AuthenticationFail.OIDCToken.Invalid","Message":"bad token eyJTOKEN"}"#;
        let e = sts_failure(
            FetchError::Status {
                status: 400,
                body: body.to_vec(),
            },
            "https://sts/",
            &token,
        );
        let shown = e.to_string();
        for want in [
            "AuthenticationFail.OIDCToken.Invalid",
            "RID-1",
            "HTTP 400",
            "bad token",
        ] {
            assert!(shown.contains(want), "{want}: {shown}");
        }
        assert!(!shown.contains("eyJTOKEN"), "{shown}");
        assert!(matches!(e, CredentialsError::Invalid { .. }));
        let throttled = sts_failure(
            FetchError::Status {
                status: 400,
                body: br#"{"Code":"Throttling.User","Message":"slow down"}"#.to_vec(),
            },
            "https://sts/",
            &token,
        );
        assert!(throttled.is_retryable(), "{throttled}");
        let down = sts_failure(
            FetchError::Status {
                status: 503,
                body: b"<html>".to_vec(),
            },
            "https://sts/",
            &token,
        );
        assert!(
            down.is_retryable() && down.to_string().contains("503"),
            "{down}"
        );
    }

    #[test]
    fn answers_without_credentials_are_invalid_and_name_the_request() {
        let e = sts_credentials(br#"{"RequestId":"RID-2"}"#, "https://sts/").unwrap_err();
        assert!(e.to_string().contains("RID-2"), "{e}");
        let e = sts_credentials(
            br#"{"Credentials":{"AccessKeySecret":"HIDDEN"}"#,
            "https://sts/",
        )
        .unwrap_err();
        assert!(!e.to_string().contains("HIDDEN"), "{e}");
        let c = sts_credentials(
            br#"{"RequestId":"r","Credentials":{"AccessKeyId":"STS.a","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2030-01-01T00:00:00Z"}}"#,
            "https://sts/",
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "STS.a");
        assert!(c.expiration().is_some());
    }
}
