//! Temporary Tencent Cloud credentials from a CVM instance role and from a TKE pod's OIDC
//! token, against a fake metadata service and a fake STS on 127.0.0.1: what the providers
//! ask and read, how each failure is classed, how the client refreshes them around the fake
//! VOD, and `poll` draining a queue with a role's keys.

mod common;
#[path = "common/tencent_roles.rs"]
mod roles;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::poll_cli::{lines, poll, run};
use common::{quick_retries, wait_until};
use roles::{
    FakeMetadata, FakeSts, RoleCredentials, SilentServer, StsAnswer, LEAKY_BODY, STS_REQUEST_ID,
};
use vod_events::credentials::RETRY_REFRESH_AFTER;
use vod_events::tencent::client::Clock;
use vod_events::tencent::credentials::{
    CvmRoleProvider, DefaultChain, Env, ProvideCredentials, TkeOidcProvider, ENV_METADATA_URL,
    ENV_STS_ENDPOINT, ENV_TKE_PROVIDER_ID, ENV_TKE_REGION, ENV_TKE_ROLE_ARN,
    ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
};
use vod_events::tencent::fake::{FakeConfig, FakeCredential, FakeVod};
use vod_events::tencent::{Client, CredentialsError};

const ROLE: &str = "vod-events-role";
const NO_METADATA: &str = "http://127.0.0.1:1/";
const HOUR: Duration = Duration::from_secs(3600);

fn cvm(url: &str) -> CvmRoleProvider {
    CvmRoleProvider::new(Env::from_pairs([(ENV_METADATA_URL, url)]))
}

/// Fails the test rather than hanging it, should a provider never return.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("finished within a minute")
}

// ----- CVM role -----

#[tokio::test]
async fn cvm_role_credentials_come_from_the_metadata_service_with_their_expiry() {
    let role = RoleCredentials::numbered(1, SystemTime::now(), HOUR);
    let meta = FakeMetadata::start(Some(ROLE), Some(role.clone())).await;
    let c = cvm(&meta.url()).provide().await.unwrap();
    assert_eq!(c.secret_id(), role.id);
    assert_eq!(c.secret_key().expose(), role.key);
    assert_eq!(c.token().unwrap().expose(), role.token);
    assert_eq!(c.expiration(), Some(role.expires));
    assert_eq!(
        meta.paths(),
        [
            "/latest/meta-data/cam/security-credentials/".to_owned(),
            format!("/latest/meta-data/cam/security-credentials/{ROLE}"),
        ]
    );
}

#[tokio::test]
async fn a_named_role_is_asked_for_directly_and_must_be_bound() {
    let role = RoleCredentials::numbered(1, SystemTime::now(), HOUR);
    let meta = FakeMetadata::start(Some(ROLE), Some(role.clone())).await;
    let c = cvm(&meta.url())
        .with_role_name(ROLE)
        .provide()
        .await
        .unwrap();
    assert_eq!(c.secret_id(), role.id);
    assert_eq!(meta.list_calls(), 0);
    let e = cvm(&meta.url())
        .with_role_name("some-other-role")
        .provide()
        .await
        .unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("some-other-role"), "{e}");
}

#[tokio::test]
async fn an_instance_without_a_role_is_not_configured() {
    let meta = FakeMetadata::start(None, None).await;
    let e = cvm(&meta.url()).provide().await.unwrap_err();
    assert!(e.is_not_configured(), "{e:?}");
    assert_eq!(meta.credential_calls(), 0);
}

#[tokio::test]
async fn no_metadata_service_is_not_configured() {
    let e = bounded(cvm(NO_METADATA).provide()).await.unwrap_err();
    assert!(e.is_not_configured(), "{e:?}");
}

#[tokio::test]
async fn a_metadata_service_that_never_answers_is_unavailable() {
    let silent = SilentServer::start().await;
    // Bounded by the metadata client's own timeout (2 s), not by this guard.
    let e = bounded(cvm(&silent.url()).provide()).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("no answer in time"), "{e}");
}

#[tokio::test]
async fn a_failing_metadata_service_is_unavailable_and_its_body_is_never_shown() {
    let role = RoleCredentials::numbered(1, SystemTime::now(), HOUR);
    let meta = FakeMetadata::start(Some(ROLE), Some(role)).await;
    meta.set_status(Some(500));
    let e = cvm(&meta.url()).provide().await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    let text = format!("{e} {e:?}");
    assert!(text.contains("500") && !text.contains("LEAKED"), "{text}");
}

