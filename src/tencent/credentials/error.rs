//! [`CredentialsError`]: why credentials could not be had, and whether a chain moves on.

use super::{ENV_SECRET_ID, ENV_SECRET_KEY};

/// Why credentials could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// This source has nothing configured; a chain moves on to the next one.
    #[error("{provider}: {detail}")]
    NotConfigured {
        /// The source, e.g. `environment`.
        provider: &'static str,
        /// What was looked for.
        detail: String,
    },
    /// The source is configured but unusable; a chain stops here.
    #[error("{provider}: {reason}")]
    Invalid {
        /// The source.
        provider: &'static str,
        /// What is wrong (never includes a secret value).
        reason: String,
    },
    /// No source in a chain was configured.
    #[error("no Tencent Cloud credentials found: set {ENV_SECRET_ID} and {ENV_SECRET_KEY}, or write secret_id and secret_key under [default] in ~/.tencentcloud/credentials (tried: {tried})")]
    NoneFound {
        /// What each source reported.
        tried: String,
    },
}

impl CredentialsError {
    /// Whether a chain should try its next source.
    pub fn is_not_configured(&self) -> bool {
        matches!(self, CredentialsError::NotConfigured { .. })
    }
}
