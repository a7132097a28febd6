//! Starting a run: validating the settings, creating (or re-opening, for `--resume`) the run
//! directory, choosing and seeding the device, and the data-loading helpers that depend on
//! them.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoader;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cli::args::CommonArgs;
use crate::cli::run_error::{RunError, shell_quote};
use crate::device::backend_choice::BackendChoice;
use crate::learn::epoch_loader::EpochLoader;
use crate::learn::training_config::TrainingConfig;
use crate::report::console::Console;
use crate::report::epoch_record::EpochRecord;
use crate::run::reconcile::reconcile_run;
use crate::run::run_dir::RunDir;

/// An experiment's complete configuration: serialisable (it is saved in `config.json` and
/// reloaded by `--resume`) and holding the shared [`TrainingConfig`].
pub trait ExperimentConfig: Serialize + DeserializeOwned + Clone {
    /// The loop settings.
    fn training(&self) -> &TrainingConfig;

    /// Checks the whole configuration, also when it was read back from a run directory's
    /// `config.json` (which a user may have edited): the training settings, and whatever the
    /// experiment adds (model sizes, data sizes) in an override that calls this one.
    fn validate(&self) -> Result<(), RunError> {
        self.training().validate()
    }
}

/// A started run (see the module docs).
pub struct Session {
    /// The experiment's name (binary name, `runs/<name>/`).
    pub experiment: &'static str,
    /// Where everything is written.
    pub run_dir: RunDir,
    /// The device the model is created on (without autodiff; the Learner adds it).
    pub device: Device,
    /// Every device training runs on, `device` first (more than one with `--devices N`).
    pub devices: Vec<Device>,
    /// The backend behind `device`.
    pub backend: BackendChoice,
    /// The run's seed.
    pub seed: u64,
    /// For a resumed run: the checkpoint epoch it continues from.
    pub resume_from: Option<usize>,
    /// For a resumed run: the metrics of the epochs already done.
    pub previous: Vec<EpochRecord>,
    /// `--stop-after-epoch`.
    pub stop_after_epoch: Option<usize>,
    /// Use the plain-text renderer even on a terminal.
    pub plain: bool,
    /// Where messages go.
    pub console: Console,
    started: Instant,
}

/// Serialises model initialisation across threads: the backend's random generator is global,
/// so two runs in one process (tests) would otherwise interleave their draws.
static INIT: Mutex<()> = Mutex::new(());

impl Session {
    /// Starts a run of `experiment` with the `requested` configuration (from the command
    /// line), or, with `--resume`, continues the saved one (see
    /// [`crate::run::reconcile::reconcile`] for which flags may change it). Returns the session
    /// and the configuration to run with.
    pub fn start<C: ExperimentConfig>(
        experiment: &'static str,
        common: &CommonArgs,
        requested: C,
        explicit: &BTreeSet<String>,
        console: &Console,
    ) -> Result<(Session, C), RunError> {
        requested.validate()?;
        let (run_dir, config, resume_from, previous) = match &common.resume {
            Some(path) => {
                let (dir, config, epoch, previous) =
                    Self::reopen(experiment, path, &requested, explicit, console)?;
                (Some(dir), config, Some(epoch), previous)
            }
            None => (None, requested, None, Vec::new()),
        };
        // The device is checked before anything is written.
        let training = config.training();
        let backend = training.backend;
        make_default_device(backend);
        rnn_models::set_recurrence_path(common.recurrence);
        let device = device_for(backend)?;
        let mut devices = vec![device.clone()];
        for index in 1..common.devices {
            devices.push(device_at(backend, index)?);
        }
        let run_dir = match run_dir {
            Some(dir) => dir,
            None => {
                let path = common
                    .out
                    .clone()
                    .unwrap_or_else(|| RunDir::default_path(experiment));
                RunDir::create(&path)?
            }
        };
        run_dir.write_config(experiment, &config)?;
        let session = Session {
            experiment,
            run_dir,
            device,
            devices,
            backend,
            seed: training.seed,
            resume_from,
            previous,
            stop_after_epoch: common.stop_after_epoch,
            plain: common.plain,
            console: console.clone(),
            started: Instant::now(),
        };
        Ok((session, config))
    }

