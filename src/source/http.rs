//! The HTTP loader: originals fetched from another web server with Thumbor's URL forms and
//! status mapping, timeouts, redirects, a size limit enforced while the body streams in,
//! ALLOWED_SOURCES and the SSRF guard (on resolved addresses; both on every redirect hop).

use super::ssrf::{Guard, PrivateNetworks};
use crate::config::reader::{invalid, list, parse_bool, ConfigError, Reader};
use crate::error::{cause_chain, PictorError};
use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Characters Thumbor's http_loader leaves unescaped when it re-quotes a URL.
const THUMBOR_URL_SAFE: &[u8] = b"~@#$&()*!+=:;,.?/'";

/// What Thumbor's http_loader sends as Accept.
const ACCEPT: &str = "image/*;q=0.9,*/*;q=0.1";

/// One ALLOWED_SOURCES entry. As in Thumbor 7.8, an entry with regex characters is a pattern
/// matched against the whole host name; any other entry is the host name itself.
#[derive(Debug, Clone)]
pub enum AllowedSource {
    Host(String),
    Pattern(regex::Regex),
}

impl AllowedSource {
    pub fn parse(entry: &str) -> Result<AllowedSource, String> {
        let looks_like_regex = entry.chars().any(|c| "\\^$*+?{}[]()|".contains(c));
        if looks_like_regex {
            regex::Regex::new(&format!("^(?:{entry})$"))
                .map(AllowedSource::Pattern)
                .map_err(|e| format!("not a valid pattern: {e}"))
        } else {
            Ok(AllowedSource::Host(entry.to_ascii_lowercase()))
        }
    }

    fn matches(&self, host: &str) -> bool {
        match self {
            AllowedSource::Host(name) => name.eq_ignore_ascii_case(host),
            AllowedSource::Pattern(pattern) => pattern.is_match(host),
        }
    }
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

impl HttpLoaderSettings {
    /// Reads ALLOWED_SOURCES and the HTTP_LOADER_* keys.
    pub fn from_keys(r: &Reader<'_>) -> Result<HttpLoaderSettings, ConfigError> {
        let d = HttpLoaderSettings::default();
        let allowed_sources = list(&r.string("ALLOWED_SOURCES", ""));
        for pattern in &allowed_sources {
            AllowedSource::parse(pattern)
                .map_err(|reason| invalid("ALLOWED_SOURCES", pattern, &reason))?;
        }
        let private_networks = match r.string("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "") {
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
            connect_timeout: r.seconds("HTTP_LOADER_CONNECT_TIMEOUT", d.connect_timeout)?,
            request_timeout: r.seconds("HTTP_LOADER_REQUEST_TIMEOUT", d.request_timeout)?,
            follow_redirects: r.boolean("HTTP_LOADER_FOLLOW_REDIRECTS", d.follow_redirects)?,
            max_redirects: r.number("HTTP_LOADER_MAX_REDIRECTS", d.max_redirects as u64, 0, 100)?
                as usize,
            user_agent: r.string("HTTP_LOADER_DEFAULT_USER_AGENT", &d.user_agent),
            allowed_sources,
            private_networks,
        })
    }
}

/// Thumbor's `_normalize_url`: decode the quoted image URL once; when that leaves no escapes,
/// quote it again with the http_loader's safe characters (else keep it, so `%2520` reaches the
/// origin as `%20`); prepend `http://` unless it already starts with `http`.
pub fn normalize_url(image_url: &str) -> String {
    let decoded = unquote(image_url);
    let quoted = if unquote(&decoded) == decoded {
        crate::url::parse::python_quote(&decoded, THUMBOR_URL_SAFE)
    } else {
        decoded
    };
    if quoted.starts_with("http") {
        quoted
    } else {
        format!("http://{quoted}")
    }
}

