//! What is kept and for how long: the in-memory result cache (MEMORY_CACHE_MB), result
//! storage (RESULT_STORAGE and its keys) and the caching headers clients and CDNs get
//! (MAX_AGE, MAX_AGE_TEMP_IMAGE, ENABLE_ETAGS), read from the configuration keys here.

use crate::config::reader::{expand_home, invalid, ConfigError, Reader};
use crate::storage::s3::S3Settings;
use std::path::PathBuf;
use std::time::Duration;

/// Where rendered results are kept between instances (`RESULT_STORAGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultStorageKind {
    None,
    File,
    S3,
}

fn result_storage_kind(value: &str) -> Result<ResultStorageKind, ConfigError> {
    match value {
        "" | "None" | "no_storage" | "thumbor.result_storages.no_storage" => {
            Ok(ResultStorageKind::None)
        }
        "file" | "file_storage" | "thumbor.result_storages.file_storage" => {
            Ok(ResultStorageKind::File)
        }
        "s3" | "thumbor_aws.result_storage" => Ok(ResultStorageKind::S3),
        other => Err(invalid(
            "RESULT_STORAGE",
            other,
            "supported result storages: file, s3 (or thumbor.result_storages.file_storage, \
             thumbor_aws.result_storage)",
        )),
    }
}

/// Result storage's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultStorageSettings {
    /// RESULT_STORAGE: `file`, `s3` (and Thumbor's module names), or none.
    pub kind: ResultStorageKind,
    /// AWS_RESULT_STORAGE_*.
    pub s3: S3Settings,
    /// RESULT_STORAGE_FILE_STORAGE_ROOT_PATH.
    pub file_root: PathBuf,
    /// RESULT_STORAGE_STORES_UNSAFE: also store (and serve from storage) `/unsafe/` paths.
    pub stores_unsafe: bool,
    /// RESULT_STORAGE_EXPIRATION_SECONDS: stored results older than this are ignored
    /// (0 = never expire).
    pub expiration_seconds: u64,
}

impl Default for ResultStorageSettings {
    fn default() -> Self {
        ResultStorageSettings {
            kind: ResultStorageKind::None,
            // thumbor-aws's results root; short timeouts, because result storage reads sit
            // in front of every render: an outage must cost little.
            s3: S3Settings {
                root_path: "/rs".to_string(),
                connect_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_secs(5),
                ..S3Settings::default()
            },
            file_root: std::env::temp_dir().join("thumbor/result_storage"),
            stores_unsafe: false,
            expiration_seconds: 0,
        }
    }
}

impl ResultStorageSettings {
    pub fn from_keys(r: &Reader<'_>) -> Result<ResultStorageSettings, ConfigError> {
        let d = ResultStorageSettings::default();
        Ok(ResultStorageSettings {
            kind: result_storage_kind(&r.string("RESULT_STORAGE", ""))?,
            s3: S3Settings::from_keys(r, "AWS_RESULT_STORAGE", &d.s3)?,
            file_root: match r.optional_string("RESULT_STORAGE_FILE_STORAGE_ROOT_PATH") {
                Some(path) => expand_home(&path),
                None => d.file_root.clone(),
            },
            stores_unsafe: r.boolean("RESULT_STORAGE_STORES_UNSAFE", d.stores_unsafe)?,
            expiration_seconds: r.number(
                "RESULT_STORAGE_EXPIRATION_SECONDS",
                d.expiration_seconds,
                0,
                u64::MAX,
            )?,
        })
    }
}

