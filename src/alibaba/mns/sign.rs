//! The MNS request signature (HMAC-SHA1, `Authorization: MNS <AccessKeyId>:<Signature>`) as
//! pure functions: time comes in as the `Date` text, and every step is a value that prints
//! as the text the service computes, so tests compare each step against the official SDK's.
//!
//! ```text
//! StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n
//!                CanonicalizedMNSHeaders CanonicalizedResource
//! Signature    = base64(HMAC-SHA1(AccessKeySecret, StringToSign))
//! ```

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;

/// The API version every request carries in `x-mns-version` (and signs).
pub const MNS_VERSION: &str = "2015-06-06";

/// What one request signs. Values are exactly the header values sent: a header not sent is
/// `None` (its line in the string to sign is then empty).
#[derive(Debug, Clone, Copy)]
pub struct SigningInput<'a> {
    /// The HTTP method, upper case (`GET`, `PUT`, `DELETE`).
    pub method: &'a str,
    /// The `Content-MD5` header, if sent (this crate never sends it: it is optional).
    pub content_md5: Option<&'a str>,
    /// The `Content-Type` header, if sent.
    pub content_type: Option<&'a str>,
    /// The `Date` header (RFC 1123 GMT), or the `x-mns-date` value when that is used instead.
    pub date: &'a str,
    /// Every header sent, or at least every `x-mns-*` one; others are ignored here.
    pub headers: &'a [(&'a str, &'a str)],
    /// The request-target exactly as sent: path and query, already percent-encoded.
    pub resource: &'a str,
}

/// `CanonicalizedMNSHeaders`: every `x-mns-*` header, name lower-cased, sorted by name,
/// `name:value\n` each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalHeaders(String);

impl CanonicalHeaders {
    /// Builds it from the headers sent; non-`x-mns-` headers are left out.
    pub fn new(headers: &[(&str, &str)]) -> Self {
        let mut mns: Vec<(String, &str)> = headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
            .filter(|(name, _)| name.starts_with("x-mns-"))
            .collect();
        mns.sort();
        let mut text = String::new();
        for (name, value) in mns {
            text.push_str(&name);
            text.push(':');
            text.push_str(value);
            text.push('\n');
        }
        CanonicalHeaders(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CanonicalHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The string the HMAC is computed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringToSign(String);

impl StringToSign {
    /// Builds it from what the request sends.
    pub fn new(input: &SigningInput<'_>) -> Self {
        let headers = CanonicalHeaders::new(input.headers);
        StringToSign(format!(
            "{}\n{}\n{}\n{}\n{}{}",
            input.method,
            input.content_md5.unwrap_or(""),
            input.content_type.unwrap_or(""),
            input.date,
            headers,
            input.resource
        ))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`.
pub fn signature(access_key_secret: &str, string_to_sign: &StringToSign) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(access_key_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(string_to_sign.as_str().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value: `MNS <AccessKeyId>:<Signature>`.
pub fn authorization(access_key_id: &str, signature: &str) -> String {
    format!("MNS {access_key_id}:{signature}")
}

/// Every step of one signature.
#[derive(Clone, PartialEq, Eq)]
pub struct Signed {
    /// The string that was signed.
    pub string_to_sign: StringToSign,
    /// The base64 signature.
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
}

impl fmt::Debug for Signed {
    // The string to sign holds no secret, but a signature is a replayable credential for
    // the next 15 minutes: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("string_to_sign", &self.string_to_sign.as_str())
            .finish_non_exhaustive()
    }
}

/// Signs a request: the string to sign, the signature and the `Authorization` value.
pub fn sign(input: &SigningInput<'_>, access_key_id: &str, access_key_secret: &str) -> Signed {
    let string_to_sign = StringToSign::new(input);
    let signature = signature(access_key_secret, &string_to_sign);
    let authorization = authorization(access_key_id, &signature);
    Signed {
        string_to_sign,
        signature,
        authorization,
    }
}

/// A time as the `Date` header carries it, e.g. `Thu, 09 Jul 2015 03:01:34 GMT`.
pub fn http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

/// Everything but the URL-unreserved characters `A-Z a-z 0-9 - . _ ~` is encoded: a handle's
/// `+ / =` then survive any query parser (a bare `+` is often read as a space).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value or a path segment (a receipt handle, a queue name).
pub fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_headers_lower_case_sort_and_skip_others() {
        let h = CanonicalHeaders::new(&[
            ("X-MNS-Version", "2015-06-06"),
            ("Host", "a.example"),
            ("x-mns-date", "D"),
            ("security-token", "T"),
        ]);
        assert_eq!(h.as_str(), "x-mns-date:D\nx-mns-version:2015-06-06\n");
    }

    #[test]
    fn components_encode_everything_but_unreserved() {
        assert_eq!(encode_component("1-a+b/c=="), "1-a%2Bb%2Fc%3D%3D");
        assert_eq!(encode_component("视频"), "%E8%A7%86%E9%A2%91");
        assert_eq!(encode_component("a-b_c.d~e"), "a-b_c.d~e");
    }

    #[test]
    fn debug_of_a_signature_hides_it() {
        let signed = sign(
            &SigningInput {
                method: "GET",
                content_md5: None,
                content_type: None,
                date: "D",
                headers: &[],
                resource: "/",
            },
            "id",
            "secret",
        );
        assert!(!format!("{signed:?}").contains(&signed.signature));
    }
}
