//! Tencent Cloud API credentials and where they come from.
//!
//! [`Credentials`] never shows its key or token in `Debug` or `Display`. Providers implement
//! [`ProvideCredentials`]; [`DefaultChain`] tries the environment, then the profile file, and
//! moves on only when a source is *not configured* — a source that is configured but broken
//! (half the variables set, a malformed file) stops the chain with an error, so a typo never
//! silently falls through to other credentials.
//!
//! The environment and the file system are injected ([`Env`]), so tests never read the real
//! process environment or home directory. Clients keep what a provider gave in a
//! [`CredentialsCache`](crate::credentials::CredentialsCache), which refreshes temporary
//! credentials ahead of their expiry.

mod chain;
mod env;
mod keys;
mod profile;
mod provide;
#[cfg(test)]
mod test_support;

pub use crate::credentials::{CredentialsError, Env, Secret, MAX_CREDENTIALS_FILE_BYTES};
pub use chain::{DefaultChain, NONE_FOUND_HINT};
pub use env::{EnvProvider, ENV_SECRET_ID, ENV_SECRET_KEY, ENV_SESSION_TOKEN};
pub use keys::Credentials;
pub use profile::{ProfileProvider, ENV_CREDENTIALS_FILE, SYSTEM_CREDENTIALS_FILE};
pub use provide::{ProvideCredentials, StaticProvider};
