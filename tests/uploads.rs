//! Black-box tests of the upload endpoints against the real binary, with the storage of
//! originals in a temporary folder and in S3 (moto, via scripts/s3-test-server.sh, or
//! $PICTOR_S3_ENDPOINT): Thumbor's upload API (`/image`), JSON uploads (`/uploads`), uploads
//! rendered like any image, and hostile uploads refused with nothing stored.

mod common;
use common::{corpus, Response, Server};
#[path = "common/s3.rs"]
mod s3_harness;
#[path = "common/upload_storage.rs"]
mod upload_storage;
use s3_harness::{block_on, sdk, seed, unique_bucket};
use upload_storage::Storage;

use base64::Engine;

const APP_KEY: &str = "0123456789abcdef0123";

fn image(name: &str) -> Vec<u8> {
    std::fs::read(corpus().join("thumbor/images").join(name)).unwrap()
}

impl Storage {
    /// Every stored object: (key, bytes).
    fn objects(&self) -> Vec<(String, Vec<u8>)> {
        match self {
            Storage::Folder(dir) => {
                let mut found = Vec::new();
                let mut pending = vec![dir.path().to_path_buf()];
                while let Some(folder) = pending.pop() {
                    for entry in std::fs::read_dir(folder).unwrap() {
                        let path = entry.unwrap().path();
                        if path.is_dir() {
                            pending.push(path);
                        } else {
                            let key = path.strip_prefix(dir.path()).unwrap();
                            found.push((key.display().to_string(), std::fs::read(&path).unwrap()));
                        }
                    }
                }
                found.sort();
                found
            }
            Storage::Bucket {
                endpoint, bucket, ..
            } => block_on(async {
                let client = sdk(endpoint);
                let listed = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .send()
                    .await
                    .unwrap();
                let mut found = Vec::new();
                for object in listed.contents() {
                    let key = object.key().unwrap().to_string();
                    let body = client
                        .get_object()
                        .bucket(bucket)
                        .key(&key)
                        .send()
                        .await
                        .unwrap();
                    found.push((
                        key,
                        body.body.collect().await.unwrap().into_bytes().to_vec(),
                    ));
                }
                found
            }),
        }
    }

    /// The stored object's Content-Type and Cache-Control (S3 only).
    fn s3_headers(&self, key: &str) -> Option<(Option<String>, Option<String>)> {
        match self {
            Storage::Folder(_) => None,
            Storage::Bucket {
                endpoint, bucket, ..
            } => block_on(async {
                let head = sdk(endpoint)
                    .head_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .unwrap();
                Some((
                    head.content_type().map(str::to_string),
                    head.cache_control().map(str::to_string),
                ))
            }),
        }
    }

    fn start(&self, extra: &[(&str, &str)]) -> Server {
        let loader_root = tempfile::tempdir().unwrap().keep();
        let mut env: Vec<(String, String)> = self.env();
        if let Storage::Bucket { .. } = self {
            env.push(("CACHE_CONTROL".into(), "max-age=31536000, immutable".into()));
        }
        env.push((
            "FILE_LOADER_ROOT_PATH".into(),
            loader_root.display().to_string(),
        ));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start(&refs)
    }
}

const UPLOADS_ON: [(&str, &str); 3] = [
    ("UPLOAD_ENABLED", "True"),
    ("UPLOAD_PUT_ALLOWED", "True"),
    ("UPLOAD_DELETE_ALLOWED", "True"),
];

/// `Location: /image/<32 hex>/<filename>` → (id, filename).
fn location(r: &Response) -> (String, String) {
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let location = r.header("location").expect("a Location header");
    let rest = location.strip_prefix("/image/").expect(location);
    let (id, filename) = rest.split_once('/').expect(location);
    assert_eq!(id.len(), 32, "{location}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{location}");
    (id.to_string(), filename.to_string())
}

