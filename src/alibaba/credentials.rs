//! Alibaba Cloud credentials (AccessKey pair, optional STS token) and where they come from.
//!
//! [`Credentials`] never shows its secret or token in `Debug` or `Display`. Providers
//! implement [`ProvideCredentials`], which is asynchronous and returns credentials with an
//! optional expiry, so the instance-role (ECS RAM role) and OIDC providers of a later change
//! slot in beside these two: the client asks again shortly before credentials expire.
//! [`DefaultChain`] tries the environment, then the profile file, and moves on only when a
//! source is *not configured*: a source configured but broken stops the chain with an error.
//!
//! The environment (and so the home directory) is injected with [`Env`], so tests never read
//! the real process environment or home.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use futures::future::BoxFuture;

pub use crate::tencent::credentials::{Env, Secret};

/// Environment variable holding the AccessKey ID.
pub const ENV_ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// Environment variable holding the AccessKey secret.
pub const ENV_ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// Environment variable holding an STS security token (temporary credentials only).
pub const ENV_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";
/// Environment variable naming the credentials file, instead of `~/.alibabacloud/credentials`.
pub const ENV_CREDENTIALS_FILE: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";
/// Environment variable naming the profile to read (default `default`).
pub const ENV_PROFILE: &str = "ALIBABA_CLOUD_PROFILE";
/// Credentials files larger than this are refused rather than read into memory.
pub const MAX_CREDENTIALS_FILE_BYTES: u64 = 64 * 1024;

/// An AccessKey pair, with an STS security token for temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    access_key_secret: Secret,
    security_token: Option<Secret>,
    expiration: Option<SystemTime>,
}

impl Credentials {
    /// A long-lived AccessKey pair.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            access_key_secret: Secret::new(access_key_secret),
            security_token: None,
            expiration: None,
        }
    }

    /// Adds an STS security token (sent as the `security-token` header).
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(Secret::new(token));
        self
    }

    /// Says when these credentials stop working (STS, instance roles): the client asks its
    /// provider again shortly before.
    pub fn with_expiration(mut self, at: SystemTime) -> Self {
        self.expiration = Some(at);
        self
    }

    /// The AccessKey ID (not a secret: it is sent in every `Authorization` header).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The AccessKey secret.
    pub fn access_key_secret(&self) -> &Secret {
        &self.access_key_secret
    }

    /// The STS security token, if any.
    pub fn security_token(&self) -> Option<&Secret> {
        self.security_token.as_ref()
    }

    /// When these credentials expire, if they do.
    pub fn expiration(&self) -> Option<SystemTime> {
        self.expiration
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &self.access_key_secret)
            .field("security_token", &self.security_token)
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Why credentials could not be had. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// This source has nothing configured; a chain moves on to the next one.
    #[error("{provider}: {detail}")]
    NotConfigured {
        /// The source, e.g. `environment`.
        provider: &'static str,
        /// What was looked for.
        detail: String,
    },
    /// The source is configured but unusable; a chain stops here.
    #[error("{provider}: {reason}")]
    Invalid {
        /// The source.
        provider: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No source in a chain was configured.
    #[error("no Alibaba Cloud credentials found: set {ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET}, or write type = access_key, access_key_id and access_key_secret under [default] in ~/.alibabacloud/credentials (tried: {tried})")]
    NoneFound {
        /// What each source reported.
        tried: String,
    },
}

impl CredentialsError {
    /// Whether a chain should try its next source.
    pub fn is_not_configured(&self) -> bool {
        matches!(self, CredentialsError::NotConfigured { .. })
    }
}

/// A source of credentials. Asynchronous so that network-backed sources (instance roles,
/// OIDC, STS AssumeRole) fit the same trait; they return credentials with an expiry.
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    /// Resolves credentials, or says why not.
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>>;
}

impl ProvideCredentials for Credentials {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        let c = self.clone();
        Box::pin(async move { Ok(c) })
    }
}

/// Credentials from `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and
/// optionally `ALIBABA_CLOUD_SECURITY_TOKEN`.
#[derive(Debug, Clone)]
pub struct EnvProvider {
    env: Env,
}

