//! TC3-HMAC-SHA256 checked step by step against the official vectors
//! (spec `tencent-vod.md` §2.2 and §2.3), plus an independent non-ASCII vector.

use vod_events::tencent::sign::{sign, utc_date, SigningInput};

const DOC_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
const DOC_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

struct Vector {
    secret_id: &'static str,
    secret_key: &'static str,
    service: &'static str,
    host: &'static str,
    content_type: &'static str,
    timestamp: i64,
    payload: &'static [u8],
    date: &'static str,
    hashed_payload: &'static str,
    canonical_digest: &'static str,
    signature: &'static str,
}

fn check(v: &Vector) {
    let signed = sign(&SigningInput {
        secret_id: v.secret_id,
        secret_key: v.secret_key,
        service: v.service,
        host: v.host,
        content_type: v.content_type,
        timestamp: v.timestamp,
        payload: v.payload,
    });
    assert_eq!(utc_date(v.timestamp), v.date, "date");
    assert_eq!(
        signed.canonical_request.hashed_payload(),
        v.hashed_payload,
        "hashed payload"
    );
    let expected_canonical = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        v.content_type, v.host, v.hashed_payload
    );
    assert_eq!(
        signed.canonical_request.to_string(),
        expected_canonical,
        "canonical request"
    );
    assert_eq!(
        signed.canonical_request.digest(),
        v.canonical_digest,
        "canonical request digest"
    );
    let scope = format!("{}/{}/tc3_request", v.date, v.service);
    assert_eq!(
        signed.credential_scope.to_string(),
        scope,
        "credential scope"
    );
    assert_eq!(
        signed.string_to_sign.to_string(),
        format!(
            "TC3-HMAC-SHA256\n{}\n{}\n{}",
            v.timestamp, scope, v.canonical_digest
        ),
        "string to sign"
    );
    assert_eq!(signed.signature, v.signature, "signature");
    assert_eq!(
        signed.authorization,
        format!(
            "TC3-HMAC-SHA256 Credential={}/{}, SignedHeaders=content-type;host, Signature={}",
            v.secret_id, scope, v.signature
        ),
        "authorization header"
    );
}

const DOC_PAYLOAD: &[u8] =
    br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;

/// The Signature v3 doc's CVM example; both doc revisions share everything but the keys.
fn doc_example(
    secret_id: &'static str,
    secret_key: &'static str,
    signature: &'static str,
) -> Vector {
    Vector {
        secret_id,
        secret_key,
        service: "cvm",
        host: "cvm.tencentcloudapi.com",
        content_type: "application/json; charset=utf-8",
        timestamp: 1_551_113_065,
        payload: DOC_PAYLOAD,
        date: "2019-02-25",
        hashed_payload: "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
        canonical_digest: "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
        signature,
    }
}

#[test]
fn official_doc_example_current_revision() {
    check(&doc_example(
        DOC_ID,
        DOC_KEY,
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
    ));
}

#[test]
fn official_doc_example_older_masked_revision() {
    check(&doc_example(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        "Gu5t9xGARNpq86cd98joQYCN3*******",
        "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
    ));
}

fn vod(
    timestamp: i64,
    payload: &'static [u8],
    date: &'static str,
    hp: &'static str,
    cd: &'static str,
    sig: &'static str,
) -> Vector {
    Vector {
        secret_id: DOC_ID,
        secret_key: DOC_KEY,
        service: "vod",
        host: "vod.tencentcloudapi.com",
        content_type: "application/json",
        timestamp,
        payload,
        date,
        hashed_payload: hp,
        canonical_digest: cd,
        signature: sig,
    }
}

#[test]
fn v1_pull_events_empty_body() {
    check(&vod(
        1_700_000_000,
        b"{}",
        "2023-11-14",
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "d74a16d017107110de12f3485bfc000e9501a53329c77c44a7d4457f38cb813a",
        "5747b053af7b735076a1cfe421acdaef73173856865229f1017620cd0d746189",
    ));
}