fn multipart(field: &str, filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "pictorTestBoundary42";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\na photo\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn thumbor_upload_api(storage: Storage) {
    let server = storage.start(&UPLOADS_ON);
    let jpeg = image("image.jpg");
    let png = image("1x1.png");

    // POST the bytes with a Slug: 201 and the Location.
    let r = server.send("POST", "/image", &[("Slug", "cat.jpg")], &jpeg);
    let (id, filename) = location(&r);
    assert_eq!(filename, "cat.jpg");
    let stored = storage.objects();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, jpeg);
    if let Some((content_type, cache_control)) = storage.s3_headers(&stored[0].0) {
        assert_eq!(stored[0].0, format!("/st/{id}"));
        assert_eq!(content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(
            cache_control.as_deref(),
            Some("max-age=31536000, immutable")
        );
    }

    // GET the Location (or the id alone): the original.
    for path in [format!("/image/{id}/cat.jpg"), format!("/image/{id}")] {
        let r = server.get(&path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, jpeg);
        assert_eq!(r.header("content-type"), Some("image/jpeg"));
    }
    let r = server.request("HEAD", &format!("/image/{id}"), &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());

    // The id, with or without the filename, renders like any image path.
    for path in [
        format!("/unsafe/30x20/{id}"),
        format!("/unsafe/30x20/{id}/cat.jpg"),
        format!("/unsafe/fit-in/40x40/filters:format(png)/{id}"),
    ] {
        let r = server.get(&path);
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.image_size().0 <= 40, "{path}");
    }
    assert_eq!(
        server.get(&format!("/unsafe/30x20/{id}")).image_size(),
        (30, 20)
    );

    // Without a name: UPLOAD_DEFAULT_FILENAME and the extension of the Content-Type, else of
    // the bytes.
    let r = server.send("POST", "/image", &[("Content-Type", "image/png")], &png);
    assert_eq!(location(&r).1, "image.png");
    let r = server.send("POST", "/image", &[], &jpeg);
    assert_eq!(location(&r).1, "image.jpg");

    // A form with a `media` file.
    let (content_type, body) = multipart("media", "dot.png", &png);
    let r = server.send("POST", "/image", &[("Content-Type", &content_type)], &body);
    let (form_id, filename) = location(&r);
    assert_eq!(filename, "dot.png");
    assert_eq!(server.get(&format!("/image/{form_id}")).body, png);
    assert_eq!(storage.objects().len(), 4);

    // PUT replaces (204), DELETE removes (204, then 404).
    let r = server.send("PUT", &format!("/image/{id}"), &[], &png);
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    let r = server.get(&format!("/image/{id}/cat.jpg"));
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/png"))
    );
    assert_eq!(r.body, png);
    assert_eq!(server.get(&format!("/unsafe/1x1/{id}")).status, 200);
    let r = server.request("DELETE", &format!("/image/{id}/cat.jpg"), &[]);
    assert_eq!(r.status, 204);
    assert_eq!(server.get(&format!("/image/{id}")).status, 404);
    assert_eq!(
        server
            .request("DELETE", &format!("/image/{id}"), &[])
            .status,
        404
    );
    assert_eq!(server.get(&format!("/unsafe/1x1/{id}")).status, 404);
    assert_eq!(storage.objects().len(), 3);

    // Other methods: 405.
    assert_eq!(server.get("/image").status, 405);
    assert_eq!(
        server
            .request("PATCH", &format!("/image/{form_id}"), &[])
            .status,
        405
    );
    assert_eq!(
        server
            .send("POST", &format!("/image/{form_id}"), &[], &png)
            .status,
        405
    );
    assert_eq!(
        server.get("/image/0123456789abcdef0123456789abcdef").status,
        404
    );
}

#[test]
fn thumbor_upload_api_on_a_folder() {
    thumbor_upload_api(Storage::folder());
}

#[test]
fn thumbor_upload_api_on_s3() {
    thumbor_upload_api(Storage::bucket("uploads"));
}

#[test]
fn upload_limits_switches_and_keys() {
    let storage = Storage::folder();
    let jpeg = image("image.jpg");
    // UPLOAD_MAX_SIZE: 412, raw or as a form; PUT and DELETE off: 405.
    let server = storage.start(&[("UPLOAD_ENABLED", "True"), ("UPLOAD_MAX_SIZE", "4000")]);
    assert_eq!(server.send("POST", "/image", &[], &jpeg).status, 412);
    let (content_type, body) = multipart("media", "a.jpg", &jpeg);
    assert_eq!(
        server
            .send("POST", "/image", &[("Content-Type", &content_type)], &body)
            .status,
        412
    );
    let (id, _) = location(&server.send("POST", "/image", &[], &image("20x20.jpg")));
    assert_eq!(
        server
            .send("PUT", &format!("/image/{id}"), &[], &image("1x1.png"))
            .status,
        405
    );
    assert_eq!(
        server
            .request("DELETE", &format!("/image/{id}"), &[])
            .status,
        405
    );
    assert_eq!(server.get(&format!("/image/{id}")).body, image("20x20.jpg"));
    assert_eq!(storage.objects().len(), 1);
    drop(server);

    // UPLOAD_REQUIRE_KEY: writes need an app key; reads do not.
    let keys = format!("blog:{APP_KEY}");
    let server = storage.start(&[
        ("UPLOAD_ENABLED", "True"),
        ("UPLOAD_REQUIRE_KEY", "True"),
        ("SIGNING_API_KEYS", &keys),
    ]);
    let r = server.send("POST", "/image", &[], &jpeg);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let wrong = server.send(
        "POST",
        "/image",
        &[("Authorization", "Bearer wrong-key-0123456789")],
        &jpeg,
    );
    assert_eq!(wrong.status, 401);
    let bearer = format!("Bearer {APP_KEY}");
    let (id, _) = location(&server.send("POST", "/image", &[("Authorization", &bearer)], &jpeg));
    assert_eq!(server.get(&format!("/image/{id}")).status, 200);
    assert_eq!(storage.objects().len(), 2);
    drop(server);

    // Without UPLOAD_ENABLED there is no /image: its paths are image paths.
    let server = storage.start(&[]);
    assert_eq!(server.send("POST", "/image", &[], &jpeg).status, 405);
    assert_eq!(server.get(&format!("/image/{id}")).status, 400);
    // The storage is still read by the loader.
    assert_eq!(server.get(&format!("/unsafe/10x10/{id}")).status, 200);
}

