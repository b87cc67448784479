//! Test harness: starts the real `pictor serve` binary on an ephemeral loopback port and talks
//! plain HTTP/1.1 to it over a TcpStream (so tests can send paths no client library would).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The read-only test corpus (`../shared/corpus` beside the repo, or $PICTOR_CORPUS).
pub fn corpus() -> PathBuf {
    if let Ok(dir) = std::env::var("PICTOR_CORPUS") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for candidate in [
        manifest.join("../shared/corpus"),
        manifest.join("../../shared/corpus"),
    ] {
        if candidate.is_dir() {
            return candidate.canonicalize().unwrap();
        }
    }
    panic!("test corpus not found: set PICTOR_CORPUS");
}

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `pictor serve --bind 127.0.0.1:0` with only the given environment (plus PATH).
    pub fn start(env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pictor"));
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start pictor");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no listen line, got {line:?}"));
        Server { child, addr }
    }

    /// Corpus root, unsafe URLs allowed, the given extra settings.
    pub fn corpus(extra: &[(&str, &str)]) -> Server {
        let root = corpus();
        let root = root.to_str().unwrap().to_string();
        let mut env: Vec<(&str, &str)> = vec![("FILE_LOADER_ROOT_PATH", &root)];
        env.extend_from_slice(extra);
        Server::start(&env)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[])
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        for (k, v) in headers {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        self.raw(raw.as_bytes(), method == "HEAD")
    }

    /// Sends raw request bytes and parses the response.
    pub fn raw(&self, request: &[u8], head: bool) -> Response {
        let mut stream = TcpStream::connect(self.addr).unwrap();
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
        let img = image::load_from_memory(&self.body)
            .unwrap_or_else(|e| panic!("body is not an image ({e}): {:?}", self.header("content-type")));
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