#[test]
fn v2_pull_events_one_second_before_utc_midnight() {
    check(&vod(
        1_735_689_599,
        br#"{"SubAppId":1500000001}"#,
        "2024-12-31",
        "4141dce86ef56e1977a5c49444e0192c00e9eb4ee2d78edc738a8e2bab02fbe8",
        "31229a9f1db86924c004bff48031bb052391a34480d2f68a8a10310f9fa09b66",
        "fe62431c8cadda028b8d59736cd3c4e5e8786a98a85fca2fe69b98b9e063a7a8",
    ));
}

#[test]
fn v3_confirm_events_python_spacing_at_utc_midnight() {
    check(&vod(
        1_735_689_600,
        br#"{"EventHandles": ["EventHandle1", "EventHandle2"], "SubAppId": 1500000001}"#,
        "2025-01-01",
        "dbb2d1509aed47e3c3e115bb4366ebd975541c98317488d7663cea4958ac323a",
        "51fad0b981cb95cbfeb39ee62d789284eb80156b5d511b8646481d805d1f9ab3",
        "60516bd643d248e0ed2767d41a523f71e792ef26a953de17490415add048992a",
    ));
}

#[test]
fn v4_confirm_events_compact() {
    check(&vod(
        1_735_689_600,
        br#"{"EventHandles":["EventHandle1","EventHandle2"],"SubAppId":1500000001}"#,
        "2025-01-01",
        "641c143c6e273e92fff0454941ab2fbf1b3769c32fe107f7b7097c20becad3ab",
        "ec937f29633d74704f00882255623559d0e71037d10a2577151ec5e791c79f76",
        "7d88a8362af6a6ba80465ddb4df5c5eb291351ee7d4b6ba0cac7d594729edfe6",
    ));
}

#[test]
fn v5_pull_events_other_key_new_year_2030() {
    check(&Vector {
        secret_id: "AKIDTESTVECTOR0000000000000000000005",
        secret_key: "TestVectorSecretKey000000000000005",
        ..vod(
            1_893_456_000,
            br#"{"ExtInfo":"","SubAppId":251000000}"#,
            "2030-01-01",
            "036bce3c4263fa5ca0b3f783f862ac4ed008c5bf98a8563ae568c031184ea1f9",
            "bd36d14bd849ee412ed1f44e1edde11c99c4449882fcad91062134c8986ab84e",
            "d5c999ed49c4b4fe53938dac6bb20e86aa8d54808993730f881926d34db86866",
        )
    });
}

/// Raw UTF-8 (not `\u` escapes) in the body: the hash is over the bytes as sent. Expected
/// values computed with an independent hashlib/hmac implementation of §2.1.
#[test]
fn non_ascii_payload_is_hashed_as_utf8_bytes() {
    check(&vod(
        1_735_689_600,
        "{\"ExtInfo\":\"点播 événement ✓\",\"SubAppId\":1500000001}".as_bytes(),
        "2025-01-01",
        "edb262e7433f0ecf3a468191c89db4b57906d431bb51fe79982463fd63b49cb6",
        "fee00a777e602fc57f407b316514c4ba092d31974fa5efe4b1d9de603feffa9a",
        "9737389fa5f28d7af543fc2310483f70559d76077e630a64ded5afdfa215810f",
    ));
}

#[test]
fn the_date_in_the_scope_changes_exactly_at_utc_midnight() {
    let at = |ts| {
        sign(&SigningInput {
            secret_id: DOC_ID,
            secret_key: DOC_KEY,
            service: "vod",
            host: "vod.tencentcloudapi.com",
            content_type: "application/json",
            timestamp: ts,
            payload: b"{}",
        })
    };
    assert_eq!(at(1_735_689_599).credential_scope.date(), "2024-12-31");
    assert_eq!(at(1_735_689_600).credential_scope.date(), "2025-01-01");
    assert_ne!(at(1_735_689_599).signature, at(1_735_689_600).signature);
}
