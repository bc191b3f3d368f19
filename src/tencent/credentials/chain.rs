//! [`DefaultChain`]: providers tried in order, stopping at the first configured one.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{Credentials, CredentialsError, Env, EnvProvider, ProfileProvider, ProvideCredentials};

/// What [`CredentialsError::NoneFound`] says to do when no source is configured. The variable
/// names are spelled out (`concat!` takes literals only); a unit test checks they match.
pub const NONE_FOUND_HINT: &str = "no Tencent Cloud credentials found: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or write secret_id and secret_key under [default] in ~/.tencentcloud/credentials";

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
        Box::pin(crate::credentials::first_configured(
            self.providers.iter().map(|p| p.provide()),
            NONE_FOUND_HINT,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::credentials::test_support::{block, nowhere, temp_dir};
    use crate::tencent::credentials::{ENV_SECRET_ID, ENV_SECRET_KEY};

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
            NONE_FOUND_HINT.contains(ENV_SECRET_ID) && NONE_FOUND_HINT.contains(ENV_SECRET_KEY)
        );
        assert!(
            text.contains(ENV_SECRET_ID)
                && text.contains(ENV_SECRET_KEY)
                && text.contains(".tencentcloud/credentials"),
            "{text}"
        );
    }
}
