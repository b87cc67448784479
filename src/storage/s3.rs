//! The S3 store: objects in one bucket through one shared aws-sdk-s3 client. The client set-up
//! (credentials, timeouts, retries, checksums, S3-compatible endpoints), the settings of a
//! bucket and the readers of their keys (`AWS_LOADER_*`, `AWS_RESULT_STORAGE_*`), the mapping
//! of SDK failures to statuses and the bounded body read live here, once, for every user of S3.

use super::{Attributes, Object, ObjectInfo};
use crate::config::reader::{invalid, ConfigError, Reader};
use crate::error::{cause_chain, PictorError};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, ProvideCredentials, Region, RequestChecksumCalculation,
    ResponseChecksumValidation, SharedCredentialsProvider,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use bytes::{Bytes, BytesMut};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// One S3 bucket as thumbor-aws configures it (AWS_LOADER_* or AWS_RESULT_STORAGE_*). The
/// defaults are thumbor-aws's common ones; each user sets its own root path and timeouts.
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
    /// Applied by the users, whose key layouts differ, not by the store.
    pub root_path: String,
    /// AWS_RESULT_STORAGE_S3_ACL: canned ACL of written objects (result storage only).
    pub acl: Option<String>,
    /// *_CONNECT_TIMEOUT / *_REQUEST_TIMEOUT (seconds): per call, retries included.
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for S3Settings {
    fn default() -> S3Settings {
        S3Settings {
            region: "us-east-1".to_string(),
            bucket: "thumbor".to_string(),
            endpoint_url: None,
            access_key_id: None,
            secret_access_key: None,
            root_path: String::new(),
            acl: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
        }
    }
}

impl S3Settings {
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

/// S3 answers at most this many keys per listing page.
const LIST_PAGE_KEYS: usize = 1000;

/// One bucket through one client. Clones (and [`S3Store::in_bucket`]) share the client and
/// its connection pool.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Canned ACL given to written objects.
    acl: Option<String>,
    /// Bounds each call, the body read included (the SDK's own timeout stops at the headers).
    request_timeout: Duration,
    /// The client's credentials (upload grants sign with them locally).
    credentials: SharedCredentialsProvider,
}

impl S3Store {
    /// The store for `settings`' bucket. Building it never blocks and never needs the
    /// network (credentials are resolved on first use).
    pub fn new(settings: &S3Settings) -> S3Store {
        let credentials = credentials(settings);
        S3Store {
            client: client(settings, credentials.clone()),
            credentials,
            bucket: settings.bucket.clone(),
            acl: settings.acl.clone(),
            request_timeout: settings.request_timeout,
        }
    }

    /// The same client and settings on another bucket (thumbor-aws's loader takes the bucket
    /// from the path when no bucket is configured).
    pub fn in_bucket(&self, bucket: &str) -> S3Store {
        S3Store {
            bucket: bucket.to_string(),
            ..self.clone()
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The credentials the client signs with, from the configured keys or the standard AWS
    /// chain (so grants carry a session token when the chain gives one).
    pub async fn credentials(&self) -> Result<Credentials, PictorError> {
        self.credentials.provide_credentials().await.map_err(|e| {
            PictorError::BadGateway(format!("no AWS credentials: {}", cause_chain(&e)))
        })
    }

    /// A presigned `PUT` of `key` with `content_type`, valid for `expires_in`: the URL and the
    /// headers the client must send with it. Made locally; no S3 call.
    pub async fn presigned_put(
        &self,
        key: &str,
        content_type: &str,
        cache_control: Option<&str>,
        expires_in: Duration,
    ) -> Result<(String, Vec<(String, String)>), PictorError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires_in)
            .map_err(|e| PictorError::Internal(format!("presigning: {e}")))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .set_cache_control(cache_control.map(str::to_string))
            .presigned(config)
            .await
            .map_err(|e| PictorError::Internal(format!("presigning: {}", cause_chain(&e))))?;
        let headers = request
            .headers()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Ok((request.uri().to_string(), headers))
    }

    /// `s3://bucket/key`, as failures name an object.
    pub fn describe(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The object under `key`, read whole; `TooLarge` as soon as it is over `max_bytes`. A
    /// missing key (or bucket) is `None`; access denied is `NotFound` (as Thumbor).
    pub async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Object>, PictorError> {
        let what = self.describe(key);
        let fetch = async {
            let object = match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(object) => object,
                Err(e) if is_missing(&e) => return Ok(None),
                Err(e) => return Err(classify(&what, &e)),
            };
            let declared_length = object.content_length();
            let info = ObjectInfo {
                size: length(declared_length),
                modified: modified(object.last_modified()),
                attributes: attributes(
                    object.content_type(),
                    object.cache_control(),
                    object.metadata(),
                ),
            };
            let body = read_body(&what, object.body, declared_length, max_bytes).await?;
            Ok(Some(Object { body, info }))
        };
        self.within(&what, "read", Box::pin(fetch)).await
    }

