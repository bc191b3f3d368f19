//! API credentials and where they come from.
//!
//! [`Credentials`] never shows its key or token in `Debug` or `Display`. Providers implement
//! [`ProvideCredentials`]; [`DefaultChain`] tries the environment, then the profile file, and
//! moves on only when a source is *not configured* — a source that is configured but broken
//! (half the variables set, a malformed file) stops the chain with an error, so a typo never
//! silently falls through to other credentials.
//!
//! The environment and the file system are injected ([`Env`]), so tests never read the real
//! process environment or home directory.

mod chain;
mod env;
mod error;
mod profile;
mod provide;
mod secret;
#[cfg(test)]
mod test_support;

pub use chain::DefaultChain;
pub use env::{Env, EnvProvider, ENV_SECRET_ID, ENV_SECRET_KEY, ENV_SESSION_TOKEN};
pub use error::CredentialsError;
pub use profile::{
    ProfileProvider, ENV_CREDENTIALS_FILE, MAX_CREDENTIALS_FILE_BYTES, SYSTEM_CREDENTIALS_FILE,
};
pub use provide::{ProvideCredentials, StaticProvider};
pub use secret::{Credentials, Secret};
