//! Tests of the in-memory MNIST: raw and gzipped files, every way a file can be malformed,
//! and split names.

use std::io::Write;

use super::*;
use crate::idx::{encode_images, encode_labels};

/// `n` synthetic images (pixel p of image i = (7 i + p) % 256) and labels i % 10.
fn synthetic(n: usize) -> (Vec<u8>, Vec<u8>) {
    let images = (0..n * PIXELS)
        .map(|k| ((k / PIXELS) * 7 + k % PIXELS) as u8)
        .collect();
    let labels = (0..n).map(|i| (i % 10) as u8).collect();
    (images, labels)
}

fn write(path: &Path, bytes: &[u8], gz: bool) {
    let mut file = std::fs::File::create(path).unwrap();
    if gz {
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap();
    } else {
        file.write_all(bytes).unwrap();
    }
}

/// Writes a train split (images raw or gz, labels raw or gz) and returns its paths.
fn write_split(dir: &Path, images: &[u8], labels: &[u8], gz: bool) -> (PathBuf, PathBuf) {
    let suffix = if gz { ".gz" } else { "" };
    let ip = dir.join(format!("train-images-idx3-ubyte{suffix}"));
    let lp = dir.join(format!("train-labels-idx1-ubyte{suffix}"));
    write(&ip, images, gz);
    write(&lp, labels, gz);
    (ip, lp)
}

#[test]
fn parses_raw_and_gzipped_idx_files() {
    let (images, labels) = synthetic(5);
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_split(
            dir.path(),
            &encode_images(&images),
            &encode_labels(&labels),
            gz,
        );
        let mnist = Mnist::from_dir(dir.path(), MnistSplit::Train).unwrap();
        assert_eq!(mnist.len(), 5);
        assert_eq!(mnist.images(), &images[..]);
        assert_eq!(mnist.labels(), &labels[..]);
        assert_eq!(mnist.image(3), &images[3 * PIXELS..4 * PIXELS]);
        assert_eq!(mnist.label(4), 4);
        assert_eq!(mnist.label_histogram().iter().sum::<usize>(), 5);
    }
    // Mixed: raw images, gzipped labels; gzip is detected from the bytes, not the name.
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("t10k-images-idx3-ubyte"),
        &encode_images(&images),
        false,
    );
    write(
        &dir.path().join("t10k-labels-idx1-ubyte.gz"),
        &encode_labels(&labels),
        true,
    );
    let mnist = Mnist::from_dir(dir.path(), MnistSplit::Test).unwrap();
    assert_eq!(mnist.labels(), &labels[..]);
    let renamed = dir.path().join("labels-without-extension");
    std::fs::rename(dir.path().join("t10k-labels-idx1-ubyte.gz"), &renamed).unwrap();
    let mnist =
        Mnist::from_idx_files(&dir.path().join("t10k-images-idx3-ubyte"), &renamed).unwrap();
    assert_eq!(mnist.len(), 5);
}

fn load_err(images: &[u8], labels: &[u8], gz: bool) -> (MnistError, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (ip, lp) = write_split(dir.path(), images, labels, gz);
    let err = Mnist::from_idx_files(&ip, &lp).unwrap_err();
    // Keep paths for message checks (the directory is gone, the names are not).
    (err, ip, lp)
}

