//! The experiment, top to bottom: configuration, data, models, training, comparison.
//!
//! One invocation trains several networks one after the other, each in its own run directory
//! (`<out>/rnn`, `<out>/lstm`, ...: config.json, metrics.csv, plots, checkpoints, model.bpk,
//! summary.json, as for every experiment), then writes the comparison into `<out>`:
//! `comparison.png` (the MSE histories against the predict-1 baseline), `comparison.json`
//! (the plan and the table) and prints the table.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use clap::Parser;
use rnn_data::{AddingBatcher, AddingProblem};
use rnn_train::cli::{MAX_HIDDEN, MAX_SAMPLES, MAX_STEPS, count_up_to, positive_number};
use rnn_train::config::check_count;
use rnn_train::{
    AdamArgs, CommonArgs, Console, ExperimentConfig, Fit, OptimizerConfig, Outcome, Parsed, RunDir,
    RunError, Session, Summary, TrainingConfig, TrainingDefaults, train_regressor,
};
use serde::{Deserialize, Serialize};

use crate::comparison::{self, ComparisonRow};
use crate::model::{Adder, AdderConfig, Cell};

/// The binary's name and the run directory's parent (`runs/adding-problem/`).
pub const NAME: &str = "adding-problem";

// ---------------------------------------------------------------------------------------
// 1. Configuration: the tutorial's values, and the paper preset.

/// How many sequences of how many steps.
#[derive(Config, Debug)]
pub struct AddingData {
    /// Steps per sequence, T (the tutorial's generator default).
    #[config(default = 6)]
    pub seq_len: usize,
    /// Training sequences.
    #[config(default = 10_000)]
    pub train_size: usize,
    /// Test sequences.
    #[config(default = 1_000)]
    pub test_size: usize,
}

/// Everything that defines one network's run (saved as its run directory's `config.json`).
#[derive(Config, Debug)]
pub struct AddingConfig {
    /// The network.
    pub model: AdderConfig,
    /// The data.
    #[config(default = "AddingData::new()")]
    pub data: AddingData,
    /// MinPy's `adam` update rule: lr 1e-3, betas 0.9/0.999, epsilon 1e-8.
    #[config(default = "OptimizerConfig::adam()")]
    pub optimizer: OptimizerConfig,
    /// 10 epochs of batches of 100 at lr 1e-3, in one shuffled order drawn once (MinPy's
    /// `NDArrayIter(shuffle=True)` shuffles in its constructor, and its `reset()` rewinds).
    #[config(default = "TrainingConfig::new(10, 100, 1e-3).with_reshuffle(false)")]
    pub training: TrainingConfig,
}

impl ExperimentConfig for AddingConfig {
    fn training(&self) -> &TrainingConfig {
        &self.training
    }

    fn validate(&self) -> Result<(), RunError> {
        let d = &self.data;
        check_count("hidden", self.model.hidden, MAX_HIDDEN)?;
        check_count("train_size", d.train_size, MAX_SAMPLES)?;
        check_count("test_size", d.test_size, MAX_SAMPLES)?;
        if !(2..=MAX_STEPS).contains(&d.seq_len) {
            return Err(RunError::usage(
                format!(
                    "seq_len must be between 2 and {MAX_STEPS}, got {}",
                    d.seq_len
                ),
                None,
            ));
        }
        // Each sequence is 2 * T floats: keep the two sets within 2^28 values (1 GiB).
        let values = (d.train_size + d.test_size).saturating_mul(2 * d.seq_len);
        if values > 1 << 28 {
            return Err(RunError::usage(
                format!(
                    "{} + {} sequences of {} steps would take {} GiB",
                    d.train_size,
                    d.test_size,
                    d.seq_len,
                    values / (1 << 28)
                ),
                Some(
                    "use fewer or shorter sequences (--train-size, --test-size, --seq-len)".into(),
                ),
            ));
        }
        self.training.validate()
    }
}

/// `--paper`: the long-sequence setting of Le, Jaitly & Hinton (2015), section 4.1.
///
/// * T = 150, the shortest of the paper's lengths (150, 200, 300, 400); pass `--seq-len` for
///   the others.
/// * 100 hidden units for every network, the paper's size (the tutorial gives the vanilla RNN
///   64).
/// * 100 000 training and 10 000 test sequences, ten times the tutorial's: at T = 150 there
///   are 11 175 mark positions, and the networks must see each kind many times.
/// * Gradients clipped to global norm 1: over 150 steps a tanh or ReLU recurrence produces
///   occasional exploding gradients, and the paper clips too.
/// * The IRNN joins the comparison, since the preset reproduces the paper's question: can a
///   ReLU RNN with identity initialisation carry information as far as an LSTM?
/// * Everything else stays the tutorial's (Adam lr 1e-3, batch 100, 10 epochs), so the two
///   settings differ only in what the paper changes.
pub mod paper {
    use crate::model::Cell;

