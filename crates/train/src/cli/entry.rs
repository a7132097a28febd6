//! The flags every experiment binary shares ([`CommonArgs`], flattened into each
//! experiment's clap parser), parsing that also records which flags the user typed (a
//! resumed run needs to know), and the `main` every experiment binary uses ([`cli_main`]).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, Parser};
use rnn_data::{Mnist, MnistSource, MnistSplit};

use crate::cli::run_error::{EXIT_CODES_HELP, RunError};
use crate::device::backend_choice::BackendChoice;
use crate::learn::optimizer::EpsilonForm;
pub use crate::learn::training_config::{
    MAX_EPOCHS, MAX_HIDDEN, MAX_LAYERS, MAX_LR, MAX_SAMPLES, MAX_STEPS, OptimizerConfig,
    TrainingConfig,
};
use crate::report::console::Console;
use rnn_models::RecurrencePath;

/// Flags shared by every experiment. `--epochs`, `--batch-size` and `--lr` have no default
/// here: each experiment supplies its tutorial's values ([`TrainingDefaults`]), which `--help`
/// then shows.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct CommonArgs {
    /// Backend: flex (pure-Rust CPU, the fastest CPU backend here), ndarray (CPU, deprecated
    /// by Burn), wgpu (GPU through Vulkan/Metal/DX12/OpenGL), cuda (NVIDIA; build with
    /// --features cuda).
    #[arg(long, value_enum, default_value_t = BackendChoice::Flex, help_heading = "Run")]
    pub backend: BackendChoice,

    /// Each layer's time loop: fused (one kernel per layer and pass: the CPU kernel on flex,
    /// a CubeCL kernel on wgpu/cuda; the generic loop where a backend has none) or generic
    /// (Burn primitive ops step by step, on any backend; the reference the kernels are
    /// tested against). How a run computes, not what: not saved with the run, and free to
    /// change on --resume.
    #[arg(long, value_name = "PATH", default_value = "fused", value_parser = recurrence,
          help_heading = "Run")]
    pub recurrence: RecurrencePath,

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
    pub epochs: Option<usize>,

    /// Samples per optimisation step (at most 10000000).
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Training")]
    pub batch_size: Option<usize>,

    /// Learning rate (constant).
    #[arg(long, value_name = "LR", value_parser = positive_up_to(MAX_LR), help_heading = "Training")]
    pub lr: Option<f64>,

    /// Seed of the weight initialisation and of the per-epoch data shuffling; the same seed
    /// gives the same run.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 42,
        help_heading = "Training"
    )]
    pub seed: u64,

    /// Directory holding the four MNIST IDX files (raw or .gz); the only place searched when
    /// given, and where they are downloaded if missing (unless --offline). Without it:
    /// $MNIST_DIR, then the cache (~/.cache/rnn-burn/mnist, or $RNN_BURN_CACHE/mnist), then
    /// a download into the cache.
    #[arg(long, value_name = "DIR", help_heading = "Data")]
    pub data_dir: Option<PathBuf>,

    /// Never download MNIST; fail if it is not found locally.
    #[arg(long, help_heading = "Data")]
    pub offline: bool,

    /// Train on the first N training samples only (quick runs).
    #[arg(long, value_name = "N", value_parser = at_least_one, help_heading = "Data")]
    pub limit_train: Option<usize>,

    /// Evaluate on the first N test samples only (quick runs).
    #[arg(long, value_name = "N", value_parser = at_least_one, help_heading = "Data")]
    pub limit_test: Option<usize>,

    /// Run directory for the config, metrics, plots, checkpoints and model
    /// [default: runs/<experiment>/<UTC date-time>].
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

    /// Plain-text progress (one line per epoch and split, with every metric) instead of the
    /// dashboard; the default when stdout is not a terminal.
    #[arg(long, help_heading = "Run")]
    pub plain: bool,
}

