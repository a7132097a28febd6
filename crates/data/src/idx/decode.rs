//! An IDX file's decompressed bytes: gzip is recognised by its magic bytes, not by the name,
//! and a failed read becomes the [`MnistError`] that names the file or the mirror.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::{MnistError, Origin};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A file's decompressed bytes: the gzip decoder when the file starts with the gzip magic,
/// the file itself otherwise. Read errors become the matching [`MnistError`].
pub(super) struct Decoded<'a> {
    pub(super) reader: Box<dyn Read + 'a>,
    pub(super) gz: bool,
    pub(super) origin: Origin,
}

impl<'a> Decoded<'a> {
    pub(super) fn new(reader: impl Read + 'a, origin: Origin) -> Result<Self, MnistError> {
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

    pub(super) fn open(path: &Path) -> Result<Decoded<'static>, MnistError> {
        let file = File::open(path).map_err(|e| MnistError::io("open", path, e))?;
        Decoded::new(file, Origin::Local(path.to_path_buf()))
    }

    /// The error for a failed read: a decompression error for gzip, else a read error.
    pub(super) fn error(&self, e: io::Error) -> MnistError {
        decode_error(self.gz, &self.origin, e)
    }
}

pub(super) fn decode_error(gz: bool, origin: &Origin, e: io::Error) -> MnistError {
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
pub(super) fn fill<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
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
