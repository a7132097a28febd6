//! Truncated backpropagation through time inside Burn's Learner.
//!
//! Burn's built-in training loop cannot carry a hidden state from one batch to the next (each
//! step is `TrainStep::step(&self, batch)` on a fresh clone of the model). [`TbpttStrategy`]
//! is a custom `SupervisedLearningStrategy` that does what Chainer's `BPTTUpdater` does:
//! for every window of `bprop_len` steps it runs the forward pass from the carried state,
//! takes one backward pass of the accumulated loss, updates the parameters, and keeps the
//! final state — detached, so the next window's graph starts there — for the next window.
//! Validation runs on its own state, reset at the start of every evaluation (Chainer's
//! `eval_hook=lambda _: eval_model.reset_state()`). Everything else is Burn's: the events
//! feed the dashboard or the plain log, the metrics, the checkpointer and early stopping.
//!
//! Burn's checkpoints hold the model, optimiser and scheduler. A resumed run also needs the
//! stream position and the carried state, so after every epoch the strategy writes
//! `checkpoint/tbptt-<epoch>.json` ([`TbpttSnapshot`]) next to them.
//!
//! Any [`StatefulModel`] over [`TbpttWindow`]s trains this way: [`tbptt_fit`] sets up the
//! loaders ([`TbpttLoader`]), the strategy and, for a resumed run, its snapshot.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::{DataLoaderIterator, Progress};
use burn::optim::GradientsParams;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::train::TrainingStrategy;
use burn::train::checkpoint::CheckpointerError;
use burn::train::{
    ClassificationOutput, EventProcessorTraining, Interrupter, Learner, LearnerEvent,
    SupervisedLearningStrategy, SupervisedTrainingEventProcessor, TrainLoader, TrainingComponents,
    TrainingError, TrainingItem, ValidLoader,
};
use rnn_data::{TbpttIterator, TbpttLoader, TbpttPosition, TbpttWindow};
use serde::{Deserialize, Serialize};

use crate::cli::run_error::RunError;
use crate::learn::clip::clip_global_norm;
use crate::learn::fit::Fit;
use crate::learn::task::{TaskModel, Trainer};
use crate::learn::training_config::TrainingConfig;
use crate::report::console::Console;
use crate::run::session::Session;

/// The recurrent state carried from one window to the next: the `[L, B, H]` tensors of the
/// model's stack (`h`, or `h` and `c` for an LSTM).
#[derive(Clone, Debug)]
pub struct CarriedState(pub Vec<Tensor<3>>);

impl CarriedState {
    /// Tensor `i` of the state.
    pub fn tensor(&self, i: usize) -> Tensor<3> {
        self.0[i].clone()
    }

    /// The same values cut from the autodiff graph: the next window backpropagates into
    /// them no further (and the graph of this window can be freed).
    pub fn detach(self) -> Self {
        CarriedState(self.0.into_iter().map(Tensor::detach).collect())
    }

    /// Whether any tensor still belongs to an autodiff graph.
    pub fn is_tracked(&self) -> bool {
        self.0.iter().any(Tensor::is_tracked)
    }

    fn save(&self) -> Result<Vec<SavedTensor>, String> {
        self.0
            .iter()
            .map(|t| {
                let values = t.to_data().convert::<f32>().try_to_vec::<f32>();
                Ok(SavedTensor {
                    shape: t.dims(),
                    values: values.map_err(|e| format!("{e:?}"))?,
                })
            })
            .collect()
    }

    fn load(saved: &[SavedTensor], device: &Device) -> Result<Self, String> {
        saved
            .iter()
            .map(|s| {
                if s.values.len() != s.shape.iter().product::<usize>() {
                    return Err(format!(
                        "a state tensor of shape {:?} holds {} values",
                        s.shape,
                        s.values.len()
                    ));
                }
                Ok(Tensor::from_data(
                    TensorData::new(s.values.clone(), s.shape),
                    device,
                ))
            })
            .collect::<Result<_, _>>()
            .map(CarriedState)
    }
}

/// A model that reads a stream window by window and carries its state between windows.
pub trait StatefulModel:
    burn::module::Module + burn::module::ModuleDisplay + Send + 'static
{
    /// The forward pass over one window from `state` (zeros when `None`): the per-token
    /// scores and targets with the per-token losses (`[tokens]`, averaged for the gradient),
    /// and the state after the window's last step.
    fn forward_window(
        &self,
        window: TbpttWindow,
        state: Option<CarriedState>,
    ) -> (ClassificationOutput, CarriedState);
}

/// Burn's Learner is typed by a one-batch step ([`TaskModel::forward_step`]), which
/// [`TbpttStrategy`] never calls: it goes through [`StatefulModel::forward_window`]. The step
/// is one window from a zero state, with the mean token loss.
impl<M: StatefulModel> TaskModel for M {
    type Batch = TbpttWindow;
    type Output = ClassificationOutput;

