//! Every data set the rnn-burn experiments train on, and the plumbing that gets it onto a
//! Burn device.
//!
//! * **MNIST** ([`Mnist`], [`MnistSource`]): the four standard IDX files, raw or gzipped, held
//!   in memory as `u8`. An explicit directory (`--data-dir`) is the only place used when
//!   given: read from, or downloaded into when it lacks the files. Without it they are looked
//!   up in `$MNIST_DIR`, then in the per-user cache (`$RNN_BURN_CACHE/mnist`, by default
//!   `<cache dir>/rnn-burn/mnist`, see [`default_cache_dir`]); when neither has them they are
//!   downloaded into the cache from [`MNIST_MIRRORS`]. Every file's decompressed bytes are
//!   checked against the published sha256 once; the verified state is remembered in a small
//!   marker file so later runs do not re-hash 47 MB. Downloads go to a temporary file that is
//!   renamed into place only after verification, so an interrupted run never leaves a file that
//!   looks complete. Reading is bounded: a file's header is checked before anything is
//!   allocated, and no more than it announces (at most [`idx::MAX_ITEMS`] items) is inflated,
//!   so a corrupt or hostile file is rejected quickly ([`idx`]). Failures are [`MnistError`]
//!   values whose messages say what to do.
//! * **MNIST as sequences** ([`MnistSequences`], [`MnistSequenceBatcher`]): pixel-by-pixel
//!   (784 x 1), permuted pixel-by-pixel (a fixed permutation from a seed) or row-by-row
//!   (28 x 28), with the two normalisations the tutorials use ([`Normalisation`]).
//! * **Adding problem** ([`AddingProblem`]): two marked values in a sequence of uniform noise,
//!   target = their sum, generated lazily from a seed.
//! * **Counting sequence** ([`counting_sequence`]) and the **truncated-BPTT iterator**
//!   ([`TbpttIterator`]) that walks a token stream with `batch` parallel cursors, in a fixed
//!   order that can be saved and restored, and its Burn data loaders ([`TbpttLoader`]:
//!   training windows that continue across epochs, a fresh pass for evaluation).
//!
//! Randomness comes from ChaCha8 keyed by the user's seed ([`rng`]), never from a global or
//! platform generator, so the same seed gives the same data on every machine and backend.
//! Tensors are always created on the [`burn::tensor::Device`] the caller passes in.

pub mod adding;
pub mod error;
pub mod idx;
pub mod mnist;
pub mod rng;
pub mod sequence;
pub mod source;
pub mod tbptt;
pub mod tbptt_loader;

pub use adding::{AddingBatch, AddingBatcher, AddingItem, AddingProblem, MarkPlacement};
pub use error::{ConfigError, MnistError, Origin, SearchedPlace};
pub use mnist::{FileSpec, MNIST_FILES, Mnist, MnistSplit};
pub use sequence::{
    MnistBatch, MnistSequenceBatcher, MnistSequenceItem, MnistSequences, Normalisation,
    SequenceView,
};
pub use source::{
    CACHE_ENV, DownloadOptions, MNIST_DIR_ENV, MNIST_MIRRORS, MnistSource, default_cache_dir,
    download_file, locate_mnist, verify_dir,
};
pub use tbptt::{TbpttIterator, TbpttPosition, TbpttWindow, counting_sequence};
pub use tbptt_loader::TbpttLoader;
