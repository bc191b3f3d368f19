//! The providers and the chain, end to end on files in a temporary directory.

use std::path::PathBuf;

use super::*;

/// A runtime per call: the chain's network steps need Tokio's reactor.
fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Nothing listens on port 1: the ECS RAM role step of a chain finds no metadata service at
/// once, and no test ever asks the real one at 100.100.100.200.
const NO_METADATA: &str = "http://127.0.0.1:1/";

/// A fixed environment with the metadata service pointed at [`NO_METADATA`].
fn test_env<const N: usize>(pairs: [(&str, &str); N]) -> Env {
    Env::from_pairs(pairs.into_iter().chain([(ENV_METADATA_URL, NO_METADATA)]))
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vod-events-ali-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("credentials");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn environment_wins_and_carries_the_token() {
    let env = test_env([
        (ENV_ACCESS_KEY_ID, "LTAIid"),
        (ENV_ACCESS_KEY_SECRET, "SECRETVALUE"),
        (ENV_SECURITY_TOKEN, "TOKENVALUE"),
    ]);
    let c = block(DefaultChain::with_env(env).provide()).unwrap();
    assert_eq!(c.access_key_id(), "LTAIid");
    assert_eq!(c.access_key_secret().expose(), "SECRETVALUE");
    assert_eq!(c.security_token().map(Secret::expose), Some("TOKENVALUE"));
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("SECRETVALUE") && !shown.contains("TOKENVALUE"),
        "{shown}"
    );
}

#[test]
fn half_an_environment_stops_the_chain() {
    let env = test_env([(ENV_ACCESS_KEY_ID, "LTAIid")]);
    let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains(ENV_ACCESS_KEY_SECRET), "{e}");
    let env = test_env([(ENV_SECURITY_TOKEN, "T")]);
    assert!(!block(EnvProvider::new(env).provide())
        .unwrap_err()
        .is_not_configured());
}

#[test]
fn profile_file_access_key_and_sts() {
    let path = temp_file(
        "ok",
        "[default]\nenable = true\ntype = access_key\naccess_key_id = LTAIfile\naccess_key_secret = FILESECRET\n\n[temp]\ntype = sts\naccess_key_id = STS.id\naccess_key_secret = s\nsecurity_token = TOK\n",
    );
    let env = test_env([(ENV_CREDENTIALS_FILE, path.to_str().unwrap())]);
    let c = block(DefaultChain::with_env(env).provide()).unwrap();
    assert_eq!(c.access_key_id(), "LTAIfile");
    assert_eq!(c.access_key_secret().expose(), "FILESECRET");
    assert!(c.security_token().is_none());
    let env = test_env([
        (ENV_CREDENTIALS_FILE, path.to_str().unwrap()),
        (ENV_PROFILE, "temp"),
    ]);
    let c = block(ProfileProvider::new(env).provide()).unwrap();
    assert_eq!(c.security_token().map(Secret::expose), Some("TOK"));
}

#[test]
fn the_home_file_is_found_and_its_absence_falls_through() {
    let path = temp_file(
        "home",
        "[default]\naccess_key_id = a\naccess_key_secret = b\n",
    );
    let home = path.parent().unwrap().join("home");
    std::fs::create_dir_all(home.join(".alibabacloud")).unwrap();
    std::fs::copy(&path, home.join(".alibabacloud/credentials")).unwrap();
    let env = test_env([("HOME", home.to_str().unwrap())]);
    assert_eq!(
        block(DefaultChain::with_env(env).provide())
            .unwrap()
            .access_key_id(),
        "a"
    );
    let env = test_env([("HOME", "/nonexistent-vod-events")]);
    let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
    assert!(matches!(e, CredentialsError::NoneFound { .. }), "{e}");
}

