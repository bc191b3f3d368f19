//! [`DefaultChain`]: providers tried in order, stopping at the first configured one.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{
    Credentials, CredentialsError, CvmRoleProvider, Env, EnvProvider, ProfileProvider,
    ProvideCredentials, TkeOidcProvider,
};

/// What [`CredentialsError::NoneFound`] says to do when no source is configured. The variable
/// names are spelled out (`concat!` takes literals only); a unit test checks they match.
pub const NONE_FOUND_HINT: &str = "no Tencent Cloud credentials found: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, write secret_id and secret_key under [default] in ~/.tencentcloud/credentials, set TKE_REGION, TKE_PROVIDER_ID, TKE_WEB_IDENTITY_TOKEN_FILE and TKE_ROLE_ARN (TKE OIDC), or bind a CAM role to this CVM instance";

/// Tries providers in order, moving on only when one is not configured.
///
/// The default order: [`EnvProvider`], [`ProfileProvider`], [`TkeOidcProvider`],
/// [`CvmRoleProvider`]. tencentcloud-sdk-python's `DefaultCredentialProvider` asks the CVM
/// role before TKE OIDC; here TKE OIDC comes first, as Alibaba's libraries put OIDC before the
/// instance role, because a TKE pod can usually reach its node's metadata service, and the
/// node's role answering there must not silently replace the pod's own, configured role.
/// TKE OIDC is configured only by its four variables, so elsewhere the order changes
/// nothing. Off CVM the role provider costs one refused or timed-out connection (at most
/// 300 ms); `VOD_EVENTS_TENCENT_METADATA_URL=http://127.0.0.1:1/` turns it off.
#[derive(Debug, Clone)]
pub struct DefaultChain {
    providers: Vec<Arc<dyn ProvideCredentials>>,
}

impl DefaultChain {
    /// Environment, profile file, TKE OIDC, CVM role, reading the real process environment.
    pub fn new() -> Self {
        Self::with_env(Env::process())
    }

    /// Environment, profile file, TKE OIDC, CVM role, reading the given environment (tests
    /// point `VOD_EVENTS_TENCENT_METADATA_URL` at a closed port, or at a fake).
    pub fn with_env(env: Env) -> Self {
        DefaultChain {
            providers: vec![
                Arc::new(EnvProvider::new(env.clone())),
                Arc::new(ProfileProvider::new(env.clone())),
                Arc::new(TkeOidcProvider::new(env.clone())),
                Arc::new(CvmRoleProvider::new(env)),
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
    use crate::tencent::credentials::{
        ENV_METADATA_URL, ENV_SECRET_ID, ENV_SECRET_KEY, ENV_TKE_PROVIDER_ID, ENV_TKE_REGION,
        ENV_TKE_ROLE_ARN, ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
    };

    /// Nothing listens on port 1: the CVM role is not configured, and no test probes the
    /// real metadata address.
    const NO_METADATA: (&str, &str) = (ENV_METADATA_URL, "http://127.0.0.1:1/");

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
            NO_METADATA,
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
        let env = Env::from_pairs([NO_METADATA, ("HOME", home_s.as_str()), (ENV_SECRET_ID, "e")]);
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

    #[tokio::test]
    async fn the_default_chain_reports_all_four_sources() {
        let home = temp_dir("chain-none");
        let env = Env::from_pairs([NO_METADATA, ("HOME", home.to_str().unwrap())]);
        let err = DefaultChain::with_env(env).provide().await.unwrap_err();
        let CredentialsError::NoneFound { hint, tried } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*hint, NONE_FOUND_HINT);
        for source in ["environment", "profile file", "CVM role", "TKE OIDC"] {
            assert!(tried.contains(source), "{tried}");
        }
        for name in [
            ENV_TKE_REGION,
            ENV_TKE_PROVIDER_ID,
            ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
            ENV_TKE_ROLE_ARN,
        ] {
            assert!(NONE_FOUND_HINT.contains(name), "{name}");
        }
        assert!(NONE_FOUND_HINT.contains("CVM"));
    }
}