    /// The checks that need no data, for an experiment to run before it reads (or downloads)
    /// its data set: the settings, the backend, and the run directory (a `--resume`
    /// directory holding a run of this experiment, or an `--out` that holds no run and can
    /// be written). [`Session::start`] repeats them with the final settings.
    pub fn preflight<C: ExperimentConfig>(
        experiment: &'static str,
        common: &CommonArgs,
        requested: &C,
    ) -> Result<(), RunError> {
        requested.validate()?;
        match &common.resume {
            Some(path) => {
                RunDir::open(path, experiment)?;
            }
            None => {
                if let Some(out) = &common.out {
                    RunDir::check_new(out)?;
                }
            }
        }
        let backend = requested.training().backend;
        make_default_device(backend);
        device_for(backend).map(|_| ())
    }

    fn reopen<C: ExperimentConfig>(
        experiment: &str,
        path: &Path,
        requested: &C,
        explicit: &BTreeSet<String>,
        console: &Console,
    ) -> Result<(RunDir, C, usize, Vec<EpochRecord>), RunError> {
        let dir = RunDir::open(path, experiment)?;
        let fail = |message: String, hint: Option<String>| RunError::Resume {
            dir: path.to_path_buf(),
            message,
            hint,
        };
        let saved: C = dir.read_config()?;
        let config = reconcile_run(&saved, requested, explicit, path)?;
        config.validate()?;
        let quoted = shell_quote(&path.display().to_string());
        let candidates = dir.checkpoint_epochs();
        if candidates.is_empty() {
            return Err(fail(
                format!(
                    "there is no checkpoint in {} (the run stopped before finishing its first \
                     epoch)",
                    dir.checkpoint_dir().display()
                ),
                Some("start the run again without --resume (with another --out)".into()),
            ));
        }
        // The newest checkpoint whose files all read back and whose epoch has its row in
        // metrics.csv (a kill between Burn's checkpoint and the CSV's update leaves the row
        // out: resuming one epoch earlier trains it again, with the same result); a damaged
        // one (a kill or a full disk while it was written) is passed over, saying so.
        let rows = dir.read_metrics()?;
        let has_row = |e: usize| rows.iter().any(|r| r.epoch == e && r.is_complete());
        let mut damaged = Vec::new();
        let mut valid = Vec::new();
        for &epoch in &candidates {
            match dir.check_checkpoint(epoch) {
                Ok(()) => valid.push(epoch),
                Err(e) => damaged.push((epoch, e)),
            }
        }
        let Some(epoch) = valid
            .iter()
            .copied()
            .find(|&e| has_row(e))
            .or_else(|| valid.first().copied())
        else {
            let list: Vec<String> = damaged.into_iter().map(|(_, e)| e).collect();
            return Err(fail(
                format!("no usable checkpoint is left: {}", list.join("; ")),
                Some("start the run again without --resume (with another --out)".into()),
            ));
        };
        for (bad, e) in damaged.iter().filter(|(bad, _)| *bad > epoch) {
            console.eline(format!(
                "warning: the checkpoint of epoch {bad} cannot be used ({e}); resuming from \
                 epoch {epoch} instead"
            ));
        }
        let epochs = config.training().epochs;
        // A run killed after its last checkpoint but before its summary is finished by a
        // resume that trains nothing: the final model and summary.json are written.
        let finished = std::fs::read_to_string(dir.summary_path())
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v["completed"] == true && v["epochs"].as_u64() >= Some(epochs as u64));
        if epoch >= epochs && finished {
            return Err(fail(
                format!("the run has already finished epoch {epoch} of {epochs}"),
                Some(format!(
                    "to train further, pass more epochs: --resume {quoted} --epochs {}",
                    epoch + 1
                )),
            ));
        }
        let previous: Vec<EpochRecord> = rows
            .into_iter()
            .filter(|r| r.epoch <= epoch && r.is_complete())
            .collect();
        // Only a row before the checkpoint's own is damage; the checkpoint's own row is
        // missing when the run was killed between the two writes, and no older checkpoint
        // was left to go back to.
        if !previous.iter().any(|r| r.epoch == epoch) {
            console.eline(format!(
                "warning: the run stopped before recording epoch {epoch}'s metrics; it continues \
                 from that epoch's checkpoint, and its row will be missing from metrics.csv"
            ));
        }
        let missing: Vec<String> = (1..epoch)
            .filter(|e| !previous.iter().any(|r| r.epoch == *e))
            .map(|e| e.to_string())
            .collect();
        if !missing.is_empty() {
            // metrics.csv has no second copy: resuming would lose these rows for good.
            return Err(fail(
                format!(
                    "{} lacks the rows of epoch {} (the file is damaged)",
                    dir.metrics_path().display(),
                    missing.join(", ")
                ),
                Some(
                    "restore metrics.csv from a backup, or start the run again without --resume"
                        .into(),
                ),
            ));
        }
        Ok((dir, config, epoch, previous))
    }

    /// The device training runs on: `device` with autodiff.
    pub fn training_device(&self) -> Device {
        self.device.clone().autodiff()
    }

    /// Runs `init` (which creates the model's parameters) on the training device, with the
    /// backend's generator seeded by the run's seed, so the same seed gives the same initial
    /// weights. (Parameters must be created on an autodiff device to be trainable.)
    pub fn init<T: Module>(&self, init: impl FnOnce(&Device) -> T) -> T {
        let _guard = INIT.lock().unwrap_or_else(|p| p.into_inner());
        let device = self.training_device();
        device.seed(self.seed);
        materialized(init(&device))
    }

    /// The training and test loaders of `training`'s settings: batches of `batch_size`, the
    /// training set limited to `limit_train` and reshuffled per epoch from the seed (when
    /// `shuffle`), starting at the right epoch for a resumed run; the test set in order,
    /// limited to `limit_test`.
    #[allow(clippy::type_complexity)]
    pub fn loaders<I, O, D, B>(
        &self,
        training: &TrainingConfig,
        train: D,
        test: D,
        batcher: B,
    ) -> (Arc<dyn DataLoader<O>>, Arc<dyn DataLoader<O>>)
    where
        I: Send + Sync + 'static,
        O: Send + 'static,
        D: Dataset<I> + 'static,
        B: Batcher<I, O> + Clone + 'static,
    {
        let shuffle = training.shuffle.then_some(training.seed);
        let train = EpochLoader::new(
            train,
            batcher.clone(),
            training.batch_size,
            training.limit_train,
            shuffle,
            &self.device,
        )
        .reshuffled(training.reshuffle)
        .starting_at_epoch(self.resume_from.map_or(1, |e| e + 1));
        let test = EpochLoader::new(
            test,
            batcher,
            training.batch_size,
            training.limit_test,
            None,
            &self.device,
        );
        (train.into_arc(), test.into_arc())
    }

    /// `data` in order, in batches of `training.batch_size`, on the evaluation device: for a
    /// pass over a data set after training (e.g. the whole training set, as
    /// [`crate::Fit::evaluate_train_set`] takes it), limited to `limit` samples.
    pub fn in_order<I, O, D, B>(
        &self,
        training: &TrainingConfig,
        data: D,
        batcher: B,
        limit: Option<usize>,
    ) -> Arc<dyn DataLoader<O>>
    where
        I: Send + Sync + 'static,
        O: Send + 'static,
        D: Dataset<I> + 'static,
        B: Batcher<I, O> + 'static,
    {
        EpochLoader::new(
            data,
            batcher,
            training.batch_size,
            limit,
            None,
            &self.device,
        )
        .into_arc()
    }

    /// Seconds since the session started.
    pub fn elapsed_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// The device for `backend`, checked to work: creating a wgpu or CUDA device is lazy and
