//! [`ProfileProvider`]: credentials from an INI profile file, read as the official CLI reads
//! it (any case of keys, `=` or `:`, comments, quotes).

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::{Credentials, CredentialsError, Env, ProvideCredentials};
use crate::credentials::{ini_value, load_ini, read_small_file};

/// Environment variable naming a credentials file, tried before `~/.tencentcloud/credentials`.
pub const ENV_CREDENTIALS_FILE: &str = "TENCENTCLOUD_CREDENTIALS_FILE";
/// The system-wide credentials file, tried last.
pub const SYSTEM_CREDENTIALS_FILE: &str = "/etc/tencentcloud/credentials";

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

/// Reads one section of the INI text. Errors name the file, keys and sections, never a value.
fn parse_profile(text: &str, profile: &str, path: &Path) -> Result<Credentials, CredentialsError> {
    let invalid = |reason: String| CredentialsError::Invalid {
        provider: "profile file",
        reason: format!("{}: {reason}", path.display()),
    };
    let ini = load_ini(text).map_err(invalid)?;
    let section = ini
        .section(Some(profile))
        .ok_or_else(|| invalid(format!("no [{profile}] section")))?;
    let (Some(id), Some(key)) = (
        ini_value(section, "secret_id"),
        ini_value(section, "secret_key"),
    ) else {
        return Err(invalid(format!(
            "[{profile}] needs both secret_id and secret_key"
        )));
    };
    let credentials = Credentials::new(id, key);
    Ok(
        match ini_value(section, "token").or_else(|| ini_value(section, "session_token")) {
            Some(token) => credentials.with_token(token),
            None => credentials,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::credentials::test_support::{block, nowhere, temp_dir};
    use crate::tencent::credentials::MAX_CREDENTIALS_FILE_BYTES;

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
    fn keys_are_read_as_the_official_cli_reads_them() {
        let dir = temp_dir("cli-style");
        let file = dir.join("creds");
        std::fs::write(
            &file,
            "; written by tccli\n[default]\nSecret_Id: AKIDcli\nSECRET_KEY = \"key=with\\backslash\"\nToken = 'tok'\n",
        )
        .unwrap();
        let p = ProfileProvider::new(Env::from_pairs([(
            ENV_CREDENTIALS_FILE,
            file.to_str().unwrap(),
        )]))
        .with_system_file(nowhere());
        let c = block(p.provide()).unwrap();
        assert_eq!(c.secret_id(), "AKIDcli");
        assert_eq!(c.secret_key().expose(), "key=with\\backslash");
        assert_eq!(c.token().map(|t| t.expose()), Some("tok"));
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
        assert!(err.to_string().contains("not an INI file"), "{err}");
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