fn json_upload(image_bytes: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(image_bytes);
    serde_json::json!({"data": {"image": encoded}, "metadata": {"alt": "a photo"}})
        .to_string()
        .into_bytes()
}

fn json_uploads(storage: Storage) {
    let keys = format!("blog:{APP_KEY}");
    let server = storage.start(&[
        ("SIGNING_API_KEYS", &keys),
        ("SECURITY_KEY", "upload-test-key"),
        ("PUBLIC_BASE_URL", "https://img.example.com"),
        (
            "PRESETS",
            r#"{"thumb": "fit-in/100x100", "square": "50x50"}"#,
        ),
    ]);
    let bearer = format!("Bearer {APP_KEY}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let jpeg = image("image.jpg");
    // md5 of the corpus image.
    let md5 = {
        use md5::Digest;
        md5::Md5::digest(&jpeg)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let r = server.send("POST", "/uploads", &auth, &json_upload(&jpeg));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let answer = r.json();
    let name = format!("blog/{md5}.jpg");
    assert_eq!(answer["id"], name);
    assert_eq!(answer["created"], true);
    assert_eq!(answer["metadata"]["alt"], "a photo");
    assert_eq!(
        (answer["width"].as_u64(), answer["height"].as_u64()),
        (Some(300), Some(400))
    );
    let signed = answer["signed"].as_str().unwrap().to_string();
    assert!(signed.ends_with(&format!("/{name}")), "{signed}");
    assert_eq!(answer["url"], format!("https://img.example.com{signed}"));
    // The signed URL renders the original.
    let r = server.get(&signed);
    assert_eq!(r.status, 200);
    assert_eq!(r.image_size(), (300, 400));
    // A signed URL of each preset, which renders that preset.
    let presets = answer["presets"].as_object().unwrap();
    assert_eq!(presets.len(), 2);
    for (preset, size) in [("thumb", (75, 100)), ("square", (50, 50))] {
        let url = presets[preset].as_str().unwrap();
        let path = format!("preset:{preset}/{name}");
        let expected = pictor::url::signature::sign(b"upload-test-key", &path);
        assert_eq!(url, format!("/{expected}/{path}"));
        let r = server.get(url);
        assert_eq!(r.status, 200, "{url}");
        assert_eq!(r.image_size(), size, "{url}");
    }

    // The same bytes again: the same name, stored once.
    let r = server.send("POST", "/uploads", &auth, &json_upload(&jpeg));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], name);
    assert_eq!(r.json()["created"], false);
    let stored = storage.objects();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, jpeg);
    if let Some((content_type, cache_control)) = storage.s3_headers(&stored[0].0) {
        assert_eq!(stored[0].0, format!("/st/{name}"));
        assert_eq!(content_type.as_deref(), Some("image/jpeg"));
        assert!(cache_control.is_some());
    }

    // No key or a wrong one: 401; another method: 405; not JSON: 400.
    assert_eq!(
        server
            .send("POST", "/uploads", &[], &json_upload(&jpeg))
            .status,
        401
    );
    let wrong = [("Authorization", "Bearer not-the-key-at-all")];
    assert_eq!(
        server
            .send("POST", "/uploads", &wrong, &json_upload(&jpeg))
            .status,
        401
    );
    assert_eq!(server.request("GET", "/uploads", &auth).status, 405);
    assert_eq!(
        server
            .send("POST", "/uploads", &auth, b"{\"image\": 1}")
            .status,
        400
    );
    assert_eq!(storage.objects().len(), 1);
}

