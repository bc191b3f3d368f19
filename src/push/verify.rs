//! The signature checks of push callbacks, as pure functions: no I/O, no clock (the caller
//! passes `now`), no HTTP types.
//!
//! - **Tencent v3.0** (`../spec/tencent-vod.md` §6.5): once a `SignKey` is set, the body
//!   carries `Sign = md5_hex(SignKey + T)` and `T`, the notification's *expiry* in Unix
//!   seconds. Refused when `now > T` (so `now == T` is still accepted) or the MD5 differs.
//! - **Alibaba VOD** (`X-VOD-TIMESTAMP`, `X-VOD-SIGNATURE`) and **IMS** (`X-ICE-TIMESTAMP`,
//!   `X-ICE-SIGNATURE`): `md5_hex(CallbackURL + "|" + timestamp + "|" + AuthKey)` over the
//!   callback URL byte for byte as configured at the producer (query string and trailing
//!   slash included). Refused when `|now - timestamp| > window` (default
//!   [`DEFAULT_WINDOW`], both directions) or the MD5 differs. **The body is not signed**: one
//!   captured request's headers are good for any body within the window. The receiver
//!   deduplicates on the event's idempotency key so a replay of a known event does nothing
//!   twice, but a forged body with replayed headers cannot be told from a real one: use HTTPS,
//!   keep handlers idempotent, and re-read the resource through the API before a decision
//!   that matters.
//!
//! Signatures are compared as the 16 bytes they encode, so upper- and lower-case hex are
//! both accepted, and in constant time ([`subtle`]). Every check takes [`Keys`]: the current
//! key and, while rotating, the previous one; the answer says which one matched
//! ([`KeyUsed`]), so an operator can tell when the old key is no longer in use.
//!
//! ```
//! use vod_events::push::verify::{self, Keys, KeyUsed};
//!
//! let keys = Keys::new("mysignkey");
//! // The documented example: T = 2025-01-01T00:00:00Z, checked ten minutes before it.
//! let used = verify::verify_tencent(&keys, Some("292d55e60d1e5fbc2023fa07bc4a3081"), Some("1735689600"), 1_735_689_000)?;
//! assert_eq!(used, KeyUsed::Current);
//!
//! let keys = Keys::new("new-key").with_previous("test123");
//! let used = verify::verify_alibaba(
//!     &keys,
//!     "https://www.example.com/your/callback",
//!     Some("1519375990"),
//!     Some("C72B60894140FA98920F1279219B7ED4"),
//!     1_519_375_990,
//!     verify::DEFAULT_WINDOW,
//! )?;
//! assert_eq!(used, KeyUsed::Previous);
//! # Ok::<(), verify::VerifyError>(())
//! ```

use std::time::Duration;

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::event::Provider;
use crate::tencent::credentials::Secret;

/// The Alibaba timestamp window of the docs' example: 5 minutes each way.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// Why a push was refused by the signature checks. `Display` and `Debug` say which check
/// failed and never show a key or the signature that was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No key is configured for this producer, and unsigned pushes are not allowed: without
    /// a key anyone who finds the URL could post events.
    #[error("no key is configured for {0} pushes and unsigned pushes are not allowed")]
    NoKeyConfigured(Provider),
    /// A Tencent body without `Sign` (or with one that is not a string).
    #[error("the Tencent push has no `Sign` string")]
    MissingSign,
    /// A Tencent body without `T`.
    #[error("the Tencent push has no `T`")]
    MissingT,
    /// A Tencent `T` that is not an integer number of seconds.
    #[error("the Tencent push's `T` is not an integer number of seconds")]
    InvalidT,
    /// The Tencent notification expired: `now > T`.
    #[error("the Tencent push expired at T = {t}, {late} s ago")]
    Expired {
        /// The `T` of the push (its expiry, Unix seconds).
        t: i64,
        /// How many seconds ago.
        late: u64,
    },
    /// An Alibaba request without its timestamp header.
    #[error("the {0} callback has no timestamp header")]
    MissingTimestamp(Provider),
    /// An Alibaba request without its signature header.
    #[error("the {0} callback has no signature header")]
    MissingSignature(Provider),
    /// An Alibaba timestamp that is not a number of seconds (ASCII digits).
    #[error("the {0} callback's timestamp is not a number of seconds")]
    InvalidTimestamp(Provider),
    /// An Alibaba timestamp further from `now` than the window, in the past or the future.
    #[error(
        "the {provider} callback's timestamp is {offset} s from now, outside the {window} s window"
    )]
    OutsideWindow {
        /// Who sent it.
        provider: Provider,
        /// `now - timestamp`: positive for a stale request, negative for one from the future.
        offset: i64,
        /// The window, in seconds.
        window: u64,
    },
    /// The signature matches none of the configured keys (or is not 32 hex digits).
    #[error("the {0} signature does not match any configured key")]
    Mismatch(Provider),
}

