//! Typed configuration: Thumbor's key names and defaults, read from a Thumbor-style config file
//! (`KEY = value` lines) and environment variables (which win), validated once at start-up.
//! Each subsystem owns its settings and reads its own keys (`server::settings`,
//! `source::settings`, `cache::settings`, `imaging::settings`, `url::presets`); this module only composes
//! them into one [`Config`]. The key/value source and the typed reader they all use are in
//! `reader`.

pub mod reader;

pub use reader::{parse_config_file, ConfigError, ConfigSource};

use crate::cache::settings::CacheSettings;
use crate::imaging::settings::ImagingSettings;
use crate::jobs::settings::BackgroundSettings;
use crate::server::settings::{
    AccessSettings, AdmissionSettings, ConnectionLimits, ServerSettings,
};
use crate::source::settings::{LoaderKind, SourceSettings};
use crate::source::stored::StorageKind;
use crate::upload::moderation::settings::ModerationSettings;
use crate::upload::settings::UploadSettings;
use crate::url::presets::Presets;
use reader::Reader;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Who may ask for what: signing keys, `/sign` apps, origin verification, ALLOWED_SIZES.
    pub access: AccessSettings,
    /// Where originals come from: LOADER and the loaders' keys, MAX_SOURCE_BYTES.
    pub source: SourceSettings,
    /// Result storage, caching headers and the in-memory result cache.
    pub cache: CacheSettings,
    /// How many renders run and wait, and how long a request may take.
    pub admission: AdmissionSettings,
    /// Routes and listeners around the image endpoint, and the start-up mode.
    pub server: ServerSettings,
    /// Timeouts, body size and connection count of client connections.
    pub connections: ConnectionLimits,
    /// Everything that shapes the image itself.
    pub imaging: ImagingSettings,
    /// The upload endpoints (UPLOAD_*).
    pub upload: UploadSettings,
    /// The classifier of new uploads (MODERATION_*).
    pub moderation: ModerationSettings,
    /// Background work: BACKGROUND_RENDERS and the background queue.
    pub background: BackgroundSettings,
    /// Named option sets (PRESETS, PRESET_SUFFIX_URLS, PRESETS_ONLY).
    pub presets: Presets,
}

