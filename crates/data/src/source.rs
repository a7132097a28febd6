//! Where the MNIST files come from: found where they already are, downloaded when they are
//! not, and verified either way.
//!
//! An explicit directory (`--data-dir`) is the only place searched when it is given: the
//! files are read from it, or, when it lacks them, downloaded into it (unless downloading is
//! disabled); no other directory is ever read instead of the one the user named. Without it
//! the look-up order is `$MNIST_DIR`, then the per-user cache ([`default_cache_dir`]:
//! `$RNN_BURN_CACHE/mnist`, else `<cache dir>/rnn-burn/mnist`, e.g. `~/.cache/rnn-burn/mnist`
//! on Linux). The first place holding all four files is used. When none does, the missing
//! files are downloaded into the cache from [`MNIST_MIRRORS`], trying the next mirror when one
//! fails.
//!
//! Verification compares the sha256 of each file's *decompressed* bytes with [`MNIST_FILES`]
//! (gzip files are recompressed by some distributors, so their own bytes vary). Once a file
//! has passed, its size, modification time and digest are written to a marker file, so later
//! runs skip the hashing unless the file changes. The marker of the cache lives in it
//! (`.rnn-burn-verified.json`); that of any other directory lives in the cache too
//! (`verified/<hash of the directory's canonical path>.json`), so a user's data directory,
//! such as a shared read-only copy, is never written to (except by a download into it).
//! Hashing streams the decompressed bytes and stops one byte past the published length, so a
//! file that inflates without end is rejected after that much (see [`crate::idx`]).
//!
//! Downloads are written to a temporary file in the target directory, synced, verified and
//! only then renamed to their final name, so an interrupted or corrupt download never leaves a
//! file that looks complete. The marker is written the same way.
//!
//! This module decides where to look and what to do when the files are missing; checking a
//! file against its digest is `verify`, remembering that it passed is `marker`, and fetching
//! a file from the mirrors is `download`.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{DATA_DIR_SOURCE, MnistError, SearchedPlace};
use crate::mnist::{FileSpec, MNIST_FILES, Mnist, MnistSplit, find_file};

mod download;
mod marker;
mod verify;

use download::download_into;
pub use download::{DownloadOptions, download_file};
pub use verify::verify_dir;

/// Environment variable naming a directory that holds the MNIST files (searched first when
/// there is no `--data-dir`, before the cache).
pub const MNIST_DIR_ENV: &str = "MNIST_DIR";
/// Environment variable overriding the cache root; MNIST then lives in `$RNN_BURN_CACHE/mnist`.
pub const CACHE_ENV: &str = "RNN_BURN_CACHE";

/// Public mirrors serving `<name>.gz` for every file in [`MNIST_FILES`], tried in order.
pub const MNIST_MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// The per-user MNIST cache: `$RNN_BURN_CACHE/mnist` when that variable is set and not
/// empty, else `<platform cache dir>/rnn-burn/mnist`; `None` when neither can be determined.
pub fn default_cache_dir() -> Option<PathBuf> {
    cache_dir_from(&process_var)
}

