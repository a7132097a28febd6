//! Starting a run: validating the settings, creating (or re-opening, for `--resume`, see
//! [`crate::run::resume`]) the run directory, choosing and seeding the device, and the
//! data-loading helpers that depend on them.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoader;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use rnn_models::Implementation;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cli::args::CommonArgs;
use crate::cli::run_error::RunError;
use crate::device::backend_choice::BackendChoice;
use crate::device::default_device::make_default_device;
use crate::device::device_probe::{device_at, device_for};
use crate::learn::epoch_loader::EpochLoader;
use crate::learn::training_config::TrainingConfig;
use crate::report::console::Console;
use crate::report::epoch_record::EpochRecord;
use crate::run::resume::reopen;
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
    /// What runs the model's recurrent time loops (`--recurrence`): the experiment builds
    /// its model with it. Not saved in the run directory, so a resumed run may change it.
    pub recurrence: Implementation,
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
                let resumed = reopen(experiment, path, &requested, explicit, console)?;
                (
                    Some(resumed.dir),
                    resumed.config,
                    Some(resumed.epoch),
                    resumed.previous,
                )
            }
            None => (None, requested, None, Vec::new()),
        };
        // The device is checked before anything is written.
        let training = config.training();
        let backend = training.backend;
        make_default_device(backend);
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
            recurrence: common.recurrence,
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
        self.loaders_of(training, train, None, test, batcher)
    }

    /// As [`Session::loaders`], but every epoch trains on samples of its own: epoch `e` reads
    /// samples `(e - 1) * per_epoch .. e * per_epoch` of `stream`, which holds `epochs *
    /// per_epoch` (a generator indexed by sample, such as the adding problem's, costs nothing
    /// for it). A resumed run reads the windows the uninterrupted one would have.
    #[allow(clippy::type_complexity)]
    pub fn stream_loaders<I, O, D, B>(
        &self,
        training: &TrainingConfig,
        stream: D,
        per_epoch: usize,
        test: D,
        batcher: B,
    ) -> (Arc<dyn DataLoader<O>>, Arc<dyn DataLoader<O>>)
    where
        I: Send + Sync + 'static,
        O: Send + 'static,
        D: Dataset<I> + 'static,
        B: Batcher<I, O> + Clone + 'static,
    {
        self.loaders_of(training, stream, Some(per_epoch), test, batcher)
    }

    #[allow(clippy::type_complexity)]
    fn loaders_of<I, O, D, B>(
        &self,
        training: &TrainingConfig,
        train: D,
        window: Option<usize>,
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
        let mut train = EpochLoader::new(
            train,
            batcher.clone(),
            training.batch_size,
            training.limit_train,
            shuffle,
            &self.device,
        )
        .reshuffled(training.reshuffle);
        if let Some(per_epoch) = window {
            train = train.windowed(per_epoch);
        }
        let train = train.starting_at_epoch(self.resume_from.map_or(1, |e| e + 1));
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
