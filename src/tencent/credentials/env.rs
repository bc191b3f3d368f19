//! [`EnvProvider`]: credentials from `TENCENTCLOUD_*` environment variables.

use futures::future::BoxFuture;

use super::{Credentials, CredentialsError, Env, ProvideCredentials};

/// Environment variable holding the SecretId.
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
/// Environment variable holding the SecretKey.
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
/// Environment variable holding an STS session token (temporary credentials only).
pub const ENV_SESSION_TOKEN: &str = "TENCENTCLOUD_SESSION_TOKEN";

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
