//! The record of what a `regenerate` run has done, so an interrupted run can be resumed
//! (`--resume`) without rendering those again: one result name per line (each holds its
//! presets' fingerprint, so a changed preset is not taken for done), after a header line. It is
//! written aside and renamed into place, so a crash leaves the last complete record.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HEADER: &str = "pictor-regenerate-checkpoint 1";

/// Rewritten at most this often while a run goes on (and always when it stops).
const WRITE_INTERVAL: Duration = Duration::from_secs(2);

/// The names a checkpoint holds; none when the file is not there.
pub fn read(path: &Path) -> std::io::Result<HashSet<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(e),
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regenerate checkpoint",
        ));
    }
    Ok(lines
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// The checkpoint of a run: what earlier runs did plus what this one does.
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    done: HashSet<String>,
    written_at: Instant,
    changed: bool,
}

impl Checkpoint {
    pub fn new(path: PathBuf, done: HashSet<String>) -> Checkpoint {
        Checkpoint {
            path,
            done,
            written_at: Instant::now(),
            changed: false,
        }
    }

    /// `name` is stored and current.
    pub fn done(&mut self, name: String) {
        self.changed |= self.done.insert(name);
    }

    /// Whether it is time to write the record again.
    pub fn due(&self) -> bool {
        self.changed && self.written_at.elapsed() >= WRITE_INTERVAL
    }

    /// Writes the record: to a file beside it, flushed, then renamed over it.
    pub fn write(&mut self) -> std::io::Result<()> {
        if let Some(folder) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)?;
        }
        let mut aside = self.path.clone().into_os_string();
        aside.push(".writing");
        let aside = PathBuf::from(aside);
        let mut names: Vec<&String> = self.done.iter().collect();
        names.sort();
        {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&aside)?);
            writeln!(file, "{HEADER}")?;
            for name in names {
                writeln!(file, "{name}")?;
            }
            file.into_inner()
                .map_err(std::io::IntoInnerError::into_error)?
                .sync_all()?;
        }
        std::fs::rename(&aside, &self.path)?;
        self.written_at = Instant::now();
        self.changed = false;
        Ok(())
    }

    /// Removes the record (a run that finished leaves none).
    pub fn remove(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_record_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/checkpoint");
        assert!(read(&path).unwrap().is_empty());
        let mut record = Checkpoint::new(path.clone(), HashSet::new());
        record.done("/preset:a@1/x.jpg".into());
        record.done("/preset:b@2/y.jpg".into());
        record.write().unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert!(back.contains("/preset:b@2/y.jpg"));
        record.remove().unwrap();
        assert!(!path.exists());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "something else\n").unwrap();
        assert!(read(&path).is_err());
    }
}
