//! What both clouds' credentials have in common, knowing neither cloud: secrets kept out of
//! logs ([`Secret`]), the injected environment ([`Env`]), size-limited profile files read with
//! an INI parser, the provider chain's rule, the cache that refreshes temporary credentials
//! ahead of their expiry, and the small HTTP client the instance-role and STS providers use.
//!
//! The cloud modules ([`crate::tencent::credentials`], [`crate::alibaba::credentials`]) hold
//! each cloud's credential type and providers and re-export what they need from here.

mod cache;
mod chain;
mod env;
mod error;
pub(crate) mod fetch;
mod file;
mod secret;

pub use cache::{refresh_ahead, CredentialsCache, Expiring, REFRESH_AHEAD, RETRY_REFRESH_AFTER};
pub(crate) use chain::first_configured;
pub use env::Env;
pub use error::CredentialsError;
pub use file::MAX_CREDENTIALS_FILE_BYTES;
pub(crate) use file::{ini_value, load_ini, read_small_file};
pub use secret::Secret;
