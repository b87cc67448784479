//! The S3-compatible test server (moto, through scripts/s3-test-server.sh) and helpers to seed
//! it, shared by the tests that need S3 (`#[path]`-included, so only they build it).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Where an S3 server is and the credentials it accepts.
#[derive(Clone)]
pub struct S3Endpoint {
    pub url: String,
    pub access_key: String,
    pub secret_key: String,
}

/// A moto server started by scripts/s3-test-server.sh; killed on drop.
pub struct S3Server {
    child: Option<Child>,
    pub endpoint: S3Endpoint,
    port: u16,
    auth: bool,
}

impl S3Server {
    /// `port` 0 picks a free one. Without `auth`, any credentials are accepted (so a restart
    /// keeps the keys pictor was started with).
    pub fn start(port: u16, auth: bool) -> S3Server {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/s3-test-server.sh");
        let mut child = Command::new(script)
            .arg(port.to_string())
            .env("PICTOR_S3_AUTH", if auth { "1" } else { "0" })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scripts/s3-test-server.sh");
        let mut values = HashMap::new();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let _ = child.kill();
                panic!("the S3 test server exited before it was ready (is python3 with venv available?)");
            }
            let line = line.trim();
            if line == "PICTOR_S3_READY" {
                break;
            }
            if let Some((k, v)) = line.split_once('=') {
                values.insert(k.to_string(), v.to_string());
            }
        }
        let url = values["PICTOR_S3_ENDPOINT"].clone();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        S3Server {
            child: Some(child),
            endpoint: S3Endpoint {
                url,
                access_key: values["PICTOR_S3_ACCESS_KEY"].clone(),
                secret_key: values["PICTOR_S3_SECRET_KEY"].clone(),
            },
            port,
            auth,
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: moto keeps nothing).
    pub fn restart(&mut self) {
        self.kill();
        let again = S3Server::start(self.port, self.auth);
        self.endpoint = again.endpoint.clone();
        self.child = Some(again.into_child());
    }

    fn into_child(mut self) -> Child {
        self.child.take().unwrap()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The S3 server for tests that do not kill it: $PICTOR_S3_ENDPOINT (with
/// $PICTOR_S3_ACCESS_KEY / $PICTOR_S3_SECRET_KEY) when set, else one started for the test.
pub fn s3() -> (S3Endpoint, Option<S3Server>) {
    if let Ok(url) = std::env::var("PICTOR_S3_ENDPOINT") {
        let var = |k: &str| {
            std::env::var(k).unwrap_or_else(|_| panic!("{k} must be set with PICTOR_S3_ENDPOINT"))
        };
        return (
            S3Endpoint {
                url,
                access_key: var("PICTOR_S3_ACCESS_KEY"),
                secret_key: var("PICTOR_S3_SECRET_KEY"),
            },
            None,
        );
    }
    let server = S3Server::start(0, true);
    (server.endpoint.clone(), Some(server))
}

/// A bucket name no other test (or run against a shared server) uses.
pub fn unique_bucket(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

pub fn sdk(endpoint: &S3Endpoint) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&endpoint.url)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &endpoint.access_key,
            &endpoint.secret_key,
            None,
            None,
            "test",
        ))
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

pub fn seed(endpoint: &S3Endpoint, bucket: &str, objects: &[(&str, &[u8])]) {
    let client = sdk(endpoint);
    block_on(async {
        client.create_bucket().bucket(bucket).send().await.unwrap();
        for (key, body) in objects {
            client
                .put_object()
                .bucket(bucket)
                .key(*key)
                .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()))
                .send()
                .await
                .unwrap();
        }
    });
}
