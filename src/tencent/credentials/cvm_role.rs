//! [`CvmRoleProvider`]: the temporary credentials of the CAM role bound to a CVM instance,
//! from the instance metadata service, as the official SDKs fetch them
//! (tencentcloud-sdk-go `common/cvm_role_provider.go`, tencentcloud-sdk-python
//! `CVMRoleCredential`): `GET cam/security-credentials/` names the role, then
//! `GET cam/security-credentials/<role>` answers
//! `{"TmpSecretId","TmpSecretKey","Token","ExpiredTime","Expiration","Code":"Success"}`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use reqwest::Url;
use serde::Deserialize;

use super::{Credentials, CredentialsError, Env, ProvideCredentials};
use crate::credentials::fetch::{self, FetchError, LazyClient};

/// The metadata service of a CVM instance (the official SDKs' address).
pub const DEFAULT_METADATA_URL: &str = "http://metadata.tencentyun.com/latest/meta-data/";
/// Environment variable replacing [`DEFAULT_METADATA_URL`] (tests, or a metadata proxy). A
/// URL where nothing listens, such as `http://127.0.0.1:1/`, turns the CVM role off at no cost.
pub const ENV_METADATA_URL: &str = "VOD_EVENTS_TENCENT_METADATA_URL";
/// Environment variable naming the role to use instead of asking the metadata service which
/// one is bound (same as [`CvmRoleProvider::with_role_name`]).
pub const ENV_CVM_ROLE_NAME: &str = "VOD_EVENTS_TENCENT_CVM_ROLE";

const P: &str = "CVM role";
const ROLES_PATH: &str = "cam/security-credentials/";

/// Credentials of the CAM role bound to this CVM instance, asked of the metadata service at
/// [`DEFAULT_METADATA_URL`] (or [`ENV_METADATA_URL`]). They are temporary: a client's cache
/// asks again some minutes before they expire, and the role name is looked up again each
/// time, so a role swapped on the instance is followed.
///
/// Off CVM nothing answers, and this provider is *not configured*: the metadata client gives
/// up connecting after 300 ms. On an instance without a role (the service answers 404) it is
/// not configured either. A service that answers but fails (5xx, no answer in 2 s, a garbled
/// answer) is [`CredentialsError::Unavailable`]; one that refuses the role
/// (`Code` other than `Success`) is [`CredentialsError::Invalid`]. Errors never carry what
/// the service answered.
#[derive(Clone)]
pub struct CvmRoleProvider {
    env: Env,
    role_name: Option<String>,
    // Built on first use: a chain that finds keys in the environment never pays for it.
    http: LazyClient,
}

impl fmt::Debug for CvmRoleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CvmRoleProvider")
            .field("env", &self.env)
            .field("role_name", &self.role_name)
            .finish_non_exhaustive()
    }
}

impl CvmRoleProvider {
    /// Reads [`ENV_METADATA_URL`] and [`ENV_CVM_ROLE_NAME`] from the given environment.
    pub fn new(env: Env) -> Self {
        CvmRoleProvider {
            env,
            role_name: None,
            http: LazyClient::metadata(),
        }
    }

    /// Uses this role instead of asking the metadata service which one is bound; wins over
    /// [`ENV_CVM_ROLE_NAME`]. With a role named, a metadata service that does not answer is
    /// an error ([`CredentialsError::Unavailable`]), not "not configured".
    pub fn with_role_name(mut self, role: impl Into<String>) -> Self {
        self.role_name = Some(role.into());
        self
    }

    fn named_role(&self) -> Result<Option<String>, CredentialsError> {
        let (role, source) = match &self.role_name {
            Some(role) => (role.trim().to_owned(), "the role name given"),
            None => match self.env.get(ENV_CVM_ROLE_NAME) {
                Some(role) => (role.trim().to_owned(), ENV_CVM_ROLE_NAME),
                None => return Ok(None),
            },
        };
        if is_role_name(&role) {
            Ok(Some(role))
        } else {
            Err(CredentialsError::Invalid {
                provider: P,
                reason: format!(
                    "{source} is not a CAM role name (letters, digits and +=,.@_- only, at most 128)"
                ),
            })
        }
    }

    async fn resolve(&self) -> Result<Credentials, CredentialsError> {
        let base = fetch::endpoint(&self.env, ENV_METADATA_URL, DEFAULT_METADATA_URL, P, true)?;
        let roles = join(&base, ROLES_PATH)?;
        let named = self.named_role()?;
        let http = self.http.get(P)?;
        let explicit = named.is_some();
        let role = match named {
            Some(role) => role,
            None => discover_role(http, &base, &roles).await?,
        };
        let url = join(&roles, &role)?;
        let body = fetch::send(http.get(url))
            .await
            .map_err(|e| credentials_error(e, &role, explicit, &base))?;
        parse_role_credentials(&body, &role)
    }
}

