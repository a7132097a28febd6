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
mod tests;
