//! The server's settings and the code that reads them from the configuration keys: who may
//! ask for what (signing keys, origin verification, ALLOWED_SIZES), how many renders run and
//! wait (admission), how long and how much a client connection may take, and the routes and
//! listeners around them.

use crate::config::reader::{invalid, list, ConfigError, Reader};
use std::time::Duration;

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

/// Who may ask for what (src/server/access.rs, src/server/signing.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSettings {
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
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            security_key: "MY_SECURE_KEY".to_string(),
            security_keys_previous: Vec::new(),
            signing_apps: Vec::new(),
            public_base_url: None,
            origin_verify: None,
            sign_on_behalf: false,
            allowed_sizes: None,
            allow_unsafe_url: true,
        }
    }
}

impl AccessSettings {
    pub fn from_keys(r: &Reader<'_>) -> Result<AccessSettings, ConfigError> {
        let d = AccessSettings::default();
        let security_key = r.string("SECURITY_KEY", &d.security_key);
        if security_key.is_empty() {
            return Err(invalid("SECURITY_KEY", "", "must not be empty"));
        }

        let origin_verify = origin_verify(r)?;
        let sign_on_behalf = r.boolean("SIGN_ON_BEHALF", false)?;
        if sign_on_behalf && origin_verify.is_none() {
            return Err(invalid(
                "SIGN_ON_BEHALF",
                "True",
                "needs ORIGIN_VERIFY_HEADER and ORIGIN_VERIFY_SECRET, so only the CDN may send unsigned paths",
            ));
        }

        Ok(AccessSettings {
            security_key,
            security_keys_previous: list(&r.string("SECURITY_KEYS_PREVIOUS", "")),
            signing_apps: signing_apps(&r.string("SIGNING_API_KEYS", ""))?,
            public_base_url: r
                .raw("PUBLIC_BASE_URL")
                .filter(|v| !v.is_empty())
                .map(|v| v.trim_end_matches('/').to_string()),
            origin_verify,
            sign_on_behalf,
            allowed_sizes: allowed_sizes(&r.string("ALLOWED_SIZES", ""))?,
            allow_unsafe_url: r.boolean("ALLOW_UNSAFE_URL", d.allow_unsafe_url)?,
        })
    }

    /// Keys that verify signatures: SECURITY_KEY first, then SECURITY_KEYS_PREVIOUS.
    pub fn verification_keys(&self) -> Vec<&[u8]> {
        std::iter::once(&self.security_key)
            .chain(&self.security_keys_previous)
            .map(|k| k.as_bytes())
            .collect()
    }
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

/// How many renders run and wait, and how long and how much one request may take
/// (src/server/admission.rs, src/server/imaging.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionSettings {
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
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        AdmissionSettings {
            // Two renders per core: with one, small renders left a fifth of the CPU idle
            // between a render's end and the next one's start (BENCHMARKS.md, "Render
            // concurrency"); large renders are no slower with two.
            max_concurrent_renders: 2 * default_concurrency(),
            max_queued_renders: 4 * default_concurrency(),
            render_memory_mb: 1024,
            request_timeout_seconds: 30,
            max_filter_assets: 4,
        }
    }
}

fn default_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl AdmissionSettings {
    pub fn from_keys(r: &Reader<'_>) -> Result<AdmissionSettings, ConfigError> {
        let d = AdmissionSettings::default();
        Ok(AdmissionSettings {
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
        })
    }
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

impl ConnectionLimits {
    pub fn from_keys(r: &Reader<'_>) -> Result<ConnectionLimits, ConfigError> {
        let d = ConnectionLimits::default();
        Ok(ConnectionLimits {
            header_read_timeout: r
                .seconds("HTTP_HEADER_READ_TIMEOUT_SECONDS", d.header_read_timeout)?,
            idle_timeout: r.seconds("HTTP_IDLE_TIMEOUT_SECONDS", d.idle_timeout)?,
            body_read_timeout: r.seconds("HTTP_BODY_READ_TIMEOUT_SECONDS", d.body_read_timeout)?,
            max_request_body_bytes: r.number(
                "MAX_REQUEST_BODY_BYTES",
                d.max_request_body_bytes,
                1,
                1 << 30,
            )?,
            max_connections: r.number("MAX_CONNECTIONS", d.max_connections as u64, 1, 1 << 20)?
                as usize,
            shutdown_timeout: r.seconds("SHUTDOWN_TIMEOUT_SECONDS", d.shutdown_timeout)?,
        })
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

/// The routes and listeners around the image endpoint, and the start-up mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// HEALTHCHECK_ROUTE: Thumbor's route pattern (default `/healthcheck/?`).
    pub healthcheck_route: String,
    /// META_CALLBACK_NAME: JSONP callback for meta answers when the query gives none.
    pub meta_callback_name: Option<String>,
    /// METRICS_BIND: address of the Prometheus `/metrics` listener (off when unset).
    pub metrics_bind: Option<std::net::SocketAddr>,
    /// PRODUCTION: `serve` refuses to start with Thumbor's unsafe defaults (src/startup_checks.rs)
    /// instead of only warning about them; same as `serve --production`.
    pub production: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            healthcheck_route: "/healthcheck/?".to_string(),
            meta_callback_name: None,
            metrics_bind: None,
            production: false,
        }
    }
}

