//! The Alibaba role providers against a fake ECS metadata service and a fake STS on
//! 127.0.0.1, and `poll --mns` draining a queue with keys from a (fake) ECS RAM role.

#[path = "common/alibaba_metadata.rs"]
mod alibaba_metadata;
mod common;

use std::time::{Duration, SystemTime};

use alibaba_metadata::{
    rfc3339, served, sts_success, Fail, FakeEcsMetadata, FakeSts, Hardened, MetaCounts,
};
use common::poll_cli::{lines, poll, run};
use vod_events::alibaba::credentials::{
    CredentialsError, DefaultChain, EcsRamRoleProvider, Env, OidcProvider, ProfileProvider,
    ProvideCredentials, Secret, ENV_CREDENTIALS_FILE, ENV_ECS_METADATA, ENV_IMDSV1_DISABLED,
    ENV_METADATA_URL, ENV_OIDC_PROVIDER_ARN, ENV_OIDC_TOKEN_FILE, ENV_ROLE_ARN,
    ENV_ROLE_SESSION_NAME, ENV_STS_ENDPOINT, METADATA_TOKEN_TTL_SECS,
};
use vod_events::alibaba::mns::fake::{FakeMns, FakeMnsConfig};

const ROLE: &str = "vod-events-role";
const KEY_SECRET: &str = "RoleSecretDoNotLog5c1e";
const STS_TOKEN: &str = "RoleStsTokenDoNotLog9a7f";

async fn metadata(role: Option<&str>) -> FakeEcsMetadata {
    FakeEcsMetadata::start(role, served("STS.RoleKeyId", KEY_SECRET, STS_TOKEN, 3600)).await
}

fn ecs(meta: &FakeEcsMetadata, extra: &[(&str, &str)]) -> EcsRamRoleProvider {
    let base = meta.base_url();
    let mut pairs = vec![(ENV_METADATA_URL, base.as_str())];
    pairs.extend_from_slice(extra);
    EcsRamRoleProvider::new(Env::from_pairs(pairs))
}

fn assert_no_secret(text: &str) {
    for secret in [KEY_SECRET, STS_TOKEN, "md-token-", "SECRET-LOOKING-BODY"] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
}

#[tokio::test]
async fn hardened_mode_lists_the_role_then_fetches_its_credentials() {
    let meta = metadata(Some(ROLE)).await;
    let c = ecs(&meta, &[]).provide().await.unwrap();
    assert_eq!(c.access_key_id(), "STS.RoleKeyId");
    assert_eq!(c.access_key_secret().expose(), KEY_SECRET);
    assert_eq!(c.security_token().map(Secret::expose), Some(STS_TOKEN));
    let expires = c.expiration().expect("temporary credentials expire");
    assert!(expires > SystemTime::now() + Duration::from_secs(3000));
    assert_eq!(
        meta.counts(),
        MetaCounts {
            token_puts: 1,
            role_lists: 1,
            credential_gets: 1,
            refused: 0,
            without_token: 0,
        }
    );
    assert_eq!(
        meta.last_ttl(),
        Some(METADATA_TOKEN_TTL_SECS.to_string()),
        "the token PUT asks for a TTL"
    );
    assert_no_secret(&format!("{c:?}"));
}

#[tokio::test]
async fn a_configured_role_name_skips_the_list() {
    let meta = metadata(Some(ROLE)).await;
    let c = ecs(&meta, &[(ENV_ECS_METADATA, ROLE)])
        .provide()
        .await
        .unwrap();
    assert_eq!(c.access_key_id(), "STS.RoleKeyId");
    let counts = meta.counts();
    assert_eq!(
        (counts.token_puts, counts.role_lists, counts.credential_gets),
        (1, 0, 1)
    );
    // A name given in code wins over the environment; a role the instance lacks is invalid.
    let e = ecs(&meta, &[(ENV_ECS_METADATA, ROLE)])
        .with_role_name("other-role")
        .provide()
        .await
        .unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains("other-role"), "{e}");
}

#[tokio::test]
async fn a_refused_token_put_falls_back_to_asking_without_one_unless_imdsv1_is_disabled() {
    let meta = metadata(Some(ROLE)).await;
    meta.set_hardened(Hardened::Unsupported);
    let c = ecs(&meta, &[]).provide().await.unwrap();
    assert_eq!(c.access_key_id(), "STS.RoleKeyId");
    let counts = meta.counts();
    assert_eq!(counts.without_token, 2, "{counts:?}");
    let e = ecs(&meta, &[(ENV_IMDSV1_DISABLED, "true")])
        .provide()
        .await
        .unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains(ENV_IMDSV1_DISABLED), "{e}");
    assert_eq!(
        meta.counts().without_token,
        2,
        "no GET without a token then"
    );
}