impl EnvProvider {
    /// Reads the given environment.
    pub fn new(env: Env) -> Self {
        EnvProvider { env }
    }

    fn resolve(&self) -> Result<Credentials, CredentialsError> {
        let id = self.env.get(ENV_ACCESS_KEY_ID);
        let secret = self.env.get(ENV_ACCESS_KEY_SECRET);
        let token = self.env.get(ENV_SECURITY_TOKEN);
        match (id, secret) {
            (Some(id), Some(secret)) => {
                let c = Credentials::new(id.trim(), secret.trim());
                Ok(match token {
                    Some(t) => c.with_security_token(t.trim()),
                    None => c,
                })
            }
            (None, None) if token.is_none() => Err(CredentialsError::NotConfigured {
                provider: "environment",
                detail: format!("{ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET} are not set"),
            }),
            (id, _) => Err(CredentialsError::Invalid {
                provider: "environment",
                reason: format!(
                    "{} is set but {} is not",
                    if id.is_some() {
                        ENV_ACCESS_KEY_ID
                    } else {
                        "part of the credentials"
                    },
                    if id.is_some() {
                        ENV_ACCESS_KEY_SECRET
                    } else {
                        ENV_ACCESS_KEY_ID
                    },
                ),
            }),
        }
    }
}

impl ProvideCredentials for EnvProvider {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(async move { self.resolve() })
    }
}

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

fn read_small_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    // One byte past the limit tells an oversized file without reading it all.
    file.take(MAX_CREDENTIALS_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CREDENTIALS_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_CREDENTIALS_FILE_BYTES} bytes"),
        ));
    }
    Ok(text)
}

