//! [`Credentials`]: a SecretId/SecretKey pair, kept out of `Debug` and `Display`.

use std::fmt;
use std::time::SystemTime;

use crate::credentials::{Expiring, Secret};

/// A SecretId/SecretKey pair and, for temporary (STS) credentials, a session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    secret_id: String,
    secret_key: Secret,
    token: Option<Secret>,
    expiration: Option<SystemTime>,
}

impl Credentials {
    /// Permanent credentials.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            secret_id: secret_id.into(),
            secret_key: Secret::new(secret_key),
            token: None,
            expiration: None,
        }
    }

    /// Adds an STS session token, sent as `X-TC-Token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }

    /// Says when these temporary credentials stop working (instance roles, STS): clients
    /// ask their provider again some minutes before.
    pub fn with_expiration(mut self, at: SystemTime) -> Self {
        self.expiration = Some(at);
        self
    }

    /// When these credentials expire, if they do.
    pub fn expiration(&self) -> Option<SystemTime> {
        self.expiration
    }

    /// The SecretId. It is not secret: it travels in clear in every `Authorization` header.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The SecretKey.
    pub fn secret_key(&self) -> &Secret {
        &self.secret_key
    }

    /// The session token, if these are temporary credentials.
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &self.secret_key)
            .field("token", &self.token.as_ref().map(|_| "** redacted **"))
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl Expiring for Credentials {
    fn expiration(&self) -> Option<SystemTime> {
        self.expiration
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::credentials::{Env, EnvProvider, ENV_SECRET_KEY};

    #[test]
    fn debug_and_display_never_show_key_or_token() {
        let c = Credentials::new("AKIDpublic", "SUPERSECRETKEY").with_token("SESSIONTOKEN");
        let text = format!(
            "{c:?} {} {:?} {:?}",
            c.secret_key(),
            c.secret_key(),
            c.token()
        );
        assert!(text.contains("AKIDpublic"));
        assert!(
            !text.contains("SUPERSECRETKEY") && !text.contains("SESSIONTOKEN"),
            "{text}"
        );
        let env = Env::from_pairs([(ENV_SECRET_KEY, "SUPERSECRETKEY")]);
        assert!(!format!("{env:?} {:?}", EnvProvider::new(env.clone())).contains("SUPERSECRETKEY"));
    }
}