/// panics on first use when there is no adapter or driver, so a tiny computation is tried
/// here and a failure becomes a [`RunError::Backend`].
pub fn device_for(backend: BackendChoice) -> Result<Device, RunError> {
    device_at(backend, 0)
}

/// Device `index` of `backend` (see [`BackendChoice::device_at`]), checked to work like
/// [`device_for`]'s.
pub fn device_at(backend: BackendChoice, index: usize) -> Result<Device, RunError> {
    let device = backend.device_at(index).map_err(|e| RunError::Backend {
        backend: backend.to_string(),
        message: e.to_string(),
        hint: None,
    })?;
    if matches!(backend, BackendChoice::Flex | BackendChoice::Ndarray) {
        return Ok(device);
    }
    let probe = device.clone();
    let outcome = quietly(AssertUnwindSafe(move || {
        Tensor::<1>::ones([4], &probe).sum().into_scalar::<f32>()
    }));
    match outcome {
        Ok(4.0) => Ok(device),
        Ok(v) => Err(RunError::Backend {
            backend: backend.to_string(),
            message: format!("a test computation gave {v} instead of 4"),
            hint: Some("use --backend flex".into()),
        }),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the device could not be initialised".into());
            let hint = match backend {
                BackendChoice::Wgpu => {
                    "wgpu needs a GPU driver or Mesa's software Vulkan (apt install libvulkan1 \
                     mesa-vulkan-drivers) and XDG_RUNTIME_DIR set; or use --backend flex"
                }
                _ => "cuda needs the NVIDIA driver (libcuda, libnvrtc); or use --backend flex",
            };
            Err(RunError::Backend {
                backend: backend.to_string(),
                message: message.lines().next().unwrap_or_default().to_string(),
                hint: Some(hint.into()),
            })
        }
    }
}

