//! The training loop of truncated BPTT inside Burn's Learner ([`TbpttStrategy`], see
//! [`crate::truncated_bptt`]), and the hook of an experiment's per-epoch table
//! ([`EpochTable`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::prelude::*;
use burn::train::checkpoint::CheckpointerError;
use burn::train::{
    ClassificationOutput, EventProcessorTraining, Interrupter, Learner, LearnerEvent,
    SupervisedLearningStrategy, SupervisedTrainingEventProcessor, TrainLoader, TrainingComponents,
    TrainingError, TrainingItem, ValidLoader,
};
use rnn_data::{TbpttIterator, TbpttWindow};

use super::snapshot::TbpttSnapshot;
use super::stateful_model::{CarriedState, StatefulModel, train_window};
use rnn_train::base::console::Console;
use rnn_train::learn::task::Trainer;

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

/// One split's figures of an epoch, over every token of its windows: what an [`EpochTable`]
/// row shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitFigures {
    /// Mean loss per token.
    pub loss: f64,
    /// Share of tokens predicted right.
    pub accuracy: f64,
}

impl From<&SplitTotals> for SplitFigures {
    fn from(totals: &SplitTotals) -> Self {
        SplitFigures {
            loss: totals.loss(),
            accuracy: totals.accuracy(),
        }
    }
}

/// A per-epoch table an experiment prints in plain mode beside the renderer's lines (its
/// tutorial's trainer report, say): a header before the first epoch and a row after each.
pub trait EpochTable: Send + Sync {
    /// The line before the first row.
    fn header(&self) -> String;
    /// The row of `epoch`, after `elapsed` seconds of training in all.
    fn row(&self, epoch: usize, train: SplitFigures, valid: SplitFigures, elapsed: f64) -> String;
}

/// The training loop (see [`crate::truncated_bptt`]).
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
    /// The experiment's per-epoch table and where to print it (plain mode only: never under
    /// the dashboard).
    pub table: Option<(Arc<dyn EpochTable>, Console)>,
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
        rnn_train::base::atomic::write(&path, text.as_bytes())?;
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

impl<M: StatefulModel> TbpttStrategy<M> {
    /// Training: the windows of one pass over the stream, the state carried across.
    fn train_split(
        &self,
        epoch: usize,
        learner: &mut Learner<Trainer<M>>,
        train: &dyn DataLoader<TbpttWindow>,
        carried: &mut Option<CarriedState>,
        event_processor: &mut SupervisedTrainingEventProcessor<Trainer<M>>,
        interrupter: &Interrupter,
    ) -> SplitTotals {
        let mut train_totals = SplitTotals::default();
        interrupter.fail_on_error(event_processor.process_train(LearnerEvent::StartSplit {
            epoch_number: epoch,
            total_items: train.num_items(),
        }));
        each_window(train.iter(), interrupter, |window, progress, iteration| {
            let step = train_window(&learner.model(), window, carried.take(), self.loss_scale);
            *carried = Some(step.state);
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
            interrupter
                .fail_on_error(event_processor.process_train(LearnerEvent::ProcessedItem(item)));
        });
        interrupter.fail_on_error(event_processor.process_train(LearnerEvent::EndSplit(epoch)));
        train_totals
    }

    /// Validation: one pass from a reset state, then the end of the epoch.
    fn valid_split(
        &self,
        epoch: usize,
        learner: &Learner<Trainer<M>>,
        valid: &dyn DataLoader<TbpttWindow>,
        event_processor: &mut SupervisedTrainingEventProcessor<Trainer<M>>,
        interrupter: &Interrupter,
    ) -> SplitTotals {
        let mut valid_totals = SplitTotals::default();
        let model = learner.model().valid();
        interrupter.fail_on_error(event_processor.process_valid(LearnerEvent::StartSplit {
            epoch_number: epoch,
            total_items: valid.num_items(),
        }));
        let mut state = None;
        each_window(valid.iter(), interrupter, |window, progress, iteration| {
            let (output, next) = model.model.forward_window(window, state.take());
            state = Some(next);
            if self.table.is_some() {
                valid_totals.add(&output);
            }
            let item = TrainingItem::new(output, progress, Some(iteration), None);
            interrupter
                .fail_on_error(event_processor.process_valid(LearnerEvent::ProcessedItem(item)));
        });
        interrupter.fail_on_error(event_processor.process_valid(LearnerEvent::EndSplit(epoch)));
        interrupter.fail_on_error(event_processor.process_train(LearnerEvent::EndEpoch(epoch)));
        // The renderer's lines of this epoch come before the table row, and the
        // checkpointing strategy reads this epoch's metrics.
        interrupter.fail_on_error(event_processor.flush());
        valid_totals
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
        if let Some((table, console)) = &self.table {
            console.line(table.header());
        }

        for epoch in starting_epoch..=num_epochs {
            let train_totals = self.train_split(
                epoch,
                &mut learner,
                train.as_ref(),
                &mut carried,
                &mut event_processor,
                &interrupter,
            );
            if interrupter.should_stop() {
                break;
            }
            let valid_totals = self.valid_split(
                epoch,
                &learner,
                valid.as_ref(),
                &mut event_processor,
                &interrupter,
            );
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
            if let Some((table, console)) = &self.table {
                let (train, valid) = ((&train_totals).into(), (&valid_totals).into());
                console.line(table.row(epoch, train, valid, elapsed()));
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
