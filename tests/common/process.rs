//! A `latchkey` binary (the one cargo built for the tests) as a separate process, for what only
//! a real process shows: SIGKILL, start-up, its log.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `latchkey` process and everything it has printed.
pub struct Process {
    pub child: Child,
    pub url: String,
    log: Arc<Mutex<String>>,
    /// The threads copying stdout and stderr into `log`; joined on stop, so the log is whole.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Process {
    /// Starts the binary on a free loopback port with `data_dir`, extra environment first.
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Process {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command
            .env("LATCHKEY_DATA_DIR", data_dir)
            .env("LATCHKEY_LISTEN", "127.0.0.1:0")
            .env("LATCHKEY_HASH_WORKERS", "1")
            .env("LATCHKEY_LOGINS_PER_ADDRESS_PER_MINUTE", "0")
            .env("LATCHKEY_REGISTRATIONS_PER_ADDRESS_PER_HOUR", "0")
            .env("LATCHKEY_SENDS_PER_ADDRESS_PER_HOUR", "0")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the latchkey binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (found_url, url_seen) = std::sync::mpsc::channel();
        let mut readers = Vec::new();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            let found_url = found_url.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("serving on ").nth(1) {
                        let url = rest.split_whitespace().next().unwrap_or_default();
                        let _ = found_url.send(url.to_owned());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            }));
        }
        let url = url_seen
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no start-up line; log: {}", log.lock().unwrap()));
        Process {
            child,
            url,
            log,
            readers,
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub fn kill(&mut self) {
        // Child::kill sends SIGKILL on Unix: no shutdown code runs.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        // The process has exited; read what it wrote to the end.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