/// Caching settings: result storage, the caching headers, the in-memory result cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// RESULT_STORAGE and its keys.
    pub result_storage: ResultStorageSettings,
    /// MAX_AGE: `Cache-Control: max-age` of results; 0 sends no caching headers.
    pub max_age: u32,
    /// MAX_AGE_TEMP_IMAGE: max-age of temporary results (failed smart detection).
    pub max_age_temp_image: u32,
    /// ENABLE_ETAGS: send an ETag and honour If-None-Match.
    pub enable_etags: bool,
    /// MEMORY_CACHE_MB: size of the in-memory result cache; 0 turns it off.
    pub memory_cache_mb: u64,
    /// FOCAL_POINTS_CACHE_ENTRIES: originals whose smart-crop focal points are kept in memory;
    /// 0 turns it off (every smart render detects, unless result storage has a record).
    pub focal_points_cache_entries: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            result_storage: ResultStorageSettings::default(),
            max_age: 86_400,
            max_age_temp_image: 0,
            enable_etags: true,
            memory_cache_mb: 256,
            focal_points_cache_entries: 10_000,
        }
    }
}

impl CacheSettings {
    pub fn from_keys(r: &Reader<'_>) -> Result<CacheSettings, ConfigError> {
        let d = CacheSettings::default();
        Ok(CacheSettings {
            result_storage: ResultStorageSettings::from_keys(r)?,
            max_age: r.number("MAX_AGE", d.max_age.into(), 0, u32::MAX.into())? as u32,
            max_age_temp_image: r.number(
                "MAX_AGE_TEMP_IMAGE",
                d.max_age_temp_image.into(),
                0,
                u32::MAX.into(),
            )? as u32,
            enable_etags: r.boolean("ENABLE_ETAGS", d.enable_etags)?,
            memory_cache_mb: r.number("MEMORY_CACHE_MB", d.memory_cache_mb, 0, 1 << 20)?,
            focal_points_cache_entries: r.number(
                "FOCAL_POINTS_CACHE_ENTRIES",
                d.focal_points_cache_entries,
                0,
                100_000_000,
            )?,
        })
    }

    /// MEMORY_CACHE_MB in bytes.
    pub fn memory_cache_bytes(&self) -> u64 {
        self.memory_cache_mb * 1024 * 1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::with_pairs;

    fn settings(pairs: &[(&str, &str)]) -> Result<CacheSettings, ConfigError> {
        with_pairs(pairs, CacheSettings::from_keys)
    }

    #[test]
    fn defaults_are_thumbors() {
        let c = settings(&[]).unwrap();
        assert_eq!(c.max_age, 86_400);
        assert_eq!(c.max_age_temp_image, 0);
        assert!(c.enable_etags);
        assert_eq!(c.memory_cache_mb, 256);
        let rs = &c.result_storage;
        assert_eq!(rs.kind, ResultStorageKind::None);
        assert_eq!(rs.s3.root_path, "/rs");
        assert_eq!(rs.s3.request_timeout, Duration::from_secs(5));
        assert!(!rs.stores_unsafe);
        assert_eq!(rs.expiration_seconds, 0);
        assert_eq!(settings(&[("MAX_AGE", "3600")]).unwrap().max_age, 3600);
    }

    #[test]
    fn result_storage_keys() {
        let rs = settings(&[
            ("RESULT_STORAGE", "thumbor_aws.result_storage"),
            ("AWS_RESULT_STORAGE_BUCKET_NAME", "results"),
            ("RESULT_STORAGE_STORES_UNSAFE", "True"),
            ("RESULT_STORAGE_EXPIRATION_SECONDS", "3600"),
        ])
        .unwrap()
        .result_storage;
        assert_eq!(rs.kind, ResultStorageKind::S3);
        assert_eq!(rs.s3.bucket, "results");
        assert!(rs.stores_unsafe);
        assert_eq!(rs.expiration_seconds, 3600);
        assert_eq!(
            settings(&[("RESULT_STORAGE", "thumbor.result_storages.file_storage")])
                .unwrap()
                .result_storage
                .kind,
            ResultStorageKind::File
        );
        assert!(settings(&[("RESULT_STORAGE", "redis")]).is_err());
        assert!(settings(&[("AWS_RESULT_STORAGE_S3_ENDPOINT_URL", "127.0.0.1:9000")]).is_err());
    }
}
