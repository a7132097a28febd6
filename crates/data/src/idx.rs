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

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::error::{MnistError, Origin};

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

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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

/// A file's decompressed bytes: the gzip decoder when the file starts with the gzip magic,
/// the file itself otherwise. Read errors become the matching [`MnistError`].
struct Decoded<'a> {
    reader: Box<dyn Read + 'a>,
    gz: bool,
    origin: Origin,
}

impl<'a> Decoded<'a> {
    fn new(reader: impl Read + 'a, origin: Origin) -> Result<Self, MnistError> {
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let mut head = [0u8; 2];
        let filled = fill(&mut reader, &mut head).map_err(|e| read_error(&origin, e))?;
        let gz = filled == 2 && head == GZIP_MAGIC;
        let chained = io::Cursor::new(head).take(filled as u64).chain(reader);
        let reader: Box<dyn Read + 'a> = if gz {
            Box::new(MultiGzDecoder::new(chained))
        } else {
            Box::new(chained)
        };
        Ok(Decoded { reader, gz, origin })
    }

    fn open(path: &Path) -> Result<Decoded<'static>, MnistError> {
        let file = File::open(path).map_err(|e| MnistError::io("open", path, e))?;
        Decoded::new(file, Origin::Local(path.to_path_buf()))
    }

    /// The error for a failed read: a decompression error for gzip, else a read error.
    fn error(&self, e: io::Error) -> MnistError {
        decode_error(self.gz, &self.origin, e)
    }
}

fn decode_error(gz: bool, origin: &Origin, e: io::Error) -> MnistError {
    if gz {
        MnistError::Decompress {
            origin: origin.clone(),
            reason: e.to_string(),
        }
    } else {
        read_error(origin, e)
    }
}

