//! Typed configuration: Thumbor's key names and defaults, read from a Thumbor-style config file
//! (`KEY = value` lines) and environment variables (which win), validated once at start-up.

use crate::imaging::pipeline::ImagingSettings;
use crate::imaging::transform::ResamplingFilter;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration value that could not be used. The message names the key and the value.
#[derive(Debug, thiserror::Error)]
#[error("config error: {key}={value:?}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

/// An application allowed to use the signing endpoint (`SIGNING_API_KEYS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningApp {
    pub name: String,
    pub key: String,
    /// Every name a path signed for this app loads must lie under this directory prefix
    /// (`<name>/` by default; always ends with `/`; empty means any image). See
    /// `url::confine`.
    pub image_prefix: String,
}

/// One entry of `ALLOWED_SIZES`: a fit-in mode (or none) and a width x height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedSize {
    pub fit_in: Option<crate::url::FitIn>,
    pub width: crate::url::Dimension,
    pub height: crate::url::Dimension,
}

/// Where originals come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoaderKind {
    File,
    Http,
    S3,
    /// Tried in order; the next one is asked only when the previous one did not find the
    /// image (`file,http`, Thumbor's `file_loader_http_fallback`).
    Chain(Vec<LoaderKind>),
}

/// Where rendered results are kept between instances (`RESULT_STORAGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultStorageKind {
    None,
    File,
    S3,
}

/// Which private addresses the HTTP loader may reach (`HTTP_LOADER_ALLOW_PRIVATE_NETWORKS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivateNetworks {
    /// Loopback, private, link-local, metadata and other non-public addresses are refused.
    Refused,
    /// Every address may be fetched (`true`).
    Allowed,
    /// Only these non-public networks may be fetched (`10.1.0.0/16,fd00::/8`).
    Only(Vec<crate::source::ssrf::IpNetwork>),
}

/// How long and how much a client connection may take before the server gives up on it
/// (src/server/connection.rs, src/server/request_body.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// HTTP_HEADER_READ_TIMEOUT_SECONDS: a request's header must be complete this long after
    /// the connection opened (first request) or after its first byte arrived (later requests on
    /// a kept-alive connection); else the connection is closed.
    pub header_read_timeout: Duration,
    /// HTTP_IDLE_TIMEOUT_SECONDS: a kept-alive connection with no request in flight is closed
    /// after this long without a new request.
    pub idle_timeout: Duration,
    /// HTTP_BODY_READ_TIMEOUT_SECONDS: a request body (POST /sign) must arrive within this; past
    /// it, 408.
    pub body_read_timeout: Duration,
    /// MAX_REQUEST_BODY_BYTES: larger request bodies are a 413, refused from Content-Length or
    /// while they stream in.
    pub max_request_body_bytes: u64,
    /// MAX_CONNECTIONS: open client connections; more are refused at once.
    pub max_connections: usize,
    /// SHUTDOWN_TIMEOUT_SECONDS: after SIGTERM, in-flight requests may finish for this long;
    /// then the remaining connections are dropped and the process exits, renders or not.
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_request_body_bytes: 256 * 1024,
            max_connections: default_max_connections(),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// 10,000, or half the process's open-file soft limit when that is lower: the other half is
/// left for the listener, origin fetches, result storage files and the like, so a full house
/// of clients cannot make `accept` or a file open fail.
#[cfg(unix)]
fn default_max_connections() -> usize {
    const CEILING: usize = 10_000;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass, which lives on this stack frame.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if status != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return CEILING;
    }
    let half = usize::try_from(limit.rlim_cur / 2).unwrap_or(CEILING);
    half.clamp(1, CEILING)
}

#[cfg(not(unix))]
fn default_max_connections() -> usize {
    10_000
}

/// The HTTP loader's settings (Thumbor's HTTP_LOADER_* names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLoaderSettings {
    /// HTTP_LOADER_CONNECT_TIMEOUT (seconds, default 5).
    pub connect_timeout: Duration,
    /// HTTP_LOADER_REQUEST_TIMEOUT (seconds, default 20): the whole fetch, body included.
    pub request_timeout: Duration,
    /// HTTP_LOADER_FOLLOW_REDIRECTS (default True).
    pub follow_redirects: bool,
    /// HTTP_LOADER_MAX_REDIRECTS (default 5).
    pub max_redirects: usize,
    /// HTTP_LOADER_DEFAULT_USER_AGENT.
    pub user_agent: String,
    /// ALLOWED_SOURCES: host names (or `^regex$` patterns on the host); empty means any.
    pub allowed_sources: Vec<String>,
    /// HTTP_LOADER_ALLOW_PRIVATE_NETWORKS: the SSRF guard.
    pub private_networks: PrivateNetworks,
}

