//! [`ProfileProvider`]: credentials from `~/.alibabacloud/credentials`, read as the official
//! CLI reads it (any case of keys, `=` or `:`, comments, quotes).

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::oidc::OidcRole;
use super::{
    Credentials, CredentialsError, EcsRamRoleProvider, Env, OidcProvider, ProvideCredentials,
};
use crate::credentials::{ini_value, load_ini, read_small_file};

/// Environment variable naming the credentials file, instead of `~/.alibabacloud/credentials`.
pub const ENV_CREDENTIALS_FILE: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";
/// Environment variable naming the profile to read (default `default`).
pub const ENV_PROFILE: &str = "ALIBABA_CLOUD_PROFILE";
/// Credentials from the profile file the Alibaba Cloud SDKs share:
/// `ALIBABA_CLOUD_CREDENTIALS_FILE`, else `~/.alibabacloud/credentials`, an INI file whose
/// section (`[default]`, or `ALIBABA_CLOUD_PROFILE`) has a `type`:
///
/// * `access_key` (the default): `access_key_id`, `access_key_secret`;
/// * `sts`: the same and `security_token`;
/// * `ecs_ram_role`: the instance's RAM role ([`EcsRamRoleProvider`]), `role_name` optional;
/// * `oidc_role_arn`: a role assumed with an OIDC token ([`OidcProvider`]): `role_arn`,
///   `oidc_provider_arn`, `oidc_token_file_path`, optional `role_session_name`.
///
/// A profile that names a role needs it: no metadata service, or no role attached, is an
/// error here, not a reason for a chain to move on.
#[derive(Debug, Clone)]
pub struct ProfileProvider {
    env: Env,
}

impl ProfileProvider {
    /// Reads the file the given environment names.
    pub fn new(env: Env) -> Self {
        ProfileProvider { env }
    }

    /// The file read, and whether it was named explicitly (then it must exist).
    pub fn file(&self) -> Option<(PathBuf, bool)> {
        match self.env.get(ENV_CREDENTIALS_FILE) {
            Some(path) => Some((PathBuf::from(path), true)),
            None => self
                .env
                .get("HOME")
                .map(|home| (PathBuf::from(home).join(".alibabacloud/credentials"), false)),
        }
    }

    fn resolve(&self) -> Result<Source, CredentialsError> {
        let not_configured = |detail: String| CredentialsError::NotConfigured {
            provider: "profile file",
            detail,
        };
        let Some((path, explicit)) = self.file() else {
            return Err(not_configured(
                "no HOME to find ~/.alibabacloud/credentials".into(),
            ));
        };
        let invalid = |reason: String| CredentialsError::Invalid {
            provider: "profile file",
            reason: format!("{}: {reason}", path.display()),
        };
        let text = match read_small_file(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Err(not_configured(format!("{} does not exist", path.display())))
            }
            Err(e) => return Err(invalid(format!("cannot read: {e}"))),
        };
        let profile = self
            .env
            .get(ENV_PROFILE)
            .unwrap_or_else(|| "default".into());
        parse_profile(&text, profile.trim(), &path).map_err(invalid)
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(async move {
            match self.resolve()? {
                Source::Keys(credentials) => Ok(credentials),
                Source::EcsRole { place, role_name } => {
                    let mut provider = EcsRamRoleProvider::new(self.env.clone()).required();
                    if let Some(name) = role_name {
                        provider = provider.with_role_name(name);
                    }
                    provider.provide().await.map_err(|e| delegated(e, &place))
                }
                Source::Oidc { place, role } => OidcProvider::for_role(self.env.clone(), role)
                    .provide()
                    .await
                    .map_err(|e| delegated(e, &place)),
            }
        })
    }
}

/// What a profile holds: keys, or where to get them.
enum Source {
    Keys(Credentials),
    /// `place` names the file, the profile and the type for errors.
    EcsRole {
        place: String,
        role_name: Option<String>,
    },
    Oidc {
        place: String,
        role: OidcRole,
    },
}

/// A role provider's error, said to come from the profile that named it. It keeps its kind,
/// except that "not configured" is an error: the profile asked for this source.
fn delegated(e: CredentialsError, place: &str) -> CredentialsError {
    let reason = format!("{place}: {e}");
    match e {
        CredentialsError::Unavailable { .. } => CredentialsError::Unavailable {
            provider: "profile file",
            reason,
        },
        _ => CredentialsError::Invalid {
            provider: "profile file",
            reason,
        },
    }
}

/// Reads one profile of the INI text. Errors name keys and sections, never a value.
fn parse_profile(text: &str, profile: &str, path: &Path) -> Result<Source, String> {
    let ini = load_ini(text)?;
    let section = ini
        .section(Some(profile))
        .ok_or_else(|| format!("no [{profile}] section"))?;
    let get = |key: &str| ini_value(section, key);
    let kind = get("type").unwrap_or("access_key");
    let place = format!("{}: [{profile}] type = {kind}", path.display());
    let needs_token = match kind {
        "access_key" => false,
        "sts" => true,
        "ecs_ram_role" => {
            return Ok(Source::EcsRole {
                place,
                role_name: get("role_name").map(str::to_owned),
            })
        }
        "oidc_role_arn" => {
            let keys = ["role_arn", "oidc_provider_arn", "oidc_token_file_path"];
            let missing: Vec<&str> = keys.into_iter().filter(|k| get(k).is_none()).collect();
            let (Some(role_arn), Some(provider_arn), Some(token_file)) =
                (get(keys[0]), get(keys[1]), get(keys[2]))
            else {
                return Err(format!(
                    "[{profile}] has type = oidc_role_arn but no {}",
                    missing.join(", ")
                ));
            };
            return Ok(Source::Oidc {
                place,
                role: OidcRole {
                    role_arn: role_arn.to_owned(),
                    provider_arn: provider_arn.to_owned(),
                    token_file: PathBuf::from(token_file),
                    session_name: get("role_session_name").map(str::to_owned),
                },
            });
        }
        other => {
            return Err(format!(
                "[{profile}] has type = {other}, which this version does not support (use access_key, sts, ecs_ram_role or oidc_role_arn)"
            ))
        }
    };
    let (Some(id), Some(secret)) = (get("access_key_id"), get("access_key_secret")) else {
        return Err(format!(
            "[{profile}] needs both access_key_id and access_key_secret"
        ));
    };
    let credentials = Credentials::new(id, secret);
    match (
        needs_token,
        get("security_token").or_else(|| get("sts_token")),
    ) {
        (_, Some(token)) => Ok(Source::Keys(credentials.with_security_token(token))),
        (true, None) => Err(format!("[{profile}] has type = sts but no security_token")),
        (false, None) => Ok(Source::Keys(credentials)),
    }
}
