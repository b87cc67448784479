//! The S3 loader (thumbor-aws's `thumbor_aws.loader`): originals from one bucket under a key
//! prefix, read through the S3 store (`storage::s3`, which owns the client and maps S3's
//! failures to statuses). This module only maps Thumbor's `image_url` to a bucket and key.

use crate::error::PictorError;
use crate::storage::s3::{S3Settings, S3Store};
use bytes::Bytes;

/// The loader's defaults: thumbor-aws's, with originals under `/st`.
pub fn default_settings() -> S3Settings {
    S3Settings {
        root_path: "/st".to_string(),
        ..S3Settings::default()
    }
}

/// thumbor-aws's object location for a quoted `image_url`: with an empty bucket setting the
/// first path segment is the bucket; the key is the percent-decoded path without leading
/// slashes, under `root_path` (its trailing slashes dropped: `/st` gives `/st/a.jpg`).
pub fn object_location(bucket: &str, root_path: &str, image_url: &str) -> (String, String) {
    let (bucket, path) = if bucket.is_empty() {
        let trimmed = image_url.trim_start_matches('/');
        match trimmed.split_once('/') {
            Some((bucket, rest)) => (bucket.to_string(), rest.to_string()),
            None => (trimmed.to_string(), String::new()),
        }
    } else {
        (bucket.to_string(), image_url.to_string())
    };
    let decoded = percent_encoding::percent_decode_str(&path).decode_utf8_lossy();
    let relative = decoded.trim_start_matches('/');
    let key = if root_path.is_empty() {
        relative.to_string()
    } else {
        format!("{}/{relative}", root_path.trim_end_matches('/'))
    };
    (bucket, key)
}

/// The loader: AWS_LOADER_* settings, one client.
#[derive(Debug, Clone)]
pub struct S3Loader {
    /// The configured bucket (empty: named by each path).
    store: S3Store,
    root_path: String,
    max_bytes: u64,
}

impl S3Loader {
    pub fn new(settings: &S3Settings, max_bytes: u64) -> S3Loader {
        S3Loader {
            store: S3Store::new(settings),
            root_path: settings.root_path.clone(),
            max_bytes,
        }
    }

    /// Loads the object for `image_url`. Missing → 404; access denied → 404 (as Thumbor);
    /// S3 unreachable → 502; slower than AWS_LOADER_REQUEST_TIMEOUT (body included) → 504.
    pub async fn load(&self, image_url: &str) -> Result<Bytes, PictorError> {
        let (bucket, key) = object_location(self.store.bucket(), &self.root_path, image_url);
        let what = format!("s3://{bucket}/{key}");
        if bucket.is_empty() || key.trim_matches('/').is_empty() {
            return Err(PictorError::NotFound(format!("{what}: no bucket or key")));
        }
        let in_path_bucket;
        let store = if bucket == self.store.bucket() {
            &self.store
        } else {
            in_path_bucket = self.store.in_bucket(&bucket);
            &in_path_bucket
        };
        let object = match store.get(&key, self.max_bytes).await {
            Ok(Some(object)) => object,
            Ok(None) => return Err(PictorError::NotFound(format!("{what}: no such object"))),
            Err(PictorError::TooLarge(why)) => {
                return Err(PictorError::TooLarge(format!("MAX_SOURCE_BYTES: {why}")))
            }
            Err(e) => return Err(e),
        };
        if object.body.is_empty() {
            return Err(PictorError::BadGateway(format!("{what}: empty object")));
        }
        Ok(object.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_defaults_are_thumbor_aws() {
        let defaults = default_settings();
        assert_eq!(defaults.bucket, "thumbor");
        assert_eq!(defaults.root_path, "/st");
        assert_eq!(defaults.request_timeout, std::time::Duration::from_secs(20));
    }

    #[test]
    fn thumbor_aws_object_locations() {
        assert_eq!(
            object_location("thumbor", "/st", "photos/cat.jpg"),
            ("thumbor".into(), "/st/photos/cat.jpg".into())
        );
        assert_eq!(
            object_location("originals", "shop/", "/photos/a%20b%C3%A9.jpg"),
            ("originals".into(), "shop/photos/a bé.jpg".into())
        );
        assert_eq!(
            object_location("originals", "", "photos/cat.jpg"),
            ("originals".into(), "photos/cat.jpg".into())
        );
        assert_eq!(
            object_location("", "", "my-bucket/photos/cat.jpg"),
            ("my-bucket".into(), "photos/cat.jpg".into())
        );
    }
}