#[test]
fn json_uploads_on_a_folder() {
    json_uploads(Storage::folder());
}

#[test]
fn json_uploads_on_s3() {
    json_uploads(Storage::bucket("uploads"));
}

#[test]
fn json_upload_names_by_sha256() {
    let storage = Storage::folder();
    let keys = format!("shop:{APP_KEY}:catalog/");
    let server = storage.start(&[("SIGNING_API_KEYS", &keys), ("UPLOAD_ID_HASH", "sha256")]);
    let bearer = format!("Bearer {APP_KEY}");
    let png = image("1x1.png");
    let r = server.send(
        "POST",
        "/uploads",
        &[("Authorization", &bearer)],
        &json_upload(&png),
    );
    assert_eq!(r.status, 201);
    let sha256 = {
        use sha2::Digest;
        sha2::Sha256::digest(&png)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(r.json()["id"], format!("catalog/{sha256}.png"));
}

/// Truncates a PNG inside its image data.
fn truncated(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len() * 2 / 3].to_vec()
}

#[test]
fn hostile_uploads_are_refused_and_nothing_is_stored_in_a_folder() {
    hostile_uploads(Storage::folder());
}

#[test]
fn hostile_uploads_are_refused_and_nothing_is_stored_in_s3() {
    hostile_uploads(Storage::bucket("uploads"));
}