fn unquote(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A fetch the SSRF guard or ALLOWED_SOURCES refused (400).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Refused {}

/// A host name that does not resolve (Thumbor: 504, like a timeout).
#[derive(Debug)]
struct DnsFailure(String);

impl std::fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for DnsFailure {}

/// Resolves with the system resolver (off the runtime threads) and keeps only the addresses
/// the guard permits, so the connection can only go where the check looked.
struct GuardedResolver {
    guard: Arc<Guard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(DnsFailure(format!("cannot resolve {host}: {e}"))))?
                .collect();
            let permitted: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|addr| guard.permits(addr.ip()))
                .collect();
            match (permitted.is_empty(), resolved.first()) {
                (false, _) => Ok(Box::new(permitted.into_iter()) as Addrs),
                (true, Some(addr)) => Err(Box::new(Refused(format!(
                    "{host} resolves to {}, a non-public address",
                    addr.ip()
                ))) as Box<dyn StdError + Send + Sync>),
                (true, None) => Err(Box::new(DnsFailure(format!("{host} has no address")))
                    as Box<dyn StdError + Send + Sync>),
            }
        })
    }
}

/// Refuses URLs whose host is an IP literal the guard does not permit (names are checked by
/// the resolver, after resolution).
fn check_literal(guard: &Guard, url: &Url) -> Result<(), Refused> {
    // The URL parser has already put IPv4 hosts in dotted form (`0x7f.1` is 127.0.0.1).
    let Some(ip) = url.host_str().and_then(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok()
    }) else {
        return Ok(());
    };
    if guard.permits(ip) {
        Ok(())
    } else {
        Err(Refused(format!("{ip} is a non-public address")))
    }
}

/// Thumbor's `validate`: with ALLOWED_SOURCES set, the URL's host must match an entry.
fn check_allowed_source(allowed_sources: &[AllowedSource], url: &Url) -> Result<(), Refused> {
    if allowed_sources.is_empty() {
        return Ok(());
    }
    let host = url.host_str().unwrap_or("");
    if allowed_sources.iter().any(|s| s.matches(host)) {
        Ok(())
    } else {
        Err(Refused(format!("{host} is not in ALLOWED_SOURCES")))
    }
}

/// The loader. Cloning shares the connection pool.
#[derive(Debug, Clone)]
pub struct HttpLoader {
    client: reqwest::Client,
    allowed_sources: Arc<Vec<AllowedSource>>,
    guard: Arc<Guard>,
    max_bytes: u64,
}

impl HttpLoader {
    pub fn new(settings: &HttpLoaderSettings, max_bytes: u64) -> Result<HttpLoader, PictorError> {
        let guard = Arc::new(Guard::new(settings.private_networks.clone()));
        let allowed_sources = Arc::new(
            settings
                .allowed_sources
                .iter()
                .map(|entry| AllowedSource::parse(entry).map_err(PictorError::Internal))
                .collect::<Result<Vec<_>, _>>()?,
        );
        let redirect = if settings.follow_redirects {
            let max = settings.max_redirects;
            let guard = guard.clone();
            let allowed_sources = allowed_sources.clone();
            reqwest::redirect::Policy::custom(move |attempt| {
                // Every hop is held to the same rules as the first URL: an allowed origin
                // must not be able to send the fetch to a host that is not.
                let checked = check_allowed_source(&allowed_sources, attempt.url())
                    .and_then(|()| check_literal(&guard, attempt.url()));
                if let Err(refused) = checked {
                    attempt.error(refused)
                } else if attempt.previous().len() > max {
                    // Tornado hands back the last 3xx, which Thumbor maps to 404.
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            })
        } else {
            reqwest::redirect::Policy::none()
        };
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .redirect(redirect)
            .user_agent(settings.user_agent.as_str())
            // A proxy would connect on our behalf to addresses the guard never saw.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                guard: guard.clone(),
            }))
            .build()
            .map_err(|e| PictorError::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpLoader {
            client,
            allowed_sources,
            guard,
            max_bytes,
        })
    }

    /// The origin URL for Thumbor's quoted `image_url`, or 400 when it has no host or its
    /// host is not in ALLOWED_SOURCES (Thumbor's `validate`).
    pub fn origin_url(&self, image_url: &str) -> Result<Url, PictorError> {
        let normalized = normalize_url(image_url);
        let url = Url::parse(&normalized)
            .map_err(|e| PictorError::BadRequest(format!("{normalized}: not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PictorError::BadRequest(format!(
                "{normalized}: only http and https origins"
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(PictorError::BadRequest(format!("{normalized}: no host")));
        }
        check_allowed_source(&self.allowed_sources, &url)
            .map_err(|refused| PictorError::BadRequest(refused.0))?;
        Ok(url)
    }

    /// Fetches the original. Upstream error statuses are 404 (as Thumbor), an empty body or a
    /// refused/reset connection 502, a timeout or unresolvable host 504, a refused address
    /// 400, a body over MAX_SOURCE_BYTES 400 (refused as soon as it is known to be over).
    pub async fn load(&self, image_url: &str) -> Result<Bytes, PictorError> {
        let url = self.origin_url(image_url)?;
        check_literal(&self.guard, &url)
            .map_err(|refused| PictorError::BadRequest(format!("{url}: {refused}")))?;
        let mut response = self
            .client
            .get(url.clone())
            .header(http::header::ACCEPT, ACCEPT)
            .send()
            .await
            .map_err(|e| classify(&url, &e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(PictorError::NotFound(format!(
                "{url}: origin answered {status}"
            )));
        }
        if let Some(length) = response.content_length() {
            if length > self.max_bytes {
                return Err(self.too_large(&url, length));
            }
        }
        let capacity = response.content_length().unwrap_or(0).min(self.max_bytes);
        let mut body = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&url, &e))? {
            let total = (body.len() + chunk.len()) as u64;
            if total > self.max_bytes {
                return Err(self.too_large(&url, total));
            }
            body.extend_from_slice(&chunk);
        }
        if body.is_empty() {
            return Err(PictorError::BadGateway(format!(
                "{url}: origin answered {status} with an empty body"
            )));
        }
        Ok(body.freeze())
    }

    fn too_large(&self, url: &Url, bytes: u64) -> PictorError {
        PictorError::TooLarge(format!(
            "{url}: original is over MAX_SOURCE_BYTES={} ({bytes} bytes or more)",
            self.max_bytes
        ))
    }
}

