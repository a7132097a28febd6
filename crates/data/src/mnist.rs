//! MNIST held in memory as raw bytes: 47 MB for the training set instead of 188 MB as f32,
//! and every sequence view and normalisation is derived from it at batch time.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, MnistError};
use crate::idx::{self, PIXELS};

/// A file to find, download and verify: its base name (without `.gz`) and the size and
/// sha256 of its decompressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec<'a> {
    /// Base name, e.g. `train-images-idx3-ubyte`; on disk it may also carry `.gz`.
    pub name: &'a str,
    /// Lower-case hex sha256 of the decompressed bytes.
    pub sha256: &'a str,
    /// Size of the decompressed bytes.
    pub len: u64,
}

/// The four standard MNIST files with their published digests (train images, train labels,
/// test images, test labels).
pub const MNIST_FILES: [FileSpec<'static>; 4] = [
    FileSpec {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        len: 47_040_016,
    },
    FileSpec {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        len: 60_008,
    },
    FileSpec {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        len: 7_840_016,
    },
    FileSpec {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        len: 10_008,
    },
];

/// Which of the two standard MNIST sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MnistSplit {
    /// 60000 training images (`train-*`).
    Train,
    /// 10000 test images (`t10k-*`).
    Test,
}

impl MnistSplit {
    /// The image and label files of this split.
    pub fn files(self) -> (FileSpec<'static>, FileSpec<'static>) {
        match self {
            MnistSplit::Train => (MNIST_FILES[0], MNIST_FILES[1]),
            MnistSplit::Test => (MNIST_FILES[2], MNIST_FILES[3]),
        }
    }
}

impl fmt::Display for MnistSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MnistSplit::Train => "train",
            MnistSplit::Test => "test",
        })
    }
}

impl FromStr for MnistSplit {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "train" => Ok(MnistSplit::Train),
            "test" | "t10k" => Ok(MnistSplit::Test),
            _ => Err(ConfigError::Unknown {
                what: "MNIST split",
                value: s.to_string(),
                expected: "train, test",
            }),
        }
    }
}

/// One MNIST split in memory: `len() * 784` pixels (row-major, 0 = background, 255 = ink) and
/// one label 0-9 per image. Share it behind an `Arc` (see [`crate::MnistSequences`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Mnist {
    images: Vec<u8>,
    labels: Vec<u8>,
}

impl fmt::Debug for Mnist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mnist")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Mnist {
    /// Image height and width.
    pub const SIDE: usize = idx::SIDE;
    /// Pixels per image.
    pub const PIXELS: usize = PIXELS;

    /// Loads `split` from the IDX files (raw or .gz) in `dir`, without checksum verification
    /// (that is [`crate::MnistSource`]'s job); for data sets in MNIST format that are not MNIST.
    pub fn from_dir(dir: &Path, split: MnistSplit) -> Result<Self, MnistError> {
        let (images, labels) = split.files();
        let missing = |spec: FileSpec| {
            let problem = format!("lacks {}[.gz]", spec.name);
            MnistError::MissingData {
                searched: vec![crate::SearchedPlace {
                    source: "directory".into(),
                    path: Some(dir.to_path_buf()),
                    problem,
                }],
                download: None,
            }
        };
        let images_path = find_file(dir, images.name).ok_or_else(|| missing(images))?;
        let labels_path = find_file(dir, labels.name).ok_or_else(|| missing(labels))?;
        Self::from_idx_files(&images_path, &labels_path)
    }

    /// Parses an image file and a label file (each raw or gzipped) and checks they agree.
    /// Each file's header is checked before its items are read, and no more than it announces
    /// (at most [`idx::MAX_ITEMS`] items) is ever read or allocated; see [`crate::idx`].
    pub fn from_idx_files(images_path: &Path, labels_path: &Path) -> Result<Self, MnistError> {
        let images = idx::read_images(images_path)?;
        let labels = idx::read_labels(labels_path)?;
        Self::check_counts(images, labels, images_path, labels_path)
    }

    /// Builds a data set from pixels (`n * 784`, row-major) and labels (`n`, each 0-9), e.g.
    /// synthetic digits for tests.
    pub fn from_raw(images: Vec<u8>, labels: Vec<u8>) -> Result<Self, MnistError> {
        let raw = PathBuf::from("<in-memory images>");
        let raw_labels = PathBuf::from("<in-memory labels>");
        if !images.len().is_multiple_of(PIXELS) {
            let expected = images.len().div_ceil(PIXELS) * PIXELS;
            return Err(MnistError::Truncated {
                path: raw,
                expected: expected as u64,
                actual: images.len() as u64,
            });
        }
        if let Some(index) = labels.iter().position(|&l| l > 9) {
            return Err(MnistError::BadLabel {
                path: raw_labels,
                index,
                label: labels[index],
            });
        }
        Self::check_counts(images, labels, &raw, &raw_labels)
    }

    fn check_counts(
        images: Vec<u8>,
        labels: Vec<u8>,
        images_path: &Path,
        labels_path: &Path,
    ) -> Result<Self, MnistError> {
        if images.len() / PIXELS != labels.len() {
            return Err(MnistError::CountMismatch {
                images_path: images_path.to_path_buf(),
                labels_path: labels_path.to_path_buf(),
                images: images.len() / PIXELS,
                labels: labels.len(),
            });
        }
        Ok(Mnist { images, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 784 pixels of image `index`, row-major. Panics if `index >= len()`.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.images[index * PIXELS..(index + 1) * PIXELS]
    }

    /// The label of image `index`. Panics if `index >= len()`.
    pub fn label(&self, index: usize) -> u8 {
        self.labels[index]
    }

    /// All pixels, image after image.
    pub fn images(&self) -> &[u8] {
        &self.images
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// How many images carry each digit.
    pub fn label_histogram(&self) -> [usize; 10] {
        let mut counts = [0; 10];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

/// `dir/name` if it is a file, else `dir/name.gz` if that is, else `None`.
pub(crate) fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
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
}
