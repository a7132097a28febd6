//! The flags every experiment binary shares: [`CommonArgs`], flattened into each experiment's
//! clap parser, and the groups of flags an experiment adds when it offers them (Adam's
//! hyper-parameters, `--shuffle`, `--clip-norm`, `--no-clip`).
//!
//! The flags that set a field of the run's configuration carry no default here: the default
//! is the experiment's configuration's, filled in before parsing
//! ([`ConfigFlags`](crate::cli::config_flags::ConfigFlags)), so `--help` shows the tutorial's
//! value and the value is written in one place.

use std::path::PathBuf;

use clap::Args;
use rnn_models::Recurrence;

use crate::base::limits::{MAX_LR, MAX_SAMPLES};
use crate::cli::value_parsers::{
    at_least_one, count_up_to, decay_rate, epochs, positive_f32, positive_number, positive_up_to,
    recurrence,
};
use crate::config::optimizer::EpsilonForm;
use crate::device::backend_choice::BackendChoice;
use crate::run::session::RunOptions;

/// Flags shared by every experiment. `--backend`, `--epochs`, `--batch-size`, `--lr`,
/// `--seed` and `--limit-train/--limit-test` set the experiment's training configuration and
/// take their defaults from it
/// ([`ConfigFlags::training`](crate::cli::config_flags::ConfigFlags::training)); the others
/// say how and where a run happens, not what it is.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct CommonArgs {
    /// Backend: flex (pure-Rust CPU, the fastest CPU backend here), ndarray (CPU, deprecated
    /// by Burn), wgpu (GPU through Vulkan/Metal/DX12/OpenGL), cuda (NVIDIA; build with
    /// --features cuda).
    #[arg(long, value_enum, help_heading = "Run")]
    pub backend: BackendChoice,

    /// The recurrence, what runs each layer's time loop: fused (one custom operation per
    /// layer and pass: the CPU kernel on flex and ndarray, a CubeCL kernel on wgpu/cuda, the
    /// generic loop where a backend has none), generic (the same operation with the
    /// backend-generic loop, what the kernels are tested against) or tensor-ops (plain Burn ops step by step,
    /// differentiated by autodiff; slow on long sequences). How a run computes, not what:
    /// not saved with the run, and free to change on --resume.
    #[arg(long, value_name = "RECURRENCE", default_value = "fused", value_parser = recurrence,
          help_heading = "Run")]
    pub recurrence: Recurrence,

    /// Train data-parallel on N devices of the backend (Burn's multi-device strategy): each
    /// device takes a share of every epoch's batches, and the gradients are summed on the
    /// first, which updates the weights. wgpu: discrete GPUs 0..N; cuda: GPUs 0..N; flex has
    /// one device, so N > 1 there runs N workers on the same CPU (the mechanism, not a
    /// speed-up). At most 64; not with truncated BPTT (simple-sequence).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = count_up_to(64),
          help_heading = "Run")]
    pub devices: usize,

    /// Passes over the training set (at most 1000000).
    #[arg(long, value_name = "N", value_parser = epochs, help_heading = "Training")]
    pub epochs: usize,

    /// Samples per optimisation step (at most 10000000).
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Training")]
    pub batch_size: usize,

    /// Learning rate (constant).
    #[arg(long, value_name = "LR", value_parser = positive_up_to(MAX_LR), help_heading = "Training")]
    pub lr: f64,

    /// Seed of the weight initialisation and of the per-epoch data shuffling; the same seed
    /// gives the same run.
    #[arg(long, value_name = "N", help_heading = "Training")]
    pub seed: u64,

    /// Train on the first N training samples only (quick runs).
    #[arg(long, value_name = "N", value_parser = at_least_one, help_heading = "Data")]
    pub limit_train: Option<usize>,

    /// Evaluate on the first N test samples only (quick runs).
    #[arg(long, value_name = "N", value_parser = at_least_one, help_heading = "Data")]
    pub limit_test: Option<usize>,

    /// Run directory for the config, metrics, plots, checkpoints and model
    /// [default: runs/<experiment>/<UTC date-time>].
    // The angle brackets are --help text, not HTML.
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "resume",
        help_heading = "Run"
    )]
    pub out: Option<PathBuf>,

    /// Continue an interrupted run from its last checkpoint, with the settings saved in
    /// RUN_DIR/config.json (only --epochs and --backend may change them).
    #[arg(long, value_name = "RUN_DIR", help_heading = "Run")]
    pub resume: Option<PathBuf>,

    /// Stop after this epoch as if interrupted (its checkpoint is kept; continue with
    /// --resume).
    #[arg(long, value_name = "EPOCH", value_parser = epochs, help_heading = "Run")]
    pub stop_after_epoch: Option<usize>,

    /// Print the configuration this command would train with, as JSON (what the run
    /// directory's config.json would hold; one per network where a command trains several),
    /// and exit without training.
    #[arg(long, conflicts_with = "resume", help_heading = "Run")]
    pub print_config: bool,

    /// Plain-text progress (one line per epoch and split, with every metric) instead of the
    /// dashboard; the default when stdout is not a terminal.
    #[arg(long, help_heading = "Run")]
    pub plain: bool,
}

