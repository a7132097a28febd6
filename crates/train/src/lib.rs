//! What every rnn-burn experiment shares around training, written once:
//!
//! * the command line: [`CommonArgs`] (`--backend`, `--epochs`, `--batch-size`, `--lr`,
//!   `--seed`, `--data-dir`, `--out`, `--resume`, `--limit-train/--limit-test`, `--plain`, ...)
//!   with each experiment's tutorial defaults ([`TrainingDefaults`]), and [`cli_main`], the
//!   `main` of every experiment binary (clear `error:`/`hint:` lines and exit codes,
//!   [`exit_code`], instead of panics);
//! * the run: [`Session`] (validation, run directory, resume, seeded device) and
//!   [`RunDir`] (config.json, metrics.csv, plots, summary.json, model.bpk, checkpoints);
//! * training: [`TaskModel`] (an experiment's forward pass) wrapped by [`Trainer`] (backward
//!   and gradient-norm clipping, global or per layer, [`clip`]; NeoML's and Chainer's form of
//!   Adam, [`optim`]), trained by [`train_classifier`] or
//!   [`train_regressor`] with Burn's `SupervisedTraining` Learner: TUI dashboard on a
//!   terminal, [`PlainRenderer`] otherwise, checkpoints every epoch, the non-finite-loss guard;
//! * strategies beyond one batch at a time: truncated backpropagation through time with a
//!   state carried across windows ([`tbptt`]), and comparisons, several runs of one
//!   experiment under one directory, resumable as a whole ([`comparison`]);
//! * data plumbing: [`EpochLoader`] (per-epoch shuffles that a resumed run reproduces) and the
//!   start of an MNIST experiment ([`MnistRun`]);
//! * output: [`record`] (per-epoch rows and their PNG plots), [`run_log`] (each run's
//!   `experiment.log`).
//!
//! An experiment only adds its model, its data view and its hyper-parameters.

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

pub mod atomic;
pub mod backend;
pub mod checkpoint;
pub mod cli;
pub mod clip;
pub mod comparison;
pub mod config;
pub mod console;
pub mod disk;
pub mod error;
pub mod fit;
pub mod loader;
pub mod mnist;
pub mod optim;
pub mod params;
pub mod plot;
pub mod record;
pub mod recorder;
pub mod renderer;
pub mod run_dir;
pub mod run_log;
pub mod session;
pub mod task;
pub mod tbptt;

pub use backend::{BackendChoice, BackendError};
pub use cli::{
    AdamArgs, ClipArgs, CommonArgs, NoClipArgs, Parsed, ShuffleArgs, TrainingDefaults, cli_main,
    parse_from,
};
pub use clip::{clip_global_norm, global_norm};
pub use comparison::{Comparison, ComparisonFile, Member};
pub use config::{ClipScope, OptimizerConfig, TrainingConfig};
pub use console::{Captured, Console};
pub use error::{RunError, exit_code};
pub use fit::{Fit, Outcome, Summary, evaluate_classifier, train_classifier, train_regressor};
pub use loader::EpochLoader;
pub use mnist::MnistRun;
pub use optim::EpsilonForm;
pub use params::{ParamTensor, parameter_table, parameter_tensors};
pub use record::{EpochRecord, TaskKind};
pub use renderer::PlainRenderer;
pub use run_dir::RunDir;
pub use run_log::RunLog;
pub use session::{ExperimentConfig, Session, device_for};
pub use task::{TaskModel, TaskOutput, Trainer, cross_entropy, layer, trained_model};