    fn forward_step(&self, window: TbpttWindow) -> ClassificationOutput {
        let output = self.forward_window(window, None).0;
        ClassificationOutput::new(output.loss.mean(), output.output, output.targets)
    }
}

/// What one training window produces.
pub struct WindowStep {
    /// Scores, targets and the mean loss of the window (for the metrics).
    pub output: ClassificationOutput,
    /// The parameters' gradients (clipped if the trainer clips).
    pub grads: GradientsParams,
    /// The final state, detached: the next window's initial state.
    pub state: CarriedState,
}

/// One truncated-BPTT update's forward and backward pass: `model` reads `window` from
/// `state`, and the gradient is that of `loss_scale` times the window's mean token loss.
///
/// Chainer's `BPTTUpdater` accumulates the loss of each of the `bprop_len` steps (each a mean
/// over the batch) and calls backward once, so its gradient is that of the *sum* over the
/// steps: `loss_scale = bprop_len` reproduces it.
pub fn train_window<M: StatefulModel>(
    model: &Trainer<M>,
    window: TbpttWindow,
    state: Option<CarriedState>,
    loss_scale: f64,
) -> WindowStep {
    let (output, state) = model.model.forward_window(window, state);
    let loss = output.loss.clone().mean() * loss_scale;
    let grads = GradientsParams::from_grads(loss.backward(), model);
    let grads = match model.clip_norm {
        Some(max_norm) => clip_global_norm(model, grads, max_norm).0,
        None => grads,
    };
    WindowStep {
        output,
        grads,
        state: state.detach(),
    }
}

/// A tensor in a snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedTensor {
    /// `[L, B, H]`.
    pub shape: [usize; 3],
    /// Row-major values.
    pub values: Vec<f32>,
}

/// What `checkpoint/tbptt-<epoch>.json` holds: where the training stream stands after the
/// epoch, the state carried into the next window, and the training time so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TbpttSnapshot {
    /// The epoch it was taken after.
    pub epoch: usize,
    /// The training iterator's position.
    pub position: TbpttPosition,
    /// The carried state (empty before the first window).
    pub state: Vec<SavedTensor>,
    /// Seconds of training (all sessions) up to this snapshot, for the elapsed-time column.
    pub elapsed_seconds: f64,
}

impl TbpttSnapshot {
    /// `<checkpoint dir>/tbptt-<epoch>.json`.
    pub fn path(checkpoint_dir: &Path, epoch: usize) -> PathBuf {
        checkpoint_dir.join(format!("tbptt-{epoch}.json"))
    }

    /// Reads the snapshot of `epoch`.
    pub fn read(checkpoint_dir: &Path, epoch: usize) -> Result<Self, String> {
        let path = Self::path(checkpoint_dir, epoch);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not readable: {e}", path.display()))
    }

    /// The carried state, on `device`.
    pub fn carried_state(&self, device: &Device) -> Result<Option<CarriedState>, String> {
        if self.state.is_empty() {
            return Ok(None);
        }
        CarriedState::load(&self.state, device).map(Some)
    }
}

/// Running loss and accuracy of a split, token-weighted (for the per-epoch table).
#[derive(Default)]
struct SplitTotals {
    loss: f64,
    correct: f64,
    tokens: f64,
}

impl SplitTotals {
    fn add(&mut self, output: &ClassificationOutput) {
        let [n, _] = output.output.dims();
        let loss = output.loss.clone().mean().into_scalar::<f64>();
        let predicted = output.output.clone().argmax(1).reshape([n]);
        let correct = predicted
            .equal(output.targets.clone())
            .int()
            .sum()
            .into_scalar::<f64>();
        self.loss += loss * n as f64;
        self.correct += correct;
        self.tokens += n as f64;
    }

    fn loss(&self) -> f64 {
        self.loss / self.tokens.max(1.0)
    }

    fn accuracy(&self) -> f64 {
        self.correct / self.tokens.max(1.0)
    }
}

/// The header of the per-epoch table Chainer's trainer prints (its `PrintReport` column
/// names). The rows hold the same figures as metrics.csv: loss and accuracy over every token
/// of the epoch's windows (Chainer's `main/*` columns keep only the last step of each update,
/// which is why the simple-sequence tutorial's training accuracy moves in steps of 1/23),
/// elapsed seconds of training.
pub const TABLE_HEADER: &str = "epoch       main/loss   validation/main/loss  main/accuracy  validation/main/accuracy  elapsed_time";

fn table_row(epoch: usize, train: &SplitTotals, valid: &SplitTotals, elapsed: f64) -> String {
    format!(
        "{:<11} {:<11.6} {:<21.6} {:<14.6} {:<25.6} {:.3}",
        epoch,
        train.loss(),
        valid.loss(),
        train.accuracy(),
        valid.accuracy(),
        elapsed
    )
}

