//! The MNS signature, step by step, against the 10 vectors the official Python MNS SDK
//! (aliyun-mns-sdk 1.3.0) produced with its own signing code
//! (`tests/fixtures/alibaba-mns-vectors.json`, a copy of `spec/alibaba-mns-vectors.json`).

use serde_json::Value;
use vod_events::alibaba::mns::sign::{
    authorization, sign, signature, CanonicalHeaders, SigningInput, StringToSign,
};

fn vectors() -> Vec<Value> {
    let text = include_str!("fixtures/alibaba-mns-vectors.json");
    let doc: Value = serde_json::from_str(text).expect("vectors file is JSON");
    doc["vectors"].as_array().expect("vectors").clone()
}

fn headers(v: &Value) -> Vec<(String, String)> {
    v["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|h| {
            (
                h[0].as_str().expect("name").to_owned(),
                h[1].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Checks one vector: the canonical headers, the string to sign, the signature and the
/// `Authorization` value, each as text.
fn check(v: &Value) {
    let name = v["name"].as_str().expect("name");
    let owned = headers(v);
    let sent: Vec<(&str, &str)> = owned
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization"))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let date = header(&owned, "date")
        .or_else(|| header(&owned, "x-mns-date"))
        .expect("a date");
    let input = SigningInput {
        method: v["method"].as_str().expect("method"),
        content_md5: header(&owned, "content-md5"),
        content_type: header(&owned, "content-type"),
        date,
        headers: &sent,
        resource: v["resource"].as_str().expect("resource"),
    };
    let want_sts = v["string_to_sign"].as_str().expect("string_to_sign");
    let canonical = CanonicalHeaders::new(&sent);
    assert!(
        want_sts.contains(canonical.as_str()),
        "{name}: canonical headers {:?} not in {want_sts:?}",
        canonical.as_str()
    );
    let sts = StringToSign::new(&input);
    assert_eq!(sts.as_str(), want_sts, "{name}: string to sign");
    let secret = v["access_key_secret"].as_str().expect("secret");
    let id = v["access_key_id"].as_str().expect("id");
    let want_auth = v["authorization"].as_str().expect("authorization");
    let sig = signature(secret, &sts);
    assert_eq!(authorization(id, &sig), want_auth, "{name}: authorization");
    assert_eq!(
        header(&owned, "authorization"),
        Some(want_auth),
        "{name}: the vector's own header"
    );
    let signed = sign(&input, id, secret);
    assert_eq!(signed.authorization, want_auth, "{name}: sign()");
    // The STS token is sent but never signed.
    if let Some(token) = v["security_token"].as_str() {
        assert_eq!(header(&owned, "security-token"), Some(token), "{name}");
        assert!(!sts.as_str().contains(token), "{name}");
    }
}

#[test]
fn there_are_ten_vectors_covering_the_issue_list() {
    let names: Vec<String> = vectors()
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    for want in [
        "doc_example_get_queue",
        "receive_waitseconds",
        "batch_delete_with_body",
        "delete_handle_plus_slash_eq_raw",
        "delete_handle_percent_encoded",
        "change_visibility_raw",
        "x_mns_date_instead_of_date",
        "non_ascii_queue_percent_encoded",
        "batch_delete_sts_single",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
}

macro_rules! vector_tests {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            let all = vectors();
            let v = all
                .iter()
                .find(|v| v["name"] == $name)
                .unwrap_or_else(|| panic!("vector {} missing", $name));
            check(v);
        }
    )*};
}

vector_tests! {
    doc_example_get_queue => "doc_example_get_queue",
    receive_with_long_poll => "receive_waitseconds",
    batch_receive_16_wait_30 => "batch_receive_16_wait30",
    delete_with_raw_plus_slash_equals_handle => "delete_handle_plus_slash_eq_raw",
    delete_with_percent_encoded_handle => "delete_handle_percent_encoded",
    batch_delete_with_body => "batch_delete_with_body",
    batch_delete_with_sts_token => "batch_delete_sts_single",
    change_visibility => "change_visibility_raw",
    x_mns_date_instead_of_date => "x_mns_date_instead_of_date",
    non_ascii_queue_name => "non_ascii_queue_percent_encoded",
}

#[test]
fn every_vector_in_the_file_passes() {
    for v in vectors() {
        check(&v);
    }
}

#[test]
fn the_client_encoding_of_a_handle_is_the_go_sdk_one_of_the_vector() {
    use vod_events::alibaba::mns::sign::encode_component;
    let raw = "1-5Ck2vE+Q/a9xZ7mP0sN4tA++///g==";
    let v = vectors()
        .into_iter()
        .find(|v| v["name"] == "delete_handle_percent_encoded")
        .expect("vector");
    let resource = v["resource"].as_str().expect("resource");
    assert_eq!(
        resource,
        format!(
            "/queues/vod-callback/messages?ReceiptHandle={}",
            encode_component(raw)
        )
    );
}
