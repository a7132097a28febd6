//! Training with Burn's `SupervisedTraining` Learner, set up the same way for every experiment
//! ([`crate::learn::learner_run`]): what a fit needs ([`Fit`]), the classifier's and the
//! regressor's metrics, the evaluation before and after training, and what a finished run
//! returns ([`Outcome`]).

use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{ClassificationOutput, RegressionOutput, SupervisedTraining, TrainingStrategy};

use crate::cli::run_error::RunError;
use crate::learn::learner_run::run_learner;
use crate::learn::task::{TaskModel, Trainer};
use crate::learn::training_config::{ClipScope, TrainingConfig};
use crate::report::epoch_record::{EpochRecord, TaskKind};
use crate::report::summary::Summary;
use crate::run::session::Session;

/// Everything [`train_classifier`] / [`train_regressor`] need besides the session.
pub struct Fit<M: TaskModel> {
    /// The freshly initialised model (from [`Session::init`], on the training device); for a
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
    /// Training batches (see [`Session::loaders`]).
    pub train: Arc<dyn DataLoader<M::Batch>>,
    /// Test batches, evaluated after every epoch.
    pub test: Arc<dyn DataLoader<M::Batch>>,
    /// Evaluate on the test set before training and record it as epoch 0 (as the lstm-mnist
    /// tutorial does).
    pub evaluate_before_training: bool,
    /// After training, evaluate the final model on these batches (the whole training set in
    /// order, from [`Session::in_order`]) and report it as `train_set_accuracy`.
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
pub struct Outcome<M> {
    /// The trained model (on the session's device, without autodiff).
    pub model: M,
    /// Every epoch's metrics, including those of earlier sessions of a resumed run.
    pub records: Vec<EpochRecord>,
    /// What `summary.json` holds.
    pub summary: Summary,
}

/// Test loss and accuracy (fraction) of `model` over `loader`, each batch weighted by its size.
pub fn evaluate_classifier<M>(
    model: &M,
    loader: &dyn DataLoader<M::Batch>,
) -> Result<(f64, f64), RunError>
where
    M: TaskModel<Output = ClassificationOutput>,
{
    let (mut loss, mut correct, mut n) = (0.0, 0.0, 0usize);
    for batch in loader.iter() {
        let batch = batch.map_err(|e| RunError::Training(format!("reading the test set: {e}")))?;
        let out = model.forward_step(batch);
        let [b, _] = out.output.dims();
        let read = |t: Tensor<1>| t.into_scalar::<f64>();
        loss += read(out.loss.clone()) * b as f64;
        let predicted = out.output.argmax(1).reshape([b]);
        correct += predicted
            .equal(out.targets)
            .int()
            .sum()
            .into_scalar::<f64>();
        n += b;
    }
    if n == 0 {
        return Err(RunError::usage("the test set is empty", None));
    }
    Ok((loss / n as f64, correct / n as f64))
}

/// Trains a classifier: metrics loss, accuracy (train and test), learning rate, iteration
/// speed, CPU use and memory (train).
pub fn train_classifier<M>(session: &Session, mut fit: Fit<M>) -> Result<Outcome<M>, RunError>
where
    M: TaskModel<Output = ClassificationOutput>,
{
    announce(session, fit.epochs);
    let mut initial = None;
    if fit.evaluate_before_training && session.resume_from.is_none() {
        let started = std::time::Instant::now();
        let (loss, accuracy) = evaluate_classifier(&fit.model.valid(), fit.test.as_ref())?;
        session.console.line(format!(
            "before training: test loss {loss:.4}  accuracy {:.2} %",
            accuracy * 100.0
        ));
        initial = Some(EpochRecord {
            epoch: 0,
            test_loss: Some(loss),
            test_accuracy: Some(accuracy),
            test_seconds: Some(started.elapsed().as_secs_f64()),
            ..Default::default()
        });
    }
    let train_set = fit.evaluate_train_set.take();
    let after_training = |model: &M, summary: &mut Summary| {
        if let Some(loader) = train_set {
            let (loss, accuracy) = evaluate_classifier(model, loader.as_ref())?;
            session.console.line(format!(
                "after training: training-set loss {loss:.4}  accuracy {:.2} % ({} images, \
                 evaluation mode)",
                accuracy * 100.0,
                loader.num_items()
            ));
            summary.train_set_accuracy = Some(accuracy);
        }
        Ok(())
    };
    let register =
        |b: SupervisedTraining<Trainer<M>>| b.metrics((AccuracyMetric::new(), LossMetric::new()));
    run_learner(
        session,
        fit,
        TaskKind::Classification,
        initial,
        register,
        after_training,
    )
}

/// Trains a regressor: metric loss (the MSE, train and test), learning rate, iteration
/// speed, CPU use and memory (train).
pub fn train_regressor<M>(session: &Session, fit: Fit<M>) -> Result<Outcome<M>, RunError>
where
    M: TaskModel<Output = RegressionOutput>,
{
    announce(session, fit.epochs);
    let register = |b: SupervisedTraining<Trainer<M>>| b.metrics((LossMetric::new(),));
    run_learner(
        session,
        fit,
        TaskKind::Regression,
        None,
        register,
        |_, _| Ok(()),
    )
}

fn announce(session: &Session, epochs: usize) {
    let first = session.resume_from.map_or(1, |e| e + 1);
    session.console.line(format!(
        "{}: epochs {first}..={epochs} on {}, run directory {}",
        session.experiment,
        session.backend,
        session.run_dir.path().display()
    ));
}
