//! The file loader: originals under FILE_LOADER_ROOT_PATH, with Thumbor's lookup order
//! (the quoted name first, then the unquoted one) and no way out of the root.

use crate::error::PictorError;
use bytes::Bytes;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone)]
pub struct FileLoader {
    /// The root, canonicalized once (symlinks in the root itself are fine).
    root: PathBuf,
}

impl FileLoader {
    pub fn new(root: &Path) -> Result<FileLoader, PictorError> {
        let root = root.canonicalize().map_err(|e| {
            PictorError::Internal(format!(
                "FILE_LOADER_ROOT_PATH {} is not usable: {e}",
                root.display()
            ))
        })?;
        Ok(FileLoader { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads the file for `image_url`. Anything missing, outside the root (`..`, absolute
    /// paths, symlinks that leave it) or not a regular file is `NotFound`: never a read.
    pub async fn load(&self, image_url: &str) -> Result<Bytes, PictorError> {
        let path = self.resolve(image_url).await?;
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| PictorError::NotFound(format!("{}: {e}", path.display())))?;
        Ok(Bytes::from(bytes))
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
        let loader = FileLoader::new(root.path()).unwrap();

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
}