#[test]
fn broken_profiles_say_why_without_values() {
    for (name, text, want) in [
        (
            "nosec",
            "[other]\naccess_key_id = a\n",
            "no [default] section",
        ),
        ("half", "[default]\naccess_key_id = a\n", "needs both"),
        (
            "role",
            "[default]\ntype = ram_role_arn\nrole_arn = r\n",
            "ram_role_arn, which this version does not support",
        ),
        (
            "oidc",
            "[default]\ntype = oidc_role_arn\nrole_arn = r\n",
            "no oidc_provider_arn, oidc_token_file_path",
        ),
        (
            "sts",
            "[default]\ntype = sts\naccess_key_id = a\naccess_key_secret = HIDDEN\n",
            "security_token",
        ),
        (
            "bad",
            "[default\naccess_key_secret = HIDDEN\n",
            "not an INI file",
        ),
    ] {
        let path = temp_file(name, text);
        let env = test_env([(ENV_CREDENTIALS_FILE, path.to_str().unwrap())]);
        let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains(want), "{name}: {shown}");
        assert!(!shown.contains("HIDDEN"), "{name}: {shown}");
    }
    let env = test_env([(ENV_CREDENTIALS_FILE, "/nonexistent-vod-events/c")]);
    let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
    assert!(
        matches!(e, CredentialsError::Invalid { .. }),
        "a named file must exist: {e}"
    );
}

#[test]
fn the_chain_order_is_environment_oidc_profile_instance_role() {
    let file = temp_file(
        "order",
        "[default]\naccess_key_id = LTAIfile\naccess_key_secret = s\n",
    );
    let token = file.with_file_name("token");
    std::fs::write(&token, "eyJOIDCTOKEN\n").unwrap();
    let oidc = [
        (ENV_ROLE_ARN, "acs:ram::1:role/r"),
        (ENV_OIDC_PROVIDER_ARN, "acs:ram::1:oidc-provider/p"),
        (ENV_OIDC_TOKEN_FILE, token.to_str().unwrap()),
        (ENV_STS_ENDPOINT, NO_METADATA),
        (ENV_CREDENTIALS_FILE, file.to_str().unwrap()),
    ];
    // The environment's keys win over a configured OIDC role.
    let mut with_keys = oidc.to_vec();
    with_keys.extend([(ENV_ACCESS_KEY_ID, "LTAIenv"), (ENV_ACCESS_KEY_SECRET, "s")]);
    let c = block(DefaultChain::with_env(Env::from_pairs(with_keys)).provide()).unwrap();
    assert_eq!(c.access_key_id(), "LTAIenv");
    // A configured OIDC role comes before the profile file: STS not answering is its error,
    // retryable, without the token.
    let e = block(DefaultChain::with_env(test_env(oidc)).provide()).unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().starts_with("OIDC role:"), "{e}");
    assert!(!e.to_string().contains("OIDCTOKEN"), "{e}");
    // Without OIDC the file is read; without the file, the instance role is asked last.
    let c = block(
        DefaultChain::with_env(test_env([(ENV_CREDENTIALS_FILE, file.to_str().unwrap())]))
            .provide(),
    )
    .unwrap();
    assert_eq!(c.access_key_id(), "LTAIfile");
    let e =
        block(DefaultChain::with_env(test_env([("HOME", "/nonexistent-vod-events")])).provide())
            .unwrap_err();
    let CredentialsError::NoneFound { tried, .. } = &e else {
        panic!("{e}");
    };
    for step in ["environment", "OIDC role", "profile file", "ECS RAM role"] {
        assert!(tried.contains(step), "{step}: {tried}");
    }
    assert!(
        tried.find("OIDC role") < tried.find("profile file"),
        "{tried}"
    );
    assert!(
        tried.find("profile file") < tried.find("ECS RAM role"),
        "{tried}"
    );
}

