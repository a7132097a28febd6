//! Burn's `SupervisedTraining` Learner, set up and launched the same way for every experiment:
//! metrics, dashboard or plain renderer, checkpoints and resume, the per-epoch CSV and plots,
//! the non-finite-loss guard, then the final model and `summary.json`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::Module;
use burn::train::metric::store::EventStoreClient;
use burn::train::metric::{CpuMemory, CpuUse, IterationSpeedMetric, LearningRateMetric};
use burn::train::renderer::{MetricsRenderer, default_renderer};
use burn::train::{
    EarlyStoppingStrategy, ExecutionStrategy, Interrupter, Interruption, Learner, LearningResult,
    MultiDeviceOptim, SupervisedTraining, TrainingError, TrainingStrategy,
};

use crate::base::error::RunError;
use crate::learn::fit::{Fit, Trained};
use crate::learn::summary::{Summary, report};
use crate::learn::task::{TaskModel, Trainer};
use crate::report::epoch_record::{EpochRecord, TaskKind};
use crate::report::metrics_recorder::Recorder;
use crate::report::parameter_list::{parameter_table, parameter_tensors};
use crate::report::plain_renderer::PlainRenderer;
use crate::run::checkpoint::AtomicFileCheckpointer;
use crate::run::run_log::RunLog;
use crate::run::session::Session;

/// Burn's Learner over `fit`; `after_training` adds to the summary of a completed run before
/// it is written.
pub(crate) fn run_learner<M>(
    session: &Session,
    fit: Fit<M>,
    kind: TaskKind,
    initial: Option<EpochRecord>,
    register: impl FnOnce(SupervisedTraining<Trainer<M>>) -> SupervisedTraining<Trainer<M>>,
    after_training: impl FnOnce(&M, &mut Summary) -> Result<(), RunError>,
) -> Result<Trained<M>, RunError>
where
    M: TaskModel,
{
    let dir = session.run_dir.path().to_path_buf();
    let epochs = fit.epochs;
    let strategy = training_strategy(session, fit.strategy)?;
    let tensors = parameter_tensors(&fit.model);
    for line in parameter_table(&tensors) {
        session.console.line(line);
    }
    let trainer = Trainer::new(fit.model, fit.clip_norm, fit.clip_scope);
    let trainer = resumed_trainer(session, &dir, trainer)?;

    let builder = SupervisedTraining::new(&dir, fit.train, fit.test).num_epochs(epochs);
    let builder = with_run_settings(register(builder), session, strategy);
    let interrupter = builder.interrupter();
    let recorder = start_recorder(session, &dir, kind, initial, interrupter.clone())?;
    let builder = with_run_outputs(builder, session, &recorder, interrupter);
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
    let LearningResult {
        model: result_model,
        renderer,
        interrupted,
        error,
    } = result;
    drop(renderer);
    recorder.write_files();
    let records = recorder.records();
    check_training_ended_cleanly(&recorder, error, &dir)?;

    let model = result_model.model;
    save_model(session, &model)?;
    let mut summary = Summary::from_records(session, kind, epochs, &records, tensors);
    if summary.completed {
        after_training(&model, &mut summary)?;
    }
    write_summary(session, &summary)?;
    report(session, &summary);

    if !summary.completed {
        return Err(stopped(&summary, epochs, interrupted, dir));
    }
    Ok(Trained {
        model,
        records,
        summary,
    })
}

/// The training strategy: the experiment's own loop (`strategy`), or with `--devices` above 1
/// Burn's data-parallel one; `None` for Burn's default loop on one device.
fn training_strategy<M: TaskModel>(
    session: &Session,
    strategy: Option<TrainingStrategy<Trainer<M>>>,
) -> Result<Option<TrainingStrategy<Trainer<M>>>, RunError> {
    if session.devices.len() <= 1 {
        return Ok(strategy);
    }
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
    Ok(Some(TrainingStrategy::Default(
        ExecutionStrategy::MultiDevice(devices, MultiDeviceOptim::OptimMainDevice),
    )))
}

/// `trainer` with the weights of the checkpoint a resumed run continues from.
fn resumed_trainer<M: TaskModel>(
    session: &Session,
    dir: &Path,
    trainer: Trainer<M>,
) -> Result<Trainer<M>, RunError> {
    let Some(epoch) = session.resume_from else {
        return Ok(trainer);
    };
    // Burn's own loading panics on a bad file; check it here to report it properly.
    let path = session.run_dir.checkpoint_model_path(epoch);
    trainer.try_load_file(&path).map_err(|e| RunError::Resume {
        dir: dir.to_path_buf(),
        message: format!("its checkpoint {} cannot be loaded: {e}", path.display()),
        hint: Some("start the run again without --resume".into()),
    })
}

