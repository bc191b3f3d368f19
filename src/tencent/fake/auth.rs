//! Verification of TC3-HMAC-SHA256 signed requests, as the service does it.

use crate::tencent::sign::{sign, utc_date, SigningInput, ALGORITHM, SIGNED_HEADERS};

use super::FakeCredential;

/// The parts of an `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParsedAuthorization<'a> {
    pub(crate) secret_id: &'a str,
    pub(crate) date: &'a str,
    pub(crate) service: &'a str,
    pub(crate) signed_headers: &'a str,
    pub(crate) signature: &'a str,
}

/// Parses `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request,
/// SignedHeaders=<list>, Signature=<hex>`. `None` if malformed.
pub(crate) fn parse_authorization(value: &str) -> Option<ParsedAuthorization<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (key, val) = part.trim().split_once('=')?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(val).is_some() {
            return None;
        }
    }
    let mut scope = credential?.split('/');
    let secret_id = scope.next()?;
    let date = scope.next()?;
    let service = scope.next()?;
    if scope.next()? != "tc3_request" || scope.next().is_some() {
        return None;
    }
    let signature = signature?;
    let signed_headers = signed_headers?;
    let well_formed = !secret_id.is_empty()
        && date.len() == 10
        && !service.is_empty()
        && !signed_headers.is_empty()
        && signature.len() == 64
        && signature.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(ParsedAuthorization {
        secret_id,
        date,
        service,
        signed_headers,
        signature,
    })
}

/// Everything the check needs from one request.
pub(crate) struct AuthRequest<'a> {
    pub(crate) authorization: Option<&'a str>,
    pub(crate) timestamp: Option<&'a str>,
    pub(crate) token: Option<&'a str>,
    pub(crate) host: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) body: &'a [u8],
}

/// What the check needs from the fake's settings.
pub(crate) struct AuthPolicy<'a> {
    pub(crate) credentials: &'a [FakeCredential],
    pub(crate) required_token: Option<&'a str>,
    pub(crate) now: i64,
    pub(crate) max_skew: i64,
}

/// A failed check: an API error code and message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AuthError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// Whether this counts as a signature/authentication failure in the stats.
    pub(crate) is_auth_failure: bool,
}

fn auth_err(code: &'static str, message: impl Into<String>) -> AuthError {
    AuthError {
        code,
        message: message.into(),
        is_auth_failure: true,
    }
}

