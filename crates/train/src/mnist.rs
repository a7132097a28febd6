//! The path every MNIST classifier takes: its data flags ([`MnistArgs`]), the checks that need
//! no data, both splits read (or downloaded), the run started, the loaders of the experiment's sequence view
//! ([`MnistRun`]), then the model, the fit and Burn's Learner ([`train_mnist_classifier`]).
//! An experiment adds only its model and what its tutorial measures besides.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use burn::data::dataloader::DataLoader;
use burn::optim::ModuleOptimizer;
use rnn_data::{Mnist, MnistBatch, MnistSequenceBatcher, MnistSequences, MnistSource, MnistSplit};
use rnn_models::Recurrence;

use burn::tensor::Device;
use burn::train::ClassificationOutput;

use crate::base::console::Console;
use crate::base::error::RunError;
use crate::cli::entry::{ExperimentCli, Parsed};
use crate::config::experiment::ExperimentConfig;
use crate::config::optimizer::OptimizerConfig;
use crate::learn::fit::Fit;
use crate::learn::fit::Trained;
use crate::learn::task::TaskModel;
use crate::learn::train::train_classifier;
use crate::run::session::{RunOptions, Session};

/// Where MNIST comes from: the flags of the experiments that read it, flattened into their
/// command lines.
#[derive(Args, Debug, Clone, PartialEq, Default)]
pub struct MnistArgs {
    /// Directory holding the four MNIST IDX files (raw or .gz); the only place searched when
    /// given, and where they are downloaded if missing (unless --offline). Without it:
    /// $MNIST_DIR, then the cache (~/.cache/rnn-burn/mnist, or $RNN_BURN_CACHE/mnist), then
    /// a download into the cache.
    #[arg(long, value_name = "DIR", help_heading = "Data")]
    pub data_dir: Option<PathBuf>,

    /// Never download MNIST; fail if it is not found locally.
    #[arg(long, help_heading = "Data")]
    pub offline: bool,
}

impl MnistArgs {
    /// Where to find MNIST. With `--data-dir DIR`: DIR only; when it lacks the files they are
    /// downloaded into it (unless `--offline`), and no other directory is ever read instead.
    /// Without it: `$MNIST_DIR`, then the cache, then a download into the cache (unless
    /// `--offline`).
    pub fn source(&self) -> MnistSource {
        let mut source = MnistSource::from_env(self.data_dir.clone());
        source.download = !self.offline;
        source
    }

    /// Loads one MNIST split (see [`MnistArgs::source`]).
    pub fn load(&self, split: MnistSplit) -> Result<Arc<Mnist>, RunError> {
        Ok(Arc::new(self.source().load(split)?))
    }
}

/// A started MNIST run: the session, the configuration it runs with, and its batches.
pub struct MnistRun<C> {
    /// The run.
    pub session: Session,
    /// The configuration (the saved one, for a resumed run).
    pub config: C,
    /// Training batches, shuffled as configured.
    pub train: Arc<dyn DataLoader<MnistBatch>>,
    /// Test batches, in order.
    pub test: Arc<dyn DataLoader<MnistBatch>>,
    train_images: Arc<Mnist>,
    batcher: MnistSequenceBatcher,
}