/// The keys of one producer: the current one and, while rotating, the previous one. Both
/// are accepted. `Debug` shows neither.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    current: Secret,
    previous: Option<Secret>,
}

impl Keys {
    /// One key.
    pub fn new(current: impl Into<Secret>) -> Self {
        Keys {
            current: current.into(),
            previous: None,
        }
    }

    /// Also accepts `previous`, for a rotation: add the new key next to the old one here,
    /// switch the producer to it, then drop the old one once [`KeyUsed::Previous`] stops
    /// showing up.
    pub fn with_previous(mut self, previous: impl Into<Secret>) -> Self {
        self.previous = Some(previous.into());
        self
    }

    /// The current key.
    pub fn current(&self) -> &Secret {
        &self.current
    }

    /// The previous key, while rotating.
    pub fn previous(&self) -> Option<&Secret> {
        self.previous.as_ref()
    }
}

impl From<Secret> for Keys {
    fn from(key: Secret) -> Self {
        Keys::new(key)
    }
}

impl From<&str> for Keys {
    fn from(key: &str) -> Self {
        Keys::new(key)
    }
}

impl From<String> for Keys {
    fn from(key: String) -> Self {
        Keys::new(key)
    }
}

/// Which of the [`Keys`] a signature matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyUsed {
    /// The current key.
    Current,
    /// The previous key (a rotation is under way).
    Previous,
}

/// `md5(SignKey + T)`, the Tencent `Sign` as bytes (send it as lower-case hex). `t` is the
/// decimal text of `T` as it appears in the body.
pub fn tencent_sign(sign_key: &Secret, t: &str) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(sign_key.expose().as_bytes());
    md5.update(t.as_bytes());
    md5.finalize().into()
}

/// `md5(CallbackURL + "|" + timestamp + "|" + AuthKey)`, the Alibaba signature as bytes (the
/// producers send it as lower-case hex).
pub fn alibaba_signature(auth_key: &Secret, callback_url: &str, timestamp: &str) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(callback_url.as_bytes());
    md5.update(b"|");
    md5.update(timestamp.as_bytes());
    md5.update(b"|");
    md5.update(auth_key.expose().as_bytes());
    md5.finalize().into()
}

/// Checks a Tencent v3.0 push: `sign` and `t` as found in the body (`t` as its decimal
/// text, e.g. `"1735689600"`), `now` in Unix seconds. Refused when either is missing, `t` is
/// not an integer, `now > t`, or `sign` matches neither key.
pub fn verify_tencent(
    keys: &Keys,
    sign: Option<&str>,
    t: Option<&str>,
    now: i64,
) -> Result<KeyUsed, VerifyError> {
    let sign = sign.ok_or(VerifyError::MissingSign)?;
    let t_text = t.ok_or(VerifyError::MissingT)?;
    let t = parse_seconds(t_text, true).ok_or(VerifyError::InvalidT)?;
    if now > t {
        return Err(VerifyError::Expired {
            t,
            late: now.abs_diff(t),
        });
    }
    matching_key(keys, sign, |key| tencent_sign(key, t_text))
        .ok_or(VerifyError::Mismatch(Provider::Tencent))
}

