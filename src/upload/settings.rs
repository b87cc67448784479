//! The upload endpoints' settings: Thumbor's UPLOAD_* keys (and their old aliases), and
//! pictor's UPLOAD_REQUIRE_KEY, UPLOAD_ID_HASH, UPLOAD_GRANT_SECONDS, and UPLOAD_ACTIVATION with
//! its API_SECRET_KEY.

use crate::config::reader::{invalid, ConfigError, Reader};
use crate::source::stored::StorageKind;

/// The digest JSON uploads are named by (`UPLOAD_ID_HASH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdHash {
    Md5,
    Sha256,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSettings {
    /// UPLOAD_ENABLED (ENABLE_ORIGINAL_PHOTO_UPLOAD): `/image` exists.
    pub enabled: bool,
    /// UPLOAD_PUT_ALLOWED (ALLOW_ORIGINAL_PHOTO_PUTTING): `PUT /image/<id>` replaces.
    pub put_allowed: bool,
    /// UPLOAD_DELETE_ALLOWED (ALLOW_ORIGINAL_PHOTO_DELETION): `DELETE /image/<id>` removes.
    pub delete_allowed: bool,
    /// UPLOAD_MAX_SIZE (MAX_SIZE): bytes; 0 = Thumbor's "no limit", which pictor reads as
    /// MAX_SOURCE_BYTES (a larger original could never be loaded).
    pub max_size: u64,
    /// UPLOAD_DEFAULT_FILENAME: the name in `Location` when the upload names none.
    pub default_filename: String,
    /// UPLOAD_PHOTO_STORAGE (ORIGINAL_PHOTO_STORAGE), when given: must match STORAGE, whose
    /// kind it sets when STORAGE is unset.
    pub photo_storage: Option<StorageKind>,
    /// UPLOAD_REQUIRE_KEY: `POST`/`PUT`/`DELETE /image` need an app key (SIGNING_API_KEYS).
    pub require_key: bool,
    /// UPLOAD_ID_HASH: `md5` (default) or `sha256`.
    pub id_hash: IdHash,
    /// UPLOAD_GRANT_SECONDS: how long a browser-to-S3 upload grant is valid.
    pub grant_seconds: u64,
    /// UPLOAD_ACTIVATION: uploads land in the incoming area and are served only once
    /// `POST /images/<id>/activate` moves them to the storage the loader reads.
    pub activation: bool,
    /// API_SECRET_KEY: the Bearer secret of `/images/<id>/activate` (required with activation).
    pub api_secret_key: Option<String>,
}

impl Default for UploadSettings {
    fn default() -> Self {
        UploadSettings {
            enabled: false,
            put_allowed: false,
            delete_allowed: false,
            max_size: 0,
            default_filename: "image".to_string(),
            photo_storage: None,
            require_key: false,
            id_hash: IdHash::Md5,
            grant_seconds: 600,
            activation: false,
            api_secret_key: None,
        }
    }
}