fn hostile_uploads(storage: Storage) {
    let keys = format!("blog:{APP_KEY}");
    let server = storage.start(&[
        ("UPLOAD_ENABLED", "True"),
        ("UPLOAD_PUT_ALLOWED", "True"),
        ("SIGNING_API_KEYS", &keys),
        ("UPLOAD_MAX_SIZE", "100000"),
    ]);
    let bearer = format!("Bearer {APP_KEY}");
    let hostile: Vec<(&str, Vec<u8>, u16)> = vec![
        ("empty", Vec::new(), 415),
        ("text", b"this is not an image at all".to_vec(), 415),
        (
            "html named .jpg",
            b"<html><body>hi</body></html>".to_vec(),
            415,
        ),
        ("truncated png", truncated(&image("watermark.png")), 415),
        (
            "truncated jpeg header",
            image("image.jpg")[..200].to_vec(),
            415,
        ),
        ("svg", image("Commons-logo.svg"), 415),
        ("psd", image("1x1.psd"), 415),
        // 16384x16384 in 32 KB: a decompression bomb, over MAX_PIXELS from its header.
        ("pixel bomb", image("16384x16384.png"), 400),
    ];
    for (what, bytes, status) in &hostile {
        let r = server.send(
            "POST",
            "/image",
            &[("Content-Type", "image/jpeg"), ("Slug", "x.jpg")],
            bytes,
        );
        assert_eq!(
            r.status,
            *status,
            "POST /image {what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let r = server.send("PUT", "/image/0123456789abcdef0123456789abcdef", &[], bytes);
        assert_eq!(r.status, *status, "PUT {what}");
        let r = server.send(
            "POST",
            "/uploads",
            &[("Authorization", &bearer)],
            &json_upload(bytes),
        );
        assert_eq!(
            r.status,
            *status,
            "/uploads {what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.json()["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty() && !e.contains('\n')));
    }
    // Over UPLOAD_MAX_SIZE: the raw body is refused as it streams in (412), the base64 of a
    // JSON upload too (413), whether its length is declared or not.
    let huge = vec![0xffu8; 300_000];
    assert_eq!(server.send("POST", "/image", &[], &huge).status, 412);
    let r = server.send(
        "POST",
        "/uploads",
        &[("Authorization", &bearer)],
        &json_upload(&huge),
    );
    assert_eq!(r.status, 413);
    // Just over the limit once decoded, though the JSON fits.
    let over = vec![0xffu8; 100_001];
    let r = server.send(
        "POST",
        "/uploads",
        &[("Authorization", &bearer)],
        &json_upload(&over),
    );
    assert_eq!(r.status, 413);
    let chunked = {
        let body = json_upload(&huge);
        let mut raw = format!(
            "POST /uploads HTTP/1.1\r\nHost: t\r\nAuthorization: {bearer}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(&body);
        raw.extend_from_slice(b"\r\n0\r\n\r\n");
        raw
    };
    assert_eq!(server.raw(&chunked, false).status, 413);
    // Bad base64, a form without a media file.
    let r = server.send(
        "POST",
        "/uploads",
        &[("Authorization", &bearer)],
        br#"{"data": {"image": "!!not base64!!"}}"#,
    );
    assert_eq!(r.status, 400);
    let (content_type, body) = multipart("other", "a.jpg", &image("image.jpg"));
    assert_eq!(
        server
            .send("POST", "/image", &[("Content-Type", &content_type)], &body)
            .status,
        415
    );
    assert!(
        storage.objects().is_empty(),
        "{:?}",
        storage.objects().len()
    );
    // The server is fine afterwards.
    assert_eq!(
        server
            .send("POST", "/image", &[], &image("20x20.jpg"))
            .status,
        201
    );
}

/// Sends one HTTP/1.1 request to `url` (`http://host:port/path?query`): (status, body).
fn http(url: &str, method: &str, headers: &[(String, String)], body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect(url);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// `YYYYMMDD` as the time at its midnight (UTC).
fn day(ymd: &str) -> std::time::SystemTime {
    let (y, m, d): (i64, i64, i64) = (
        ymd[..4].parse().unwrap(),
        ymd[4..6].parse().unwrap(),
        ymd[6..8].parse().unwrap(),
    );
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(days as u64 * 86_400)
}

#[test]
fn browser_upload_grants_on_s3() {
    // moto's request authentication does not read POST policies (its authenticated mode
    // refuses every form upload), so this test has a server of its own that checks no
    // credentials; the policy and its signature are checked here instead.
    let server = s3_harness::S3Server::start(0, false);
    let bucket = unique_bucket("grants");
    seed(&server.endpoint, &bucket, &[]);
    let storage = Storage::Bucket {
        endpoint: server.endpoint.clone(),
        bucket,
        _server: Some(server),
    };
    let Storage::Bucket {
        endpoint, bucket, ..
    } = &storage
    else {
        unreachable!()
    };
    let keys = format!("blog:{APP_KEY}");
    let server = storage.start(&[
        ("SIGNING_API_KEYS", &keys),
        ("UPLOAD_MAX_SIZE", "100000"),
        ("UPLOAD_GRANT_SECONDS", "300"),
    ]);
    let bearer = format!("Bearer {APP_KEY}");
    let r = server.send(
        "POST",
        "/uploads/grants",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let grant = r.json();
    assert_eq!(grant["url"], format!("{}/{bucket}", endpoint.url));
    assert_eq!(grant["fields"], grant["data"]);
    let prefix = grant["file_prefix"].as_str().unwrap().to_string();
    let id = prefix
        .strip_prefix("blog/")
        .and_then(|p| p.strip_suffix('/'))
        .unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{prefix}"
    );
    let fields = grant["fields"].as_object().unwrap();
    assert_eq!(fields["key"], format!("/st/{prefix}${{filename}}"));
    assert_eq!(fields["x-amz-algorithm"], "AWS4-HMAC-SHA256");

    // The policy pictor wrote: the app's fresh folder, image types, at most UPLOAD_MAX_SIZE
    // bytes (a larger upload is refused by S3 on this condition), five minutes; and its
    // signature is the SigV4 one of the storage's credentials.
    let policy = fields["policy"].as_str().unwrap();
    let decoded: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(policy)
            .unwrap(),
    )
    .unwrap();
    let conditions = decoded["conditions"].as_array().unwrap();
    for expected in [
        serde_json::json!({ "bucket": bucket }),
        serde_json::json!(["starts-with", "$key", format!("/st/{prefix}")]),
        serde_json::json!(["content-length-range", 1, 100000]),
        serde_json::json!(["starts-with", "$Content-Type", "image/"]),
        serde_json::json!({ "x-amz-credential": fields["x-amz-credential"] }),
        serde_json::json!({ "x-amz-date": fields["x-amz-date"] }),
    ] {
        assert!(
            conditions.contains(&expected),
            "{expected} not in {conditions:?}"
        );
    }
    let amz_date = fields["x-amz-date"].as_str().unwrap();
    assert_eq!(
        fields["x-amz-credential"],
        format!(
            "{}/{}/us-east-1/s3/aws4_request",
            endpoint.access_key,
            &amz_date[..8]
        )
    );
    let signing_key = aws_sigv4::sign::v4::generate_signing_key(
        &endpoint.secret_key,
        day(&amz_date[..8]),
        "us-east-1",
        "s3",
    );
    assert_eq!(
        fields["x-amz-signature"],
        aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes())
    );
    assert_eq!(grant["max_bytes"], 100000);

    // The form upload straight into the bucket, then the image renders.
    let boundary = "grantFormBoundary";
    let mut form = Vec::new();
    let mut field = |name: &str, value: &str| {
        form.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    };
    for (name, value) in fields {
        field(name, value.as_str().unwrap());
    }
    field("Content-Type", "image/jpeg");
    form.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cat.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
            .as_bytes(),
    );
    form.extend_from_slice(&image("image.jpg"));
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, answer) = http(
        grant["url"].as_str().unwrap(),
        "POST",
        &[(
            "Content-Type".into(),
            format!("multipart/form-data; boundary={boundary}"),
        )],
        &form,
    );
    assert!((200..300).contains(&status), "{answer}");
    let r = server.get(&format!("/unsafe/30x20/{prefix}cat.jpg"));
    assert_eq!(r.status, 200);
    assert_eq!(r.image_size(), (30, 20));

    // A presigned PUT for a named file.
    let r = server.send(
        "POST",
        "/uploads/grants",
        &[("Authorization", &bearer)],
        br#"{"filename": "dot.png", "content_type": "image/png"}"#,
    );
    assert_eq!(r.status, 201);
    let grant = r.json();
    let put = &grant["put"];
    let headers: Vec<(String, String)> = put["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let (status, answer) = http(
        put["url"].as_str().unwrap(),
        "PUT",
        &headers,
        &image("1x1.png"),
    );
    assert_eq!(status, 200, "{answer}");
    let r = server.get(&format!("/unsafe/1x1/{}", grant["image"].as_str().unwrap()));
    assert_eq!(r.status, 200);

    // Keys and methods.
    assert_eq!(server.send("POST", "/uploads/grants", &[], b"").status, 401);
    assert_eq!(
        server
            .request("GET", "/uploads/grants", &[("Authorization", &bearer)])
            .status,
        405
    );
    let bad = server.send(
        "POST",
        "/uploads/grants",
        &[("Authorization", &bearer)],
        br#"{"filename": "../x.png", "content_type": "image/png"}"#,
    );
    assert_eq!(bad.status, 400);
    drop(server);
    // A folder storage has no grants.
    let folder = Storage::folder();
    let server = folder.start(&[("SIGNING_API_KEYS", &keys)]);
    assert_eq!(
        server
            .send(
                "POST",
                "/uploads/grants",
                &[("Authorization", &bearer)],
                b""
            )
            .status,
        400
    );
}

