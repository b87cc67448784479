//! Storage of originals (Thumbor's `STORAGE`): the folder or bucket uploads are written to and
//! the loader looks in before its own origin, so what was stored is served like any image.
//! This module owns the settings (`STORAGE`, `FILE_STORAGE_ROOT_PATH`, `AWS_STORAGE_*`) and how
//! an image name becomes a stored key, in Thumbor's layouts, so a folder or bucket Thumbor
//! wrote is read as it is:
//! - `file` (thumbor.storages.file_storage): `<root>/<sha1[..2]>/<sha1[2..]>` of the name;
//! - `s3` (thumbor_aws.storage): `<AWS_STORAGE_ROOT_PATH>/<name, percent-decoded>`.

use crate::config::reader::{expand_home, invalid, ConfigError, Reader};
use crate::error::PictorError;
use crate::storage::file::FileStore;
use crate::storage::s3::{S3Settings, S3Store};
use crate::storage::{Attributes, Object, ObjectInfo, Store};
use bytes::Bytes;
use sha1::{Digest, Sha1};
use std::path::PathBuf;

/// Where originals are stored (`STORAGE`, and `UPLOAD_PHOTO_STORAGE` for uploads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    None,
    File,
    S3,
}

impl StorageKind {
    /// Reads Thumbor's module names and the short ones.
    pub fn parse(key: &str, value: &str) -> Result<StorageKind, ConfigError> {
        match value {
            "" | "None" | "no_storage" | "thumbor.storages.no_storage" => Ok(StorageKind::None),
            "file" | "file_storage" | "thumbor.storages.file_storage" => Ok(StorageKind::File),
            "s3" | "thumbor_aws.storage" => Ok(StorageKind::S3),
            other => Err(invalid(
                key,
                other,
                "supported storages: file, s3 (or thumbor.storages.file_storage, \
                 thumbor_aws.storage), or none",
            )),
        }
    }
}

/// The storage of originals' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettings {
    /// STORAGE: unset (none) unless given; uploads turn on `UPLOAD_PHOTO_STORAGE`'s kind.
    pub kind: StorageKind,
    /// FILE_STORAGE_ROOT_PATH (Thumbor's default `<tmp>/thumbor/storage`).
    pub file_root: PathBuf,
    /// AWS_STORAGE_* (thumbor-aws's names; originals under `/st`).
    pub s3: S3Settings,
    /// CACHE_CONTROL: the `Cache-Control` of stored S3 objects (unset: none).
    pub cache_control: Option<String>,
    /// UPLOAD_ACTIVATION (set from the upload settings): uploads are written to the incoming
    /// area below, and the storage above is the active area the loader reads.
    pub activation: bool,
    /// INCOMING_FILE_STORAGE_ROOT_PATH: the incoming folder of the `file` storage.
    pub incoming_file_root: PathBuf,
    /// INCOMING_AWS_STORAGE_*: the incoming area of the `s3` storage (by default the same
    /// bucket as AWS_STORAGE_*, under `/incoming`).
    pub incoming_s3: S3Settings,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            kind: StorageKind::None,
            file_root: std::env::temp_dir().join("thumbor/storage"),
            s3: S3Settings {
                root_path: "/st".to_string(),
                ..S3Settings::default()
            },
            cache_control: None,
            activation: false,
            incoming_file_root: std::env::temp_dir().join("thumbor/incoming"),
            incoming_s3: S3Settings {
                root_path: "/incoming".to_string(),
                ..S3Settings::default()
            },
        }
    }
}

impl StorageSettings {
    pub fn from_keys(r: &Reader<'_>) -> Result<StorageSettings, ConfigError> {
        let d = StorageSettings::default();
        let s3 = S3Settings::from_keys(r, "AWS_STORAGE", &d.s3)?;
        let incoming_default = S3Settings {
            root_path: d.incoming_s3.root_path.clone(),
            ..s3.clone()
        };
        Ok(StorageSettings {
            kind: StorageKind::parse("STORAGE", &r.string("STORAGE", ""))?,
            file_root: match r.optional_string("FILE_STORAGE_ROOT_PATH") {
                Some(path) => expand_home(&path),
                None => d.file_root,
            },
            incoming_s3: incoming_s3(r, &s3, incoming_default)?,
            s3,
            cache_control: r.optional_string("CACHE_CONTROL"),
            activation: false,
            incoming_file_root: match r.optional_string("INCOMING_FILE_STORAGE_ROOT_PATH") {
                Some(path) => expand_home(&path),
                None => d.incoming_file_root,
            },
        })
    }
}

