//! Training with Burn's `SupervisedTraining` Learner, set up the same way for every experiment
//! ([`crate::learn::learner`]): a classifier's ([`train_classifier`]) and a regressor's
//! ([`train_regressor`]) metrics, and the evaluation before and after training.

use burn::data::dataloader::DataLoader;
use burn::prelude::*;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{ClassificationOutput, RegressionOutput, SupervisedTraining};

use crate::base::error::RunError;
use crate::learn::fit::{Fit, Trained};
use crate::learn::learner::run_learner;
use crate::learn::summary::Summary;
use crate::learn::task::{TaskModel, Trainer};
use crate::report::epoch_record::{EpochRecord, TaskKind};
use crate::run::session::Session;

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
pub fn train_classifier<M>(session: &Session, mut fit: Fit<M>) -> Result<Trained<M>, RunError>
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
pub fn train_regressor<M>(session: &Session, fit: Fit<M>) -> Result<Trained<M>, RunError>
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