impl ProvideCredentials for CvmRoleProvider {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.resolve())
    }
}

fn join(base: &Url, path: &str) -> Result<Url, CredentialsError> {
    base.join(path).map_err(|e| CredentialsError::Invalid {
        provider: P,
        reason: format!("{ENV_METADATA_URL}: cannot add {path:?} to it ({e})"),
    })
}

/// Asks which role is bound. Every way of finding no metadata service, or no role, is "not
/// configured", so that the chain moves on off CVM.
async fn discover_role(
    http: &reqwest::Client,
    base: &Url,
    roles: &Url,
) -> Result<String, CredentialsError> {
    let not_configured = |detail: String| CredentialsError::NotConfigured {
        provider: P,
        detail,
    };
    match fetch::send(http.get(roles.clone())).await {
        // Only the first line: the official SDKs take the whole answer, which is one name.
        Ok(body) => first_role_name(&body).ok_or_else(|| {
            // A resolver that answers every name with a web page of its own would otherwise
            // stop the chain off CVM: what is not a role name means no metadata service here.
            not_configured(format!(
                "{} did not answer with a role name",
                fetch::shown(roles)
            ))
        }),
        Err(FetchError::Unreachable(why)) => {
            tracing::debug!(%why, "no Tencent Cloud metadata service");
            Err(not_configured(format!(
                "no metadata service at {}",
                fetch::shown(base)
            )))
        }
        Err(FetchError::Status { status: 404, .. }) => Err(not_configured(
            "no CAM role bound to this instance (the metadata service answered 404)".into(),
        )),
        // A metadata service that is there but fails will likely answer later; the chain
        // stops rather than falling through to some other credentials meanwhile.
        Err(e) => Err(CredentialsError::Unavailable {
            provider: P,
            reason: format!(
                "metadata service at {}: {}",
                fetch::shown(roles),
                e.describe()
            ),
        }),
    }
}

fn credentials_error(e: FetchError, role: &str, explicit: bool, base: &Url) -> CredentialsError {
    match e {
        // Named by the user: the role is theirs to fix, not to wait for.
        FetchError::Status { status: 404, .. } if explicit => CredentialsError::Invalid {
            provider: P,
            reason: format!(
                "role `{role}` is not bound to this instance (the metadata service answered 404)"
            ),
        },
        FetchError::Unreachable(_) if explicit => CredentialsError::Unavailable {
            provider: P,
            reason: format!(
                "role `{role}` is configured, but no metadata service answered at {}",
                fetch::shown(base)
            ),
        },
        // A role listed a moment ago whose credentials are missing was being swapped: the
        // next try lists again.
        e => CredentialsError::Unavailable {
            provider: P,
            reason: format!("credentials of role `{role}`: {}", e.describe()),
        },
    }
}

/// Whether `name` can be a CAM role name: letters, digits and `+=,.@_-`, 1 to 128 of them,
/// not only dots. The name goes into a URL path, so nothing else may pass.
fn is_role_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        && !name.bytes().all(|b| b == b'.')
}

