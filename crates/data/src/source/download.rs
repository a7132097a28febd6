//! Downloading one MNIST file: each mirror in turn, over HTTP with timeouts (and no proxy for
//! a local server), with a progress bar, into a temporary file in the target directory that is
//! synced, verified and only then renamed to its final name.

use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::marker::record_verified;
use super::verify::check_download;
use crate::error::{MnistError, Origin};
use crate::idx::digest_maybe_gz;
use crate::mnist::FileSpec;

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

/// [`download_file`], recording the verified state where [`verify_dir`](super::verify_dir)
/// keeps it for `marker_cache`.
pub(super) fn download_into(
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

pub(super) fn is_loopback(url: &str) -> bool {
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

/// Fetches `url` into a temporary file in `dest_dir` ([`receive`]), then verifies it against
/// `spec` and renames it into place ([`install_verified`]); returns the final path.
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
    receive(response.body_mut(), &mut tmp, url, expected, spec, options)?;
    install_verified(tmp, url, spec, dest_dir)
}

/// Streams the response `body` from `url` into `tmp`, showing progress, and reads no more than
/// a file of `spec.len` decompressed bytes can take ([`max_download_len`]). A failed read, or
/// fewer bytes than the announced length `expected`, is [`MnistError::Interrupted`].
fn receive(
    body: &mut ureq::Body,
    tmp: &mut tempfile::NamedTempFile,
    url: &str,
    expected: Option<u64>,
    spec: &FileSpec,
    options: &DownloadOptions,
) -> Result<(), MnistError> {
    let bar = progress_bar(options, expected, spec.name);
    let mut reader = body
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
    Ok(())
}

/// Syncs the downloaded `tmp`, checks its decompressed bytes (gzip recognised by its magic)
/// against `spec`, and only then renames it in `dest_dir` to `<name>.gz`, or `<name>` if the
/// mirror at `url` served it raw; returns the final path. On failure `tmp` is deleted.
fn install_verified(
    mut tmp: tempfile::NamedTempFile,
    url: &str,
    spec: &FileSpec,
    dest_dir: &Path,
) -> Result<PathBuf, MnistError> {
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
