//! Writes and removals in a confined folder store without a check-then-use race. Checking that
//! a path resolves under the root and then writing by that path lets a symlink swapped in
//! between the two send the write anywhere. Instead the folder is walked from the root one
//! component at a time, each opened relative to its parent's descriptor with `O_NOFOLLOW`
//! (a symlink there fails the open), and the file is created, renamed and unlinked relative to
//! the last descriptor. A descriptor names the folder itself, not a path, so whatever is
//! renamed or swapped afterwards, the write lands in a folder that was reached under the root.

use std::ffi::{CString, OsStr};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// The error kind a refused walk reports (a symlink or a non-folder on the way, or a name
/// that is not a plain component), told apart from real I/O failures by [`is_refusal`].
const REFUSED: std::io::ErrorKind = std::io::ErrorKind::PermissionDenied;
const REFUSED_MESSAGE: &str = "leaves the store's root";

pub fn is_refusal(e: &std::io::Error) -> bool {
    e.kind() == REFUSED && e.to_string() == REFUSED_MESSAGE
}

fn refusal() -> std::io::Error {
    std::io::Error::new(REFUSED, REFUSED_MESSAGE)
}

fn c_name(name: &OsStr) -> std::io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| refusal())
}

/// Opens `name` under `parent` as a folder, never through a symlink.
fn open_folder_at(parent: &OwnedFd, name: &CString) -> std::io::Result<OwnedFd> {
    // SAFETY: `parent` is an open descriptor this function borrows for the call; `name` is a
    // NUL-terminated string that outlives the call.
    let fd = unsafe {
        libc::openat(
            parent.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        // ELOOP: the last component is a symlink; ENOTDIR: it is not a folder.
        return Err(match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => refusal(),
            _ => e,
        });
    }
    // SAFETY: `fd` was just returned by openat, is valid and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The folder `relative` under `root`, walked without following symlinks. With `create`,
/// missing folders are made on the way; without, a missing one is `Ok(None)`.
pub fn open_folder(root: &Path, relative: &Path, create: bool) -> std::io::Result<Option<OwnedFd>> {
    let root_name = CString::new(root.as_os_str().as_bytes()).map_err(|_| refusal())?;
    // SAFETY: `root_name` is NUL-terminated and outlives the call.
    let fd = unsafe {
        libc::open(
            root_name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::NotFound && !create {
            return Ok(None);
        }
        return Err(e);
    }
    // SAFETY: `fd` was just returned by open, is valid and owned by nobody else.
    let mut folder = unsafe { OwnedFd::from_raw_fd(fd) };
    for component in relative.components() {
        let Component::Normal(part) = component else {
            return Err(refusal());
        };
        let name = c_name(part)?;
        folder = match open_folder_at(&folder, &name) {
            Ok(next) => next,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !create {
                    return Ok(None);
                }
                // SAFETY: `folder` is open; `name` is NUL-terminated and outlives the call.
                let made = unsafe { libc::mkdirat(folder.as_raw_fd(), name.as_ptr(), 0o777) };
                if made < 0 {
                    let e = std::io::Error::last_os_error();
                    // Another writer made it first: fine, it is opened (and checked) below.
                    if e.raw_os_error() != Some(libc::EEXIST) {
                        return Err(e);
                    }
                }
                open_folder_at(&folder, &name)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(Some(folder))
}

/// Writes `body` as `name` in the folder `relative` under `root`: a temporary file created
/// (exclusively, never through a symlink) in the folder walked to, then renamed over `name`
/// within that same folder.
pub fn put(root: &Path, relative: &Path, name: &OsStr, body: &[u8]) -> std::io::Result<()> {
    let Some(folder) = open_folder(root, relative, true)? else {
        return Err(std::io::Error::from(std::io::ErrorKind::NotFound));
    };
    let final_name = c_name(name)?;
    let temp_name = c_name(&super::temp_name(name))?;
    // SAFETY: `folder` is open; `temp_name` is NUL-terminated and outlives the call; the mode
    // argument is the one O_CREAT reads.
    let fd = unsafe {
        libc::openat(
            folder.as_raw_fd(),
            temp_name.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o666 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat, is valid and owned by nobody else.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let written = file.write_all(body).and_then(|()| {
        // SAFETY: `folder` is open for both names; both names are NUL-terminated and outlive
        // the call.
        let renamed = unsafe {
            libc::renameat(
                folder.as_raw_fd(),
                temp_name.as_ptr(),
                folder.as_raw_fd(),
                final_name.as_ptr(),
            )
        };
        if renamed < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    });
    if written.is_err() {
        // Best effort: the temporary name is never read, only clutter.
        // SAFETY: `folder` is open; `temp_name` is NUL-terminated and outlives the call.
        unsafe { libc::unlinkat(folder.as_raw_fd(), temp_name.as_ptr(), 0) };
    }
    written
}

/// Removes `name` (a file or a symlink, never what it points to) from the folder `relative`
/// under `root`; a missing folder or name is fine.
pub fn delete(root: &Path, relative: &Path, name: &OsStr) -> std::io::Result<()> {
    let Some(folder) = open_folder(root, relative, false)? else {
        return Ok(());
    };
    let name = c_name(name)?;
    // SAFETY: `folder` is open; `name` is NUL-terminated and outlives the call.
    if unsafe { libc::unlinkat(folder.as_raw_fd(), name.as_ptr(), 0) } < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(e);
        }
    }
    Ok(())
}
