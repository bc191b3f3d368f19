//! API credentials and where they come from.
//!
//! [`Credentials`] never shows its key or token in `Debug` or `Display`. Providers implement
//! [`ProvideCredentials`]; [`DefaultChain`] tries the environment, then the profile file, and
//! moves on only when a source is *not configured* — a source that is configured but broken
//! (half the variables set, a malformed file) stops the chain with an error, so a typo never
//! silently falls through to other credentials.
//!
//! The environment and the file system are injected ([`Env`]), so tests never read the real
//! process environment or home directory.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;

/// Environment variable holding the SecretId.
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
/// Environment variable holding the SecretKey.
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
/// Environment variable holding an STS session token (temporary credentials only).
pub const ENV_SESSION_TOKEN: &str = "TENCENTCLOUD_SESSION_TOKEN";
/// Environment variable naming a credentials file, tried before `~/.tencentcloud/credentials`.
pub const ENV_CREDENTIALS_FILE: &str = "TENCENTCLOUD_CREDENTIALS_FILE";
/// The system-wide credentials file, tried last.
pub const SYSTEM_CREDENTIALS_FILE: &str = "/etc/tencentcloud/credentials";
/// Credentials files larger than this are refused rather than read into memory.
pub const MAX_CREDENTIALS_FILE_BYTES: u64 = 64 * 1024;

/// A secret string. `Debug` and `Display` print `** redacted **`; the value is reachable
/// only through [`Secret::expose`], so every use of it is visible in the code.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Call only where the value is really needed (signing, a header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is returned to the allocator.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.iter_mut().for_each(|b| *b = 0);
        drop(std::hint::black_box(bytes));
    }
}

/// A SecretId/SecretKey pair and, for temporary (STS) credentials, a session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    secret_id: String,
    secret_key: Secret,
    token: Option<Secret>,
}

impl Credentials {
    /// Permanent credentials.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            secret_id: secret_id.into(),
            secret_key: Secret::new(secret_key),
            token: None,
        }
    }

    /// Adds an STS session token, sent as `X-TC-Token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }

    /// The SecretId. It is not secret: it travels in clear in every `Authorization` header.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The SecretKey.
    pub fn secret_key(&self) -> &Secret {
        &self.secret_key
    }

    /// The session token, if these are temporary credentials.
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &self.secret_key)
            .field("token", &self.token.as_ref().map(|_| "** redacted **"))
            .finish()
    }
}

/// Why credentials could not be had.
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
        /// What is wrong (never includes a secret value).
        reason: String,
    },
    /// No source in a chain was configured.
    #[error("no Tencent Cloud credentials found: set {ENV_SECRET_ID} and {ENV_SECRET_KEY}, or write secret_id and secret_key under [default] in ~/.tencentcloud/credentials (tried: {tried})")]
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

/// A source of credentials. Asynchronous so that network-backed sources (instance roles, STS)
/// fit the same trait.
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

/// Fixed credentials given in code.
#[derive(Debug, Clone)]
pub struct StaticProvider(Credentials);

impl StaticProvider {
    /// Always provides these credentials.
    pub fn new(credentials: Credentials) -> Self {
        StaticProvider(credentials)
    }
}

impl ProvideCredentials for StaticProvider {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        self.0.provide()
    }
}

/// The environment variables and home directory a provider sees. [`Env::process`] reads the
/// real ones; [`Env::from_pairs`] gives tests a fixed set.
#[derive(Clone)]
pub struct Env {
    source: EnvSource,
}

#[derive(Clone)]
enum EnvSource {
    Process,
    Fixed(Arc<HashMap<String, String>>),
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets: show names only.
        match &self.source {
            EnvSource::Process => f.write_str("Env(process)"),
            EnvSource::Fixed(map) => {
                let mut keys: Vec<_> = map.keys().collect();
                keys.sort();
                f.debug_tuple("Env").field(&keys).finish()
            }
        }
    }
}

impl Env {
    /// The real process environment.
    pub fn process() -> Self {
        Env {
            source: EnvSource::Process,
        }
    }

    /// A fixed environment, e.g. `Env::from_pairs([("HOME", "/tmp/x")])`.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            source: EnvSource::Fixed(Arc::new(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            )),
        }
    }

    /// A variable's value; unset, empty and non-UTF-8 values all count as absent.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.source {
            EnvSource::Process => std::env::var(name).ok(),
            EnvSource::Fixed(map) => map.get(name).cloned(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from)
    }
}