impl UploadSettings {
    pub fn from_keys(r: &Reader<'_>) -> Result<UploadSettings, ConfigError> {
        let d = UploadSettings::default();
        // Thumbor's aliases: the new name wins when both are set.
        let boolean = |key: &str, alias: &str, default: bool| match r.raw(key) {
            Some(_) => r.boolean(key, default),
            None => r.boolean(alias, default),
        };
        let storage_key = if r.raw("UPLOAD_PHOTO_STORAGE").is_some() {
            "UPLOAD_PHOTO_STORAGE"
        } else {
            "ORIGINAL_PHOTO_STORAGE"
        };
        let photo_storage = match r.optional_string(storage_key) {
            Some(value) => match StorageKind::parse(storage_key, &value)? {
                StorageKind::None => {
                    return Err(invalid(storage_key, &value, "uploads need a storage"))
                }
                kind => Some(kind),
            },
            None => None,
        };
        let max_size_key = if r.raw("UPLOAD_MAX_SIZE").is_some() {
            "UPLOAD_MAX_SIZE"
        } else {
            "MAX_SIZE"
        };
        let filename = r.string("UPLOAD_DEFAULT_FILENAME", &d.default_filename);
        if filename.is_empty()
            || filename.contains(['/', '\\'])
            || filename.chars().any(char::is_control)
        {
            return Err(invalid(
                "UPLOAD_DEFAULT_FILENAME",
                &filename,
                "expected a file name without slashes",
            ));
        }
        Ok(UploadSettings {
            enabled: boolean("UPLOAD_ENABLED", "ENABLE_ORIGINAL_PHOTO_UPLOAD", d.enabled)?,
            put_allowed: boolean(
                "UPLOAD_PUT_ALLOWED",
                "ALLOW_ORIGINAL_PHOTO_PUTTING",
                d.put_allowed,
            )?,
            delete_allowed: boolean(
                "UPLOAD_DELETE_ALLOWED",
                "ALLOW_ORIGINAL_PHOTO_DELETION",
                d.delete_allowed,
            )?,
            max_size: r.number(max_size_key, d.max_size, 0, u64::MAX)?,
            default_filename: filename,
            photo_storage,
            require_key: r.boolean("UPLOAD_REQUIRE_KEY", d.require_key)?,
            id_hash: match r.string("UPLOAD_ID_HASH", "md5").as_str() {
                "md5" => IdHash::Md5,
                "sha256" => IdHash::Sha256,
                other => return Err(invalid("UPLOAD_ID_HASH", other, "expected md5 or sha256")),
            },
            // S3 accepts presigned requests for at most 7 days.
            grant_seconds: r.number("UPLOAD_GRANT_SECONDS", d.grant_seconds, 1, 7 * 24 * 3600)?,
            activation: r.boolean("UPLOAD_ACTIVATION", d.activation)?,
            api_secret_key: r
                .optional_string("API_SECRET_KEY")
                .filter(|k| !k.is_empty()),
        })
    }

    /// The most bytes one upload may have: UPLOAD_MAX_SIZE, or MAX_SOURCE_BYTES without it.
    pub fn byte_limit(&self, max_source_bytes: u64) -> u64 {
        if self.max_size == 0 {
            max_source_bytes
        } else {
            self.max_size.min(max_source_bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::with_pairs;

    #[test]
    fn thumbor_names_and_aliases() {
        assert_eq!(
            with_pairs(&[], UploadSettings::from_keys).unwrap(),
            UploadSettings::default()
        );
        let s = with_pairs(
            &[
                ("ENABLE_ORIGINAL_PHOTO_UPLOAD", "True"),
                ("UPLOAD_PUT_ALLOWED", "True"),
                ("ALLOW_ORIGINAL_PHOTO_DELETION", "True"),
                ("MAX_SIZE", "1000"),
                ("UPLOAD_PHOTO_STORAGE", "thumbor_aws.storage"),
                ("UPLOAD_ID_HASH", "sha256"),
            ],
            UploadSettings::from_keys,
        )
        .unwrap();
        assert!(s.enabled && s.put_allowed && s.delete_allowed);
        assert_eq!(s.max_size, 1000);
        assert_eq!(s.photo_storage, Some(StorageKind::S3));
        assert_eq!(s.id_hash, IdHash::Sha256);
        assert_eq!(s.byte_limit(500), 500);
        assert_eq!(UploadSettings::default().byte_limit(500), 500);
        for bad in [
            ("UPLOAD_ID_HASH", "sha1"),
            ("UPLOAD_PHOTO_STORAGE", "None"),
            ("UPLOAD_DEFAULT_FILENAME", "a/b"),
        ] {
            assert_eq!(
                with_pairs(&[bad], UploadSettings::from_keys)
                    .unwrap_err()
                    .key,
                bad.0
            );
        }
    }
}
