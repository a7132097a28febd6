//! The IDX format of the MNIST files: a big-endian header (magic, counts, sizes) followed by
//! `u8` items. Files may be gzipped; gzip is recognised by its magic bytes, not by the name.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::error::{MnistError, Origin};

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (the image files).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (the label files).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Image side in pixels.
pub const SIDE: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads a file, decompressing it when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, MnistError> {
    let file = File::open(path).map_err(|e| MnistError::io("open", path, e))?;
    decode_maybe_gz(file, &Origin::Local(path.to_path_buf()))
}

/// Reads everything from `reader`, gunzipping it if it starts with the gzip magic.
pub(crate) fn decode_maybe_gz(reader: impl Read, origin: &Origin) -> Result<Vec<u8>, MnistError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut head = [0u8; 2];
    let mut filled = 0;
    while filled < 2 {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(origin, e)),
        }
    }
    let chained = (&head[..filled]).chain(reader);
    let mut out = Vec::new();
    if filled == 2 && head == GZIP_MAGIC {
        MultiGzDecoder::new(chained)
            .read_to_end(&mut out)
            .map_err(|e| MnistError::Decompress {
                origin: origin.clone(),
                reason: e.to_string(),
            })?;
    } else {
        let mut chained = chained;
        chained
            .read_to_end(&mut out)
            .map_err(|e| read_error(origin, e))?;
    }
    Ok(out)
}

fn read_error(origin: &Origin, e: std::io::Error) -> MnistError {
    match origin {
        Origin::Local(path) => MnistError::io("read", path, e),
        Origin::Mirror(url) => MnistError::Http {
            url: url.clone(),
            reason: e.to_string(),
        },
    }
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

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn check_magic(
    bytes: &[u8],
    path: &Path,
    kind: &'static str,
    expected: u32,
    header: usize,
) -> Result<(), MnistError> {
    if bytes.len() >= 4 {
        let found = be_u32(bytes, 0);
        if found != expected {
            return Err(MnistError::BadMagic {
                path: path.to_path_buf(),
                kind,
                expected,
                found,
            });
        }
    }
    if bytes.len() < header {
        return Err(MnistError::Truncated {
            path: path.to_path_buf(),
            expected: header as u64,
            actual: bytes.len() as u64,
        });
    }
    Ok(())
}

fn check_len(bytes: &[u8], path: &Path, expected: u64) -> Result<(), MnistError> {
    let actual = bytes.len() as u64;
    if actual < expected {
        return Err(MnistError::Truncated {
            path: path.to_path_buf(),
            expected,
            actual,
        });
    }
    if actual > expected {
        return Err(MnistError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            actual,
        });
    }
    Ok(())
}

/// Parses the decompressed bytes of an image file into `count * 784` pixels; `path` only
/// labels errors.
pub fn parse_images(mut bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>, MnistError> {
    const HEADER: usize = 16;
    check_magic(&bytes, path, "images", IMAGES_MAGIC, HEADER)?;
    let count = be_u32(&bytes, 4) as u64;
    let (rows, cols) = (be_u32(&bytes, 8), be_u32(&bytes, 12));
    if rows as usize != SIDE || cols as usize != SIDE {
        return Err(MnistError::BadImageSize {
            path: path.to_path_buf(),
            rows,
            cols,
        });
    }
    check_len(&bytes, path, HEADER as u64 + count * PIXELS as u64)?;
    bytes.drain(..HEADER);
    Ok(bytes)
}

/// Parses the decompressed bytes of a label file, rejecting labels above 9; `path` only
/// labels errors.
pub fn parse_labels(mut bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>, MnistError> {
    const HEADER: usize = 8;
    check_magic(&bytes, path, "labels", LABELS_MAGIC, HEADER)?;
    let count = be_u32(&bytes, 4) as u64;
    check_len(&bytes, path, HEADER as u64 + count)?;
    bytes.drain(..HEADER);
    if let Some(index) = bytes.iter().position(|&l| l > 9) {
        return Err(MnistError::BadLabel {
            path: path.to_path_buf(),
            index,
            label: bytes[index],
        });
    }
    Ok(bytes)
}

/// Encodes images as an IDX image file (for tests and for writing synthetic data sets).
pub fn encode_images(pixels: &[u8]) -> Vec<u8> {
    let count = (pixels.len() / PIXELS) as u32;
    let mut out = Vec::with_capacity(16 + pixels.len());
    for word in [IMAGES_MAGIC, count, SIDE as u32, SIDE as u32] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels as an IDX label file (for tests and for writing synthetic data sets).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}
