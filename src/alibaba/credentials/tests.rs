//! The providers and the chain, end to end on files in a temporary directory.

use std::path::PathBuf;

use super::*;

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    futures::executor::block_on(f)
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
    let env = Env::from_pairs([
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
    let env = Env::from_pairs([(ENV_ACCESS_KEY_ID, "LTAIid")]);
    let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
    assert!(matches!(e, CredentialsError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains(ENV_ACCESS_KEY_SECRET), "{e}");
    let env = Env::from_pairs([(ENV_SECURITY_TOKEN, "T")]);
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
    let env = Env::from_pairs([(ENV_CREDENTIALS_FILE, path.to_str().unwrap())]);
    let c = block(DefaultChain::with_env(env).provide()).unwrap();
    assert_eq!(c.access_key_id(), "LTAIfile");
    assert_eq!(c.access_key_secret().expose(), "FILESECRET");
    assert!(c.security_token().is_none());
    let env = Env::from_pairs([
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
    let env = Env::from_pairs([("HOME", home.to_str().unwrap())]);
    assert_eq!(
        block(DefaultChain::with_env(env).provide())
            .unwrap()
            .access_key_id(),
        "a"
    );
    let env = Env::from_pairs([("HOME", "/nonexistent-vod-events")]);
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
            "[default]\ntype = ecs_ram_role\nrole_name = r\n",
            "ecs_ram_role",
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
        let env = Env::from_pairs([(ENV_CREDENTIALS_FILE, path.to_str().unwrap())]);
        let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains(want), "{name}: {shown}");
        assert!(!shown.contains("HIDDEN"), "{name}: {shown}");
    }
    let env = Env::from_pairs([(ENV_CREDENTIALS_FILE, "/nonexistent-vod-events/c")]);
    let e = block(DefaultChain::with_env(env).provide()).unwrap_err();
    assert!(
        matches!(e, CredentialsError::Invalid { .. }),
        "a named file must exist: {e}"
    );
}
