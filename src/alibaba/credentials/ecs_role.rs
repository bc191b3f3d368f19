//! [`EcsRamRoleProvider`]: the temporary credentials of the RAM role attached to an ECS
//! instance, from the instance's metadata service in hardened mode.
//!
//! Hardened mode (Alibaba's IMDSv2) first asks for a session token with a PUT, then sends it
//! with every GET, so a server-side request forgery that can only make GETs cannot read the
//! role's keys. What happens when the PUT fails follows the official libraries (see
//! [`EcsRamRoleProvider`]).

use std::fmt;

use futures::future::BoxFuture;
use reqwest::header::HeaderValue;
use reqwest::Url;
use serde::Deserialize;

use super::answer::{decode, is_true, printable, role_name, TemporaryKeys};
use super::{Credentials, CredentialsError, Env, ProvideCredentials, Secret};
use crate::credentials::fetch::{self, FetchError, LazyClient};

/// Environment variable overriding the metadata service's base URL (default
/// [`DEFAULT_METADATA_URL`]); tests point it at a fake, or at a closed port.
pub const ENV_METADATA_URL: &str = "VOD_EVENTS_ALIBABA_METADATA_URL";
/// The ECS metadata service, which answers on every instance at this link-local address.
pub const DEFAULT_METADATA_URL: &str = "http://100.100.100.200/latest/";
/// Environment variable naming the instance's RAM role (official); unset, the role is asked
/// of the metadata service.
pub const ENV_ECS_METADATA: &str = "ALIBABA_CLOUD_ECS_METADATA";
/// Environment variable that, set to `true`, turns the ECS RAM role provider off (official).
pub const ENV_ECS_METADATA_DISABLED: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";
/// Environment variable that, set to `true`, forbids asking the metadata service without a
/// session token when it gives none (official).
pub const ENV_IMDSV1_DISABLED: &str = "ALIBABA_CLOUD_IMDSV1_DISABLED";
/// How long a metadata session token is asked to live, in seconds (as the official libraries).
pub const METADATA_TOKEN_TTL_SECS: u32 = 21_600;

const PROVIDER: &str = "ECS RAM role";
const TOKEN_PATH: &str = "api/token";
const ROLES_PATH: &str = "meta-data/ram/security-credentials/";
const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
/// Session tokens are short; a longer answer is not one.
const MAX_TOKEN_BYTES: usize = 4096;

/// Credentials of the instance's RAM role, from the ECS metadata service
/// (`http://100.100.100.200/latest/`, or `VOD_EVENTS_ALIBABA_METADATA_URL`).
///
/// Each call asks for a session token (`PUT api/token`), the role's name if none is given
/// (`GET meta-data/ram/security-credentials/`; or `ALIBABA_CLOUD_ECS_METADATA`), then the
/// role's credentials, which expire within hours; a client's cache asks again before then.
///
/// * Nothing listening at the address, or no role attached (404 or an empty list): *not
///   configured*, so a chain ends with "no credentials found" off ECS.
/// * `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`: not configured, without a request.
/// * The token PUT answered with an error status: asked again without a token, as
///   credentials-go, -java and -python do, unless `ALIBABA_CLOUD_IMDSV1_DISABLED=true`
///   (then an error). A PUT that connects but times out is an error at once: a GET without
///   a token would wait for the same service.
/// * 5xx, 429, timeouts, a `Code` other than `Success` (the metadata service could not get
///   the role's keys from STS just now), and credentials that are not the documented JSON
///   (nothing a user can fix; the service is most likely broken for a moment):
///   *unavailable*, worth asking again later.
/// * Other 4xx, a named role the instance does not have: *invalid*.
///
/// Errors never hold an answer's body; `Debug` shows no token.
#[derive(Clone)]
pub struct EcsRamRoleProvider {
    env: Env,
    role_name: Option<String>,
    // Named by a profile file: the role must be there, so its absence is an error, not a
    // reason for the chain to move on.
    required: bool,
    client: LazyClient,
}

impl fmt::Debug for EcsRamRoleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcsRamRoleProvider")
            .field("env", &self.env)
            .field("role_name", &self.role_name)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

impl EcsRamRoleProvider {
    /// Reads the given environment for the base URL, the role name and the switches.
    pub fn new(env: Env) -> Self {
        EcsRamRoleProvider {
            env,
            role_name: None,
            required: false,
            client: LazyClient::metadata(),
        }
    }

    /// Uses this role instead of `ALIBABA_CLOUD_ECS_METADATA` or asking the metadata service.
    pub fn with_role_name(mut self, role_name: impl Into<String>) -> Self {
        self.role_name = Some(role_name.into());
        self
    }

    /// A profile file asked for this provider: nothing answering is an error.
    pub(super) fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn not_configured_or_invalid(&self, detail: String) -> CredentialsError {
        if self.required {
            invalid(detail)
        } else {
            CredentialsError::NotConfigured {
                provider: PROVIDER,
                detail,
            }
        }
    }

