//! Result storage: rendered bytes and their Content-Type kept outside the process (a folder,
//! or an S3 bucket shared by a fleet and CloudFront), keyed by the request path and the
//! negotiated format. Reads and writes never fail a request: an outage degrades to rendering.

use super::settings::ResultStorageKind;
use super::Rendered;
use crate::config::Config;
use crate::error::PictorError;
use crate::url::{ImageRequest, SignaturePart};
use bytes::Bytes;
use sha1::{Digest, Sha1};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// After a storage error, storage is skipped (requests render) for this long, so an outage
/// costs one timeout now and then instead of one per request.
const OUTAGE_BACKOFF: Duration = Duration::from_secs(10);

/// S3 keys are at most 1024 bytes; longer request paths are stored under their SHA-1.
const MAX_S3_KEY_BYTES: usize = 1024;

/// What a stored result says besides its bytes (file header / S3 object metadata).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StoredMeta {
    content_type: String,
    vary_accept: bool,
    max_age: Option<u32>,
}

/// First line of files written by pictor's file storage; files without it (written by
/// Thumbor) are raw image bytes whose type is sniffed.
const FILE_MAGIC: &[u8] = b"PICTOR-RESULT-1\n";

#[derive(Debug, Clone)]
enum Backend {
    Off,
    File(PathBuf),
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        root_path: String,
        acl: Option<String>,
        request_timeout: Duration,
    },
}