/// INCOMING_AWS_STORAGE_*: what is not given (the bucket, endpoint, credentials, ACL,
/// region, timeouts) is the active storage's.
fn incoming_s3(
    r: &Reader<'_>,
    active: &S3Settings,
    default: S3Settings,
) -> Result<S3Settings, ConfigError> {
    let mut incoming = S3Settings::from_keys(r, "INCOMING_AWS_STORAGE", &default)?;
    if incoming.endpoint_url.is_none() {
        incoming.endpoint_url = active.endpoint_url.clone();
    }
    if incoming.access_key_id.is_none() {
        incoming.access_key_id = active.access_key_id.clone();
        incoming.secret_access_key = active.secret_access_key.clone();
    }
    if incoming.acl.is_none() {
        incoming.acl = active.acl.clone();
    }
    Ok(incoming)
}

/// The configured storage of originals.
#[derive(Debug, Clone)]
pub struct StoredOriginals {
    store: Store,
    /// AWS_STORAGE_ROOT_PATH (S3 only).
    root_path: String,
    cache_control: Option<String>,
    /// AWS_STORAGE_* (upload grants name the bucket's URL and region).
    s3_settings: S3Settings,
    /// With UPLOAD_ACTIVATION, the incoming area uploads are written to (never loaded from).
    incoming: Option<Box<StoredOriginals>>,
}

/// What `activate` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The upload was in the incoming area and is now active.
    Moved,
    /// It was active already (an activation retried, or one that a crash cut short after the
    /// copy; anything left in the incoming area was removed).
    AlreadyActive,
}

/// What a sweep of the incoming area did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepSummary {
    /// Objects looked at.
    pub examined: usize,
    /// Objects removed (older than the cut-off).
    pub removed: usize,
    /// The listing stopped at MAX_LIST_KEYS: run the sweep again for the rest.
    pub truncated: bool,
}

impl StoredOriginals {
    /// The storage `settings` name, or `None` when there is none. The file storage's root is
    /// created if missing and confined (nothing is written or removed through a symlink that
    /// leaves it).
    pub fn new(settings: &StorageSettings) -> Result<Option<StoredOriginals>, PictorError> {
        let incoming = if settings.activation && settings.kind != StorageKind::None {
            let area = StorageSettings {
                file_root: settings.incoming_file_root.clone(),
                s3: settings.incoming_s3.clone(),
                activation: false,
                ..settings.clone()
            };
            StoredOriginals::new(&area)?.map(Box::new)
        } else {
            None
        };
        let store = match settings.kind {
            StorageKind::None => return Ok(None),
            StorageKind::File => {
                let unusable = |e: std::io::Error| {
                    PictorError::Internal(format!(
                        "FILE_STORAGE_ROOT_PATH {} is not usable: {e}",
                        settings.file_root.display()
                    ))
                };
                std::fs::create_dir_all(&settings.file_root).map_err(unusable)?;
                Store::File(FileStore::confined(&settings.file_root).map_err(unusable)?)
            }
            StorageKind::S3 => Store::S3(S3Store::new(&settings.s3)),
        };
        Ok(Some(StoredOriginals {
            store,
            root_path: settings.s3.root_path.clone(),
            cache_control: settings.cache_control.clone(),
            s3_settings: settings.s3.clone(),
            incoming,
        }))
    }

    /// The incoming area (UPLOAD_ACTIVATION), when there is one.
    pub fn incoming(&self) -> Option<&StoredOriginals> {
        self.incoming.as_deref()
    }

    /// Where new uploads are written: the incoming area with UPLOAD_ACTIVATION, else here.
    pub fn upload_area(&self) -> &StoredOriginals {
        self.incoming().unwrap_or(self)
    }