/// The metrics every run records beside the experiment's own, and the session's resume
/// point, `--stop-after-epoch` and training strategy.
fn with_run_settings<M: TaskModel>(
    builder: SupervisedTraining<Trainer<M>>,
    session: &Session,
    strategy: Option<TrainingStrategy<Trainer<M>>>,
) -> SupervisedTraining<Trainer<M>> {
    let mut builder = builder
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
    builder
}

/// The run's [`Recorder`], starting from the epochs of earlier sessions and `initial` (the
/// evaluation before training), with its files written at once.
fn start_recorder(
    session: &Session,
    dir: &Path,
    kind: TaskKind,
    initial: Option<EpochRecord>,
    interrupter: Interrupter,
) -> Result<Recorder, RunError> {
    let mut previous = session.previous.clone();
    previous.extend(initial);
    let recorder = Recorder::new(
        dir.to_path_buf(),
        session.experiment,
        kind,
        previous,
        interrupter,
    );
    recorder.write_files();
    if let Some(e) = recorder.write_error() {
        return Err(RunError::RunFiles {
            message: e,
            dir: dir.to_path_buf(),
        });
    }
    Ok(recorder)
}

/// Where the run's progress, metrics and checkpoints go: the dashboard or the plain renderer,
/// the recorder, and the atomic checkpointers.
fn with_run_outputs<M: TaskModel>(
    builder: SupervisedTraining<Trainer<M>>,
    session: &Session,
    recorder: &Recorder,
    interrupter: Interrupter,
) -> SupervisedTraining<Trainer<M>> {
    let use_tui = !session.plain && session.console.is_terminal() && session.console.is_stdio();
    let renderer: Box<dyn MetricsRenderer> = if use_tui {
        default_renderer(interrupter, session.resume_from)
    } else {
        Box::new(PlainRenderer::new(session.console.clone()))
    };
    // Checkpoints written atomically, with checksums; the model's waits for its epoch's
    // metrics row, so that no checkpoint exists without its row in metrics.csv.
    let checkpoints = session.run_dir.checkpoint_dir();
    let checkpointer = |name| AtomicFileCheckpointer::new(checkpoints.clone(), name);
    builder
        .with_custom_checkpointers(
            checkpointer("model").after_metrics_of(recorder.clone()),
            checkpointer("optim"),
            checkpointer("scheduler"),
        )
        .with_metric_logger(recorder.metric_logger())
        .with_progress_logger(recorder.progress_logger())
        .with_application_logger(None)
        .renderer(renderer)
}

/// The error that ended training, if any: a non-finite loss, a failed write of the run's
/// files, or Burn's.
fn check_training_ended_cleanly(
    recorder: &Recorder,
    error: Option<Arc<TrainingError>>,
    dir: &Path,
) -> Result<(), RunError> {
    if let Some(nf) = recorder.non_finite() {
        return Err(RunError::NonFiniteLoss {
            epoch: nf.epoch,
            iteration: nf.iteration,
            value: nf.value,
            dir: dir.to_path_buf(),
        });
    }
    // A failed write of the run's own files, or of a checkpoint (Burn stops with the
    // checkpointer's error, which names the file), is an error about the run's files, not an
    // interruption.
    let files_error = |message: String| RunError::RunFiles {
        message,
        dir: dir.to_path_buf(),
    };
    if let Some(e) = recorder.write_error() {
        return Err(files_error(e));
    }
    if let Some(error) = error {
        let message = error.to_string();
        if matches!(*error, TrainingError::Checkpoint(_)) {
            return Err(files_error(message));
        }
        return Err(RunError::Training(message));
    }
    Ok(())
}

/// Writes the trained `model` to the run's `model.bpk`.
fn save_model<M: TaskModel>(session: &Session, model: &M) -> Result<(), RunError> {
    let model_path = session.run_dir.model_path();
    crate::base::atomic::produce(&model_path, |at| {
        model
            .clone()
            .save_file(at)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(|e| RunError::io("write", &model_path, e))
}

/// Writes `summary.json`.
fn write_summary(session: &Session, summary: &Summary) -> Result<(), RunError> {
    let path = session.run_dir.summary_path();
    let text =
        serde_json::to_string_pretty(summary).map_err(|e| RunError::Internal(e.to_string()))?;
    crate::base::atomic::write(&path, (text + "\n").as_bytes())
        .map_err(|e| RunError::io("write", &path, e))
}

/// The error of a run that stopped before its last epoch: from the dashboard (or another
/// interruption, with its reason), or by `--stop-after-epoch`.
fn stopped(
    summary: &Summary,
    epochs: usize,
    interrupted: Option<Interruption>,
    dir: PathBuf,
) -> RunError {
    let reason = match interrupted {
        Some(i) => i
            .reason
            .unwrap_or_else(|| "stopped from the dashboard".into()),
        None => "--stop-after-epoch".into(),
    };
    RunError::Stopped {
        epoch: summary.epochs,
        epochs,
        reason,
        dir,
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
