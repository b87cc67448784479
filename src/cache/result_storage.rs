//! Result storage: rendered bytes and their Content-Type kept outside the process (a folder,
//! or an S3 bucket shared by a fleet and CloudFront), keyed by the request path and the
//! negotiated format. Reads and writes never fail a request: an outage degrades to rendering.
//! The stores themselves (files, S3) are `storage`'s; this module owns the key layouts
//! (Thumbor's and thumbor-aws's), the stored format and metadata, expiration and the outage
//! back-off.

use super::focal_points;
use super::settings::ResultStorageKind;
use super::Rendered;
use crate::config::Config;
use crate::error::PictorError;
use crate::imaging::filters::FocalPoint;
use crate::storage::file::FileStore;
use crate::storage::s3::S3Store;
use crate::storage::Attributes;
use crate::url::{ImageRequest, SignaturePart};
use bytes::Bytes;
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
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

/// A focal-point record is a few hundred bytes; anything larger under its name is not one.
const MAX_FOCAL_POINTS_RECORD: u64 = 64 * 1024;

/// First line of files written by pictor's file storage; files without it (written by
/// Thumbor) are raw image bytes whose type is sniffed.
const FILE_MAGIC: &[u8] = b"PICTOR-RESULT-1\n";

#[derive(Debug, Clone)]
enum Backend {
    Off,
    /// Thumbor's file layout ([`file_key`]); pictor's metadata in a header line of each file.
    File(FileStore),
    /// thumbor-aws's key layout under `root_path` ([`s3_key`]); metadata as object attributes.
    S3 {
        store: S3Store,
        root_path: String,
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
            ResultStorageKind::File => {
                Backend::File(FileStore::new(&config.cache.result_storage.file_root))
            }
            ResultStorageKind::S3 => {
                let s3 = &config.cache.result_storage.s3;
                Backend::S3 {
                    store: S3Store::new(s3),
                    root_path: s3.root_path.clone(),
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

    /// Whether a result storage is configured at all.
    pub fn is_on(&self) -> bool {
        !matches!(self.backend, Backend::Off)
    }

    /// Whether results of this request are read from and written to storage (as Thumbor:
    /// unsafe URLs only with RESULT_STORAGE_STORES_UNSAFE; but a path of nothing but presets
    /// and the image is one of a bounded set, stored however it was asked).
    pub fn applies_to(&self, request: &ImageRequest) -> bool {
        !matches!(self.backend, Backend::Off)
            && (self.stores_unsafe
                || request.signature != SignaturePart::Unsafe
                || request.preset.as_ref().is_some_and(|p| p.preset_only))
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

    /// Whether a fresh result for `path` is stored (a HEAD, not a read), for background work
    /// that only needs to know whether to render. Unlike [`ResultStorage::get`], a storage
    /// failure is the caller's error: a background job must not report a path done (or drop
    /// its queue message) when the store could not be asked.
    pub async fn contains(&self, path: &str, accepts_webp: bool) -> Result<bool, PictorError> {
        let info = match &self.backend {
            Backend::Off => return Ok(false),
            Backend::File(store) => store.head(file_key(path, accepts_webp).as_bytes()).await?,
            Backend::S3 { store, root_path } => {
                store.head(&s3_key(root_path, path, accepts_webp)).await?
            }
        };
        let Some(info) = info else {
            return Ok(false);
        };
        let expired = match (self.expiration, info.modified) {
            (Some(max), Some(modified)) => {
                SystemTime::now()
                    .duration_since(modified)
                    .unwrap_or_default()
                    >= max
            }
            _ => false,
        };
        Ok(!expired)
    }

    /// Stores `rendered` and waits until it is written: background work reports a path done
    /// (and deletes its queue message) only once its result is stored.
    pub async fn store(
        &self,
        path: &str,
        accepts_webp: bool,
        rendered: &Rendered,
    ) -> Result<(), PictorError> {
        if matches!(self.backend, Backend::Off) {
            return Err(PictorError::BadRequest("result storage is off".into()));
        }
        let meta = StoredMeta {
            content_type: rendered.content_type.to_string(),
            vary_accept: rendered.vary_accept,
            max_age: rendered.max_age,
        };
        self.write(path, accepts_webp, rendered.body.clone(), meta)
            .await
    }

    /// The focal-point record stored for the original `key` names (see `focal_points`), or
    /// `None` on a miss or any storage failure (as results: an outage degrades to detecting).
    pub async fn get_focal_points(&self, key: &str) -> Option<Vec<FocalPoint>> {
        if self.in_outage() {
            return None;
        }
        let name = focal_points_key(key);
        let bytes = match &self.backend {
            Backend::Off => return None,
            Backend::File(store) => store.get(name.as_bytes(), MAX_FOCAL_POINTS_RECORD).await,
            Backend::S3 { store, root_path } => {
                store
                    .get(&join_root(root_path, &name), MAX_FOCAL_POINTS_RECORD)
                    .await
            }
        };
        match bytes {
            Ok(found) => found.and_then(|object| focal_points::from_record(&object.body)),
            // Not a record of ours; storage itself works.
            Err(PictorError::TooLarge(_)) => None,
            Err(e) => {
                self.record_outage("read", &e);
                None
            }
        }
    }

    /// Stores the focal points detected in the original `key` names, in the background.
    pub fn put_focal_points(&self, key: &str, points: &[FocalPoint]) {
        if matches!(self.backend, Backend::Off) || self.in_outage() {
            return;
        }
        let storage = self.clone();
        let name = focal_points_key(key);
        let record = Bytes::from(focal_points::to_record(points));
        tokio::spawn(async move {
            let written = match &storage.backend {
                Backend::Off => Ok(()),
                Backend::File(store) => store.put(name.as_bytes(), record).await,
                Backend::S3 { store, root_path } => {
                    let attributes = Attributes {
                        content_type: Some("application/json".to_string()),
                        cache_control: None,
                        metadata: BTreeMap::new(),
                    };
                    store
                        .put(&join_root(root_path, &name), record, &attributes)
                        .await
                }
            };
            if let Err(e) = written {
                storage.record_outage("write", &e);
            }
        });
    }

    async fn read(&self, path: &str, accepts_webp: bool) -> Result<Option<Rendered>, PictorError> {
        let (bytes, meta, modified) = match &self.backend {
            Backend::Off => return Ok(None),
            Backend::File(store) => {
                // Stored files are read whole, whatever their size: they are results this
                // storage wrote (or Thumbor's), not originals.
                let key = file_key(path, accepts_webp);
                let Some(object) = store.get(key.as_bytes(), u64::MAX).await? else {
                    return Ok(None);
                };
                let (meta, body) = split_file(object.body);
                (body, meta, object.info.modified)
            }
            Backend::S3 { store, root_path } => {
                let key = s3_key(root_path, path, accepts_webp);
                let Some(object) = store.get(&key, self.max_bytes).await? else {
                    return Ok(None);
                };
                let meta = s3_meta(&object.info.attributes);
                (object.body, meta, object.info.modified)
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
            Backend::File(store) => {
                let header = serde_json::to_vec(&meta)
                    .map_err(|e| PictorError::Internal(format!("result metadata: {e}")))?;
                let mut contents =
                    Vec::with_capacity(FILE_MAGIC.len() + header.len() + 1 + body.len());
                contents.extend_from_slice(FILE_MAGIC);
                contents.extend_from_slice(&header);
                contents.push(b'\n');
                contents.extend_from_slice(&body);
                // The store writes aside and renames: readers on other instances never see
                // half a file.
                let key = file_key(path, accepts_webp);
                store.put(key.as_bytes(), Bytes::from(contents)).await
            }
            Backend::S3 { store, root_path } => {
                let mut metadata = BTreeMap::new();
                metadata.insert(
                    "pictor-vary-accept".to_string(),
                    if meta.vary_accept { "1" } else { "0" }.to_string(),
                );
                if let Some(max_age) = meta.max_age {
                    metadata.insert("pictor-max-age".to_string(), max_age.to_string());
                }
                let attributes = Attributes {
                    content_type: Some(meta.content_type),
                    cache_control: None,
                    metadata,
                };
                let key = s3_key(root_path, path, accepts_webp);
                store.put(&key, body, &attributes).await
            }
        }
    }
}

/// pictor's metadata of an S3 object; `None` for objects stored without it (by thumbor-aws).
fn s3_meta(attributes: &Attributes) -> Option<StoredMeta> {
    Some(StoredMeta {
        content_type: attributes.content_type.clone()?,
        vary_accept: attributes.metadata.get("pictor-vary-accept")? == "1",
        max_age: attributes
            .metadata
            .get("pictor-max-age")
            .and_then(|v| v.parse().ok()),
    })
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

/// Where an original's focal-point record is stored, relative to the root: beside the results,
/// under a folder no result can be in (every stored result name starts with its signature or
/// `unsafe`, and Thumbor's file layout with `default/` or `auto_webp/`).
pub fn focal_points_key(key: &str) -> String {
    format!(".focal_points/{}/{key}.json", &key[..key.len().min(2)])
}

/// `name` under `root_path` in a bucket (`root/name`, or `name` alone with no root).
fn join_root(root_path: &str, name: &str) -> String {
    let root = root_path.trim_end_matches('/');
    if root.is_empty() {
        name.to_string()
    } else {
        format!("{root}/{name}")
    }
}

/// thumbor-aws's result key: `<root>[/auto_webp]/<stored name without leading />`.
pub fn s3_key(root_path: &str, path: &str, accepts_webp: bool) -> String {
    let mut prefix = root_path.trim_end_matches('/').to_string();
    if accepts_webp {
        prefix.push_str("/auto_webp");
    }
    let decoded = stored_name(path);
    let relative = decoded.trim_start_matches('/');
    let key = join_root(&prefix, relative);
    if key.len() <= MAX_S3_KEY_BYTES {
        key
    } else {
        join_root(
            &prefix,
            &format!("sha1/{:x}", Sha1::digest(relative.as_bytes())),
        )
    }
}

/// Thumbor's file result storage layout under the root:
/// `<default|auto_webp>/<d[0:2]>/<d[2:4]>/<d[4:]>` with `d = sha1(unquote(path))` (pictor's
/// [`stored_name`] in place of `unquote`).
pub fn file_key(path: &str, accepts_webp: bool) -> String {
    let decoded = stored_name(path);
    let digest = format!("{:x}", Sha1::digest(decoded.as_bytes()));
    let folder = if accepts_webp { "auto_webp" } else { "default" };
    format!(
        "{folder}/{}/{}/{}",
        &digest[..2],
        &digest[2..4],
        &digest[4..]
    )
}

/// The file [`file_key`] names under `root`.
pub fn file_path(root: &std::path::Path, path: &str, accepts_webp: bool) -> PathBuf {
    root.join(file_key(path, accepts_webp))
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
