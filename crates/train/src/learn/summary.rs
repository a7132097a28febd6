//! `summary.json`, the final figures of a run ([`Summary`]), and the lines that report them on
//! the console when the run ends.

use serde::{Deserialize, Serialize};

use crate::report::epoch_record::{EpochRecord, TaskKind};
use crate::report::parameter_list::ParamTensor;
use crate::report::plain_renderer::fmt_duration;
use crate::run::session::Session;

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
    pub(crate) fn from_records(
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

/// The closing lines of a run: its result, speed and run directory.
pub(crate) fn report(session: &Session, s: &Summary) {
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
