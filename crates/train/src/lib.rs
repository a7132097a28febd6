//! What at least two rnn-burn programs share around training. The crate is built in floors,
//! each of which uses only the floors before it: [`base`] (errors, atomic files, the console,
//! limits), [`device`] (`--backend` and the devices behind it), [`config`] (what a run is),
//! [`report`] (what a run shows and draws), [`run`] (one run on disk), [`learn`] (training),
//! [`cli`] (the shared command line) and, on top, [`mnist`] (the path every MNIST classifier
//! takes). `tools/layers.py --check` verifies that no import runs against this order.
//!
//! * [`base`]: why a run failed ([`RunError`], [`exit_code`]), files written whole
//!   ([`base::atomic`]), the [`Console`] and the flags' bounds ([`base::limits`]);
//! * [`device`]: the `--backend` vocabulary ([`BackendChoice`]) and [`device::open::open`], the
//!   one way from it to a run's devices, probed before a run writes anything;
//! * [`config`]: [`TrainingConfig`] (the settings every experiment shares),
//!   [`OptimizerConfig`] (with NeoML's and Chainer's form of Adam) and [`ExperimentConfig`];
//! * [`report`]: per-epoch rows ([`EpochRecord`]) and their PNG plots ([`report::plot`]), the
//!   parameter listing and [`PlainRenderer`];
//! * [`run`]: [`Session`] (validation, run directory, resume, seeded devices, data loaders
//!   with per-epoch shuffles a resumed run reproduces: [`EpochLoader`]), [`RunDir`]
//!   (config.json, metrics.csv, plots, summary.json, model.bpk, checkpoints) and each run's
//!   `experiment.log` ([`RunLog`]);
//! * [`learn`]: [`TaskModel`] (an experiment's forward pass) wrapped by [`Trainer`] (backward
//!   and gradient-norm clipping, global or per layer, [`learn::clip`]), trained by
//!   [`train_classifier`] or [`train_regressor`] with Burn's `SupervisedTraining` Learner
//!   ([`learn::learner`]: TUI dashboard on a terminal, [`PlainRenderer`] otherwise,
//!   checkpoints every epoch, the non-finite-loss guard), and `summary.json` ([`Summary`]);
//! * [`cli`]: [`CommonArgs`] (`--backend`, `--epochs`, `--batch-size`, `--lr`, `--seed`,
//!   `--out`, `--resume`, `--limit-train/--limit-test`, `--plain`, ...) and the flag groups an
//!   experiment adds ([`cli::args`]); which flag writes which configuration field, declared
//!   once per experiment so that every default is the configuration's ([`ConfigFlags`],
//!   [`ExperimentCli`]); and [`cli_main`], the `main` of every experiment binary: clear
//!   `error:`/`hint:` lines and exit codes instead of panics;
//! * [`mnist`]: the MNIST flags ([`MnistArgs`]: `--data-dir`, `--offline`), flattened into the
//!   three MNIST experiments only, and their common start and training ([`MnistRun`],
//!   [`train_mnist_classifier`]).
//!
//! An experiment only adds its model, its data view and its hyper-parameters; what serves one
//! program alone (lstm-mnist's digits drawn in a terminal, adding-problem's comparison of
//! several networks, simple-sequence's truncated BPTT, reproduce's seed figures) lives in that
//! program.

/// Makes mimalloc the allocator of the binary whose crate root says
/// `rnn_train::use_mimalloc!();` (each experiment's `main.rs`, `reproduce`, the test
/// binaries). A training step allocates and frees buffers of many megabytes (the
/// recurrence's tape, its gradients, the input projection); glibc's malloc serves each with a
/// fresh mmap and returns it to the OS on free, so every step paid page faults and kernel
/// zeroing for all of them: measured at the IRNN shape, 36 ms per training step with glibc
/// against 13 ms with mimalloc, which keeps and reuses freed memory. A macro, not a
/// `#[global_allocator]` here, because a library that sets the allocator forces it on every
/// program that links it.
#[macro_export]
macro_rules! use_mimalloc {
    () => {
        #[global_allocator]
        static GLOBAL: $crate::__mimalloc::MiMalloc = $crate::__mimalloc::MiMalloc;
    };
}

/// The allocator crate, for [`use_mimalloc!`] (a binary need not depend on it itself).
#[doc(hidden)]
pub use mimalloc as __mimalloc;

// The crate's own unit-test binary gets the allocator its users get.
#[cfg(test)]
use_mimalloc!();

pub mod base;
pub mod cli;
pub mod config;
pub mod device;
pub mod learn;
pub mod mnist;
pub mod report;
pub mod run;

pub use base::console::{Captured, Console};
pub use base::error::{RunError, exit_code};
pub use cli::args::{AdamArgs, ClipArgs, CommonArgs, NoClipArgs, ShuffleArgs};
pub use cli::config_flags::{ConfigFlags, FlagValue};
pub use cli::entry::{ExperimentCli, Parsed, cli_main, parse_from};
pub use config::experiment::ExperimentConfig;
pub use config::optimizer::{EpsilonForm, OptimizerConfig};
pub use config::training::{ClipScope, TrainingConfig};
pub use device::backend_choice::{BackendChoice, BackendError};
pub use learn::clip::{clip_global_norm, global_norm};
pub use learn::fit::{Fit, Trained};
pub use learn::summary::Summary;
pub use learn::task::{TaskModel, TaskOutput, Trainer, cross_entropy, layer, trained_model};
pub use learn::train::{evaluate_classifier, train_classifier, train_regressor};
pub use mnist::{MnistArgs, MnistCli, MnistConfig, MnistRun, train_mnist_classifier};
pub use report::epoch_record::{EpochRecord, TaskKind};
pub use report::parameter_list::{ParamTensor, parameter_table, parameter_tensors};
pub use report::plain_renderer::PlainRenderer;
pub use run::epoch_loader::EpochLoader;
pub use run::run_dir::RunDir;
pub use run::run_log::RunLog;
pub use run::session::{Prepared, RunOptions, Session};