fn first_role_name(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    is_role_name(first).then(|| first.to_owned())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleAnswer {
    tmp_secret_id: Option<String>,
    tmp_secret_key: Option<String>,
    token: Option<String>,
    expired_time: Option<i64>,
    expiration: Option<String>,
    code: Option<String>,
}

/// Reads a role's credentials. A garbled answer is [`CredentialsError::Unavailable`]: the
/// metadata service is a machine interface the user did not configure, so a malformed answer
/// is a fault of the moment (a cut write, a restarting agent), and the cache keeps signing
/// with the credentials it holds meanwhile. A `Code` other than `Success` is
/// [`CredentialsError::Invalid`]: the service refuses the role (its trust policy, a deleted
/// role), which waiting does not fix.
pub(crate) fn parse_role_credentials(
    body: &[u8],
    role: &str,
) -> Result<Credentials, CredentialsError> {
    let garbled = |what: String| CredentialsError::Unavailable {
        provider: P,
        reason: format!("the metadata service's answer for role `{role}` {what}"),
    };
    // The parser's message may quote a value (a key); say where only.
    let answer: RoleAnswer = serde_json::from_slice(body).map_err(|e| {
        garbled(format!(
            "is not the expected JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if let Some(code) = answer.code.as_deref().filter(|c| *c != "Success") {
        return Err(CredentialsError::Invalid {
            provider: P,
            reason: format!(
                "the metadata service refused credentials for role `{role}`: Code {}",
                printable(code)
            ),
        });
    }
    let field = |value: Option<String>, name: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| garbled(format!("has no {name}")))
    };
    let id = field(answer.tmp_secret_id, "TmpSecretId")?;
    let key = field(answer.tmp_secret_key, "TmpSecretKey")?;
    let token = field(answer.token, "Token")?;
    let expires = expiry(answer.expired_time, answer.expiration.as_deref())
        .ok_or_else(|| garbled("has neither ExpiredTime nor Expiration".into()))?;
    Ok(Credentials::new(id.trim(), key.trim())
        .with_token(token.trim())
        .with_expiration(expires))
}

/// The expiry from Unix seconds, else from an RFC 3339 time. Credentials that say neither
/// are refused: kept without an expiry they would be used until refused.
pub(crate) fn expiry(unix_secs: Option<i64>, rfc3339: Option<&str>) -> Option<SystemTime> {
    match unix_secs
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s > 0)
    {
        Some(secs) => UNIX_EPOCH.checked_add(Duration::from_secs(secs)),
        None => rfc3339.and_then(fetch::parse_rfc3339),
    }
}

/// A service's code for an error message: printable ASCII, at most 64 characters.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_checked_before_they_go_into_a_path() {
        for ok in ["vod-role", "a", "Role_1+=,.@-x", &"r".repeat(128)] {
            assert!(is_role_name(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            ".",
            "a/b",
            "a?b",
            "a b",
            "<html>",
            &"r".repeat(129),
            "rôle",
        ] {
            assert!(!is_role_name(bad), "{bad}");
        }
        assert_eq!(
            first_role_name(b"\n  vod-role \nother\n").as_deref(),
            Some("vod-role")
        );
        assert_eq!(first_role_name(b"<html><body>hi</body></html>"), None);
        assert_eq!(first_role_name(b""), None);
    }

    #[test]
    fn role_credentials_with_expiry() {
        let body =
            br#"{"TmpSecretId":"AKIDtmp","TmpSecretKey":"SECRETKEY","ExpiredTime":1700003600,
            "Expiration":"2023-11-14T23:13:20Z","Token":"TOKEN","Code":"Success"}"#;
        let c = parse_role_credentials(body, "r").unwrap();
        assert_eq!(c.secret_id(), "AKIDtmp");
        assert_eq!(c.secret_key().expose(), "SECRETKEY");
        assert_eq!(c.token().unwrap().expose(), "TOKEN");
        assert_eq!(
            c.expiration(),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_003_600))
        );
        // Only the RFC 3339 form.
        let body = br#"{"TmpSecretId":"a","TmpSecretKey":"b","Token":"t","Expiration":"2023-11-14T23:13:20Z"}"#;
        assert_eq!(
            parse_role_credentials(body, "r").unwrap().expiration(),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_003_600))
        );
    }

    #[test]
    fn garbled_answers_are_unavailable_and_quote_nothing() {
        let bodies: [&[u8]; 5] = [
            br#"{"TmpSecretId":"a","TmpSecretKey":"SECRETKEY","#,
            br#"{"TmpSecretId":"a","TmpSecretKey":"SECRETKEY","Token":"t"}"#,
            br#"{"TmpSecretId":"a","TmpSecretKey":"SECRETKEY","Token":"t","ExpiredTime":"SECRETKEY"}"#,
            br#"{"TmpSecretId":"a","Token":"SECRETKEY","ExpiredTime":1}"#,
            b"SECRETKEY",
        ];
        for body in bodies {
            let e = parse_role_credentials(body, "r").unwrap_err();
            assert!(e.is_retryable(), "{e:?}");
            assert!(!e.to_string().contains("SECRETKEY"), "{e}");
        }
    }

    #[test]
    fn a_refused_role_is_invalid_and_says_the_code() {
        let body = br#"{"Code":"Failed","TmpSecretKey":"SECRETKEY"}"#;
        let e = parse_role_credentials(body, "vod-role").unwrap_err();
        assert!(matches!(e, CredentialsError::Invalid { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("Failed") && text.contains("vod-role"),
            "{text}"
        );
        assert!(!text.contains("SECRETKEY"));
    }

    #[test]
    fn a_role_name_from_the_environment_is_checked() {
        let env = Env::from_pairs([(ENV_CVM_ROLE_NAME, "../../x")]);
        let e = CvmRoleProvider::new(env).named_role().unwrap_err();
        assert!(e.to_string().contains(ENV_CVM_ROLE_NAME), "{e}");
        let env = Env::from_pairs([(ENV_CVM_ROLE_NAME, "from-env")]);
        let p = CvmRoleProvider::new(env);
        assert_eq!(p.named_role().unwrap().as_deref(), Some("from-env"));
        let p = p.with_role_name("given");
        assert_eq!(p.named_role().unwrap().as_deref(), Some("given"));
    }
}