#[tokio::test]
async fn no_role_attached_is_not_configured() {
    let meta = metadata(None).await;
    let e = ecs(&meta, &[]).provide().await.unwrap_err();
    assert!(e.is_not_configured(), "{e}");
    // The chain then says none was found, with the ECS step's reason.
    let base = meta.base_url();
    let chain = DefaultChain::with_env(Env::from_pairs([
        (ENV_METADATA_URL, base.as_str()),
        ("HOME", "/nonexistent-vod-events"),
    ]));
    let e = chain.provide().await.unwrap_err();
    assert!(matches!(e, CredentialsError::NoneFound { .. }), "{e}");
    assert!(e.to_string().contains("no RAM role is attached"), "{e}");
}

#[tokio::test]
async fn a_closed_port_is_not_configured() {
    let env = Env::from_pairs([(ENV_METADATA_URL, common::poll_cli::NO_METADATA)]);
    let e = EcsRamRoleProvider::new(env).provide().await.unwrap_err();
    assert!(e.is_not_configured(), "{e}");
}

#[tokio::test]
async fn a_service_that_never_answers_is_unavailable_within_the_client_timeout() {
    let meta = metadata(Some(ROLE)).await;
    meta.set_fail(Some(Fail::Hang));
    let started = std::time::Instant::now();
    let e = tokio::time::timeout(Duration::from_secs(60), ecs(&meta, &[]).provide())
        .await
        .expect("bounded by the metadata client's timeout")
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains("no answer in time"), "{e}");
    // Generous: the client's timeout is 2 s; this only says it did not wait for the outer one.
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn broken_answers_say_which_kind_without_bodies() {
    let meta = metadata(Some(ROLE)).await;
    for (fail, retryable, want) in [
        (Fail::Status(500), true, "HTTP 500"),
        (Fail::Status(503), true, "HTTP 503"),
        (Fail::Status(403), false, "HTTP 403"),
        (
            // A cut-off answer: the service is broken for a moment, worth asking again.
            Fail::Body(format!("{{\"AccessKeyId\":\"a\",\"AccessKeySecret\":\"{KEY_SECRET}\"")),
            true,
            "not the documented JSON",
        ),
        (
            Fail::Body(format!(
                "{{\"Code\":\"InternalError\",\"AccessKeyId\":\"a\",\"AccessKeySecret\":\"{KEY_SECRET}\",\"SecurityToken\":\"{STS_TOKEN}\",\"Expiration\":\"{}\"}}",
                rfc3339(SystemTime::now())
            )),
            true,
            "Code InternalError",
        ),
    ] {
        meta.set_fail(Some(fail.clone()));
        let e = ecs(&meta, &[]).provide().await.unwrap_err();
        let shown = format!("{e} {e:?}");
        assert_eq!(e.is_retryable(), retryable, "{fail:?}: {shown}");
        assert!(!e.is_not_configured(), "{fail:?}: {shown}");
        assert!(shown.contains(want), "{fail:?}: {shown}");
        assert_no_secret(&shown);
    }
}

#[tokio::test]
async fn the_profile_file_can_name_the_instance_role() {
    let meta = metadata(Some(ROLE)).await;
    let dir = temp_dir("profile-ecs");
    let file = dir.join("credentials");
    std::fs::write(
        &file,
        format!("[default]\ntype = ecs_ram_role\nrole_name = {ROLE}\n"),
    )
    .unwrap();
    let base = meta.base_url();
    let env = Env::from_pairs([
        (ENV_METADATA_URL, base.as_str()),
        (ENV_CREDENTIALS_FILE, file.to_str().unwrap()),
    ]);
    let c = ProfileProvider::new(env).provide().await.unwrap();
    assert_eq!(c.security_token().map(Secret::expose), Some(STS_TOKEN));
    assert_eq!(
        meta.counts().role_lists,
        0,
        "the profile's role_name is used"
    );
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vod-events-roles-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const OIDC_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.OidcTokenDoNotLog.c2ln";

fn oidc_env(sts: &FakeSts, token_file: &std::path::Path, extra: &[(&str, &str)]) -> Env {
    let base = sts.base_url();
    let mut pairs = vec![
        (ENV_ROLE_ARN, "acs:ram::1234567890:role/vod-events"),
        (
            ENV_OIDC_PROVIDER_ARN,
            "acs:ram::1234567890:oidc-provider/ack-rrsa",
        ),
        (ENV_OIDC_TOKEN_FILE, token_file.to_str().unwrap()),
        (ENV_STS_ENDPOINT, base.as_str()),
        // The chain must never get as far as asking a metadata service.
        (ENV_METADATA_URL, common::poll_cli::NO_METADATA),
    ];
    pairs.extend_from_slice(extra);
    Env::from_pairs(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())))
}

