//! Where the MNIST files come from: found where they already are, downloaded when they are
//! not, and verified either way.
//!
//! Look-up order: the explicit directory (`--data-dir`), then `$MNIST_DIR`, then the per-user
//! cache ([`default_cache_dir`]: `$RNN_BURN_CACHE/mnist`, else `<cache dir>/rnn-burn/mnist`,
//! e.g. `~/.cache/rnn-burn/mnist` on Linux). The first place holding all four files is used.
//! When none does, the missing files are downloaded into the cache from [`MNIST_MIRRORS`],
//! trying the next mirror when one fails.
//!
//! Verification compares the sha256 of each file's *decompressed* bytes with [`MNIST_FILES`]
//! (gzip files are recompressed by some distributors, so their own bytes vary). Once a file
//! has passed, its size, modification time and digest are written to a marker file, so later
//! runs skip the hashing unless the file changes. The marker of the cache lives in it
//! (`.rnn-burn-verified.json`); that of any other directory lives in the cache too
//! (`verified/<hash of the directory's canonical path>.json`), so a user's data directory,
//! such as a shared read-only copy, is never written to.
//!
//! Downloads are written to a temporary file in the cache directory, verified, synced and only
//! then renamed to their final name, so an interrupted or corrupt download never leaves a
//! file that looks complete.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{MnistError, Origin, SearchedPlace};
use crate::idx::{decode_maybe_gz, read_maybe_gz, sha256_hex};
use crate::mnist::{Mnist, MnistSplit};

/// Environment variable naming a directory that holds the MNIST files (searched second).
pub const MNIST_DIR_ENV: &str = "MNIST_DIR";
/// Environment variable overriding the cache root; MNIST then lives in `$RNN_BURN_CACHE/mnist`.
pub const CACHE_ENV: &str = "RNN_BURN_CACHE";

/// Public mirrors serving `<name>.gz` for every file in [`MNIST_FILES`], tried in order.
pub const MNIST_MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// A file to find, download and verify: its base name (without `.gz`) and the size and
/// sha256 of its decompressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec<'a> {
    /// Base name, e.g. `train-images-idx3-ubyte`; on disk it may also carry `.gz`.
    pub name: &'a str,
    /// Lower-case hex sha256 of the decompressed bytes.
    pub sha256: &'a str,
    /// Size of the decompressed bytes.
    pub len: u64,
}

/// The four standard MNIST files with their published digests (train images, train labels,
/// test images, test labels).
pub const MNIST_FILES: [FileSpec<'static>; 4] = [
    FileSpec {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        len: 47_040_016,
    },
    FileSpec {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        len: 60_008,
    },
    FileSpec {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        len: 7_840_016,
    },
    FileSpec {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        len: 10_008,
    },
];

/// The per-user MNIST cache: `$RNN_BURN_CACHE/mnist` when that variable is set and not
/// empty, else `<platform cache dir>/rnn-burn/mnist`; `None` when neither can be determined.
pub fn default_cache_dir() -> Option<PathBuf> {
    match env_path(CACHE_ENV) {
        Some(root) => Some(root.join("mnist")),
        None => dirs::cache_dir().map(|c| c.join("rnn-burn").join("mnist")),
    }
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
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
    /// Explicit directory (`--data-dir`), searched first.
    pub data_dir: Option<PathBuf>,
    /// The `MNIST_DIR` directory, searched second.
    pub env_dir: Option<PathBuf>,
    /// The cache directory, searched third and the target of downloads.
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
    /// The standard look-up: `data_dir`, then `$MNIST_DIR`, then [`default_cache_dir`], with
    /// downloads from [`MNIST_MIRRORS`] enabled and checksums verified.
    pub fn from_env(data_dir: Option<PathBuf>) -> Self {
        MnistSource {
            data_dir,
            env_dir: env_path(MNIST_DIR_ENV),
            cache_dir: default_cache_dir(),
            mirrors: MNIST_MIRRORS.iter().map(|m| m.to_string()).collect(),
            download: true,
            verify_checksums: true,
            options: DownloadOptions::default(),
        }
    }

    /// The directory holding all four (verified) files, downloading into the cache if needed.
    pub fn locate(&self) -> Result<PathBuf, MnistError> {
        let mut searched = Vec::new();
        let candidates = [
            ("--data-dir", &self.data_dir, "not given"),
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
            (Some(cache), true) => match self.download_missing(cache) {
                Ok(()) => return Ok(cache.clone()),
                Err(e) => e,
            },
        };
        Err(MnistError::MissingData {
            searched,
            download: Some(Box::new(download_error)),
        })
    }

    fn download_missing(&self, cache: &Path) -> Result<(), MnistError> {
        fs::create_dir_all(cache).map_err(|e| MnistError::io("create directory", cache, e))?;
        for spec in &MNIST_FILES {
            if find_file(cache, spec.name).is_none() {
                download_file(spec, &self.mirrors, cache, &self.options)?;
            }
        }
        // Files that were already there are verified too (the new ones are in the marker).
        verify_dir(cache, &MNIST_FILES, Some(cache))
    }

    /// Locates the files (see [`MnistSource::locate`]) and loads `split` into memory.
    pub fn load(&self, split: MnistSplit) -> Result<Mnist, MnistError> {
        Mnist::from_dir(&self.locate()?, split)
    }
}