/// Checks a request the way the service does: header shape, SecretId, timestamp window,
/// scope date, signature, then token.
pub(crate) fn verify(req: &AuthRequest<'_>, policy: &AuthPolicy<'_>) -> Result<(), AuthError> {
    let Some(header) = req.authorization else {
        return Err(auth_err(
            "AuthFailure.InvalidAuthorization",
            "The Authorization header is missing.",
        ));
    };
    let Some(auth) = parse_authorization(header) else {
        return Err(auth_err(
            "AuthFailure.InvalidAuthorization",
            "The Authorization header is malformed.",
        ));
    };
    if auth.service != "vod" {
        return Err(auth_err(
            "AuthFailure.InvalidAuthorization",
            format!("Credential scope service `{}` is not `vod`.", auth.service),
        ));
    }
    let Some(credential) = policy
        .credentials
        .iter()
        .find(|c| c.secret_id == auth.secret_id)
    else {
        return Err(auth_err(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        ));
    };
    let Some(ts_text) = req.timestamp else {
        return Err(AuthError {
            code: "MissingParameter",
            message: "The parameter `X-TC-Timestamp` is missing.".into(),
            is_auth_failure: false,
        });
    };
    let Ok(timestamp) = ts_text.trim().parse::<i64>() else {
        return Err(AuthError {
            code: "InvalidParameter",
            message: "The parameter `X-TC-Timestamp` is not an integer.".into(),
            is_auth_failure: false,
        });
    };
    if timestamp.abs_diff(policy.now) > policy.max_skew.unsigned_abs() {
        return Err(auth_err(
            "AuthFailure.SignatureExpire",
            format!(
                "Signature expired. Timestamp {timestamp}, server time {}, the allowed skew is {} s.",
                policy.now, policy.max_skew
            ),
        ));
    }
    if auth.signed_headers != SIGNED_HEADERS {
        return Err(auth_err(
            "AuthFailure.SignatureFailure",
            format!(
                "The fake only verifies SignedHeaders={SIGNED_HEADERS}, got `{}`.",
                auth.signed_headers
            ),
        ));
    }
    if auth.date != utc_date(timestamp) {
        return Err(auth_err(
            "AuthFailure.SignatureFailure",
            "The credential scope date does not match the UTC date of X-TC-Timestamp.",
        ));
    }
    let expected = sign(&SigningInput {
        secret_id: &credential.secret_id,
        secret_key: &credential.secret_key,
        service: auth.service,
        host: req.host,
        content_type: req.content_type,
        timestamp,
        payload: req.body,
    });
    if !constant_time_eq(expected.signature.as_bytes(), auth.signature.as_bytes()) {
        return Err(auth_err(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        ));
    }
    if let Some(required) = policy.required_token {
        if req.token != Some(required) {
            return Err(auth_err(
                "AuthFailure.TokenFailure",
                "The token is missing, invalid or expired.",
            ));
        }
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2023-11-14/vod/tc3_request, SignedHeaders=content-type;host, Signature=5747b053af7b735076a1cfe421acdaef73173856865229f1017620cd0d746189";

    fn creds() -> Vec<FakeCredential> {
        vec![FakeCredential::new(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        )]
    }

    fn request(auth: &str) -> AuthRequest<'_> {
        AuthRequest {
            authorization: Some(auth),
            timestamp: Some("1700000000"),
            token: None,
            host: "vod.tencentcloudapi.com",
            content_type: "application/json",
            body: b"{}",
        }
    }

    #[test]
    fn parses_the_official_vector() {
        let p = parse_authorization(V1).unwrap();
        assert_eq!(p.secret_id, "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE");
        assert_eq!(p.date, "2023-11-14");
        assert_eq!(p.service, "vod");
        assert_eq!(p.signed_headers, "content-type;host");
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            "",
            "TC3-HMAC-SHA256",
            "Bearer x",
            "TC3-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=x, Signature=00",
            "TC3-HMAC-SHA256 Credential=id/2023-11-14/vod/tc3_request, Signature=5747b053af7b735076a1cfe421acdaef73173856865229f1017620cd0d746189",
            "TC3-HMAC-SHA256 Credential=id/2023-11-14/vod/tc3_request/x, SignedHeaders=content-type;host, Signature=5747b053af7b735076a1cfe421acdaef73173856865229f1017620cd0d746189",
            "TC3-HMAC-SHA256 Credential=/2023-11-14/vod/tc3_request, SignedHeaders=content-type;host, Signature=5747b053af7b735076a1cfe421acdaef73173856865229f1017620cd0d746189",
        ] {
            assert!(parse_authorization(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn verifies_the_official_vector_and_its_failures() {
        let creds = creds();
        let policy = AuthPolicy {
            credentials: &creds,
            required_token: None,
            now: 1_700_000_100,
            max_skew: 300,
        };
        assert_eq!(verify(&request(V1), &policy), Ok(()));

        let mut tampered = request(V1);
        tampered.body = b"{ }";
        assert_eq!(
            verify(&tampered, &policy).unwrap_err().code,
            "AuthFailure.SignatureFailure"
        );

        let late = AuthPolicy {
            now: 1_700_000_301,
            ..policy
        };
        assert_eq!(
            verify(&request(V1), &late).unwrap_err().code,
            "AuthFailure.SignatureExpire"
        );

        let with_token = AuthPolicy {
            required_token: Some("tok"),
            now: 1_700_000_000,
            ..late
        };
        assert_eq!(
            verify(&request(V1), &with_token).unwrap_err().code,
            "AuthFailure.TokenFailure"
        );
        let mut tokened = request(V1);
        tokened.token = Some("tok");
        assert_eq!(verify(&tokened, &with_token), Ok(()));

        let other = vec![FakeCredential::new("other", "k")];
        let unknown = AuthPolicy {
            credentials: &other,
            required_token: None,
            now: 1_700_000_000,
            max_skew: 300,
        };
        assert_eq!(
            verify(&request(V1), &unknown).unwrap_err().code,
            "AuthFailure.SecretIdNotFound"
        );
    }
}
