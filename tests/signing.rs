//! Black-box tests of URL signing as a service: the /sign endpoint, key rotation, origin
//! verification, sign-on-behalf and ALLOWED_SIZES.

mod common;
use common::{corpus, Server};

const BLOG_KEY: &str = "blog-0123456789abcdef";
const ADMIN_KEY: &str = "admin-0123456789abcdef";

fn signing_server(extra: &[(&str, &str)]) -> Server {
    let root = corpus().join("thumbor");
    let root = root.to_str().unwrap().to_string();
    let apps = format!("images:{BLOG_KEY},admin:{ADMIN_KEY}:*");
    let mut env: Vec<(&str, &str)> = vec![
        ("FILE_LOADER_ROOT_PATH", root.as_str()),
        ("SECURITY_KEY", "my-security-key"),
        ("ALLOW_UNSAFE_URL", "False"),
        ("SIGNING_API_KEYS", apps.as_str()),
        ("PUBLIC_BASE_URL", "https://img.example.com/"),
    ];
    env.extend_from_slice(extra);
    Server::start(&env)
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

#[test]
fn sign_endpoint_signs_like_libthumbor_and_the_result_serves() {
    let server = signing_server(&[]);
    let auth = bearer(BLOG_KEY);
    let r = server.request(
        "GET",
        "/sign?url=300x200/images/image.jpg",
        &[("Authorization", &auth)],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    let signed = body["signed"].as_str().unwrap().to_string();
    let want = format!(
        "/{}/300x200/images/image.jpg",
        pictor::url::signature::sign(b"my-security-key", "300x200/images/image.jpg")
    );
    assert_eq!(signed, want);
    assert_eq!(body["url"], format!("https://img.example.com{want}"));
    let image = server.get(&signed);
    assert_eq!(image.status, 200);
    assert_eq!(image.image_size(), (300, 200));

    // POST forms: one url, a list, structured options.
    let one = server.send(
        "POST",
        "/sign",
        &[("Authorization", &auth)],
        br#"{"url": "300x200/images/image.jpg"}"#,
    );
    assert_eq!(one.json()["signed"], want.as_str());
    let many = server.send(
        "POST",
        "/sign",
        &[("Authorization", &auth)],
        br#"{"urls": ["300x200/images/image.jpg", {"image": "images/image.jpg", "width": 300, "height": 200}]}"#,
    );
    assert_eq!(many.status, 200);
    assert_eq!(many.json()["signed"], serde_json::json!([want, want]));
    assert_eq!(
        many.json()["urls"][1],
        format!("https://img.example.com{want}")
    );
    let structured = server.send(
        "POST",
        "/sign",
        &[("Authorization", &auth)],
        br#"{"image": "images/image.jpg", "width": 100, "height": 100, "fit_in": true, "filters": ["quality(50)"]}"#,
    );
    let signed = structured.json()["signed"].as_str().unwrap().to_string();
    assert!(
        signed.ends_with("/fit-in/100x100/filters:quality(50)/images/image.jpg"),
        "{signed}"
    );
    assert_eq!(server.get(&signed).image_size(), (75, 100));
}

#[test]
fn sign_endpoint_refusals() {
    let server = signing_server(&[]);
    let blog = bearer(BLOG_KEY);
    let admin = bearer(ADMIN_KEY);
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a [u8], u16);
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/sign?url=300x200/images/image.jpg",
            vec![],
            b"",
            401,
        ),
        (
            "GET",
            "/sign?url=300x200/images/image.jpg",
            vec![("Authorization", "Bearer wrong-key-0123456789")],
            b"",
            401,
        ),
        (
            "GET",
            "/sign?url=300x200/filters/source.jpg",
            vec![("Authorization", &blog)],
            b"",
            403,
        ),
        (
            "GET",
            "/sign?url=300x200/images/../filters/source.jpg",
            vec![("Authorization", &blog)],
            b"",
            403,
        ),
        (
            "GET",
            "/sign?url=300x200/images/%2e%2e/filters/source.jpg",
            vec![("Authorization", &blog)],
            b"",
            403,
        ),
        ("GET", "/sign", vec![("Authorization", &blog)], b"", 400),
        (
            "POST",
            "/sign",
            vec![("Authorization", &blog)],
            b"{not json",
            400,
        ),
        (
            "POST",
            "/sign",
            vec![("Authorization", &blog)],
            br#"{"image": "images/a.jpg", "halign": "up"}"#,
            400,
        ),
        (
            "POST",
            "/sign",
            vec![("Authorization", &blog)],
            br#"{"url": "unsafe/images/a.jpg"}"#,
            400,
        ),
        ("PUT", "/sign", vec![("Authorization", &blog)], b"", 405),
        // an app limited to '*' may sign anything
        (
            "GET",
            "/sign?url=300x200/filters/source.jpg",
            vec![("Authorization", &admin)],
            b"",
            200,
        ),
    ];
    for (method, path, headers, body, want) in cases {
        let r = server.send(method, path, &headers, body);
        assert_eq!(
            r.status,
            want,
            "{method} {path} {}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        if want != 200 {
            assert!(r.json()["error"].is_string());
        }
    }
    // Without SIGNING_API_KEYS the endpoint does not exist (it is an imaging path: 400).
    let plain = Server::corpus(&[]);
    assert_eq!(plain.get("/sign?url=300x200/a.jpg").status, 400);
}