const API_SECRET: &str = "activation-secret-42";

/// Stored objects: (key, bytes).
type Objects = Vec<(String, Vec<u8>)>;

/// The objects of the active area and of the incoming area, for a storage whose incoming area
/// is `incoming` (a folder) or, on S3, the same bucket under `/incoming`.
fn areas(storage: &Storage, incoming: &tempfile::TempDir) -> (Objects, Objects) {
    match storage {
        Storage::Folder(_) => (storage.objects(), folder_objects(incoming.path())),
        Storage::Bucket { .. } => storage
            .objects()
            .into_iter()
            .partition(|(key, _)| key.starts_with("/st/")),
    }
}

/// Every file under `root`, keyed by its path below it.
fn folder_objects(root: &std::path::Path) -> Objects {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let key = path.strip_prefix(root).unwrap().display().to_string();
                found.push((key, std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

/// The settings that turn activation on, the incoming folder being `incoming`.
fn activation_env(storage: &Storage, incoming: &tempfile::TempDir) -> Vec<(String, String)> {
    let mut env = vec![
        ("UPLOAD_ENABLED".to_string(), "True".to_string()),
        ("UPLOAD_DELETE_ALLOWED".into(), "True".into()),
        ("UPLOAD_ACTIVATION".into(), "True".into()),
        ("API_SECRET_KEY".into(), API_SECRET.into()),
        ("SIGNING_API_KEYS".into(), format!("blog:{APP_KEY}")),
        ("SECURITY_KEY".into(), "upload-test-key".into()),
    ];
    if let Storage::Folder(_) = storage {
        env.push((
            "INCOMING_FILE_STORAGE_ROOT_PATH".into(),
            incoming.path().display().to_string(),
        ));
    }
    env
}

/// Writes `bytes` into the active area under the key the incoming `key` has there (what a
/// crash between the copy and the delete of an activation leaves).
fn copy_to_active(storage: &Storage, incoming: &tempfile::TempDir, key: &str, bytes: &[u8]) {
    match storage {
        Storage::Folder(dir) => {
            assert!(incoming.path().join(key).is_file());
            let target = dir.path().join(key);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, bytes).unwrap();
        }
        Storage::Bucket {
            endpoint, bucket, ..
        } => block_on(async {
            let active = key.replacen("/incoming/", "/st/", 1);
            sdk(endpoint)
                .put_object()
                .bucket(bucket)
                .key(active)
                .body(bytes.to_vec().into())
                .send()
                .await
                .unwrap();
        }),
    }
}

fn activation(storage: Storage) {
    let incoming = tempfile::tempdir().unwrap();
    let env = activation_env(&storage, &incoming);
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = storage.start(&refs);
    let jpeg = image("image.jpg");
    let png = image("1x1.png");
    let bearer = format!("Bearer {API_SECRET}");
    let secret = [("Authorization", bearer.as_str())];

    // An upload lands in the incoming area and is not served.
    let (id, _) = location(&server.send("POST", "/image", &[("Slug", "cat.jpg")], &jpeg));
    let (active, waiting) = areas(&storage, &incoming);
    assert!(active.is_empty(), "{active:?}");
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].1, jpeg);
    assert_eq!(server.get(&format!("/image/{id}")).status, 404);
    assert_eq!(server.get(&format!("/unsafe/30x20/{id}")).status, 404);

    // Only the API secret activates; an unknown id is 404.
    let activate = format!("/images/{id}/activate");
    let r = server.request("POST", &activate, &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let wrong = [("Authorization", "Bearer not-the-secret")];
    assert_eq!(server.request("POST", &activate, &wrong).status, 401);
    let app_key = format!("Bearer {APP_KEY}");
    assert_eq!(
        server
            .request("POST", &activate, &[("Authorization", app_key.as_str())])
            .status,
        401
    );
    assert_eq!(
        server
            .request(
                "POST",
                "/images/0123456789abcdef0123456789abcdef/activate",
                &secret
            )
            .status,
        404
    );
    assert_eq!(server.get(&format!("/image/{id}")).status, 404);

    // Activation moves it: served, rendered, nothing left in the incoming area.
    let r = server.request("POST", &activate, &secret);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["state"], "activated");
    assert_eq!(server.get(&format!("/image/{id}/cat.jpg")).body, jpeg);
    assert_eq!(
        server.get(&format!("/unsafe/30x20/{id}")).image_size(),
        (30, 20)
    );
    let (active, waiting) = areas(&storage, &incoming);
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].1, jpeg);
    assert!(waiting.is_empty(), "{waiting:?}");
    if let Some((content_type, _)) = storage.s3_headers(&active[0].0) {
        assert_eq!(active[0].0, format!("/st/{id}"));
        assert_eq!(content_type.as_deref(), Some("image/jpeg"));
    }

    // Again: idempotent.
    let r = server.request("POST", &activate, &secret);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["state"], "already active");

    // A crash after the copy left the upload in both areas: a retry finishes the move.
    let (second, _) = location(&server.send("POST", "/image", &[], &png));
    let (_, waiting) = areas(&storage, &incoming);
    assert_eq!(waiting.len(), 1);
    copy_to_active(&storage, &incoming, &waiting[0].0, &png);
    let r = server.request("POST", &format!("/images/{second}/activate"), &secret);
    assert_eq!(r.status, 200);
    let (active, waiting) = areas(&storage, &incoming);
    assert_eq!(active.len(), 2);
    assert!(waiting.is_empty(), "{waiting:?}");
    assert_eq!(server.get(&format!("/image/{second}")).body, png);

    // JSON uploads wait too; their ids hold the app's folder.
    let app_auth = [
        ("Authorization", app_key.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = server.send("POST", "/uploads", &app_auth, &json_upload(&png));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let name = r.json()["id"].as_str().unwrap().to_string();
    let signed = r.json()["signed"].as_str().unwrap().to_string();
    assert_eq!(server.get(&signed).status, 404);
    // The same bytes again: still stored once.
    let r = server.send("POST", "/uploads", &app_auth, &json_upload(&png));
    assert_eq!((r.status, r.json()["created"].clone()), (200, false.into()));
    assert_eq!(areas(&storage, &incoming).1.len(), 1);
    let r = server.request("POST", &format!("/images/{name}/activate"), &secret);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(server.get(&signed).status, 200);

    // DELETE removes an upload waiting for activation.
    let (third, _) = location(&server.send("POST", "/image", &[], &png));
    assert_eq!(areas(&storage, &incoming).1.len(), 1);
    assert_eq!(
        server
            .request("DELETE", &format!("/image/{third}"), &[])
            .status,
        204
    );
    assert!(areas(&storage, &incoming).1.is_empty());
}

#[test]
fn activation_on_a_folder() {
    activation(Storage::folder());
}

#[test]
fn activation_on_s3() {
    activation(Storage::bucket("uploads"));
}

#[test]
fn activation_needs_a_secret_and_a_separate_incoming_area() {
    let storage = Storage::folder();
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(common::binary());
        cmd.args(["sweep", "--older-than", "1h"])
            .env_clear()
            .envs(storage.env())
            .env("UPLOAD_ENABLED", "True");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&[("UPLOAD_ACTIVATION", "True")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("API_SECRET_KEY"), "{stderr}");
    let Storage::Folder(dir) = &storage else {
        unreachable!()
    };
    let inside = dir.path().join("incoming").display().to_string();
    let (code, stderr) = run(&[
        ("UPLOAD_ACTIVATION", "True"),
        ("API_SECRET_KEY", API_SECRET),
        ("INCOMING_FILE_STORAGE_ROOT_PATH", &inside),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("INCOMING_FILE_STORAGE_ROOT_PATH"),
        "{stderr}"
    );
    // Without activation there is nothing to sweep.
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("UPLOAD_ACTIVATION"), "{stderr}");
}

/// Sets a file's modification time `age` in the past.
fn age_file(path: &std::path::Path, age: std::time::Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - age)
        .unwrap();
}

