//! Tencent Cloud API credentials and where they come from.
//!
//! [`Credentials`] never shows its key or token in `Debug` or `Display`. Providers implement
//! [`ProvideCredentials`]; [`DefaultChain`] tries (the official SDKs' order, but for TKE OIDC
//! before the CVM role: see [`DefaultChain`] for why):
//!
//! 1. the environment ([`EnvProvider`]: `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY`,
//!    optional `TENCENTCLOUD_SESSION_TOKEN`);
//! 2. the profile file ([`ProfileProvider`]: `TENCENTCLOUD_CREDENTIALS_FILE`, else
//!    `~/.tencentcloud/credentials`, else `/etc/tencentcloud/credentials`);
//! 3. a TKE pod's OIDC token exchanged at STS ([`TkeOidcProvider`]: `TKE_REGION`,
//!    `TKE_PROVIDER_ID`, `TKE_WEB_IDENTITY_TOKEN_FILE`, `TKE_ROLE_ARN`; STS at
//!    [`DEFAULT_STS_ENDPOINT`], or [`ENV_STS_ENDPOINT`]);
//! 4. the CAM role bound to the CVM instance ([`CvmRoleProvider`], from the metadata service
//!    at `http://metadata.tencentyun.com/latest/meta-data/`, or [`ENV_METADATA_URL`]).
//!
//! The chain moves on only when a source is *not configured* (nothing set, no file, no
//! metadata service or no role bound). A source that is configured but broken (half the
//! variables set, a malformed file, a metadata service or STS that fails) stops the chain
//! with an error, so a typo never silently falls through to other credentials.
//!
//! The environment and the file system are injected ([`Env`]), so tests never read the real
//! process environment or home directory. Clients keep what a provider gave in a
//! [`CredentialsCache`](crate::credentials::CredentialsCache), which refreshes temporary
//! credentials (CVM role, TKE OIDC) ahead of their expiry.

mod chain;
mod cvm_role;
mod env;
mod keys;
mod profile;
mod provide;
#[cfg(test)]
mod test_support;
mod tke_oidc;

pub use crate::credentials::{CredentialsError, Env, Secret, MAX_CREDENTIALS_FILE_BYTES};
pub use chain::{DefaultChain, NONE_FOUND_HINT};
pub use cvm_role::{CvmRoleProvider, DEFAULT_METADATA_URL, ENV_CVM_ROLE_NAME, ENV_METADATA_URL};
pub use env::{EnvProvider, ENV_SECRET_ID, ENV_SECRET_KEY, ENV_SESSION_TOKEN};
pub use keys::Credentials;
pub use profile::{ProfileProvider, ENV_CREDENTIALS_FILE, SYSTEM_CREDENTIALS_FILE};
pub use provide::{ProvideCredentials, StaticProvider};
pub use tke_oidc::{
    TkeOidcProvider, DEFAULT_ROLE_DURATION, DEFAULT_STS_ENDPOINT, ENV_ROLE_SESSION_NAME,
    ENV_STS_ENDPOINT, ENV_TKE_PROVIDER_ID, ENV_TKE_REGION, ENV_TKE_ROLE_ARN,
    ENV_TKE_WEB_IDENTITY_TOKEN_FILE, MAX_ROLE_DURATION,
};