/// The configured result storage. Clones share the outage state.
#[derive(Debug, Clone)]
pub struct ResultStorage {
    backend: Backend,
    stores_unsafe: bool,
    expiration: Option<Duration>,
    /// What `Vary: Accept` is for results stored without pictor's metadata.
    auto_webp: bool,
    max_bytes: u64,
    /// Milliseconds since `epoch()` before which storage is skipped.
    skip_until_ms: Arc<AtomicU64>,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl ResultStorage {
    pub fn from_config(config: &Config) -> ResultStorage {
        let backend = match config.cache.result_storage.kind {
            ResultStorageKind::None => Backend::Off,
            ResultStorageKind::File => Backend::File(config.cache.result_storage.file_root.clone()),
            ResultStorageKind::S3 => {
                let s3 = &config.cache.result_storage.s3;
                Backend::S3 {
                    client: crate::source::s3::client(s3),
                    bucket: s3.bucket.clone(),
                    root_path: s3.root_path.clone(),
                    acl: s3.acl.clone(),
                    request_timeout: s3.request_timeout,
                }
            }
        };
        ResultStorage {
            backend,
            stores_unsafe: config.cache.result_storage.stores_unsafe,
            expiration: (config.cache.result_storage.expiration_seconds > 0)
                .then(|| Duration::from_secs(config.cache.result_storage.expiration_seconds)),
            auto_webp: config.imaging.auto_webp,
            max_bytes: config.source.max_source_bytes,
            skip_until_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Whether results of this request are read from and written to storage (as Thumbor:
    /// unsafe URLs only with RESULT_STORAGE_STORES_UNSAFE).
    pub fn applies_to(&self, request: &ImageRequest) -> bool {
        !matches!(self.backend, Backend::Off)
            && (self.stores_unsafe || request.signature != SignaturePart::Unsafe)
    }

    fn in_outage(&self) -> bool {
        now_ms() < self.skip_until_ms.load(Ordering::Relaxed)
    }

    fn record_outage(&self, what: &str, e: &PictorError) {
        let until = now_ms() + u64::try_from(OUTAGE_BACKOFF.as_millis()).unwrap_or(10_000);
        self.skip_until_ms.store(until, Ordering::Relaxed);
        tracing::warn!(
            error = %e,
            "result storage {what} failed; rendering without it for {}s",
            OUTAGE_BACKOFF.as_secs()
        );
    }

    /// The stored result for `path` (the request path as received) and the negotiated format,
    /// or `None` on a miss, an expired entry, or any storage failure (logged).
    pub async fn get(&self, path: &str, accepts_webp: bool) -> Option<Rendered> {
        let metrics = &crate::metrics::METRICS;
        let found = if self.in_outage() {
            None
        } else {
            match self.read(path, accepts_webp).await {
                Ok(found) => found,
                Err(e) => {
                    self.record_outage("read", &e);
                    None
                }
            }
        };
        let counter = if found.is_some() {
            &metrics.result_storage_hits
        } else {
            &metrics.result_storage_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores `rendered` in the background: the response is not delayed, and a failure is
    /// only logged.
    pub fn put(&self, path: &str, accepts_webp: bool, rendered: &Rendered) {
        if matches!(self.backend, Backend::Off) || self.in_outage() {
            return;
        }
        let storage = self.clone();
        let path = path.to_string();
        let body = rendered.body.clone();
        let meta = StoredMeta {
            content_type: rendered.content_type.to_string(),
            vary_accept: rendered.vary_accept,
            max_age: rendered.max_age,
        };
        tokio::spawn(async move {
            if let Err(e) = storage.write(&path, accepts_webp, body, meta).await {
                storage.record_outage("write", &e);
            }
        });
    }

    async fn read(&self, path: &str, accepts_webp: bool) -> Result<Option<Rendered>, PictorError> {
        let (bytes, meta, modified) = match &self.backend {
            Backend::Off => return Ok(None),
            Backend::File(root) => {
                let file = file_path(root, path, accepts_webp);
                let modified = match tokio::fs::metadata(&file).await {
                    Ok(m) if m.is_file() => m.modified().ok(),
                    Ok(_) => return Ok(None),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => {
                        return Err(PictorError::Internal(format!("{}: {e}", file.display())))
                    }
                };
                let raw = match tokio::fs::read(&file).await {
                    Ok(raw) => Bytes::from(raw),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => {
                        return Err(PictorError::Internal(format!("{}: {e}", file.display())))
                    }
                };
                let (meta, body) = split_file(raw);
                (body, meta, modified)
            }
            Backend::S3 {
                client,
                bucket,
                root_path,
                request_timeout,
                ..
            } => {
                let key = s3_key(root_path, path, accepts_webp);
                let what = format!("s3://{bucket}/{key}");
                let fetch = async {
                    let object = match client.get_object().bucket(bucket).key(&key).send().await {
                        Ok(object) => object,
                        Err(e) => {
                            let not_found =
                                e.as_service_error().is_some_and(|s| s.is_no_such_key())
                                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 404);
                            if not_found {
                                return Ok(None);
                            }
                            return Err(crate::source::s3::classify(&what, &e));
                        }
                    };
                    let modified = object
                        .last_modified()
                        .and_then(|t| SystemTime::try_from(*t).ok());
                    let meta = object.metadata().and_then(|m| {
                        Some(StoredMeta {
                            content_type: object.content_type()?.to_string(),
                            vary_accept: m.get("pictor-vary-accept")? == "1",
                            max_age: m.get("pictor-max-age").and_then(|v| v.parse().ok()),
                        })
                    });
                    let length = object.content_length();
                    let body =
                        crate::source::s3::read_body(&what, object.body, length, self.max_bytes)
                            .await?;
                    Ok(Some((body, meta, modified)))
                };
                match tokio::time::timeout(*request_timeout, fetch).await {
                    Ok(Ok(Some(found))) => found,
                    Ok(Ok(None)) => return Ok(None),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        return Err(PictorError::GatewayTimeout(format!(
                            "{what}: not read within {request_timeout:?}"
                        )))
                    }
                }
            }
        };
        if let (Some(max), Some(modified)) = (self.expiration, modified) {
            let age = SystemTime::now()
                .duration_since(modified)
                .unwrap_or_default();
            if age >= max {
                return Ok(None);
            }
        }
        Ok(self.rendered(bytes, meta))
    }

    /// Rebuilds the response. Results stored without pictor's metadata (by Thumbor) get their
    /// type sniffed, as Thumbor does on a hit; unknown bytes are treated as a miss.
    fn rendered(&self, body: Bytes, meta: Option<StoredMeta>) -> Option<Rendered> {
        if body.is_empty() {
            return None;
        }
        let (content_type, vary_accept, max_age) = match meta {
            Some(meta) => (
                known_content_type(&meta.content_type)?,
                meta.vary_accept,
                meta.max_age,
            ),
            None => (sniff_content_type(&body)?, self.auto_webp, None),
        };
        let etag = format!("\"{:x}\"", Sha1::digest(&body));
        Some(Rendered {
            body,
            content_type,
            vary_accept,
            max_age,
            etag,
        })
    }

    async fn write(
        &self,
        path: &str,
        accepts_webp: bool,
        body: Bytes,
        meta: StoredMeta,
    ) -> Result<(), PictorError> {
        match &self.backend {
            Backend::Off => Ok(()),
            Backend::File(root) => {
                let file = file_path(root, path, accepts_webp);
                let io =
                    |e: std::io::Error| PictorError::Internal(format!("{}: {e}", file.display()));
                if let Some(dir) = file.parent() {
                    tokio::fs::create_dir_all(dir).await.map_err(io)?;
                }
                let header = serde_json::to_vec(&meta)
                    .map_err(|e| PictorError::Internal(format!("result metadata: {e}")))?;
                let mut contents =
                    Vec::with_capacity(FILE_MAGIC.len() + header.len() + 1 + body.len());
                contents.extend_from_slice(FILE_MAGIC);
                contents.extend_from_slice(&header);
                contents.push(b'\n');
                contents.extend_from_slice(&body);
                // Write aside and rename: readers on other instances never see half a file.
                let temp = file.with_extension(format!("tmp{}-{}", std::process::id(), now_ms()));
                tokio::fs::write(&temp, contents).await.map_err(io)?;
                if let Err(e) = tokio::fs::rename(&temp, &file).await {
                    let _ = tokio::fs::remove_file(&temp).await;
                    return Err(io(e));
                }
                Ok(())
            }
            Backend::S3 {
                client,
                bucket,
                root_path,
                acl,
                request_timeout,
            } => {
                let key = s3_key(root_path, path, accepts_webp);
                let what = format!("s3://{bucket}/{key}");
                let mut put = client
                    .put_object()
                    .bucket(bucket)
                    .key(&key)
                    .content_type(&meta.content_type)
                    .metadata(
                        "pictor-vary-accept",
                        if meta.vary_accept { "1" } else { "0" },
                    )
                    .body(aws_sdk_s3::primitives::ByteStream::from(body));
                if let Some(max_age) = meta.max_age {
                    put = put.metadata("pictor-max-age", max_age.to_string());
                }
                if let Some(acl) = acl {
                    put = put.acl(aws_sdk_s3::types::ObjectCannedAcl::from(acl.as_str()));
                }
                match tokio::time::timeout(*request_timeout, put.send()).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(crate::source::s3::classify(&what, &e)),
                    Err(_) => Err(PictorError::GatewayTimeout(format!(
                        "{what}: not written within {request_timeout:?}"
                    ))),
                }
            }
        }
    }
}

/// The request path as result storage names it: Thumbor's percent-decoded path, except that
/// escapes of characters that may also stand raw in a path (letters, digits, `-._~`,
/// `!$&'()*+,;=:@`, `/`, and `%` itself) are kept, upper-cased.
///
/// Thumbor decodes everything, so `/unsafe/300x200%2Fa.jpg` (the image `300x200/a.jpg`, at its
/// own size) and `/unsafe/300x200/a.jpg` (`a.jpg` at 300x200) shared one stored result, and
/// whichever came first answered both. Two paths that differ only in how they write the other
/// bytes (`%20` and a space, `%c3%a9` and `%C3%A9`) parse to the same request, so sharing is
/// right for them, and their names stay Thumbor's.
pub fn stored_name(path: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let keeps_escape =
        |byte: u8| byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&byte);
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut encoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| {
                let high = char::from(hex[0]).to_digit(16)?;
                let low = char::from(hex[1]).to_digit(16)?;
                u8::try_from(high * 16 + low).ok()
            });
        match escape {
            Some(byte) => {
                let upper = [
                    b'%',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0x0f)],
                ];
                if keeps_escape(byte) {
                    decoded.extend_from_slice(&upper);
                } else {
                    decoded.push(byte);
                }
                encoded.extend_from_slice(&upper);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                encoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    // Paths that are not UTF-8 once decoded never get this far (the parser answers 400); if
    // one did, a lossy decode could merge it with another, so it keeps every escape instead.
    String::from_utf8(decoded).unwrap_or_else(|_| String::from_utf8_lossy(&encoded).into_owned())
}

/// thumbor-aws's result key: `<root>[/auto_webp]/<stored name without leading />`.
pub fn s3_key(root_path: &str, path: &str, accepts_webp: bool) -> String {
    let mut prefix = root_path.trim_end_matches('/').to_string();
    if accepts_webp {
        prefix.push_str("/auto_webp");
    }
    let decoded = stored_name(path);
    let relative = decoded.trim_start_matches('/');
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", prefix.trim_end_matches('/'))
        }
    };
    let key = join(relative);
    if key.len() <= MAX_S3_KEY_BYTES {
        key
    } else {
        join(&format!("sha1/{:x}", Sha1::digest(relative.as_bytes())))
    }
}

