//! Tests of the IDX reader: absurd headers, payloads of the wrong length, and digests that
//! stop at their limit, each for raw and gzipped files.

use std::io::Write;
use std::path::PathBuf;

use super::*;
use crate::error::Origin;

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