impl ServerSettings {
    /// HEALTHCHECK_ROUTE, which `config.rs` reads before the other keys (so that with several
    /// bad values the same one is reported as always) and passes to [`ServerSettings::from_keys`].
    pub fn healthcheck_route(r: &Reader<'_>) -> Result<String, ConfigError> {
        let d = ServerSettings::default();
        let healthcheck_route = r.string("HEALTHCHECK_ROUTE", &d.healthcheck_route);
        if !healthcheck_route.starts_with('/') {
            return Err(invalid(
                "HEALTHCHECK_ROUTE",
                &healthcheck_route,
                "must start with /",
            ));
        }
        Ok(healthcheck_route)
    }

    pub fn from_keys(
        r: &Reader<'_>,
        healthcheck_route: String,
    ) -> Result<ServerSettings, ConfigError> {
        let d = ServerSettings::default();
        Ok(ServerSettings {
            healthcheck_route,
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::with_pairs;

    fn access(pairs: &[(&str, &str)]) -> Result<AccessSettings, ConfigError> {
        with_pairs(pairs, AccessSettings::from_keys)
    }

    fn admission(pairs: &[(&str, &str)]) -> Result<AdmissionSettings, ConfigError> {
        with_pairs(pairs, AdmissionSettings::from_keys)
    }

    fn connections(pairs: &[(&str, &str)]) -> Result<ConnectionLimits, ConfigError> {
        with_pairs(pairs, ConnectionLimits::from_keys)
    }

    #[test]
    fn defaults_are_thumbors() {
        let a = access(&[]).unwrap();
        assert_eq!(a.security_key, "MY_SECURE_KEY");
        assert!(a.allow_unsafe_url);
        let server = with_pairs(&[], |r| {
            let route = ServerSettings::healthcheck_route(r)?;
            ServerSettings::from_keys(r, route)
        })
        .unwrap();
        assert_eq!(server.healthcheck_route, "/healthcheck/?");
        let d = admission(&[]).unwrap();
        assert_eq!(d.max_filter_assets, 4);
        assert_eq!(d.max_concurrent_renders, 2 * default_concurrency());
        assert_eq!(d.max_queued_renders, 4 * default_concurrency());
        assert_eq!(
            admission(&[("MAX_FILTER_ASSETS", "0")])
                .unwrap()
                .max_filter_assets,
            0
        );
        assert!(admission(&[("MAX_FILTER_ASSETS", "many")]).is_err());
        assert!(access(&[("ALLOW_UNSAFE_URL", "maybe")]).is_err());
    }

    #[test]
    fn signing_and_origin_keys() {
        let c = access(&[
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

        assert!(access(&[("SIGN_ON_BEHALF", "true")]).is_err());
        assert!(access(&[("ORIGIN_VERIFY_HEADER", "X-A")]).is_err());
        assert!(access(&[("SIGNING_API_KEYS", "blog:short")]).is_err());
        // A prefix is a directory: `t1` is `t1/`, and never covers `t10/`.
        let t1 = access(&[("SIGNING_API_KEYS", "t1:0123456789abcdef0123:t1")]).unwrap();
        assert_eq!(t1.signing_apps[0].image_prefix, "t1/");
        for prefix in ["/", "a/../b", "a%2fb"] {
            let entry = format!("t1:0123456789abcdef0123:{prefix}");
            let error = access(&[("SIGNING_API_KEYS", entry.as_str())]).unwrap_err();
            assert!(
                !error.to_string().contains("0123456789abcdef0123"),
                "{error}"
            );
        }
        assert!(access(&[("ALLOWED_SIZES", "300x200/left")]).is_err());
        assert!(access(&[("ALLOWED_SIZES", "big")]).is_err());
    }

    #[test]
    fn connection_limit_keys() {
        let d = connections(&[]).unwrap();
        assert_eq!(d.header_read_timeout, Duration::from_secs(10));
        assert_eq!(d.idle_timeout, Duration::from_secs(60));
        assert_eq!(d.body_read_timeout, Duration::from_secs(30));
        assert_eq!(d.max_request_body_bytes, 262_144);
        assert_eq!(d.shutdown_timeout, Duration::from_secs(30));
        assert!((1..=10_000).contains(&d.max_connections));
        let c = connections(&[
            ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "2.5"),
            ("HTTP_IDLE_TIMEOUT_SECONDS", "5"),
            ("HTTP_BODY_READ_TIMEOUT_SECONDS", "1"),
            ("MAX_REQUEST_BODY_BYTES", "1000"),
            ("MAX_CONNECTIONS", "3"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "0.5"),
        ])
        .unwrap();
        assert_eq!(c.header_read_timeout, Duration::from_millis(2500));
        assert_eq!(c.idle_timeout, Duration::from_secs(5));
        assert_eq!(c.body_read_timeout, Duration::from_secs(1));
        assert_eq!(c.max_request_body_bytes, 1000);
        assert_eq!(c.max_connections, 3);
        assert_eq!(c.shutdown_timeout, Duration::from_millis(500));
        assert!(connections(&[("MAX_CONNECTIONS", "0")]).is_err());
        assert!(connections(&[("HTTP_IDLE_TIMEOUT_SECONDS", "0")]).is_err());
        assert!(connections(&[("MAX_REQUEST_BODY_BYTES", "-1")]).is_err());
    }
}
