//! The token stream as Burn data loaders of [`TbpttWindow`]s, so the Learner's machinery
//! (progress, the dashboard's item counts) works as for any data set.
//!
//! * [`TbpttLoader::training`]: each `iter()` is one epoch of the shared training iterator,
//!   continuing where the last one stopped — Chainer's `ParallelSequentialIterator`
//!   with `repeat=True`, where an epoch ends with the window that completes a pass over the
//!   stream (so windows do not restart at epoch boundaries and the carried state stays
//!   meaningful). The iterator is shared with the training strategy, which saves its position.
//! * [`TbpttLoader::evaluation`]: each `iter()` is a fresh pass from the start,
//!   `ceil(len / batch)` steps cut into windows of at most `bprop_len` — Chainer's
//!   evaluation iterator (`repeat=False`), which visits every token once.
//!
//! Progress is counted in tokens (`batch` per step). Any token stream trains this way; the
//! training loop that reads these loaders is rnn-train's truncated-BPTT strategy.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::tbptt::{TbpttIterator, TbpttWindow};
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::prelude::*;
use burn::tensor::TensorData;

#[derive(Clone)]
enum Mode {
    /// One epoch of the shared, continuing iterator per `iter()`.
    Training(Arc<Mutex<TbpttIterator>>),
    /// A pass from the start of a copy of this iterator per `iter()`.
    Evaluation(TbpttIterator),
}

/// A Burn data loader over a token stream (see the module docs).
#[derive(Clone)]
pub struct TbpttLoader {
    mode: Mode,
    device: Device,
}

fn lock(stream: &Mutex<TbpttIterator>) -> MutexGuard<'_, TbpttIterator> {
    stream.lock().unwrap_or_else(|p| p.into_inner())
}

impl TbpttLoader {
    /// Epochs of `stream`, continuing from its position, windows on `device`.
    pub fn training(stream: Arc<Mutex<TbpttIterator>>, device: &Device) -> Self {
        TbpttLoader {
            mode: Mode::Training(stream),
            device: device.clone(),
        }
    }

    /// Passes over `stream`'s tokens from the start, windows on `device`.
    pub fn evaluation(stream: &TbpttIterator, device: &Device) -> Self {
        let mut fresh = stream.clone();
        // Position 0 of the same layout: restoring it cannot fail.
        let mut start = fresh.position();
        start.iteration = 0;
        let _ = fresh.restore(&start);
        TbpttLoader {
            mode: Mode::Evaluation(fresh),
            device: device.clone(),
        }
    }

    /// As a `DataLoader` trait object.
    pub fn into_arc(self) -> Arc<dyn DataLoader<TbpttWindow>> {
        Arc::new(self)
    }
}

/// Windows that complete the epoch the iterator is in: the smallest `k >= 1` such that the
/// step count after `k` more windows reaches the next multiple of `len / batch`, i.e.
/// `(iteration + k * bprop_len) * batch >= (epoch + 1) * len`.
fn windows_left_in_epoch(it: &TbpttIterator) -> usize {
    let (len, batch, l) = (it.len() as u128, it.batch() as u128, it.bprop_len() as u128);
    let needed = (it.epoch() as u128 + 1) * len - it.iteration() as u128 * batch;
    needed.div_ceil(l * batch).max(1) as usize
}

/// Steps of one evaluation pass: every token once.
fn evaluation_steps(it: &TbpttIterator) -> usize {
    it.len().div_ceil(it.batch())
}

impl DataLoader<TbpttWindow> for TbpttLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<TbpttWindow> + 'a> {
        match &self.mode {
            Mode::Training(stream) => {
                let it = lock(stream);
                let total = windows_left_in_epoch(&it) * it.batch() * it.bprop_len();
                drop(it);
                Box::new(TrainingEpoch {
                    stream: stream.clone(),
                    device: self.device.clone(),
                    done: 0,
                    total,
                    finished: false,
                })
            }
            Mode::Evaluation(template) => {
                let steps = evaluation_steps(template);
                Box::new(EvaluationPass {
                    it: template.clone(),
                    device: self.device.clone(),
                    steps_left: steps,
                    done: 0,
                    total: steps * template.batch(),
                })
            }
        }
    }

    fn num_items(&self) -> usize {
        match &self.mode {
            Mode::Training(stream) => {
                let it = lock(stream);
                windows_left_in_epoch(&it) * it.batch() * it.bprop_len()
            }
            Mode::Evaluation(template) => evaluation_steps(template) * template.batch(),
        }
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<TbpttWindow>> {
        Arc::new(TbpttLoader {
            mode: self.mode.clone(),
            device: device.clone(),
        })
    }

    /// A stream has no independent items to take a range of: the loader itself.
    fn slice(&self, _start: usize, _end: usize) -> Arc<dyn DataLoader<TbpttWindow>> {
        Arc::new(self.clone())
    }
}

struct TrainingEpoch {
    stream: Arc<Mutex<TbpttIterator>>,
    device: Device,
    done: usize,
    total: usize,
    finished: bool,
}

impl Iterator for TrainingEpoch {
    type Item = Result<TbpttWindow, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let mut it = lock(&self.stream);
        let window = it.next_window(&self.device);
        self.finished = it.is_new_epoch();
        self.done += it.batch() * it.bprop_len();
        Some(Ok(window))
    }
}

impl DataLoaderIterator<TbpttWindow> for TrainingEpoch {
    fn progress(&self) -> Progress {
        Progress::new(self.done, self.total.max(self.done), Some("tokens".into()))
    }
}

struct EvaluationPass {
    it: TbpttIterator,
    device: Device,
    steps_left: usize,
    done: usize,
    total: usize,
}

impl Iterator for EvaluationPass {
    type Item = Result<TbpttWindow, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.steps_left == 0 {
            return None;
        }
        // The last window is shorter when bprop_len does not divide the pass.
        let steps = self.steps_left.min(self.it.bprop_len());
        let batch = self.it.batch();
        let mut inputs = vec![0i64; batch * steps];
        let mut targets = vec![0i64; batch * steps];
        for t in 0..steps {
            let (current, next) = self.it.next_step();
            for i in 0..batch {
                inputs[i * steps + t] = current[i] as i64;
                targets[i * steps + t] = next[i] as i64;
            }
        }
        self.steps_left -= steps;
        self.done += steps * batch;
        let shape = [batch, steps];
        Some(Ok(TbpttWindow {
            inputs: Tensor::from_data(TensorData::new(inputs, shape), &self.device),
            targets: Tensor::from_data(TensorData::new(targets, shape), &self.device),
        }))
    }
}

impl DataLoaderIterator<TbpttWindow> for EvaluationPass {
    fn progress(&self) -> Progress {
        Progress::new(self.done, self.total, Some("tokens".into()))
    }
}
