//! Verification: a file's decompressed length and sha256 compared with the published ones,
//! for local copies (skipped when the marker vouches for an unchanged file) and downloads.

use std::io;
use std::path::Path;

use super::marker::{Stamp, marker_paths, read_marker, write_marker};
use crate::error::{MnistError, Origin};
use crate::idx::{Digested, digest_file};
use crate::mnist::{FileSpec, find_file};

/// Checks a local file's decompressed length and digest (read by [`digest_file`] with the
/// limit `spec.len`) against `spec`.
fn check_local(digested: Digested, spec: &FileSpec, path: &Path) -> Result<(), MnistError> {
    if digested.len < spec.len {
        return Err(MnistError::Truncated {
            path: path.to_path_buf(),
            expected: spec.len,
            actual: digested.len,
        });
    }
    if digested.len > spec.len {
        return Err(MnistError::TrailingBytes {
            path: path.to_path_buf(),
            expected: spec.len,
            actual: digested.len,
        });
    }
    if digested.sha256 != spec.sha256 {
        return Err(MnistError::ChecksumMismatch {
            file: spec.name.to_string(),
            origin: Origin::Local(path.to_path_buf()),
            expected: spec.sha256.to_string(),
            actual: digested.sha256,
        });
    }
    Ok(())
}

/// Checks a download's decompressed length and digest (read by
/// [`digest_maybe_gz`](crate::idx::digest_maybe_gz) with the limit `spec.len`) against `spec`;
/// any difference is the mirror's checksum mismatch.
pub(super) fn check_download(
    digested: Digested,
    spec: &FileSpec,
    origin: &Origin,
) -> Result<(), MnistError> {
    let actual = if digested.len > spec.len {
        format!(
            "not computed (more than {} decompressed bytes; the rest was not read)",
            spec.len
        )
    } else if digested.len < spec.len {
        format!(
            "{} ({} decompressed bytes instead of {})",
            digested.sha256, digested.len, spec.len
        )
    } else if digested.sha256 != spec.sha256 {
        digested.sha256
    } else {
        return Ok(());
    };
    Err(MnistError::ChecksumMismatch {
        file: spec.name.to_string(),
        origin: origin.clone(),
        expected: spec.sha256.to_string(),
        actual,
    })
}

/// Checks the files `specs` in `dir` (each raw or .gz) against their digests, skipping those a
/// marker records as verified with an unchanged size and modification time, and records the
/// newly verified ones. `marker_cache` is the cache directory: the marker of the cache itself
/// lives inside it, that of any other directory in `<cache>/verified/`; with `None` nothing is
/// remembered and every call re-hashes.
pub fn verify_dir(
    dir: &Path,
    specs: &[FileSpec],
    marker_cache: Option<&Path>,
) -> Result<(), MnistError> {
    let paths = marker_paths(dir, marker_cache);
    let mut marker = read_marker(&paths);
    let mut changed = false;
    for spec in specs {
        let Some(path) = find_file(dir, spec.name) else {
            return Err(MnistError::io(
                "find",
                dir.join(format!("{}[.gz]", spec.name)),
                io::ErrorKind::NotFound.into(),
            ));
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stamp = Stamp::of(&path, spec.sha256);
        if stamp.is_some() && marker.files.get(&name) == stamp.as_ref() {
            continue;
        }
        check_local(digest_file(&path, spec.len)?, spec, &path)?;
        if let Some(stamp) = stamp {
            marker.files.insert(name, stamp);
            changed = true;
        }
    }
    if changed {
        write_marker(&paths, &marker);
    }
    Ok(())
}
