//! The S3 loader (thumbor-aws's `thumbor_aws.loader`): originals from one bucket under a key
//! prefix, through one shared aws-sdk-s3 client. Also builds the clients the S3 result storage
//! uses, and maps SDK failures to statuses in one place.

use crate::config::reader::{invalid, ConfigError, Reader};
use crate::error::PictorError;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, ProvideCredentials, Region, RequestChecksumCalculation,
    ResponseChecksumValidation, SharedCredentialsProvider,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use bytes::{Bytes, BytesMut};
use std::time::Duration;

/// One S3 bucket as thumbor-aws configures it (AWS_LOADER_* or AWS_RESULT_STORAGE_*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// *_REGION_NAME (default us-east-1).
    pub region: String,
    /// *_BUCKET_NAME (default `thumbor`). Empty: the first path segment names the bucket.
    pub bucket: String,
    /// *_S3_ENDPOINT_URL: an S3-compatible endpoint (path-style addressing is used).
    pub endpoint_url: Option<String>,
    /// *_S3_ACCESS_KEY_ID / *_S3_SECRET_ACCESS_KEY: static keys; without them the standard
    /// AWS credential chain (environment, profile, web identity, ECS, instance metadata).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// *_ROOT_PATH: the key prefix (thumbor-aws: `/st` for the loader, `/rs` for results).
    pub root_path: String,
    /// AWS_RESULT_STORAGE_S3_ACL: canned ACL of written objects (result storage only).
    pub acl: Option<String>,
    /// *_CONNECT_TIMEOUT / *_REQUEST_TIMEOUT (seconds): per call, retries included.
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl S3Settings {
    pub fn loader_default() -> S3Settings {
        S3Settings {
            region: "us-east-1".to_string(),
            bucket: "thumbor".to_string(),
            endpoint_url: None,
            access_key_id: None,
            secret_access_key: None,
            root_path: "/st".to_string(),
            acl: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
        }
    }

    /// Result storage reads sit in front of every render: an outage must cost little.
    pub fn result_storage_default() -> S3Settings {
        S3Settings {
            root_path: "/rs".to_string(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            ..S3Settings::loader_default()
        }
    }

    /// One bucket's settings under `prefix` (`AWS_LOADER` or `AWS_RESULT_STORAGE`).
    pub fn from_keys(
        r: &Reader<'_>,
        prefix: &str,
        default: &S3Settings,
    ) -> Result<S3Settings, ConfigError> {
        let key = |name: &str| format!("{prefix}_{name}");
        let access_key_id = r.optional_string(&key("S3_ACCESS_KEY_ID"));
        let secret_access_key = r.optional_string(&key("S3_SECRET_ACCESS_KEY"));
        if access_key_id.is_some() != secret_access_key.is_some() {
            let (given, missing) = if access_key_id.is_some() {
                ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
            } else {
                ("S3_SECRET_ACCESS_KEY", "S3_ACCESS_KEY_ID")
            };
            return Err(invalid(
                &key(given),
                "(set)",
                &format!("must be set together with {}", key(missing)),
            ));
        }
        let endpoint_url = r.optional_string(&key("S3_ENDPOINT_URL"));
        if let Some(url) = &endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    &key("S3_ENDPOINT_URL"),
                    url,
                    "expected an http:// or https:// URL",
                ));
            }
        }
        let region = r.string(&key("REGION_NAME"), &default.region);
        if region.is_empty() {
            return Err(invalid(&key("REGION_NAME"), "", "must not be empty"));
        }
        Ok(S3Settings {
            region,
            bucket: r.string(&key("BUCKET_NAME"), &default.bucket),
            endpoint_url,
            access_key_id,
            secret_access_key,
            root_path: r.string(&key("ROOT_PATH"), &default.root_path),
            acl: r.optional_string(&key("S3_ACL")),
            connect_timeout: r.seconds(&key("CONNECT_TIMEOUT"), default.connect_timeout)?,
            request_timeout: r.seconds(&key("REQUEST_TIMEOUT"), default.request_timeout)?,
        })
    }
}

