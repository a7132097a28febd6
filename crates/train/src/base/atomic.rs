//! Files written whole or not at all: every file a run writes (config.json, metrics.csv,
//! summary.json, the plots, the comparison and snapshot files) goes through here, so a kill
//! or a full disk in the middle of a write leaves the previous version, never a torn one
//! that `--resume` would then refuse.
//!
//! The bytes go to a hidden temporary file in the same directory (a rename is atomic only
//! within one file system), which is synced to disk and then renamed over the target; the
//! directory is synced too, so the rename itself survives a crash.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically (see the module docs). On error the temporary file is
/// removed and `path` is left as it was.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_sibling(path, "tmp");
    let result = File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    sync_dir(path);
    Ok(())
}

/// Produces a file with `make`, which writes it at the path it is given (e.g. a plotting
/// library that takes a path), then moves it over `path` atomically. `make` writes a
/// temporary sibling with `path`'s extension, so format detection by extension still works.
/// If `make` succeeds without writing anything, `path` is left as it was.
pub fn produce<E: From<std::io::Error>>(
    path: &Path,
    make: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("tmp");
    let tmp = temp_sibling(path, ext);
    let result = make(&tmp).and_then(|()| {
        if !tmp.exists() {
            return Ok(());
        }
        File::open(&tmp).and_then(|f| f.sync_all())?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    sync_dir(path);
    Ok(())
}

/// `dir/.<name>.<pid>-<n>.<ext>`: a hidden temporary file beside `path`, unique per process
/// and per call (two threads of one run may write the same file at once: each writes its own
/// temporary, and the last rename wins with a complete file).
pub fn temp_sibling(path: &Path, ext: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    path.with_file_name(format!(".{name}.{}-{n}.{ext}", std::process::id()))
}

/// Syncs the directory holding `path`, so a rename into it is on disk. Best effort: some
/// file systems refuse to open or sync a directory, and the file itself is already synced.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("summary.json");
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "a temporary file was left behind");
    }

    #[test]
    fn concurrent_writers_of_one_file_each_finish_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("metrics.csv");
        std::thread::scope(|scope| {
            for t in 0..4u8 {
                let path = &path;
                scope.spawn(move || {
                    for _ in 0..50 {
                        write(path, &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|&b| b == bytes[0]), "a torn file");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_previous_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("metrics.csv");
        write(&path, b"epoch\n1\n").unwrap();
        // A producer that fails half-way: the target keeps its old bytes.
        let err = produce(&path, |p: &Path| -> std::io::Result<()> {
            std::fs::write(p, b"epo")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"epoch\n1\n");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
        // A directory that does not exist is an error, not a panic.
        assert!(write(&tmp.path().join("missing/summary.json"), b"x").is_err());
    }
}