#[test]
fn sweep_removes_old_unactivated_uploads_from_a_folder() {
    let storage = Storage::folder();
    let incoming = tempfile::tempdir().unwrap();
    let env = activation_env(&storage, &incoming);
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = storage.start(&refs);
    let jpeg = image("image.jpg");
    let png = image("1x1.png");
    let bearer = format!("Bearer {API_SECRET}");
    let secret = [("Authorization", bearer.as_str())];
    let day = std::time::Duration::from_secs(24 * 3600);

    // One activated upload (its file made old: active images are never swept), one old and
    // one fresh upload waiting.
    let (active_id, _) = location(&server.send("POST", "/image", &[], &jpeg));
    assert_eq!(
        server
            .request("POST", &format!("/images/{active_id}/activate"), &secret)
            .status,
        200
    );
    let (old_id, _) = location(&server.send("POST", "/image", &[], &png));
    let old_key = folder_objects(incoming.path())[0].0.clone();
    age_file(&incoming.path().join(&old_key), 2 * day);
    let (fresh_id, _) = location(&server.send("POST", "/image", &[], &jpeg));
    let Storage::Folder(active_dir) = &storage else {
        unreachable!()
    };
    for (key, _) in folder_objects(active_dir.path()) {
        age_file(&active_dir.path().join(key), 2 * day);
    }

    let out = std::process::Command::new(common::binary())
        .args(["sweep", "--older-than", "24h"])
        .env_clear()
        .envs(storage.env())
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        "sweep: 2 examined, 1 removed (older than 86400s), 1 kept"
    );

    let waiting = folder_objects(incoming.path());
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].1, jpeg);
    assert_eq!(folder_objects(active_dir.path()).len(), 1);
    assert_eq!(
        server
            .request("POST", &format!("/images/{old_id}/activate"), &secret)
            .status,
        404
    );
    assert_eq!(
        server
            .request("POST", &format!("/images/{fresh_id}/activate"), &secret)
            .status,
        200
    );
    assert_eq!(server.get(&format!("/image/{active_id}")).body, jpeg);
}