impl Default for HttpLoaderSettings {
    fn default() -> Self {
        HttpLoaderSettings {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            follow_redirects: true,
            max_redirects: 5,
            user_agent: "Thumbor/7.8.0 (compatible; pictor)".to_string(),
            allowed_sources: Vec::new(),
            private_networks: PrivateNetworks::Refused,
        }
    }
}

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
    fn loader_default() -> S3Settings {
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
    fn result_storage_default() -> S3Settings {
        S3Settings {
            root_path: "/rs".to_string(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            ..S3Settings::loader_default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// SECURITY_KEY: the HMAC key of URL signatures.
    pub security_key: String,
    /// SECURITY_KEYS_PREVIOUS: older keys still accepted when verifying (key rotation).
    pub security_keys_previous: Vec<String>,
    /// SIGNING_API_KEYS: apps allowed to use `/sign` (off when empty).
    pub signing_apps: Vec<SigningApp>,
    /// PUBLIC_BASE_URL: when set, `/sign` also answers full URLs.
    pub public_base_url: Option<String>,
    /// ORIGIN_VERIFY_HEADER / ORIGIN_VERIFY_SECRET: image requests must carry this header
    /// with this value (added by the CDN), else 403.
    pub origin_verify: Option<(http::HeaderName, String)>,
    /// SIGN_ON_BEHALF: unsigned paths are accepted from the verified origin (the CDN).
    pub sign_on_behalf: bool,
    /// ALLOWED_SIZES: when set, every other size is a 400.
    pub allowed_sizes: Option<Vec<AllowedSize>>,
    /// ALLOW_UNSAFE_URL: accept `/unsafe/...` paths.
    pub allow_unsafe_url: bool,
    /// LOADER: `file`, `http`, `s3` (and Thumbor's module names), or a fallback chain
    /// such as `file,http`.
    pub loader: LoaderKind,
    /// FILE_LOADER_ROOT_PATH: the folder the file loader serves (`~` expanded).
    pub file_loader_root_path: PathBuf,
    /// HTTP_LOADER_*, ALLOWED_SOURCES.
    pub http_loader: HttpLoaderSettings,
    /// AWS_LOADER_*.
    pub s3_loader: S3Settings,
    /// MAX_SOURCE_BYTES: originals larger than this are refused while they stream in.
    pub max_source_bytes: u64,
    /// SOURCE_CACHE_MB: originals kept in memory so a burst of sizes loads each once.
    pub source_cache_mb: u64,
    /// RESULT_STORAGE: `file`, `s3` (and Thumbor's module names), or none.
    pub result_storage: ResultStorageKind,
    /// AWS_RESULT_STORAGE_*.
    pub result_storage_s3: S3Settings,
    /// RESULT_STORAGE_FILE_STORAGE_ROOT_PATH.
    pub result_storage_file_root: PathBuf,
    /// RESULT_STORAGE_STORES_UNSAFE: also store (and serve from storage) `/unsafe/` paths.
    pub result_storage_stores_unsafe: bool,
    /// RESULT_STORAGE_EXPIRATION_SECONDS: stored results older than this are ignored
    /// (0 = never expire).
    pub result_storage_expiration_seconds: u64,
    /// MAX_AGE: `Cache-Control: max-age` of results; 0 sends no caching headers.
    pub max_age: u32,
    /// MAX_AGE_TEMP_IMAGE: max-age of temporary results (failed smart detection).
    pub max_age_temp_image: u32,
    /// ENABLE_ETAGS: send an ETag and honour If-None-Match.
    pub enable_etags: bool,
    /// HEALTHCHECK_ROUTE: Thumbor's route pattern (default `/healthcheck/?`).
    pub healthcheck_route: String,
    /// MEMORY_CACHE_MB: size of the in-memory result cache; 0 turns it off.
    pub memory_cache_mb: u64,
    /// MAX_CONCURRENT_RENDERS: renders running at once (default: 2 x cores).
    pub max_concurrent_renders: usize,
    /// MAX_QUEUED_RENDERS: renders that may wait for a slot; more are a 503 (default 4 x cores).
    pub max_queued_renders: usize,
    /// RENDER_MEMORY_MB: memory budget shared by running renders (estimated from headers).
    pub render_memory_mb: u64,
    /// REQUEST_TIMEOUT_SECONDS: deadline for load + queue + render; past it, 504.
    pub request_timeout_seconds: u64,
    /// MAX_FILTER_ASSETS: distinct watermark/frame images one request may name; more are a
    /// 400 before anything is loaded.
    pub max_filter_assets: usize,
    /// META_CALLBACK_NAME: JSONP callback for meta answers when the query gives none.
    pub meta_callback_name: Option<String>,
    /// METRICS_BIND: address of the Prometheus `/metrics` listener (off when unset).
    pub metrics_bind: Option<std::net::SocketAddr>,
    /// PRODUCTION: `serve` refuses to start with Thumbor's unsafe defaults (src/startup_checks.rs)
    /// instead of only warning about them; same as `serve --production`.
    pub production: bool,
    /// Timeouts, body size and connection count of client connections.
    pub connections: ConnectionLimits,
    /// Everything that shapes the image itself.
    pub imaging: ImagingSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            security_key: "MY_SECURE_KEY".to_string(),
            security_keys_previous: Vec::new(),
            signing_apps: Vec::new(),
            public_base_url: None,
            origin_verify: None,
            sign_on_behalf: false,
            allowed_sizes: None,
            allow_unsafe_url: true,
            loader: LoaderKind::File,
            file_loader_root_path: expand_home("~"),
            http_loader: HttpLoaderSettings::default(),
            s3_loader: S3Settings::loader_default(),
            max_source_bytes: 50 * 1024 * 1024,
            source_cache_mb: 64,
            result_storage: ResultStorageKind::None,
            result_storage_s3: S3Settings::result_storage_default(),
            result_storage_file_root: std::env::temp_dir().join("thumbor/result_storage"),
            result_storage_stores_unsafe: false,
            result_storage_expiration_seconds: 0,
            max_age: 86_400,
            max_age_temp_image: 0,
            enable_etags: true,
            healthcheck_route: "/healthcheck/?".to_string(),
            memory_cache_mb: 256,
            // Two renders per core: with one, small renders left a fifth of the CPU idle
            // between a render's end and the next one's start (BENCHMARKS.md, "Render
            // concurrency"); large renders are no slower with two.
            max_concurrent_renders: 2 * default_concurrency(),
            max_queued_renders: 4 * default_concurrency(),
            render_memory_mb: 1024,
            request_timeout_seconds: 30,
            max_filter_assets: 4,
            metrics_bind: None,
            production: false,
            meta_callback_name: None,
            connections: ConnectionLimits::default(),
            imaging: ImagingSettings::default(),
        }
    }
}

fn default_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/".to_string());
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(path),
    }
}

/// Raw `KEY -> value` pairs from the file and the environment; the environment wins.
#[derive(Debug, Default, Clone)]
pub struct ConfigSource {
    values: HashMap<String, String>,
}

impl ConfigSource {
    /// The process environment over an optional Thumbor-style config file.
    pub fn from_env_and_file(file: Option<&Path>) -> Result<ConfigSource, ConfigError> {
        let mut source = ConfigSource::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                key: "--config".into(),
                value: path.display().to_string(),
                reason: e.to_string(),
            })?;
            source.values.extend(parse_config_file(&text));
        }
        source.values.extend(std::env::vars());
        Ok(source)
    }

    /// Only the given pairs (tests, embedding).
    pub fn from_pairs<I, K, V>(pairs: I) -> ConfigSource
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        ConfigSource {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|v| v.trim())
    }
}