/// The tutorial's values of the shared flags, shown by `--help` and used when a flag is
/// absent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainingDefaults {
    /// `--epochs`.
    pub epochs: usize,
    /// `--batch-size`.
    pub batch_size: usize,
    /// `--lr`.
    pub lr: f64,
    /// `--shuffle`, for experiments that offer it ([`ShuffleArgs`]).
    pub shuffle: bool,
}

impl TrainingDefaults {
    /// The defaults a tutorial's [`TrainingConfig`] holds.
    pub fn of(config: &TrainingConfig) -> Self {
        TrainingDefaults {
            epochs: config.epochs,
            batch_size: config.batch_size,
            lr: config.lr,
            shuffle: config.shuffle,
        }
    }
}

impl CommonArgs {
    /// The training settings these flags ask for, on top of the experiment's `defaults`
    /// (which hold the tutorial's values for everything else, e.g. `shuffle`, `clip_norm`).
    pub fn training(&self, defaults: &TrainingConfig) -> TrainingConfig {
        let mut config = defaults.clone();
        config.backend = self.backend;
        config.seed = self.seed;
        if let Some(e) = self.epochs {
            config.epochs = e;
        }
        if let Some(b) = self.batch_size {
            config.batch_size = b;
        }
        if let Some(lr) = self.lr {
            config.lr = lr;
        }
        config.limit_train = self.limit_train.or(defaults.limit_train);
        config.limit_test = self.limit_test.or(defaults.limit_test);
        config
    }

    /// Where to find MNIST. With `--data-dir DIR`: DIR only; when it lacks the files they are
    /// downloaded into it (unless `--offline`), and no other directory is ever read instead.
    /// Without it: `$MNIST_DIR`, then the cache, then a download into the cache (unless
    /// `--offline`).
    pub fn mnist_source(&self) -> MnistSource {
        let mut source = MnistSource::from_env(self.data_dir.clone());
        source.download = !self.offline;
        source
    }

    /// Loads one MNIST split (see [`CommonArgs::mnist_source`]).
    pub fn load_mnist(&self, split: MnistSplit) -> Result<Arc<Mnist>, RunError> {
        Ok(Arc::new(self.mnist_source().load(split)?))
    }
}

fn at_least_one(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {s:?}"))?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

fn positive_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number, got {s:?}"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err("must be a positive number".into());
    }
    Ok(v)
}

/// A value parser for flags that must be a positive, finite number (learning rates,
/// clipping thresholds, standard deviations).
pub fn positive_number(s: &str) -> Result<f64, String> {
    positive_f64(s)
}

/// A value parser for counts that must be at least 1 (hidden sizes, layers).
pub fn positive_count(s: &str) -> Result<usize, String> {
    at_least_one(s)
}

/// A value parser for counts in `1..=max`: sizes whose memory grows with the value (hidden
/// units, layers, sequence lengths), so that an absurd value is refused at once instead of
/// aborting in an allocation.
pub fn count_up_to(max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |s| {
        let n = at_least_one(s)?;
        if n > max {
            return Err(format!("must be at most {max}"));
        }
        Ok(n)
    }
}

/// A value parser for any finite number.
pub fn finite_number(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number, got {s:?}"))?;
    if !v.is_finite() {
        return Err("must be a finite number".into());
    }
    Ok(v)
}

/// A value parser for positive numbers up to `max` (scales whose absurd values are typos).
pub fn positive_up_to(max: f64) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |s| {
        let v = positive_f64(s)?;
        if v > max {
            return Err(format!("must be at most {max}"));
        }
        Ok(v)
    }
}

/// A value parser for finite numbers in `[-max, max]`.
pub fn finite_up_to(max: f64) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |s| {
        let v = finite_number(s)?;
        if v.abs() > max {
            return Err(format!("must be between -{max} and {max}"));
        }
        Ok(v)
    }
}

/// A value parser for a moment decay rate (Adam's betas): a number in [0, 1).
pub fn decay_rate(s: &str) -> Result<f32, String> {
    let v = finite_number(s)?;
    if !(0.0..1.0).contains(&v) {
        return Err("must be at least 0 and below 1".into());
    }
    Ok(v as f32)
}