#[tokio::test]
async fn oidc_posts_the_token_from_the_file_in_the_body_and_rereads_it() {
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let sts = FakeSts::start(
        200,
        sts_success("STS.OidcKey", KEY_SECRET, STS_TOKEN, expires),
    )
    .await;
    let dir = temp_dir("oidc");
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{OIDC_TOKEN}\n")).unwrap();
    let provider = OidcProvider::new(oidc_env(
        &sts,
        &token_file,
        &[(ENV_ROLE_SESSION_NAME, "poller")],
    ));
    let c = provider.provide().await.unwrap();
    assert_eq!(c.access_key_id(), "STS.OidcKey");
    assert_eq!(c.access_key_secret().expose(), KEY_SECRET);
    assert_eq!(c.security_token().map(Secret::expose), Some(STS_TOKEN));
    let got = c.expiration().unwrap();
    let diff = got
        .duration_since(expires)
        .or_else(|e| Ok::<_, ()>(e.duration()))
        .unwrap();
    assert!(diff <= Duration::from_secs(1), "the answer's Expiration");
    let requests = sts.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert!(!r.authorization, "AssumeRoleWithOIDC is anonymous");
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        r.query_field("Action").as_deref(),
        Some("AssumeRoleWithOIDC")
    );
    assert_eq!(r.query_field("Format").as_deref(), Some("JSON"));
    assert_eq!(r.query_field("Version").as_deref(), Some("2015-04-01"));
    assert!(
        r.query_field("Timestamp").is_some_and(|t| t.ends_with('Z')),
        "{}",
        r.query
    );
    assert!(
        !r.query.contains("OidcTokenDoNotLog"),
        "the token is not in the URL: {}",
        r.query
    );
    assert_eq!(
        r.field("OIDCToken"),
        Some(OIDC_TOKEN),
        "from the file, trimmed"
    );
    assert_eq!(
        r.field("RoleArn"),
        Some("acs:ram::1234567890:role/vod-events")
    );
    assert_eq!(
        r.field("OIDCProviderArn"),
        Some("acs:ram::1234567890:oidc-provider/ack-rrsa")
    );
    assert_eq!(r.field("RoleSessionName"), Some("poller"));
    assert_eq!(r.field("DurationSeconds"), Some("3600"));
    // Kubernetes rotates the file: the next call sends the new token.
    std::fs::write(&token_file, "eyJrotated.token.sig").unwrap();
    provider.provide().await.unwrap();
    assert_eq!(
        sts.requests()[1].field("OIDCToken"),
        Some("eyJrotated.token.sig")
    );
}

#[tokio::test]
async fn oidc_sts_errors_keep_code_and_request_id_but_not_the_token() {
    let sts = FakeSts::start(
        400,
        format!(
            r#"{{"RequestId":"8C6F2E5A-REQ","HostId":"sts.aliyuncs.com","Code":"AuthenticationFail.OIDCToken.Expired","Message":"The OIDC token {OIDC_TOKEN} has expired.","Recommend":"https://api.aliyun.com/troubleshoot"}}"#
        ),
    )
    .await;
    let dir = temp_dir("oidc-error");
    let token_file = dir.join("token");
    std::fs::write(&token_file, OIDC_TOKEN).unwrap();
    // Through the default chain: OIDC is configured, so its error stops the chain.
    let e = DefaultChain::with_env(oidc_env(&sts, &token_file, &[]))
        .provide()
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{shown}");
    for want in [
        "AuthenticationFail.OIDCToken.Expired",
        "8C6F2E5A-REQ",
        "HTTP 400",
        "has expired",
    ] {
        assert!(shown.contains(want), "{want}: {shown}");
    }
    assert!(!shown.contains("OidcTokenDoNotLog"), "{shown}");
    sts.answer(503, "<html>busy</html>".into());
    let e = OidcProvider::new(oidc_env(&sts, &token_file, &[]))
        .provide()
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
}

#[tokio::test]
async fn oidc_with_part_of_the_environment_is_invalid_and_asks_nothing() {
    let sts = FakeSts::start(200, String::new()).await;
    let base = sts.base_url();
    let env = Env::from_pairs([
        (ENV_OIDC_TOKEN_FILE, "/var/run/secrets/token"),
        (ENV_STS_ENDPOINT, base.as_str()),
    ]);
    let e = OidcProvider::new(env).provide().await.unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e}");
    assert!(
        e.to_string().contains(ENV_ROLE_ARN) && e.to_string().contains(ENV_OIDC_PROVIDER_ARN),
        "{e}"
    );
    assert!(sts.requests().is_empty());
}

