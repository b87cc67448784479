//! The file loader: originals under FILE_LOADER_ROOT_PATH, with Thumbor's lookup order
//! (the quoted name first, then the unquoted one), no way out of the root, and no file read
//! past MAX_SOURCE_BYTES (as the HTTP and S3 loaders).

use crate::error::PictorError;
use bytes::Bytes;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone)]
pub struct FileLoader {
    /// The root, canonicalized once (symlinks in the root itself are fine).
    root: PathBuf,
    /// MAX_SOURCE_BYTES: larger files are refused without being read.
    max_bytes: u64,
}

impl FileLoader {
    pub fn new(root: &Path, max_bytes: u64) -> Result<FileLoader, PictorError> {
        let root = root.canonicalize().map_err(|e| {
            PictorError::Internal(format!(
                "FILE_LOADER_ROOT_PATH {} is not usable: {e}",
                root.display()
            ))
        })?;
        Ok(FileLoader { root, max_bytes })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads the file for `image_url`. Anything missing, outside the root (`..`, absolute
    /// paths, symlinks that leave it) or not a regular file is `NotFound`: never a read. A
    /// file over MAX_SOURCE_BYTES is `TooLarge` (400) from its size alone, and the read stops
    /// there too, so a file that grows while it is read cannot take more.
    pub async fn load(&self, image_url: &str) -> Result<Bytes, PictorError> {
        use tokio::io::AsyncReadExt;
        let path = self.resolve(image_url).await?;
        let not_found =
            |e: std::io::Error| PictorError::NotFound(format!("{}: {e}", path.display()));
        let file = tokio::fs::File::open(&path).await.map_err(not_found)?;
        let length = file.metadata().await.map_err(not_found)?.len();
        if length > self.max_bytes {
            return Err(self.too_large(&path, length));
        }
        // One byte more than the limit tells a file that grew past it from one that fits.
        let mut bytes = Vec::with_capacity(length as usize);
        file.take(self.max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .await
            .map_err(not_found)?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(self.too_large(&path, bytes.len() as u64));
        }
        Ok(Bytes::from(bytes))
    }

    fn too_large(&self, path: &Path, bytes: u64) -> PictorError {
        PictorError::TooLarge(format!(
            "{}: original is over MAX_SOURCE_BYTES={} ({bytes} bytes or more)",
            path.display(),
            self.max_bytes
        ))
    }

    /// Thumbor tries the name as quoted first (files whose names contain a literal `%20` exist),
    /// then the percent-decoded name.
    async fn resolve(&self, image_url: &str) -> Result<PathBuf, PictorError> {
        let not_found = || PictorError::NotFound(image_url.to_string());
        let candidates = [
            image_url.as_bytes().to_vec(),
            percent_encoding::percent_decode_str(image_url).collect::<Vec<u8>>(),
        ];
        for name in candidates {
            let Some(relative) = contained_relative_path(&name) else {
                return Err(not_found());
            };
            let candidate = self.root.join(relative);
            // canonicalize resolves symlinks: the real file must still be under the root.
            let Ok(real) = tokio::fs::canonicalize(&candidate).await else {
                continue;
            };
            if !real.starts_with(&self.root) {
                return Err(not_found());
            }
            if tokio::fs::metadata(&real)
                .await
                .map(|m| m.is_file())
                .unwrap_or(false)
            {
                return Ok(real);
            }
        }
        Err(not_found())
    }
}

/// Lexically normalizes `name` (as Python's `abspath` would under the root) and returns the
/// relative path, or `None` when it climbs above the root. Leading slashes are dropped, as
/// Thumbor does (`path.lstrip("/")`).
fn contained_relative_path(name: &[u8]) -> Option<PathBuf> {
    if name.contains(&0) {
        return None;
    }
    let path = Path::new(OsStr::from_bytes(name));
    let mut parts: Vec<&OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(part) => parts.push(part),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_containment() {
        assert_eq!(
            contained_relative_path(b"a/b.jpg"),
            Some(PathBuf::from("a/b.jpg"))
        );
        assert_eq!(
            contained_relative_path(b"/a/./b.jpg"),
            Some(PathBuf::from("a/b.jpg"))
        );
        assert_eq!(
            contained_relative_path(b"a/../b.jpg"),
            Some(PathBuf::from("b.jpg"))
        );
        assert_eq!(contained_relative_path(b"../etc/passwd"), None);
        assert_eq!(contained_relative_path(b"a/../../etc/passwd"), None);
        assert_eq!(contained_relative_path(b"a\0b"), None);
        assert_eq!(contained_relative_path(b"/"), None);
    }

    #[tokio::test]
    async fn reads_inside_and_refuses_outside() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a b.jpg"), b"spaced").unwrap();
        std::fs::write(root.path().join("lit%20eral.jpg"), b"literal").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            root.path().join("link.jpg"),
        )
        .unwrap();
        std::fs::create_dir(root.path().join("dir.jpg")).unwrap();
        let loader = FileLoader::new(root.path(), 1 << 20).unwrap();

        assert_eq!(&loader.load("a%20b.jpg").await.unwrap()[..], b"spaced");
        // The literal name wins over the decoded one.
        assert_eq!(
            &loader.load("lit%20eral.jpg").await.unwrap()[..],
            b"literal"
        );
        for bad in [
            "../secret.txt",
            "link.jpg",
            "dir.jpg",
            "missing.jpg",
            "%2e%2e/secret.txt",
        ] {
            assert!(
                matches!(loader.load(bad).await, Err(PictorError::NotFound(_))),
                "{bad}"
            );
        }
        let absolute = format!("{}/secret.txt", outside.path().display());
        assert!(matches!(
            loader.load(&absolute).await,
            Err(PictorError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn files_over_max_source_bytes_are_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("small.jpg"), vec![1u8; 100]).unwrap();
        std::fs::write(root.path().join("exact.jpg"), vec![2u8; 1000]).unwrap();
        std::fs::write(root.path().join("big.jpg"), vec![3u8; 1001]).unwrap();
        let loader = FileLoader::new(root.path(), 1000).unwrap();
        assert_eq!(loader.load("small.jpg").await.unwrap().len(), 100);
        assert_eq!(loader.load("exact.jpg").await.unwrap().len(), 1000);
        assert!(matches!(
            loader.load("big.jpg").await,
            Err(PictorError::TooLarge(_))
        ));
    }
}
