//! [`ProfileProvider`]: credentials from an INI profile file, and the parser for it.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::{Credentials, CredentialsError, Env, ProvideCredentials};

/// Environment variable naming a credentials file, tried before `~/.tencentcloud/credentials`.
pub const ENV_CREDENTIALS_FILE: &str = "TENCENTCLOUD_CREDENTIALS_FILE";
/// The system-wide credentials file, tried last.
pub const SYSTEM_CREDENTIALS_FILE: &str = "/etc/tencentcloud/credentials";
/// Credentials files larger than this are refused rather than read into memory.
pub const MAX_CREDENTIALS_FILE_BYTES: u64 = 64 * 1024;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::credentials::test_support::{block, nowhere, temp_dir};

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
}