/// Maps a transport error to the status Thumbor would answer (§5.1), except that a refused or
/// reset connection is 502 rather than Thumbor's 500. The full cause goes into the message,
/// which is logged, never sent.
fn classify(url: &Url, e: &reqwest::Error) -> PictorError {
    let cause = cause_chain(e);
    if find_in_chain::<Refused>(e).is_some() {
        PictorError::BadRequest(format!("{url}: {cause}"))
    } else if e.is_timeout() || find_in_chain::<DnsFailure>(e).is_some() {
        PictorError::GatewayTimeout(format!("{url}: {cause}"))
    } else {
        PictorError::BadGateway(format!("{url}: {cause}"))
    }
}

fn find_in_chain<'a, T: StdError + 'static>(e: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        // An io::Error wrapping an error reports that error's *source*, not the error itself.
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(found) = find_in_chain::<T>(inner) {
                return Some(found);
            }
        }
        current = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::with_pairs;

    fn settings(pairs: &[(&str, &str)]) -> Result<HttpLoaderSettings, ConfigError> {
        with_pairs(pairs, HttpLoaderSettings::from_keys)
    }

    #[test]
    fn http_loader_defaults_are_thumbors() {
        let h = settings(&[]).unwrap();
        assert_eq!(h.connect_timeout, Duration::from_secs(5));
        assert_eq!(h.request_timeout, Duration::from_secs(20));
        assert!(h.follow_redirects);
        assert_eq!(h.max_redirects, 5);
        assert_eq!(h.private_networks, PrivateNetworks::Refused);
        assert!(h.allowed_sources.is_empty());
    }

    #[test]
    fn http_loader_keys() {
        let h = settings(&[
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
        ])
        .unwrap();
        assert_eq!(h.connect_timeout, Duration::from_millis(500));
        assert_eq!(h.request_timeout, Duration::from_secs(3));
        assert!(!h.follow_redirects);
        assert_eq!(h.max_redirects, 2);
        assert_eq!(h.user_agent, "my-agent/1");
        assert_eq!(h.allowed_sources, vec!["img.example.com", ".+\\.cdn\\.net"]);
        assert!(matches!(&h.private_networks, PrivateNetworks::Only(n) if n.len() == 2));
        assert_eq!(
            settings(&[("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "true")])
                .unwrap()
                .private_networks,
            PrivateNetworks::Allowed
        );
        assert!(settings(&[("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "intranet")]).is_err());
        assert!(settings(&[("HTTP_LOADER_REQUEST_TIMEOUT", "0")]).is_err());
        assert!(settings(&[("HTTP_LOADER_CONNECT_TIMEOUT", "soon")]).is_err());
        let e = settings(&[("ALLOWED_SOURCES", "(unclosed")]).unwrap_err();
        assert_eq!(e.key, "ALLOWED_SOURCES");
    }

    #[test]
    fn thumbor_url_forms() {
        // §1.4: no scheme, raw scheme, fully encoded — all the same upstream.
        assert_eq!(
            normalize_url("127.0.0.1%3A8899/image.jpg"),
            "http://127.0.0.1:8899/image.jpg"
        );
        assert_eq!(
            normalize_url("http%3A//127.0.0.1%3A8899/image.jpg"),
            "http://127.0.0.1:8899/image.jpg"
        );
        // `http%3A%2F%2F…` in the request: Tornado decodes it once, the handler quotes it with
        // safe "/", so the loader sees `http%3A//…`.
        assert_eq!(
            normalize_url(&crate::url::parse::python_quote(
                "http://127.0.0.1:8899/image.jpg",
                b"/"
            )),
            "http://127.0.0.1:8899/image.jpg"
        );
        // Spaces and non-ASCII are quoted; Thumbor's safe set is kept.
        assert_eq!(
            normalize_url("a.com/b%20c%C3%A9.jpg%3Fx%3D1%26y%3D2"),
            "http://a.com/b%20c%C3%A9.jpg?x=1&y=2"
        );
        // A double-encoded escape reaches the origin decoded once.
        assert_eq!(normalize_url("a.com/x%2520y.jpg"), "http://a.com/x%20y.jpg");
        assert_eq!(
            normalize_url("https%3A//a.com/x.jpg"),
            "https://a.com/x.jpg"
        );
    }

    fn loader(allowed: &[&str], private: PrivateNetworks) -> HttpLoader {
        HttpLoader::new(
            &HttpLoaderSettings {
                allowed_sources: allowed.iter().map(|s| s.to_string()).collect(),
                private_networks: private,
                ..HttpLoaderSettings::default()
            },
            1000,
        )
        .unwrap()
    }

    #[test]
    fn allowed_sources_match_hosts_or_patterns() {
        let l = loader(
            &["img.example.com", ".+\\.cdn\\.net"],
            PrivateNetworks::Refused,
        );
        assert!(l.origin_url("img.example.com/a.jpg").is_ok());
        assert!(l.origin_url("IMG.example.com/a.jpg").is_ok());
        assert!(l.origin_url("http%3A//eu.cdn.net/a.jpg").is_ok());
        for refused in [
            "evil.com/a.jpg",
            "img.example.com.evil.com/a.jpg",
            "cdn.net/a.jpg",
        ] {
            assert!(
                matches!(l.origin_url(refused), Err(PictorError::BadRequest(_))),
                "{refused}"
            );
        }
        let any = loader(&[], PrivateNetworks::Refused);
        assert!(matches!(
            any.origin_url("http%3A//%3A80/a.jpg"),
            Err(PictorError::BadRequest(_))
        ));
    }

    #[tokio::test]
    async fn literal_and_resolved_private_addresses_are_refused_before_connecting() {
        let l = loader(&[], PrivateNetworks::Refused);
        // Nothing listens on these; a refusal must come before any connection attempt.
        for image_url in [
            "127.0.0.1%3A9/a.jpg",
            "http%3A//0x7f.1%3A9/a.jpg",
            "localhost%3A9/a.jpg",
        ] {
            match l.load(image_url).await {
                Err(PictorError::BadRequest(m)) => assert!(m.contains("non-public"), "{m}"),
                other => panic!("{image_url}: {other:?}"),
            }
        }
        // As in Thumbor, the brackets of an IPv6 literal are quoted, so it is no URL at all.
        assert!(matches!(
            l.load("http%3A//%5B%3A%3A1%5D%3A9/a.jpg").await,
            Err(PictorError::BadRequest(_))
        ));
    }

    #[test]
    fn wrapped_causes_are_found() {
        let wrapped = std::io::Error::other(DnsFailure("no such host".into()));
        assert!(find_in_chain::<DnsFailure>(&wrapped).is_some());
        assert!(find_in_chain::<Refused>(&wrapped).is_none());
    }
}
