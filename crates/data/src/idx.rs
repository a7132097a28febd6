//! The IDX format of the MNIST files: a big-endian header (magic, counts, sizes) followed by
//! `u8` items. Files may be gzipped; gzip is recognised by its magic bytes, not by the name.
//!
//! Nothing here reads an unbounded amount. A file is read header first; the header is checked
//! (magic, image size, item count at most [`MAX_ITEMS`]) before anything is allocated, and
//! then exactly the payload it announces is read, through a reader that stops one byte past
//! it: a file that is longer ([`MnistError::TrailingBytes`]) or shorter
//! ([`MnistError::Truncated`]) is rejected. So a small `.gz` that would inflate to gigabytes
//! (a "gzip bomb") or a header announcing billions of images costs at most the 47 MB of
//! MNIST's largest file and the time to inflate it, never more. Checksums are computed on the
//! same terms (`digest_maybe_gz`): streamed, and never past the published length plus one.
//!
//! This module reads the header and the items; recognising gzip and mapping read errors is
//! `decode`, checksums are `digest`, and writing IDX files (for tests and synthetic data sets)
//! is `encode`.

use std::io::{self, Read};
use std::path::Path;

use crate::error::MnistError;

mod decode;
mod digest;
mod encode;

use decode::{Decoded, fill};
pub use digest::sha256_hex;
pub(crate) use digest::{Digested, digest_file, digest_maybe_gz};
pub use encode::{encode_images, encode_labels};

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (the image files): two
/// zero bytes, the type byte 0x08 (`u8`) and the rank 3.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (the label files): two zero
/// bytes, the type byte 0x08 (`u8`) and the rank 1.
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Image side in pixels.
pub const SIDE: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;
/// The most items (images or labels) one IDX file may announce: 60,000, the size of MNIST's
/// training set (its test set has 10,000; Fashion-MNIST and Kuzushiji-MNIST, drop-in
/// replacements in the same format, have the same counts). It bounds what a file can make
/// this crate allocate: 60,000 x 784 bytes = 47,040,000 for an image file. A header
/// announcing more is rejected before anything is read past it
/// ([`MnistError::TooManyItems`]).
pub const MAX_ITEMS: u32 = 60_000;

/// The two kinds of IDX file MNIST has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Images,
    Labels,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Images => "images",
            Kind::Labels => "labels",
        }
    }

    fn magic(self) -> u32 {
        match self {
            Kind::Images => IMAGES_MAGIC,
            Kind::Labels => LABELS_MAGIC,
        }
    }

    /// Magic plus one `u32` per dimension.
    fn header_len(self) -> usize {
        match self {
            Kind::Images => 16,
            Kind::Labels => 8,
        }
    }

    fn item_len(self) -> usize {
        match self {
            Kind::Images => PIXELS,
            Kind::Labels => 1,
        }
    }
}

/// Reads the image file at `path` (raw or gzipped) and returns its `count * 784` pixels.
/// The header is checked first (magic, 28 x 28, at most [`MAX_ITEMS`] images), then exactly
/// the announced pixels are read; a shorter or longer file is an error naming `path`.
pub fn read_images(path: &Path) -> Result<Vec<u8>, MnistError> {
    let mut decoded = Decoded::open(path)?;
    let result = read_items(&mut decoded.reader, Kind::Images, path);
    result.map_err(|e| e.into_mnist(&decoded))
}

/// Reads the label file at `path` (raw or gzipped) and returns its labels, each 0-9. The
/// header is checked first (magic, at most [`MAX_ITEMS`] labels), then exactly the announced
/// labels are read; a shorter or longer file is an error naming `path`.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, MnistError> {
    let mut decoded = Decoded::open(path)?;
    let result = read_items(&mut decoded.reader, Kind::Labels, path);
    let labels = result.map_err(|e| e.into_mnist(&decoded))?;
    check_labels(labels, path)
}

