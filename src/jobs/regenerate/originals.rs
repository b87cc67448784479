//! The originals `regenerate` walks, by the names requests give them: an S3 bucket's keys
//! (STORAGE=s3, or LOADER=s3 with AWS_LOADER_BUCKET_NAME), listed page by page, or the files
//! under FILE_LOADER_ROOT_PATH. Thumbor's file STORAGE keeps originals under the SHA-1 of their
//! names, which cannot be turned back into names: that one is refused with the reason.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::Config;
use crate::error::PictorError;
use crate::source::settings::LoaderKind;
use crate::source::stored::StorageKind;
use crate::storage::s3::S3Store;

/// Keys asked for in one listing call.
const PAGE_KEYS: usize = 1000;

/// Where the originals are.
#[derive(Debug, Clone)]
pub enum Walk {
    /// A folder: names are paths relative to it, with `/`.
    Folder(PathBuf),
    /// A bucket: names are keys under `root` (thumbor-aws's `/st` layout, slash kept).
    Bucket { store: S3Store, root: String },
}

impl Walk {
    /// The originals the configuration serves, or why they cannot be walked.
    pub fn from_config(config: &Config) -> Result<Walk, String> {
        let storage = &config.source.storage;
        match storage.kind {
            StorageKind::S3 => {
                return Ok(Walk::Bucket {
                    store: S3Store::new(&storage.s3),
                    root: storage.s3.root_path.clone(),
                })
            }
            StorageKind::File => {
                return Err(
                    "STORAGE=file keeps originals under the SHA-1 of their names \
                            (Thumbor's layout), which cannot be listed as names: regenerate \
                            walks an S3 STORAGE, an S3 loader bucket, or FILE_LOADER_ROOT_PATH"
                        .into(),
                )
            }
            StorageKind::None => {}
        }
        let loaders = match &config.source.loader {
            LoaderKind::Chain(chain) => chain.clone(),
            single => vec![single.clone()],
        };
        for loader in loaders {
            match loader {
                LoaderKind::File => {
                    return Ok(Walk::Folder(config.source.file_loader_root_path.clone()))
                }
                LoaderKind::S3 if !config.source.s3_loader.bucket.is_empty() => {
                    return Ok(Walk::Bucket {
                        store: S3Store::new(&config.source.s3_loader),
                        root: config.source.s3_loader.root_path.clone(),
                    })
                }
                _ => {}
            }
        }
        Err(
            "no listable originals: regenerate walks an S3 STORAGE, an S3 loader bucket \
             (AWS_LOADER_BUCKET_NAME), or FILE_LOADER_ROOT_PATH (LOADER=file)"
                .into(),
        )
    }

    /// Every original's name starting with `prefix` and written at or after `since`, sorted.
    pub async fn names(
        &self,
        prefix: &str,
        since: Option<SystemTime>,
    ) -> Result<Vec<String>, PictorError> {
        let recent = |modified: Option<SystemTime>| match (since, modified) {
            (Some(since), Some(modified)) => modified >= since,
            (Some(_), None) => false,
            (None, _) => true,
        };
        match self {
            Walk::Folder(root) => {
                let root = root.clone();
                let prefix = prefix.to_string();
                let found = tokio::task::spawn_blocking(move || {
                    let mut found = Vec::new();
                    walk_folder(&root, "", &prefix, &mut found)
                        .map(|()| found)
                        .map_err(|e| PictorError::Internal(format!("{}: {e}", root.display())))
                })
                .await
                .map_err(|e| PictorError::Internal(format!("folder walk failed: {e}")))??;
                let mut names: Vec<String> = found
                    .into_iter()
                    .filter(|(_, modified)| recent(*modified))
                    .map(|(name, _)| name)
                    .collect();
                names.sort();
                Ok(names)
            }
            Walk::Bucket { store, root } => {
                let root = match root.trim_end_matches('/') {
                    "" => String::new(),
                    root => format!("{root}/"),
                };
                let key_prefix = format!("{root}{prefix}");
                let mut names = Vec::new();
                let mut after: Option<String> = None;
                loop {
                    let page = store
                        .list_page(&key_prefix, after.as_deref(), PAGE_KEYS)
                        .await?;
                    let Some((last, _)) = page.last() else {
                        break;
                    };
                    after = Some(last.clone());
                    for (key, modified) in page {
                        let Some(name) = key.strip_prefix(&root) else {
                            continue;
                        };
                        // Folder markers and the like are no originals.
                        if !name.is_empty() && !name.ends_with('/') && recent(modified) {
                            names.push(name.to_string());
                        }
                    }
                }
                Ok(names)
            }
        }
    }
}

/// Collects `(name, modified)` of the regular files under `folder` (its names start with
/// `relative`) whose names start with `prefix`; hidden files and folders are left out (atomic
/// writes' temporary files, `.focal_points`, checkpoints).
fn walk_folder(
    folder: &Path,
    relative: &str,
    prefix: &str,
    found: &mut Vec<(String, Option<SystemTime>)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let Ok(file_name) = entry.file_name().into_string() else {
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        let name = format!("{relative}{file_name}");
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let folder_name = format!("{name}/");
            if folder_name.starts_with(prefix) || prefix.starts_with(&folder_name) {
                walk_folder(&entry.path(), &folder_name, prefix, found)?;
            }
        } else if kind.is_file() && name.starts_with(prefix) {
            found.push((name, entry.metadata()?.modified().ok()));
        }
    }
    Ok(())
}

/// `--since`: `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS[Z]` (UTC).
pub fn parse_since(text: &str) -> Result<SystemTime, String> {
    let bad = || format!("{text:?}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let numbers = |text: &str, sep: char, count: usize| -> Option<Vec<i64>> {
        let parts: Vec<i64> = text
            .split(sep)
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        (parts.len() == count).then_some(parts)
    };
    let ymd = numbers(date, '-', 3).ok_or_else(bad)?;
    let hms = match time {
        Some(time) => numbers(time, ':', 3).ok_or_else(bad)?,
        None => vec![0, 0, 0],
    };
    let (year, month, day) = (ymd[0], ymd[1], ymd[2]);
    let valid = (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hms[0])
        && (0..60).contains(&hms[1])
        && (0..61).contains(&hms[2]);
    if !valid {
        return Err(bad());
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    let seconds = u64::try_from(seconds).map_err(|_| bad())?;
    Ok(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn since_dates_are_utc() {
        let at = |s: &str| {
            parse_since(s)
                .unwrap()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
        };
        assert_eq!(at("1970-01-01"), Duration::ZERO);
        assert_eq!(at("2000-03-01"), Duration::from_secs(951_868_800));
        assert_eq!(
            at("2026-12-07T05:49:30Z"),
            Duration::from_secs(1_796_622_570)
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-12",
            "yesterday",
            "2026-12-07T25:00:00",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_folder_walk_lists_names_under_the_prefix() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "a.jpg",
            "photos/b.jpg",
            "photos/deep/c.jpg",
            "other/d.jpg",
            ".hidden.jpg",
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        let walk = Walk::Folder(dir.path().to_path_buf());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let names = runtime.block_on(walk.names("", None)).unwrap();
        assert_eq!(
            names,
            ["a.jpg", "other/d.jpg", "photos/b.jpg", "photos/deep/c.jpg"]
        );
        let names = runtime.block_on(walk.names("photos/", None)).unwrap();
        assert_eq!(names, ["photos/b.jpg", "photos/deep/c.jpg"]);
        let future = SystemTime::now() + Duration::from_secs(3600);
        assert!(runtime
            .block_on(walk.names("", Some(future)))
            .unwrap()
            .is_empty());
    }
}