/// Reads the simple subset of Thumbor's Python config files that real deployments use:
/// `KEY = 'text'`, `KEY = "text"`, `KEY = True`, `KEY = 80`, `KEY = None`, `# comments`.
/// Lines that are not assignments to an upper-case key are ignored.
pub fn parse_config_file(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        let value = strip_trailing_comment(value.trim());
        if value == "None" {
            continue;
        }
        pairs.push((key.to_string(), unquote_python_literal(value).to_string()));
    }
    pairs
}

fn strip_trailing_comment(value: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return value[..i].trim_end(),
            _ => {}
        }
    }
    value
}

fn unquote_python_literal(value: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

fn invalid(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Thumbor's boolean spellings (plus the usual yes/no/on/off).
fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value {
        "True" | "true" | "TRUE" | "1" | "yes" | "on" => Ok(true),
        "False" | "false" | "FALSE" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(key, value, "expected True or False")),
    }
}

/// An integer, also accepting Python float spellings of whole numbers (`75e6`, `1.0e3`).
fn parse_whole_number(key: &str, value: &str) -> Result<u64, ConfigError> {
    let cleaned = value.replace('_', "");
    if let Ok(n) = cleaned.parse::<u64>() {
        return Ok(n);
    }
    match cleaned.parse::<f64>() {
        Ok(f) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Ok(f as u64),
        _ => Err(invalid(key, value, "expected a whole number ≥ 0")),
    }
}

struct Reader<'a> {
    source: &'a ConfigSource,
}