impl<C: ExperimentConfig> MnistRun<C> {
    /// Starts a run of `experiment` with the `requested` configuration (see
    /// [`Session::start`]). The settings, the backend and the run directory are checked
    /// before MNIST is read, so a mistake costs no download. `batcher` turns the
    /// configuration into its sequence view and pixel scaling.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        experiment: &'static str,
        options: &RunOptions,
        data: &MnistArgs,
        requested: C,
        explicit: &BTreeSet<String>,
        console: &Console,
        batcher: impl FnOnce(&C) -> MnistSequenceBatcher,
    ) -> Result<Self, RunError> {
        let prepared = Session::prepare(experiment, options, requested, explicit, console)?;
        let train_images = data.load(MnistSplit::Train)?;
        let test_images = data.load(MnistSplit::Test)?;
        let (session, config) = prepared.start()?;
        let batcher = batcher(&config);
        let (train, test) = session.loaders(
            config.training(),
            MnistSequences::new(train_images.clone()),
            MnistSequences::new(test_images),
            batcher.clone(),
        );
        Ok(MnistRun {
            session,
            config,
            train,
            test,
            train_images,
            batcher,
        })
    }

    /// The fit of `model` by `optimizer` over these batches, with the configuration's
    /// training settings.
    pub fn fit<M: TaskModel<Batch = MnistBatch>>(
        &self,
        model: M,
        optimizer: ModuleOptimizer,
    ) -> Fit<M> {
        let training = self.config.training();
        Fit::new(
            model,
            optimizer,
            training,
            self.train.clone(),
            self.test.clone(),
        )
    }

    /// The whole training set in order (limited by `--limit-train`), for a pass over it after
    /// training ([`Fit::evaluate_train_set`]).
    pub fn train_set_in_order(&self) -> Arc<dyn DataLoader<MnistBatch>> {
        let training = self.config.training();
        self.session.in_order(
            training,
            MnistSequences::new(self.train_images.clone()),
            self.batcher.clone(),
            training.limit_train,
        )
    }
}

/// The command line of an MNIST experiment: an [`ExperimentCli`] that flattens [`MnistArgs`].
pub trait MnistCli: ExperimentCli {
    /// The MNIST flags.
    fn mnist(&self) -> &MnistArgs;
}

/// What the shared MNIST path needs from a classifier experiment's configuration.
pub trait MnistConfig: ExperimentConfig {
    /// How an image becomes a sequence, with its pixel scaling.
    fn batcher(&self) -> MnistSequenceBatcher;
    /// The optimiser.
    fn optimizer(&self) -> &OptimizerConfig;
}

impl<C: MnistConfig> MnistRun<C> {
    /// Starts the run the parsed flags ask for ([`MnistRun::start`] with the configuration
    /// of [`Parsed::config`]).
    pub fn from_parsed<T>(
        experiment: &'static str,
        parsed: &Parsed<T>,
        console: &Console,
    ) -> Result<Self, RunError>
    where
        T: MnistCli<Config = C>,
    {
        MnistRun::start(
            experiment,
            &parsed.args.common().run_options(),
            parsed.args.mnist(),
            parsed.config(),
            &parsed.explicit,
            console,
            C::batcher,
        )
    }

    /// Trains the network `model` makes on the run's device with the run's recurrence
    /// (`--recurrence`, which it must give every recurrent module), `adjust` given the fit
    /// (what the tutorial measures besides the test set after every epoch), with Burn's
    /// Learner, whose outcome ends with the report (summary.json, printed).
    pub fn train<M>(
        self,
        model: impl FnOnce(&C, &Device, Recurrence) -> M,
        adjust: impl FnOnce(&MnistRun<C>, &mut Fit<M>),
    ) -> Result<Trained<M>, RunError>
    where
        M: TaskModel<Batch = MnistBatch, Output = ClassificationOutput>,
    {
        let config = &self.config;
        let recurrence = self.session.recurrence;
        let model = self
            .session
            .init(|device| model(config, device, recurrence));
        let mut fit = self.fit(model, config.optimizer().init());
        adjust(&self, &mut fit);
        train_classifier(&self.session, fit)
    }
}

/// Trains an MNIST classifier with parsed flags: the run started with the configuration they
/// ask for ([`MnistRun::from_parsed`]), then [`MnistRun::train`].
pub fn train_mnist_classifier<T, M>(
    experiment: &'static str,
    parsed: Parsed<T>,
    console: &Console,
    model: impl FnOnce(&T::Config, &Device, Recurrence) -> M,
    adjust: impl FnOnce(&MnistRun<T::Config>, &mut Fit<M>),
) -> Result<Trained<M>, RunError>
where
    T: MnistCli,
    T::Config: MnistConfig,
    M: TaskModel<Batch = MnistBatch, Output = ClassificationOutput>,
{
    MnistRun::from_parsed(experiment, &parsed, console)?.train(model, adjust)
}