#[test]
fn key_rotation_accepts_previous_keys() {
    let server = signing_server(&[("SECURITY_KEYS_PREVIOUS", "old-key-1,old-key-2")]);
    let path = "100x100/images/image.jpg";
    for key in ["my-security-key", "old-key-1", "old-key-2"] {
        let sig = pictor::url::signature::sign(key.as_bytes(), path);
        assert_eq!(server.get(&format!("/{sig}/{path}")).status, 200, "{key}");
    }
    let sig = pictor::url::signature::sign(b"retired-key", path);
    assert_eq!(server.get(&format!("/{sig}/{path}")).status, 400);
    // New signatures come from SECURITY_KEY.
    let signed = server.request(
        "GET",
        &format!("/sign?url={path}"),
        &[("Authorization", &bearer(BLOG_KEY))],
    );
    let want = pictor::url::signature::sign(b"my-security-key", path);
    assert!(signed.json()["signed"]
        .as_str()
        .unwrap()
        .starts_with(&format!("/{want}/")));
}

#[test]
fn origin_verification_and_sign_on_behalf() {
    let root = corpus().join("thumbor/images");
    let server = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root.to_str().unwrap()),
        ("ALLOW_UNSAFE_URL", "False"),
        ("ORIGIN_VERIFY_HEADER", "X-Origin-Verify"),
        ("ORIGIN_VERIFY_SECRET", "cdn-secret"),
        ("SIGN_ON_BEHALF", "True"),
    ]);
    let cdn = [("X-Origin-Verify", "cdn-secret")];
    // The CDN may ask for plain, unsigned paths.
    let r = server.request("GET", "/120x90/image.jpg", &cdn);
    assert_eq!(r.status, 200);
    assert_eq!(r.image_size(), (120, 90));
    // Anyone else: 403, with or without a wrong secret.
    assert_eq!(server.get("/120x90/image.jpg").status, 403);
    assert_eq!(
        server
            .request("GET", "/120x90/image.jpg", &[("X-Origin-Verify", "guess")])
            .status,
        403
    );
    // A properly signed URL still needs the header: the origin only talks to the CDN.
    let sig = pictor::url::signature::sign(b"MY_SECURE_KEY", "120x90/image.jpg");
    assert_eq!(server.get(&format!("/{sig}/120x90/image.jpg")).status, 403);
    assert_eq!(
        server
            .request("GET", &format!("/{sig}/120x90/image.jpg"), &cdn)
            .status,
        200
    );
    // The healthcheck stays open.
    assert_eq!(server.get("/healthcheck").status, 200);

    // Origin verification without sign-on-behalf: signatures are still required.
    let strict = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root.to_str().unwrap()),
        ("ALLOW_UNSAFE_URL", "False"),
        ("ORIGIN_VERIFY_HEADER", "X-Origin-Verify"),
        ("ORIGIN_VERIFY_SECRET", "cdn-secret"),
    ]);
    assert_eq!(strict.request("GET", "/120x90/image.jpg", &cdn).status, 400);
    assert_eq!(
        strict
            .request("GET", &format!("/{sig}/120x90/image.jpg"), &cdn)
            .status,
        200
    );
}

#[test]
fn allowed_sizes_refuse_other_sizes_even_when_unsafe() {
    let root = corpus().join("thumbor/images");
    let server = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root.to_str().unwrap()),
        ("ALLOWED_SIZES", "300x200,fit-in/120x120"),
    ]);
    assert_eq!(server.get("/unsafe/300x200/image.jpg").status, 200);
    assert_eq!(server.get("/unsafe/fit-in/120x120/image.jpg").status, 200);
    for refused in [
        "/unsafe/301x200/image.jpg",
        "/unsafe/image.jpg",
        "/unsafe/120x120/image.jpg",
        "/unsafe/full-fit-in/120x120/image.jpg",
    ] {
        assert_eq!(server.get(refused).status, 400, "{refused}");
    }
}
