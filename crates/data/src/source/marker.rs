//! The marker that remembers which files have passed verification: each file's size,
//! modification time and digest, kept in the cache (inside it for the cache itself, under
//! `verified/` for any other directory) and written atomically. A missing or unreadable marker
//! only costs a re-verification.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::idx::sha256_hex;
use crate::mnist::FileSpec;

pub(super) const MARKER_NAME: &str = ".rnn-burn-verified.json";

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Marker {
    pub(super) files: BTreeMap<String, Stamp>,
}

/// What identifies a verified file cheaply: if the size and modification time are unchanged,
/// the bytes are assumed unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Stamp {
    len: u64,
    modified_secs: u64,
    modified_nanos: u32,
    sha256: String,
}

impl Stamp {
    pub(super) fn of(path: &Path, sha256: &str) -> Option<Stamp> {
        let meta = fs::metadata(path).ok()?;
        let since = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(Stamp {
            len: meta.len(),
            modified_secs: since.as_secs(),
            modified_nanos: since.subsec_nanos(),
            sha256: sha256.to_string(),
        })
    }
}

/// Where the marker of `dir` lives: inside it when `dir` is the cache itself, otherwise in
/// `<cache>/verified/` under a hash of `dir`'s canonical path (a user's data directory, such as
/// a shared read-only copy, is never written to). No cache, no marker.
pub(super) fn marker_paths(dir: &Path, marker_cache: Option<&Path>) -> Vec<PathBuf> {
    let Some(cache) = marker_cache else {
        return Vec::new();
    };
    let canonical = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if fs::canonicalize(cache).is_ok_and(|c| c == canonical) {
        return vec![dir.join(MARKER_NAME)];
    }
    let key = sha256_hex(canonical.to_string_lossy().as_bytes());
    vec![cache.join("verified").join(format!("{}.json", &key[..16]))]
}

pub(super) fn read_marker(paths: &[PathBuf]) -> Marker {
    let mut merged = Marker::default();
    for path in paths.iter().rev() {
        if let Ok(text) = fs::read_to_string(path)
            && let Ok(marker) = serde_json::from_str::<Marker>(&text)
        {
            merged.files.extend(marker.files);
        }
    }
    merged
}

/// Writes the marker to the first location that accepts it (atomically); failure only costs a
/// re-verification next time, so it is not an error.
pub(super) fn write_marker(paths: &[PathBuf], marker: &Marker) {
    let Ok(text) = serde_json::to_string_pretty(marker) else {
        return;
    };
    for path in paths {
        let Some(parent) = path.parent() else {
            continue;
        };
        if fs::create_dir_all(parent).is_err() {
            continue;
        }
        let written = tempfile::Builder::new()
            .prefix(".marker-")
            .tempfile_in(parent)
            .and_then(|mut tmp| {
                tmp.write_all(text.as_bytes())?;
                tmp.as_file().sync_all()?;
                tmp.persist(path).map_err(|e| e.error)?;
                Ok(())
            });
        if written.is_ok() {
            return;
        }
    }
}

pub(super) fn record_verified(
    dir: &Path,
    marker_cache: Option<&Path>,
    path: &Path,
    spec: &FileSpec,
) {
    let (Some(stamp), Some(name)) = (Stamp::of(path, spec.sha256), path.file_name()) else {
        return;
    };
    let paths = marker_paths(dir, marker_cache);
    let mut marker = read_marker(&paths);
    marker
        .files
        .insert(name.to_string_lossy().into_owned(), stamp);
    write_marker(&paths, &marker);
}
