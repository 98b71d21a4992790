//! A `broker serve` process for the process-level tests: simulator mode, its own data and plugin
//! directories, a port the kernel picks (read back from the start-up log line), killed on drop.

#![allow(dead_code, reason = "each test binary uses a part of it")]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest the broker may take to start (a cold cache compiles the components first).
const START: Duration = Duration::from_secs(300);

/// A running broker process.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: tempfile::TempDir,
    _plugins: tempfile::TempDir,
}

impl Running {
    /// Starts `broker serve` with the built-in `plugins` (by name, e.g. `qcloud`) and `limits`
    /// as the `[limits]` table of its config file.
    pub fn start(plugins: &[&str], limits: &str) -> Self {
        let (data, plugin_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for name in plugins {
            let file = format!("{name}.wasm");
            std::fs::copy(
                Path::new(broker::config::BUILTIN_PLUGIN_DIR).join(&file),
                plugin_dir.path().join(&file),
            )
            .unwrap();
        }
        let config = data.path().join("broker.toml");
        std::fs::write(&config, format!("[limits]\n{limits}\n")).unwrap();
        // Shared by the process tests, so only the first start compiles a component.
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("process-tests-cache");
        let mut child = Command::new(env!("CARGO_BIN_EXE_broker"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .args(["--listen", "127.0.0.1:0", "--simulators", "true"])
            .arg("--data-dir")
            .arg(data.path())
            .arg("--plugin-dir")
            .arg(plugin_dir.path())
            .arg("--cache-dir")
            .arg(&cache)
            .env("RUST_LOG", "info")
            .env("BROKER_LOG_FORMAT", "text")
            .env("NO_COLOR", "1")
            .env_remove("BROKER_SECRETS_KEY")
            .env_remove("BROKER_DATABASE")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run the broker binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads the log to its end, so the broker never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv_timeout(START) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("the broker did not log its listening address within {START:?}");
            }
        };
        Self {
            child,
            addr,
            data,
            _plugins: plugin_dir,
        }
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A key the first start wrote (`broker::bootstrap::*_KEY_FILE`).
    pub fn key(&self, file: &str) -> String {
        std::fs::read_to_string(self.data.path().join(file))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Sends the signal `name` (e.g. `TERM`, `INT`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// The exit status, if the process exits within `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
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
