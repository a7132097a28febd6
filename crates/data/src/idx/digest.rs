//! Checksums of IDX files: the sha256 of the decompressed bytes, streamed and never read past
//! the published length plus one.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::decode::{Decoded, decode_error};
use crate::error::{MnistError, Origin};

/// The decompressed length of a stream, counted up to a limit, and the sha256 of the bytes
/// counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digested {
    /// Bytes read after decompression: at most `limit + 1`; `limit + 1` means "longer than
    /// `limit`", and the rest was not read.
    pub len: u64,
    /// Lower-case hex sha256 of those bytes.
    pub sha256: String,
}

/// Streams the bytes of `reader`, gunzipping them if they start with the gzip magic, through
/// sha256, stopping one byte past `limit`: nothing is held in memory and a stream that
/// inflates without end costs only the time to inflate `limit` bytes.
pub(crate) fn digest_maybe_gz(
    reader: impl Read,
    origin: &Origin,
    limit: u64,
) -> Result<Digested, MnistError> {
    let Decoded { reader, gz, origin } = Decoded::new(reader, origin.clone())?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    let mut bounded = reader.take(limit.saturating_add(1));
    loop {
        let n = match bounded.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(decode_error(gz, &origin, e)),
        };
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok(Digested {
        len,
        sha256: hex(&hasher.finalize()),
    })
}

/// [`digest_maybe_gz`] of the file at `path`.
pub(crate) fn digest_file(path: &Path, limit: u64) -> Result<Digested, MnistError> {
    let file = File::open(path).map_err(|e| MnistError::io("open", path, e))?;
    digest_maybe_gz(file, &Origin::Local(path.to_path_buf()), limit)
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