/// A client for one bucket's settings. Clones share the connection pool. Static keys when
/// configured, else the standard AWS credential chain, resolved on first use (so building the
/// client never blocks and never needs the network).
pub fn client(settings: &S3Settings) -> aws_sdk_s3::Client {
    let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .connect_timeout(settings.connect_timeout)
        .operation_timeout(settings.request_timeout)
        .build();
    let credentials = match (&settings.access_key_id, &settings.secret_access_key) {
        (Some(id), Some(secret)) => SharedCredentialsProvider::new(Credentials::new(
            id,
            secret,
            None,
            None,
            "pictor-config",
        )),
        _ => SharedCredentialsProvider::new(LazyDefaultChain {
            region: Region::new(settings.region.clone()),
            chain: tokio::sync::OnceCell::new(),
        }),
    };
    let mut builder = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .credentials_provider(credentials)
        .timeout_config(timeouts)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::standard().with_max_attempts(3))
        // Checksums only where S3 requires them: S3-compatible servers (MinIO, R2, moto)
        // differ in how they take the newer trailing checksums.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(endpoint) = &settings.endpoint_url {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// The default credential chain (environment, profile, web identity, ECS, instance metadata),
/// built the first time credentials are needed: building it is async.
#[derive(Debug)]
struct LazyDefaultChain {
    region: Region,
    chain:
        tokio::sync::OnceCell<aws_config::default_provider::credentials::DefaultCredentialsChain>,
}

impl ProvideCredentials for LazyDefaultChain {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            let chain = self
                .chain
                .get_or_init(|| {
                    aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                        .region(self.region.clone())
                        .build()
                })
                .await;
            chain.provide_credentials().await
        })
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

/// How an S3 call failed, already mapped to the status the request gets.
pub(crate) fn classify<E>(what: &str, e: &SdkError<E, HttpResponse>) -> PictorError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let cause = super::http::cause_chain(e);
    match e {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("");
            let message = service.err().message().unwrap_or("");
            let detail = format!("{what}: S3 answered {status} {code} {message}");
            match status {
                // Missing key or bucket, and (as Thumbor) access denied: 404; the cause is
                // in the message, which is logged.
                403 | 404 => PictorError::NotFound(detail),
                _ => PictorError::BadGateway(detail),
            }
        }
        SdkError::TimeoutError(_) => PictorError::GatewayTimeout(format!("{what}: {cause}")),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            PictorError::GatewayTimeout(format!("{what}: {cause}"))
        }
        _ => PictorError::BadGateway(format!("{what}: {cause}")),
    }
}