/// A value parser for Adam's epsilon: positive, at most 1, and representable as a positive
/// f32.
pub fn positive_f32(s: &str) -> Result<f32, String> {
    let v = positive_f64(s)?;
    if v > 1.0 {
        return Err("must be at most 1".into());
    }
    let f = v as f32;
    if !(f.is_finite() && f > 0.0) {
        return Err(format!("{v} is outside the range of a 32-bit float"));
    }
    Ok(f)
}

fn recurrence(s: &str) -> Result<RecurrencePath, String> {
    s.trim().parse()
}

fn epochs(s: &str) -> Result<usize, String> {
    count_up_to(MAX_EPOCHS)(s)
}

/// Parsed flags plus the ids of those the user typed (clap ids = field names, e.g.
/// `batch_size`), which [`crate::learn::training_config::reconcile`] needs.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// The flags.
    pub args: T,
    /// Ids of the flags given on the command line.
    pub explicit: BTreeSet<String>,
}

impl<T> Parsed<T> {
    /// Counts the configuration field `field` as typed when the flag `flag` was: for a flag
    /// whose name differs from the field it sets (`--no-clip` sets `clip_norm`), so that a
    /// resumed run checks it against the saved value.
    pub fn flag_sets(mut self, flag: &str, field: &str) -> Self {
        if self.explicit.contains(flag) {
            self.explicit.insert(field.to_string());
        }
        self
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The experiment's clap command with its tutorial `defaults` filled into `--epochs`,
/// `--batch-size`, `--lr` and `--shuffle` where it has one (so `--help` shows them) and the
/// exit codes appended.
pub fn command<T: CommandFactory>(defaults: &TrainingDefaults) -> clap::Command {
    let d = *defaults;
    let mut command = T::command();
    if command.get_arguments().any(|a| a.get_id() == "shuffle") {
        let shuffle = if d.shuffle { "true" } else { "false" };
        command = command.mut_arg("shuffle", |a| a.default_value(shuffle));
    }
    command
        .mut_arg("epochs", |a| {
            a.default_value(leak(d.epochs.to_string()))
                .help(leak(format!(
                    "Passes over the training set (tutorial: {})",
                    d.epochs
                )))
        })
        .mut_arg("batch_size", |a| {
            a.default_value(leak(d.batch_size.to_string()))
                .help(leak(format!(
                    "Samples per optimisation step (tutorial: {})",
                    d.batch_size
                )))
        })
        .mut_arg("lr", |a| {
            a.default_value(leak(format!("{}", d.lr)))
                .help(leak(format!(
                    "Learning rate, constant (tutorial: {})",
                    d.lr
                )))
        })
        .after_help(EXIT_CODES_HELP)
}

/// Parses `argv` (program name first) with the experiment's defaults.
pub fn parse_from<T, I, A>(argv: I, defaults: &TrainingDefaults) -> Result<Parsed<T>, clap::Error>
where
    T: Parser,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let mut cmd = command::<T>(defaults);
    let matches = cmd.try_get_matches_from_mut(argv)?;
    // Argument ids only (clap also reports argument groups, e.g. the flattened struct).
    let explicit = matches
        .ids()
        .filter(|id| cmd.get_arguments().any(|a| a.get_id() == *id))
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect();
    let args = T::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    Ok(Parsed { args, explicit })
}

/// The whole `main` of an experiment binary: parses `argv`, runs `run`, prints clap's
/// messages (`--help`, usage errors) or `error: ...` / `hint: ...` to `console`, and returns
/// the exit code. Tests call it in-process with a buffer console.
pub fn cli_main<T, I, A>(
    argv: I,
    defaults: &TrainingDefaults,
    console: &Console,
    run: impl FnOnce(Parsed<T>, &Console) -> Result<(), RunError>,
) -> i32
where
    T: Parser,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let parsed = match parse_from::<T, _, _>(argv, defaults) {
        Ok(p) => p,
        Err(e) => {
            let code = e.exit_code();
            if console.is_stdio() {
                let _ = e.print();
            } else if e.use_stderr() {
                console.eline(e.render().to_string().trim_end());
            } else {
                console.line(e.render().to_string().trim_end());
            }
            return code;
        }
    };
    match run(parsed, console) {
        Ok(()) => 0,
        Err(e) => {
            report(console, &e);
            e.exit_code()
        }
    }
}