impl CommonArgs {
    /// How and where the run happens (the flags that are not part of its configuration).
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            out: self.out.clone(),
            resume: self.resume.clone(),
            devices: self.devices,
            recurrence: self.recurrence,
            stop_after_epoch: self.stop_after_epoch,
            plain: self.plain,
        }
    }
}

/// Adam's hyper-parameters as flags, shared by every experiment that trains with Adam. Their
/// defaults are the experiment's optimiser configuration's
/// ([`ConfigFlags::adam`](crate::cli::config_flags::ConfigFlags::adam)).
#[derive(Args, Debug, Clone)]
pub struct AdamArgs {
    /// Adam's first-moment decay, in [0, 1).
    #[arg(
        long,
        value_name = "B1",
        value_parser = decay_rate,
        help_heading = "Optimiser"
    )]
    pub beta1: f32,

    /// Adam's second-moment decay, in [0, 1).
    #[arg(
        long,
        value_name = "B2",
        value_parser = decay_rate,
        help_heading = "Optimiser"
    )]
    pub beta2: f32,

    /// Adam's epsilon, added to the denominator (in (0, 1]).
    #[arg(
        long,
        value_name = "EPS",
        value_parser = positive_f32,
        help_heading = "Optimiser"
    )]
    pub epsilon: f32,

    /// Which second moment epsilon is added to: corrected (m̂ / (sqrt(v̂) + eps): PyTorch,
    /// MinPy, Burn) or uncorrected (sqrt(1 - b2^t) / (1 - b1^t) · m / (sqrt(v) + eps): NeoML,
    /// Chainer).
    #[arg(long, value_name = "FORM", value_enum, help_heading = "Optimiser")]
    pub epsilon_form: EpsilonForm,
}

/// `--shuffle`, for the experiments whose data can be shuffled. Its default is the
/// experiment's configuration's; an experiment whose tutorial says something else about it
/// changes the help with clap's `mut_arg`.
#[derive(Args, Debug, Clone)]
pub struct ShuffleArgs {
    /// Reshuffle the training set every epoch (as the tutorial's DataLoader does).
    #[arg(long, value_name = "BOOL", help_heading = "Data",
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub shuffle: bool,
}

/// `--clip-norm`: its default is the experiment's configuration's (none: no clipping, unless
/// the tutorial clips).
#[derive(Args, Debug, Clone)]
pub struct ClipArgs {
    /// Clip the gradient to this global L2 norm over all parameters.
    #[arg(long, value_name = "NORM", value_parser = positive_number, help_heading = "Optimiser")]
    pub clip_norm: Option<f64>,
}

/// `--no-clip`, for experiments that clip by default (or in a preset): flattened after
/// [`ClipArgs`], it turns clipping off; a resumed run counts it as typed `clip_norm`
/// ([`ConfigFlags::training`](crate::cli::config_flags::ConfigFlags::training)).
#[derive(Args, Debug, Clone)]
pub struct NoClipArgs {
    /// Do not clip gradients.
    #[arg(long, help_heading = "Optimiser", conflicts_with = "clip_norm")]
    pub no_clip: bool,
}
