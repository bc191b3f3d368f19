//! Alibaba Cloud credentials (AccessKey pair, optional STS token) and where they come from.
//!
//! [`Credentials`] never shows its secret or token in `Debug` or `Display`. Providers
//! implement [`ProvideCredentials`], which is asynchronous and returns credentials with an
//! optional expiry. [`DefaultChain`] tries, in the official libraries' order, the environment
//! ([`EnvProvider`]), a RAM role assumed with an OIDC token ([`OidcProvider`], as on ACK with
//! RRSA), the profile file ([`ProfileProvider`]), and the ECS instance's RAM role
//! ([`EcsRamRoleProvider`], from the metadata service in hardened mode). It moves on only
//! when a source is *not configured*: a source configured but broken stops the chain with an
//! error.
//!
//! The environment (and so the home directory) is injected with [`Env`], so tests never read
//! the real process environment or home. Clients keep what a provider gave in a
//! [`CredentialsCache`](crate::credentials::CredentialsCache), which refreshes temporary
//! credentials ahead of their expiry.

mod answer;
mod chain;
mod ecs_role;
mod env;
mod keys;
mod oidc;
mod profile;
mod provide;
#[cfg(test)]
mod tests;

pub use crate::credentials::{CredentialsError, Env, Secret, MAX_CREDENTIALS_FILE_BYTES};
pub use chain::{DefaultChain, NONE_FOUND_HINT};
pub use ecs_role::{
    EcsRamRoleProvider, DEFAULT_METADATA_URL, ENV_ECS_METADATA, ENV_ECS_METADATA_DISABLED,
    ENV_IMDSV1_DISABLED, ENV_METADATA_URL, METADATA_TOKEN_TTL_SECS,
};
pub use env::{EnvProvider, ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, ENV_SECURITY_TOKEN};
pub use keys::Credentials;
pub use oidc::{
    OidcProvider, DEFAULT_STS_ENDPOINT, ENV_OIDC_PROVIDER_ARN, ENV_OIDC_TOKEN_FILE, ENV_ROLE_ARN,
    ENV_ROLE_SESSION_NAME, ENV_STS_ENDPOINT, ENV_STS_REGION, ENV_VPC_ENDPOINT_ENABLED,
    SESSION_DURATION_SECS,
};
pub use profile::{ProfileProvider, ENV_CREDENTIALS_FILE, ENV_PROFILE};
pub use provide::ProvideCredentials;
