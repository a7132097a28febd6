//! Training with Burn's `SupervisedTraining` Learner, set up the same way for every experiment
//! ([`crate::learn::learner`]): what a fit needs ([`Fit`]), the classifier's and the
//! regressor's metrics, the evaluation before and after training, and what a finished run
//! returns ([`Trained`]).

use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::optim::ModuleOptimizer;
use burn::train::TrainingStrategy;

use crate::config::training::{ClipScope, TrainingConfig};
use crate::learn::summary::Summary;
use crate::learn::task::{TaskModel, Trainer};
use crate::report::epoch_record::EpochRecord;

/// Everything [`crate::train_classifier`] / [`crate::train_regressor`] need besides the session.
pub struct Fit<M: TaskModel> {
    /// The freshly initialised model (from [`crate::Session::init`], on the training device); for a
    /// resumed run its weights are replaced by the checkpoint's.
    pub model: M,
    /// The optimiser (e.g. [`crate::OptimizerConfig::init`]).
    pub optimizer: ModuleOptimizer,
    /// Constant learning rate.
    pub lr: f64,
    /// Total epochs of the run.
    pub epochs: usize,
    /// Gradient-norm clipping threshold.
    pub clip_norm: Option<f64>,
    /// Whether `clip_norm` bounds all parameters together or each layer.
    pub clip_scope: ClipScope,
    /// Training batches (see [`crate::Session::loaders`]).
    pub train: Arc<dyn DataLoader<M::Batch>>,
    /// Test batches, evaluated after every epoch.
    pub test: Arc<dyn DataLoader<M::Batch>>,
    /// Evaluate on the test set before training and record it as epoch 0 (as the lstm-mnist
    /// tutorial does).
    pub evaluate_before_training: bool,
    /// After training, evaluate the final model on these batches (the whole training set in
    /// order, from [`crate::Session::in_order`]) and report it as `train_set_accuracy`.
    pub evaluate_train_set: Option<Arc<dyn DataLoader<M::Batch>>>,
    /// A custom training loop (e.g. truncated BPTT) instead of Burn's default one.
    pub strategy: Option<TrainingStrategy<Trainer<M>>>,
}

impl<M: TaskModel> Fit<M> {
    /// A fit of `training`'s epochs, learning rate and clipping; no evaluation before or
    /// after training, Burn's loop.
    pub fn new(
        model: M,
        optimizer: ModuleOptimizer,
        training: &TrainingConfig,
        train: Arc<dyn DataLoader<M::Batch>>,
        test: Arc<dyn DataLoader<M::Batch>>,
    ) -> Self {
        Fit {
            model,
            optimizer,
            lr: training.lr,
            epochs: training.epochs,
            clip_norm: training.clip_norm,
            clip_scope: training.clip_scope,
            train,
            test,
            evaluate_before_training: false,
            evaluate_train_set: None,
            strategy: None,
        }
    }
}

/// The result of a run that finished.
pub struct Trained<M> {
    /// The trained model (on the session's device, without autodiff).
    pub model: M,
    /// Every epoch's metrics, including those of earlier sessions of a resumed run.
    pub records: Vec<EpochRecord>,
    /// What `summary.json` holds.
    pub summary: Summary,
}