/// Prints `error: ...` (and `hint: ...`) for `e`.
pub fn report(console: &Console, e: &RunError) {
    let text = e.to_string();
    let mut lines = text.lines();
    if let Some(first) = lines.next() {
        console.eline(format!("error: {first}"));
    }
    for line in lines {
        console.eline(format!("  {line}"));
    }
    if let Some(hint) = e.hint() {
        console.eline(format!("hint: {hint}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser, Debug)]
    #[command(name = "toy")]
    struct Toy {
        #[command(flatten)]
        common: CommonArgs,
        /// Hidden units.
        #[arg(long, default_value_t = 20, value_parser = count_up_to(4096))]
        hidden: usize,
        #[command(flatten)]
        adam: AdamArgs,
    }

    const D: TrainingDefaults = TrainingDefaults {
        epochs: 10,
        batch_size: 100,
        lr: 0.1,
        shuffle: true,
    };

    #[test]
    fn defaults_are_the_experiments_and_explicit_flags_are_recorded() {
        let p = parse_from::<Toy, _, _>(["toy", "--lr", "0.5", "--hidden", "7"], &D).unwrap();
        assert_eq!(p.args.common.epochs, Some(10));
        assert_eq!(p.args.common.batch_size, Some(100));
        assert_eq!(p.args.common.lr, Some(0.5));
        assert_eq!(p.args.hidden, 7);
        assert_eq!(
            p.explicit,
            ["hidden", "lr"].iter().map(|s| s.to_string()).collect()
        );
        let help = command::<Toy>(&D).render_long_help().to_string();
        assert!(
            help.contains("tutorial: 10") && help.contains("[default: 100]"),
            "{help}"
        );
        assert!(help.contains("Exit codes"), "{help}");
    }

    #[test]
    fn recurrence_defaults_to_fused() {
        let p = parse_from::<Toy, _, _>(["toy"], &D).unwrap();
        assert_eq!(p.args.common.recurrence, RecurrencePath::Fused);
        let p = parse_from::<Toy, _, _>(["toy", "--recurrence", "generic"], &D).unwrap();
        assert_eq!(p.args.common.recurrence, RecurrencePath::Generic);
    }

    #[test]
    fn bad_values_are_clap_errors_with_exit_code_2() {
        for argv in [
            vec!["toy", "--batch-size", "0"],
            vec!["toy", "--backend", "nosuch"],
            vec!["toy", "--recurrence", "fast"],
            vec!["toy", "--lr", "-1"],
            vec!["toy", "--lr", "nan"],
            vec!["toy", "--lr", "inf"],
            vec!["toy", "--out", "a", "--resume", "b"],
            vec!["toy", "--epochs", "18446744073709551615"],
            vec!["toy", "--hidden", "4097"],
            vec!["toy", "--beta1", "1"],
            vec!["toy", "--beta2", "nan"],
            vec!["toy", "--beta2", "-0.1"],
            vec!["toy", "--epsilon", "0"],
            vec!["toy", "--epsilon", "1e-60"],
            vec!["toy", "--epsilon", "1e300"],
        ] {
            let (console, captured) = Console::buffer();
            let code = cli_main::<Toy, _, _>(argv.clone(), &D, &console, |_, _| Ok(()));
            assert_eq!(code, 2, "{argv:?}");
            let err = captured.stderr();
            assert!(err.starts_with("error:"), "{argv:?}: {err}");
        }
        let (console, captured) = Console::buffer();
        cli_main::<Toy, _, _>(["toy", "--batch-size", "0"], &D, &console, |_, _| Ok(()));
        assert!(captured.stderr().contains("must be at least 1"));
    }

    #[test]
    fn run_errors_print_error_and_hint() {
        let (console, captured) = Console::buffer();
        let code = cli_main::<Toy, _, _>(["toy"], &D, &console, |_, _| {
            Err(RunError::usage("bad thing", Some("do this".to_string())))
        });
        assert_eq!(code, 2);
        assert_eq!(captured.stderr(), "error: bad thing\nhint: do this\n");
    }
}

/// Adam's hyper-parameters as flags, shared by every experiment that trains with Adam.
/// The defaults are Adam's usual ones (and PyTorch's, Chainer's and MinPy's); an experiment
/// whose tutorial differs changes a default with clap's `mut_arg`.
#[derive(Args, Debug, Clone)]
pub struct AdamArgs {
    /// Adam's first-moment decay, in [0, 1).
    #[arg(
        long,
        value_name = "B1",
        value_parser = decay_rate,
        help_heading = "Optimiser",
        default_value_t = 0.9
    )]
    pub beta1: f32,

    /// Adam's second-moment decay, in [0, 1).
    #[arg(
        long,
        value_name = "B2",
        value_parser = decay_rate,
        help_heading = "Optimiser",
        default_value_t = 0.999
    )]
    pub beta2: f32,

    /// Adam's epsilon, added to the denominator (in (0, 1]).
    #[arg(
        long,
        value_name = "EPS",
        value_parser = positive_f32,
        help_heading = "Optimiser",
        default_value_t = 1e-8
    )]
    pub epsilon: f32,

    /// Which second moment epsilon is added to: corrected (m̂ / (sqrt(v̂) + eps): PyTorch,
    /// MinPy, Burn) or uncorrected (sqrt(1 - b2^t) / (1 - b1^t) · m / (sqrt(v) + eps): NeoML,
    /// Chainer).
    #[arg(
        long,
        value_name = "FORM",
        value_enum,
        help_heading = "Optimiser",
        default_value_t = EpsilonForm::Corrected
    )]
    pub epsilon_form: EpsilonForm,
}

