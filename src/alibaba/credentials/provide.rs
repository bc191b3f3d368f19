//! The [`ProvideCredentials`] trait.

use std::fmt;

use futures::future::BoxFuture;

use super::{Credentials, CredentialsError};

/// A source of credentials. Asynchronous so that network-backed sources (instance roles,
/// OIDC, STS AssumeRole) fit the same trait; they return credentials with an expiry.
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    /// Resolves credentials, or says why not.
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>>;
}

impl ProvideCredentials for Credentials {
    fn provide(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        let c = self.clone();
        Box::pin(async move { Ok(c) })
    }
}
