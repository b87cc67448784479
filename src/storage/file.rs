//! The folder store: one file per key under a root folder. A key is a `/`-separated relative
//! name; it is normalized lexically (as Python's `abspath` under the root, so Thumbor's names
//! map to the same files) and a key that climbs above the root is refused, never opened. A
//! confined store also refuses names that leave the root through a symlink. Writes go to a
//! hidden temporary file beside the final one and are renamed over it, so no reader ever sees
//! part of a file.

mod confined;

use super::{Object, ObjectInfo};
use crate::error::PictorError;
use bytes::Bytes;
use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Marks temporary files (`.<name>.pictor-tmp-<pid>-<n>`): `list` skips them.
const TEMP_MARK: &str = ".pictor-tmp-";

#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
    /// Whether the real path (symlinks resolved) must also stay under `root`, which is then
    /// canonical.
    confined: bool,
}

impl FileStore {
    /// A store for names that come from requests (the file loader): nothing outside `root` is
    /// read, not even through a symlink. The root must exist; it is canonicalized once, so
    /// symlinks in the root itself are fine.
    pub fn confined(root: &Path) -> std::io::Result<FileStore> {
        Ok(FileStore {
            root: root.canonicalize()?,
            confined: true,
        })
    }

    /// A store for names the server makes (result storage): names cannot climb out of `root`,
    /// but symlinks under it are followed (an operator may link a subfolder to another disk).
    /// The root need not exist yet: the first `put` creates it.
    pub fn new(root: impl Into<PathBuf>) -> FileStore {
        FileStore {
            root: root.into(),
            confined: false,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file `key` names: `NotFound` when the key is refused (it climbs above the root,
    /// names the root itself, or holds a NUL byte).
    pub fn path(&self, key: &[u8]) -> Result<PathBuf, PictorError> {
        match contained_relative_path(key) {
            Some(relative) => Ok(self.root.join(relative)),
            None => Err(refused(key)),
        }
    }

    /// The object under `key`, read whole. A file over `max_bytes` is `TooLarge` from its size
    /// alone, and the read stops there too, so a file that grows while it is read cannot take
    /// more. Anything but a regular file (a folder, a device) is not an object: `Ok(None)`.
    pub async fn get(&self, key: &[u8], max_bytes: u64) -> Result<Option<Object>, PictorError> {
        use tokio::io::AsyncReadExt;
        // Checked before opening: opening a FIFO would wait for a writer.
        let Some((path, _)) = self.regular_file(key).await? else {
            return Ok(None);
        };
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, e)),
        };
        let metadata = file.metadata().await.map_err(|e| io_error(&path, e))?;
        if metadata.len() > max_bytes {
            return Err(too_large(&path, max_bytes, metadata.len()));
        }
        // One byte more than the limit tells a file that grew past it from one that fits.
        let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| io_error(&path, e))?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_large(&path, max_bytes, bytes.len() as u64));
        }
        Ok(Some(Object {
            info: info(&metadata, bytes.len() as u64),
            body: Bytes::from(bytes),
        }))
    }

    /// Size and modification time of the regular file under `key`.
    pub async fn head(&self, key: &[u8]) -> Result<Option<ObjectInfo>, PictorError> {
        Ok(self
            .regular_file(key)
            .await?
            .map(|(_, metadata)| info(&metadata, metadata.len())))
    }

    /// Writes `body` under `key` atomically: into a temporary file in the same folder, then
    /// renamed over the final name (a rename within a file system replaces the name in one
    /// step). Missing folders are created.
    ///
    /// In a confined store the folder is reached by a walk from the root, one component at a
    /// time, each opened relative to the one before and never through a symlink
    /// ([`confined::open_folder`]); the temporary file is created and renamed relative to
    /// that open folder. A symlink swapped in anywhere on the way while the write runs is
    /// refused, so the write cannot land outside the root (checking a path and then writing
    /// by path would follow it).
    pub async fn put(&self, key: &[u8], body: Bytes) -> Result<(), PictorError> {
        let path = self.path(key)?;
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(refused(key));
        };
        if self.confined {
            let relative = folder.strip_prefix(&self.root).unwrap_or(Path::new(""));
            let (root, relative, name) = (self.root.clone(), relative.to_owned(), name.to_owned());
            return match blocking(move || confined::put(&root, &relative, &name, &body)).await {
                Ok(()) => Ok(()),
                Err(e) if confined::is_refusal(&e) => Err(refused(key)),
                Err(e) => Err(io_error(&path, e)),
            };
        }
        tokio::fs::create_dir_all(folder)
            .await
            .map_err(|e| io_error(&path, e))?;
        let temp = folder.join(temp_name(name));
        let written = async {
            tokio::fs::write(&temp, &body).await?;
            tokio::fs::rename(&temp, &path).await
        };
        if let Err(e) = written.await {
            // Best effort: the temporary name is never read, only clutter.
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(io_error(&path, e));
        }
        Ok(())
    }

    /// Removes the file under `key` (a symlink itself, not its target); a missing one is fine.
    /// A confined store reaches the folder by the same symlink-free walk as `put`.
    pub async fn delete(&self, key: &[u8]) -> Result<(), PictorError> {
        let path = self.path(key)?;
        if self.confined {
            let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
                return Err(refused(key));
            };
            let relative = folder.strip_prefix(&self.root).unwrap_or(Path::new(""));
            let (root, relative, name) = (self.root.clone(), relative.to_owned(), name.to_owned());
            return match blocking(move || confined::delete(&root, &relative, &name)).await {
                Ok(()) => Ok(()),
                Err(e) if confined::is_refusal(&e) => Err(refused(key)),
                Err(e) => Err(io_error(&path, e)),
            };
        }
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    /// Keys of regular files whose key starts with `prefix`, at most `limit`: folder by folder,
    /// each in name order. Symlinks are not followed (a listing never leaves the root), and
    /// temporary files of unfinished writes and names that are not UTF-8 are left out.
    pub async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, PictorError> {
        enum Entry {
            Folder(PathBuf, String),
            File(String),
        }
        let mut keys = Vec::new();
        let mut pending = vec![Entry::Folder(self.root.clone(), String::new())];
        while let Some(entry) = pending.pop() {
            if keys.len() >= limit {
                break;
            }
            let (folder, folder_key) = match entry {
                Entry::File(key) => {
                    keys.push(key);
                    continue;
                }
                Entry::Folder(folder, folder_key) => (folder, folder_key),
            };
            let mut reading = match tokio::fs::read_dir(&folder).await {
                Ok(reading) => reading,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(&folder, e)),
            };
            let mut found = Vec::new();
            while let Some(child) = reading
                .next_entry()
                .await
                .map_err(|e| io_error(&folder, e))?
            {
                let Ok(name) = child.file_name().into_string() else {
                    continue;
                };
                if name.starts_with('.') && name.contains(TEMP_MARK) {
                    continue;
                }
                let key = format!("{folder_key}{name}");
                // DirEntry's type does not follow symlinks.
                let kind = child.file_type().await.map_err(|e| io_error(&folder, e))?;
                if kind.is_dir() {
                    // Only folders that can hold a matching key are walked.
                    let folder_prefix = format!("{key}/");
                    if folder_prefix.starts_with(prefix) || prefix.starts_with(&folder_prefix) {
                        found.push(Entry::Folder(child.path(), folder_prefix));
                    }
                } else if kind.is_file() && key.starts_with(prefix) {
                    found.push(Entry::File(key));
                }
            }
            let name = |entry: &Entry| match entry {
                Entry::Folder(_, key) | Entry::File(key) => key.clone(),
            };
            // Reversed onto the stack, so the first name comes off first.
            found.sort_by_key(|entry| std::cmp::Reverse(name(entry)));
            pending.extend(found);
        }
        Ok(keys)
    }

    /// The regular file under `key` and its metadata; `None` when there is none. In a confined
    /// store the real path (symlinks resolved) must still be under the root, else the key is
    /// refused.
    async fn regular_file(&self, key: &[u8]) -> Result<Option<(PathBuf, Metadata)>, PictorError> {
        let mut path = self.path(key)?;
        if self.confined {
            let Ok(real) = tokio::fs::canonicalize(&path).await else {
                return Ok(None);
            };
            if !real.starts_with(&self.root) {
                return Err(refused(key));
            }
            path = real;
        }
        match tokio::fs::metadata(&path).await {
            Ok(metadata) if metadata.is_file() => Ok(Some((path, metadata))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }
}

/// Lexically normalizes `name` (as Python's `abspath` would under the root) and returns the
/// relative path, or `None` when it climbs above the root. Leading slashes are dropped, as
/// Thumbor does (`path.lstrip("/")`).
pub fn contained_relative_path(name: &[u8]) -> Option<PathBuf> {
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

/// Runs file system calls that block (the confined walk) off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
}

/// A name no other write (in this process or another) uses at the same time.
fn temp_name(final_name: &OsStr) -> OsString {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut name = OsString::from(".");
    name.push(final_name);
    name.push(format!(
        "{TEMP_MARK}{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    name
}

fn info(metadata: &Metadata, size: u64) -> ObjectInfo {
    ObjectInfo {
        size,
        modified: metadata.modified().ok(),
        attributes: Default::default(),
    }
}

fn refused(key: &[u8]) -> PictorError {
    PictorError::NotFound(format!(
        "{}: outside the store's root",
        String::from_utf8_lossy(key)
    ))
}

fn io_error(path: &Path, e: std::io::Error) -> PictorError {
    PictorError::Internal(format!("{}: {e}", path.display()))
}

fn too_large(path: &Path, max_bytes: u64, bytes: u64) -> PictorError {
    PictorError::TooLarge(format!(
        "{}: over the limit of {max_bytes} bytes ({bytes} bytes or more)",
        path.display()
    ))
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

    fn refused_key(result: Result<impl std::fmt::Debug, PictorError>) -> bool {
        matches!(result, Err(PictorError::NotFound(_)))
    }

    #[tokio::test]
    async fn get_head_put_delete() {
        let root = tempfile::tempdir().unwrap();
        let store = FileStore::new(root.path().join("not-yet"));
        assert_eq!(store.get(b"a/b.bin", 100).await.unwrap(), None);
        assert_eq!(store.head(b"a/b.bin").await.unwrap(), None);

        store
            .put(b"a/b.bin", Bytes::from_static(b"hello"))
            .await
            .unwrap();
        let object = store.get(b"a/b.bin", 100).await.unwrap().unwrap();
        assert_eq!(&object.body[..], b"hello");
        assert_eq!(object.info.size, 5);
        assert!(object.info.modified.is_some());
        let info = store.head(b"/a/./b.bin").await.unwrap().unwrap();
        assert_eq!(info.size, 5);

        // Replacing keeps one file; a folder is not an object.
        store
            .put(b"a/b.bin", Bytes::from_static(b"bye"))
            .await
            .unwrap();
        assert_eq!(
            &store.get(b"a/b.bin", 100).await.unwrap().unwrap().body[..],
            b"bye"
        );
        assert_eq!(store.get(b"a", 100).await.unwrap(), None);

        store.delete(b"a/b.bin").await.unwrap();
        assert_eq!(store.get(b"a/b.bin", 100).await.unwrap(), None);
        store.delete(b"a/b.bin").await.unwrap();
        store.delete(b"never/was").await.unwrap();
    }

    #[tokio::test]
    async fn size_cap() {
        let root = tempfile::tempdir().unwrap();
        let store = FileStore::new(root.path());
        store
            .put(b"exact", Bytes::from(vec![1u8; 10]))
            .await
            .unwrap();
        store.put(b"big", Bytes::from(vec![1u8; 11])).await.unwrap();
        assert_eq!(
            store.get(b"exact", 10).await.unwrap().unwrap().body.len(),
            10
        );
        assert!(matches!(
            store.get(b"big", 10).await,
            Err(PictorError::TooLarge(_))
        ));
    }

    #[tokio::test]
    async fn keys_never_leave_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link"))
            .unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        let absolute = format!("{}/secret", outside.path().display());
        for store in [
            FileStore::new(root.path()),
            FileStore::confined(root.path()).unwrap(),
        ] {
            for key in ["../secret", "a/../../secret", "/", "", "a\0b"] {
                let key = key.as_bytes();
                assert!(refused_key(store.get(key, 100).await), "{key:?}");
                assert!(refused_key(store.head(key).await), "{key:?}");
                assert!(refused_key(store.put(key, Bytes::new()).await), "{key:?}");
                assert!(refused_key(store.delete(key).await), "{key:?}");
            }
            // An absolute name is taken under the root, as Thumbor strips the leading slash.
            assert_eq!(store.get(absolute.as_bytes(), 100).await.unwrap(), None);
        }
        // A confined store does not follow symlinks out, for reads or writes.
        let confined = FileStore::confined(root.path()).unwrap();
        assert!(refused_key(confined.get(b"link", 100).await));
        assert!(refused_key(confined.head(b"out/secret").await));
        assert!(refused_key(confined.put(b"out/new", Bytes::new()).await));
        assert!(refused_key(
            confined.put(b"out/deeper/new", Bytes::new()).await
        ));
        assert!(refused_key(confined.delete(b"out/secret").await));
        assert!(!outside.path().join("new").exists());
        assert!(!outside.path().join("deeper").exists());
        assert!(outside.path().join("secret").exists());
        // A plain store follows them (result storage folders may be linked to other disks).
        let plain = FileStore::new(root.path());
        assert_eq!(
            &plain.get(b"out/secret", 100).await.unwrap().unwrap().body[..],
            b"secret"
        );
    }

    /// The folder of a confined write is swapped between a real folder and a symlink out of
    /// the root while writes run: however the two interleave, nothing is ever written (or
    /// removed) outside. (A check of the real path followed by a write by path loses this race
    /// now and then: the write follows the symlink swapped in after the check.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_symlink_swapped_in_during_a_confined_write_is_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), b"keep").unwrap();
        let root = tempfile::tempdir().unwrap();
        let store = FileStore::confined(root.path()).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let (sub, outside, stop) = (
                root.path().join("sub"),
                outside.path().to_owned(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = std::fs::remove_dir_all(&sub).or_else(|_| std::fs::remove_file(&sub));
                    let _ = std::fs::create_dir(&sub);
                    std::thread::yield_now();
                    let _ = std::fs::remove_dir_all(&sub);
                    let _ = std::os::unix::fs::symlink(&outside, &sub);
                    std::thread::yield_now();
                }
            })
        };
        let mut refused = 0;
        for _ in 0..2000 {
            if store
                .put(b"sub/keep", Bytes::from_static(b"x"))
                .await
                .is_err()
            {
                refused += 1;
            }
            let _ = store.delete(b"sub/keep").await;
            let _ = store.put(b"sub/new", Bytes::from_static(b"x")).await;
        }
        stop.store(true, Ordering::Relaxed);
        swapper.join().unwrap();
        let names: Vec<_> = std::fs::read_dir(outside.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![OsString::from("keep")],
            "written outside the root"
        );
        assert_eq!(std::fs::read(outside.path().join("keep")).unwrap(), b"keep");
        // The swapper ran against the writes: some were refused.
        assert!(refused > 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_put_is_never_seen_half_written() {
        let root = tempfile::tempdir().unwrap();
        let store = FileStore::new(root.path());
        let old = Bytes::from(vec![b'o'; 1 << 20]);
        let new = Bytes::from(vec![b'n'; 1 << 20]);
        store.put(b"k", old.clone()).await.unwrap();
        let writer = {
            let store = store.clone();
            let new = new.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    store.put(b"k", new.clone()).await.unwrap();
                }
            })
        };
        // Every read while the writes run sees one whole version.
        while !writer.is_finished() {
            let body = store.get(b"k", u64::MAX).await.unwrap().unwrap().body;
            assert!(
                body == old || body == new,
                "a read saw {} bytes",
                body.len()
            );
            tokio::task::yield_now().await;
        }
        writer.await.unwrap();
        // Nothing is left beside the final name, and the listing never shows temporary files.
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("k")]);
        // A write that fails leaves neither a partial final file nor its temporary file.
        std::fs::create_dir(root.path().join("d")).unwrap();
        assert!(store.put(b"d", new.clone()).await.is_err());
        assert!(root.path().join("d").is_dir());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 2);
    }

    #[tokio::test]
    async fn list_walks_in_name_order_and_stops_at_the_limit() {
        let root = tempfile::tempdir().unwrap();
        let store = FileStore::new(root.path());
        for key in ["b/2", "b/1", "a", "c/x/y", "bz"] {
            store.put(key.as_bytes(), Bytes::new()).await.unwrap();
        }
        std::fs::write(root.path().join(".a.pictor-tmp-1-2"), b"").unwrap();
        std::os::unix::fs::symlink(root.path().join("a"), root.path().join("link")).unwrap();
        assert_eq!(
            store.list("", 100).await.unwrap(),
            vec!["a", "b/1", "b/2", "bz", "c/x/y"]
        );
        assert_eq!(
            store.list("b", 100).await.unwrap(),
            vec!["b/1", "b/2", "bz"]
        );
        assert_eq!(store.list("b/", 100).await.unwrap(), vec!["b/1", "b/2"]);
        assert_eq!(store.list("c/x/", 100).await.unwrap(), vec!["c/x/y"]);
        assert_eq!(store.list("", 2).await.unwrap(), vec!["a", "b/1"]);
        assert!(store.list("nothing", 100).await.unwrap().is_empty());
        assert!(FileStore::new(root.path().join("missing"))
            .list("", 10)
            .await
            .unwrap()
            .is_empty());
    }
}