impl AdamArgs {
    /// The flag names, for checks of which optimiser flags a user typed.
    pub const IDS: [&'static str; 4] = ["beta1", "beta2", "epsilon", "epsilon_form"];

    pub fn config(&self) -> OptimizerConfig {
        OptimizerConfig::Adam {
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
            epsilon_form: self.epsilon_form,
        }
    }
}

/// `--shuffle`, for the experiments whose data can be shuffled. Its default is the
/// experiment's ([`TrainingDefaults::shuffle`], filled in by [`command`]); an experiment whose
/// tutorial says something else about it changes the help with clap's `mut_arg`.
#[derive(Args, Debug, Clone)]
pub struct ShuffleArgs {
    /// Reshuffle the training set every epoch (as the tutorial's DataLoader does).
    #[arg(long, value_name = "BOOL", help_heading = "Data", default_value_t = true,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub shuffle: bool,
}

/// `--clip-norm`: no clipping unless given (an experiment whose tutorial clips sets a default
/// with clap's `mut_arg`).
#[derive(Args, Debug, Clone)]
pub struct ClipArgs {
    /// Clip the gradient to this global L2 norm over all parameters (the tutorial does not).
    #[arg(long, value_name = "NORM", value_parser = positive_number, help_heading = "Optimiser")]
    pub clip_norm: Option<f64>,
}

/// `--no-clip`, for experiments that clip by default (or in a preset): flattened after
/// [`ClipArgs`], it turns clipping off. Its id differs from the field it sets, so the
/// experiment counts it as `clip_norm` ([`Parsed::flag_sets`]).
#[derive(Args, Debug, Clone)]
pub struct NoClipArgs {
    /// Do not clip gradients.
    #[arg(long, help_heading = "Optimiser", conflicts_with = "clip_norm")]
    pub no_clip: bool,
}

impl NoClipArgs {
    /// The clipping threshold: `asked` (the flag's, or the default's), unless `--no-clip`.
    pub fn clip_norm(&self, asked: Option<f64>) -> Option<f64> {
        if self.no_clip { None } else { asked }
    }
}
