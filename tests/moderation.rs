//! Black-box tests of upload moderation (MODERATION_WEBHOOK_URL) against the real binary: a
//! classifier webhook server started here (hyper on 127.0.0.1) approves, flags or fails; the
//! uploads go through `/image` (POST, PUT) and `/uploads`, into a temporary folder or S3 (moto,
//! via scripts/s3-test-server.sh, or $PICTOR_S3_ENDPOINT), and the tests look at what is served
//! (blurred: far less edge energy than the approved render of the same original; 451 with
//! MODERATION_ACTION=refuse), at the sidecar beside the original, and at `pictor moderate
//! --retry`.

mod common;
use common::{corpus, Response, Server};
#[path = "common/s3.rs"]
mod s3_harness;
#[path = "common/upload_storage.rs"]
mod upload_storage;
use s3_harness::{block_on, sdk};
use upload_storage::Storage;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use sha1::Digest;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const APP_KEY: &str = "0123456789abcdef0123";
/// A photograph with detail at every scale (the corpus' small `image.jpg` is too smooth to
/// tell a blur by).
const PHOTO: &str = "Giunchedi%2C_Filippo_January_2015_01.jpg";

fn image(name: &str) -> Vec<u8> {
    std::fs::read(corpus().join("thumbor/images").join(name)).unwrap()
}

/// What the classifier answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Approve,
    Flag,
    /// 500, as a classifier that is down behind its proxy.
    Fail,
}

/// The test's classifier: answers as its mode says and records every request body.
struct Classifier {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<Value>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Classifier {
    fn start(mode: Mode) -> Classifier {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (serving_mode, serving_seen) = (mode.clone(), seen.clone());
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (mode, seen) = (serving_mode.clone(), serving_seen.clone());
                let service = hyper::service::service_fn(move |req| {
                    classify(req, mode.clone(), seen.clone())
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                );
            }
        });
        Classifier {
            addr,
            mode,
            seen,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/classify", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn seen(&self) -> Vec<Value> {
        self.seen.lock().unwrap().clone()
    }
}

async fn classify(
    req: hyper::Request<hyper::body::Incoming>,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<Value>>>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let body = req.into_body().collect().await.unwrap().to_bytes();
    seen.lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    let mode = *mode.lock().unwrap();
    let (status, answer) = match mode {
        Mode::Approve => (200, json!({ "flagged": false, "labels": [] })),
        Mode::Flag => (200, json!({ "flagged": true, "labels": ["test-flag"] })),
        Mode::Fail => (500, json!({ "error": "down" })),
    };
    Ok(hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(answer.to_string())))
        .unwrap())
}

/// Mean absolute difference of horizontally and vertically neighbouring luma values: how much
/// edge detail an image has.
fn edge_energy(r: &Response) -> f64 {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let luma = image::load_from_memory(&r.body).unwrap().to_luma8();
    let (w, h) = luma.dimensions();
    let mut total = 0u64;
    let mut count = 0u64;
    for y in 0..h {
        for x in 0..w {
            let p = i64::from(luma.get_pixel(x, y)[0]);
            if x + 1 < w {
                total += (p - i64::from(luma.get_pixel(x + 1, y)[0])).unsigned_abs();
                count += 1;
            }
            if y + 1 < h {
                total += (p - i64::from(luma.get_pixel(x, y + 1)[0])).unsigned_abs();
                count += 1;
            }
        }
    }
    total as f64 / count.max(1) as f64
}

