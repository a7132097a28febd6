//! Listens to Burn's training events and keeps the run directory's `metrics.csv` and plots up
//! to date after every epoch; stops the run when the training loss stops being finite.
//!
//! It hooks in twice, because Burn delivers metric values and progress through different
//! channels: as a `MetricLogger` (values, on the event-store thread) and as a
//! `TrainingProgressLogger` (split start/end, on the event-processor thread). Both share one
//! [`Recorder`]. This works the same with the TUI dashboard, the plain renderer, and custom
//! training strategies (they all go through Burn's event processor).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use burn::train::Interrupter;
use burn::train::logger::{MetricLogger, TrainingProgressLogger};
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};

use crate::report::epoch_record::{EpochRecord, TaskKind, to_csv, write_plots};

/// Where the loss first stopped being finite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonFinite {
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based iteration within the epoch.
    pub iteration: usize,
    /// The loss value (NaN or ±inf).
    pub value: f64,
}

struct State {
    names: HashMap<MetricId, String>,
    records: BTreeMap<usize, EpochRecord>,
    /// (epoch, training iterations seen in it).
    train_iterations: (usize, usize),
    non_finite: Option<NonFinite>,
    /// Epoch the progress logger is in.
    progress_epoch: usize,
    /// The split that is running: name, start, items.
    split: Option<(String, Instant, usize)>,
    last_write_error: Option<String>,
    /// The newest epoch whose test pass has been summarised and written to metrics.csv.
    written_epoch: usize,
    /// The training loss of each iteration of the running epoch, as Burn logs it
    /// (`value,count`), written to `train/epoch-N/Loss.log` when the epoch's training ends.
    iteration_losses: Vec<NumericEntry>,
}

/// Shared per-epoch metrics of a run (see the module docs).
#[derive(Clone)]
pub struct Recorder {
    state: Arc<Mutex<State>>,
    /// Held while metrics.csv and the plots are written. Two threads write them (the event
    /// store at an epoch's summary, the event processor at a split's end); each takes its
    /// snapshot of the records under this lock, so a write never replaces a newer file with
    /// an older snapshot (which once dropped a row that a checkpoint already relied on).
    files: Arc<Mutex<()>>,
    dir: PathBuf,
    title: String,
    kind: TaskKind,
    interrupter: Interrupter,
}