    /// What S3 says about the object under `key`, without its body.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, PictorError> {
        let what = self.describe(key);
        let call = async {
            match self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(head) => Ok(Some(ObjectInfo {
                    size: length(head.content_length()),
                    modified: modified(head.last_modified()),
                    attributes: attributes(
                        head.content_type(),
                        head.cache_control(),
                        head.metadata(),
                    ),
                })),
                Err(e) if is_missing(&e) => Ok(None),
                Err(e) => Err(classify(&what, &e)),
            }
        };
        self.within(&what, "read", Box::pin(call)).await
    }

    /// Stores `body` under `key` with its content type, user metadata and the configured ACL.
    /// S3 replaces an object whole: readers never see part of one.
    pub async fn put(
        &self,
        key: &str,
        body: Bytes,
        attributes: &Attributes,
    ) -> Result<(), PictorError> {
        let what = self.describe(key);
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(attributes.content_type.clone())
            .set_cache_control(attributes.cache_control.clone())
            .body(aws_sdk_s3::primitives::ByteStream::from(body));
        for (name, value) in &attributes.metadata {
            put = put.metadata(name, value);
        }
        if let Some(acl) = &self.acl {
            put = put.acl(aws_sdk_s3::types::ObjectCannedAcl::from(acl.as_str()));
        }
        let call = async { put.send().await.map_err(|e| classify(&what, &e)) };
        self.within(&what, "written", Box::pin(call))
            .await
            .map(|_| ())
    }

    /// Removes the object under `key`; S3 answers a missing key as a success.
    pub async fn delete(&self, key: &str) -> Result<(), PictorError> {
        let what = self.describe(key);
        let call = async {
            match self
                .client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if is_missing(&e) => Ok(()),
                Err(e) => Err(classify(&what, &e)),
            }
        };
        self.within(&what, "deleted", Box::pin(call)).await
    }

    /// Keys starting with `prefix`, in key order, at most `limit`: as many pages as needed,
    /// each call bounded by the request timeout.
    pub async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, PictorError> {
        let what = self.describe(prefix);
        let mut keys = Vec::new();
        let mut continuation: Option<String> = None;
        while keys.len() < limit {
            let page_keys = (limit - keys.len()).min(LIST_PAGE_KEYS);
            let page = self
                .list_call(&what, prefix, page_keys, continuation.take(), None)
                .await?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_string))
                    .take(limit - keys.len()),
            );
            match page.next_continuation_token() {
                Some(token) if page.is_truncated() == Some(true) => {
                    continuation = Some(token.to_string())
                }
                _ => break,
            }
        }
        Ok(keys)
    }

    /// One page of keys under `prefix` that sort after `start_after` (at most `limit`, and
    /// one listing call's worth), in key order, with their last-modified times: a walk over a
    /// whole bucket goes page by page, each page starting after the last key of the one before.
    pub async fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Option<SystemTime>)>, PictorError> {
        let what = self.describe(prefix);
        let page = self
            .list_call(
                &what,
                prefix,
                limit.clamp(1, LIST_PAGE_KEYS),
                None,
                start_after.map(str::to_string),
            )
            .await?;
        Ok(page
            .contents()
            .iter()
            .filter_map(|object| {
                let modified = object
                    .last_modified()
                    .and_then(|at| u64::try_from(at.secs()).ok())
                    .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
                Some((object.key()?.to_string(), modified))
            })
            .collect())
    }

    /// One ListObjectsV2 call for at most `max_keys` keys under `prefix`, from a continuation
    /// token or after a key, under the request timeout (`what` names the listing in errors).
    async fn list_call(
        &self,
        what: &str,
        prefix: &str,
        max_keys: usize,
        continuation: Option<String>,
        start_after: Option<String>,
    ) -> Result<ListObjectsV2Output, PictorError> {
        let call = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .max_keys(i32::try_from(max_keys).unwrap_or(1000))
            .set_continuation_token(continuation)
            .set_start_after(start_after)
            .send();
        self.within(
            what,
            "listed",
            Box::pin(async { call.await.map_err(|e| classify(what, &e)) }),
        )
        .await
    }

    /// Runs one call under the request timeout: `GatewayTimeout` ("not <done> within"). The
    /// call comes boxed: the SDK's futures are large and deeply nested, and inline they would
    /// make the request future that awaits a store too deep for the compiler's layout limit
    /// (and large on the stack).
    async fn within<T>(
        &self,
        what: &str,
        done: &str,
        call: Pin<Box<impl Future<Output = Result<T, PictorError>>>>,
    ) -> Result<T, PictorError> {
        tokio::time::timeout(self.request_timeout, call)
            .await
            .map_err(|_| {
                PictorError::GatewayTimeout(format!(
                    "{what}: not {done} within {:?}",
                    self.request_timeout
                ))
            })?
    }
}