#[test]
fn wrong_magic_is_reported_with_both_numbers() {
    let (images, labels) = synthetic(2);
    // A label file where the image file should be.
    let (err, ip, _) = load_err(&encode_labels(&labels), &encode_labels(&labels), false);
    match &err {
        MnistError::BadMagic {
            path,
            kind,
            expected,
            found,
        } => {
            assert_eq!(path, &ip);
            assert_eq!(*kind, "images");
            assert_eq!((*expected, *found), (0x803, 0x801));
        }
        other => panic!("expected BadMagic, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("wrong magic number 0x00000801"), "{msg}");
    assert!(msg.contains("expected 0x00000803"), "{msg}");
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");

    let (err, _, lp) = load_err(&encode_images(&images), &encode_images(&images), true);
    assert!(
        matches!(&err, MnistError::BadMagic { path, kind: "labels", .. } if path == &lp),
        "{err:?}"
    );
}

#[test]
fn truncated_files_report_expected_and_actual_sizes() {
    let (images, labels) = synthetic(3);
    let mut short = encode_images(&images);
    short.truncate(16 + 2 * PIXELS + 10);
    for gz in [false, true] {
        let (err, ip, _) = load_err(&short, &encode_labels(&labels), gz);
        match &err {
            MnistError::Truncated {
                path,
                expected,
                actual,
            } => {
                assert_eq!(path, &ip);
                assert_eq!(*expected, 16 + 3 * PIXELS as u64);
                assert_eq!(*actual, 16 + 2 * PIXELS as u64 + 10);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("is truncated"), "{msg}");
        assert!(
            msg.contains(&format!("needs {} bytes", 16 + 3 * PIXELS)),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("has {}", 16 + 2 * PIXELS + 10)),
            "{msg}"
        );
    }
    // A header cut short.
    let (err, _, _) = load_err(
        &encode_images(&images)[..10],
        &encode_labels(&labels),
        false,
    );
    assert!(
        matches!(
            err,
            MnistError::Truncated {
                expected: 16,
                actual: 10,
                ..
            }
        ),
        "{err:?}"
    );
    // Labels announced but missing.
    let mut short_labels = encode_labels(&labels);
    short_labels.pop();
    let (err, _, lp) = load_err(&encode_images(&images), &short_labels, false);
    assert!(
        matches!(&err, MnistError::Truncated { path, expected: 11, actual: 10 } if path == &lp),
        "{err:?}"
    );
    // Bytes beyond what the header describes.
    let mut long = encode_images(&images);
    long.push(0);
    let (err, _, _) = load_err(&long, &encode_labels(&labels), false);
    assert!(matches!(err, MnistError::TrailingBytes { .. }), "{err:?}");
}

#[test]
fn corrupt_gzip_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = synthetic(2);
    let (ip, lp) = write_split(
        dir.path(),
        &encode_images(&images),
        &encode_labels(&labels),
        true,
    );
    let mut gz = std::fs::read(&ip).unwrap();
    gz.truncate(gz.len() / 2);
    std::fs::write(&ip, &gz).unwrap();
    let err = Mnist::from_idx_files(&ip, &lp).unwrap_err();
    assert!(
        matches!(&err, MnistError::Decompress { origin: crate::Origin::Local(p), .. } if p == &ip),
        "{err:?}"
    );
    assert!(err.to_string().contains("not a valid gzip file"), "{err}");
}

#[test]
fn image_and_label_counts_must_agree() {
    let (images, labels) = synthetic(3);
    let (err, ip, lp) = load_err(&encode_images(&images), &encode_labels(&labels[..2]), false);
    match &err {
        MnistError::CountMismatch {
            images_path,
            labels_path,
            images,
            labels,
        } => {
            assert_eq!((images_path, labels_path), (&ip, &lp));
            assert_eq!((*images, *labels), (3, 2));
        }
        other => panic!("expected CountMismatch, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("holds 3 images but") && msg.contains("holds 2 labels"),
        "{msg}"
    );
}

#[test]
fn labels_above_nine_are_rejected() {
    let (images, mut labels) = synthetic(3);
    labels[2] = 10;
    let (err, _, lp) = load_err(&encode_images(&images), &encode_labels(&labels), true);
    match &err {
        MnistError::BadLabel { path, index, label } => {
            assert_eq!(path, &lp);
            assert_eq!((*index, *label), (2, 10));
        }
        other => panic!("expected BadLabel, got {other:?}"),
    }
    assert!(err.to_string().contains("has label 10 at index 2"), "{err}");
    assert!(matches!(
        Mnist::from_raw(images, labels),
        Err(MnistError::BadLabel {
            index: 2,
            label: 10,
            ..
        })
    ));
}

#[test]
fn non_mnist_image_sizes_are_rejected() {
    let (images, labels) = synthetic(1);
    let mut bytes = encode_images(&images);
    bytes[8..12].copy_from_slice(&32u32.to_be_bytes());
    let (err, _, _) = load_err(&bytes, &encode_labels(&labels), false);
    assert!(
        matches!(
            err,
            MnistError::BadImageSize {
                rows: 32,
                cols: 28,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn split_names_parse() {
    assert_eq!("train".parse::<MnistSplit>().unwrap(), MnistSplit::Train);
    assert_eq!("TEST".parse::<MnistSplit>().unwrap(), MnistSplit::Test);
    assert!("valid".parse::<MnistSplit>().is_err());
}