/// Thumbor's file result storage layout: `<root>/<default|auto_webp>/<d[0:2]>/<d[2:4]>/<d[4:]>`
/// with `d = sha1(unquote(path))` (pictor's [`stored_name`] in place of `unquote`).
pub fn file_path(root: &std::path::Path, path: &str, accepts_webp: bool) -> PathBuf {
    let decoded = stored_name(path);
    let digest = format!("{:x}", Sha1::digest(decoded.as_bytes()));
    root.join(if accepts_webp { "auto_webp" } else { "default" })
        .join(&digest[..2])
        .join(&digest[2..4])
        .join(&digest[4..])
}

fn split_file(raw: Bytes) -> (Option<StoredMeta>, Bytes) {
    if !raw.starts_with(FILE_MAGIC) {
        return (None, raw);
    }
    let rest = raw.slice(FILE_MAGIC.len()..);
    let Some(newline) = rest.iter().position(|b| *b == b'\n') else {
        return (None, Bytes::new());
    };
    match serde_json::from_slice::<StoredMeta>(&rest[..newline]) {
        Ok(meta) => (Some(meta), rest.slice(newline + 1..)),
        Err(_) => (None, Bytes::new()),
    }
}

/// The `'static` Content-Type pictor answers for a stored type, if it is one pictor makes.
fn known_content_type(stored: &str) -> Option<&'static str> {
    use crate::imaging::ImageFormat;
    let stored = stored.split(';').next().unwrap_or("").trim();
    [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Gif,
        ImageFormat::Webp,
        ImageFormat::Tiff,
        ImageFormat::Bmp,
        ImageFormat::Avif,
    ]
    .into_iter()
    .map(ImageFormat::mime)
    .chain(["application/json", "text/javascript"])
    .find(|known| known.eq_ignore_ascii_case(stored))
}