/// Reads into `buf` until it is full or the stream ends; returns how many bytes it holds.
fn fill<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn read_error(origin: &Origin, e: io::Error) -> MnistError {
    match origin {
        Origin::Local(path) => MnistError::io("read", path, e),
        Origin::Mirror(url) => MnistError::Http {
            url: url.clone(),
            reason: e.to_string(),
        },
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

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;

    use super::*;

    fn header(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// Writes `bytes` (gzipped when `gz`) to a file in `dir` and returns its path.
    fn file(dir: &Path, name: &str, bytes: &[u8], gz: bool) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, if gz { gzip(bytes) } else { bytes.to_vec() }).unwrap();
        path
    }

    #[test]
    fn absurd_headers_are_rejected_before_reading_on() {
        let dir = tempfile::tempdir().unwrap();
        for gz in [false, true] {
            // 2^31 images of 65535 x 65535 pixels: the size is wrong.
            let path = file(
                dir.path(),
                "huge-images",
                &header(&[IMAGES_MAGIC, 1 << 31, 65535, 65535]),
                gz,
            );
            let err = read_images(&path).unwrap_err();
            assert!(
                matches!(&err, MnistError::BadImageSize { path: p, rows: 65535, cols: 65535 } if p == &path),
                "{err:?}"
            );
            assert!(err.to_string().contains("65535x65535"), "{err}");

            // 2^31 images of the right size: too many, whatever follows.
            let mut bytes = header(&[IMAGES_MAGIC, 1 << 31, 28, 28]);
            bytes.extend_from_slice(&[0; 4 * PIXELS]);
            let path = file(dir.path(), "many-images", &bytes, gz);
            let err = read_images(&path).unwrap_err();
            assert!(
                matches!(&err, MnistError::TooManyItems { path: p, kind: "images", count, max: MAX_ITEMS } if p == &path && *count == 1 << 31),
                "{err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains(path.to_str().unwrap()), "{msg}");
            assert!(msg.contains("announces 2147483648 images"), "{msg}");

            // One more than the cap is already too many; the cap itself is accepted.
            let path = file(
                dir.path(),
                "labels",
                &header(&[LABELS_MAGIC, MAX_ITEMS + 1]),
                gz,
            );
            let err = read_labels(&path).unwrap_err();
            assert!(
                matches!(&err, MnistError::TooManyItems { kind: "labels", count, .. } if *count == MAX_ITEMS + 1),
                "{err:?}"
            );
            let mut bytes = header(&[LABELS_MAGIC, MAX_ITEMS]);
            bytes.resize(8 + MAX_ITEMS as usize, 7);
            let path = file(dir.path(), "labels", &bytes, gz);
            assert_eq!(read_labels(&path).unwrap().len(), MAX_ITEMS as usize);

            // The type byte and the rank are part of the magic: i32 data (0x0c), rank 4.
            for magic in [0x0000_0c03, 0x0000_0804, 0x0100_0803] {
                let path = file(dir.path(), "images", &header(&[magic, 1, 28, 28]), gz);
                let err = read_images(&path).unwrap_err();
                assert!(
                    matches!(&err, MnistError::BadMagic { found, expected: IMAGES_MAGIC, .. } if *found == magic),
                    "{err:?}"
                );
            }
        }
    }

    #[test]
    fn payloads_must_have_exactly_the_announced_length() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..3 * PIXELS).map(|i| i as u8).collect();
        let good = encode_images(&pixels);
        for gz in [false, true] {
            let path = file(dir.path(), "images", &good, gz);
            assert_eq!(read_images(&path).unwrap(), pixels);

            // Truncated: the header announces 3 images, 2.5 follow.
            let cut = 16 + 2 * PIXELS + PIXELS / 2;
            let path = file(dir.path(), "images", &good[..cut], gz);
            let err = read_images(&path).unwrap_err();
            assert!(
                matches!(&err, MnistError::Truncated { path: p, expected, actual }
                    if p == &path && *expected == good.len() as u64 && *actual == cut as u64),
                "{err:?}"
            );
            assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");

            // Trailing bytes: one is enough, and reading stops there.
            for extra in [1usize, 1 << 20] {
                let mut long = good.clone();
                long.resize(good.len() + extra, 0);
                let path = file(dir.path(), "images", &long, gz);
                let err = read_images(&path).unwrap_err();
                assert!(
                    matches!(&err, MnistError::TrailingBytes { path: p, expected, actual }
                        if p == &path && *expected == good.len() as u64
                            && *actual == good.len() as u64 + 1),
                    "{err:?}"
                );
                let msg = err.to_string();
                assert!(msg.contains(path.to_str().unwrap()), "{msg}");
                assert!(msg.contains("is longer than it should be"), "{msg}");
            }

            // The same for labels.
            let labels = encode_labels(&[1, 2, 3]);
            let path = file(dir.path(), "labels", &labels[..10], gz);
            assert!(matches!(
                read_labels(&path).unwrap_err(),
                MnistError::Truncated {
                    expected: 11,
                    actual: 10,
                    ..
                }
            ));
            let mut long = labels.clone();
            long.push(4);
            let path = file(dir.path(), "labels", &long, gz);
            assert!(matches!(
                read_labels(&path).unwrap_err(),
                MnistError::TrailingBytes {
                    expected: 11,
                    actual: 12,
                    ..
                }
            ));
        }
        // In-memory parsing applies the same checks.
        let p = Path::new("in-memory");
        assert_eq!(parse_images(good.clone(), p).unwrap(), pixels);
        assert!(matches!(
            parse_images(good[..100].to_vec(), p).unwrap_err(),
            MnistError::Truncated { actual: 100, .. }
        ));
        assert!(matches!(
            parse_labels(header(&[LABELS_MAGIC, u32::MAX]), p).unwrap_err(),
            MnistError::TooManyItems { .. }
        ));
    }

    #[test]
    fn digests_stop_one_byte_past_the_limit() {
        let origin = Origin::Local(PathBuf::from("x"));
        let data = vec![5u8; 100_000];
        for bytes in [data.clone(), gzip(&data)] {
            let all = digest_maybe_gz(bytes.as_slice(), &origin, 100_000).unwrap();
            assert_eq!(all.len, 100_000);
            assert_eq!(all.sha256, sha256_hex(&data));
            let cut = digest_maybe_gz(bytes.as_slice(), &origin, 1000).unwrap();
            assert_eq!(cut.len, 1001);
            assert_eq!(cut.sha256, sha256_hex(&data[..1001]));
        }
        // Empty and one-byte inputs are not mistaken for gzip.
        assert_eq!(digest_maybe_gz(&[][..], &origin, 10).unwrap().len, 0);
        assert_eq!(digest_maybe_gz(&[0x1f][..], &origin, 10).unwrap().len, 1);
    }
}