/// On S3 the sweep lists the incoming prefix only (mtimes cannot be set there, so the cut-off
/// is now: everything waiting goes, the active image stays).
#[test]
fn sweep_lists_the_incoming_prefix_on_s3() {
    let storage = Storage::bucket("uploads");
    let incoming = tempfile::tempdir().unwrap();
    let env = activation_env(&storage, &incoming);
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = storage.start(&refs);
    let jpeg = image("image.jpg");
    let bearer = format!("Bearer {API_SECRET}");
    let (active_id, _) = location(&server.send("POST", "/image", &[], &jpeg));
    assert_eq!(
        server
            .request(
                "POST",
                &format!("/images/{active_id}/activate"),
                &[("Authorization", bearer.as_str())]
            )
            .status,
        200
    );
    location(&server.send("POST", "/image", &[], &jpeg));
    assert_eq!(areas(&storage, &incoming).1.len(), 1);

    let out = std::process::Command::new(common::binary())
        .args(["sweep", "--older-than", "0s"])
        .env_clear()
        .envs(storage.env())
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sweep: 1 examined, 1 removed (older than 0s), 0 kept"
    );
    let (active, waiting) = areas(&storage, &incoming);
    assert!(waiting.is_empty(), "{waiting:?}");
    assert_eq!(active.len(), 1);
    assert_eq!(server.get(&format!("/image/{active_id}")).body, jpeg);
}