/// [`MnistSource::from_env`]`(data_dir).locate()`: the directory the experiments read MNIST
/// from.
pub fn locate(data_dir: Option<&Path>) -> Result<PathBuf, MnistError> {
    MnistSource::from_env(data_dir.map(Path::to_path_buf)).locate()
}

/// `dir/name` if it is a file, else `dir/name.gz` if that is, else `None`.
pub(crate) fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
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

fn check_digest(
    bytes: &[u8],
    spec: &FileSpec,
    origin: &Origin,
    path_for_size: Option<&Path>,
) -> Result<(), MnistError> {
    if let Some(path) = path_for_size
        && (bytes.len() as u64) < spec.len
    {
        return Err(MnistError::Truncated {
            path: path.to_path_buf(),
            expected: spec.len,
            actual: bytes.len() as u64,
        });
    }
    let actual = sha256_hex(bytes);
    if actual != spec.sha256 {
        return Err(MnistError::ChecksumMismatch {
            file: spec.name.to_string(),
            origin: origin.clone(),
            expected: spec.sha256.to_string(),
            actual,
        });
    }
    Ok(())
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
        let bytes = read_maybe_gz(&path)?;
        check_digest(&bytes, spec, &Origin::Local(path.clone()), Some(&path))?;
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
/// after verification, so a failure never leaves a final file behind. Returns its path.
pub fn download_file(
    spec: &FileSpec,
    mirrors: &[String],
    dest_dir: &Path,
    options: &DownloadOptions,
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
                record_verified(dest_dir, Some(dest_dir), &path, spec);
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
        // Far above any MNIST file; stops a misbehaving server from filling the disk.
        .limit(1 << 30)
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
    let bytes = decode_maybe_gz(&*file, &origin)?;
    if bytes.len() as u64 != spec.len {
        return Err(MnistError::ChecksumMismatch {
            file: spec.name.to_string(),
            origin,
            expected: spec.sha256.to_string(),
            actual: format!(
                "{} ({} decompressed bytes instead of {})",
                sha256_hex(&bytes),
                bytes.len(),
                spec.len
            ),
        });
    }
    check_digest(&bytes, spec, &origin, None)?;

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
        let explicit = tmp.path().join("no-such-dir");
        let env_dir = tmp.path().join("partial");
        fs::create_dir(&env_dir).unwrap();
        fs::write(env_dir.join("train-images-idx3-ubyte.gz"), b"x").unwrap();
        let cache = tmp.path().join("cache");
        let err = offline(Some(explicit.clone()), Some(env_dir.clone()), &cache)
            .locate()
            .unwrap_err();
        let MnistError::MissingData { searched, download } = &err else {
            panic!("expected MissingData, got {err:?}");
        };
        assert_eq!(searched.len(), 3);
        assert_eq!(searched[0].path.as_deref(), Some(explicit.as_path()));
        assert_eq!(searched[0].problem, "does not exist");
        assert_eq!(searched[1].source, "MNIST_DIR");
        assert!(
            searched[1]
                .problem
                .contains("lacks train-labels-idx1-ubyte[.gz]")
        );
        assert!(!searched[1].problem.contains("train-images"));
        assert_eq!(searched[2].path.as_deref(), Some(cache.as_path()));
        assert!(matches!(
            download.as_deref(),
            Some(MnistError::NotDownloaded { .. })
        ));
        let msg = err.to_string();
        eprintln!("{msg}");
        for needle in [
            explicit.to_str().unwrap(),
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
        match &err {
            MnistError::ChecksumMismatch {
                file,
                origin,
                expected,
                ..
            } => {
                assert_eq!(file, "train-images-idx3-ubyte");
                assert_eq!(origin, &Origin::Local(data.join("train-images-idx3-ubyte")));
                assert_eq!(expected, MNIST_FILES[0].sha256);
            }
            // The fake file is shorter than the real one: reported as truncated.
            MnistError::Truncated { path, expected, .. } => {
                assert_eq!(path, &data.join("train-images-idx3-ubyte"));
                assert_eq!(*expected, MNIST_FILES[0].len);
            }
            other => panic!("expected a verification error, got {other:?}"),
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