impl Reader<'_> {
    fn string(&self, key: &str, default: &str) -> String {
        self.source.get(key).unwrap_or(default).to_string()
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        self.source
            .get(key)
            .map_or(Ok(default), |v| parse_bool(key, v))
    }

    fn number(&self, key: &str, default: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
        let Some(value) = self.source.get(key) else {
            return Ok(default);
        };
        let n = parse_whole_number(key, value)?;
        if n < min || n > max {
            return Err(invalid(
                key,
                value,
                &format!("expected a number from {min} to {max}"),
            ));
        }
        Ok(n)
    }

    fn optional_number(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, ConfigError> {
        match self.source.get(key) {
            None | Some("") => Ok(None),
            Some(_) => self.number(key, 0, min, max).map(Some),
        }
    }

    /// A value that is unset when missing or empty.
    fn optional_string(&self, key: &str) -> Option<String> {
        self.source
            .get(key)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Seconds, fractions allowed (Thumbor's timeouts are floats), more than 0.
    fn seconds(&self, key: &str, default: Duration) -> Result<Duration, ConfigError> {
        let Some(value) = self.source.get(key) else {
            return Ok(default);
        };
        match value.parse::<f64>() {
            Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
            _ => Err(invalid(key, value, "expected seconds, more than 0")),
        }
    }

    fn connection_limits(&self, d: &ConnectionLimits) -> Result<ConnectionLimits, ConfigError> {
        Ok(ConnectionLimits {
            header_read_timeout: self
                .seconds("HTTP_HEADER_READ_TIMEOUT_SECONDS", d.header_read_timeout)?,
            idle_timeout: self.seconds("HTTP_IDLE_TIMEOUT_SECONDS", d.idle_timeout)?,
            body_read_timeout: self
                .seconds("HTTP_BODY_READ_TIMEOUT_SECONDS", d.body_read_timeout)?,
            max_request_body_bytes: self.number(
                "MAX_REQUEST_BODY_BYTES",
                d.max_request_body_bytes,
                1,
                1 << 30,
            )?,
            max_connections: self.number("MAX_CONNECTIONS", d.max_connections as u64, 1, 1 << 20)?
                as usize,
            shutdown_timeout: self.seconds("SHUTDOWN_TIMEOUT_SECONDS", d.shutdown_timeout)?,
        })
    }

    /// One bucket's settings under `prefix` (`AWS_LOADER` or `AWS_RESULT_STORAGE`).
    fn s3(&self, prefix: &str, default: &S3Settings) -> Result<S3Settings, ConfigError> {
        let key = |name: &str| format!("{prefix}_{name}");
        let access_key_id = self.optional_string(&key("S3_ACCESS_KEY_ID"));
        let secret_access_key = self.optional_string(&key("S3_SECRET_ACCESS_KEY"));
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
        let endpoint_url = self.optional_string(&key("S3_ENDPOINT_URL"));
        if let Some(url) = &endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    &key("S3_ENDPOINT_URL"),
                    url,
                    "expected an http:// or https:// URL",
                ));
            }
        }
        let region = self.string(&key("REGION_NAME"), &default.region);
        if region.is_empty() {
            return Err(invalid(&key("REGION_NAME"), "", "must not be empty"));
        }
        Ok(S3Settings {
            region,
            bucket: self.string(&key("BUCKET_NAME"), &default.bucket),
            endpoint_url,
            access_key_id,
            secret_access_key,
            root_path: self.string(&key("ROOT_PATH"), &default.root_path),
            acl: self.optional_string(&key("S3_ACL")),
            connect_timeout: self.seconds(&key("CONNECT_TIMEOUT"), default.connect_timeout)?,
            request_timeout: self.seconds(&key("REQUEST_TIMEOUT"), default.request_timeout)?,
        })
    }

    fn http_loader(&self) -> Result<HttpLoaderSettings, ConfigError> {
        let d = HttpLoaderSettings::default();
        let allowed_sources = list(&self.string("ALLOWED_SOURCES", ""));
        for pattern in &allowed_sources {
            crate::source::http::AllowedSource::parse(pattern)
                .map_err(|reason| invalid("ALLOWED_SOURCES", pattern, &reason))?;
        }
        let private_networks = match self.string("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "") {
            text if text.is_empty() => PrivateNetworks::Refused,
            text => match parse_bool("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", &text) {
                Ok(true) => PrivateNetworks::Allowed,
                Ok(false) => PrivateNetworks::Refused,
                Err(_) => PrivateNetworks::Only(
                    list(&text)
                        .iter()
                        .map(|net| {
                            net.parse().map_err(|_| {
                                invalid(
                                    "HTTP_LOADER_ALLOW_PRIVATE_NETWORKS",
                                    net,
                                    "expected True, False or a list of networks (10.0.0.0/8)",
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                ),
            },
        };
        Ok(HttpLoaderSettings {
            connect_timeout: self.seconds("HTTP_LOADER_CONNECT_TIMEOUT", d.connect_timeout)?,
            request_timeout: self.seconds("HTTP_LOADER_REQUEST_TIMEOUT", d.request_timeout)?,
            follow_redirects: self.boolean("HTTP_LOADER_FOLLOW_REDIRECTS", d.follow_redirects)?,
            max_redirects: self.number(
                "HTTP_LOADER_MAX_REDIRECTS",
                d.max_redirects as u64,
                0,
                100,
            )? as usize,
            user_agent: self.string("HTTP_LOADER_DEFAULT_USER_AGENT", &d.user_agent),
            allowed_sources,
            private_networks,
        })
    }
}

/// One LOADER name; `None` when unknown.
fn loader_kind(name: &str) -> Option<LoaderKind> {
    match name {
        "file" | "file_loader" | "thumbor.loaders.file_loader" => Some(LoaderKind::File),
        "http" | "http_loader" | "thumbor.loaders.http_loader" => Some(LoaderKind::Http),
        "s3" | "thumbor_aws.loader" => Some(LoaderKind::S3),
        "file_loader_http_fallback" | "thumbor.loaders.file_loader_http_fallback" => {
            Some(LoaderKind::Chain(vec![LoaderKind::File, LoaderKind::Http]))
        }
        _ => None,
    }
}

/// LOADER: one name, or a comma-separated fallback chain (`file,http`).
fn loader(value: &str) -> Result<LoaderKind, ConfigError> {
    let names = list(value);
    let mut kinds = names
        .iter()
        .map(|name| {
            loader_kind(name).ok_or_else(|| {
                invalid(
                    "LOADER",
                    name,
                    "supported loaders: file, http, s3 (or thumbor.loaders.file_loader, \
                     thumbor.loaders.http_loader, thumbor_aws.loader, \
                     thumbor.loaders.file_loader_http_fallback), or a chain such as file,http",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    match kinds.len() {
        0 => Err(invalid("LOADER", value, "must name a loader")),
        1 => Ok(kinds.remove(0)),
        _ => Ok(LoaderKind::Chain(kinds)),
    }
}

/// RESAMPLING_FILTER, or Thumbor's PILLOW_RESAMPLING_FILTER when only that is set.
fn resampling_filter(r: &Reader<'_>) -> Result<ResamplingFilter, ConfigError> {
    let setting = ["RESAMPLING_FILTER", "PILLOW_RESAMPLING_FILTER"]
        .into_iter()
        .find_map(|key| r.optional_string(key).map(|value| (key, value)));
    let Some((key, value)) = setting else {
        return Ok(ResamplingFilter::default());
    };
    ResamplingFilter::from_name(&value).ok_or_else(|| {
        invalid(
            key,
            &value,
            "expected lanczos3 (LANCZOS), bicubic, mitchell, bilinear, hamming, box, gaussian \
             or nearest",
        )
    })
}

fn result_storage(value: &str) -> Result<ResultStorageKind, ConfigError> {
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

impl Config {
    /// Reads and validates every key; the first bad value is the error.
    pub fn from_source(source: &ConfigSource) -> Result<Config, ConfigError> {
        let r = Reader { source };
        let d = Config::default();
        let di = &d.imaging;

        let loader = loader(&r.string("LOADER", "file"))?;
        let root = r.string("FILE_LOADER_ROOT_PATH", "~");
        let healthcheck_route = r.string("HEALTHCHECK_ROUTE", &d.healthcheck_route);
        if !healthcheck_route.starts_with('/') {
            return Err(invalid(
                "HEALTHCHECK_ROUTE",
                &healthcheck_route,
                "must start with /",
            ));
        }
        let security_key = r.string("SECURITY_KEY", &d.security_key);
        if security_key.is_empty() {
            return Err(invalid("SECURITY_KEY", "", "must not be empty"));
        }

        let origin_verify = origin_verify(&r)?;
        let sign_on_behalf = r.boolean("SIGN_ON_BEHALF", false)?;
        if sign_on_behalf && origin_verify.is_none() {
            return Err(invalid(
                "SIGN_ON_BEHALF",
                "True",
                "needs ORIGIN_VERIFY_HEADER and ORIGIN_VERIFY_SECRET, so only the CDN may send unsigned paths",
            ));
        }

        Ok(Config {
            security_key,
            security_keys_previous: list(&r.string("SECURITY_KEYS_PREVIOUS", "")),
            signing_apps: signing_apps(&r.string("SIGNING_API_KEYS", ""))?,
            public_base_url: r
                .source
                .get("PUBLIC_BASE_URL")
                .filter(|v| !v.is_empty())
                .map(|v| v.trim_end_matches('/').to_string()),
            origin_verify,
            sign_on_behalf,
            allowed_sizes: allowed_sizes(&r.string("ALLOWED_SIZES", ""))?,
            allow_unsafe_url: r.boolean("ALLOW_UNSAFE_URL", d.allow_unsafe_url)?,
            loader,
            file_loader_root_path: expand_home(&root),
            http_loader: r.http_loader()?,
            s3_loader: r.s3("AWS_LOADER", &d.s3_loader)?,
            max_source_bytes: r.number("MAX_SOURCE_BYTES", d.max_source_bytes, 1, u64::MAX)?,
            source_cache_mb: r.number("SOURCE_CACHE_MB", d.source_cache_mb, 0, 1 << 20)?,
            result_storage: result_storage(&r.string("RESULT_STORAGE", ""))?,
            result_storage_s3: r.s3("AWS_RESULT_STORAGE", &d.result_storage_s3)?,
            result_storage_file_root: match r
                .optional_string("RESULT_STORAGE_FILE_STORAGE_ROOT_PATH")
            {
                Some(path) => expand_home(&path),
                None => d.result_storage_file_root.clone(),
            },
            result_storage_stores_unsafe: r.boolean(
                "RESULT_STORAGE_STORES_UNSAFE",
                d.result_storage_stores_unsafe,
            )?,
            result_storage_expiration_seconds: r.number(
                "RESULT_STORAGE_EXPIRATION_SECONDS",
                d.result_storage_expiration_seconds,
                0,
                u64::MAX,
            )?,
            max_age: r.number("MAX_AGE", d.max_age.into(), 0, u32::MAX.into())? as u32,
            max_age_temp_image: r.number(
                "MAX_AGE_TEMP_IMAGE",
                d.max_age_temp_image.into(),
                0,
                u32::MAX.into(),
            )? as u32,
            enable_etags: r.boolean("ENABLE_ETAGS", d.enable_etags)?,
            healthcheck_route,
            memory_cache_mb: r.number("MEMORY_CACHE_MB", d.memory_cache_mb, 0, 1 << 20)?,
            max_concurrent_renders: r.number(
                "MAX_CONCURRENT_RENDERS",
                d.max_concurrent_renders as u64,
                1,
                4096,
            )? as usize,
            max_queued_renders: r.number(
                "MAX_QUEUED_RENDERS",
                d.max_queued_renders as u64,
                0,
                1 << 20,
            )? as usize,
            render_memory_mb: r.number("RENDER_MEMORY_MB", d.render_memory_mb, 1, 1 << 30)?,
            request_timeout_seconds: r.number(
                "REQUEST_TIMEOUT_SECONDS",
                d.request_timeout_seconds,
                1,
                86_400,
            )?,
            max_filter_assets: r.number("MAX_FILTER_ASSETS", d.max_filter_assets as u64, 0, 1024)?
                as usize,
            meta_callback_name: Some(r.string("META_CALLBACK_NAME", ""))
                .filter(|name| !name.is_empty()),
            metrics_bind: match r.string("METRICS_BIND", "").as_str() {
                "" => None,
                text => Some(
                    text.parse()
                        .map_err(|_| invalid("METRICS_BIND", text, "expected IP:PORT"))?,
                ),
            },
            production: r.boolean("PRODUCTION", d.production)?,
            connections: r.connection_limits(&d.connections)?,
            imaging: ImagingSettings {
                quality: r.number("QUALITY", di.quality.into(), 1, 100)? as u8,
                webp_quality: r.optional_number("WEBP_QUALITY", 1, 100)?.map(|q| q as u8),
                progressive_jpeg: r.boolean("PROGRESSIVE_JPEG", di.progressive_jpeg)?,
                png_compression_level: r.number(
                    "PNG_COMPRESSION_LEVEL",
                    di.png_compression_level.into(),
                    0,
                    9,
                )? as u8,
                webp_method: r.number("WEBP_METHOD", di.webp_method.into(), 0, 6)? as u8,
                auto_webp: r.boolean("AUTO_WEBP", di.auto_webp)?,
                auto_avif: r.boolean("AUTO_AVIF", di.auto_avif)?,
                avif_quality: r.optional_number("AVIF_QUALITY", 1, 100)?.map(|q| q as u8),
                avif_speed: r.number("AVIF_SPEED", di.avif_speed.into(), 1, 10)? as u8,
                auto_png_to_jpg: r.boolean("AUTO_PNG_TO_JPG", di.auto_png_to_jpg)?,
                respect_orientation: r.boolean("RESPECT_ORIENTATION", di.respect_orientation)?,
                max_width: r.number("MAX_WIDTH", di.max_width.into(), 0, u32::MAX.into())? as u32,
                max_height: r.number("MAX_HEIGHT", di.max_height.into(), 0, u32::MAX.into())?
                    as u32,
                max_pixels: r.number("MAX_PIXELS", di.max_pixels, 1, u64::MAX)?,
                max_jpeg_scans: r.number(
                    "MAX_JPEG_SCANS",
                    di.max_jpeg_scans.into(),
                    0,
                    u32::MAX.into(),
                )? as u32,
                allow_animated_gifs: r.boolean("ALLOW_ANIMATED_GIFS", di.allow_animated_gifs)?,
                resampling_filter: resampling_filter(&r)?,
            },
        })
    }

    /// Keys that verify signatures: SECURITY_KEY first, then SECURITY_KEYS_PREVIOUS.
    pub fn verification_keys(&self) -> Vec<&[u8]> {
        std::iter::once(&self.security_key)
            .chain(&self.security_keys_previous)
            .map(|k| k.as_bytes())
            .collect()
    }

    /// MEMORY_CACHE_MB in bytes.
    pub fn memory_cache_bytes(&self) -> u64 {
        self.memory_cache_mb * 1024 * 1024
    }

    /// SOURCE_CACHE_MB in bytes.
    pub fn source_cache_bytes(&self) -> u64 {
        self.source_cache_mb * 1024 * 1024
    }
}

/// A comma-separated list (also accepting a Python list literal `['a', 'b']`).
fn list(value: &str) -> Vec<String> {
    value
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|item| unquote_python_literal(item.trim()).trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

/// `app:key` (images under `app/`), `app:key:prefix` (a folder: `/` is added when missing)
/// or `app:key:*` (any image).
fn signing_apps(value: &str) -> Result<Vec<SigningApp>, ConfigError> {
    list(value)
        .into_iter()
        .map(|entry| {
            let mut parts = entry.splitn(3, ':');
            let (Some(name), Some(key)) = (parts.next(), parts.next()) else {
                return Err(invalid(
                    "SIGNING_API_KEYS",
                    &entry,
                    "expected app:key[:prefix]",
                ));
            };
            if name.is_empty() || key.len() < 16 {
                return Err(invalid(
                    "SIGNING_API_KEYS",
                    name,
                    "needs an app name and a key of at least 16 characters",
                ));
            }
            let image_prefix = match parts.next() {
                None => format!("{name}/"),
                Some("*") => String::new(),
                Some(prefix) => crate::url::confine::directory_prefix(prefix)
                    // The prefix, not the entry: the entry holds the key.
                    .map_err(|why| invalid("SIGNING_API_KEYS", prefix, &why))?,
            };
            Ok(SigningApp {
                name: name.to_string(),
                key: key.to_string(),
                image_prefix,
            })
        })
        .collect()
}

fn origin_verify(r: &Reader<'_>) -> Result<Option<(http::HeaderName, String)>, ConfigError> {
    let header = r.string("ORIGIN_VERIFY_HEADER", "");
    let secret = r.string("ORIGIN_VERIFY_SECRET", "");
    match (header.is_empty(), secret.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => {
            let name = http::HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| invalid("ORIGIN_VERIFY_HEADER", &header, "not a header name"))?;
            Ok(Some((name, secret)))
        }
        (true, false) => Err(invalid(
            "ORIGIN_VERIFY_HEADER",
            "",
            "must be set together with ORIGIN_VERIFY_SECRET",
        )),
        (false, true) => Err(invalid(
            "ORIGIN_VERIFY_SECRET",
            "",
            "must be set together with ORIGIN_VERIFY_HEADER",
        )),
    }
}

/// `300x200,600x400,fit-in/1200x1200,adaptive-full-fit-in/100x100,0x0`.
fn allowed_sizes(value: &str) -> Result<Option<Vec<AllowedSize>>, ConfigError> {
    let entries = list(value);
    if entries.is_empty() {
        return Ok(None);
    }
    let parsed = entries
        .iter()
        .map(|entry| {
            let bad = || invalid("ALLOWED_SIZES", entry, "expected [fit-in mode/]WxH");
            // Parse it as the options of a path so the grammar is exactly Thumbor's.
            let request =
                crate::url::parse_path(&format!("/unsafe/{entry}/probe")).map_err(|_| bad())?;
            let only_a_size = request.image == "probe"
                && !request.debug
                && !request.meta
                && !request.smart
                && request.trim.is_none()
                && request.crop.is_none()
                && request.filters.is_none()
                && request.halign == crate::url::HAlign::Center
                && request.valign == crate::url::VAlign::Middle;
            if !only_a_size {
                return Err(bad());
            }
            Ok(AllowedSize {
                fit_in: request.fit_in,
                width: request.width,
                height: request.height,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_source(&ConfigSource::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_are_thumbors() {
        let c = config(&[]).unwrap();
        assert_eq!(c.security_key, "MY_SECURE_KEY");
        assert!(c.allow_unsafe_url);
        assert_eq!(c.max_age, 86_400);
        assert_eq!(c.max_age_temp_image, 0);
        assert!(c.enable_etags);
        assert_eq!(c.healthcheck_route, "/healthcheck/?");
        assert_eq!(c.memory_cache_mb, 256);
        assert_eq!(c.max_filter_assets, 4);
        assert_eq!(
            config(&[("MAX_FILTER_ASSETS", "0")])
                .unwrap()
                .max_filter_assets,
            0
        );
        assert!(config(&[("MAX_FILTER_ASSETS", "many")]).is_err());
        assert_eq!(c.imaging.quality, 80);
        assert_eq!(c.imaging.webp_quality, None);
        assert!(c.imaging.progressive_jpeg);
        assert_eq!(c.imaging.png_compression_level, 6);
        assert!(!c.imaging.auto_webp);
        assert!(!c.imaging.respect_orientation);
        assert_eq!(c.imaging.max_pixels, 75_000_000);
        assert_eq!((c.imaging.max_width, c.imaging.max_height), (0, 0));
        assert_eq!(c.max_concurrent_renders, 2 * default_concurrency());
        assert_eq!(c.max_queued_renders, 4 * default_concurrency());
    }

    #[test]
    fn thumbor_boolean_spellings() {
        for (text, want) in [
            ("True", true),
            ("true", true),
            ("1", true),
            ("False", false),
            ("false", false),
            ("0", false),
        ] {
            let c = config(&[("AUTO_WEBP", text)]).unwrap();
            assert_eq!(c.imaging.auto_webp, want, "{text}");
        }
    }

    #[test]
    fn bad_values_name_the_key_and_value() {
        let e = config(&[("QUALITY", "abc")]).unwrap_err();
        assert_eq!(e.key, "QUALITY");
        assert!(e.to_string().contains("QUALITY=\"abc\""), "{e}");
        assert!(config(&[("QUALITY", "101")]).is_err());
        assert!(config(&[("ALLOW_UNSAFE_URL", "maybe")]).is_err());
        assert!(config(&[("LOADER", "thumbor.loaders.ftp_loader")]).is_err());
        assert!(config(&[("PNG_COMPRESSION_LEVEL", "10")]).is_err());
    }

    #[test]
    fn resampling_filter_from_either_name() {
        assert_eq!(
            config(&[]).unwrap().imaging.resampling_filter,
            ResamplingFilter::Lanczos3
        );
        let thumbor = config(&[("PILLOW_RESAMPLING_FILTER", "BICUBIC")]).unwrap();
        assert_eq!(thumbor.imaging.resampling_filter, ResamplingFilter::Bicubic);
        let both = config(&[
            ("PILLOW_RESAMPLING_FILTER", "BICUBIC"),
            ("RESAMPLING_FILTER", "nearest"),
        ])
        .unwrap();
        assert_eq!(both.imaging.resampling_filter, ResamplingFilter::Nearest);
        let e = config(&[("RESAMPLING_FILTER", "sinc")]).unwrap_err();
        assert_eq!(e.key, "RESAMPLING_FILTER");
    }

    #[test]
    fn python_number_spellings() {
        let c = config(&[("MAX_PIXELS", "75e6"), ("MAX_AGE", "3600")]).unwrap();
        assert_eq!(c.imaging.max_pixels, 75_000_000);
        assert_eq!(c.max_age, 3600);
    }

    #[test]
    fn thumbor_config_file_subset() {
        let pairs = parse_config_file(
            "# thumbor.conf\nSECURITY_KEY = 'abc#def'  # the key\nALLOW_UNSAFE_URL = False\n\
             QUALITY=90\nWEBP_QUALITY = None\nlowercase = 1\nimport os\n",
        );
        assert_eq!(
            pairs,
            vec![
                ("SECURITY_KEY".to_string(), "abc#def".to_string()),
                ("ALLOW_UNSAFE_URL".to_string(), "False".to_string()),
                ("QUALITY".to_string(), "90".to_string()),
            ]
        );
    }

    #[test]
    fn signing_and_origin_keys() {
        let c = config(&[
            ("SECURITY_KEYS_PREVIOUS", "old1, old2"),
            (
                "SIGNING_API_KEYS",
                "blog:0123456789abcdef0123,shop:fedcba9876543210fedc:catalog/,admin:aaaaaaaaaaaaaaaaaaaa:*",
            ),
            ("ORIGIN_VERIFY_HEADER", "X-Origin-Verify"),
            ("ORIGIN_VERIFY_SECRET", "s3cret"),
            ("SIGN_ON_BEHALF", "true"),
            ("ALLOWED_SIZES", "300x200, fit-in/1200x1200,0x0"),
        ])
        .unwrap();
        assert_eq!(c.verification_keys().len(), 3);
        assert_eq!(c.signing_apps[0].image_prefix, "blog/");
        assert_eq!(c.signing_apps[1].image_prefix, "catalog/");
        assert_eq!(c.signing_apps[2].image_prefix, "");
        assert_eq!(
            c.origin_verify.as_ref().unwrap().0.as_str(),
            "x-origin-verify"
        );
        assert!(c.sign_on_behalf);
        let sizes = c.allowed_sizes.unwrap();
        assert_eq!(sizes.len(), 3);
        assert!(sizes[1].fit_in.is_some());
        assert_eq!(sizes[2].width, crate::url::Dimension::Px(0));

        assert!(config(&[("SIGN_ON_BEHALF", "true")]).is_err());
        assert!(config(&[("ORIGIN_VERIFY_HEADER", "X-A")]).is_err());
        assert!(config(&[("SIGNING_API_KEYS", "blog:short")]).is_err());
        // A prefix is a directory: `t1` is `t1/`, and never covers `t10/`.
        let t1 = config(&[("SIGNING_API_KEYS", "t1:0123456789abcdef0123:t1")]).unwrap();
        assert_eq!(t1.signing_apps[0].image_prefix, "t1/");
        for prefix in ["/", "a/../b", "a%2fb"] {
            let entry = format!("t1:0123456789abcdef0123:{prefix}");
            let error = config(&[("SIGNING_API_KEYS", entry.as_str())]).unwrap_err();
            assert!(
                !error.to_string().contains("0123456789abcdef0123"),
                "{error}"
            );
        }
        assert!(config(&[("ALLOWED_SIZES", "300x200/left")]).is_err());
        assert!(config(&[("ALLOWED_SIZES", "big")]).is_err());
    }

    #[test]
    fn origin_defaults_are_thumbors_and_thumbor_aws() {
        let c = config(&[]).unwrap();
        assert_eq!(c.loader, LoaderKind::File);
        assert_eq!(c.http_loader.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.http_loader.request_timeout, Duration::from_secs(20));
        assert!(c.http_loader.follow_redirects);
        assert_eq!(c.http_loader.max_redirects, 5);
        assert_eq!(c.http_loader.private_networks, PrivateNetworks::Refused);
        assert!(c.http_loader.allowed_sources.is_empty());
        assert_eq!(c.s3_loader.region, "us-east-1");
        assert_eq!(c.s3_loader.bucket, "thumbor");
        assert_eq!(c.s3_loader.root_path, "/st");
        assert_eq!(c.s3_loader.endpoint_url, None);
        assert_eq!(c.result_storage, ResultStorageKind::None);
        assert_eq!(c.result_storage_s3.root_path, "/rs");
        assert!(!c.result_storage_stores_unsafe);
        assert_eq!(c.result_storage_expiration_seconds, 0);
        assert_eq!(c.max_source_bytes, 52_428_800);
        assert_eq!(c.source_cache_mb, 64);
    }

    #[test]
    fn loader_names_and_chains() {
        for (text, want) in [
            ("http", LoaderKind::Http),
            ("thumbor.loaders.http_loader", LoaderKind::Http),
            ("s3", LoaderKind::S3),
            ("thumbor_aws.loader", LoaderKind::S3),
            ("thumbor.loaders.file_loader", LoaderKind::File),
            (
                "thumbor.loaders.file_loader_http_fallback",
                LoaderKind::Chain(vec![LoaderKind::File, LoaderKind::Http]),
            ),
            (
                "file, s3,http",
                LoaderKind::Chain(vec![LoaderKind::File, LoaderKind::S3, LoaderKind::Http]),
            ),
        ] {
            assert_eq!(config(&[("LOADER", text)]).unwrap().loader, want, "{text}");
        }
        let e = config(&[("LOADER", "file,ftp")]).unwrap_err();
        assert_eq!((e.key.as_str(), e.value.as_str()), ("LOADER", "ftp"));
        assert!(config(&[("LOADER", " , ")]).is_err());
    }

    #[test]
    fn http_loader_keys() {
        let c = config(&[
            ("HTTP_LOADER_CONNECT_TIMEOUT", "0.5"),
            ("HTTP_LOADER_REQUEST_TIMEOUT", "3"),
            ("HTTP_LOADER_FOLLOW_REDIRECTS", "False"),
            ("HTTP_LOADER_MAX_REDIRECTS", "2"),
            ("HTTP_LOADER_DEFAULT_USER_AGENT", "my-agent/1"),
            ("ALLOWED_SOURCES", "['img.example.com', '.+\\.cdn\\.net']"),
            (
                "HTTP_LOADER_ALLOW_PRIVATE_NETWORKS",
                "10.1.0.0/16, fd00::/8",
            ),
            ("MAX_SOURCE_BYTES", "1000"),
        ])
        .unwrap();
        let h = &c.http_loader;
        assert_eq!(h.connect_timeout, Duration::from_millis(500));
        assert_eq!(h.request_timeout, Duration::from_secs(3));
        assert!(!h.follow_redirects);
        assert_eq!(h.max_redirects, 2);
        assert_eq!(h.user_agent, "my-agent/1");
        assert_eq!(h.allowed_sources, vec!["img.example.com", ".+\\.cdn\\.net"]);
        assert!(matches!(&h.private_networks, PrivateNetworks::Only(n) if n.len() == 2));
        assert_eq!(c.max_source_bytes, 1000);
        assert_eq!(
            config(&[("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "true")])
                .unwrap()
                .http_loader
                .private_networks,
            PrivateNetworks::Allowed
        );
        assert!(config(&[("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "intranet")]).is_err());
        assert!(config(&[("HTTP_LOADER_REQUEST_TIMEOUT", "0")]).is_err());
        assert!(config(&[("HTTP_LOADER_CONNECT_TIMEOUT", "soon")]).is_err());
        let e = config(&[("ALLOWED_SOURCES", "(unclosed")]).unwrap_err();
        assert_eq!(e.key, "ALLOWED_SOURCES");
    }

    #[test]
    fn s3_and_result_storage_keys() {
        let c = config(&[
            ("LOADER", "thumbor_aws.loader"),
            ("AWS_LOADER_REGION_NAME", "eu-west-1"),
            ("AWS_LOADER_BUCKET_NAME", "originals"),
            ("AWS_LOADER_S3_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_LOADER_S3_ACCESS_KEY_ID", "AKID"),
            ("AWS_LOADER_S3_SECRET_ACCESS_KEY", "secret"),
            ("AWS_LOADER_ROOT_PATH", "shop"),
            ("RESULT_STORAGE", "thumbor_aws.result_storage"),
            ("AWS_RESULT_STORAGE_BUCKET_NAME", "results"),
            ("AWS_RESULT_STORAGE_S3_ACL", "private"),
            ("AWS_RESULT_STORAGE_REQUEST_TIMEOUT", "1.5"),
            ("RESULT_STORAGE_STORES_UNSAFE", "True"),
            ("RESULT_STORAGE_EXPIRATION_SECONDS", "3600"),
            ("SOURCE_CACHE_MB", "0"),
        ])
        .unwrap();
        assert_eq!(c.loader, LoaderKind::S3);
        assert_eq!(c.s3_loader.region, "eu-west-1");
        assert_eq!(c.s3_loader.bucket, "originals");
        assert_eq!(
            c.s3_loader.endpoint_url.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(c.s3_loader.access_key_id.as_deref(), Some("AKID"));
        assert_eq!(c.s3_loader.root_path, "shop");
        assert_eq!(c.result_storage, ResultStorageKind::S3);
        assert_eq!(c.result_storage_s3.bucket, "results");
        assert_eq!(c.result_storage_s3.root_path, "/rs");
        assert_eq!(c.result_storage_s3.acl.as_deref(), Some("private"));
        assert_eq!(
            c.result_storage_s3.request_timeout,
            Duration::from_millis(1500)
        );
        assert!(c.result_storage_stores_unsafe);
        assert_eq!(c.result_storage_expiration_seconds, 3600);
        assert_eq!(c.source_cache_bytes(), 0);
        assert_eq!(
            config(&[("RESULT_STORAGE", "thumbor.result_storages.file_storage")])
                .unwrap()
                .result_storage,
            ResultStorageKind::File
        );

        let e = config(&[("AWS_LOADER_S3_ACCESS_KEY_ID", "AKID")]).unwrap_err();
        assert_eq!(e.key, "AWS_LOADER_S3_ACCESS_KEY_ID");
        assert!(config(&[("AWS_RESULT_STORAGE_S3_ENDPOINT_URL", "127.0.0.1:9000")]).is_err());
        assert!(config(&[("RESULT_STORAGE", "redis")]).is_err());
    }

    #[test]
    fn connection_limit_keys() {
        let d = config(&[]).unwrap().connections;
        assert_eq!(d.header_read_timeout, Duration::from_secs(10));
        assert_eq!(d.idle_timeout, Duration::from_secs(60));
        assert_eq!(d.body_read_timeout, Duration::from_secs(30));
        assert_eq!(d.max_request_body_bytes, 262_144);
        assert_eq!(d.shutdown_timeout, Duration::from_secs(30));
        assert!((1..=10_000).contains(&d.max_connections));
        let c = config(&[
            ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "2.5"),
            ("HTTP_IDLE_TIMEOUT_SECONDS", "5"),
            ("HTTP_BODY_READ_TIMEOUT_SECONDS", "1"),
            ("MAX_REQUEST_BODY_BYTES", "1000"),
            ("MAX_CONNECTIONS", "3"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "0.5"),
        ])
        .unwrap()
        .connections;
        assert_eq!(c.header_read_timeout, Duration::from_millis(2500));
        assert_eq!(c.idle_timeout, Duration::from_secs(5));
        assert_eq!(c.body_read_timeout, Duration::from_secs(1));
        assert_eq!(c.max_request_body_bytes, 1000);
        assert_eq!(c.max_connections, 3);
        assert_eq!(c.shutdown_timeout, Duration::from_millis(500));
        assert!(config(&[("MAX_CONNECTIONS", "0")]).is_err());
        assert!(config(&[("HTTP_IDLE_TIMEOUT_SECONDS", "0")]).is_err());
        assert!(config(&[("MAX_REQUEST_BODY_BYTES", "-1")]).is_err());
    }

    #[test]
    fn home_is_expanded() {
        let c = config(&[("FILE_LOADER_ROOT_PATH", "/srv/images")]).unwrap();
        assert_eq!(c.file_loader_root_path, PathBuf::from("/srv/images"));
        assert!(!expand_home("~/x").starts_with("~"));
    }
}
