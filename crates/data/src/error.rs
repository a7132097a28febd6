//! Errors of this crate. They end up in front of a user who ran an experiment, so each one
//! names the file or place involved and, where there is one, the fix.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where a file being checked came from: the checksum and parse errors say which copy is bad,
/// because the fix differs (delete a local copy vs. try another mirror).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk.
    Local(PathBuf),
    /// A download from this URL (mirror base + file name).
    Mirror(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Local(path) => write!(f, "{}", path.display()),
            Origin::Mirror(url) => write!(f, "mirror {url}"),
        }
    }
}

/// One place the MNIST look-up tried, and why it did not use it; listed in
/// [`MnistError::MissingData`] so the user sees exactly what was searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchedPlace {
    /// How the place was chosen, e.g. `--data-dir`, `MNIST_DIR`, `cache`.
    pub source: String,
    /// The directory, when the place named one.
    pub path: Option<PathBuf>,
    /// Why it was not used ("does not exist", "lacks train-labels-idx1-ubyte[.gz]", "not set").
    pub problem: String,
}

impl fmt::Display for SearchedPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{} ({}): {}", self.source, path.display(), self.problem),
            None => write!(f, "{}: {}", self.source, self.problem),
        }
    }
}

/// Everything that can go wrong finding, downloading, verifying or parsing MNIST.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MnistError {
    /// No searched place has the four files and no download was possible or allowed. With
    /// `--data-dir` that folder is the only place searched (and the download's target).
    #[error("{}", missing_message(searched, download))]
    MissingData {
        /// Every place looked at, in look-up order.
        searched: Vec<SearchedPlace>,
        /// Why nothing was downloaded: disabled, no cache directory, or the download's error.
        download: Option<Box<MnistError>>,
    },

    /// Reading, writing or creating a file or directory failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "create directory", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// A file starting with the gzip magic could not be decompressed.
    #[error(
        "{origin} is not a valid gzip file ({reason}); it is probably truncated or corrupt: \
         delete it so it is fetched again, or replace it with a good copy"
    )]
    Decompress {
        /// The bad file.
        origin: Origin,
        /// The decoder's message.
        reason: String,
    },

    /// The first four bytes are not the IDX magic of the expected file kind.
    #[error(
        "{} has the wrong magic number 0x{found:08x}; expected 0x{expected:08x} (an IDX {kind} \
         file). Is this the right file, and is it the raw or gzipped IDX file from MNIST?",
        path.display()
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// `images` or `labels`.
        kind: &'static str,
        /// 0x00000803 for images, 0x00000801 for labels.
        expected: u32,
        /// What the file starts with.
        found: u32,
    },

    /// The image header announces images that are not 28 x 28.
    #[error("{} holds {rows}x{cols} images; MNIST images are 28x28", path.display())]
    BadImageSize {
        /// The file.
        path: PathBuf,
        /// Rows from the header.
        rows: u32,
        /// Columns from the header.
        cols: u32,
    },

    /// The file is shorter than its header says (usually an interrupted copy or download).
    #[error(
        "{} is truncated: its header needs {expected} bytes, the (decompressed) file has \
         {actual}; delete it so it is fetched again, or replace it with a complete copy",
        path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header requires (header + items).
        expected: u64,
        /// Bytes present after decompression.
        actual: u64,
    },

    /// The file is longer than its header (or, when verifying, the published size) says.
    /// Reading stops one byte past the expected length, so a file that inflates without end
    /// is rejected after that much.
    #[error(
        "{} is longer than it should be: {expected} bytes are expected, the (decompressed) file \
         has at least {actual}; it is not a valid MNIST IDX file (corrupt, or a different \
         file): delete it so it is fetched again, or replace it with a good copy",
        path.display()
    )]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes the header (or the published size) describes.
        expected: u64,
        /// Bytes read after decompression before giving up: at least `expected + 1`; the rest
        /// of the file was not read.
        actual: u64,
    },

    /// The header announces more items than any MNIST file holds; rejected before anything is
    /// allocated for them.
    #[error(
        "{} announces {count} {kind} in its header; at most {max} are accepted (MNIST's \
         largest file holds 60000), so it is corrupt or not an MNIST {kind} file",
        path.display()
    )]
    TooManyItems {
        /// The file.
        path: PathBuf,
        /// `images` or `labels`.
        kind: &'static str,
        /// The count from the header.
        count: u32,
        /// The accepted maximum ([`crate::idx::MAX_ITEMS`]).
        max: u32,
    },

    /// The image file and the label file of a split disagree on the number of samples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels; the two files must come from \
         the same split",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Images announced by the image header.
        images: usize,
        /// Labels announced by the label header.
        labels: usize,
    },

    /// A label outside 0..=9.
    #[error(
        "{} has label {label} at index {index}; MNIST labels are 0-9, so this is not an MNIST \
         label file (or it is corrupt)",
        path.display()
    )]
    BadLabel {
        /// The label file.
        path: PathBuf,
        /// The sample index.
        index: usize,
        /// The offending value.
        label: u8,
    },

    /// The decompressed bytes do not have the published sha256.
    #[error(
        "checksum mismatch for {file} from {origin}: the sha256 of its decompressed bytes is \
         {actual}, expected {expected}. {}",
        checksum_hint(origin)
    )]
    ChecksumMismatch {
        /// The file's base name (e.g. `train-images-idx3-ubyte`).
        file: String,
        /// The local path or the mirror URL it came from.
        origin: Origin,
        /// The published digest.
        expected: String,
        /// The digest found.
        actual: String,
    },

    /// The HTTP request failed before any body was received (DNS, connect, TLS, status, ...).
    #[error("could not download {url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// The client's message.
        reason: String,
    },

    /// The connection broke while the body was being received.
    #[error(
        "the download of {url} was interrupted after {received} of {} bytes: {reason}",
        expected.map_or_else(|| "an unknown number of".to_string(), |n| n.to_string())
    )]
    Interrupted {
        /// The URL.
        url: String,
        /// Bytes received before the failure.
        received: u64,
        /// The announced `Content-Length`, if any.
        expected: Option<u64>,
        /// What went wrong.
        reason: String,
    },

    /// No download was attempted (disabled, or nowhere to put it).
    #[error("nothing was downloaded: {reason}")]
    NotDownloaded {
        /// Why.
        reason: &'static str,
    },

    /// Every mirror failed for one file; each mirror's own error is kept.
    #[error("{}", all_mirrors_message(file, failures))]
    AllMirrorsFailed {
        /// The file's base name.
        file: String,
        /// One error per mirror, in the order tried.
        failures: Vec<MnistError>,
    },
}

