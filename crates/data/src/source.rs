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

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{DATA_DIR_SOURCE, MnistError, Origin, SearchedPlace};
use crate::idx::{Digested, digest_file, digest_maybe_gz, sha256_hex};
use crate::mnist::{FileSpec, MNIST_FILES, Mnist, MnistSplit, find_file};

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

/// Network settings of a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Limit for connecting, for the response headers and for each read of the body; a
    /// stalled mirror fails after this long and the next one is tried.
    pub timeout: Duration,
    /// Show a progress bar on stderr (drawn only when stderr is a terminal).
    pub progress: bool,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            timeout: Duration::from_secs(30),
            progress: true,
        }
    }
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

// ---------------------------------------------------------------------------------------------
// Verification and its marker

const MARKER_NAME: &str = ".rnn-burn-verified.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Marker {
    files: BTreeMap<String, Stamp>,
}

/// What identifies a verified file cheaply: if the size and modification time are unchanged,
/// the bytes are assumed unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    len: u64,
    modified_secs: u64,
    modified_nanos: u32,
    sha256: String,
}

impl Stamp {
    fn of(path: &Path, sha256: &str) -> Option<Stamp> {
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
fn marker_paths(dir: &Path, marker_cache: Option<&Path>) -> Vec<PathBuf> {
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

fn read_marker(paths: &[PathBuf]) -> Marker {
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
fn write_marker(paths: &[PathBuf], marker: &Marker) {
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

fn record_verified(dir: &Path, marker_cache: Option<&Path>, path: &Path, spec: &FileSpec) {
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

/// Checks a download's decompressed length and digest (read by [`digest_maybe_gz`] with the
/// limit `spec.len`) against `spec`; any difference is the mirror's checksum mismatch.
fn check_download(digested: Digested, spec: &FileSpec, origin: &Origin) -> Result<(), MnistError> {
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

// ---------------------------------------------------------------------------------------------
// Download

/// Downloads `<mirror><spec.name>.gz` into `dest_dir`, trying each mirror in turn until one
/// serves a file whose decompressed bytes match `spec`. The file is written to a temporary
/// name and renamed into place (`<name>.gz`, or `<name>` if the mirror served it raw) only
/// after verification, so a failure never leaves a final file behind. Returns its path. The
/// verified state is recorded in `dest_dir`'s own marker (as for the cache).
pub fn download_file(
    spec: &FileSpec,
    mirrors: &[String],
    dest_dir: &Path,
    options: &DownloadOptions,
) -> Result<PathBuf, MnistError> {
    download_into(spec, mirrors, dest_dir, options, Some(dest_dir))
}

/// [`download_file`], recording the verified state where [`verify_dir`] keeps it for
/// `marker_cache`.
fn download_into(
    spec: &FileSpec,
    mirrors: &[String],
    dest_dir: &Path,
    options: &DownloadOptions,
    marker_cache: Option<&Path>,
) -> Result<PathBuf, MnistError> {
    fs::create_dir_all(dest_dir).map_err(|e| MnistError::io("create directory", dest_dir, e))?;
    let mut failures = Vec::new();
    for mirror in mirrors {
        let url = if mirror.ends_with('/') {
            format!("{mirror}{}.gz", spec.name)
        } else {
            format!("{mirror}/{}.gz", spec.name)
        };
        match fetch_verified(&url, spec, dest_dir, options) {
            Ok(path) => {
                record_verified(dest_dir, marker_cache, &path, spec);
                return Ok(path);
            }
            Err(e) => failures.push(e),
        }
    }
    Err(MnistError::AllMirrorsFailed {
        file: spec.name.to_string(),
        failures,
    })
}

fn agent_for(url: &str, options: &DownloadOptions) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_connect(Some(options.timeout))
        .timeout_recv_response(Some(options.timeout))
        .timeout_per_read(Some(options.timeout))
        .user_agent(concat!("rnn-burn-data/", env!("CARGO_PKG_VERSION")));
    if is_loopback(url) {
        // A proxy from the environment must not intercept a local server.
        config = config.proxy(None);
    }
    ureq::Agent::new_with_config(config.build())
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with("[::1]") {
        return true;
    }
    let host = host_port.split(':').next().unwrap_or("");
    host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The most bytes a download of a file of `len` decompressed bytes may take: the file raw, or
/// gzipped at any level (stored blocks add 5 bytes per 64 KiB), plus room for gzip's header.
fn max_download_len(len: u64) -> u64 {
    len.saturating_add(len / 64).saturating_add(64 * 1024)
}

fn progress_bar(options: &DownloadOptions, len: Option<u64>, name: &str) -> indicatif::ProgressBar {
    if !options.progress {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match len {
        Some(len) => indicatif::ProgressBar::new(len),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:30} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    bar
}

fn fetch_verified(
    url: &str,
    spec: &FileSpec,
    dest_dir: &Path,
    options: &DownloadOptions,
) -> Result<PathBuf, MnistError> {
    let mut response = agent_for(url, options)
        .get(url)
        .call()
        .map_err(|e| MnistError::Http {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
    let expected = response.body().content_length();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}-", spec.name))
        .suffix(".part")
        .tempfile_in(dest_dir)
        .map_err(|e| MnistError::io("create a temporary file in", dest_dir, e))?;

    let bar = progress_bar(options, expected, spec.name);
    let mut reader = response
        .body_mut()
        .with_config()
        // Above any encoding of the file (raw, or gzip at any level, whose worst case adds
        // a few bytes per 64 KiB block); stops a misbehaving server from filling the disk.
        .limit(max_download_len(spec.len))
        .reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut received = 0u64;
    let interrupted = |received, reason: String| MnistError::Interrupted {
        url: url.to_string(),
        received,
        expected,
        reason,
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                bar.abandon();
                return Err(interrupted(received, e.to_string()));
            }
        };
        tmp.write_all(&buf[..n])
            .map_err(|e| MnistError::io("write", tmp.path(), e))?;
        received += n as u64;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    if let Some(expected) = expected
        && received != expected
    {
        return Err(interrupted(
            received,
            "the connection closed before the announced length".into(),
        ));
    }

    let file = tmp.as_file_mut();
    file.sync_all()
        .map_err(|e| MnistError::io("sync", dest_dir, e))?;
    file.rewind()
        .map_err(|e| MnistError::io("rewind", dest_dir, e))?;
    let mut head = [0u8; 2];
    let gz = file.read_exact(&mut head).is_ok() && head == [0x1f, 0x8b];
    file.rewind()
        .map_err(|e| MnistError::io("rewind", dest_dir, e))?;
    let origin = Origin::Mirror(url.to_string());
    check_download(digest_maybe_gz(&*file, &origin, spec.len)?, spec, &origin)?;

    let final_path = dest_dir.join(if gz {
        format!("{}.gz", spec.name)
    } else {
        spec.name.to_string()
    });
    tmp.persist(&final_path)
        .map_err(|e| MnistError::io("rename into place", &final_path, e.error))?;
    Ok(final_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn offline(data_dir: Option<PathBuf>, env_dir: Option<PathBuf>, cache: &Path) -> MnistSource {
        MnistSource {
            data_dir,
            env_dir,
            cache_dir: Some(cache.to_path_buf()),
            mirrors: Vec::new(),
            download: false,
            verify_checksums: true,
            options: DownloadOptions::default(),
        }
    }

    /// Writes the four MNIST file names with tiny (valid IDX, wrong digest) contents.
    fn write_fake_mnist(dir: &Path) {
        for spec in &MNIST_FILES {
            let bytes = if spec.name.contains("images") {
                crate::idx::encode_images(&[0u8; 784])
            } else {
                crate::idx::encode_labels(&[3])
            };
            fs::write(dir.join(spec.name), bytes).unwrap();
        }
    }

    #[test]
    fn missing_data_lists_every_place_searched_and_the_fixes() {
        let tmp = tempfile::tempdir().unwrap();
        let env_dir = tmp.path().join("partial");
        fs::create_dir(&env_dir).unwrap();
        fs::write(env_dir.join("train-images-idx3-ubyte.gz"), b"x").unwrap();
        let cache = tmp.path().join("cache");
        let err = offline(None, Some(env_dir.clone()), &cache)
            .locate()
            .unwrap_err();
        let MnistError::MissingData { searched, download } = &err else {
            panic!("expected MissingData, got {err:?}");
        };
        assert_eq!(searched.len(), 3);
        assert_eq!(searched[0].source, "--data-dir");
        assert_eq!(searched[0].path, None);
        assert_eq!(searched[0].problem, "not given");
        assert_eq!(searched[1].source, "MNIST_DIR");
        assert_eq!(searched[1].path.as_deref(), Some(env_dir.as_path()));
        assert!(
            searched[1]
                .problem
                .contains("lacks train-labels-idx1-ubyte[.gz]")
        );
        assert!(!searched[1].problem.contains("train-images"));
        assert_eq!(searched[2].path.as_deref(), Some(cache.as_path()));
        assert_eq!(searched[2].problem, "does not exist");
        assert!(matches!(
            download.as_deref(),
            Some(MnistError::NotDownloaded { .. })
        ));
        let msg = err.to_string();
        eprintln!("{msg}");
        for needle in [
            "--data-dir: not given",
            env_dir.to_str().unwrap(),
            cache.to_str().unwrap(),
            "--data-dir DIR",
            "MNIST_DIR=DIR",
            "allow the download",
            "downloading is disabled",
        ] {
            assert!(msg.contains(needle), "{needle:?} missing from:\n{msg}");
        }

        let mut no_cache = offline(None, None, &cache);
        no_cache.cache_dir = None;
        no_cache.download = true;
        let msg = no_cache.locate().unwrap_err().to_string();
        assert!(msg.contains("--data-dir: not given"), "{msg}");
        assert!(msg.contains("MNIST_DIR: not set"), "{msg}");
        assert!(msg.contains("no cache directory to download into"), "{msg}");
    }

    #[test]
    fn local_copies_are_verified_and_mismatches_name_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        fs::create_dir(&data).unwrap();
        write_fake_mnist(&data);
        let cache = tmp.path().join("cache");
        let source = offline(Some(data.clone()), None, &cache);
        let err = source.locate().unwrap_err();
        // The fake file is shorter than the real one: reported as truncated, with both sizes.
        match &err {
            MnistError::Truncated {
                path,
                expected,
                actual,
            } => {
                assert_eq!(path, &data.join("train-images-idx3-ubyte"));
                assert_eq!(*expected, MNIST_FILES[0].len);
                assert_eq!(*actual, 16 + 784);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        // Without verification the same directory is accepted (MNIST-format data sets).
        let mut unverified = source.clone();
        unverified.verify_checksums = false;
        assert_eq!(unverified.locate().unwrap(), data);
        assert_eq!(unverified.load(MnistSplit::Test).unwrap().labels(), &[3]);
    }

    #[test]
    fn checksum_mismatch_of_a_full_size_file_reports_both_digests() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = FileSpec {
            name: "blob",
            sha256: "00",
            len: 4,
        };
        fs::write(tmp.path().join("blob"), b"abcd").unwrap();
        let err = verify_dir(tmp.path(), &[spec], None).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, MnistError::ChecksumMismatch { file, actual, .. }
                if file == "blob" && actual == &sha256_hex(b"abcd")),
            "{err:?}"
        );
        assert!(msg.contains("checksum mismatch for blob from"), "{msg}");
        assert!(msg.contains("Delete or replace this file"), "{msg}");
    }

    #[test]
    fn a_file_longer_than_published_is_rejected_without_reading_it_all() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = FileSpec {
            name: "blob",
            sha256: &sha256_hex(b"abcd"),
            len: 4,
        };
        fs::write(tmp.path().join("blob"), b"abcd").unwrap();
        verify_dir(tmp.path(), &[spec], None).unwrap();
        // One byte too many, then 64 MiB more, gzipped: reading stops one byte past the
        // published length, so the excess is never inflated.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"abcd").unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            enc.write_all(&zeros).unwrap();
        }
        fs::remove_file(tmp.path().join("blob")).unwrap();
        let path = tmp.path().join("blob.gz");
        fs::write(&path, enc.finish().unwrap()).unwrap();
        let err = verify_dir(tmp.path(), &[spec], None).unwrap_err();
        assert!(
            matches!(&err, MnistError::TrailingBytes { path: p, expected: 4, actual: 5 } if p == &path),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(path.to_str().unwrap()), "{msg}");
        assert!(msg.contains("at least 5"), "{msg}");
        let digested = crate::idx::digest_file(&path, 4).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(digested.len, 5);
        assert_eq!(digested.sha256, sha256_hex(b"abcd\0"));
    }

    #[test]
    fn data_dir_is_the_only_place_searched() {
        let tmp = tempfile::tempdir().unwrap();
        // Complete (unverifiable, fake) copies in MNIST_DIR and in the cache: a fallback
        // would find them, so only an error naming the empty folder shows there is none.
        let env_dir = tmp.path().join("env");
        let cache = tmp.path().join("cache");
        for dir in [&env_dir, &cache] {
            fs::create_dir(dir).unwrap();
            write_fake_mnist(dir);
        }
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        let mut source = offline(Some(empty.clone()), Some(env_dir.clone()), &cache);
        source.verify_checksums = false;
        // Without the flag, the fallback works as documented (MNIST_DIR first).
        let mut no_flag = source.clone();
        no_flag.data_dir = None;
        assert_eq!(no_flag.locate().unwrap(), env_dir);

        for dir in [empty.clone(), tmp.path().join("not-there")] {
            source.data_dir = Some(dir.clone());
            let err = source.locate().unwrap_err();
            let MnistError::MissingData { searched, download } = &err else {
                panic!("expected MissingData, got {err:?}");
            };
            assert_eq!(searched.len(), 1, "{searched:?}");
            assert_eq!(searched[0].source, "--data-dir");
            assert_eq!(searched[0].path.as_deref(), Some(dir.as_path()));
            assert!(matches!(
                download.as_deref(),
                Some(MnistError::NotDownloaded {
                    reason: "downloading is disabled"
                })
            ));
            let msg = err.to_string();
            eprintln!("{msg}");
            assert!(msg.contains(dir.to_str().unwrap()), "{msg}");
            assert!(!msg.contains(env_dir.to_str().unwrap()), "{msg}");
            assert!(!msg.contains(cache.to_str().unwrap()), "{msg}");
            assert!(
                msg.contains("Only the folder given with --data-dir"),
                "{msg}"
            );
            assert!(source.load(MnistSplit::Test).is_err());
        }
        assert!(
            !tmp.path().join("not-there").exists(),
            "nothing is created without a download"
        );
        assert_eq!(
            fs::read_dir(&empty).unwrap().count(),
            0,
            "nothing is written into the folder"
        );

        // Part of the files is not enough either: the rest is not taken from elsewhere.
        fs::copy(
            env_dir.join("train-images-idx3-ubyte"),
            empty.join("train-images-idx3-ubyte"),
        )
        .unwrap();
        source.data_dir = Some(empty.clone());
        let err = source.locate().unwrap_err();
        let MnistError::MissingData { searched, .. } = &err else {
            panic!("expected MissingData, got {err:?}");
        };
        assert!(
            searched[0]
                .problem
                .starts_with("lacks train-labels-idx1-ubyte[.gz]")
        );
        assert!(!searched[0].problem.contains("train-images"));

        // A file where the folder should be: named, nothing downloaded.
        let file = tmp.path().join("a-file");
        fs::write(&file, b"x").unwrap();
        source.data_dir = Some(file.clone());
        source.download = true;
        let err = source.locate().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(file.to_str().unwrap()), "{msg}");
        assert!(msg.contains("is not a directory"), "{msg}");
    }

    #[test]
    fn from_env_reads_mnist_dir_and_the_cache_variable() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let set = vars(&[
            ("MNIST_DIR", "/from/env"),
            ("RNN_BURN_CACHE", "/cache/root"),
        ]);
        let source = MnistSource::from_vars(Some(PathBuf::from("/explicit")), &set);
        assert_eq!(source.data_dir, Some(PathBuf::from("/explicit")));
        assert_eq!(source.env_dir, Some(PathBuf::from("/from/env")));
        assert_eq!(source.cache_dir, Some(PathBuf::from("/cache/root/mnist")));
        assert!(source.download && source.verify_checksums);
        assert_eq!(source.mirrors, MNIST_MIRRORS);

        // Empty counts as unset: no MNIST_DIR, the platform cache.
        let empty = vars(&[("MNIST_DIR", ""), ("RNN_BURN_CACHE", "")]);
        let source = MnistSource::from_vars(None, &empty);
        assert_eq!(source.data_dir, None);
        assert_eq!(source.env_dir, None);
        assert_eq!(
            source.cache_dir,
            dirs::cache_dir().map(|c| c.join("rnn-burn").join("mnist"))
        );
        let unset = vars(&[]);
        assert_eq!(MnistSource::from_vars(None, &unset).env_dir, None);
    }

    #[test]
    fn verified_state_is_remembered_until_the_file_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("blob.gz");
        let write_gz = |bytes: &[u8]| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(bytes).unwrap();
            fs::write(&path, enc.finish().unwrap()).unwrap();
        };
        write_gz(b"hello world");
        let spec = FileSpec {
            name: "blob",
            sha256: &sha256_hex(b"hello world"),
            len: 11,
        };
        let own = Some(tmp.path());
        verify_dir(tmp.path(), &[spec], own).unwrap();
        assert!(tmp.path().join(MARKER_NAME).is_file());

        // Same size and modification time: the marker vouches, no re-hash (the bad content
        // goes unnoticed, which is the point of the cheap check).
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        write_gz(b"HELLO WORLD");
        assert_eq!(fs::metadata(&path).unwrap().len(), {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(b"hello world").unwrap();
            enc.finish().unwrap().len() as u64
        });
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        verify_dir(tmp.path(), &[spec], own).unwrap();

        // A new modification time forces a re-hash, which catches the change.
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime + Duration::from_secs(5))
            .unwrap();
        let err = verify_dir(tmp.path(), &[spec], own).unwrap_err();
        assert!(
            matches!(err, MnistError::ChecksumMismatch { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn other_directories_keep_their_marker_in_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        fs::create_dir(&data).unwrap();
        fs::write(data.join("blob"), b"abc").unwrap();
        let spec = FileSpec {
            name: "blob",
            sha256: &sha256_hex(b"abc"),
            len: 3,
        };
        let cache = tmp.path().join("cache");
        verify_dir(&data, &[spec], Some(&cache)).unwrap();
        assert_eq!(
            fs::read_dir(&data).unwrap().count(),
            1,
            "nothing written into data/"
        );
        let markers: Vec<_> = fs::read_dir(cache.join("verified")).unwrap().collect();
        assert_eq!(markers.len(), 1);
        let paths = marker_paths(&data, Some(&cache));
        assert!(read_marker(&paths).files.contains_key("blob"));
        // Without a cache nothing is remembered, and nothing is written anywhere.
        verify_dir(&data, &[spec], None).unwrap();
        assert_eq!(fs::read_dir(&data).unwrap().count(), 1);
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("http://127.0.0.1:8080/x"));
        assert!(is_loopback("http://localhost/x"));
        assert!(is_loopback("http://[::1]:1/x"));
        assert!(!is_loopback(
            "https://storage.googleapis.com/cvdf-datasets/mnist/"
        ));
    }
}