#[test]
fn part_of_an_oidc_configuration_stops_the_chain_naming_what_is_missing() {
    let file = temp_file(
        "oidc-half",
        "[default]\naccess_key_id = LTAIfile\naccess_key_secret = s\n",
    );
    let e = block(
        DefaultChain::with_env(test_env([
            (ENV_ROLE_ARN, "acs:ram::1:role/r"),
            (ENV_CREDENTIALS_FILE, file.to_str().unwrap()),
        ]))
        .provide(),
    )
    .unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e}");
    let shown = e.to_string();
    assert!(
        shown.contains(ENV_OIDC_PROVIDER_ARN) && shown.contains(ENV_OIDC_TOKEN_FILE),
        "{shown}"
    );
    let e = block(OidcProvider::new(test_env([])).provide()).unwrap_err();
    assert!(e.is_not_configured(), "{e}");
    // A token file that is not there is the configuration's fault.
    let e = block(
        OidcProvider::new(test_env([
            (ENV_ROLE_ARN, "r"),
            (ENV_OIDC_PROVIDER_ARN, "p"),
            (ENV_OIDC_TOKEN_FILE, "/nonexistent-vod-events/token"),
        ]))
        .provide(),
    )
    .unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e}");
}

#[test]
fn the_instance_role_can_be_turned_off_and_a_closed_port_is_not_configured() {
    // Turned off: not configured without a request (no metadata URL override here, so a
    // request would go to 100.100.100.200; the switch is checked first).
    let off = Env::from_pairs([(ENV_ECS_METADATA_DISABLED, "true")]);
    let e = block(EcsRamRoleProvider::new(off).provide()).unwrap_err();
    assert!(e.is_not_configured(), "{e}");
    let e = block(EcsRamRoleProvider::new(test_env([])).provide()).unwrap_err();
    assert!(e.is_not_configured(), "{e}");
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
    let e = block(EcsRamRoleProvider::new(test_env([(ENV_ECS_METADATA, "no/such")])).provide())
        .unwrap_err();
    assert!(
        matches!(e, CredentialsError::Invalid { .. }),
        "a name that cannot be a role's is refused before any request: {e}"
    );
}

#[test]
fn a_profile_naming_a_role_needs_it() {
    let path = temp_file(
        "ecs",
        "[default]\ntype = ecs_ram_role\nrole_name = vod-role\n",
    );
    let e = block(
        DefaultChain::with_env(test_env([(ENV_CREDENTIALS_FILE, path.to_str().unwrap())]))
            .provide(),
    )
    .unwrap_err();
    assert!(
        e.is_retryable(),
        "no metadata service is an error here: {e}"
    );
    assert!(e.to_string().contains("type = ecs_ram_role"), "{e}");
    let off = Env::from_pairs([
        (ENV_CREDENTIALS_FILE, path.to_str().unwrap()),
        (ENV_ECS_METADATA_DISABLED, "true"),
    ]);
    let e = block(ProfileProvider::new(off).provide()).unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains(ENV_ECS_METADATA_DISABLED), "{e}");
}

#[test]
fn the_hint_names_every_source() {
    for needed in [
        ENV_ACCESS_KEY_ID,
        ENV_ACCESS_KEY_SECRET,
        ENV_ROLE_ARN,
        ENV_OIDC_PROVIDER_ARN,
        ENV_OIDC_TOKEN_FILE,
        ENV_CREDENTIALS_FILE,
        ".alibabacloud/credentials",
        "ECS",
    ] {
        assert!(NONE_FOUND_HINT.contains(needed), "{needed}");
    }
}

#[test]
fn providers_debug_shows_no_secret() {
    let env = test_env([
        (ENV_ACCESS_KEY_SECRET, "HIDDENSECRET"),
        (ENV_ROLE_ARN, "acs:ram::1:role/r"),
    ]);
    let shown = format!(
        "{:?} {:?} {:?}",
        DefaultChain::with_env(env.clone()),
        OidcProvider::new(env.clone()),
        EcsRamRoleProvider::new(env)
    );
    assert!(!shown.contains("HIDDENSECRET"), "{shown}");
}
