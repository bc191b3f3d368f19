//! The injected environment ([`Env`]) and the provider that reads credentials from it
//! ([`EnvProvider`]).

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::{Credentials, CredentialsError, ProvideCredentials};

/// Environment variable holding the SecretId.
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
/// Environment variable holding the SecretKey.
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
/// Environment variable holding an STS session token (temporary credentials only).
pub const ENV_SESSION_TOKEN: &str = "TENCENTCLOUD_SESSION_TOKEN";

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

    pub(super) fn home(&self) -> Option<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::credentials::test_support::block;
    use crate::tencent::credentials::Secret;

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
}