    async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        if is_true(&self.env, ENV_ECS_METADATA_DISABLED) {
            return Err(self.not_configured_or_invalid(format!(
                "turned off by {ENV_ECS_METADATA_DISABLED}=true"
            )));
        }
        let base = fetch::endpoint(
            &self.env,
            ENV_METADATA_URL,
            DEFAULT_METADATA_URL,
            PROVIDER,
            true,
        )?;
        let shown = shown(&base);
        let named = match self.role_name.clone().or_else(|| self.env.get(ENV_ECS_METADATA)) {
            Some(name) => Some(role_name(&name).map(str::to_owned).ok_or_else(|| {
                invalid(format!(
                    "the role name ({ENV_ECS_METADATA} or role_name) is not a RAM role name (1 to 64 letters, digits, '.', '-', '_')"
                ))
            })?),
            None => None,
        };
        let client = self.client.get(PROVIDER)?;
        let token = self.session_token(client, &base, &shown).await?;
        let role = match named {
            Some(role) => role,
            None => {
                self.attached_role(client, &base, &shown, token.as_ref())
                    .await?
            }
        };
        let url = join(&base, &format!("{ROLES_PATH}{role}"))?;
        let body = fetch::send(get(client, url, token.as_ref()))
            .await
            .map_err(|e| match e {
                FetchError::Status { status: 404, .. } => invalid(format!(
                    "the instance has no RAM role named {role} (the metadata service at {shown} answered 404)"
                )),
                e => failure(&format!("the credentials of role {role}"), &shown, e),
            })?;
        role_credentials(&body, &role, &shown)
    }

    /// The hardened-mode session token, or `None` to ask without one (IMDSv1).
    async fn session_token(
        &self,
        client: &reqwest::Client,
        base: &Url,
        shown: &str,
    ) -> Result<Option<Secret>, CredentialsError> {
        let request = client
            .put(join(base, TOKEN_PATH)?)
            .header(TOKEN_TTL_HEADER, METADATA_TOKEN_TTL_SECS.to_string());
        let (refused, transient) = match fetch::send(request).await {
            Ok(body) => match token_from(body) {
                Some(token) => return Ok(Some(token)),
                None => (
                    "answered something that is not a session token".to_owned(),
                    false,
                ),
            },
            Err(FetchError::Status { status, .. }) => {
                (format!("answered HTTP {status}"), is_transient(status))
            }
            Err(FetchError::Unreachable(why)) => {
                let detail = format!("no ECS metadata service at {shown} ({why})");
                return Err(if self.required {
                    unavailable(detail)
                } else {
                    self.not_configured_or_invalid(detail)
                });
            }
            Err(e) => return Err(failure("a metadata session token", shown, e)),
        };
        // credentials-go (ecs_ram_role.go, getMetadataToken), credentials-java
        // (ECSMetadataServiceCredentialsFetcher.throwErrorOrReturn) and credentials-python
        // (EcsRamRoleProvider._get_metadata_token) all go on without a token when the PUT
        // fails, unless IMDSv1 is disabled: older metadata services have no hardened mode.
        if is_true(&self.env, ENV_IMDSV1_DISABLED) {
            let reason = format!(
                "the metadata service at {shown} gave no session token ({refused}), and {ENV_IMDSV1_DISABLED}=true forbids asking without one"
            );
            return Err(if transient {
                unavailable(reason)
            } else {
                invalid(reason)
            });
        }
        tracing::debug!(endpoint = %shown, why = %refused, "no metadata session token; asking without one (IMDSv1)");
        Ok(None)
    }

    /// The role attached to the instance, as the metadata service lists it.
    async fn attached_role(
        &self,
        client: &reqwest::Client,
        base: &Url,
        shown: &str,
        token: Option<&Secret>,
    ) -> Result<String, CredentialsError> {
        let no_role = || {
            self.not_configured_or_invalid(format!(
                "no RAM role is attached to this instance (the metadata service at {shown} lists none)"
            ))
        };
        let body = fetch::send(get(client, join(base, ROLES_PATH)?, token))
            .await
            .map_err(|e| match e {
                FetchError::Status { status: 404, .. } => no_role(),
                e => failure("the instance's role name", shown, e),
            })?;
        let text = String::from_utf8_lossy(&body);
        let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Err(no_role());
        };
        role_name(first).map(str::to_owned).ok_or_else(|| {
            invalid(format!(
                "the metadata service at {shown} lists a role that is not a RAM role name"
            ))
        })
    }
}