#[tokio::test]
async fn the_profile_file_can_name_an_oidc_role() {
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let sts = FakeSts::start(200, sts_success("STS.FromProfile", "s", "t", expires)).await;
    let dir = temp_dir("profile-oidc");
    let token_file = dir.join("token");
    std::fs::write(&token_file, OIDC_TOKEN).unwrap();
    let file = dir.join("credentials");
    std::fs::write(
        &file,
        format!(
            "[default]\ntype = oidc_role_arn\nrole_arn = acs:ram::1:role/p\noidc_provider_arn = acs:ram::1:oidc-provider/p\noidc_token_file_path = {}\nrole_session_name = from-file\n",
            token_file.display()
        ),
    )
    .unwrap();
    let base = sts.base_url();
    let env = Env::from_pairs([
        (ENV_STS_ENDPOINT, base.as_str()),
        (ENV_CREDENTIALS_FILE, file.to_str().unwrap()),
        (ENV_METADATA_URL, common::poll_cli::NO_METADATA),
    ]);
    let c = DefaultChain::with_env(env).provide().await.unwrap();
    assert_eq!(c.access_key_id(), "STS.FromProfile");
    let r = &sts.requests()[0];
    assert_eq!(r.field("RoleArn"), Some("acs:ram::1:role/p"));
    assert_eq!(r.field("RoleSessionName"), Some("from-file"));
}

/// Done when: `poll --mns URL` drains a queue with keys from an ECS RAM role, with no key in
/// the environment, and shows neither the secret nor the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_drains_a_queue_with_keys_from_the_instance_role() {
    let fake = FakeMns::start(FakeMnsConfig {
        required_token: Some(STS_TOKEN.into()),
        ..FakeMnsConfig::fast()
    })
    .await
    .unwrap();
    fake.push_samples("vod-callback", 12);
    let meta = FakeEcsMetadata::start(
        Some(ROLE),
        served(
            FakeMnsConfig::DEFAULT_ACCESS_KEY_ID,
            FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET,
            STS_TOKEN,
            3600,
        ),
    )
    .await;
    let url = fake.queue_url("vod-callback");
    let out = run(poll(&["--mns", &url, "--max-events", "12"])
        .env(ENV_METADATA_URL, meta.base_url())
        .env("RUST_LOG", "debug"))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out.stdout).len(), 12, "{}", out.stderr);
    let stats = fake.stats();
    assert_eq!(stats.deleted, 12, "{stats:?}");
    assert!(stats.requests_with_token > 0, "{stats:?}");
    assert_eq!(stats.auth_failures, 0, "{stats:?}");
    let counts = meta.counts();
    assert_eq!(counts.credential_gets, 1, "resolved once: {counts:?}");
    assert_eq!(counts.refused, 0, "hardened mode: {counts:?}");
    // Debug logging was on, so the search below covers the requests' log lines too.
    assert!(out.stderr.contains("BatchDeleteMessage"), "{}", out.stderr);
    for secret in [
        FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET,
        STS_TOKEN,
        "md-token-",
    ] {
        assert!(
            !out.stderr.contains(secret),
            "{secret} in stderr: {}",
            out.stderr
        );
    }
}

/// Nothing configured and no metadata service: still the one-line usage error.
#[tokio::test]
async fn poll_without_any_source_names_the_role_options_too() {
    let fake = FakeMns::start(FakeMnsConfig::fast()).await.unwrap();
    let out = run(&mut poll(&["--mns", &fake.queue_url("vod-callback")])).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    for needed in [ENV_ROLE_ARN, "ECS", "ECS RAM role"] {
        assert!(out.stderr.contains(needed), "{needed}: {}", out.stderr);
    }
}

#[tokio::test]
async fn an_sts_endpoint_whose_certificate_is_refused_is_invalid_and_named() {
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let sts = FakeSts::start(
        200,
        sts_success("STS.OidcKey", KEY_SECRET, STS_TOKEN, expires),
    )
    .await;
    let backend: std::net::SocketAddr = sts
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let front =
        common::tls::TlsFront::start(backend, &common::tls::self_signed(&["localhost"])).await;
    let dir = temp_dir("oidc-tls");
    let token_file = dir.join("token");
    std::fs::write(&token_file, OIDC_TOKEN).unwrap();
    let endpoint = format!("{}/", front.origin());
    let e = OidcProvider::new(oidc_env(
        &sts,
        &token_file,
        &[(ENV_STS_ENDPOINT, endpoint.as_str())],
    ))
    .provide()
    .await
    .unwrap_err();
    // Not an outage to wait out, and not "nothing here": the certificate is named.
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");
    assert!(sts.requests().is_empty(), "nothing got through");
    assert_no_secret(&format!("{e} {e:?}"));
}