/// The training loop (see the module docs).
pub struct TbpttStrategy<M> {
    /// The autodiff device training runs on.
    pub device: Device,
    /// The training stream, shared with the training loader (for its position).
    pub stream: Arc<Mutex<TbpttIterator>>,
    /// Where the snapshots go (the run's `checkpoint/` directory).
    pub checkpoint_dir: PathBuf,
    /// The state carried into the first window (from a resumed snapshot).
    pub initial_state: Option<CarriedState>,
    /// Training seconds before this session (from a resumed snapshot).
    pub elapsed_before: f64,
    /// Gradient of `loss_scale` times the mean window loss (see [`train_window`]).
    pub loss_scale: f64,
    /// Where to print the per-epoch table (plain mode only: never under the dashboard).
    pub table: Option<Console>,
    /// The model type.
    pub model: std::marker::PhantomData<fn() -> M>,
}

impl<M: StatefulModel> TbpttStrategy<M> {
    fn save_snapshot(
        &self,
        epoch: usize,
        state: Option<&CarriedState>,
        elapsed: f64,
    ) -> Result<(), std::io::Error> {
        let position = self
            .stream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .position();
        let snapshot = TbpttSnapshot {
            epoch,
            position,
            state: match state {
                Some(state) => state.save().map_err(std::io::Error::other)?,
                None => Vec::new(),
            },
            elapsed_seconds: elapsed,
        };
        std::fs::create_dir_all(&self.checkpoint_dir)?;
        let path = TbpttSnapshot::path(&self.checkpoint_dir, epoch);
        let text = serde_json::to_string(&snapshot).map_err(std::io::Error::other)?;
        // Written atomically: a snapshot is complete or absent.
        crate::run::atomic::write(&path, text.as_bytes())?;
        // Burn keeps the last two checkpoints and the best one; keep the snapshots that go
        // with them (those of earlier epochs whose model file is gone are dropped).
        if let Ok(entries) = std::fs::read_dir(&self.checkpoint_dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(e) = name
                    .strip_prefix("tbptt-")
                    .and_then(|n| n.strip_suffix(".json"))
                else {
                    continue;
                };
                let Ok(e) = e.parse::<usize>() else { continue };
                if e + 2 < epoch && !self.checkpoint_dir.join(format!("model-{e}.bpk")).exists() {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }
}

impl<M: StatefulModel> SupervisedLearningStrategy<Trainer<M>> for TbpttStrategy<M> {
    fn fit(
        &self,
        components: TrainingComponents<Trainer<M>>,
        mut learner: Learner<Trainer<M>>,
        dataloader_train: TrainLoader<Trainer<M>>,
        dataloader_valid: ValidLoader<Trainer<M>>,
        starting_epoch: usize,
    ) -> (Trainer<M>, SupervisedTrainingEventProcessor<Trainer<M>>) {
        let train = dataloader_train.to_device(&self.device);
        let valid = dataloader_valid.to_device(&self.device.clone().inner());
        learner.fork(&self.device);
        let TrainingComponents {
            mut event_processor,
            mut checkpointer,
            mut early_stopping,
            interrupter,
            event_store,
            num_epochs,
            ..
        } = components;
        let started = Instant::now();
        let elapsed = || self.elapsed_before + started.elapsed().as_secs_f64();
        let mut carried = self.initial_state.clone();
        if let Some(console) = &self.table {
            console.line(TABLE_HEADER);
        }

        for epoch in starting_epoch..=num_epochs {
            // Training: the windows of one pass over the stream, the state carried across.
            let mut train_totals = SplitTotals::default();
            interrupter.fail_on_error(event_processor.process_train(LearnerEvent::StartSplit {
                epoch_number: epoch,
                total_items: train.num_items(),
            }));
            each_window(train.iter(), &interrupter, |window, progress, iteration| {
                let step = train_window(&learner.model(), window, carried.take(), self.loss_scale);
                carried = Some(step.state);
                if self.table.is_some() {
                    train_totals.add(&step.output);
                }
                learner.lr_step();
                learner.optimizer_step(step.grads);
                let item = TrainingItem::new(
                    step.output,
                    progress,
                    Some(iteration),
                    Some(learner.lr_current()),
                );
                interrupter.fail_on_error(
                    event_processor.process_train(LearnerEvent::ProcessedItem(item)),
                );
            });
            interrupter.fail_on_error(event_processor.process_train(LearnerEvent::EndSplit(epoch)));
            if interrupter.should_stop() {
                break;
            }

            // Validation: one pass from a reset state.
            let mut valid_totals = SplitTotals::default();
            let model = learner.model().valid();
            interrupter.fail_on_error(event_processor.process_valid(LearnerEvent::StartSplit {
                epoch_number: epoch,
                total_items: valid.num_items(),
            }));
            let mut state = None;
            each_window(valid.iter(), &interrupter, |window, progress, iteration| {
                let (output, next) = model.model.forward_window(window, state.take());
                state = Some(next);
                if self.table.is_some() {
                    valid_totals.add(&output);
                }
                let item = TrainingItem::new(output, progress, Some(iteration), None);
                interrupter.fail_on_error(
                    event_processor.process_valid(LearnerEvent::ProcessedItem(item)),
                );
            });
            interrupter.fail_on_error(event_processor.process_valid(LearnerEvent::EndSplit(epoch)));
            interrupter.fail_on_error(event_processor.process_train(LearnerEvent::EndEpoch(epoch)));
            // The renderer's lines of this epoch come before the table row, and the
            // checkpointing strategy reads this epoch's metrics.
            interrupter.fail_on_error(event_processor.flush());
            if interrupter.should_stop() {
                break;
            }

            // Snapshot: Burn's checkpoint (model, optimiser, scheduler) and the stream's.
            if let Some(checkpointer) = &mut checkpointer {
                checkpointer.checkpoint(&learner, epoch, &event_store);
            }
            if let Err(e) = self.save_snapshot(epoch, carried.as_ref(), elapsed()) {
                interrupter.fail(TrainingError::Checkpoint(CheckpointerError::IOError(e)));
                break;
            }
            if let Some(console) = &self.table {
                console.line(table_row(epoch, &train_totals, &valid_totals, elapsed()));
            }
            if let Some(early_stopping) = &mut early_stopping
                && early_stopping.should_stop(epoch, &event_store)
            {
                break;
            }
        }
        (learner.model(), event_processor)
    }
}

/// Hands each window of one split to `step`, with its progress and its 1-based iteration,
/// until the windows run out, one fails to load (the interrupter is told) or the interrupter
/// says stop.
fn each_window<'a>(
    mut windows: Box<dyn DataLoaderIterator<TbpttWindow> + 'a>,
    interrupter: &Interrupter,
    mut step: impl FnMut(TbpttWindow, Progress, usize),
) {
    let mut iteration = 0;
    while let Some(window) = windows.next() {
        let window = match window {
            Ok(window) => window,
            Err(error) => {
                interrupter.fail(error);
                break;
            }
        };
        iteration += 1;
        step(window, windows.progress(), iteration);
        if interrupter.should_stop() {
            break;
        }
    }
}

/// Truncated-BPTT training of `model` on `stream`, validated by passes over `validation` from
/// a reset state: the [`Fit`] (loaders and [`TbpttStrategy`]) for
/// [`crate::train_classifier`]. A resumed session continues from the snapshot of its
/// checkpoint: the stream's position, the carried state and the training time so far (Burn
/// restores the model and the optimiser). The gradient is that of `loss_scale` times the mean
/// window loss ([`train_window`]); in plain mode the per-epoch table ([`TABLE_HEADER`]) is
/// printed too.
pub fn tbptt_fit<M: StatefulModel>(
    session: &Session,
    model: M,
    optimizer: ModuleOptimizer,
    training: &TrainingConfig,
    mut stream: TbpttIterator,
    validation: &TbpttIterator,
    loss_scale: f64,
) -> Result<Fit<M>, RunError> {
    let checkpoint_dir = session.run_dir.checkpoint_dir();
    let (initial_state, elapsed_before) = match session.resume_from {
        None => (None, 0.0),
        Some(epoch) => {
            let fail = |message: String| RunError::Resume {
                dir: session.run_dir.path().to_path_buf(),
                message,
                hint: Some("start the run again without --resume".into()),
            };
            let snapshot = TbpttSnapshot::read(&checkpoint_dir, epoch).map_err(fail)?;
            stream
                .restore(&snapshot.position)
                .map_err(|e| fail(e.to_string()))?;
            let state = snapshot
                .carried_state(&session.training_device())
                .map_err(fail)?;
            (state, snapshot.elapsed_seconds)
        }
    };
    let stream = Arc::new(Mutex::new(stream));
    let train = TbpttLoader::training(stream.clone(), &session.device).into_arc();
    let valid = TbpttLoader::evaluation(validation, &session.device).into_arc();
    let console = &session.console;
    let plain = session.plain || !(console.is_terminal() && console.is_stdio());
    let strategy = TbpttStrategy::<M> {
        device: session.training_device(),
        stream,
        checkpoint_dir,
        initial_state,
        elapsed_before,
        loss_scale,
        table: plain.then(|| console.clone()),
        model: std::marker::PhantomData,
    };
    let mut fit = Fit::new(model, optimizer, training, train, valid);
    fit.strategy = Some(TrainingStrategy::Custom(Arc::new(strategy)));
    Ok(fit)
}
