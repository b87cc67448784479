//! Where a test's uploads are stored: a temporary folder (`STORAGE=file`) or a fresh bucket on
//! the test S3 server (`STORAGE=thumbor_aws.storage`, root path `st`). Included with
//! `#[path = "common/upload_storage.rs"] mod upload_storage;` beside `s3_harness`; each test
//! adds the methods it needs (an inherent `impl` may live anywhere in the test crate).

#![allow(dead_code)]

use super::s3_harness::{s3, seed, unique_bucket, S3Endpoint, S3Server};

pub enum Storage {
    Folder(tempfile::TempDir),
    Bucket {
        endpoint: S3Endpoint,
        bucket: String,
        _server: Option<S3Server>,
    },
}

impl Storage {
    pub fn folder() -> Storage {
        Storage::Folder(tempfile::tempdir().unwrap())
    }

    /// An empty bucket whose name starts with `name`.
    pub fn bucket(name: &str) -> Storage {
        let (endpoint, server) = s3();
        let bucket = unique_bucket(name);
        seed(&endpoint, &bucket, &[]);
        Storage::Bucket {
            endpoint,
            bucket,
            _server: server,
        }
    }

    /// The settings that make it the storage of originals.
    pub fn env(&self) -> Vec<(String, String)> {
        let pairs: Vec<(&str, String)> = match self {
            Storage::Folder(dir) => vec![
                ("STORAGE", "file".into()),
                ("FILE_STORAGE_ROOT_PATH", dir.path().display().to_string()),
            ],
            Storage::Bucket {
                endpoint, bucket, ..
            } => vec![
                ("STORAGE", "thumbor_aws.storage".into()),
                ("AWS_STORAGE_BUCKET_NAME", bucket.clone()),
                ("AWS_STORAGE_S3_ENDPOINT_URL", endpoint.url.clone()),
                ("AWS_STORAGE_S3_ACCESS_KEY_ID", endpoint.access_key.clone()),
                (
                    "AWS_STORAGE_S3_SECRET_ACCESS_KEY",
                    endpoint.secret_key.clone(),
                ),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}
