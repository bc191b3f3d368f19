//! Small pieces the network providers share: reading a boolean switch from the environment,
//! making a server's text fit for an error message, and reading the temporary keys both the
//! metadata service and STS answer with.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{Credentials, CredentialsError, Env};
use crate::credentials::fetch;

/// The four fields of temporary credentials, as the ECS metadata service and STS name them.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TemporaryKeys {
    access_key_id: Option<String>,
    access_key_secret: Option<String>,
    security_token: Option<String>,
    expiration: Option<String>,
}

impl TemporaryKeys {
    /// The credentials, if all four are there; `what` names the answer, `suffix` ends each
    /// message (a request id). Temporary credentials without an expiry would be kept past it,
    /// so one is required. An answer short of them is `Unavailable`: nothing the user can fix,
    /// and a service that answers so is most likely broken for a moment.
    pub(super) fn into_credentials(
        self,
        provider: &'static str,
        what: &str,
        suffix: &str,
    ) -> Result<Credentials, CredentialsError> {
        let invalid = |reason: String| CredentialsError::Unavailable { provider, reason };
        let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let (Some(id), Some(secret), Some(token)) = (
            nonempty(self.access_key_id),
            nonempty(self.access_key_secret),
            nonempty(self.security_token),
        ) else {
            return Err(invalid(format!(
                "{what}: AccessKeyId, AccessKeySecret or SecurityToken missing{suffix}"
            )));
        };
        let expiration = self
            .expiration
            .as_deref()
            .and_then(fetch::parse_rfc3339)
            .ok_or_else(|| invalid(format!("{what}: no RFC 3339 Expiration{suffix}")))?;
        Ok(Credentials::new(id.trim(), secret.trim())
            .with_security_token(token.trim())
            .with_expiration(expiration))
    }
}

/// Decodes a JSON answer; one that is not the documented JSON is `Unavailable`, as for
/// missing fields. serde's message may quote a value, which may be a secret: only the place
/// is shown.
pub(super) fn decode<T: DeserializeOwned>(
    body: &[u8],
    provider: &'static str,
    what: &str,
) -> Result<T, CredentialsError> {
    serde_json::from_slice(body).map_err(|e| CredentialsError::Unavailable {
        provider,
        reason: format!(
            "{what}: not the documented JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    })
}

/// Whether `var` is set to `true` (any case), as the official libraries read their switches.
pub(super) fn is_true(env: &Env, var: &str) -> bool {
    env.get(var)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// A server's text (an error code or message) for one line of an error: control characters
/// become spaces and it is cut at `max` characters, since whatever answers may send anything.
pub(super) fn printable(text: &str, max: usize) -> String {
    let mut out: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.trim().chars().count() > max {
        out.push('…');
    }
    out
}

/// A RAM role name as it may go into a metadata URL path: 1 to 64 letters, digits, `.`, `-`
/// or `_`. Anything else is refused rather than escaped, since no real role is named so.
pub(super) fn role_name(text: &str) -> Option<&str> {
    let name = text.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_cuts_and_flattens() {
        assert_eq!(printable(" a\nb\tc ", 10), "a b c");
        assert_eq!(printable("abcdef", 3), "abc…");
    }

    #[test]
    fn role_names() {
        assert_eq!(role_name(" vod-role.1_x\n"), Some("vod-role.1_x"));
        for bad in ["", "a/b", "../x", "a b", &"r".repeat(65)] {
            assert_eq!(role_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn switches() {
        let env = Env::from_pairs([("A", "TRUE"), ("B", "1")]);
        assert!(is_true(&env, "A"));
        assert!(!is_true(&env, "B"));
        assert!(!is_true(&env, "C"));
    }
}