/// Static keys when configured, else the standard AWS chain, resolved on first use.
fn credentials(settings: &S3Settings) -> SharedCredentialsProvider {
    match (&settings.access_key_id, &settings.secret_access_key) {
        (Some(id), Some(secret)) => SharedCredentialsProvider::new(Credentials::new(
            id,
            secret,
            None,
            None,
            "pictor-config",
        )),
        _ => default_credentials(&settings.region),
    }
}

/// The standard AWS credential chain for `region`, resolved on first use; also the SQS
/// client's (`jobs::sqs`).
pub fn default_credentials(region: &str) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(LazyDefaultChain {
        region: Region::new(region.to_string()),
        chain: tokio::sync::OnceCell::new(),
    })
}

/// A client for one bucket's settings. Clones share the connection pool. Static keys when
/// configured, else the standard AWS credential chain, resolved on first use (so building the
/// client never blocks and never needs the network).
fn client(settings: &S3Settings, credentials: SharedCredentialsProvider) -> aws_sdk_s3::Client {
    let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .connect_timeout(settings.connect_timeout)
        .operation_timeout(settings.request_timeout)
        .build();
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

/// A missing key or bucket: a miss, not a failure.
fn is_missing<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    e.as_service_error()
        .is_some_and(|service| service.code() == Some("NoSuchKey"))
        || e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
}

/// How an S3 call failed, already mapped to the status the request gets.
fn classify<E>(what: &str, e: &SdkError<E, HttpResponse>) -> PictorError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let cause = cause_chain(e);
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
async fn read_body(
    what: &str,
    mut body: aws_sdk_s3::primitives::ByteStream,
    declared_length: Option<i64>,
    max_bytes: u64,
) -> Result<Bytes, PictorError> {
    let too_large = |n: u64| {
        PictorError::TooLarge(format!(
            "{what}: over the limit of {max_bytes} bytes ({n} bytes or more)"
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
                cause_chain(&e)
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

fn length(content_length: Option<i64>) -> u64 {
    content_length
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

fn modified(last_modified: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<SystemTime> {
    last_modified.and_then(|t| SystemTime::try_from(*t).ok())
}

fn attributes(
    content_type: Option<&str>,
    cache_control: Option<&str>,
    metadata: Option<&std::collections::HashMap<String, String>>,
) -> Attributes {
    Attributes {
        content_type: content_type.map(str::to_string),
        cache_control: cache_control.map(str::to_string),
        metadata: metadata
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
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
        let loader = bucket(&[], "AWS_LOADER", &S3Settings::default()).unwrap();
        assert_eq!(loader.region, "us-east-1");
        assert_eq!(loader.bucket, "thumbor");
        assert_eq!(loader.endpoint_url, None);
        assert_eq!(loader.request_timeout, Duration::from_secs(20));
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
            &S3Settings::default(),
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
        let results_default = S3Settings {
            root_path: "/rs".into(),
            ..S3Settings::default()
        };
        let results = bucket(
            &[
                ("AWS_RESULT_STORAGE_BUCKET_NAME", "results"),
                ("AWS_RESULT_STORAGE_S3_ACL", "private"),
                ("AWS_RESULT_STORAGE_REQUEST_TIMEOUT", "1.5"),
            ],
            "AWS_RESULT_STORAGE",
            &results_default,
        )
        .unwrap();
        assert_eq!(results.bucket, "results");
        assert_eq!(results.root_path, "/rs");
        assert_eq!(results.acl.as_deref(), Some("private"));
        assert_eq!(results.request_timeout, Duration::from_millis(1500));

        let e = bucket(
            &[("AWS_LOADER_S3_ACCESS_KEY_ID", "AKID")],
            "AWS_LOADER",
            &S3Settings::default(),
        )
        .unwrap_err();
        assert_eq!(e.key, "AWS_LOADER_S3_ACCESS_KEY_ID");
        assert!(bucket(
            &[("AWS_RESULT_STORAGE_S3_ENDPOINT_URL", "127.0.0.1:9000")],
            "AWS_RESULT_STORAGE",
            &results_default,
        )
        .is_err());
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_a_gateway_error_not_a_miss() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let store = S3Store::new(&S3Settings {
            endpoint_url: Some(endpoint),
            access_key_id: Some("x".into()),
            secret_access_key: Some("y".into()),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(3),
            ..S3Settings::default()
        });
        for result in [
            store.get("a", 10).await.map(|_| ()),
            store.head("a").await.map(|_| ()),
            store.put("a", Bytes::new(), &Attributes::default()).await,
            store.delete("a").await,
            store.list("", 10).await.map(|_| ()),
        ] {
            assert!(
                matches!(
                    result,
                    Err(PictorError::BadGateway(_) | PictorError::GatewayTimeout(_))
                ),
                "{result:?}"
            );
        }
    }
}
