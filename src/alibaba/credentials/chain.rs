//! [`DefaultChain`]: providers tried in order, stopping at the first configured one.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{Credentials, CredentialsError, Env, EnvProvider, ProfileProvider, ProvideCredentials};

/// What [`CredentialsError::NoneFound`] says to do when no source is configured.
pub const NONE_FOUND_HINT: &str = "no Alibaba Cloud credentials found: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or write type = access_key, access_key_id and access_key_secret under [default] in ~/.alibabacloud/credentials";

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
        Box::pin(crate::credentials::first_configured(
            self.providers.iter().map(|p| p.provide()),
            NONE_FOUND_HINT,
        ))
    }
}