    /// Moves the upload `name` from the incoming area to this (active) one: copy, then delete,
    /// so a crash in between leaves it in both places and a retry finishes the move.
    /// `Ok(None)` when it is in neither.
    pub async fn activate(
        &self,
        name: &str,
        max_bytes: u64,
    ) -> Result<Option<Activation>, PictorError> {
        let Some(incoming) = self.incoming() else {
            return Err(PictorError::Internal(
                "activation without an incoming area".into(),
            ));
        };
        // The metadata sidecar (moderation) moves first and goes last, so the original is
        // never in either area without it.
        let sidecar = incoming
            .get_at(&incoming.sidecar_key(name), SIDECAR_MAX_BYTES)
            .await?;
        match incoming.get(name, max_bytes).await? {
            Some(object) => {
                if let Some(sidecar) = sidecar {
                    self.store
                        .put(
                            &self.sidecar_key(name),
                            sidecar.body,
                            &sidecar.info.attributes,
                        )
                        .await?;
                }
                let attributes = Attributes {
                    cache_control: self.cache_control.clone(),
                    ..object.info.attributes
                };
                self.store
                    .put(&self.key(name), object.body, &attributes)
                    .await?;
                incoming.delete(name).await?;
                incoming.delete_at(&incoming.sidecar_key(name)).await?;
                Ok(Some(Activation::Moved))
            }
            None => {
                let active = self.head(name).await?;
                if active.is_some() && sidecar.is_some() {
                    // A move cut short after the original's delete: finish it.
                    incoming.delete_at(&incoming.sidecar_key(name)).await?;
                }
                Ok(active.map(|_| Activation::AlreadyActive))
            }
        }
    }

    /// Removes what was written to this area before `cut_off` (the incoming area's
    /// unactivated uploads, for `pictor sweep`). One listing of at most MAX_LIST_KEYS keys.
    pub async fn sweep(&self, cut_off: std::time::SystemTime) -> Result<SweepSummary, PictorError> {
        let keys = self
            .store
            .list(&self.list_prefix(), crate::storage::MAX_LIST_KEYS)
            .await?;
        let mut summary = SweepSummary {
            truncated: keys.len() >= crate::storage::MAX_LIST_KEYS,
            ..SweepSummary::default()
        };
        for key in keys {
            summary.examined += 1;
            let Some(info) = self.store.head(&key).await? else {
                continue;
            };
            if info.modified.is_some_and(|modified| modified < cut_off) {
                self.store.delete(&key).await?;
                summary.removed += 1;
            }
        }
        Ok(summary)
    }

    /// The prefix of every key `key` makes: `<root>/` on S3 (the root's slashes kept), none in
    /// a folder.
    fn list_prefix(&self) -> String {
        match &self.store {
            Store::File(_) => String::new(),
            Store::S3(_) => match self.root_path.trim_end_matches('/') {
                "" => String::new(),
                root => format!("{root}/"),
            },
        }
    }

    /// The keys of this area's metadata sidecars (`….json`), from one listing of at most
    /// MAX_LIST_KEYS keys; `true` when the listing stopped there.
    pub async fn sidecar_keys(&self) -> Result<(Vec<String>, bool), PictorError> {
        let keys = self
            .store
            .list(&self.list_prefix(), crate::storage::MAX_LIST_KEYS)
            .await?;
        let truncated = keys.len() >= crate::storage::MAX_LIST_KEYS;
        let sidecars = keys
            .into_iter()
            .filter(|key| key.ends_with(SIDECAR_SUFFIX))
            .collect();
        Ok((sidecars, truncated))
    }

    /// The key of the metadata sidecar of the image named `name`: the image's key plus
    /// `.json` (as Thumbor keeps its `.crypto` and `.detectors` files beside an image).
    pub fn sidecar_key(&self, name: &str) -> String {
        format!("{}{SIDECAR_SUFFIX}", self.key(name))
    }

    /// The object under a stored `key` (a sidecar's), at most `max_bytes` long.
    pub async fn get_at(&self, key: &str, max_bytes: u64) -> Result<Option<Object>, PictorError> {
        self.store.get(key, max_bytes).await
    }

    /// Stores JSON `body` under a stored `key` (a sidecar's), in one step.
    pub async fn put_json_at(&self, key: &str, body: Bytes) -> Result<(), PictorError> {
        let attributes = Attributes {
            content_type: Some("application/json".to_string()),
            ..Attributes::default()
        };
        self.store.put(key, body, &attributes).await
    }

    pub async fn delete_at(&self, key: &str) -> Result<(), PictorError> {
        self.store.delete(key).await
    }

    /// The key of the image named `name` (Thumbor's quoted image URL, or an upload id).
    pub fn key(&self, name: &str) -> String {
        match &self.store {
            Store::File(_) => file_storage_key(name),
            Store::S3(_) => crate::source::s3::object_location("-", &self.root_path, name).1,
        }
    }

    /// The S3 store and its settings, when the storage is a bucket.
    pub fn s3(&self) -> Option<(&S3Store, &S3Settings)> {
        match &self.store {
            Store::S3(store) => Some((store, &self.s3_settings)),
            Store::File(_) => None,
        }
    }