impl ProvideCredentials for EcsRamRoleProvider {
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

fn is_transient(status: u16) -> bool {
    status == 429 || status >= 500
}

/// A failed request after the first: something answers, so nothing here means "not
/// configured".
fn failure(what: &str, shown: &str, e: FetchError) -> CredentialsError {
    let reason = format!(
        "{what} from the metadata service at {shown}: {}",
        e.describe()
    );
    match e {
        FetchError::Status { status, .. } if !is_transient(status) => invalid(reason),
        FetchError::TooLarge | FetchError::Tls(_) => invalid(reason),
        _ => unavailable(reason),
    }
}

/// The base URL as errors show it: no user info, no query.
fn shown(base: &Url) -> String {
    fetch::shown(base)
}

fn join(base: &Url, path: &str) -> Result<Url, CredentialsError> {
    base.join(path).map_err(|e| {
        invalid(format!(
            "{ENV_METADATA_URL} does not take the path {path}: {e}"
        ))
    })
}

fn get(client: &reqwest::Client, url: Url, token: Option<&Secret>) -> reqwest::RequestBuilder {
    let request = client.get(url);
    match token.and_then(|t| HeaderValue::from_str(t.expose()).ok()) {
        Some(mut value) => {
            value.set_sensitive(true);
            request.header(TOKEN_HEADER, value)
        }
        None => request,
    }
}

/// The PUT's answer as a token: one line of header-safe text.
fn token_from(body: Vec<u8>) -> Option<Secret> {
    if body.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let text = String::from_utf8(body).ok()?;
    let token = text.trim();
    (!token.is_empty() && HeaderValue::from_str(token).is_ok()).then(|| Secret::new(token))
}

/// The documented answer for a role; unknown fields (`LastUpdated`) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleAnswer {
    code: Option<String>,
    #[serde(flatten)]
    keys: TemporaryKeys,
}

fn role_credentials(body: &[u8], role: &str, shown: &str) -> Result<Credentials, CredentialsError> {
    let what = format!("the credentials of role {role} from the metadata service at {shown}");
    let answer: RoleAnswer = decode(body, PROVIDER, &what)?;
    match answer.code.as_deref().map(str::trim) {
        Some("Success") => {}
        Some(code) => {
            return Err(unavailable(format!(
                "{what}: Code {} instead of Success",
                printable(code, 64)
            )))
        }
        None => return Err(unavailable(format!("{what} have no Code"))),
    }
    answer.keys.into_credentials(PROVIDER, &what, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_answer() {
        let body = br#"{"AccessKeyId":"STS.id","AccessKeySecret":"SEC","SecurityToken":"TOK","Expiration":"2030-01-01T00:00:00Z","LastUpdated":"2029-12-31T18:00:00Z","Code":"Success"}"#;
        let c = role_credentials(body, "r", "http://x/").unwrap();
        assert_eq!(c.access_key_id(), "STS.id");
        assert_eq!(c.access_key_secret().expose(), "SEC");
        assert_eq!(c.security_token().map(Secret::expose), Some("TOK"));
        assert!(c.expiration().is_some());
    }

    #[test]
    fn answers_that_are_not_it_say_why_without_values() {
        for (body, want, retryable) in [
            (&br#"{"AccessKeyId":"a","AccessKeySecret":"HIDDEN","SecurityToken":"t","Expiration":"2030-01-01T00:00:00Z","Code":"Failed"}"#[..], "Code Failed", true),
            (br#"{"AccessKeyId":"a","AccessKeySecret":"HIDDEN","SecurityToken":"t","Expiration":"2030-01-01T00:00:00Z"}"#, "no Code", true),
            (br#"{"AccessKeyId":"a","AccessKeySecret":"HIDDEN","Expiration":"2030-01-01T00:00:00Z","Code":"Success"}"#, "SecurityToken", true),
            (br#"{"AccessKeyId":"a","AccessKeySecret":"HIDDEN","SecurityToken":"t","Expiration":"soon","Code":"Success"}"#, "Expiration", true),
            (br#"{"AccessKeyId":"a","AccessKeySecret":7,"SecurityToken":"HIDDEN"}"#, "line 1", true),
            (b"<html>HIDDEN</html>", "not the documented JSON", true),
        ] {
            let e = role_credentials(body, "r", "http://x/").unwrap_err();
            let shown = e.to_string();
            assert!(shown.contains(want), "{shown}");
            assert!(!shown.contains("HIDDEN"), "{shown}");
            assert_eq!(e.is_retryable(), retryable, "{shown}");
        }
    }

    #[test]
    fn tokens_are_one_line_of_header_text() {
        assert_eq!(
            token_from(b" abc\n".to_vec()).map(|t| t.expose().to_owned()),
            Some("abc".into())
        );
        assert!(token_from(b"".to_vec()).is_none());
        assert!(token_from(b"a\nb".to_vec()).is_none());
        assert!(token_from(vec![b'a'; MAX_TOKEN_BYTES + 1]).is_none());
    }

    #[test]
    fn debug_shows_no_value_of_the_environment() {
        let p = EcsRamRoleProvider::new(Env::from_pairs([(ENV_ECS_METADATA, "HIDDENROLE")]));
        assert!(!format!("{p:?}").contains("HIDDENROLE"));
    }
}