/// Reads a streamed object body, refusing it as soon as it is over `max_bytes`.
pub(crate) async fn read_body(
    what: &str,
    mut body: aws_sdk_s3::primitives::ByteStream,
    declared_length: Option<i64>,
    max_bytes: u64,
) -> Result<Bytes, PictorError> {
    let too_large = |n: u64| {
        PictorError::TooLarge(format!(
            "{what}: object is over MAX_SOURCE_BYTES={max_bytes} ({n} bytes or more)"
        ))
    };
    let declared = declared_length.and_then(|n| u64::try_from(n).ok());
    if let Some(n) = declared.filter(|n| *n > max_bytes) {
        return Err(too_large(n));
    }
    let mut buffer =
        BytesMut::with_capacity(usize::try_from(declared.unwrap_or(0).min(max_bytes)).unwrap_or(0));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            PictorError::BadGateway(format!(
                "{what}: reading the body failed: {}",
                super::http::cause_chain(&e)
            ))
        })?;
        let total = (buffer.len() + chunk.len()) as u64;
        if total > max_bytes {
            return Err(too_large(total));
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// The loader: AWS_LOADER_* settings, one client.
#[derive(Debug, Clone)]
pub struct S3Loader {
    client: aws_sdk_s3::Client,
    bucket: String,
    root_path: String,
    request_timeout: Duration,
    max_bytes: u64,
}

impl S3Loader {
    pub fn new(settings: &S3Settings, max_bytes: u64) -> S3Loader {
        S3Loader {
            client: client(settings),
            bucket: settings.bucket.clone(),
            root_path: settings.root_path.clone(),
            request_timeout: settings.request_timeout,
            max_bytes,
        }
    }

    /// Loads the object for `image_url`. Missing → 404; access denied → 404 (as Thumbor);
    /// S3 unreachable → 502; slower than AWS_LOADER_REQUEST_TIMEOUT (body included) → 504.
    pub async fn load(&self, image_url: &str) -> Result<Bytes, PictorError> {
        let (bucket, key) = object_location(&self.bucket, &self.root_path, image_url);
        let what = format!("s3://{bucket}/{key}");
        if bucket.is_empty() || key.trim_matches('/').is_empty() {
            return Err(PictorError::NotFound(format!("{what}: no bucket or key")));
        }
        let fetch = async {
            let object = self
                .client
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| classify(&what, &e))?;
            let length = object.content_length();
            read_body(&what, object.body, length, self.max_bytes).await
        };
        let body = tokio::time::timeout(self.request_timeout, fetch)
            .await
            .map_err(|_| {
                PictorError::GatewayTimeout(format!(
                    "{what}: not read within {:?}",
                    self.request_timeout
                ))
            })??;
        if body.is_empty() {
            return Err(PictorError::BadGateway(format!("{what}: empty object")));
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::with_pairs;

    fn bucket(
        pairs: &[(&str, &str)],
        prefix: &str,
        default: &S3Settings,
    ) -> Result<S3Settings, ConfigError> {
        with_pairs(pairs, |r| S3Settings::from_keys(r, prefix, default))
    }

    #[test]
    fn bucket_defaults_are_thumbor_aws() {
        let loader = bucket(&[], "AWS_LOADER", &S3Settings::loader_default()).unwrap();
        assert_eq!(loader.region, "us-east-1");
        assert_eq!(loader.bucket, "thumbor");
        assert_eq!(loader.root_path, "/st");
        assert_eq!(loader.endpoint_url, None);
        let results = S3Settings::result_storage_default();
        assert_eq!(results.root_path, "/rs");
    }

    #[test]
    fn bucket_keys() {
        let loader = bucket(
            &[
                ("AWS_LOADER_REGION_NAME", "eu-west-1"),
                ("AWS_LOADER_BUCKET_NAME", "originals"),
                ("AWS_LOADER_S3_ENDPOINT_URL", "http://127.0.0.1:9000"),
                ("AWS_LOADER_S3_ACCESS_KEY_ID", "AKID"),
                ("AWS_LOADER_S3_SECRET_ACCESS_KEY", "secret"),
                ("AWS_LOADER_ROOT_PATH", "shop"),
            ],
            "AWS_LOADER",
            &S3Settings::loader_default(),
        )
        .unwrap();
        assert_eq!(loader.region, "eu-west-1");
        assert_eq!(loader.bucket, "originals");
        assert_eq!(
            loader.endpoint_url.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(loader.access_key_id.as_deref(), Some("AKID"));
        assert_eq!(loader.root_path, "shop");
        let results = bucket(
            &[
                ("AWS_RESULT_STORAGE_BUCKET_NAME", "results"),
                ("AWS_RESULT_STORAGE_S3_ACL", "private"),
                ("AWS_RESULT_STORAGE_REQUEST_TIMEOUT", "1.5"),
            ],
            "AWS_RESULT_STORAGE",
            &S3Settings::result_storage_default(),
        )
        .unwrap();
        assert_eq!(results.bucket, "results");
        assert_eq!(results.root_path, "/rs");
        assert_eq!(results.acl.as_deref(), Some("private"));
        assert_eq!(results.request_timeout, Duration::from_millis(1500));

        let loader_default = S3Settings::loader_default();
        let e = bucket(
            &[("AWS_LOADER_S3_ACCESS_KEY_ID", "AKID")],
            "AWS_LOADER",
            &loader_default,
        )
        .unwrap_err();
        assert_eq!(e.key, "AWS_LOADER_S3_ACCESS_KEY_ID");
        assert!(bucket(
            &[("AWS_RESULT_STORAGE_S3_ENDPOINT_URL", "127.0.0.1:9000")],
            "AWS_RESULT_STORAGE",
            &S3Settings::result_storage_default(),
        )
        .is_err());
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
