//! Training with Burn's `SupervisedTraining` Learner, set up the same way for every experiment:
//! metrics, dashboard or plain renderer, checkpoints and resume, the per-epoch CSV and plots,
//! the non-finite-loss guard, the final model and `summary.json`.

use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::train::metric::store::EventStoreClient;
use burn::train::metric::{
    AccuracyMetric, CpuMemory, CpuUse, IterationSpeedMetric, LearningRateMetric, LossMetric,
};
use burn::train::renderer::{MetricsRenderer, default_renderer};
use burn::train::{
    ClassificationOutput, EarlyStoppingStrategy, ExecutionStrategy, Learner, MultiDeviceOptim,
    RegressionOutput, SupervisedTraining, TrainingStrategy,
};
use serde::{Deserialize, Serialize};

use crate::cli::run_error::RunError;
use crate::learn::task::{TaskModel, Trainer};
use crate::learn::training_config::{ClipScope, TrainingConfig};
use crate::report::epoch_record::{EpochRecord, TaskKind};
use crate::report::metrics_recorder::Recorder;
use crate::report::parameter_list::{ParamTensor, parameter_table, parameter_tensors};
use crate::report::plain_renderer::{PlainRenderer, fmt_duration};
use crate::run::checkpoint::AtomicFileCheckpointer;
use crate::run::run_log::RunLog;
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

/// `summary.json`: the final figures of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Experiment name.
    pub experiment: String,
    /// Whether all configured epochs ran.
    pub completed: bool,
    /// Epochs completed.
    pub epochs: usize,
    /// Epochs configured.
    pub epochs_configured: usize,
    /// `--backend`.
    pub backend: String,
    /// `--seed`.
    pub seed: u64,
    /// Test accuracy (fraction) after the last epoch (classification).
    pub test_accuracy: Option<f64>,
    /// Test loss after the last epoch.
    pub test_loss: Option<f64>,
    /// Test mean squared error after the last epoch (regression).
    pub test_mse: Option<f64>,
    /// Training accuracy of the last epoch (classification).
    pub train_accuracy: Option<f64>,
    /// Training loss of the last epoch.
    pub train_loss: Option<f64>,
    /// Test accuracy before training (epoch 0), when it was measured.
    pub initial_test_accuracy: Option<f64>,
    /// Accuracy of the final model over the whole training set in evaluation mode, when the
    /// experiment measures it (as the elman-mnist tutorial does after training).
    #[serde(default)]
    pub train_set_accuracy: Option<f64>,
    /// Trainable parameters (scalars) of the model.
    #[serde(default)]
    pub parameters: usize,
    /// Every parameter tensor: name, shape, count.
    #[serde(default)]
    pub parameter_tensors: Vec<ParamTensor>,
    /// Wall time of this invocation (from start to summary).
    pub wall_seconds: f64,
    /// Training-pass time summed over all epochs (all sessions of a resumed run).
    pub train_seconds: f64,
    /// Test-pass time summed over all epochs.
    pub test_seconds: f64,
    /// Mean (train + test) time per epoch.
    pub seconds_per_epoch: Option<f64>,
    /// Training samples processed per second of training-pass time.
    pub train_samples_per_second: Option<f64>,
    /// The checkpoint epoch this invocation resumed from.
    pub resumed_from_epoch: Option<usize>,
    /// The run directory.
    pub run_dir: String,
}

impl Summary {
    fn from_records(
        session: &Session,
        kind: TaskKind,
        epochs: usize,
        records: &[EpochRecord],
        tensors: Vec<ParamTensor>,
    ) -> Self {
        let trained: Vec<&EpochRecord> = records.iter().filter(|r| r.epoch > 0).collect();
        let last = trained.last();
        let train_seconds: f64 = trained.iter().filter_map(|r| r.train_seconds).sum();
        let test_seconds: f64 = trained.iter().filter_map(|r| r.test_seconds).sum();
        let samples: usize = trained
            .iter()
            .filter(|r| r.train_seconds.is_some())
            .filter_map(|r| r.train_samples)
            .sum();
        let done = last.map_or(0, |r| r.epoch);
        let classification = kind == TaskKind::Classification;
        Summary {
            experiment: session.experiment.to_string(),
            completed: done >= epochs,
            epochs: done,
            epochs_configured: epochs,
            backend: session.backend.to_string(),
            seed: session.seed,
            test_accuracy: last
                .and_then(|r| r.test_accuracy)
                .filter(|_| classification),
            test_loss: last.and_then(|r| r.test_loss),
            test_mse: last.and_then(|r| r.test_loss).filter(|_| !classification),
            train_accuracy: last
                .and_then(|r| r.train_accuracy)
                .filter(|_| classification),
            train_loss: last.and_then(|r| r.train_loss),
            initial_test_accuracy: records
                .iter()
                .find(|r| r.epoch == 0)
                .and_then(|r| r.test_accuracy),
            train_set_accuracy: None,
            parameters: tensors.iter().map(|t| t.count).sum(),
            parameter_tensors: tensors,
            wall_seconds: session.elapsed_seconds(),
            train_seconds,
            test_seconds,
            seconds_per_epoch: (!trained.is_empty())
                .then(|| (train_seconds + test_seconds) / trained.len() as f64),
            train_samples_per_second: (train_seconds > 0.0).then(|| samples as f64 / train_seconds),
            resumed_from_epoch: session.resume_from,
            run_dir: session.run_dir.path().display().to_string(),
        }
    }
}

