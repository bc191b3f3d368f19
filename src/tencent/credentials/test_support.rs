//! Helpers shared by the providers' unit tests (one copy instead of one per file).

use std::path::PathBuf;

pub(super) fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    futures::executor::block_on(f)
}

pub(super) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vod-events-creds-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(super) fn nowhere() -> PathBuf {
    PathBuf::from("/nonexistent/vod-events/credentials")
}
