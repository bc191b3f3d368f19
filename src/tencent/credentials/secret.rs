//! [`Secret`] and [`Credentials`]: the values, kept out of `Debug` and `Display`.

use std::fmt;

/// A secret string. `Debug` and `Display` print `** redacted **`; the value is reachable
/// only through [`Secret::expose`], so every use of it is visible in the code.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Call only where the value is really needed (signing, a header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is returned to the allocator.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.iter_mut().for_each(|b| *b = 0);
        drop(std::hint::black_box(bytes));
    }
}

/// A SecretId/SecretKey pair and, for temporary (STS) credentials, a session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    secret_id: String,
    secret_key: Secret,
    token: Option<Secret>,
}

impl Credentials {
    /// Permanent credentials.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            secret_id: secret_id.into(),
            secret_key: Secret::new(secret_key),
            token: None,
        }
    }

    /// Adds an STS session token, sent as `X-TC-Token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
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
            .finish()
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