/// Credentials from `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY` and optionally
/// `TENCENTCLOUD_SESSION_TOKEN`.
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
        const P: &str = "environment";
        let id = self.env.get(ENV_SECRET_ID);
        let key = self.env.get(ENV_SECRET_KEY);
        let creds = match (id, key) {
            (None, None) => {
                return Err(CredentialsError::NotConfigured {
                    provider: P,
                    detail: format!("{ENV_SECRET_ID} and {ENV_SECRET_KEY} are not set"),
                })
            }
            (Some(_), None) => {
                return Err(CredentialsError::Invalid {
                    provider: P,
                    reason: format!("{ENV_SECRET_ID} is set but {ENV_SECRET_KEY} is not"),
                })
            }
            (None, Some(_)) => {
                return Err(CredentialsError::Invalid {
                    provider: P,
                    reason: format!("{ENV_SECRET_KEY} is set but {ENV_SECRET_ID} is not"),
                })
            }
            (Some(id), Some(key)) => Credentials::new(id.trim(), key.trim()),
        };
        Ok(match self.env.get(ENV_SESSION_TOKEN) {
            Some(token) => creds.with_token(token.trim()),
            None => creds,
        })
    }
}

impl ProvideCredentials for EnvProvider {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(async move { self.resolve() })
    }
}

/// Credentials from an INI profile file: `TENCENTCLOUD_CREDENTIALS_FILE` if set, else
/// `~/.tencentcloud/credentials`, else `/etc/tencentcloud/credentials`; section `[default]`
/// (or another, see [`ProfileProvider::with_profile`]) with `secret_id`, `secret_key` and an
/// optional `token`.
#[derive(Debug, Clone)]
pub struct ProfileProvider {
    env: Env,
    profile: String,
    system_file: PathBuf,
}

impl ProfileProvider {
    /// Looks for the file using the given environment (for `TENCENTCLOUD_CREDENTIALS_FILE` and `HOME`).
    pub fn new(env: Env) -> Self {
        ProfileProvider {
            env,
            profile: "default".into(),
            system_file: PathBuf::from(SYSTEM_CREDENTIALS_FILE),
        }
    }

    /// Reads another section than `[default]`.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = profile.into();
        self
    }

    /// Replaces `/etc/tencentcloud/credentials` (tests point it into a temporary directory).
    pub fn with_system_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.system_file = path.into();
        self
    }

    /// The files tried, in order; the first one that exists is used.
    pub fn candidate_files(&self) -> Vec<(PathBuf, bool)> {
        // (path, explicitly configured): an explicitly named file must exist.
        let mut files = Vec::new();
        if let Some(path) = self.env.get(ENV_CREDENTIALS_FILE) {
            files.push((PathBuf::from(path), true));
        }
        if let Some(home) = self.env.home() {
            files.push((home.join(".tencentcloud").join("credentials"), false));
        }
        files.push((self.system_file.clone(), false));
        files
    }

    fn resolve(&self) -> Result<Credentials, CredentialsError> {
        const P: &str = "profile file";
        for (path, explicit) in self.candidate_files() {
            match read_small_file(&path) {
                Ok(text) => return parse_profile(&text, &self.profile, &path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => continue,
                Err(e) => {
                    return Err(CredentialsError::Invalid {
                        provider: P,
                        reason: format!("cannot read {}: {e}", path.display()),
                    })
                }
            }
        }
        Err(CredentialsError::NotConfigured {
            provider: P,
            detail: "no credentials file found".into(),
        })
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(async move { self.resolve() })
    }
}

fn read_small_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    // Read one byte past the limit so an oversized file is detected without reading it all.
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

