//! [`ProfileProvider`]: credentials from `~/.alibabacloud/credentials`, read as the official
//! CLI reads it (any case of keys, `=` or `:`, comments, quotes).

use std::path::PathBuf;

use futures::future::BoxFuture;

use super::{Credentials, CredentialsError, Env, ProvideCredentials};
use crate::credentials::{ini_value, load_ini, read_small_file};

/// Environment variable naming the credentials file, instead of `~/.alibabacloud/credentials`.
pub const ENV_CREDENTIALS_FILE: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";
/// Environment variable naming the profile to read (default `default`).
pub const ENV_PROFILE: &str = "ALIBABA_CLOUD_PROFILE";
/// Credentials from the profile file the Alibaba Cloud CLI and SDKs share:
/// `ALIBABA_CLOUD_CREDENTIALS_FILE`, else `~/.alibabacloud/credentials`, an INI file whose
/// section (`[default]`, or `ALIBABA_CLOUD_PROFILE`) has `type = access_key` (or `sts`, with
/// `security_token`), `access_key_id` and `access_key_secret`.
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

    fn resolve(&self) -> Result<Credentials, CredentialsError> {
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
        parse_profile(&text, profile.trim()).map_err(invalid)
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(async move { self.resolve() })
    }
}

/// Reads one profile of the INI text. Errors name keys and sections, never a value.
fn parse_profile(text: &str, profile: &str) -> Result<Credentials, String> {
    let ini = load_ini(text)?;
    let section = ini
        .section(Some(profile))
        .ok_or_else(|| format!("no [{profile}] section"))?;
    let get = |key: &str| ini_value(section, key);
    let kind = get("type").unwrap_or("access_key");
    let needs_token = match kind {
        "access_key" => false,
        "sts" => true,
        other => {
            return Err(format!(
                "[{profile}] has type = {other}, which this version does not support (use access_key or sts)"
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
        (_, Some(token)) => Ok(credentials.with_security_token(token)),
        (true, None) => Err(format!("[{profile}] has type = sts but no security_token")),
        (false, None) => Ok(credentials),
    }
}
