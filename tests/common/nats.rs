//! A real `nats-server` with JetStream for the relay tests, one per test: on 127.0.0.1, a
//! port of its own and a store in a temporary directory. Without the binary the tests skip
//! with a message, except under `CI=true`, where they fail (CI installs it).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    extra: Vec<String>,
}

fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

impl NatsServer {
    /// Starts a server, or `None` (after saying why) when `nats-server` is not installed and
    /// this is not CI.
    pub fn start(test: &str) -> Option<NatsServer> {
        Self::start_with(test, &[])
    }

    /// Starts a server with extra flags (e.g. `--auth TOKEN`).
    pub fn start_with(test: &str, extra: &[&str]) -> Option<NatsServer> {
        if binary().is_none() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("nats-server is not installed, and CI=true: .ci/run installs it");
            }
            eprintln!(
                "skipping {test}: nats-server is not installed (apt-get install nats-server)"
            );
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "vod-events-nats-{test}-{}-{}",
            std::process::id(),
            fastrand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = NatsServer {
            child: None,
            port: 0,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.spawn(None);
        Some(server)
    }

    fn spawn(&mut self, port: Option<u16>) {
        let port_arg = port.map_or("-1".to_owned(), |p| p.to_string());
        let ports_dir = self.dir.join("ports");
        let _ = std::fs::remove_dir_all(&ports_dir);
        std::fs::create_dir_all(&ports_dir).unwrap();
        let child = Command::new(binary().unwrap())
            .args(["-js", "-a", "127.0.0.1", "-p", &port_arg, "-sd"])
            .arg(self.dir.join("store"))
            .arg("--ports_file_dir")
            .arg(&ports_dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.port = read_port(&ports_dir, child.id());
        self.child = Some(child);
        wait_until_accepting(self.port);
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `nats://127.0.0.1:PORT/prefix`, as `--to` takes it.
    pub fn to(&self, prefix: &str) -> String {
        format!("{}/{prefix}", self.url())
    }

    /// SIGKILL: no shutdown, no flush beyond what the server wrote already.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port;
        self.spawn(Some(port));
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fastrand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(7);
    h.finish() % 1_000_000
}

/// The port the server wrote to `<dir>/nats-server_<pid>.ports`.
fn read_port(dir: &Path, pid: u32) -> u16 {
    let file = dir.join(format!("nats-server_{pid}.ports"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                if let Some(url) = v["nats"][0].as_str() {
                    if let Some(port) = url.rsplit(':').next().and_then(|p| p.parse().ok()) {
                        return port;
                    }
                }
            }
        }
        assert!(Instant::now() < deadline, "nats-server wrote no ports file");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_until_accepting(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server does not accept");
        std::thread::sleep(Duration::from_millis(20));
    }
}