impl Storage {
    /// The environment of a server (and of `pictor moderate`) with uploads and moderation on.
    fn moderated_env(&self, classifier: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.env();
        let loader_root = tempfile::tempdir().unwrap().keep();
        for (k, v) in [
            ("FILE_LOADER_ROOT_PATH", loader_root.display().to_string()),
            ("UPLOAD_ENABLED", "True".into()),
            ("UPLOAD_PUT_ALLOWED", "True".into()),
            ("SIGNING_API_KEYS", format!("blog:{APP_KEY}")),
            ("MODERATION_WEBHOOK_URL", classifier.into()),
        ] {
            env.push((k.to_string(), v));
        }
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    fn start(&self, classifier: &str, extra: &[(&str, &str)]) -> Server {
        let env = self.moderated_env(classifier, extra);
        let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start(&refs)
    }

    /// The sidecar stored beside the upload `name`, parsed.
    fn sidecar(&self, name: &str) -> Value {
        let bytes = match self {
            Storage::Folder(dir) => {
                // Thumbor's file layout of the name, plus `.json`.
                let digest = format!("{:x}", sha1::Sha1::digest(name.as_bytes()));
                let path = dir
                    .path()
                    .join(&digest[..2])
                    .join(format!("{}.json", &digest[2..]));
                std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            }
            Storage::Bucket {
                endpoint, bucket, ..
            } => block_on(async {
                let object = sdk(endpoint)
                    .get_object()
                    .bucket(bucket)
                    .key(format!("/st/{name}.json"))
                    .send()
                    .await
                    .unwrap();
                object.body.collect().await.unwrap().into_bytes().to_vec()
            }),
        };
        serde_json::from_slice(&bytes).unwrap()
    }
}

/// `POST /image` → the upload id.
fn upload(server: &Server, bytes: &[u8]) -> String {
    let r = server.send("POST", "/image", &[("Slug", "photo.jpg")], bytes);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let location = r.header("location").unwrap();
    location
        .strip_prefix("/image/")
        .and_then(|rest| rest.split_once('/'))
        .unwrap()
        .0
        .to_string()
}

fn status(sidecar: &Value) -> &str {
    sidecar["moderation"]["status"].as_str().unwrap()
}

/// Flagged uploads are blurred at every size and format, through `/image` and `/uploads`;
/// the classifier gets the id, the content type and a small JPEG preview; the sidecar says
/// what the upload is and its verdict.
fn flagged_uploads_are_blurred(storage: Storage) {
    let classifier = Classifier::start(Mode::Approve);
    let server = storage.start(&classifier.url(), &[]);
    let jpeg = image(PHOTO);

    let approved = upload(&server, &jpeg);
    classifier.set(Mode::Flag);
    let flagged = upload(&server, &jpeg);

    let seen = classifier.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1]["id"], flagged.as_str());
    assert_eq!(seen[1]["content_type"], "image/jpeg");
    let preview = base64::engine::general_purpose::STANDARD
        .decode(seen[1]["preview"].as_str().unwrap())
        .unwrap();
    assert!(
        preview.starts_with(b"\xff\xd8\xff"),
        "the preview is a JPEG"
    );
    let preview = image::load_from_memory(&preview).unwrap();
    assert!(preview.width() <= 512 && preview.height() <= 512);

    let sidecar = storage.sidecar(&flagged);
    assert_eq!(sidecar["id"], flagged.as_str());
    assert_eq!(sidecar["content_type"], "image/jpeg");
    assert_eq!(sidecar["size"], jpeg.len() as u64);
    assert!(sidecar["width"].as_u64().unwrap() > 0 && sidecar["height"].as_u64().unwrap() > 0);
    assert!(sidecar["hash"].as_str().unwrap().starts_with("sha256:"));
    assert!(sidecar["uploaded_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(status(&sidecar), "flagged");
    assert_eq!(sidecar["moderation"]["labels"], json!(["test-flag"]));
    assert!(sidecar["moderation"]["checked_at"].is_string());
    assert_eq!(status(&storage.sidecar(&approved)), "approved");

    for options in [
        "300x200",
        "fit-in/64x64",
        "filters:format(png)",
        "fit-in/400x400/filters:format(webp)",
        "200x200/filters:sharpen(2,1,true)",
    ] {
        let sharp = edge_energy(&server.get(&format!("/unsafe/{options}/{approved}")));
        let blurred = edge_energy(&server.get(&format!("/unsafe/{options}/{flagged}")));
        assert!(
            blurred * 4.0 < sharp,
            "{options}: flagged {blurred} against approved {sharp}"
        );
    }
    // The raw original cannot be blurred: 451.
    let r = server.get(&format!("/image/{flagged}"));
    assert_eq!(r.status, 451);
    assert_eq!(server.get(&format!("/image/{approved}")).body, jpeg);

    // PUT replaces the image and its verdict.
    classifier.set(Mode::Approve);
    let r = server.send("PUT", &format!("/image/{flagged}"), &[], &jpeg);
    assert_eq!(r.status, 204);
    assert_eq!(status(&storage.sidecar(&flagged)), "approved");
    let sharp = edge_energy(&server.get(&format!("/unsafe/300x200/{approved}")));
    let now = edge_energy(&server.get(&format!("/unsafe/300x200/{flagged}")));
    assert!((now - sharp).abs() < 0.01 * sharp, "{now} against {sharp}");

    // JSON uploads are moderated as well, with their app in the sidecar.
    classifier.set(Mode::Flag);
    let png = image("Giunchedi%2C_Filippo_January_2015_01.png");
    let body =
        json!({ "data": { "image": base64::engine::general_purpose::STANDARD.encode(&png) } });
    let bearer = format!("Bearer {APP_KEY}");
    let r = server.send(
        "POST",
        "/uploads",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let name = r.json()["id"].as_str().unwrap().to_string();
    let sidecar = storage.sidecar(&name);
    assert_eq!(
        (status(&sidecar), &sidecar["app"]),
        ("flagged", &json!("blog"))
    );
    assert_eq!(sidecar["content_type"], "image/png");
    let blurred = edge_energy(&server.get(&format!("/unsafe/300x200/{name}")));
    assert!(blurred * 4.0 < sharp, "{blurred} against {sharp}");
}

#[test]
fn flagged_uploads_are_blurred_in_a_folder() {
    flagged_uploads_are_blurred(Storage::folder());
}

#[test]
fn flagged_uploads_are_blurred_on_s3() {
    flagged_uploads_are_blurred(Storage::bucket("moderation"));
}

#[test]
fn refuse_answers_451() {
    let storage = Storage::folder();
    let classifier = Classifier::start(Mode::Flag);
    let server = storage.start(&classifier.url(), &[("MODERATION_ACTION", "refuse")]);
    let id = upload(&server, &image(PHOTO));
    for path in [
        format!("/unsafe/300x200/{id}"),
        format!("/unsafe/fit-in/50x50/filters:format(webp)/{id}"),
    ] {
        let r = server.get(&path);
        assert_eq!(r.status, 451, "{path}");
        assert_eq!(
            String::from_utf8_lossy(&r.body).trim(),
            "image withheld by moderation"
        );
    }
    // The upload API answers its refusals in JSON, as all of its errors.
    let r = server.get(&format!("/image/{id}"));
    assert_eq!(r.status, 451);
    assert_eq!(r.json()["error"], "withheld: flagged by moderation");
}

/// The classifier down: with MODERATION_FAIL=closed (the default) the upload is held (pending,
/// served blurred, never kept in a cache); `pictor moderate --retry` with the classifier back
/// approves it and the next request is sharp. With MODERATION_FAIL=open it is served sharp.
fn held_until_the_retry(storage: Storage) {
    let classifier = Classifier::start(Mode::Approve);
    let server = storage.start(&classifier.url(), &[("MAX_AGE_TEMP_IMAGE", "5")]);
    let jpeg = image(PHOTO);
    let reference = upload(&server, &jpeg);
    let sharp = edge_energy(&server.get(&format!("/unsafe/300x200/{reference}")));

    classifier.set(Mode::Fail);
    let held = upload(&server, &jpeg);
    let sidecar = storage.sidecar(&held);
    assert_eq!(status(&sidecar), "pending");
    assert!(sidecar["moderation"]["checked_at"].is_null());
    let path = format!("/unsafe/300x200/{held}");
    let r = server.get(&path);
    assert_eq!(r.header("cache-control"), Some("max-age=5,public"));
    let blurred = edge_energy(&r);
    assert!(blurred * 4.0 < sharp, "held: {blurred} against {sharp}");
    // Requested again while held: still blurred.
    assert!(edge_energy(&server.get(&path)) * 4.0 < sharp);

    // A retry with the classifier still down leaves it pending.
    let env = storage.moderated_env(&classifier.url(), &[]);
    let retry = || {
        let out = std::process::Command::new(common::binary())
            .args(["moderate", "--retry"])
            .env_clear()
            .envs(env.iter().cloned())
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    assert_eq!(
        retry(),
        "moderate: 2 sidecars examined, 1 pending retried: 0 approved, 0 flagged, 1 still \
         pending, 0 skipped"
    );
    assert_eq!(status(&storage.sidecar(&held)), "pending");

    classifier.set(Mode::Approve);
    assert_eq!(
        retry(),
        "moderate: 2 sidecars examined, 1 pending retried: 1 approved, 0 flagged, 0 still \
         pending, 0 skipped"
    );
    assert_eq!(status(&storage.sidecar(&held)), "approved");
    let r = server.get(&path);
    assert_eq!(r.header("cache-control"), Some("max-age=86400,public"));
    let now = edge_energy(&r);
    assert!((now - sharp).abs() < 0.01 * sharp, "{now} against {sharp}");

    // MODERATION_FAIL=open: a classifier that is down approves.
    classifier.set(Mode::Fail);
    let open = storage.start(&classifier.url(), &[("MODERATION_FAIL", "open")]);
    let id = upload(&open, &jpeg);
    assert_eq!(status(&storage.sidecar(&id)), "approved");
    let now = edge_energy(&open.get(&format!("/unsafe/300x200/{id}")));
    assert!((now - sharp).abs() < 0.01 * sharp, "{now} against {sharp}");
}

#[test]
fn held_until_the_retry_in_a_folder() {
    held_until_the_retry(Storage::folder());
}

#[test]
fn held_until_the_retry_on_s3() {
    held_until_the_retry(Storage::bucket("moderation"));
}

/// An original that reached the storage without pictor (a browser-to-S3 upload) has no
/// sidecar: it is moderated at its first load, before anything of it is served.
#[test]
fn originals_without_a_sidecar_are_moderated_at_first_load() {
    let storage = Storage::bucket("moderation");
    let Storage::Bucket {
        endpoint, bucket, ..
    } = &storage
    else {
        unreachable!()
    };
    let jpeg = image(PHOTO);
    block_on(async {
        sdk(endpoint)
            .put_object()
            .bucket(bucket)
            .key("/st/blog/direct/photo.jpg")
            .body(aws_sdk_s3::primitives::ByteStream::from(jpeg.clone()))
            .send()
            .await
            .unwrap();
    });
    let classifier = Classifier::start(Mode::Flag);
    let server = storage.start(&classifier.url(), &[]);
    let flagged = edge_energy(&server.get("/unsafe/300x200/blog/direct/photo.jpg"));
    assert_eq!(classifier.seen().len(), 1);
    assert_eq!(classifier.seen()[0]["id"], "blog/direct/photo.jpg");
    assert_eq!(status(&storage.sidecar("blog/direct/photo.jpg")), "flagged");
    // The verdict is kept with the original: another size asks the classifier no more.
    let other = edge_energy(&server.get("/unsafe/200x100/blog/direct/photo.jpg"));
    assert_eq!(classifier.seen().len(), 1);
    let sharp = {
        classifier.set(Mode::Approve);
        let id = upload(&server, &jpeg);
        edge_energy(&server.get(&format!("/unsafe/300x200/{id}")))
    };
    assert!(
        flagged * 4.0 < sharp && other * 4.0 < sharp,
        "{flagged} {other} {sharp}"
    );
}

/// With UPLOAD_ACTIVATION the sidecar is written to the incoming area with the upload and
/// moves with it on activation (the classifier is asked once).
#[test]
fn the_sidecar_moves_with_activation() {
    let storage = Storage::folder();
    let incoming = tempfile::tempdir().unwrap();
    let classifier = Classifier::start(Mode::Flag);
    let incoming_root = incoming.path().display().to_string();
    let server = storage.start(
        &classifier.url(),
        &[
            ("UPLOAD_ACTIVATION", "True"),
            ("API_SECRET_KEY", "activation-secret"),
            ("INCOMING_FILE_STORAGE_ROOT_PATH", &incoming_root),
        ],
    );
    let jpeg = image(PHOTO);
    let flagged = upload(&server, &jpeg);
    classifier.set(Mode::Approve);
    let approved = upload(&server, &jpeg);
    let digest = format!("{:x}", sha1::Sha1::digest(flagged.as_bytes()));
    let waiting = incoming
        .path()
        .join(&digest[..2])
        .join(format!("{}.json", &digest[2..]));
    assert!(waiting.exists(), "the sidecar waits in the incoming area");
    assert_eq!(
        server.get(&format!("/unsafe/300x200/{flagged}")).status,
        404
    );
    for id in [&flagged, &approved] {
        let r = server.send(
            "POST",
            &format!("/images/{id}/activate"),
            &[("Authorization", "Bearer activation-secret")],
            b"",
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    assert!(!waiting.exists());
    assert_eq!(status(&storage.sidecar(&flagged)), "flagged");
    let sharp = edge_energy(&server.get(&format!("/unsafe/300x200/{approved}")));
    let blurred = edge_energy(&server.get(&format!("/unsafe/300x200/{flagged}")));
    assert!(blurred * 4.0 < sharp, "{blurred} against {sharp}");
    assert_eq!(classifier.seen().len(), 2, "moderated once each, at upload");
}