    /// Steps per sequence.
    pub const SEQ_LEN: usize = 150;
    /// Hidden units of every network.
    pub const HIDDEN: usize = 100;
    /// Training sequences.
    pub const TRAIN_SIZE: usize = 100_000;
    /// Test sequences.
    pub const TEST_SIZE: usize = 10_000;
    /// Global-norm gradient clipping.
    pub const CLIP_NORM: f64 = 1.0;
    /// The networks compared.
    pub const MODELS: [Cell; 4] = [Cell::Rnn, Cell::Lstm, Cell::Gru, Cell::Irnn];
}

/// The command line (`adding-problem --help`).
#[derive(Parser, Debug, Clone)]
#[command(
    name = NAME,
    version,
    about = "Vanilla RNN vs LSTM vs GRU on the adding problem (the MinPy RNN tutorial)",
    long_about = "Vanilla RNN vs LSTM vs GRU on the adding problem, reproducing the MinPy RNN \
        tutorial: each step holds a uniform value in [0, 1) and a mask bit, two steps are \
        marked, and the network must output the sum of the two marked values. Each network's \
        last hidden state goes through a linear layer to one output; MSE loss, Xavier \
        initialisation, Adam. Every default is the tutorial's: T = 6, 10 000 training and \
        1 000 test sequences, batch 100, 10 epochs; the vanilla RNN has 64 hidden units, the \
        LSTM and the GRU 100. The tutorial reports all three below the 0.1767 MSE of always \
        predicting 1 (Le et al.'s baseline), the GRU converging fastest, then the LSTM, the \
        vanilla RNN slowest.\n\n\
        Each network is trained in its own run directory under --out (config.json, \
        metrics.csv, loss.png, checkpoints, model.bpk, summary.json with test_mse); then \
        --out receives comparison.png (MSE histories against the predict-1 baseline) and \
        comparison.json, and a table (model, final test MSE, epochs to beat the baseline, \
        wall time) is printed. --resume OUT continues an interrupted comparison.",
    // The synthetic data needs none of the shared MNIST flags.
    mut_arg("data_dir", |a| a.hide(true)),
    mut_arg("offline", |a| a.hide(true)),
    mut_arg("out", |a| a.help(
        "Directory of the comparison: one run directory per network inside it (rnn/, lstm/, \
         ...), comparison.png and comparison.json [default: runs/adding-problem/<UTC \
         date-time>]"
    )),
    mut_arg("resume", |a| a.value_name("OUT").help(
        "Continue an interrupted comparison: the networks that finished are kept, the one \
         that stopped continues from its last checkpoint, the others start (only --epochs and \
         --backend may change the saved settings)"
    )),
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Networks to train, in order (repeat the flag or separate with commas): rnn (tanh
    /// Elman), lstm, gru (reset gate before the recurrent matmul, as the tutorial writes it),
    /// irnn (ReLU Elman with identity recurrent weights) [default: rnn,lstm,gru; with
    /// --paper: rnn,lstm,gru,irnn].
    #[arg(
        long,
        value_enum,
        value_name = "MODEL",
        value_delimiter = ',',
        help_heading = "Model",
        conflicts_with = "resume"
    )]
    pub model: Vec<Cell>,

    /// Hidden units of every network [default: the tutorial's, rnn 64, lstm 100, gru 100
    /// (irnn 100); with --paper: 100].
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model")]
    pub hidden: Option<usize>,

    /// Steps per sequence, T [default: 6, the tutorial's; with --paper: 150].
    #[arg(long, value_name = "T", value_parser = at_least_two, help_heading = "Data")]
    pub seq_len: Option<usize>,

    /// Training sequences [default: 10000; with --paper: 100000].
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Data")]
    pub train_size: Option<usize>,

    /// Test sequences [default: 1000; with --paper: 10000].
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Data")]
    pub test_size: Option<usize>,

    /// Shuffle the training set (as the tutorial's NDArrayIter does).
    #[arg(long, value_name = "BOOL", help_heading = "Data", default_value_t = true,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub shuffle: bool,

    /// Draw a new order every epoch; the tutorial's NDArrayIter shuffles once and walks
    /// that order every epoch.
    #[arg(long, value_name = "BOOL", help_heading = "Data", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub reshuffle: bool,

    /// The long-sequence setting of Le, Jaitly & Hinton (2015): T = 150, 100 hidden units for
    /// every network, 100000/10000 sequences, gradients clipped to global norm 1, and the
    /// IRNN added to the comparison; Adam, batch 100 and 10 epochs stay the tutorial's. Any
    /// explicit flag overrides the preset (e.g. --paper --seq-len 400).
    #[arg(long, help_heading = "Model", conflicts_with = "resume")]
    pub paper: bool,

    /// Clip the gradient to this global L2 norm over all parameters [default: no clipping,
    /// as the tutorial; with --paper: 1].
    #[arg(long, value_name = "NORM", value_parser = positive_number, help_heading = "Optimiser")]
    pub clip_norm: Option<f64>,

    /// Do not clip gradients (to turn off the --paper clipping).
    #[arg(long, help_heading = "Optimiser", conflicts_with = "clip_norm")]
    pub no_clip: bool,

    #[command(flatten)]
    pub adam: AdamArgs,
}

