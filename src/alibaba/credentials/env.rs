//! [`EnvProvider`]: credentials from `ALIBABA_CLOUD_*` environment variables.

use futures::future::BoxFuture;

use super::{Credentials, CredentialsError, Env, ProvideCredentials};

/// Environment variable holding the AccessKey ID.
pub const ENV_ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// Environment variable holding the AccessKey secret.
pub const ENV_ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// Environment variable holding an STS security token (temporary credentials only).
pub const ENV_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";
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
