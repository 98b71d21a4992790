//! The broker as a process: shutdown on SIGTERM is bounded by the drain deadline, and a second
//! signal exits at once. Each test runs `broker serve` (simulator mode, no plugins) with its own
//! data directory on a port the kernel picks, read back from the start-up log line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A broker process, killed on drop if a test failed before it exited.
struct Running {
    child: Child,
    addr: SocketAddr,
    data: tempfile::TempDir,
    _plugins: tempfile::TempDir,
}

impl Running {
    /// Starts `broker serve` with `limits` as the `[limits]` table of its config file.
    fn start(limits: &str) -> Self {
        let (data, plugins) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let config = data.path().join("broker.toml");
        std::fs::write(&config, format!("[limits]\n{limits}\n")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_broker"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .args(["--listen", "127.0.0.1:0", "--simulators", "true"])
            .arg("--data-dir")
            .arg(data.path())
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("BROKER_SECRETS_KEY")
            .env_remove("BROKER_DATABASE")
            .env_remove("BROKER_CACHE_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run the broker binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads the log to its end, so the broker never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("the broker did not log its listening address within 60 s");
            }
        };
        Self {
            child,
            addr,
            data,
            _plugins: plugins,
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// The exit status, if the process exits within `within`.
    fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// A connection that sent part of a request head and nothing more.
    fn slowloris(&self) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nx-slow: ")
            .unwrap();
        stream
    }

    /// A request in flight: an admin call whose body never completes.
    fn partial_body(&self) -> TcpStream {
        let key = std::fs::read_to_string(self.data.path().join(broker::bootstrap::ADMIN_KEY_FILE))
            .unwrap();
        let mut stream = TcpStream::connect(self.addr).unwrap();
        let head = format!(
            "POST /admin/tenants HTTP/1.1\r\nhost: broker\r\nauthorization: Bearer {}\r\n\
             content-length: 100\r\n\r\n{{\"name\":",
            key.trim()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream
    }

    fn assert_healthy(&self) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: broker\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The address in `broker listening on http://ADDR`.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("broker listening on http://")?;
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    addr.parse().ok()
}

#[test]
fn sigterm_exits_within_the_drain_deadline_despite_slow_clients() {
    let mut broker = Running::start("header_read_secs = 600\nbody_read_secs = 600\ndrain_secs = 2");
    broker.assert_healthy();
    let _slow = broker.slowloris();
    let _in_flight = broker.partial_body();
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    broker.signal("TERM");
    let status = broker
        .wait_exit(Duration::from_secs(20))
        .expect("the broker exits after SIGTERM although clients hold connections");
    let took = signalled.elapsed();
    assert!(status.success(), "a drained shutdown exits 0: {status}");
    assert!(
        took >= Duration::from_millis(1_500),
        "the request in flight was given the drain time ({took:?})"
    );
}

#[test]
fn a_second_signal_exits_at_once() {
    let mut broker =
        Running::start("header_read_secs = 600\nbody_read_secs = 600\ndrain_secs = 600");
    broker.assert_healthy();
    let _slow = broker.slowloris();
    let _in_flight = broker.partial_body();
    std::thread::sleep(Duration::from_millis(300));
    broker.signal("TERM");
    assert!(
        broker.wait_exit(Duration::from_millis(700)).is_none(),
        "the first signal drains (a request is in flight)"
    );
    broker.signal("INT");
    let status = broker
        .wait_exit(Duration::from_secs(5))
        .expect("the second signal ends the process at once");
    assert!(
        !status.success(),
        "an undrained exit is not a success: {status}"
    );
}