#[tokio::test]
async fn a_garbled_answer_is_unavailable_and_a_refused_role_invalid() {
    let meta = FakeMetadata::start(Some(ROLE), None).await;
    meta.set_body(Some(&LEAKY_BODY[..LEAKY_BODY.len() - 3]));
    let e = cvm(&meta.url()).provide().await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("LEAKED"), "{e}");
    meta.set_body(Some(
        r#"{"Code":"RoleNotAssumable","TmpSecretKey":"LEAKED"}"#,
    ));
    let e = cvm(&meta.url()).provide().await.unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("RoleNotAssumable") && !text.contains("LEAKED"),
        "{text}"
    );
}

#[tokio::test]
async fn a_web_page_where_the_role_name_should_be_is_not_configured() {
    // What a resolver that answers every name with its own page looks like.
    let meta = FakeMetadata::start(Some("<html><body>Search results</body></html>"), None).await;
    let e = cvm(&meta.url()).provide().await.unwrap_err();
    assert!(e.is_not_configured(), "{e:?}");
}

#[tokio::test]
async fn a_provider_shows_no_secret_in_debug() {
    let role = RoleCredentials::numbered(1, SystemTime::now(), HOUR);
    let meta = FakeMetadata::start(Some(ROLE), Some(role.clone())).await;
    let p = cvm(&meta.url());
    p.provide().await.unwrap();
    let text = format!("{p:?}");
    assert!(
        !text.contains(&role.key) && !text.contains(&role.token),
        "{text}"
    );
}

// ----- TKE OIDC -----

