//! Starting a run: validating the settings, creating (or re-opening, for `--resume`, see
//! [`crate::run::resume`]) the run directory, choosing and seeding the device, and the
//! data-loading helpers that depend on them.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoader;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use rnn_models::Recurrence;

use crate::base::console::Console;
use crate::base::error::RunError;
use crate::config::experiment::ExperimentConfig;
use crate::config::training::TrainingConfig;
use crate::device::backend_choice::BackendChoice;
use crate::device::open::{Devices, open};
use crate::report::epoch_record::EpochRecord;
use crate::run::epoch_loader::EpochLoader;
use crate::run::resume::{Resumed, reopen};
use crate::run::run_dir::RunDir;

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
    /// What runs the model's recurrent time loops (`--recurrence`): the experiment builds
    /// its model with it. Not saved in the run directory, so a resumed run may change it.
    pub recurrence: Recurrence,
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

/// How and where a run happens, not what it is (the run-level flags: `--out`, `--resume`,
/// `--devices`, `--recurrence`, `--stop-after-epoch`, `--plain`).
#[derive(Clone, Debug, PartialEq)]
pub struct RunOptions {
    /// The new run's directory (`None`: `runs/<experiment>/<UTC date-time>`).
    pub out: Option<PathBuf>,
    /// The run directory to continue.
    pub resume: Option<PathBuf>,
    /// Devices to train on, data-parallel.
    pub devices: usize,
    /// What runs the model's recurrent time loops.
    pub recurrence: Recurrence,
    /// Stop after this epoch as if interrupted.
    pub stop_after_epoch: Option<usize>,
    /// The plain-text renderer even on a terminal.
    pub plain: bool,
}

/// A run checked and ready to start: its settings validated (for `--resume`, the saved ones
/// reconciled with the command line), its devices opened and probed, its directory checked,
/// and nothing written yet. An experiment that reads (or downloads) a data set does so between
/// [`Session::prepare`] and [`Prepared::start`], so that a mistake costs no download.
pub struct Prepared<C> {
    experiment: &'static str,
    options: RunOptions,
    config: C,
    devices: Devices,
    resumed: Option<Resumed<C>>,
    console: Console,
}

impl Session {
    /// Starts a run of `experiment` with the `requested` configuration (from the command
    /// line), or, with `--resume`, continues the saved one (see
    /// [`crate::run::reconcile::reconcile`] for which flags may change it). Returns the session
    /// and the configuration to run with.
    pub fn start<C: ExperimentConfig>(
        experiment: &'static str,
        options: &RunOptions,
        requested: C,
        explicit: &BTreeSet<String>,
        console: &Console,
    ) -> Result<(Session, C), RunError> {
        Session::prepare(experiment, options, requested, explicit, console)?.start()
    }

    /// Everything [`Session::start`] checks, without writing anything: the settings, the run
    /// directory (a `--resume` directory holding a run of this experiment with a usable
    /// checkpoint, or an `--out` that holds no run and can be written) and the backend's
    /// devices, opened once here ([`crate::device::open`]).
    pub fn prepare<C: ExperimentConfig>(
        experiment: &'static str,
        options: &RunOptions,
        requested: C,
        explicit: &BTreeSet<String>,
        console: &Console,
    ) -> Result<Prepared<C>, RunError> {
        requested.validate()?;
        let (config, resumed) = match &options.resume {
            Some(path) => {
                let resumed = reopen(experiment, path, &requested, explicit, console)?;
                (resumed.config.clone(), Some(resumed))
            }
            None => {
                if let Some(out) = &options.out {
                    RunDir::check_new(out)?;
                }
                (requested, None)
            }
        };
        let devices = open(config.training().backend, options.devices)?;
        Ok(Prepared {
            experiment,
            options: options.clone(),
            config,
            devices,
            resumed,
            console: console.clone(),
        })
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

    /// The training and test loaders of `training`'s settings: the training set as
    /// [`Session::train_loader`] reads it, the test set as [`Session::test_loader`] does.
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
        let test = self.test_loader(training, test, batcher.clone());
        (self.train_loader(training, train, batcher).into_arc(), test)
    }

    /// The training batches of `training`'s settings: batches of `batch_size`, the set
    /// limited to `limit_train` and reshuffled per epoch from the seed (when `shuffle`),
    /// starting at the right epoch for a resumed run. Returned unshared, for an experiment
    /// that reads its epochs otherwise (e.g. [`EpochLoader::windowed`]).
    pub fn train_loader<I, O, D, B>(
        &self,
        training: &TrainingConfig,
        train: D,
        batcher: B,
    ) -> EpochLoader<I, O>
    where
        I: Send + Sync + 'static,
        O: Send + 'static,
        D: Dataset<I> + 'static,
        B: Batcher<I, O> + 'static,
    {
        let shuffle = training.shuffle.then_some(training.seed);
        EpochLoader::new(
            train,
            batcher,
            training.batch_size,
            training.limit_train,
            shuffle,
            &self.device,
        )
        .reshuffled(training.reshuffle)
        .starting_at_epoch(self.resume_from.map_or(1, |e| e + 1))
    }

    /// The test batches of `training`'s settings: in order, limited to `limit_test`.
    pub fn test_loader<I, O, D, B>(
        &self,
        training: &TrainingConfig,
        test: D,
        batcher: B,
    ) -> Arc<dyn DataLoader<O>>
    where
        I: Send + Sync + 'static,
        O: Send + 'static,
        D: Dataset<I> + 'static,
        B: Batcher<I, O> + 'static,
    {
        self.in_order(training, test, batcher, training.limit_test)
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

impl<C: ExperimentConfig> Prepared<C> {
    /// The configuration the run will have.
    pub fn config(&self) -> &C {
        &self.config
    }

    /// Creates (or re-opens) the run directory, writes `config.json` and starts the session.
    pub fn start(self) -> Result<(Session, C), RunError> {
        let Prepared {
            experiment,
            options,
            config,
            devices,
            resumed,
            console,
        } = self;
        let (run_dir, resume_from, previous) = match resumed {
            Some(r) => (r.dir, Some(r.epoch), r.previous),
            None => {
                let path = options
                    .out
                    .clone()
                    .unwrap_or_else(|| RunDir::default_path(experiment));
                (RunDir::create(&path)?, None, Vec::new())
            }
        };
        run_dir.write_config(experiment, &config)?;
        let training = config.training();
        let session = Session {
            experiment,
            run_dir,
            device: devices.main().clone(),
            devices: devices.all().to_vec(),
            backend: devices.backend,
            seed: training.seed,
            recurrence: options.recurrence,
            resume_from,
            previous,
            stop_after_epoch: options.stop_after_epoch,
            plain: options.plain,
            console,
            started: Instant::now(),
        };
        Ok((session, config))
    }
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