impl Recorder {
    /// A recorder writing `metrics.csv` and the plots into `dir`, starting from `previous`
    /// records (a resumed run's first epochs, or an evaluation before training as epoch 0).
    pub fn new(
        dir: PathBuf,
        title: impl Into<String>,
        kind: TaskKind,
        previous: Vec<EpochRecord>,
        interrupter: Interrupter,
    ) -> Self {
        let records = previous.into_iter().map(|r| (r.epoch, r)).collect();
        Recorder {
            state: Arc::new(Mutex::new(State {
                names: HashMap::new(),
                records,
                train_iterations: (0, 0),
                non_finite: None,
                progress_epoch: 1,
                split: None,
                last_write_error: None,
                written_epoch: 0,
                iteration_losses: Vec::new(),
            })),
            files: Arc::new(Mutex::new(())),
            dir,
            title: title.into(),
            kind,
            interrupter,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The complete epochs so far, ascending.
    pub fn records(&self) -> Vec<EpochRecord> {
        self.lock()
            .records
            .values()
            .filter(|r| r.is_complete())
            .cloned()
            .collect()
    }

    /// Where the training loss became non-finite, if it did.
    pub fn non_finite(&self) -> Option<NonFinite> {
        self.lock().non_finite
    }

    /// The first error writing the CSV or the plots, or a disk about to fill up: the run
    /// stopped on it.
    pub fn write_error(&self) -> Option<String> {
        self.lock().last_write_error.clone()
    }

    /// Rewrites `metrics.csv` and the plots from the complete epochs. A write that fails
    /// stops the run (its checkpoints are kept); [`Recorder::write_error`] then says which
    /// file and why. So does a disk about to fill up
    /// ([`crate::base::disk_space::check_free_space`]), checked here after every epoch, before
    /// Burn's next checkpoint fails half-written.
    pub fn write_files(&self) {
        let _writing = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let records = self.records();
        let csv = self.dir.join("metrics.csv");
        let mut error = crate::base::atomic::write(&csv, to_csv(&records).as_bytes())
            .err()
            .map(|e| format!("could not write {}: {e}", csv.display()));
        if error.is_none()
            && let Err(e) = write_plots(&self.dir, &self.title, self.kind, &records)
        {
            error = Some(e.to_string());
        }
        if error.is_none() {
            error = crate::base::disk_space::check_free_space(&self.dir).err();
        }
        let mut state = self.lock();
        if error.is_none() {
            let newest = records.last().map_or(0, |r| r.epoch);
            state.written_epoch = state.written_epoch.max(newest);
        }
        drop(state);
        if let Some(error) = error {
            self.fail(error);
        }
    }

    /// Writes the running epoch's per-iteration training losses to `train/epoch-N/Loss.log`
    /// (Burn's `value,count` lines, then the epoch's `value,final`), which the adding
    /// problem's comparison plots. Written whole when the epoch's training ends, so a killed
    /// epoch leaves no partial log for its resume to append to; a failed write stops the run
    /// like a failed metrics.csv.
    fn write_iteration_losses(&self, epoch: usize) {
        let mut state = self.lock();
        let mut entries = std::mem::take(&mut state.iteration_losses);
        entries.extend(
            state
                .records
                .get(&epoch)
                .and_then(|r| r.train_loss)
                .map(NumericEntry::Final),
        );
        drop(state);
        let mut text = String::new();
        for entry in &entries {
            text.push_str(&entry.serialize());
            text.push('\n');
        }
        let dir = self.dir.join("train").join(format!("epoch-{epoch}"));
        let path = dir.join("Loss.log");
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| crate::base::atomic::write(&path, text.as_bytes()));
        if let Err(e) = written {
            self.fail(format!("could not write {}: {e}", path.display()));
        }
    }

    /// Records the first write error and stops the run with it.
    fn fail(&self, error: String) {
        let mut state = self.lock();
        if state.last_write_error.is_none() {
            state.last_write_error = Some(error.clone());
            drop(state);
            self.interrupter.stop(Some(&error));
        }
    }

    /// Waits (at most `limit`) until epoch `epoch`'s row is in metrics.csv. The model
    /// checkpointer calls it before writing epoch `epoch`'s checkpoint, so that a checkpoint
    /// never exists without its row: Burn saves checkpoints on its own thread, possibly
    /// before the metrics of the epoch's test pass have reached this recorder.
    pub fn wait_until_written(&self, epoch: usize, limit: std::time::Duration) {
        let started = Instant::now();
        let waiting =
            |state: &State| state.written_epoch < epoch && state.last_write_error.is_none();
        while waiting(&self.lock()) && started.elapsed() < limit {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// The `MetricLogger` half, for `SupervisedTraining::with_metric_logger`.
    pub fn metric_logger(&self) -> RecorderMetrics {
        RecorderMetrics(self.clone())
    }

    /// The `TrainingProgressLogger` half, for `SupervisedTraining::with_progress_logger`.
    pub fn progress_logger(&self) -> RecorderProgress {
        RecorderProgress(self.clone())
    }
}

fn store(record: &mut EpochRecord, split: &Split, name: &str, value: f64) {
    let train = matches!(split, Split::Train);
    let slot = match (name, train) {
        ("Loss", true) => &mut record.train_loss,
        ("Loss", false) => &mut record.test_loss,
        ("Accuracy", true) => &mut record.train_accuracy,
        ("Accuracy", false) => &mut record.test_accuracy,
        ("Learning Rate", true) => &mut record.learning_rate,
        ("Iteration Speed", true) => &mut record.iterations_per_second,
        ("CPU Usage", true) => &mut record.cpu_usage_percent,
        ("CPU Memory", true) => &mut record.cpu_memory_gb,
        _ => return,
    };
    // Burn reports accuracy in percent; the files hold fractions. The learning rate's epoch
    // value is a mean of per-step values: drop the summation noise.
    *slot = Some(match name {
        "Accuracy" => value / 100.0,
        "Learning Rate" => crate::report::epoch_record::round_significant(value, 6),
        _ => value,
    });
}

/// [`Recorder`] as Burn's `MetricLogger`.
pub struct RecorderMetrics(Recorder);

impl MetricLogger for RecorderMetrics {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        let recorder = &self.0;
        let mut state = recorder.lock();
        let mut is_item = false;
        let mut loss = None;
        for entry in &update.entries_numeric {
            let Some(name) = state.names.get(&entry.entry.metric_id).cloned() else {
                continue;
            };
            match entry.numeric_entry.clone() {
                Some(NumericEntry::Final(v)) => {
                    store(state.records.entry(epoch).or_default(), split, &name, v);
                }
                Some(
                    entry @ NumericEntry::Aggregated {
                        aggregated_value, ..
                    },
                ) => {
                    is_item = true;
                    if name == "Loss" {
                        loss = Some(aggregated_value);
                        if matches!(split, Split::Train) {
                            state.iteration_losses.push(entry);
                        }
                    }
                }
                Some(NumericEntry::Value(v)) => {
                    store(state.records.entry(epoch).or_default(), split, &name, v);
                }
                None => {}
            }
        }
        state.records.entry(epoch).or_default().epoch = epoch;
        if matches!(split, Split::Train) && is_item {
            if state.train_iterations.0 != epoch {
                state.train_iterations = (epoch, 0);
            }
            state.train_iterations.1 += 1;
            if let Some(value) = loss
                && !value.is_finite()
                && state.non_finite.is_none()
            {
                let found = NonFinite {
                    epoch,
                    iteration: state.train_iterations.1,
                    value,
                };
                state.non_finite = Some(found);
                drop(state);
                recorder.interrupter.stop(Some(&format!(
                    "the training loss became {value} at epoch {epoch}, iteration {}",
                    found.iteration
                )));
            }
        }
    }

    /// Answers Burn's checkpointing strategy (which keeps the checkpoint of the lowest test
    /// loss) from the epoch records, those of a resumed run's earlier epochs included: one
    /// `Final` value per epoch, in Burn's units; nothing for an epoch or metric not recorded.
    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        let state = self.0.lock();
        let Some(record) = state.records.get(&epoch) else {
            return Ok(Vec::new());
        };
        let train = matches!(split, Split::Train);
        let value = match (name, train) {
            ("Loss", true) => record.train_loss,
            ("Loss", false) => record.test_loss,
            ("Accuracy", true) => record.train_accuracy.map(|a| a * 100.0),
            ("Accuracy", false) => record.test_accuracy.map(|a| a * 100.0),
            _ => None,
        };
        Ok(value.map(NumericEntry::Final).into_iter().collect())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.0
            .lock()
            .names
            .insert(definition.metric_id.clone(), definition.name.to_string());
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        match summary.split {
            Split::Train => self.0.write_iteration_losses(summary.epoch_number),
            Split::Valid => self.0.write_files(),
            _ => {}
        }
    }
}

/// [`Recorder`] as Burn's `TrainingProgressLogger`: times the splits.
pub struct RecorderProgress(Recorder);

impl TrainingProgressLogger for RecorderProgress {
    fn start(
        &mut self,
        _total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.0.lock().progress_epoch = starting_epoch;
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.0.lock().progress_epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        self.0.lock().split = Some((split.to_string(), Instant::now(), total_items));
    }

    fn update_split(&mut self, _items_processed: usize) {}

    fn end_split(&mut self) {
        let mut state = self.0.lock();
        let epoch = state.progress_epoch;
        if let Some((split, started, items)) = state.split.take() {
            let seconds = started.elapsed().as_secs_f64();
            let record = state.records.entry(epoch).or_default();
            record.epoch = epoch;
            if split == "train" {
                record.train_seconds = Some(seconds);
                record.train_samples = Some(items);
            } else {
                record.test_seconds = Some(seconds);
                drop(state);
                // The test pass's time arrives after its metrics may have been written.
                self.0.write_files();
            }
        }
    }

    fn end(&mut self) {}

    fn log_event_training(&mut self, _event: String) {}
}