thread_local! {
    /// Whether a panic on this thread is expected and caught (see [`quietly`]).
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a panic on this thread now is one that [`quietly`] expects and catches.
pub(crate) fn quiet_panic() -> bool {
    QUIET.with(|q| q.get())
}

/// Runs `f`, catching a panic without printing its message: for probes whose failure is
/// reported as a [`RunError`]. The process's panic hook is wrapped once, on first use, by one
/// that stays silent only on a thread inside `quietly`; it is never swapped back and forth,
/// so runs on other threads (tests run experiments in parallel) keep their messages.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> std::thread::Result<R> {
    static WRAP: std::sync::Once = std::sync::Once::new();
    WRAP.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info)
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let outcome = std::panic::catch_unwind(f);
    QUIET.with(|q| q.set(false));
    outcome
}

/// Draws every lazily initialised parameter now. Burn creates parameter values on first
/// use, so without this the random draws would happen outside [`Session::init`]'s seeded,
/// locked section, and runs in one process (tests) would race on the global generator.
fn materialized<M: Module>(model: M) -> M {
    struct Draw;
    impl burn::module::ModuleVisitor for Draw {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    model.visit(&mut Draw);
    model
}

/// Makes `backend` Burn's default device for this process. Burn puts some state on
/// `Device::default()` (the optimiser's state loaded from a checkpoint on `--resume`), and
/// with wgpu compiled in that default is the GPU whatever `--backend` says; Burn reads the
/// choice from `BURN_DEVICE` only.
fn make_default_device(backend: BackendChoice) {
    const VAR: &str = "BURN_DEVICE";
    static WRITE: Mutex<()> = Mutex::new(());
    let _one_writer = WRITE.lock().unwrap_or_else(|p| p.into_inner());
    if std::env::var(VAR).ok().as_deref() != Some(backend.name()) {
        // `set_var` is unsound only while another thread reads the environment. This runs
        // before the session touches any device (`device_for` starts the backend's threads):
        // in an experiment binary no other thread exists yet. Test processes run experiments
        // on parallel threads and set BURN_DEVICE to the tested backend beforehand (`just
        // test` sets `flex`), so this branch does not write there; the mutex keeps two
        // sessions of one process from writing at once.
        // SAFETY: no other thread reads the environment at this point (see above).
        unsafe { std::env::set_var(VAR, backend.name()) };
    }
}