    /// CACHE_CONTROL.
    pub fn cache_control(&self) -> Option<&str> {
        self.cache_control.as_deref()
    }

    /// The stored original named `name`, at most `max_bytes` long.
    pub async fn get(&self, name: &str, max_bytes: u64) -> Result<Option<Object>, PictorError> {
        self.store.get(&self.key(name), max_bytes).await
    }

    pub async fn head(&self, name: &str) -> Result<Option<ObjectInfo>, PictorError> {
        self.store.head(&self.key(name)).await
    }

    /// Stores `body` as `name` in one step (a rename on disk, one PutObject on S3), with its
    /// content type and CACHE_CONTROL on S3.
    pub async fn put(
        &self,
        name: &str,
        body: Bytes,
        content_type: &str,
        metadata: std::collections::BTreeMap<String, String>,
    ) -> Result<(), PictorError> {
        let attributes = Attributes {
            content_type: Some(content_type.to_string()),
            cache_control: self.cache_control.clone(),
            metadata,
        };
        self.store.put(&self.key(name), body, &attributes).await
    }

    pub async fn delete(&self, name: &str) -> Result<(), PictorError> {
        self.store.delete(&self.key(name)).await
    }

    /// Loads `image_url` from storage, for the loader: `Ok(None)` when it is not stored.
    /// Upload locations name `<id>/<filename>`; when that is not stored under its whole name,
    /// the id alone is tried (as Thumbor's `/image/` handler cuts names to MAX_ID_LENGTH).
    /// Also says the name it was found under (the image URL or the upload id), whose sidecar
    /// is the image's.
    pub async fn load(
        &self,
        image_url: &str,
        max_bytes: u64,
    ) -> Result<Option<(String, Bytes)>, PictorError> {
        if let Some(object) = self.get(image_url, max_bytes).await? {
            return Ok(Some((image_url.to_string(), object.body)));
        }
        match upload_id_of(image_url) {
            Some(id) => Ok(self
                .get(id, max_bytes)
                .await?
                .map(|object| (id.to_string(), object.body))),
            None => Ok(None),
        }
    }
}

/// How a sidecar's key ends.
const SIDECAR_SUFFIX: &str = ".json";
/// The most bytes a sidecar is read with (the parser refuses larger ones anyway).
const SIDECAR_MAX_BYTES: u64 = crate::upload::moderation::sidecar::MAX_SIDECAR_BYTES;

/// Thumbor's file storage layout: the SHA-1 of the name, its first two hex digits a folder.
pub fn file_storage_key(name: &str) -> String {
    let digest = format!("{:x}", Sha1::digest(name.as_bytes()));
    format!("{}/{}", &digest[..2], &digest[2..])
}

/// The id of an upload location `<32 hex digits>/<filename>`.
fn upload_id_of(image_url: &str) -> Option<&str> {
    let (id, filename) = image_url.split_once('/')?;
    (id.len() == 32
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && !filename.is_empty()
        && !filename.contains('/'))
    .then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbor_layouts() {
        // sha1("abc") = a9993e36...
        assert_eq!(
            file_storage_key("abc"),
            "a9/993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            upload_id_of("0123456789abcdef0123456789abcdef/cat.jpg"),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(upload_id_of("0123456789abcdef0123456789abcdef"), None);
        assert_eq!(upload_id_of("photos/cat.jpg"), None);
        assert_eq!(
            upload_id_of("0123456789abcdef0123456789abcdef/a/cat.jpg"),
            None
        );
    }

    #[test]
    fn settings() {
        let s = crate::config::reader::with_pairs(&[], StorageSettings::from_keys).unwrap();
        assert_eq!(s, StorageSettings::default());
        let s = crate::config::reader::with_pairs(
            &[
                ("STORAGE", "thumbor_aws.storage"),
                ("AWS_STORAGE_BUCKET_NAME", "originals"),
                ("CACHE_CONTROL", "max-age=31536000"),
            ],
            StorageSettings::from_keys,
        )
        .unwrap();
        assert_eq!(s.kind, StorageKind::S3);
        assert_eq!(s.s3.bucket, "originals");
        assert_eq!(s.s3.root_path, "/st");
        assert_eq!(s.cache_control.as_deref(), Some("max-age=31536000"));
        assert!(crate::config::reader::with_pairs(
            &[("STORAGE", "thumbor.storages.mixed_storage")],
            StorageSettings::from_keys
        )
        .is_err());
    }
}
