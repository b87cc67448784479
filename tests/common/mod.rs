//! Test harness: starts the real `pictor serve` binary on an ephemeral loopback port and talks
//! plain HTTP/1.1 to it over a TcpStream (so tests can send paths no client library would).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The read-only test corpus: the repository's `tests/data/corpus`, or $PICTOR_CORPUS when set
/// (another copy with the same layout). Canonical, because the server is given it as a loader root.
pub fn corpus() -> PathBuf {
    let dir = match std::env::var_os("PICTOR_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus"),
    };
    dir.canonicalize()
        .unwrap_or_else(|e| panic!("test corpus {}: {e}", dir.display()))
}

/// The binary under test: cargo's own build, or $PICTOR_TEST_BIN (a private copy, for when
/// several worktrees share one target directory and another build may replace cargo's).
pub fn binary() -> PathBuf {
    std::env::var_os("PICTOR_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pictor")))
}

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// The `/metrics` listener, when METRICS_BIND was given.
    pub metrics_addr: Option<SocketAddr>,
}

impl Server {
    /// Starts `pictor serve --bind 127.0.0.1:0` with only the given environment (plus PATH).
    pub fn start(env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(binary());
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // The start-up warnings about Thumbor's unsafe defaults are tested in tests/startup.rs;
            // here they would only repeat for every server started.
            .env("RUST_LOG", "warn,pictor::startup=error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start pictor");
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut metrics_addr = None;
        let addr = loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                panic!("pictor exited before listening");
            }
            let url = line.trim().rsplit("http://").next().unwrap_or("");
            if line.starts_with("pictor metrics on") {
                metrics_addr = url.trim_end_matches("/metrics").parse().ok();
            } else if line.starts_with("pictor listening on") {
                break url
                    .parse()
                    .unwrap_or_else(|_| panic!("bad listen line {line:?}"));
            }
        };
        Server {
            child,
            addr,
            metrics_addr,
        }
    }

    /// Corpus root, unsafe URLs allowed, the given extra settings.
    pub fn corpus(extra: &[(&str, &str)]) -> Server {
        let root = corpus();
        let root = root.to_str().unwrap().to_string();
        let mut env: Vec<(&str, &str)> = vec![("FILE_LOADER_ROOT_PATH", &root)];
        env.extend_from_slice(extra);
        Server::start(&env)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident memory so far (VmHWM), in KiB; 0 where /proc cannot tell.
    pub fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    /// Sends SIGTERM and waits up to `limit` for the exit status; `None` (and SIGKILL) if the
    /// server is still running then.
    pub fn terminate_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[])
    }

    /// `pictor_background_paths_total{outcome="<outcome>"}` from /metrics (METRICS_BIND).
    pub fn background_count(&self, outcome: &str) -> u64 {
        let metrics = Server::attach(self.metrics_addr.expect("METRICS_BIND"));
        let text = String::from_utf8(metrics.get("/metrics").body).unwrap();
        let prefix = format!("pictor_background_paths_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in /metrics"))
            .parse()
            .unwrap()
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        self.send(method, path, headers, b"")
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        for (k, v) in headers {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        raw.push_str("\r\n");
        let mut bytes = raw.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes, method == "HEAD")
    }

    /// Sends raw request bytes and parses the response.
    pub fn raw(&self, request: &[u8], head: bool) -> Response {
        send_raw(self.addr, request, head)
    }
}

fn send_raw(addr: SocketAddr, request: &[u8], head: bool) -> Response {
    {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).unwrap();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let mut body = Vec::new();
        let length = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        if !head && status != 304 {
            match length {
                Some(n) => {
                    body.resize(n, 0);
                    reader.read_exact(&mut body).unwrap();
                }
                None => {
                    reader.read_to_end(&mut body).unwrap();
                }
            }
        }
        Response {
            status,
            headers,
            body,
        }
    }
}

/// A client for a server someone else started (its child is not owned).
pub struct Client {
    addr: SocketAddr,
}

impl Server {
    pub fn attach(addr: SocketAddr) -> Client {
        Client { addr }
    }
}

impl Client {
    pub fn get(&self, path: &str) -> Response {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        send_raw(self.addr, raw.as_bytes(), false)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Decoded size of the image body (all formats the `image` crate reads).
    pub fn image_size(&self) -> (u32, u32) {
        let img = image::load_from_memory(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not an image ({e}): {:?}",
                self.header("content-type")
            )
        });
        (img.width(), img.height())
    }

    pub fn gif_frames(&self) -> Vec<(u32, u32, u16)> {
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(&self.body[..]).unwrap();
        let mut frames = Vec::new();
        while let Some(frame) = decoder.read_next_frame().unwrap() {
            frames.push((u32::from(frame.width), u32::from(frame.height), frame.delay));
        }
        frames
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Writes `bytes` as `dir/name` (a test's loader root).
pub fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// What a `pictor` command run to its end printed.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `pictor <args>` with nothing of this environment but PATH (RUST_LOG=error) and `env`.
pub fn run_pictor(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