/// Stops training after a given epoch (after its checkpoint is written), for
/// `--stop-after-epoch`.
#[derive(Clone)]
struct StopAfterEpoch(usize);

impl EarlyStoppingStrategy for StopAfterEpoch {
    fn should_stop(&mut self, epoch: usize, _store: &EventStoreClient) -> bool {
        epoch >= self.0
    }
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

/// Burn's Learner over `fit`; `after_training` adds to the summary of a completed run before
/// it is written.
fn run_learner<M>(
    session: &Session,
    fit: Fit<M>,
    kind: TaskKind,
    initial: Option<EpochRecord>,
    register: impl FnOnce(SupervisedTraining<Trainer<M>>) -> SupervisedTraining<Trainer<M>>,
    after_training: impl FnOnce(&M, &mut Summary) -> Result<(), RunError>,
) -> Result<Outcome<M>, RunError>
where
    M: TaskModel,
{
    let dir = session.run_dir.path().to_path_buf();
    let epochs = fit.epochs;
    let mut strategy = fit.strategy;
    if session.devices.len() > 1 {
        if strategy.is_some() {
            return Err(RunError::usage(
                "--devices above 1 does not combine with this experiment's own training loop \
                 (truncated BPTT runs on one device)",
                Some("drop --devices".into()),
            ));
        }
        // Burn's data-parallel strategy: a worker per device on its share of each epoch's
        // batches, gradients summed and the optimiser stepped on the first device.
        let devices = session
            .devices
            .iter()
            .map(|d| d.clone().autodiff())
            .collect();
        strategy = Some(TrainingStrategy::Default(ExecutionStrategy::MultiDevice(
            devices,
            MultiDeviceOptim::OptimMainDevice,
        )));
    }
    let tensors = parameter_tensors(&fit.model);
    for line in parameter_table(&tensors) {
        session.console.line(line);
    }
    let mut trainer = Trainer::new(fit.model, fit.clip_norm, fit.clip_scope);
    if let Some(epoch) = session.resume_from {
        // Burn's own loading panics on a bad file; check it here to report it properly.
        let path = session.run_dir.checkpoint_model_path(epoch);
        trainer = trainer.try_load_file(&path).map_err(|e| RunError::Resume {
            dir: dir.clone(),
            message: format!("its checkpoint {} cannot be loaded: {e}", path.display()),
            hint: Some("start the run again without --resume".into()),
        })?;
    }

    let mut builder = SupervisedTraining::new(&dir, fit.train, fit.test).num_epochs(epochs);
    builder = register(builder)
        .metric_train_numeric(LearningRateMetric::new())
        .metric_train_numeric(IterationSpeedMetric::new())
        .metric_train_numeric(CpuUse::new())
        .metric_train_numeric(CpuMemory::new());
    if let Some(epoch) = session.resume_from {
        builder = builder.checkpoint(epoch);
    }
    if let Some(epoch) = session.stop_after_epoch {
        builder = builder.early_stopping(StopAfterEpoch(epoch));
    }
    if let Some(strategy) = strategy {
        builder = builder.with_training_strategy(strategy);
    }
    let interrupter = builder.interrupter();
    let mut previous = session.previous.clone();
    previous.extend(initial);
    let recorder = Recorder::new(
        dir.clone(),
        session.experiment,
        kind,
        previous,
        interrupter.clone(),
    );
    recorder.write_files();
    if let Some(e) = recorder.write_error() {
        return Err(RunError::RunFiles { message: e, dir });
    }
    let use_tui = !session.plain && session.console.is_terminal() && session.console.is_stdio();
    let renderer: Box<dyn MetricsRenderer> = if use_tui {
        default_renderer(interrupter.clone(), session.resume_from)
    } else {
        Box::new(PlainRenderer::new(session.console.clone()))
    };
    // Checkpoints written atomically, with checksums; the model's waits for its epoch's
    // metrics row, so that no checkpoint exists without its row in metrics.csv.
    let checkpoints = session.run_dir.checkpoint_dir();
    let checkpointer = |name| AtomicFileCheckpointer::new(checkpoints.clone(), name);
    let builder = builder
        .with_custom_checkpointers(
            checkpointer("model").after_metrics_of(recorder.clone()),
            checkpointer("optim"),
            checkpointer("scheduler"),
        )
        .with_metric_logger(recorder.metric_logger())
        .with_progress_logger(recorder.progress_logger())
        .with_application_logger(None)
        .renderer(renderer);
    // The run's own experiment.log instead of Burn's logger, which binds the first run of a
    // process for good (see run_log). A run goes on without it rather than stop for a log.
    let _log = RunLog::open(&dir.join("experiment.log"))
        .map_err(|e| {
            session
                .console
                .line(format!("warning: no experiment.log: {e}"))
        })
        .ok();

    let result = builder.launch(Learner::new(trainer, fit.optimizer, fit.lr));
    // Closing the dashboard returns the terminal to its main screen: do it before printing.
    let burn::train::LearningResult {
        model: result_model,
        renderer,
        interrupted,
        error,
    } = result;
    drop(renderer);
    recorder.write_files();
    let records = recorder.records();

    if let Some(nf) = recorder.non_finite() {
        return Err(RunError::NonFiniteLoss {
            epoch: nf.epoch,
            iteration: nf.iteration,
            value: nf.value,
            dir,
        });
    }
    // A failed write of the run's own files, or of a checkpoint (Burn stops with the
    // checkpointer's error, which names the file), is an error about the run's files, not an
    // interruption.
    let files_error = |message: String| RunError::RunFiles {
        message,
        dir: dir.clone(),
    };
    if let Some(e) = recorder.write_error() {
        return Err(files_error(e));
    }
    if let Some(error) = error {
        let message = error.to_string();
        if matches!(*error, burn::train::TrainingError::Checkpoint(_)) {
            return Err(files_error(message));
        }
        return Err(RunError::Training(message));
    }

    let model = result_model.model;
    let model_path = session.run_dir.model_path();
    crate::run::atomic::produce(&model_path, |at| {
        model
            .clone()
            .save_file(at)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(|e| RunError::io("write", &model_path, e))?;
    let mut summary = Summary::from_records(session, kind, epochs, &records, tensors);
    if summary.completed {
        after_training(&model, &mut summary)?;
    }
    let path = session.run_dir.summary_path();
    let text =
        serde_json::to_string_pretty(&summary).map_err(|e| RunError::Internal(e.to_string()))?;
    crate::run::atomic::write(&path, (text + "\n").as_bytes())
        .map_err(|e| RunError::io("write", &path, e))?;
    report(session, &summary);

    if !summary.completed {
        let reason = match interrupted {
            Some(i) => i
                .reason
                .unwrap_or_else(|| "stopped from the dashboard".into()),
            None => "--stop-after-epoch".into(),
        };
        return Err(RunError::Stopped {
            epoch: summary.epochs,
            epochs,
            reason,
            dir,
        });
    }
    Ok(Outcome {
        model,
        records,
        summary,
    })
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

fn report(session: &Session, s: &Summary) {
    let result = match (s.test_accuracy, s.test_mse) {
        (Some(acc), _) => format!("test accuracy {:.2} %", acc * 100.0),
        (None, Some(mse)) => format!("test MSE {mse:.4}"),
        _ => "no test result".into(),
    };
    let speed = s
        .train_samples_per_second
        .map(|v| format!(", {v:.0} train samples/s"))
        .unwrap_or_default();
    let per_epoch = s
        .seconds_per_epoch
        .map(|v| format!(", {} per epoch", fmt_duration(v)))
        .unwrap_or_default();
    session.console.line(format!(
        "{}: {} after {} of {} epochs on {} ({} wall{per_epoch}{speed})",
        s.experiment,
        result,
        s.epochs,
        s.epochs_configured,
        s.backend,
        fmt_duration(s.wall_seconds)
    ));
    session.console.line(format!(
        "run directory: {} (metrics.csv, loss.png{}, summary.json, model.bpk)",
        s.run_dir,
        if s.test_accuracy.is_some() {
            ", accuracy.png"
        } else {
            ""
        }
    ));
}
