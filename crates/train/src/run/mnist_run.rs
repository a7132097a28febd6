//! The path every MNIST classifier takes: the checks that need no data, both splits read (or
//! downloaded), the run started, the loaders of the experiment's sequence view
//! ([`MnistRun`]), then the model, the fit and Burn's Learner ([`train_mnist_classifier`]).
//! An experiment adds only its model and what its tutorial measures besides.

use std::collections::BTreeSet;
use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::optim::ModuleOptimizer;
use rnn_data::{Mnist, MnistBatch, MnistSequenceBatcher, MnistSequences, MnistSplit};
use rnn_models::Implementation;

use burn::tensor::Device;
use burn::train::ClassificationOutput;

use crate::cli::args::CommonArgs;
use crate::cli::entry::{ExperimentCli, Parsed};
use crate::cli::run_error::RunError;
use crate::learn::fit::Fit;
use crate::learn::fit::{Outcome, train_classifier};
use crate::learn::optimizer::OptimizerConfig;
use crate::learn::task::TaskModel;
use crate::report::console::Console;
use crate::run::session::{ExperimentConfig, Session};

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
    pub fn start(
        experiment: &'static str,
        common: &CommonArgs,
        requested: C,
        explicit: &BTreeSet<String>,
        console: &Console,
        batcher: impl FnOnce(&C) -> MnistSequenceBatcher,
    ) -> Result<Self, RunError> {
        Session::preflight(experiment, common, &requested)?;
        let train_images = common.load_mnist(MnistSplit::Train)?;
        let test_images = common.load_mnist(MnistSplit::Test)?;
        let (session, config) = Session::start(experiment, common, requested, explicit, console)?;
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

/// What the shared MNIST path needs from a classifier experiment's configuration.
pub trait MnistConfig: ExperimentConfig {
    /// How an image becomes a sequence, with its pixel scaling.
    fn batcher(&self) -> MnistSequenceBatcher;
    /// The optimiser.
    fn optimizer(&self) -> &OptimizerConfig;
}

/// Trains an MNIST classifier with parsed flags: the run started with the configuration they
/// ask for ([`MnistRun::start`]), the network `model` makes on the run's device with the
/// run's recurrence (`--recurrence`, which it must give every recurrent module), `adjust`
/// given the fit (what the tutorial measures besides the test set after every epoch), and
/// Burn's Learner, whose outcome ends with the report (summary.json, printed).
pub fn train_mnist_classifier<T, M>(
    experiment: &'static str,
    parsed: Parsed<T>,
    console: &Console,
    model: impl FnOnce(&T::Config, &Device, Implementation) -> M,
    adjust: impl FnOnce(&MnistRun<T::Config>, &mut Fit<M>),
) -> Result<Outcome<M>, RunError>
where
    T: ExperimentCli,
    T::Config: MnistConfig,
    M: TaskModel<Batch = MnistBatch, Output = ClassificationOutput>,
{
    let requested = parsed.config();
    let common = parsed.args.common();
    let mnist = MnistRun::start(
        experiment,
        common,
        requested,
        &parsed.explicit,
        console,
        T::Config::batcher,
    )?;
    let config = &mnist.config;
    let recurrence = mnist.session.recurrence;
    let model = mnist
        .session
        .init(|device| model(config, device, recurrence));
    let mut fit = mnist.fit(model, config.optimizer().init());
    adjust(&mnist, &mut fit);
    train_classifier(&mnist.session, fit)
}
