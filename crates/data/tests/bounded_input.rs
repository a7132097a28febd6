//! A gzip bomb in place of an MNIST file: a ~1 MB `.gz` holding a valid image header followed
//! by 1 GiB of zeros. Every way the crate reads a file (loading, checksum verification,
//! loading without verification) must reject it quickly, naming the file, without holding more
//! than the 47 MB the header legitimately announces.
//!
//! One test in its own binary (so its own process): the peak resident memory it checks is
//! not disturbed by other tests running in parallel. The peak only grows, so each later check
//! is bounded by the earlier ones' peak as well; verification, which holds nothing, goes first.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rnn_data::idx::{IMAGES_MAGIC, MAX_ITEMS, PIXELS, encode_images, encode_labels};
use rnn_data::{DownloadOptions, MNIST_FILES, Mnist, MnistError, MnistSource, MnistSplit};

/// Bytes of zeros after the header.
const BOMB_ZEROS: u64 = 1 << 30;
/// What the header legitimately announces: MNIST's training images.
const LEGIT: u64 = 16 + MAX_ITEMS as u64 * PIXELS as u64;

/// Streams the header and `BOMB_ZEROS` zeros through the gzip encoder into `path`.
fn write_bomb(path: &Path) {
    let file = BufWriter::new(File::create(path).unwrap());
    let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    for word in [IMAGES_MAGIC, MAX_ITEMS, 28, 28] {
        enc.write_all(&word.to_be_bytes()).unwrap();
    }
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..BOMB_ZEROS / zeros.len() as u64 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap().flush().unwrap();
}

/// The peak resident set of this process so far (Linux `VmHWM`), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `f`, checks it fails within the time bound and the memory bound, and returns its error.
fn rejected<T: std::fmt::Debug>(
    what: &str,
    f: impl FnOnce() -> Result<T, MnistError>,
) -> MnistError {
    let rss_before = peak_rss();
    let started = Instant::now();
    let result = f();
    let elapsed = started.elapsed();
    let rss_after = peak_rss();
    let err = result.expect_err(what);
    let growth = rss_before.zip(rss_after).map(|(b, a)| a.saturating_sub(b));
    println!(
        "{what}: rejected in {elapsed:?}, peak resident memory grew by {} MB: {err}",
        growth.map_or_else(|| "?".to_string(), |g| (g >> 20).to_string())
    );
    assert!(elapsed < Duration::from_secs(2), "{what} took {elapsed:?}");
    if let Some(growth) = growth {
        // The legitimate 47 MB plus slack; reading on would need a gigabyte.
        assert!(
            growth < LEGIT + (64 << 20),
            "{what}: peak memory grew by {growth} bytes"
        );
    }
    err
}

fn assert_names_bomb(err: &MnistError, bomb: &PathBuf, expected: u64) {
    match err {
        MnistError::TrailingBytes {
            path,
            expected: e,
            actual,
        } => {
            assert_eq!(path, bomb);
            assert_eq!((*e, *actual), (expected, expected + 1));
        }
        other => panic!("expected TrailingBytes, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(bomb.to_str().unwrap()), "{msg}");
}

#[test]
fn a_gzip_bomb_is_rejected_quickly_and_without_inflating_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("mnist");
    std::fs::create_dir(&data).unwrap();
    let bomb = data.join("train-images-idx3-ubyte.gz");
    let started = Instant::now();
    write_bomb(&bomb);
    let size = std::fs::metadata(&bomb).unwrap().len();
    println!(
        "bomb: {size} bytes of gzip inflating to {} bytes, built in {:?}",
        16 + BOMB_ZEROS,
        started.elapsed()
    );
    assert!(size < 2 << 20, "{size}");
    // The other three files, tiny but valid, so the directory is complete.
    for spec in &MNIST_FILES[1..] {
        let bytes = if spec.name.contains("images") {
            encode_images(&[0; PIXELS])
        } else {
            encode_labels(&[0])
        };
        std::fs::write(data.join(spec.name), bytes).unwrap();
    }
    let labels = data.join("train-labels-idx1-ubyte");

    // Through the look-up, which verifies checksums first: hashing streams (nothing is held)
    // and stops one byte past the published 47 MB. First, so that the peak memory it is
    // checked against has not been raised by a load yet.
    let cache = dir.path().join("cache");
    let mut source = MnistSource {
        data_dir: Some(data.clone()),
        env_dir: None,
        cache_dir: Some(cache.clone()),
        mirrors: Vec::new(),
        download: false,
        verify_checksums: true,
        options: DownloadOptions::default(),
    };
    let err = rejected("verification", || source.load(MnistSplit::Train));
    assert_names_bomb(&err, &bomb, MNIST_FILES[0].len);

    // Without verification, the loader's own bound (which may hold the 47 MB announced).
    source.verify_checksums = false;
    let err = rejected("loading unverified", || source.load(MnistSplit::Train));
    assert_names_bomb(&err, &bomb, LEGIT);

    // Loading the files directly.
    let err = rejected("loading", || Mnist::from_idx_files(&bomb, &labels));
    assert_names_bomb(&err, &bomb, LEGIT);
}