impl Config {
    /// Reads and validates every key; the first bad value is the error.
    pub fn from_source(source: &ConfigSource) -> Result<Config, ConfigError> {
        let r = Reader::new(source);
        // The keys are read in this order so that, with several bad values, the one reported
        // is the same as before the settings moved into their subsystems: LOADER and
        // HEALTHCHECK_ROUTE come first.
        let loader = LoaderKind::from_keys(&r)?;
        let healthcheck_route = ServerSettings::healthcheck_route(&r)?;
        let access = AccessSettings::from_keys(&r)?;
        let source = SourceSettings::from_keys(&r, loader)?;
        let cache = CacheSettings::from_keys(&r)?;
        let admission = AdmissionSettings::from_keys(&r)?;
        let server = ServerSettings::from_keys(&r, healthcheck_route)?;
        let connections = ConnectionLimits::from_keys(&r)?;
        let imaging = ImagingSettings::from_keys(&r)?;
        let upload = UploadSettings::from_keys(&r)?;
        let moderation = ModerationSettings::from_keys(&r)?;
        let background = BackgroundSettings::from_keys(&r, admission.request_timeout_seconds)?;
        let presets = Presets::from_keys(&r)?;
        let mut source = source;
        // Uploads are written to the storage of originals the loader reads: one storage.
        // UPLOAD_PHOTO_STORAGE (Thumbor's default: the file storage) picks it when STORAGE
        // does not; two different ones would store uploads where they are never read.
        if upload.enabled {
            match (source.storage.kind, upload.photo_storage) {
                (StorageKind::None, photo) => {
                    source.storage.kind = photo.unwrap_or(StorageKind::File);
                }
                (storage, Some(photo)) if photo != storage => {
                    return Err(reader::invalid(
                        "UPLOAD_PHOTO_STORAGE",
                        r.raw("UPLOAD_PHOTO_STORAGE")
                            .or(r.raw("ORIGINAL_PHOTO_STORAGE"))
                            .unwrap_or(""),
                        "must be the same storage as STORAGE (uploads are read from STORAGE)",
                    ));
                }
                _ => {}
            }
        }
        if upload.activation {
            if upload.api_secret_key.is_none() {
                return Err(reader::invalid(
                    "UPLOAD_ACTIVATION",
                    "True",
                    "needs API_SECRET_KEY (the Bearer secret of /images/<id>/activate)",
                ));
            }
            if source.storage.kind == StorageKind::None {
                return Err(reader::invalid(
                    "UPLOAD_ACTIVATION",
                    "True",
                    "needs a storage of originals (STORAGE or UPLOAD_ENABLED)",
                ));
            }
            let storage = &source.storage;
            // A sweep removes everything old in the incoming area: it must hold nothing active.
            let overlapping = match source.storage.kind {
                StorageKind::File => {
                    storage.incoming_file_root.starts_with(&storage.file_root)
                        || storage.file_root.starts_with(&storage.incoming_file_root)
                }
                _ => {
                    let folder = |root: &str| match root.trim_matches('/') {
                        "" => String::new(),
                        root => format!("{root}/"),
                    };
                    let incoming = folder(&storage.incoming_s3.root_path);
                    let active = folder(&storage.s3.root_path);
                    storage.incoming_s3.bucket == storage.s3.bucket
                        && (incoming.starts_with(&active) || active.starts_with(&incoming))
                }
            };
            if overlapping {
                return Err(reader::invalid(
                    "UPLOAD_ACTIVATION",
                    "True",
                    "the incoming area (INCOMING_FILE_STORAGE_ROOT_PATH, INCOMING_AWS_STORAGE_*) \
                     must not hold or lie in the storage (active) area",
                ));
            }
            source.storage.activation = true;
        }
        Ok(Config {
            access,
            source,
            cache,
            admission,
            server,
            connections,
            imaging,
            upload,
            moderation,
            background,
            presets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_source(&ConfigSource::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_are_the_subsystems_defaults() {
        assert_eq!(config(&[]).unwrap(), Config::default());
    }

    #[test]
    fn activation_needs_a_secret_and_a_separate_incoming_area() {
        let on = [
            ("UPLOAD_ENABLED", "True"),
            ("UPLOAD_ACTIVATION", "True"),
            ("FILE_STORAGE_ROOT_PATH", "/srv/active"),
        ];
        let err = |extra: &[(&str, &str)]| {
            let pairs: Vec<_> = on.iter().chain(extra).copied().collect();
            config(&pairs).unwrap_err().reason
        };
        assert!(err(&[]).contains("API_SECRET_KEY"));
        let secret = ("API_SECRET_KEY", "s");
        for (key, value) in [
            ("INCOMING_FILE_STORAGE_ROOT_PATH", "/srv/active"),
            ("INCOMING_FILE_STORAGE_ROOT_PATH", "/srv/active/incoming"),
            ("INCOMING_FILE_STORAGE_ROOT_PATH", "/srv"),
        ] {
            assert!(
                err(&[secret, (key, value)]).contains("must not hold"),
                "{value}"
            );
        }
        let pairs: Vec<_> = on
            .iter()
            .copied()
            .chain([secret, ("INCOMING_FILE_STORAGE_ROOT_PATH", "/srv/incoming")])
            .collect();
        let c = config(&pairs).unwrap();
        assert!(c.source.storage.activation);
        assert_eq!(
            c.source.storage.incoming_file_root,
            std::path::Path::new("/srv/incoming")
        );
        // S3: the same bucket under /incoming by default, with the storage's endpoint.
        let s3 = [
            ("UPLOAD_ENABLED", "True"),
            ("UPLOAD_ACTIVATION", "True"),
            ("API_SECRET_KEY", "s"),
            ("STORAGE", "s3"),
            ("AWS_STORAGE_BUCKET_NAME", "originals"),
            ("AWS_STORAGE_S3_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ];
        let c = config(&s3).unwrap();
        assert_eq!(c.source.storage.incoming_s3.bucket, "originals");
        assert_eq!(c.source.storage.incoming_s3.root_path, "/incoming");
        assert_eq!(
            c.source.storage.incoming_s3.endpoint_url.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        for root in ["/st", "/st/incoming", "", "/"] {
            let pairs: Vec<_> = s3
                .iter()
                .copied()
                .chain([("INCOMING_AWS_STORAGE_ROOT_PATH", root)])
                .collect();
            assert!(config(&pairs).is_err(), "{root:?}");
        }
        let pairs: Vec<_> = s3
            .iter()
            .copied()
            .chain([
                ("INCOMING_AWS_STORAGE_BUCKET_NAME", "incoming"),
                ("INCOMING_AWS_STORAGE_ROOT_PATH", ""),
            ])
            .collect();
        assert_eq!(
            config(&pairs).unwrap().source.storage.incoming_s3.bucket,
            "incoming"
        );
    }

    #[test]
    fn every_subsystem_reads_its_keys() {
        let c = config(&[
            ("SECURITY_KEY", "k"),
            ("LOADER", "http"),
            ("HTTP_LOADER_MAX_REDIRECTS", "2"),
            ("AWS_LOADER_BUCKET_NAME", "originals"),
            ("RESULT_STORAGE", "s3"),
            ("AWS_RESULT_STORAGE_BUCKET_NAME", "results"),
            ("MAX_AGE", "3600"),
            ("MAX_CONCURRENT_RENDERS", "3"),
            ("HEALTHCHECK_ROUTE", "/ping"),
            ("METRICS_BIND", "127.0.0.1:9090"),
            ("MAX_CONNECTIONS", "7"),
            ("QUALITY", "90"),
        ])
        .unwrap();
        assert_eq!(c.access.security_key, "k");
        assert_eq!(c.source.loader, LoaderKind::Http);
        assert_eq!(c.source.http_loader.max_redirects, 2);
        assert_eq!(c.source.s3_loader.bucket, "originals");
        assert_eq!(c.cache.result_storage.s3.bucket, "results");
        assert_eq!(c.cache.max_age, 3600);
        assert_eq!(c.admission.max_concurrent_renders, 3);
        assert_eq!(c.server.healthcheck_route, "/ping");
        assert!(c.server.metrics_bind.is_some());
        assert_eq!(c.connections.max_connections, 7);
        assert_eq!(c.imaging.quality, 90);
        assert!(config(&[("HEALTHCHECK_ROUTE", "ping")]).is_err());
        assert!(config(&[("SECURITY_KEY", "")]).is_err());
        assert!(config(&[("METRICS_BIND", "nowhere")]).is_err());
    }

    #[test]
    fn the_first_bad_key_in_reading_order_is_reported() {
        let all_bad = [
            ("QUALITY", "abc"),
            ("MAX_CONNECTIONS", "0"),
            ("PRODUCTION", "maybe"),
            ("MAX_CONCURRENT_RENDERS", "0"),
            ("MAX_AGE", "-1"),
            ("MAX_SOURCE_BYTES", "0"),
            ("ALLOW_UNSAFE_URL", "maybe"),
            ("SECURITY_KEY", ""),
            ("HEALTHCHECK_ROUTE", "x"),
            ("LOADER", "ftp"),
        ];
        for first in 0..all_bad.len() {
            let e = config(&all_bad[..=first]).unwrap_err();
            assert_eq!(e.key, all_bad[first].0);
        }
    }
}
