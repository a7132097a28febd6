//! What every rnn-burn experiment shares around training, written once and grouped by concern:
//!
//! * [`cli`], the command line: [`CommonArgs`] (`--backend`, `--epochs`, `--batch-size`,
//!   `--lr`, `--seed`, `--data-dir`, `--out`, `--resume`, `--limit-train/--limit-test`,
//!   `--plain`, ...) and the flag groups an experiment adds ([`cli::args`]); which flag writes
//!   which configuration field, declared once per experiment so that every default is the
//!   configuration's ([`ConfigFlags`], [`ExperimentCli`]); the value parsers and bounds
//!   ([`cli::value_parsers`], [`cli::limits`]), and [`cli_main`], the `main` of every
//!   experiment binary ([`cli::entry`]): clear `error:`/`hint:` lines and exit codes
//!   ([`RunError`], [`exit_code`]) instead of panics;
//! * [`device`]: the `--backend` vocabulary ([`BackendChoice`]) and the devices behind it,
//!   checked to work before a run writes anything ([`device_for`]);
//! * [`run`], one run on disk: [`Session`] (validation, run directory, resume, seeded device),
//!   [`RunDir`] (config.json, metrics.csv, plots, summary.json, model.bpk, checkpoints),
//!   checkpoints and files written whole, each run's `experiment.log` ([`RunLog`]), and the
//!   start of an MNIST experiment ([`MnistRun`]);
//! * [`learn`], training: [`TaskModel`] (an experiment's forward pass) wrapped by [`Trainer`]
//!   (backward and gradient-norm clipping, global or per layer, [`learn::clip`]; NeoML's and
//!   Chainer's form of Adam, [`learn::optimizer`]), trained by [`train_classifier`] or
//!   [`train_regressor`] with Burn's `SupervisedTraining` Learner ([`learn::learner_run`]: TUI
//!   dashboard on a terminal, [`PlainRenderer`] otherwise, checkpoints every epoch, the
//!   non-finite-loss guard); [`EpochLoader`] (per-epoch shuffles that a resumed run
//!   reproduces); and strategies beyond one batch at a time: truncated backpropagation
//!   through time with a state carried across windows ([`learn::truncated_bptt`]), and
//!   comparisons, several runs of one experiment under one directory, resumable as a whole
//!   ([`learn::multi_run`]);
//! * [`report`], what a run shows and leaves behind: the [`Console`], per-epoch rows
//!   ([`EpochRecord`]) and their PNG plots ([`report::plot`]), the parameter listing,
//!   [`PlainRenderer`] and `summary.json` ([`Summary`]).
//!
//! An experiment only adds its model, its data view and its hyper-parameters; what serves one
//! experiment's own output alone (lstm-mnist's digits drawn in a terminal, adding-problem's
//! comparison table) lives in that experiment.

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

pub mod cli;
pub mod device;
pub mod learn;
pub mod report;
pub mod run;

pub use cli::args::{AdamArgs, ClipArgs, CommonArgs, NoClipArgs, ShuffleArgs};
pub use cli::config_flags::{ConfigFlags, FlagValue};
pub use cli::entry::{ExperimentCli, Parsed, cli_main, parse_from};
pub use cli::run_error::{RunError, exit_code};
pub use device::backend_choice::{BackendChoice, BackendError};
pub use device::device_probe::device_for;
pub use learn::clip::{clip_global_norm, global_norm};
pub use learn::epoch_loader::EpochLoader;
pub use learn::fit::{Fit, Outcome, evaluate_classifier, train_classifier, train_regressor};
pub use learn::multi_run::{Comparison, ComparisonFile, Member};
pub use learn::optimizer::{EpsilonForm, OptimizerConfig};
pub use learn::task::{TaskModel, TaskOutput, Trainer, cross_entropy, layer, trained_model};
pub use learn::training_config::{ClipScope, TrainingConfig};
pub use report::console::{Captured, Console};
pub use report::epoch_record::{EpochRecord, TaskKind};
pub use report::parameter_list::{ParamTensor, parameter_table, parameter_tensors};
pub use report::plain_renderer::PlainRenderer;
pub use report::summary::Summary;
pub use run::mnist_run::{MnistConfig, MnistRun, train_mnist_classifier};
pub use run::run_dir::RunDir;
pub use run::run_log::RunLog;
pub use run::session::{ExperimentConfig, Session};
