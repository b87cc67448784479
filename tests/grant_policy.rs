//! Browser-to-S3 upload grants (`POST /uploads/grants`) against a server that enforces them:
//! s3s-fs (an S3 server over a folder, from the `s3s` project), started here on 127.0.0.1 with
//! the same credentials pictor signs with. moto, the other tests' S3, accepts any form upload;
//! s3s checks the SigV4 signature of the POST policy, its expiration, every condition (`eq`,
//! `starts-with`, `content-length-range`) and that every form field is covered by one. So a
//! grant from the real binary lets an allowed image in, and each way out of the grant (too
//! large, another key prefix, another content type, expired, a forged signature) is refused
//! by the server with nothing stored.
//!
//! What s3s does not do, and the test therefore does not rely on: it does not substitute
//! `${filename}` in the `key` field (S3 does), so the form here sends a concrete key under the
//! grant's prefix; and its file system store cannot hold keys with a leading `/`, so the
//! storage's root path is `st`, not thumbor-aws's `/st`.

mod common;
use common::{corpus, Server};

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const ACCESS_KEY: &str = "AKIAPICTORGRANTTEST";
const SECRET_KEY: &str = "pictor/grant/test/secret/key/0123456789";
const BUCKET: &str = "originals";
const APP_KEY: &str = "0123456789abcdef0123";
/// UPLOAD_MAX_SIZE: the grant's `content-length-range` maximum.
const MAX_BYTES: usize = 8000;

/// s3s-fs serving a temporary folder (each bucket a folder in it) on 127.0.0.1.
struct S3sFs {
    addr: SocketAddr,
    root: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl S3sFs {
    fn start() -> S3sFs {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let service = {
            let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
            let mut builder = s3s::service::S3ServiceBuilder::new(fs);
            builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            builder.build()
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            let http =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let connection = http
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(connection);
            }
        });
        S3sFs {
            addr,
            root,
            _runtime: runtime,
        }
    }

    /// Every file the bucket holds: (key, bytes).
    fn objects(&self) -> Vec<(String, Vec<u8>)> {
        fn walk(dir: &Path, base: &Path, found: &mut Vec<(String, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, base, found);
                } else {
                    let key = path.strip_prefix(base).unwrap().display().to_string();
                    found.push((key, std::fs::read(&path).unwrap()));
                }
            }
        }
        let mut found = Vec::new();
        let bucket: PathBuf = self.root.path().join(BUCKET);
        walk(&bucket, &bucket, &mut found);
        found.sort();
        found
    }
}

/// pictor with the s3s-fs bucket as its storage of originals.
fn pictor(s3: &S3sFs) -> Server {
    let endpoint = format!("http://{}", s3.addr);
    let loader_root = tempfile::tempdir().unwrap().keep();
    let keys = format!("blog:{APP_KEY}");
    let max = MAX_BYTES.to_string();
    let loader_root = loader_root.display().to_string();
    Server::start(&[
        ("STORAGE", "s3"),
        ("AWS_STORAGE_BUCKET_NAME", BUCKET),
        ("AWS_STORAGE_ROOT_PATH", "st"),
        ("AWS_STORAGE_S3_ENDPOINT_URL", &endpoint),
        ("AWS_STORAGE_S3_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_STORAGE_S3_SECRET_ACCESS_KEY", SECRET_KEY),
        ("SIGNING_API_KEYS", &keys),
        ("UPLOAD_MAX_SIZE", &max),
        ("FILE_LOADER_ROOT_PATH", &loader_root),
    ])
}