fn at_least_two(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {s:?}"))?;
    if n < 2 {
        return Err("a sequence needs at least 2 steps (two of them are marked)".into());
    }
    if n > MAX_STEPS {
        return Err(format!("must be at most {MAX_STEPS}"));
    }
    Ok(n)
}

impl Cli {
    /// The networks to train, in order.
    pub fn models(&self) -> Vec<Cell> {
        let mut models: Vec<Cell> = if !self.model.is_empty() {
            self.model.clone()
        } else if self.paper {
            paper::MODELS.to_vec()
        } else {
            Cell::TUTORIAL.to_vec()
        };
        let mut seen = BTreeSet::new();
        models.retain(|m| seen.insert(m.name()));
        models
    }

    /// The configuration of `cell`'s run these flags ask for: the tutorial's values, or the
    /// paper's with `--paper`, under every flag given explicitly.
    pub fn config(&self, cell: Cell) -> AddingConfig {
        let defaults = AddingConfig::new(AdderConfig::tutorial(cell));
        let preset = |tutorial, paper| if self.paper { paper } else { tutorial };
        let hidden = self
            .hidden
            .unwrap_or(preset(cell.tutorial_hidden(), paper::HIDDEN));
        let data = AddingData {
            seq_len: self
                .seq_len
                .unwrap_or(preset(defaults.data.seq_len, paper::SEQ_LEN)),
            train_size: self
                .train_size
                .unwrap_or(preset(defaults.data.train_size, paper::TRAIN_SIZE)),
            test_size: self
                .test_size
                .unwrap_or(preset(defaults.data.test_size, paper::TEST_SIZE)),
        };
        let mut training = self
            .common
            .training(&defaults.training)
            .with_shuffle(self.shuffle)
            .with_reshuffle(self.reshuffle);
        training.clip_norm = match (self.no_clip, self.clip_norm) {
            (true, _) => None,
            (false, Some(c)) => Some(c),
            (false, None) => self.paper.then_some(paper::CLIP_NORM),
        };
        AddingConfig {
            model: AdderConfig::new(cell, hidden),
            data,
            optimizer: self.adam.config(),
            training,
        }
    }
}

/// `main`: parse, run, report (see [`rnn_train::cli_main`]); returns the exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    let defaults =
        TrainingDefaults::of(&AddingConfig::new(AdderConfig::tutorial(Cell::Rnn)).training);
    rnn_train::cli_main::<Cli, _, _>(argv, &defaults, console, |parsed, console| {
        run(parsed, console).map(|_| ())
    })
}

/// What `<out>/comparison.json` holds: the plan (so `--resume` can start the networks that
/// had not begun), then the results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComparisonFile {
    /// Always `adding-problem`.
    pub experiment: String,
    /// One configuration per network, in training order.
    pub plan: Vec<AddingConfig>,
    /// The predict-1 MSE on the test set.
    pub baseline_mse: Option<f64>,
    /// The table, once every network has finished.
    pub results: Vec<ComparisonRow>,
}

/// One network's finished run.
pub struct ModelRun {
    /// The network's configuration.
    pub config: AddingConfig,
    /// Its run directory.
    pub dir: PathBuf,
    /// Its `summary.json`.
    pub summary: Summary,
    /// Its per-epoch metrics.
    pub records: Vec<rnn_train::EpochRecord>,
}