impl MnistError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        MnistError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

fn checksum_hint(origin: &Origin) -> &'static str {
    match origin {
        Origin::Local(_) => {
            "Delete or replace this file (a fresh copy is downloaded when it is missing); \
             if it is a deliberately different data set in MNIST format, disable checksum \
             verification."
        }
        Origin::Mirror(_) => "The mirror served a corrupt or different file.",
    }
}

fn missing_message(searched: &[SearchedPlace], download: &Option<Box<MnistError>>) -> String {
    let mut msg = String::from(
        "MNIST data not found: none of these places has the four IDX files \
         (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
         t10k-labels-idx1-ubyte, each raw or .gz):",
    );
    for place in searched {
        msg.push_str("\n  - ");
        msg.push_str(&place.to_string());
    }
    if let Some(err) = download {
        msg.push_str("\nDownload: ");
        msg.push_str(&err.to_string());
    }
    let only_data_dir = matches!(searched, [place] if place.source == DATA_DIR_SOURCE);
    msg.push_str(if only_data_dir {
        "\nTo fix: put these files into that folder, or point --data-dir at a folder that has \
         them; or allow the download into that folder (needs internet). Only the folder given \
         with --data-dir is searched; without it, MNIST_DIR and the cache are."
    } else {
        "\nTo fix: pass --data-dir DIR, or set MNIST_DIR=DIR, pointing at a folder with these \
         files; or allow the download into the cache (needs internet; the cache folder can be \
         moved with RNN_BURN_CACHE)."
    });
    msg
}

/// [`SearchedPlace::source`] of the explicit directory (`--data-dir`).
pub(crate) const DATA_DIR_SOURCE: &str = "--data-dir";

fn all_mirrors_message(file: &str, failures: &[MnistError]) -> String {
    if failures.is_empty() {
        return format!("no mirror is configured to download {file} from");
    }
    let mut msg = format!("every mirror failed for {file}:");
    for failure in failures {
        msg.push_str("\n    * ");
        msg.push_str(&failure.to_string());
    }
    msg
}

/// A configuration value that cannot produce a data set (e.g. an adding problem of length 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The adding problem needs two distinct positions to mark.
    #[error("the adding problem needs sequences of at least 2 steps, got {seq_len}")]
    SequenceTooShort {
        /// The requested length.
        seq_len: usize,
    },
    /// The TBPTT iterator needs at least one token.
    #[error("the token stream is empty")]
    EmptyStream,
    /// A zero batch size or window length.
    #[error("{name} must be at least 1")]
    Zero {
        /// The parameter's name.
        name: &'static str,
    },
    /// A saved TBPTT position belongs to a different stream or batch layout.
    #[error(
        "the saved TBPTT position was taken with stream length {saved_len}, batch {saved_batch}, \
         window {saved_bprop}; this iterator has {len}, {batch}, {bprop}"
    )]
    PositionMismatch {
        /// Stream length of the saved position.
        saved_len: usize,
        /// Batch of the saved position.
        saved_batch: usize,
        /// Window length of the saved position.
        saved_bprop: usize,
        /// This iterator's stream length.
        len: usize,
        /// This iterator's batch.
        batch: usize,
        /// This iterator's window length.
        bprop: usize,
    },
    /// A value that does not parse (sequence view, normalisation).
    #[error("unknown {what} {value:?}; expected one of: {expected}")]
    Unknown {
        /// What was being parsed.
        what: &'static str,
        /// The input.
        value: String,
        /// The accepted spellings.
        expected: &'static str,
    },
}