/// Parses the INI profile format. Errors name the file and line, never a value.
fn parse_profile(text: &str, profile: &str, path: &Path) -> Result<Credentials, CredentialsError> {
    let invalid = |reason: String| CredentialsError::Invalid {
        provider: "profile file",
        reason: format!("{}: {reason}", path.display()),
    };
    let mut section: Option<&str> = None;
    let mut found_section = false;
    let (mut id, mut key, mut token) = (None, None, None);
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| invalid(format!("line {}: unterminated section header", n + 1)))?;
            section = Some(name.trim());
            found_section |= name.trim() == profile;
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| invalid(format!("line {}: expected `key = value`", n + 1)))?;
        if section != Some(profile) {
            continue;
        }
        let v = v.trim().to_owned();
        match k.trim() {
            "secret_id" => id = Some(v),
            "secret_key" => key = Some(v),
            "token" | "session_token" => token = Some(v),
            _ => {}
        }
    }
    if !found_section {
        return Err(invalid(format!("no [{profile}] section")));
    }
    let id = id.filter(|v| !v.is_empty());
    let key = key.filter(|v| !v.is_empty());
    match (id, key) {
        (Some(id), Some(key)) => {
            let c = Credentials::new(id, key);
            Ok(match token.filter(|t| !t.is_empty()) {
                Some(t) => c.with_token(t),
                None => c,
            })
        }
        _ => Err(invalid(format!(
            "[{profile}] needs both secret_id and secret_key"
        ))),
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

    /// A chain of the given providers, tried in order.
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

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vod-events-creds-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn nowhere() -> PathBuf {
        PathBuf::from("/nonexistent/vod-events/credentials")
    }

    #[test]
    fn debug_and_display_never_show_key_or_token() {
        let c = Credentials::new("AKIDpublic", "SUPERSECRETKEY").with_token("SESSIONTOKEN");
        let text = format!(
            "{c:?} {} {:?} {:?}",
            c.secret_key(),
            c.secret_key(),
            c.token()
        );
        assert!(text.contains("AKIDpublic"));
        assert!(
            !text.contains("SUPERSECRETKEY") && !text.contains("SESSIONTOKEN"),
            "{text}"
        );
        let env = Env::from_pairs([(ENV_SECRET_KEY, "SUPERSECRETKEY")]);
        assert!(!format!("{env:?} {:?}", EnvProvider::new(env.clone())).contains("SUPERSECRETKEY"));
    }

    #[test]
    fn env_provider_reads_id_key_and_token() {
        let env = Env::from_pairs([
            (ENV_SECRET_ID, "id"),
            (ENV_SECRET_KEY, "key"),
            (ENV_SESSION_TOKEN, "tok"),
        ]);
        let c = block(EnvProvider::new(env).provide()).unwrap();
        assert_eq!(c.secret_id(), "id");
        assert_eq!(c.secret_key().expose(), "key");
        assert_eq!(c.token().map(Secret::expose), Some("tok"));
    }

    #[test]
    fn env_provider_unset_is_not_configured_but_half_set_is_invalid() {
        let none =
            block(EnvProvider::new(Env::from_pairs::<&str, &str>([])).provide()).unwrap_err();
        assert!(none.is_not_configured());
        let half = block(EnvProvider::new(Env::from_pairs([(ENV_SECRET_ID, "id")])).provide())
            .unwrap_err();
        assert!(matches!(half, CredentialsError::Invalid { .. }), "{half:?}");
        assert!(half.to_string().contains(ENV_SECRET_KEY));
    }

    #[test]
    fn profile_file_from_home() {
        let home = temp_dir("home");
        std::fs::create_dir_all(home.join(".tencentcloud")).unwrap();
        std::fs::write(
            home.join(".tencentcloud/credentials"),
            "# comment\n[other]\nsecret_id = wrong\n\n[default]\nsecret_id = AKIDhome\nsecret_key = homekey\n",
        )
        .unwrap();
        let p = ProfileProvider::new(Env::from_pairs([("HOME", home.to_str().unwrap())]))
            .with_system_file(nowhere());
        let c = block(p.provide()).unwrap();
        assert_eq!(
            (c.secret_id(), c.secret_key().expose()),
            ("AKIDhome", "homekey")
        );
        assert!(c.token().is_none());
    }

    #[test]
    fn explicit_file_wins_and_must_exist() {
        let dir = temp_dir("explicit");
        let file = dir.join("creds");
        std::fs::write(&file, "[default]\nsecret_id=a\nsecret_key=b\n").unwrap();
        let p = ProfileProvider::new(Env::from_pairs([(
            ENV_CREDENTIALS_FILE,
            file.to_str().unwrap(),
        )]))
        .with_system_file(nowhere());
        assert_eq!(block(p.provide()).unwrap().secret_id(), "a");
        let missing =
            ProfileProvider::new(Env::from_pairs([(ENV_CREDENTIALS_FILE, "/nonexistent/x")]))
                .with_system_file(nowhere());
        assert!(matches!(
            block(missing.provide()),
            Err(CredentialsError::Invalid { .. })
        ));
    }

    #[test]
    fn system_file_is_the_last_resort() {
        let dir = temp_dir("system");
        let file = dir.join("credentials");
        std::fs::write(&file, "[default]\nsecret_id=sys\nsecret_key=k\n").unwrap();
        let p = ProfileProvider::new(Env::from_pairs([("HOME", "/nonexistent-home")]))
            .with_system_file(&file);
        assert_eq!(block(p.provide()).unwrap().secret_id(), "sys");
    }

    #[test]
    fn malformed_profile_is_invalid_and_names_no_value() {
        let dir = temp_dir("malformed");
        let file = dir.join("c");
        std::fs::write(&file, "[default]\nsecret_id = AKIDx\nsecret_key\n").unwrap();
        let p = ProfileProvider::new(Env::from_pairs([(
            ENV_CREDENTIALS_FILE,
            file.to_str().unwrap(),
        )]));
        let err = block(p.provide()).unwrap_err();
        assert!(matches!(err, CredentialsError::Invalid { .. }));
        assert!(err.to_string().contains("line 3"), "{err}");
        std::fs::write(&file, "[default]\nsecret_id = AKIDx\n").unwrap();
        let err = block(p.provide()).unwrap_err();
        assert!(
            err.to_string().contains("secret_key") && !err.to_string().contains("AKIDx"),
            "{err}"
        );
    }

    #[test]
    fn oversized_file_is_refused() {
        let dir = temp_dir("big");
        let file = dir.join("c");
        std::fs::write(&file, "#".repeat(MAX_CREDENTIALS_FILE_BYTES as usize + 10)).unwrap();
        let p = ProfileProvider::new(Env::from_pairs([(
            ENV_CREDENTIALS_FILE,
            file.to_str().unwrap(),
        )]));
        let err = block(p.provide()).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn chain_falls_through_not_configured_and_stops_on_invalid() {
        let home = temp_dir("chain");
        std::fs::create_dir_all(home.join(".tencentcloud")).unwrap();
        std::fs::write(
            home.join(".tencentcloud/credentials"),
            "[default]\nsecret_id=p\nsecret_key=k\n",
        )
        .unwrap();
        let home_s = home.to_str().unwrap().to_owned();
        // Nothing in env: the profile is used.
        let chain = DefaultChain::from_providers(vec![
            Arc::new(EnvProvider::new(Env::from_pairs([(
                "HOME",
                home_s.as_str(),
            )]))),
            Arc::new(
                ProfileProvider::new(Env::from_pairs([("HOME", home_s.as_str())]))
                    .with_system_file(nowhere()),
            ),
        ]);
        assert_eq!(block(chain.provide()).unwrap().secret_id(), "p");
        // Env complete: env wins.
        let env = Env::from_pairs([
            ("HOME", home_s.as_str()),
            (ENV_SECRET_ID, "e"),
            (ENV_SECRET_KEY, "k"),
        ]);
        assert_eq!(
            block(DefaultChain::with_env(env).provide())
                .unwrap()
                .secret_id(),
            "e"
        );
        // Env half set: the chain stops there, the profile is not consulted.
        let env = Env::from_pairs([("HOME", home_s.as_str()), (ENV_SECRET_ID, "e")]);
        assert!(matches!(
            block(DefaultChain::with_env(env).provide()),
            Err(CredentialsError::Invalid { .. })
        ));
    }

    #[test]
    fn empty_chain_says_how_to_fix_it() {
        let chain = DefaultChain::from_providers(vec![
            Arc::new(EnvProvider::new(Env::from_pairs::<&str, &str>([]))),
            Arc::new(
                ProfileProvider::new(Env::from_pairs::<&str, &str>([])).with_system_file(nowhere()),
            ),
        ]);
        let err = block(chain.provide()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(ENV_SECRET_ID)
                && text.contains(ENV_SECRET_KEY)
                && text.contains(".tencentcloud/credentials"),
            "{text}"
        );
    }
}