/// Parses the decompressed bytes of an image file into `count * 784` pixels; `path` only
/// labels errors.
pub fn parse_images(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>, MnistError> {
    read_items(&mut bytes.as_slice(), Kind::Images, path)
        .map_err(|e| e.into_mnist_with(|e| MnistError::io("read", path, e)))
}

/// Parses the decompressed bytes of a label file, rejecting labels above 9; `path` only
/// labels errors.
pub fn parse_labels(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>, MnistError> {
    let labels = read_items(&mut bytes.as_slice(), Kind::Labels, path)
        .map_err(|e| e.into_mnist_with(|e| MnistError::io("read", path, e)))?;
    check_labels(labels, path)
}

fn check_labels(labels: Vec<u8>, path: &Path) -> Result<Vec<u8>, MnistError> {
    if let Some(index) = labels.iter().position(|&l| l > 9) {
        return Err(MnistError::BadLabel {
            path: path.to_path_buf(),
            index,
            label: labels[index],
        });
    }
    Ok(labels)
}

/// An error of [`read_items`]: a format error, or a read error that the caller maps (a
/// decompression error for gzip, an I/O error otherwise).
enum ItemsError {
    Format(MnistError),
    Read(io::Error),
}

impl ItemsError {
    fn into_mnist(self, decoded: &Decoded) -> MnistError {
        self.into_mnist_with(|e| decoded.error(e))
    }

    fn into_mnist_with(self, read: impl FnOnce(io::Error) -> MnistError) -> MnistError {
        match self {
            ItemsError::Format(e) => e,
            ItemsError::Read(e) => read(e),
        }
    }
}

impl From<MnistError> for ItemsError {
    fn from(e: MnistError) -> Self {
        ItemsError::Format(e)
    }
}

impl From<io::Error> for ItemsError {
    fn from(e: io::Error) -> Self {
        ItemsError::Read(e)
    }
}

/// Reads one IDX file of `kind` from its decompressed bytes: the header, checked, then exactly
/// the items it announces (allocated only once the header has passed), then a probe for one
/// byte more. `path` labels errors.
fn read_items(reader: &mut dyn Read, kind: Kind, path: &Path) -> Result<Vec<u8>, ItemsError> {
    let header_len = kind.header_len();
    let mut header = [0u8; 16];
    let header = &mut header[..header_len];
    let got = fill(reader, header)?;
    if got >= 4 {
        let found = be_u32(header, 0);
        if found != kind.magic() {
            return Err(MnistError::BadMagic {
                path: path.to_path_buf(),
                kind: kind.name(),
                expected: kind.magic(),
                found,
            }
            .into());
        }
    }
    if got < header_len {
        return Err(MnistError::Truncated {
            path: path.to_path_buf(),
            expected: header_len as u64,
            actual: got as u64,
        }
        .into());
    }
    let count = be_u32(header, 4);
    if kind == Kind::Images {
        let (rows, cols) = (be_u32(header, 8), be_u32(header, 12));
        if rows as usize != SIDE || cols as usize != SIDE {
            return Err(MnistError::BadImageSize {
                path: path.to_path_buf(),
                rows,
                cols,
            }
            .into());
        }
    }
    if count > MAX_ITEMS {
        return Err(MnistError::TooManyItems {
            path: path.to_path_buf(),
            kind: kind.name(),
            count,
            max: MAX_ITEMS,
        }
        .into());
    }
    // At most MAX_ITEMS * 784 = 47,040,000 bytes: no overflow, and the legitimate size.
    let payload_len = count as usize * kind.item_len();
    let expected = (header_len + payload_len) as u64;
    let mut bounded = reader.take(payload_len as u64 + 1);
    let mut items = vec![0u8; payload_len];
    let got = fill(&mut bounded, &mut items)?;
    if got < payload_len {
        return Err(MnistError::Truncated {
            path: path.to_path_buf(),
            expected,
            actual: (header_len + got) as u64,
        }
        .into());
    }
    if fill(&mut bounded, &mut [0u8; 1])? > 0 {
        return Err(MnistError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            actual: expected + 1,
        }
        .into());
    }
    Ok(items)
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests;