fn sniff_content_type(body: &[u8]) -> Option<&'static str> {
    match crate::imaging::decode::sniff(body) {
        Some(format) => Some(format.mime()),
        None if body.first() == Some(&b'{') => Some("application/json"),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigSource;

    #[test]
    fn thumbor_aws_keys() {
        assert_eq!(
            s3_key("/rs", "/unsafe/300x200/photos/a%20b.jpg", false),
            "/rs/unsafe/300x200/photos/a b.jpg"
        );
        assert_eq!(
            s3_key("/rs/", "/unsafe/300x200/a.jpg", true),
            "/rs/auto_webp/unsafe/300x200/a.jpg"
        );
        assert_eq!(s3_key("", "/x/a.jpg", false), "x/a.jpg");
        let long = format!("/unsafe/{}.jpg", "a".repeat(2000));
        let key = s3_key("results", &long, false);
        assert!(key.starts_with("results/sha1/") && key.len() == "results/sha1/".len() + 40);
    }

    #[test]
    fn thumbor_file_layout() {
        let digest = format!("{:x}", Sha1::digest(b"/unsafe/a b.jpg"));
        let path = file_path(std::path::Path::new("/r"), "/unsafe/a%20b.jpg", false);
        assert_eq!(
            path,
            PathBuf::from(format!(
                "/r/default/{}/{}/{}",
                &digest[..2],
                &digest[2..4],
                &digest[4..]
            ))
        );
        assert!(file_path(std::path::Path::new("/r"), "/a", true).starts_with("/r/auto_webp"));
    }

    #[test]
    fn paths_that_decoding_would_merge_get_different_names() {
        // Different requests: the image `300x200/a.jpg`, and `a.jpg` at 300x200.
        assert_ne!(
            stored_name("/unsafe/300x200%2Fa.jpg"),
            stored_name("/unsafe/300x200/a.jpg")
        );
        assert_ne!(
            s3_key("", "/unsafe/300x200%2Fa.jpg", false),
            s3_key("", "/unsafe/300x200/a.jpg", false)
        );
        assert_ne!(
            file_path(std::path::Path::new("/r"), "/unsafe/300x200%2Fa.jpg", false),
            file_path(std::path::Path::new("/r"), "/unsafe/300x200/a.jpg", false)
        );
        // An escaped option word or size character is another request too.
        assert_ne!(
            stored_name("/unsafe/%73mart/a.jpg"),
            stored_name("/unsafe/smart/a.jpg")
        );
        assert_ne!(
            stored_name("/unsafe/300%78200/a.jpg"),
            stored_name("/unsafe/300x200/a.jpg")
        );
        // `%25` stays escaped, so a double-encoded escape does not meet a single one.
        assert_ne!(
            stored_name("/unsafe/300x200%252Fa.jpg"),
            stored_name("/unsafe/300x200%2Fa.jpg")
        );
        assert_ne!(
            stored_name("/unsafe/a%2541.jpg"),
            stored_name("/unsafe/a%41.jpg")
        );
        // What must be escaped in a path is decoded as Thumbor does; hex case does not matter.
        assert_eq!(stored_name("/unsafe/a%20b%C3%A9.jpg"), "/unsafe/a bé.jpg");
        assert_eq!(
            stored_name("/unsafe/a%2fb.jpg"),
            stored_name("/unsafe/a%2Fb.jpg")
        );
        assert_eq!(stored_name("/unsafe/a%zz%2.jpg"), "/unsafe/a%zz%2.jpg");
        assert_eq!(stored_name("/unsafe/a%FF.jpg"), "/unsafe/a%FF.jpg");
    }

    fn file_storage(root: &std::path::Path, extra: &[(&str, &str)]) -> ResultStorage {
        let root = root.to_str().unwrap().to_string();
        let mut pairs = vec![
            ("RESULT_STORAGE", "file"),
            ("RESULT_STORAGE_FILE_STORAGE_ROOT_PATH", root.as_str()),
        ];
        pairs.extend_from_slice(extra);
        let config = Config::from_source(&ConfigSource::from_pairs(pairs)).unwrap();
        ResultStorage::from_config(&config)
    }

    #[tokio::test]
    async fn file_storage_round_trip_and_thumbor_files() {
        let root = tempfile::tempdir().unwrap();
        let storage = file_storage(root.path(), &[]);
        assert!(storage.get("/sig/a.jpg", false).await.is_none());
        let rendered = Rendered {
            body: Bytes::from_static(b"{\"thumbor\": {}}"),
            content_type: "application/json",
            vary_accept: true,
            max_age: Some(60),
            etag: format!("\"{:x}\"", Sha1::digest(b"{\"thumbor\": {}}")),
        };
        storage
            .write(
                "/sig/a.jpg",
                false,
                rendered.body.clone(),
                StoredMeta {
                    content_type: "application/json".into(),
                    vary_accept: true,
                    max_age: Some(60),
                },
            )
            .await
            .unwrap();
        assert_eq!(storage.get("/sig/a.jpg", false).await, Some(rendered));
        assert!(storage.get("/sig/a.jpg", true).await.is_none());

        // A file Thumbor wrote: raw bytes, type sniffed.
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01".to_vec();
        let thumbor_file = file_path(root.path(), "/sig/b.png", false);
        std::fs::create_dir_all(thumbor_file.parent().unwrap()).unwrap();
        std::fs::write(&thumbor_file, &png).unwrap();
        let hit = storage.get("/sig/b.png", false).await.unwrap();
        assert_eq!(hit.content_type, "image/png");
        assert_eq!(&hit.body[..], &png[..]);
    }

    #[tokio::test]
    async fn expired_results_are_misses() {
        let root = tempfile::tempdir().unwrap();
        let storage = file_storage(root.path(), &[("RESULT_STORAGE_EXPIRATION_SECONDS", "1")]);
        let file = file_path(root.path(), "/s/a.gif", false);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"GIF89a\x01\0\x01\0\0\0\0;").unwrap();
        let old = SystemTime::now() - Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(storage.get("/s/a.gif", false).await.is_none());
    }

    #[tokio::test]
    async fn unsafe_paths_only_when_asked() {
        let root = tempfile::tempdir().unwrap();
        let unsafe_request = crate::url::parse_path("/unsafe/a.jpg").unwrap();
        assert!(!file_storage(root.path(), &[]).applies_to(&unsafe_request));
        assert!(
            file_storage(root.path(), &[("RESULT_STORAGE_STORES_UNSAFE", "True")])
                .applies_to(&unsafe_request)
        );
        let config = Config::default();
        assert!(!ResultStorage::from_config(&config).applies_to(&unsafe_request));
    }
}
