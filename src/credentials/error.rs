//! [`CredentialsError`]: why credentials could not be had, and whether a chain moves on.

/// Why credentials could not be had. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// This source has nothing configured (or, for an instance's metadata service, nothing
    /// answers); a chain moves on to the next one.
    #[error("{provider}: {detail}")]
    NotConfigured {
        /// The source, e.g. `environment`.
        provider: &'static str,
        /// What was looked for.
        detail: String,
    },
    /// The source is configured but unusable (half the variables set, a malformed file, a
    /// role that does not exist); a chain stops here.
    #[error("{provider}: {reason}")]
    Invalid {
        /// The source.
        provider: &'static str,
        /// What is wrong (never includes a secret value).
        reason: String,
    },
    /// The source is configured but could not answer just now (a metadata service or STS
    /// endpoint that timed out or answered 5xx); trying again later may work.
    #[error("{provider}: {reason}")]
    Unavailable {
        /// The source.
        provider: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// No source in a chain was configured.
    #[error("{hint} (tried: {tried})")]
    NoneFound {
        /// How to configure credentials for this cloud.
        hint: &'static str,
        /// What each source reported.
        tried: String,
    },
}

impl CredentialsError {
    /// Whether a chain should try its next source.
    pub fn is_not_configured(&self) -> bool {
        matches!(self, CredentialsError::NotConfigured { .. })
    }

    /// Whether asking again later may succeed (a source that is there but did not answer).
    pub fn is_retryable(&self) -> bool {
        matches!(self, CredentialsError::Unavailable { .. })
    }
}
