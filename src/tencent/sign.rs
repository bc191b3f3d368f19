//! TC3-HMAC-SHA256 request signing, as pure functions.
//!
//! Nothing here reads a clock, the environment or the network: the caller passes the
//! timestamp and the exact body bytes it will send, and gets back every intermediate step
//! (canonical request, string to sign, signature) as values a test can compare as text
//! against the official worked examples.
//!
//! ```
//! use vod_events::tencent::sign::{sign, SigningInput};
//!
//! let signed = sign(&SigningInput {
//!     secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
//!     secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
//!     service: "vod",
//!     host: "vod.tencentcloudapi.com",
//!     content_type: "application/json",
//!     timestamp: 1_700_000_000,
//!     payload: b"{}",
//! });
//! assert_eq!(
//!     signed.signature,
//!     "5747b053af7b735076a1cfe421acdaef73173856865229f1017620cd0d746189"
//! );
//! ```

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The algorithm name that starts the string to sign and the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The headers this client signs, in canonical (sorted) order, as the official SDKs do.
pub const SIGNED_HEADERS: &str = "content-type;host";

/// Everything needed to sign one POST request. Borrowed so signing allocates only its output.
#[derive(Clone, Copy)]
pub struct SigningInput<'a> {
    /// The SecretId; it appears in clear in the `Authorization` header.
    pub secret_id: &'a str,
    /// The SecretKey; used only as HMAC key material, never copied into the output.
    pub secret_key: &'a str,
    /// The credential-scope service name, `vod` for VOD.
    pub service: &'a str,
    /// The exact value of the `Host` header that will be sent.
    pub host: &'a str,
    /// The exact value of the `Content-Type` header that will be sent.
    pub content_type: &'a str,
    /// Unix time in seconds, the same value that goes into `X-TC-Timestamp`.
    pub timestamp: i64,
    /// The exact body bytes that will be sent.
    pub payload: &'a [u8],
}

impl fmt::Debug for SigningInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningInput")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"** redacted **")
            .field("service", &self.service)
            .field("host", &self.host)
            .field("content_type", &self.content_type)
            .field("timestamp", &self.timestamp)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// Step 3 of the algorithm: the canonical request. `Display` gives the exact text that is hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    content_type: String,
    host: String,
    hashed_payload: String,
}

impl CanonicalRequest {
    /// Builds the canonical request of a `POST /` with no query string.
    pub fn new(content_type: &str, host: &str, payload: &[u8]) -> Self {
        CanonicalRequest {
            // The service trims header values before signing; so must we, or a stray space
            // in a user-supplied host would produce a signature the server never matches.
            content_type: content_type.trim().to_owned(),
            host: host.trim().to_owned(),
            hashed_payload: sha256_hex(payload),
        }
    }

    /// Lowercase hex SHA-256 of the body bytes.
    pub fn hashed_payload(&self) -> &str {
        &self.hashed_payload
    }

    /// Lowercase hex SHA-256 of the canonical request text (it goes into the string to sign).
    pub fn digest(&self) -> String {
        sha256_hex(self.to_string().as_bytes())
    }
}

impl fmt::Display for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Method, path, empty query, canonical headers (each ending in '\n', hence the blank
        // line), signed headers, payload hash. No trailing newline.
        write!(
            f,
            "POST\n/\n\ncontent-type:{}\nhost:{}\n\n{}\n{}",
            self.content_type, self.host, SIGNED_HEADERS, self.hashed_payload
        )
    }
}

/// Step 4: `YYYY-MM-DD/<service>/tc3_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    date: String,
    service: String,
}

impl CredentialScope {
    /// The scope for a UTC timestamp and a service.
    pub fn new(timestamp: i64, service: &str) -> Self {
        CredentialScope {
            date: utc_date(timestamp),
            service: service.to_owned(),
        }
    }

    /// The UTC date part, `YYYY-MM-DD`.
    pub fn date(&self) -> &str {
        &self.date
    }
}

impl fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/tc3_request", self.date, self.service)
    }
}

/// Step 5: the string to sign. `Display` gives the exact text that is HMAC'd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringToSign {
    timestamp: i64,
    scope: CredentialScope,
    canonical_request_digest: String,
}

impl StringToSign {
    /// Builds the string to sign from its parts.
    pub fn new(
        timestamp: i64,
        scope: CredentialScope,
        canonical_request: &CanonicalRequest,
    ) -> Self {
        StringToSign {
            timestamp,
            scope,
            canonical_request_digest: canonical_request.digest(),
        }
    }
}

