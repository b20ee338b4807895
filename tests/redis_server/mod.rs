//! Real `redis-server` processes for the tests, on free ports, killed when dropped. A server
//! can be killed and started again on the same port to test faults. `scripts/test.sh`
//! installs `redis-server` when the machine lacks it.

#![allow(dead_code)] // each test binary uses its own part

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A free TCP port on loopback (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn temp_dir(what: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "guichet-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// One server shared by a whole test binary (tests isolate themselves with
/// [`unique_prefix`]); the watchdog stops it when the binary exits.
pub fn shared() -> &'static RedisServer {
    static SHARED: std::sync::OnceLock<RedisServer> = std::sync::OnceLock::new();
    SHARED.get_or_init(RedisServer::start)
}

/// A key prefix no other test uses, so tests can share a server.
pub fn unique_prefix(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "t{}-{}-{what}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Self {
        let mut server = Self {
            port: free_port(),
            dir: temp_dir("redis"),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
        };
        server.run();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn node(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts `redis-server` under a small shell watchdog that stops it when this test process
    /// ends, however it ends, so no server outlives the tests.
    fn run(&mut self) {
        let watchdog = format!(
            "redis-server \"$@\" & r=$!; trap 'kill $r 2>/dev/null; wait $r; exit 0' TERM; \
             while kill -0 {pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 0.3; done; kill $r 2>/dev/null; wait $r; \
             kill -0 {pid} 2>/dev/null || rm -rf '{dir}'",
            pid = std::process::id(),
            dir = self.dir.display()
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(watchdog)
            .arg("redis-watchdog")
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--save")
            .arg("")
            .arg("--appendonly")
            .arg("no")
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/test.sh installs it)");
        self.child = Some(child);
        self.wait_until_up();
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.cli(&["PING"]).is_some_and(|out| out.contains("PONG")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Runs `redis-cli -p PORT args...`; its output, if it ran.
    pub fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The server goes away (its connections drop, nothing is saved).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// The server comes back on the same port (empty: nothing was saved).
    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Three masters in a Redis Cluster, slots spread by `redis-cli --cluster create`.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-node-timeout",
                    "2000",
                ])
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let mut args = vec!["--cluster", "create"];
        args.extend(addresses.iter().map(String::as_str));
        args.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        let created = nodes[0].cli(&args).unwrap_or_default();
        assert!(
            created.contains("[OK]"),
            "cluster creation failed: {created}"
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let all_ok = nodes.iter().all(|n| {
                n.cli(&["CLUSTER", "INFO"])
                    .is_some_and(|i| i.contains("cluster_state:ok"))
            });
            if all_ok {
                return Self { nodes };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the cluster did not reach cluster_state:ok");
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::node).collect()
    }
}