/// Reads one profile of the INI text. Errors name keys and sections, never a value.
fn parse_profile(text: &str, profile: &str) -> Result<Credentials, String> {
    let ini = ini::Ini::load_from_str(text).map_err(|e| {
        // The parser's message quotes the offending line, which may hold a secret.
        format!("not an INI file (line {}, column {})", e.line, e.col)
    })?;
    let section = ini
        .section(Some(profile))
        .ok_or_else(|| format!("no [{profile}] section"))?;
    let get = |key: &str| {
        section
            .get(key)
            .map(|v| v.trim().trim_matches('"'))
            .filter(|v| !v.is_empty())
    };
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

/// Tries providers in order, moving on only when one is not configured.
#[derive(Debug, Clone)]
pub struct DefaultChain {
    providers: Vec<Arc<dyn ProvideCredentials>>,
}

impl DefaultChain {
    /// Environment, then profile file, reading the real process environment.
    pub fn new() -> Self {
        Self::with_env(Env::process())
    }

    /// Environment, then profile file, reading the given environment.
    pub fn with_env(env: Env) -> Self {
        DefaultChain {
            providers: vec![
                Arc::new(EnvProvider::new(env.clone())),
                Arc::new(ProfileProvider::new(env)),
            ],
        }
    }

    /// A chain of the given providers, tried in order (an instance-role provider goes last).
    pub fn from_providers(providers: Vec<Arc<dyn ProvideCredentials>>) -> Self {
        DefaultChain { providers }
    }
}

impl Default for DefaultChain {
    fn default() -> Self {
        Self::new()
    }
}

impl ProvideCredentials for DefaultChain {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(async move {
            let mut tried = Vec::new();
            for provider in &self.providers {
                match provider.provide().await {
                    Ok(c) => return Ok(c),
                    Err(e) if e.is_not_configured() => tried.push(e.to_string()),
                    Err(e) => return Err(e),
                }
            }
            Err(CredentialsError::NoneFound {
                tried: tried.join("; "),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        futures::executor::block_on(f)
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vod-events-ali-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn environment_wins_and_carries_the_token() {
        let env = Env::from_pairs([
            (ENV_ACCESS_KEY_ID, "LTAIid"),
            (ENV_ACCESS_KEY_SECRET, "SECRETVALUE"),
            (ENV_SECURITY_TOKEN, "TOKENVALUE"),
        ]);
        let c = block(DefaultChain::with_env(env).provide()).unwrap();
        assert_eq!(c.access_key_id(), "LTAIid");
        assert_eq!(c.access_key_secret().expose(), "SECRETVALUE");
        assert_eq!(c.security_token().map(Secret::expose), Some("TOKENVALUE"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("SECRETVALUE") && !shown.contains("TOKENVALUE"),
            "{shown}"
        );
    }

    #[test]
    fn half_an_environment_stops_the_chain() {
        let env = Env::from_pairs([(ENV_ACCESS_KEY_ID, "LTAIid")]);
        let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
        assert!(matches!(e, CredentialsError::Invalid { .. }), "{e}");
        assert!(e.to_string().contains(ENV_ACCESS_KEY_SECRET), "{e}");
        let env = Env::from_pairs([(ENV_SECURITY_TOKEN, "T")]);
        assert!(!block(EnvProvider::new(env).provide())
            .unwrap_err()
            .is_not_configured());
    }

    #[test]
    fn profile_file_access_key_and_sts() {
        let path = temp_file(
            "ok",
            "[default]\nenable = true\ntype = access_key\naccess_key_id = LTAIfile\naccess_key_secret = FILESECRET\n\n[temp]\ntype = sts\naccess_key_id = STS.id\naccess_key_secret = s\nsecurity_token = TOK\n",
        );
        let env = Env::from_pairs([(ENV_CREDENTIALS_FILE, path.to_str().unwrap())]);
        let c = block(DefaultChain::with_env(env).provide()).unwrap();
        assert_eq!(c.access_key_id(), "LTAIfile");
        assert_eq!(c.access_key_secret().expose(), "FILESECRET");
        assert!(c.security_token().is_none());
        let env = Env::from_pairs([
            (ENV_CREDENTIALS_FILE, path.to_str().unwrap()),
            (ENV_PROFILE, "temp"),
        ]);
        let c = block(ProfileProvider::new(env).provide()).unwrap();
        assert_eq!(c.security_token().map(Secret::expose), Some("TOK"));
    }

    #[test]
    fn the_home_file_is_found_and_its_absence_falls_through() {
        let path = temp_file(
            "home",
            "[default]\naccess_key_id = a\naccess_key_secret = b\n",
        );
        let home = path.parent().unwrap().join("home");
        std::fs::create_dir_all(home.join(".alibabacloud")).unwrap();
        std::fs::copy(&path, home.join(".alibabacloud/credentials")).unwrap();
        let env = Env::from_pairs([("HOME", home.to_str().unwrap())]);
        assert_eq!(
            block(DefaultChain::with_env(env).provide())
                .unwrap()
                .access_key_id(),
            "a"
        );
        let env = Env::from_pairs([("HOME", "/nonexistent-vod-events")]);
        let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
        assert!(matches!(e, CredentialsError::NoneFound { .. }), "{e}");
    }

    #[test]
    fn broken_profiles_say_why_without_values() {
        for (name, text, want) in [
            (
                "nosec",
                "[other]\naccess_key_id = a\n",
                "no [default] section",
            ),
            ("half", "[default]\naccess_key_id = a\n", "needs both"),
            (
                "role",
                "[default]\ntype = ecs_ram_role\nrole_name = r\n",
                "ecs_ram_role",
            ),
            (
                "sts",
                "[default]\ntype = sts\naccess_key_id = a\naccess_key_secret = HIDDEN\n",
                "security_token",
            ),
            (
                "bad",
                "[default\naccess_key_secret = HIDDEN\n",
                "not an INI file",
            ),
        ] {
            let path = temp_file(name, text);
            let env = Env::from_pairs([(ENV_CREDENTIALS_FILE, path.to_str().unwrap())]);
            let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
            let shown = e.to_string();
            assert!(shown.contains(want), "{name}: {shown}");
            assert!(!shown.contains("HIDDEN"), "{name}: {shown}");
        }
        let env = Env::from_pairs([(ENV_CREDENTIALS_FILE, "/nonexistent-vod-events/c")]);
        let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
        assert!(
            matches!(e, CredentialsError::Invalid { .. }),
            "a named file must exist: {e}"
        );
    }
}
