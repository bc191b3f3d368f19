//! Alibaba Cloud credentials (AccessKey pair, optional STS token) and where they come from.
//!
//! [`Credentials`] never shows its secret or token in `Debug` or `Display`. Providers
//! implement [`ProvideCredentials`], which is asynchronous and returns credentials with an
//! optional expiry. [`DefaultChain`] tries the environment, then the profile file, and moves
//! on only when a source is *not configured*: a source configured but broken stops the
//! chain with an error.
//!
//! The environment (and so the home directory) is injected with [`Env`], so tests never read
//! the real process environment or home. Clients keep what a provider gave in a
//! [`CredentialsCache`](crate::credentials::CredentialsCache), which refreshes temporary
//! credentials ahead of their expiry.

mod chain;
mod env;
mod keys;
mod profile;
mod provide;
#[cfg(test)]
mod tests;

pub use crate::credentials::{CredentialsError, Env, Secret, MAX_CREDENTIALS_FILE_BYTES};
pub use chain::{DefaultChain, NONE_FOUND_HINT};
pub use env::{EnvProvider, ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, ENV_SECURITY_TOKEN};
pub use keys::Credentials;
pub use profile::{ProfileProvider, ENV_CREDENTIALS_FILE, ENV_PROFILE};
pub use provide::ProvideCredentials;