impl fmt::Display for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ALGORITHM}\n{}\n{}\n{}",
            self.timestamp, self.scope, self.canonical_request_digest
        )
    }
}

/// The result of signing: every intermediate step plus the header to send.
///
/// Holds no secret: the derived key is dropped inside [`sign`], and the `Authorization`
/// header carries only the SecretId (public by design) and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Step 3.
    pub canonical_request: CanonicalRequest,
    /// Step 4.
    pub credential_scope: CredentialScope,
    /// Step 5.
    pub string_to_sign: StringToSign,
    /// Step 7: lowercase hex HMAC of the string to sign.
    pub signature: String,
    /// Step 8: the value of the `Authorization` header.
    pub authorization: String,
}

/// Signs one request. Pure: the same input always gives the same output.
pub fn sign(input: &SigningInput<'_>) -> Signed {
    let date = utc_date(input.timestamp);
    sign_with_key(input, &signing_key(input.secret_key, &date, input.service))
}

/// [`sign`] with the step-6 key already derived by [`signing_key`] for `input.secret_key`,
/// the UTC date of `input.timestamp` and `input.service` (`input.secret_key` itself is not
/// read). The key only changes once a day, so a client derives it once per date and saves
/// three of the four HMACs of every request.
pub fn sign_with_key(input: &SigningInput<'_>, key: &[u8; 32]) -> Signed {
    let canonical_request = CanonicalRequest::new(input.content_type, input.host, input.payload);
    let credential_scope = CredentialScope::new(input.timestamp, input.service);
    let string_to_sign = StringToSign::new(
        input.timestamp,
        credential_scope.clone(),
        &canonical_request,
    );
    let signature = hex::encode(hmac_sha256(key, string_to_sign.to_string().as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
        input.secret_id, credential_scope, SIGNED_HEADERS, signature
    );
    Signed {
        canonical_request,
        credential_scope,
        string_to_sign,
        signature,
        authorization,
    }
}

/// Step 6: the key chain `HMAC("TC3"+key, date) → service → "tc3_request"`.
pub fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let mut seed = Vec::with_capacity(3 + secret_key.len());
    seed.extend_from_slice(b"TC3");
    seed.extend_from_slice(secret_key.as_bytes());
    let k_date = hmac_sha256(&seed, date.as_bytes());
    // Overwrite the copy of the key before the buffer is freed.
    seed.iter_mut().for_each(|b| *b = 0);
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    hmac_sha256(&k_service, b"tc3_request")
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this constructor cannot fail; the fallback
    // exists only so library code holds no `expect`.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// The UTC calendar date of a Unix timestamp as `YYYY-MM-DD` (proleptic Gregorian).
///
/// Always UTC: a local-time date breaks signing around midnight.
pub fn utc_date(timestamp: i64) -> String {
    let days = timestamp.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's days-to-civil algorithm: exact for every i64 day count we can meet.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_date_handles_midnight_and_leap_days() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_735_689_599), "2024-12-31");
        assert_eq!(utc_date(1_735_689_600), "2025-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(-1), "1969-12-31");
        assert_eq!(utc_date(4_107_542_400), "2100-03-01");
    }

    #[test]
    fn sign_with_a_derived_key_equals_sign() {
        let input = SigningInput {
            secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            service: "vod",
            host: "vod.tencentcloudapi.com",
            content_type: "application/json",
            timestamp: 1_735_689_599,
            payload: b"{\"SubAppId\":1}",
        };
        let key = signing_key(input.secret_key, &utc_date(input.timestamp), input.service);
        assert_eq!(sign_with_key(&input, &key), sign(&input));
    }

    #[test]
    fn canonical_request_trims_header_values() {
        let a = CanonicalRequest::new(" application/json ", "vod.tencentcloudapi.com ", b"{}");
        let b = CanonicalRequest::new("application/json", "vod.tencentcloudapi.com", b"{}");
        assert_eq!(a, b);
    }

    #[test]
    fn debug_of_input_hides_the_key() {
        let input = SigningInput {
            secret_id: "id",
            secret_key: "very-secret-key",
            service: "vod",
            host: "h",
            content_type: "application/json",
            timestamp: 0,
            payload: b"{}",
        };
        let text = format!("{input:?} {:?}", sign(&input));
        assert!(!text.contains("very-secret-key"), "{text}");
    }
}
