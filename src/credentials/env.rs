//! The injected environment ([`Env`]): what providers read instead of the process's own, so
//! tests never see the real environment or home directory.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// The environment variables and home directory a provider sees. [`Env::process`] reads the
/// real ones; [`Env::from_pairs`] gives tests a fixed set.
#[derive(Clone)]
pub struct Env {
    source: EnvSource,
}

#[derive(Clone)]
enum EnvSource {
    Process,
    Fixed(Arc<HashMap<String, String>>),
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets: show names only.
        match &self.source {
            EnvSource::Process => f.write_str("Env(process)"),
            EnvSource::Fixed(map) => {
                let mut keys: Vec<_> = map.keys().collect();
                keys.sort();
                f.debug_tuple("Env").field(&keys).finish()
            }
        }
    }
}

impl Env {
    /// The real process environment.
    pub fn process() -> Self {
        Env {
            source: EnvSource::Process,
        }
    }

    /// A fixed environment, e.g. `Env::from_pairs([("HOME", "/tmp/x")])`.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            source: EnvSource::Fixed(Arc::new(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            )),
        }
    }

    /// A variable's value; unset, empty and non-UTF-8 values all count as absent.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.source {
            EnvSource::Process => std::env::var(name).ok(),
            EnvSource::Fixed(map) => map.get(name).cloned(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from)
    }
}