/// Trains every network with parsed flags (or continues an interrupted comparison), then
/// writes and prints the comparison. Returns the finished runs, in training order.
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Vec<ModelRun>, RunError> {
    let Parsed { args, mut explicit } = parsed;
    // A flag whose name differs from the configuration field it sets.
    if args.no_clip {
        explicit.insert("clip_norm".into());
    }
    let (out, plan) = match &args.common.resume {
        Some(dir) => (dir.clone(), read_plan(dir)?),
        None => {
            let out = args
                .common
                .out
                .clone()
                .unwrap_or_else(|| RunDir::default_path(NAME));
            let plan: Vec<AddingConfig> =
                args.models().into_iter().map(|m| args.config(m)).collect();
            start_comparison(&out, &plan)?;
            (out, plan)
        }
    };

    // -----------------------------------------------------------------------------------
    // 2.-4. Data, model and training, once per network.
    let resuming = args.common.resume.is_some();
    let mut runs = Vec::with_capacity(plan.len());
    for planned in &plan {
        let cell = planned.model.cell;
        let dir = out.join(cell.name());
        // A network that stops stops the comparison, which --resume OUT continues.
        if !resuming {
            let run = train_one(
                &args.common,
                &dir,
                planned.clone(),
                &explicit,
                false,
                console,
            );
            runs.push(run.map_err(|e| point_resume_at(e, &out))?);
            continue;
        }
        // Resuming: flags given now are checked against each network's saved configuration;
        // the saved plan stands for everything else. Finished networks are kept.
        let requested = requested_on_resume(&args, planned, &explicit);
        let run = match previous_result(&dir, requested.training.epochs)? {
            Some(done) => {
                console.line(format!("{cell}: already trained in {}", dir.display()));
                done
            }
            None => train_one(&args.common, &dir, requested, &explicit, true, console)
                .map_err(|e| point_resume_at(e, &out))?,
        };
        runs.push(run);
    }

    // -----------------------------------------------------------------------------------
    // 5. The comparison: table, plot, comparison.json.
    comparison::write_and_print(&out, &plan, &runs, console)?;
    Ok(runs)
}

/// Data, model and training of one network in `dir`: a new run, or with `resuming` (the
/// comparison's `--resume`) the continuation of the run the directory holds.
fn train_one(
    common: &CommonArgs,
    dir: &Path,
    requested: AddingConfig,
    explicit: &BTreeSet<String>,
    resuming: bool,
    console: &Console,
) -> Result<ModelRun, RunError> {
    let cell = requested.model.cell;
    let mut common = common.clone();
    common.resume = None;
    common.out = Some(dir.to_path_buf());
    if resuming && dir.join("config.json").is_file() {
        if RunDir::open(dir, NAME)?.last_checkpoint().is_some() {
            common.resume = Some(dir.to_path_buf());
            common.out = None;
        } else {
            // The network stopped during its first epoch: nothing in its directory is worth
            // keeping, so it starts again.
            console.line(format!(
                "{cell}: no checkpoint in {}, starting it again",
                dir.display()
            ));
            std::fs::remove_dir_all(dir).map_err(|e| RunError::io("remove", dir, e))?;
        }
    }
    console.line(format!(
        "{cell}: hidden {}, T = {}, {} training / {} test sequences",
        requested.model.hidden,
        requested.data.seq_len,
        requested.data.train_size,
        requested.data.test_size
    ));
    let (session, config) = Session::start(NAME, &common, requested, explicit, console)?;

    // 2. Data: the same seeded training and test sets for every network.
    let d = &config.data;
    let (train, test) =
        AddingProblem::train_test(d.train_size, d.test_size, d.seq_len, config.training.seed)?;
    let (train, test) = session.loaders(&config.training, train, test, AddingBatcher);

    // 3. Model.
    let model: Adder = session.init(|device| config.model.init(device));

    // 4. Training (Burn's Learner; dashboard or plain log, checkpoints, metrics.csv, plots,
    // summary.json with test_mse).
    let t = &config.training;
    let fit = Fit::new(model, config.optimizer.init(), t, train, test);
    let Outcome {
        records, summary, ..
    } = train_regressor(&session, fit)?;
    Ok(ModelRun {
        config,
        dir: dir.to_path_buf(),
        summary,
        records,
    })
}