/// A grant from pictor: the answer's JSON.
fn grant(server: &Server) -> Value {
    let bearer = format!("Bearer {APP_KEY}");
    let r = server.send(
        "POST",
        "/uploads/grants",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

/// An HTML form's POST to `url`: `fields` in order, then the file; the status and the whole
/// answer.
fn form_post(url: &str, fields: &[(String, String)], file: &[u8]) -> (u16, String) {
    let boundary = "pictorGrantBoundary7";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cat.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());

    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; \
         boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (a refusal) before it has read the whole body.
    let _ = stream.write_all(&body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    (status, answer)
}

/// The grant's form fields with `key` set to `key` and `Content-Type` to `content_type`.
fn fields(grant: &Value, key: &str, content_type: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = grant["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_string()))
        .collect();
    for (name, value) in &mut fields {
        if name == "key" {
            *value = key.to_string();
        }
    }
    fields.push(("Content-Type".into(), content_type.into()));
    fields
}

fn jpeg() -> Vec<u8> {
    std::fs::read(corpus().join("thumbor/images/image.jpg")).unwrap()
}

/// The refusal of a form post: a 4xx naming `code` (S3's error code), and nothing stored.
fn assert_refused(s3: &S3sFs, (status, answer): (u16, String), code: &str) {
    assert!((400..500).contains(&status), "{answer}");
    assert!(answer.contains(&format!("<Code>{code}</Code>")), "{answer}");
    assert_eq!(s3.objects(), vec![], "nothing is stored");
}

#[test]
fn an_allowed_image_is_stored_and_renders() {
    let s3 = S3sFs::start();
    let server = pictor(&s3);
    let grant = grant(&server);
    let prefix = grant["file_prefix"].as_str().unwrap();
    assert!(
        prefix.starts_with("blog/") && prefix.ends_with('/'),
        "{prefix}"
    );
    let url = grant["url"].as_str().unwrap();
    assert_eq!(url, format!("http://{}/{BUCKET}", s3.addr));
    let image = jpeg();
    assert!(image.len() <= MAX_BYTES);
    let key = format!("st/{prefix}cat.jpg");
    let (status, answer) = form_post(url, &fields(&grant, &key, "image/jpeg"), &image);
    assert!((200..300).contains(&status), "{answer}");
    assert_eq!(s3.objects(), vec![(key, image)]);
    // What the browser stored is an original pictor serves.
    let r = server.get(&format!("/unsafe/30x20/{prefix}cat.jpg"));
    assert_eq!(r.status, 200);
    assert_eq!(r.image_size(), (30, 20));
}

#[test]
fn an_upload_over_the_size_limit_is_refused() {
    let s3 = S3sFs::start();
    let server = pictor(&s3);
    let grant = grant(&server);
    let prefix = grant["file_prefix"].as_str().unwrap();
    let mut image = jpeg();
    image.resize(MAX_BYTES + 1, 0);
    let key = format!("st/{prefix}cat.jpg");
    let answer = form_post(
        grant["url"].as_str().unwrap(),
        &fields(&grant, &key, "image/jpeg"),
        &image,
    );
    assert_refused(&s3, answer, "EntityTooLarge");
}

#[test]
fn a_key_outside_the_grants_folder_is_refused() {
    let s3 = S3sFs::start();
    let server = pictor(&s3);
    let grant = grant(&server);
    let url = grant["url"].as_str().unwrap();
    // Another upload's folder, and another app's.
    for key in [
        "st/blog/0123456789abcdef0123456789abcdef/cat.jpg".to_string(),
        "st/news/cat.jpg".to_string(),
    ] {
        let answer = form_post(url, &fields(&grant, &key, "image/jpeg"), &jpeg());
        assert!(
            answer.1.contains("field &apos;key&apos; failed"),
            "{}",
            answer.1
        );
        assert_refused(&s3, answer, "InvalidPolicyDocument");
    }
}

#[test]
fn a_content_type_that_is_not_an_image_is_refused() {
    let s3 = S3sFs::start();
    let server = pictor(&s3);
    let grant = grant(&server);
    let prefix = grant["file_prefix"].as_str().unwrap();
    let key = format!("st/{prefix}cat.html");
    let answer = form_post(
        grant["url"].as_str().unwrap(),
        &fields(&grant, &key, "text/html"),
        &jpeg(),
    );
    assert!(
        answer.1.contains("field &apos;content-type&apos; failed"),
        "{}",
        answer.1
    );
    assert_refused(&s3, answer, "InvalidPolicyDocument");
}

#[test]
fn a_forged_signature_is_refused() {
    let s3 = S3sFs::start();
    let server = pictor(&s3);
    let grant = grant(&server);
    let prefix = grant["file_prefix"].as_str().unwrap();
    let key = format!("st/{prefix}cat.jpg");
    let mut forged = fields(&grant, &key, "image/jpeg");
    for (name, value) in &mut forged {
        if name == "x-amz-signature" {
            let last = if value.ends_with('0') { "1" } else { "0" };
            value.replace_range(value.len() - 1.., last);
        }
    }
    let answer = form_post(grant["url"].as_str().unwrap(), &forged, &jpeg());
    assert_refused(&s3, answer, "SignatureDoesNotMatch");
}

/// A grant whose time is up: made by pictor's own policy code (`PostPolicy`, what the
/// endpoint signs with) for a moment 120 s ago, valid for 60 s.
#[test]
fn an_expired_grant_is_refused() {
    let s3 = S3sFs::start();
    let prefix = "st/blog/00000000000040008000000000000000/";
    let policy = pictor::upload::grants::PostPolicy {
        bucket: BUCKET,
        key_prefix: prefix,
        max_bytes: MAX_BYTES as u64,
        cache_control: None,
        now: SystemTime::now() - Duration::from_secs(120),
        expires_in: Duration::from_secs(60),
        region: "us-east-1",
        access_key_id: ACCESS_KEY,
        secret_access_key: SECRET_KEY,
        session_token: None,
    };
    let grant = serde_json::json!({ "fields": Value::Object(policy.fields()) });
    let url = format!("http://{}/{BUCKET}", s3.addr);
    let key = format!("{prefix}cat.jpg");
    let (status, answer) = form_post(&url, &fields(&grant, &key, "image/jpeg"), &jpeg());
    assert!(answer.contains("expired"), "{answer}");
    assert_refused(&s3, (status, answer), "AccessDenied");

    // The same policy made now is accepted: the refusal above was its time.
    let fresh = pictor::upload::grants::PostPolicy {
        now: SystemTime::now(),
        ..policy
    };
    let grant = serde_json::json!({ "fields": Value::Object(fresh.fields()) });
    let (status, answer) = form_post(&url, &fields(&grant, &key, "image/jpeg"), &jpeg());
    assert!((200..300).contains(&status), "{answer}");
    assert_eq!(s3.objects().len(), 1);
}
