//! Storage: named byte objects kept outside the process, in a folder ([`file::FileStore`]) or an
//! S3 bucket ([`s3::S3Store`]), behind one small interface, [`Store`]: `get`, `head`, `put`,
//! `delete`, `list`. This layer owns how a key becomes a file or an object (and that a file key
//! never leaves its root), atomic file writes, the S3 client set-up and its settings, S3 error
//! classification and bounded body reads. It knows nothing of Thumbor's URLs or result formats:
//! the loaders (`source`) and result storage (`cache`) map their names to keys and their data
//! to bytes, and both depend on this module, never on each other.
//!
//! Conventions, the same for both stores:
//! - An object that is not there is `Ok(None)` (get, head), never an error, so callers can tell
//!   a miss from an outage.
//! - Failures are [`PictorError`]s already carrying the status a request would get: a key the
//!   store refuses (outside the root; S3 access denied, as Thumbor) is `NotFound`, an object
//!   over the caller's size cap is `TooLarge`, a file system failure is `Internal`, an S3 that
//!   fails or is slow is `BadGateway` / `GatewayTimeout`.

pub mod file;
pub mod s3;

use crate::error::PictorError;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// What is stored with an object besides its bytes. S3 keeps every field as object attributes;
/// a folder has nowhere to keep them, so the file store ignores them (callers that need them in
/// files write them into the bytes, as result storage does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub content_type: Option<String>,
    /// `Cache-Control` S3 serves the object with (CACHE_CONTROL for stored originals).
    pub cache_control: Option<String>,
    /// User metadata (S3 `x-amz-meta-*`), names in lower case.
    pub metadata: BTreeMap<String, String>,
}

/// What `head` (and `get`) tell about a stored object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes, as the store reports it (0 when S3 does not say).
    pub size: u64,
    /// Last write, when the store knows it (expiration is measured from it).
    pub modified: Option<SystemTime>,
    pub attributes: Attributes,
}

/// A stored object read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub body: Bytes,
    pub info: ObjectInfo,
}

/// The most keys one `list` returns, whatever the caller asks: a listing stays bounded.
pub const MAX_LIST_KEYS: usize = 10_000;

/// One configured store.
#[derive(Debug, Clone)]
pub enum Store {
    File(file::FileStore),
    S3(s3::S3Store),
}

impl Store {
    /// The object under `key`, read whole; `TooLarge` as soon as it is over `max_bytes`.
    pub async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Object>, PictorError> {
        match self {
            Store::File(store) => store.get(key.as_bytes(), max_bytes).await,
            Store::S3(store) => store.get(key, max_bytes).await,
        }
    }

    /// What is known about the object under `key`, without reading it.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, PictorError> {
        match self {
            Store::File(store) => store.head(key.as_bytes()).await,
            Store::S3(store) => store.head(key).await,
        }
    }

    /// Stores `body` under `key`, replacing what was there. Readers see the old object or the
    /// new one, never part of one.
    pub async fn put(
        &self,
        key: &str,
        body: Bytes,
        attributes: &Attributes,
    ) -> Result<(), PictorError> {
        match self {
            Store::File(store) => store.put(key.as_bytes(), body).await,
            Store::S3(store) => store.put(key, body, attributes).await,
        }
    }

    /// Removes the object under `key`; removing what is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), PictorError> {
        match self {
            Store::File(store) => store.delete(key.as_bytes()).await,
            Store::S3(store) => store.delete(key).await,
        }
    }

    /// Keys starting with `prefix`, at most `limit` (and [`MAX_LIST_KEYS`]): in key order on
    /// S3; folder by folder, each in name order, in a folder.
    pub async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, PictorError> {
        let limit = limit.min(MAX_LIST_KEYS);
        match self {
            Store::File(store) => store.list(prefix, limit).await,
            Store::S3(store) => store.list(prefix, limit).await,
        }
    }
}