struct Tke {
    sts: FakeSts,
    dir: std::path::PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Tke {
    async fn start(answer: StsAnswer, name: &str) -> Tke {
        let sts = FakeSts::start(answer).await;
        let dir =
            std::env::temp_dir().join(format!("vod-events-tke-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token_file = dir.join("token");
        std::fs::write(&token_file, "eyJ.first-oidc-token.sig\n").unwrap();
        let env = vec![
            (ENV_TKE_REGION, "ap-guangzhou".to_owned()),
            (ENV_TKE_PROVIDER_ID, "tke-oidc-provider".to_owned()),
            (
                ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
                token_file.to_string_lossy().into_owned(),
            ),
            (
                ENV_TKE_ROLE_ARN,
                "qcs::cam::uin/100000000001:roleName/vod-events".to_owned(),
            ),
            (ENV_STS_ENDPOINT, sts.url()),
            (ENV_METADATA_URL, NO_METADATA.to_owned()),
        ];
        Tke { sts, dir, env }
    }

    fn env(&self) -> Env {
        Env::from_pairs(self.env.clone())
    }
}

impl Drop for Tke {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn tke_oidc_exchanges_the_token_file_at_sts_unsigned() {
    let role = RoleCredentials::numbered(7, SystemTime::now(), 2 * HOUR);
    let tke = Tke::start(StsAnswer::Credentials(role.clone()), "exchange").await;
    let p = TkeOidcProvider::new(tke.env());
    let c = p.provide().await.unwrap();
    assert_eq!(c.secret_id(), role.id);
    assert_eq!(c.secret_key().expose(), role.key);
    assert_eq!(c.token().unwrap().expose(), role.token);
    assert_eq!(c.expiration(), Some(role.expires));

    let seen = tke.sts.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("authorization"), Some("SKIP"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-tc-action"), Some("AssumeRoleWithWebIdentity"));
    assert_eq!(r.header("x-tc-version"), Some("2018-08-13"));
    assert_eq!(r.header("x-tc-region"), Some("ap-guangzhou"));
    let ts: u64 = r.header("x-tc-timestamp").unwrap().parse().unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ts.abs_diff(now) < 600, "{ts} vs {now}");
    assert!(r.header("x-tc-token").is_none());
    assert_eq!(r.body["ProviderId"], "tke-oidc-provider");
    assert_eq!(r.body["WebIdentityToken"], "eyJ.first-oidc-token.sig");
    assert_eq!(
        r.body["RoleArn"],
        "qcs::cam::uin/100000000001:roleName/vod-events"
    );
    assert_eq!(r.body["DurationSeconds"], 7200);
    let session = r.body["RoleSessionName"].as_str().unwrap();
    assert!(session.starts_with("vod-events-"), "{session}");

    // TKE rotates the file: every refresh reads it again.
    std::fs::write(tke.dir.join("token"), "eyJ.second-oidc-token.sig").unwrap();
    p.provide().await.unwrap();
    assert_eq!(
        tke.sts.requests()[1].body["WebIdentityToken"],
        "eyJ.second-oidc-token.sig"
    );
    assert!(!format!("{p:?}").contains("oidc-token"));
}

#[tokio::test]
async fn sts_refusals_keep_code_message_and_request_id_and_never_a_secret() {
    let tke = Tke::start(
        StsAnswer::Refusal {
            code: "InvalidParameter.WebIdentityTokenError".into(),
            message: "WebIdentityToken eyJ.first-oidc-token.sig has expired".into(),
        },
        "refusal",
    )
    .await;
    let e = TkeOidcProvider::new(tke.env()).provide().await.unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e:?}");
    let text = format!("{e} {e:?}");
    for part in [
        "InvalidParameter.WebIdentityTokenError",
        "has expired",
        STS_REQUEST_ID,
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert!(!text.contains("first-oidc-token"), "{text}");

    tke.sts.set_answer(StsAnswer::Refusal {
        code: "InternalError.SystemError".into(),
        message: "try later".into(),
    });
    let e = TkeOidcProvider::new(tke.env()).provide().await.unwrap_err();
    assert!(
        e.is_retryable() && e.to_string().contains(STS_REQUEST_ID),
        "{e}"
    );

    tke.sts.set_answer(StsAnswer::Status(502));
    let e = TkeOidcProvider::new(tke.env()).provide().await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("502") && !text.contains("LEAKED"), "{text}");
}

#[tokio::test]
async fn an_unreachable_sts_is_unavailable_once_tke_is_configured() {
    let mut tke = Tke::start(StsAnswer::Status(500), "unreachable").await;
    for (name, value) in &mut tke.env {
        if *name == ENV_STS_ENDPOINT {
            *value = "http://127.0.0.1:1/".into();
        }
    }
    let e = bounded(TkeOidcProvider::new(tke.env()).provide())
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
}

// ----- the default chain -----

fn empty_home(name: &str) -> String {
    let home = std::env::temp_dir().join(format!(
        "vod-events-roles-home-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&home).unwrap();
    home.to_string_lossy().into_owned()
}

#[tokio::test]
async fn the_default_chain_finds_the_cvm_role_after_env_and_profile() {
    let role = RoleCredentials::numbered(1, SystemTime::now(), HOUR);
    let meta = FakeMetadata::start(Some(ROLE), Some(role.clone())).await;
    let env = Env::from_pairs([("HOME", empty_home("cvm")), (ENV_METADATA_URL, meta.url())]);
    let c = DefaultChain::with_env(env).provide().await.unwrap();
    assert_eq!(c.secret_id(), role.id);
}

#[tokio::test]
async fn the_default_chain_takes_tke_oidc_before_the_nodes_cvm_role_and_stops_at_half_of_it() {
    let role = RoleCredentials::numbered(2, SystemTime::now(), HOUR);
    let tke = Tke::start(StsAnswer::Credentials(role.clone()), "chain").await;
    let mut pairs = tke.env.clone();
    pairs.push(("HOME", empty_home("tke")));
    let c = bounded(DefaultChain::with_env(Env::from_pairs(pairs.clone())).provide())
        .await
        .unwrap();
    assert_eq!(c.secret_id(), role.id);

    // In a TKE pod the node's metadata service often answers too, with the node's role: the
    // pod's own OIDC role must win over it.
    let node = RoleCredentials::numbered(3, SystemTime::now(), HOUR);
    let meta = FakeMetadata::start(Some(ROLE), Some(node.clone())).await;
    pairs.retain(|(name, _)| *name != ENV_METADATA_URL);
    pairs.push((ENV_METADATA_URL, meta.url()));
    let c = bounded(DefaultChain::with_env(Env::from_pairs(pairs.clone())).provide())
        .await
        .unwrap();
    assert_eq!(c.secret_id(), role.id, "the pod's role, not the node's");
    assert_ne!(role.id, node.id);

    // Half a TKE configuration is an error, not a fall-through to the node's role.
    pairs.retain(|(name, _)| *name != ENV_TKE_ROLE_ARN);
    let e = bounded(DefaultChain::with_env(Env::from_pairs(pairs)).provide())
        .await
        .unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains(ENV_TKE_ROLE_ARN), "{e}");
}

// ----- refreshing, with the client and the fake VOD -----

/// The real clock moved by a settable offset; the fake VOD's clock is moved with it, so that
/// signatures stay inside its 5-minute window while hours pass for the credentials.
#[derive(Debug, Default)]
struct OffsetClock(AtomicI64);

impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + Duration::from_secs(self.0.load(Ordering::SeqCst) as u64)
    }
}

struct Rig {
    vod: FakeVod,
    meta: FakeMetadata,
    clock: Arc<OffsetClock>,
    client: Client,
}

impl Rig {
    async fn start() -> Rig {
        let clock = Arc::new(OffsetClock::default());
        let first = RoleCredentials::numbered(1, clock.now(), HOUR);
        let vod = FakeVod::start(FakeConfig {
            credentials: vec![FakeCredential::new(&first.id, &first.key)],
            required_token: Some(first.token.clone()),
            ..FakeConfig::fast()
        })
        .await
        .unwrap();
        let meta = FakeMetadata::start(Some(ROLE), Some(first)).await;
        let client = Client::builder()
            .endpoint(vod.endpoint())
            .credentials(cvm(&meta.url()))
            .retry_policy(quick_retries())
            .clock(clock.clone())
            .build()
            .unwrap();
        Rig {
            vod,
            meta,
            clock,
            client,
        }
    }

    fn advance(&self, by: Duration) {
        let offset = self
            .clock
            .0
            .fetch_add(by.as_secs() as i64, Ordering::SeqCst)
            + by.as_secs() as i64;
        self.vod.set_clock_offset(offset);
    }

    /// The metadata service hands out `next`; the VOD accepts only it from now on.
    fn rotate(&self, next: &RoleCredentials) {
        self.meta.set_credentials(next.clone());
        self.vod.update_config(|c| {
            c.credentials = vec![FakeCredential::new(&next.id, &next.key)];
            c.required_token = Some(next.token.clone());
        });
    }

    async fn call(&self) {
        self.client.describe_events_state().await.unwrap();
    }

    fn token_refusals(&self) -> u64 {
        self.vod
            .stats()
            .errors
            .get("AuthFailure.TokenFailure")
            .copied()
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn role_credentials_are_refreshed_ahead_of_their_expiry() {
    let rig = Rig::start().await;
    rig.call().await;
    rig.call().await;
    assert_eq!(rig.meta.credential_calls(), 1, "kept while far from expiry");

    // 200 s before the expiry: inside the 5-minute refresh window, still usable.
    rig.advance(HOUR - Duration::from_secs(200));
    let second = RoleCredentials::numbered(2, rig.clock.now(), HOUR);
    rig.rotate(&second);
    rig.call().await;
    assert_eq!(rig.meta.credential_calls(), 2);
    assert_eq!(
        rig.token_refusals(),
        0,
        "refreshed before signing, not after a refusal"
    );
    rig.call().await;
    assert_eq!(rig.meta.credential_calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_signers_at_once_cause_one_metadata_fetch() {
    let rig = Arc::new(Rig::start().await);
    let spawn_all = |rig: &Arc<Rig>| {
        (0..16)
            .map(|_| {
                let rig = rig.clone();
                tokio::spawn(async move { rig.client.describe_events_state().await })
            })
            .collect::<Vec<_>>()
    };

    // Nothing cached: every signer waits for the one fetch, held until all have asked.
    rig.meta.hold();
    let tasks = spawn_all(&rig);
    wait_until("the first fetch", || rig.meta.credential_calls() == 1).await;
    rig.meta.release();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(rig.meta.credential_calls(), 1);
    assert_eq!(rig.meta.list_calls(), 1);

    // In the refresh window: one signer refreshes, the others sign with the current set.
    rig.advance(HOUR - Duration::from_secs(200));
    let second = RoleCredentials::numbered(2, rig.clock.now(), HOUR);
    rig.meta.set_credentials(second.clone());
    rig.vod
        .add_credential(FakeCredential::new(&second.id, &second.key));
    rig.vod.set_required_token(None);
    rig.meta.hold();
    let tasks = spawn_all(&rig);
    wait_until("the refresh", || rig.meta.credential_calls() == 2).await;
    rig.meta.release();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(rig.meta.credential_calls(), 2);
}

#[tokio::test]
async fn a_refused_token_drops_the_cached_set_and_the_call_succeeds_with_a_fresh_one() {
    let rig = Rig::start().await;
    rig.call().await;
    // The token is revoked early (the client's set is still an hour from expiry): the VOD
    // still knows the old SecretId but refuses its token.
    let second = RoleCredentials::numbered(2, rig.clock.now(), HOUR);
    rig.meta.set_credentials(second.clone());
    rig.vod
        .add_credential(FakeCredential::new(&second.id, &second.key));
    rig.vod.set_required_token(Some(second.token.clone()));
    rig.call().await;
    assert_eq!(rig.token_refusals(), 1);
    assert_eq!(rig.meta.credential_calls(), 2);
    rig.call().await;
    assert_eq!(rig.meta.credential_calls(), 2);
}

#[tokio::test]
async fn a_failed_refresh_keeps_signing_with_the_credentials_still_valid() {
    let rig = Rig::start().await;
    rig.call().await;
    rig.meta.set_status(Some(500));
    rig.advance(HOUR - Duration::from_secs(200));
    rig.call().await;
    assert_eq!(rig.meta.credential_calls(), 1, "the listing failed first");
    assert_eq!(rig.meta.list_calls(), 2);
    // Not asked again before RETRY_REFRESH_AFTER.
    rig.call().await;
    assert_eq!(rig.meta.list_calls(), 2);
    rig.advance(RETRY_REFRESH_AFTER);
    rig.call().await;
    assert_eq!(rig.meta.list_calls(), 3);

    // The service is back: the next try refreshes, and the new set is signed with.
    rig.meta.set_status(None);
    let second = RoleCredentials::numbered(2, rig.clock.now(), HOUR);
    rig.rotate(&second);
    rig.advance(RETRY_REFRESH_AFTER);
    rig.call().await;
    assert_eq!(rig.meta.credential_calls(), 2);
    assert_eq!(rig.token_refusals(), 0);

    // Expired with the service down: a retryable credentials error, with no secret in it.
    rig.meta.set_status(Some(500));
    rig.advance(2 * HOUR);
    let e = rig.client.describe_events_state().await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains("LEAKED") && !text.contains(&second.key),
        "{text}"
    );
}

// ----- poll -----

#[tokio::test]
async fn poll_drains_a_queue_with_the_keys_of_a_cvm_role() {
    let role = RoleCredentials::numbered(1, SystemTime::now(), HOUR);
    let vod = FakeVod::start(FakeConfig {
        credentials: vec![FakeCredential::new(&role.id, &role.key)],
        required_token: Some(role.token.clone()),
        pull_hold: Duration::from_millis(100),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    vod.push_samples(None, 12);
    let meta = FakeMetadata::start(Some(ROLE), Some(role.clone())).await;
    let out = run(poll(&["--endpoint", &vod.endpoint(), "--max-events", "12"])
        .env(ENV_METADATA_URL, meta.url()))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out.stdout).len(), 12);
    let stats = vod.stats();
    assert_eq!(stats.confirmed, 12);
    assert_eq!(stats.auth_failures, 0);
    assert!(stats.requests_with_token > 0);
    assert!(meta.credential_calls() >= 1);
    for secret in [&role.key, &role.token] {
        assert!(!out.stderr.contains(secret.as_str()), "{}", out.stderr);
        assert!(!out.stdout.contains(secret.as_str()));
    }
}

#[tokio::test]
async fn poll_without_any_credentials_names_every_source() {
    let out = run(&mut poll(&[
        "--endpoint",
        "http://127.0.0.1:9",
        "--max-events",
        "1",
    ]))
    .await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    for part in ["TENCENTCLOUD_SECRET_ID", "CVM", "TKE_ROLE_ARN"] {
        assert!(out.stderr.contains(part), "{part}: {}", out.stderr);
    }
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
}