/// Checks an Alibaba VOD or IMS callback: the timestamp and signature headers as received
/// (`None` when absent), the callback URL as configured at the producer, `now` in Unix
/// seconds. Refused when a header is missing, the timestamp is not digits or further than
/// `window` from `now` either way, or the signature matches neither key.
pub fn verify_alibaba(
    keys: &Keys,
    callback_url: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    now: i64,
    window: Duration,
) -> Result<KeyUsed, VerifyError> {
    verify_alibaba_as(
        Provider::AlibabaVod,
        keys,
        callback_url,
        timestamp,
        signature,
        now,
        window,
    )
}

/// [`verify_alibaba`], with errors naming `provider` (VOD and IMS sign alike).
pub fn verify_alibaba_as(
    provider: Provider,
    keys: &Keys,
    callback_url: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    now: i64,
    window: Duration,
) -> Result<KeyUsed, VerifyError> {
    let timestamp = timestamp.ok_or(VerifyError::MissingTimestamp(provider))?;
    let signature = signature.ok_or(VerifyError::MissingSignature(provider))?;
    let ts = parse_seconds(timestamp, false).ok_or(VerifyError::InvalidTimestamp(provider))?;
    let window = window.as_secs();
    if now.abs_diff(ts) > window {
        return Err(VerifyError::OutsideWindow {
            provider,
            offset: now.saturating_sub(ts),
            window,
        });
    }
    matching_key(keys, signature, |key| {
        alibaba_signature(key, callback_url, timestamp)
    })
    .ok_or(VerifyError::Mismatch(provider))
}

/// Seconds written as ASCII digits (a leading `-` too when `signed`): nothing else, so the
/// text that was signed is exactly the number that is checked.
fn parse_seconds(text: &str, signed: bool) -> Option<i64> {
    let digits = match text.strip_prefix('-') {
        Some(rest) if signed => rest,
        _ => text,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Which key's expected digest `given` (hex, either case) encodes, comparing in constant
/// time. Both keys are always computed and compared, so the time taken says nothing about
/// which one (if any) matched. A `given` that is not 32 hex digits matches nothing; its
/// length and alphabet are not secret, so that check may return early.
fn matching_key(
    keys: &Keys,
    given: &str,
    expected: impl Fn(&Secret) -> [u8; 16],
) -> Option<KeyUsed> {
    let mut provided = [0u8; 16];
    if hex::decode_to_slice(given.as_bytes(), &mut provided).is_err() {
        return None;
    }
    let current = expected(&keys.current).ct_eq(&provided);
    let previous = match &keys.previous {
        Some(previous) => expected(previous).ct_eq(&provided),
        None => subtle::Choice::from(0),
    };
    if bool::from(current) {
        Some(KeyUsed::Current)
    } else if bool::from(previous) {
        Some(KeyUsed::Previous)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_plain_digits() {
        assert_eq!(parse_seconds("1735689600", false), Some(1_735_689_600));
        assert_eq!(parse_seconds("-5", true), Some(-5));
        for bad in [
            "",
            "-",
            "+1",
            " 1",
            "1 ",
            "1e9",
            "0x10",
            "-5",
            "99999999999999999999",
        ] {
            assert_eq!(parse_seconds(bad, false), None, "{bad:?}");
        }
    }

    #[test]
    fn errors_never_show_keys_or_expected_signatures() {
        let keys = Keys::new("SUPERSECRETKEY").with_previous("OLDSECRETKEY");
        let expected = hex::encode(tencent_sign(keys.current(), "2000000000"));
        let err = verify_tencent(
            &keys,
            Some("00000000000000000000000000000000"),
            Some("2000000000"),
            0,
        )
        .unwrap_err();
        let text = format!("{err} {err:?} {keys:?}");
        for secret in ["SUPERSECRETKEY", "OLDSECRETKEY", expected.as_str()] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