/// The value of an environment variable of this process.
fn process_var(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// [`default_cache_dir`] with the environment read through `var`.
fn cache_dir_from(var: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    match env_path(var, CACHE_ENV) {
        Some(root) => Some(root.join("mnist")),
        None => dirs::cache_dir().map(|c| c.join("rnn-burn").join("mnist")),
    }
}

/// The variable `name` as a path; unset and empty are the same.
fn env_path(var: &dyn Fn(&str) -> Option<OsString>, name: &str) -> Option<PathBuf> {
    var(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// MNIST found as a run without `--data-dir` finds it ([`MnistSource::from_env`]: `$MNIST_DIR`,
/// the cache, then a verified download into the cache), or one line saying what to set.
///
/// For programs that need the data or a short reason, not the full search report of
/// [`MnistError::MissingData`]: the test suites fail with this line when no copy is anywhere.
/// Other errors (a corrupt copy, an unreadable folder) keep their own message, flattened onto
/// one line.
pub fn locate_mnist() -> Result<PathBuf, String> {
    let source = MnistSource::from_env(None);
    source.locate().map_err(|e| match e {
        MnistError::MissingData { .. } => {
            let cache = match &source.cache_dir {
                Some(dir) => dir.display().to_string(),
                None => "$RNN_BURN_CACHE/mnist".to_string(),
            };
            format!(
                "MNIST not found and not downloadable: set MNIST_DIR to a folder holding the \
                 four MNIST IDX files, or put them in {cache}, or allow the download (needs \
                 internet)"
            )
        }
        other => other.to_string().replace('\n', " "),
    })
}
/// How to find MNIST: the places to search, whether and where to download, whether to verify.
/// [`MnistSource::from_env`] fills it the way the experiments do; tests build it by hand so
/// they never depend on (or modify) the process environment.
#[derive(Debug, Clone)]
pub struct MnistSource {
    /// Explicit directory (`--data-dir`): when set, the only place searched and the target of
    /// downloads; `env_dir` and the cache are then not read (the cache still keeps the
    /// verification marker).
    pub data_dir: Option<PathBuf>,
    /// The `MNIST_DIR` directory, searched first when `data_dir` is not set.
    pub env_dir: Option<PathBuf>,
    /// The cache directory, searched second when `data_dir` is not set and then the target of
    /// downloads; it also keeps the verification markers.
    pub cache_dir: Option<PathBuf>,
    /// Mirror base URLs (ending in `/` or not); the file name plus `.gz` is appended.
    pub mirrors: Vec<String>,
    /// Whether to download missing files.
    pub download: bool,
    /// Whether to check the sha256 of local and downloaded files. Turn off only for data sets
    /// in MNIST format that are not MNIST (downloads are always verified).
    pub verify_checksums: bool,
    /// Network settings.
    pub options: DownloadOptions,
}

impl MnistSource {
    /// The standard look-up: `data_dir` alone when given, else `$MNIST_DIR`, then
    /// [`default_cache_dir`]; downloads from [`MNIST_MIRRORS`] enabled and checksums verified.
    pub fn from_env(data_dir: Option<PathBuf>) -> Self {
        Self::from_vars(data_dir, &process_var)
    }

    /// [`MnistSource::from_env`] with the environment read through `var` (tests pass their
    /// own instead of changing the process's).
    fn from_vars(data_dir: Option<PathBuf>, var: &dyn Fn(&str) -> Option<OsString>) -> Self {
        MnistSource {
            data_dir,
            env_dir: env_path(var, MNIST_DIR_ENV),
            cache_dir: cache_dir_from(var),
            mirrors: MNIST_MIRRORS.iter().map(|m| m.to_string()).collect(),
            download: true,
            verify_checksums: true,
            options: DownloadOptions::default(),
        }
    }

    /// The directory holding all four (verified) files. With `data_dir` that directory, the
    /// missing files downloaded into it if needed (it is created if absent); without it the
    /// first of `$MNIST_DIR` and the cache holding them, else the cache after a download.
    pub fn locate(&self) -> Result<PathBuf, MnistError> {
        if let Some(dir) = &self.data_dir {
            return self.locate_in_data_dir(dir);
        }
        let mut searched = vec![SearchedPlace {
            source: DATA_DIR_SOURCE.to_string(),
            path: None,
            problem: "not given".to_string(),
        }];
        let candidates = [
            (MNIST_DIR_ENV, &self.env_dir, "not set"),
            (
                "cache",
                &self.cache_dir,
                "no cache directory could be determined (set RNN_BURN_CACHE)",
            ),
        ];
        for (source, dir, unset) in candidates {
            let Some(dir) = dir else {
                searched.push(SearchedPlace {
                    source: source.to_string(),
                    path: None,
                    problem: unset.to_string(),
                });
                continue;
            };
            match missing_files(dir, &MNIST_FILES) {
                Ok(missing) if missing.is_empty() => {
                    if self.verify_checksums {
                        verify_dir(dir, &MNIST_FILES, self.cache_dir.as_deref())?;
                    }
                    return Ok(dir.clone());
                }
                Ok(missing) => searched.push(SearchedPlace {
                    source: source.to_string(),
                    path: Some(dir.clone()),
                    problem: format!("lacks {}", missing_list(&missing)),
                }),
                Err(problem) => searched.push(SearchedPlace {
                    source: source.to_string(),
                    path: Some(dir.clone()),
                    problem,
                }),
            }
        }

        let download_error = match (&self.cache_dir, self.download) {
            (_, false) => MnistError::NotDownloaded {
                reason: "downloading is disabled",
            },
            (None, true) => MnistError::NotDownloaded {
                reason: "there is no cache directory to download into (set RNN_BURN_CACHE)",
            },
            (Some(cache), true) => match self.download_missing(cache, Some(cache)) {
                Ok(()) => return Ok(cache.clone()),
                Err(e) => e,
            },
        };
        Err(MnistError::MissingData {
            searched,
            download: Some(Box::new(download_error)),
        })
    }

    /// [`MnistSource::locate`] with `--data-dir`: `dir` or nothing. Its marker lives in the
    /// cache, as for any directory other than the cache.
    fn locate_in_data_dir(&self, dir: &Path) -> Result<PathBuf, MnistError> {
        let marker_cache = self.cache_dir.as_deref();
        let problem = match missing_files(dir, &MNIST_FILES) {
            Ok(missing) if missing.is_empty() => {
                if self.verify_checksums {
                    verify_dir(dir, &MNIST_FILES, marker_cache)?;
                }
                return Ok(dir.to_path_buf());
            }
            Ok(missing) => format!("lacks {}", missing_list(&missing)),
            Err(problem) => problem,
        };
        let download_error = if self.download {
            match self.download_missing(dir, marker_cache) {
                Ok(()) => return Ok(dir.to_path_buf()),
                Err(e) => e,
            }
        } else {
            MnistError::NotDownloaded {
                reason: "downloading is disabled",
            }
        };
        Err(MnistError::MissingData {
            searched: vec![SearchedPlace {
                source: DATA_DIR_SOURCE.to_string(),
                path: Some(dir.to_path_buf()),
                problem,
            }],
            download: Some(Box::new(download_error)),
        })
    }

    /// Downloads the files `dest` lacks into it (creating it), then verifies all four: files
    /// that were already there are checked too (the new ones are already in the marker, kept
    /// as [`verify_dir`] keeps it for `marker_cache`).
    fn download_missing(&self, dest: &Path, marker_cache: Option<&Path>) -> Result<(), MnistError> {
        fs::create_dir_all(dest).map_err(|e| MnistError::io("create directory", dest, e))?;
        for spec in &MNIST_FILES {
            if find_file(dest, spec.name).is_none() {
                download_into(spec, &self.mirrors, dest, &self.options, marker_cache)?;
            }
        }
        verify_dir(dest, &MNIST_FILES, marker_cache)
    }

    /// Locates the files (see [`MnistSource::locate`]) and loads `split` into memory.
    pub fn load(&self, split: MnistSplit) -> Result<Mnist, MnistError> {
        Mnist::from_dir(&self.locate()?, split)
    }
}

impl Mnist {
    /// Finds (or downloads) and verifies the files as [`MnistSource::from_env`] does, then loads
    /// `split`. `data_dir` is the experiment's `--data-dir`, searched first.
    pub fn load(split: MnistSplit, data_dir: Option<&Path>) -> Result<Self, MnistError> {
        MnistSource::from_env(data_dir.map(Path::to_path_buf)).load(split)
    }
}

fn missing_files<'a>(dir: &Path, specs: &[FileSpec<'a>]) -> Result<Vec<&'a str>, String> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err("is not a directory".into()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err("does not exist".into()),
        Err(e) => return Err(format!("cannot be read: {e}")),
    }
    Ok(specs
        .iter()
        .filter(|s| find_file(dir, s.name).is_none())
        .map(|s| s.name)
        .collect())
}

fn missing_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n}[.gz]"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