/// Creates `out` and its `comparison.json` for a new comparison.
fn start_comparison(out: &Path, plan: &[AddingConfig]) -> Result<(), RunError> {
    let file = out.join("comparison.json");
    if file.exists() || out.join("config.json").exists() {
        return Err(RunError::usage(
            format!("{} already holds a run", out.display()),
            Some(format!(
                "continue it with --resume {}, or choose another --out",
                out.display()
            )),
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| RunError::io("create directory", out, e))?;
    comparison::write_file(
        out,
        &ComparisonFile {
            experiment: NAME.into(),
            plan: plan.to_vec(),
            baseline_mse: None,
            results: Vec::new(),
        },
    )
}

/// The plan saved in `dir/comparison.json` (for `--resume dir`).
fn read_plan(dir: &Path) -> Result<Vec<AddingConfig>, RunError> {
    let fail = |message: String, hint: Option<String>| RunError::Resume {
        dir: dir.to_path_buf(),
        message,
        hint,
    };
    let file = dir.join("comparison.json");
    if !file.is_file() {
        if dir.join("config.json").is_file()
            && let Some(parent) = dir.parent()
        {
            return Err(fail(
                "it is one network's run of a comparison".into(),
                Some(format!(
                    "resume the comparison: --resume {}",
                    parent.display()
                )),
            ));
        }
        let what = if dir.is_dir() {
            "it is not an adding-problem comparison (it has no comparison.json)"
        } else {
            "no such directory"
        };
        return Err(fail(
            what.into(),
            Some("pass the --out directory of the interrupted run".into()),
        ));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| RunError::io("read", &file, e))?;
    let saved: ComparisonFile = serde_json::from_str(&text).map_err(|e| {
        fail(
            format!("{} is not readable ({e})", file.display()),
            Some("start a new comparison with --out".into()),
        )
    })?;
    Ok(saved.plan)
}

/// The finished run in `dir`, if its `summary.json` says it completed `epochs` epochs (a
/// resumed comparison with more `--epochs` trains it further).
fn previous_result(dir: &Path, epochs: usize) -> Result<Option<ModelRun>, RunError> {
    let path = dir.join("summary.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let Ok(summary) = serde_json::from_str::<Summary>(&text) else {
        return Ok(None);
    };
    if !summary.completed || summary.epochs < epochs {
        return Ok(None);
    }
    let run_dir = RunDir::open(dir, NAME)?;
    let records = run_dir.read_metrics()?;
    // The comparison reads every epoch's row; metrics.csv has no second copy to restore
    // lost rows from.
    let missing: Vec<String> = (1..=summary.epochs)
        .filter(|e| !records.iter().any(|r| r.epoch == *e && r.is_complete()))
        .map(|e| e.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(RunError::Resume {
            dir: dir.to_path_buf(),
            message: format!(
                "{} lacks the rows of epoch {} (the file is damaged)",
                run_dir.metrics_path().display(),
                missing.join(", ")
            ),
            hint: Some(
                "restore metrics.csv from a backup, or start the comparison again with --out"
                    .into(),
            ),
        });
    }
    Ok(Some(ModelRun {
        config: run_dir.read_config()?,
        dir: dir.to_path_buf(),
        records,
        summary,
    }))
}

/// On `--resume`, the flags of the command line over the saved plan: only what the user typed
/// counts (Session::start then refuses values that would change the run).
fn requested_on_resume(
    args: &Cli,
    planned: &AddingConfig,
    explicit: &BTreeSet<String>,
) -> AddingConfig {
    let from_flags = args.config(planned.model.cell);
    let mut requested = planned.clone();
    let typed = |id: &str| explicit.contains(id);
    if typed("hidden") {
        requested.model.hidden = from_flags.model.hidden;
    }
    if typed("seq_len") {
        requested.data.seq_len = from_flags.data.seq_len;
    }
    if typed("train_size") {
        requested.data.train_size = from_flags.data.train_size;
    }
    if typed("test_size") {
        requested.data.test_size = from_flags.data.test_size;
    }
    if typed("clip_norm") {
        requested.training.clip_norm = from_flags.training.clip_norm;
    }
    let (flags, r) = (&from_flags.training, &mut requested.training);
    if typed("epochs") {
        r.epochs = flags.epochs;
    }
    if typed("batch_size") {
        r.batch_size = flags.batch_size;
    }
    if typed("lr") {
        r.lr = flags.lr;
    }
    if typed("backend") {
        r.backend = flags.backend;
    }
    if typed("seed") {
        r.seed = flags.seed;
    }
    if typed("shuffle") {
        r.shuffle = flags.shuffle;
    }
    if typed("reshuffle") {
        r.reshuffle = flags.reshuffle;
    }
    if AdamArgs::IDS.iter().any(|id| typed(id)) {
        requested.optimizer = from_flags.optimizer;
    }
    requested
}

/// A network that stopped (dashboard, `--stop-after-epoch`) stops the comparison; the resume
/// hint names the comparison directory, which continues every network.
fn point_resume_at(error: RunError, out: &Path) -> RunError {
    match error {
        RunError::Stopped {
            epoch,
            epochs,
            reason,
            ..
        } => RunError::Stopped {
            epoch,
            epochs,
            reason,
            dir: out.to_path_buf(),
        },
        other => other,
    }
}
