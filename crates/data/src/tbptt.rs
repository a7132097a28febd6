//! Token streams for next-token training with truncated backpropagation through time: the
//! counting sequence of the simple-sequence tutorial, and the iterator that cuts a stream into
//! `[batch, bprop_len]` windows.
//!
//! The iterator follows Chainer's `ParallelSequentialIterator`: `batch` cursors start at
//! evenly spaced offsets `i * len / batch`; at step `k` cursor `i` reads the token at
//! `(offset_i + k) % len` and the one after it as its target. A window is `bprop_len`
//! consecutive steps, so the hidden state carried from one window to the next continues each
//! cursor's own stretch of the stream. The order is fixed (never shuffled) and the whole state
//! is the step counter, which [`TbpttPosition`] saves for resuming.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Each `i` in `1..=n_vocab - 1` repeated `i` times (1, 2, 2, 3, 3, 3, ...), that cycle
/// repeated `repeat` times: the simple-sequence tutorial's data (`n_vocab` 10, `repeat` 100,
/// 4500 tokens). Token 0 never occurs.
pub fn counting_sequence(n_vocab: u32, repeat: usize) -> Vec<u32> {
    let cycle: Vec<u32> = (1..n_vocab)
        .flat_map(|i| std::iter::repeat_n(i, i as usize))
        .collect();
    cycle.repeat(repeat)
}

/// Where a [`TbpttIterator`] is, plus the layout it belongs to (checked on restore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TbpttPosition {
    /// Steps taken so far (not windows).
    pub iteration: u64,
    /// Stream length.
    pub len: usize,
    /// Number of cursors.
    pub batch: usize,
    /// Steps per window.
    pub bprop_len: usize,
}

/// One window of the stream for every cursor.
#[derive(Debug, Clone)]
pub struct TbpttWindow {
    /// `[batch, bprop_len]`: the current tokens.
    pub inputs: Tensor<2, Int>,
    /// `[batch, bprop_len]`: the tokens that follow them.
    pub targets: Tensor<2, Int>,
}

/// Walks a token stream with `batch` parallel cursors, one window of `bprop_len` steps at a
/// time (see the module docs for the exact order).
#[derive(Debug, Clone)]
pub struct TbpttIterator {
    tokens: Arc<[u32]>,
    batch: usize,
    bprop_len: usize,
    offsets: Vec<usize>,
    iteration: u64,
    /// Whether the last window crossed an epoch boundary.
    new_epoch: bool,
}

impl TbpttIterator {
    /// An iterator at the start of `tokens`.
    pub fn new(
        tokens: impl Into<Arc<[u32]>>,
        batch: usize,
        bprop_len: usize,
    ) -> Result<Self, ConfigError> {
        let tokens = tokens.into();
        if tokens.is_empty() {
            return Err(ConfigError::EmptyStream);
        }
        if batch == 0 {
            return Err(ConfigError::Zero { name: "batch" });
        }
        if bprop_len == 0 {
            return Err(ConfigError::Zero { name: "bprop_len" });
        }
        let len = tokens.len();
        let offsets = (0..batch).map(|i| i * len / batch).collect();
        Ok(TbpttIterator {
            tokens,
            batch,
            bprop_len,
            offsets,
            iteration: 0,
            new_epoch: false,
        })
    }

    /// Stream length.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Always false (an empty stream is rejected by [`TbpttIterator::new`]).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Number of cursors.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Steps per window.
    pub fn bprop_len(&self) -> usize {
        self.bprop_len
    }

    /// Start position of each cursor: `i * len / batch`.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Steps taken so far.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// Completed passes over the stream: `iteration * batch / len`, rounded down.
    pub fn epoch(&self) -> u64 {
        (self.iteration as u128 * self.batch as u128 / self.len() as u128) as u64
    }

    /// Passes over the stream as a fraction: `iteration * batch / len`.
    pub fn epoch_detail(&self) -> f64 {
        self.iteration as f64 * self.batch as f64 / self.len() as f64
    }

    /// Whether the last window (or step) completed an epoch; the signal to evaluate or to
    /// reset carried state.
    pub fn is_new_epoch(&self) -> bool {
        self.new_epoch
    }

    /// Takes one step: the current and the next token of every cursor.
    pub fn next_step(&mut self) -> (Vec<u32>, Vec<u32>) {
        let len = self.len();
        let shift = (self.iteration % len as u64) as usize;
        let mut current = Vec::with_capacity(self.batch);
        let mut next = Vec::with_capacity(self.batch);
        for &offset in &self.offsets {
            let at = (offset + shift) % len;
            current.push(self.tokens[at]);
            next.push(self.tokens[(at + 1) % len]);
        }
        let before = self.epoch();
        self.iteration += 1;
        self.new_epoch = self.epoch() > before;
        (current, next)
    }

    /// Takes `bprop_len` steps and returns them as row-major `[batch, bprop_len]` buffers
    /// (inputs, targets): what [`TbpttIterator::next_window`] uploads.
    pub fn next_window_data(&mut self) -> (Vec<i64>, Vec<i64>) {
        let (b, l) = (self.batch, self.bprop_len);
        let mut inputs = vec![0i64; b * l];
        let mut targets = vec![0i64; b * l];
        let mut crossed = false;
        for t in 0..l {
            let (current, next) = self.next_step();
            crossed |= self.new_epoch;
            for i in 0..b {
                inputs[i * l + t] = current[i] as i64;
                targets[i * l + t] = next[i] as i64;
            }
        }
        self.new_epoch = crossed;
        (inputs, targets)
    }

    /// Takes `bprop_len` steps and returns them as tensors on `device`.
    pub fn next_window(&mut self, device: &Device) -> TbpttWindow {
        let shape = [self.batch, self.bprop_len];
        let (inputs, targets) = self.next_window_data();
        TbpttWindow {
            inputs: Tensor::from_data(TensorData::new(inputs, shape), device),
            targets: Tensor::from_data(TensorData::new(targets, shape), device),
        }
    }

    /// The current position, to save with a checkpoint.
    pub fn position(&self) -> TbpttPosition {
        TbpttPosition {
            iteration: self.iteration,
            len: self.len(),
            batch: self.batch,
            bprop_len: self.bprop_len,
        }
    }

    /// Continues from a saved position; refuses one taken on a different stream length,
    /// batch or window length.
    pub fn restore(&mut self, position: &TbpttPosition) -> Result<(), ConfigError> {
        if position.len != self.len()
            || position.batch != self.batch
            || position.bprop_len != self.bprop_len
        {
            return Err(ConfigError::PositionMismatch {
                saved_len: position.len,
                saved_batch: position.batch,
                saved_bprop: position.bprop_len,
                len: self.len(),
                batch: self.batch,
                bprop: self.bprop_len,
            });
        }
        self.iteration = position.iteration;
        self.new_epoch = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_sequence_matches_the_tutorial() {
        let seq = counting_sequence(10, 100);
        assert_eq!(seq.len(), 4500);
        assert_eq!(&seq[..10], &[1, 2, 2, 3, 3, 3, 4, 4, 4, 4]);
        assert_eq!(&seq[36..46], &[9, 9, 9, 9, 9, 9, 9, 9, 9, 1]);
        assert_eq!(seq[4499], 9);
        assert!(seq.iter().all(|&t| (1..10).contains(&t)));
        assert_eq!(counting_sequence(3, 2), vec![1, 2, 2, 1, 2, 2]);
    }

    #[test]
    fn tbptt_offsets_windows_wrap_and_epochs() {
        let seq = counting_sequence(10, 100);
        let mut it = TbpttIterator::new(seq.clone(), 10, 35).unwrap();
        assert_eq!(
            it.offsets(),
            &[0, 450, 900, 1350, 1800, 2250, 2700, 3150, 3600, 4050]
        );
        let (inputs, targets) = it.next_window_data();
        for i in 0..10 {
            for t in 0..35 {
                assert_eq!(inputs[i * 35 + t], seq[450 * i + t] as i64);
                assert_eq!(targets[i * 35 + t], seq[450 * i + t + 1] as i64);
            }
        }
        assert_eq!(it.iteration(), 35);
        assert_eq!(it.epoch(), 0);
        assert!((it.epoch_detail() - 350.0 / 4500.0).abs() < 1e-12);

        // Step 449: the last cursor reads the final token and wraps to the first.
        let mut it = TbpttIterator::new(seq.clone(), 10, 1).unwrap();
        for _ in 0..449 {
            it.next_step();
        }
        assert!(!it.is_new_epoch());
        let (current, next) = it.next_step();
        assert_eq!(current[9], seq[4499]);
        assert_eq!(next[9], seq[0]);
        assert_eq!(current[0], seq[449]);
        assert_eq!(next[0], seq[450]);
        assert_eq!(it.epoch(), 1);
        assert!(it.is_new_epoch());
        assert_eq!(it.epoch_detail(), 1.0);
        // Step 450: the last cursor continues from the start of the stream.
        let (current, next) = it.next_step();
        assert_eq!((current[9], next[9]), (seq[0], seq[1]));
        assert!(!it.is_new_epoch());
    }

    #[test]
    fn tbptt_windows_become_tensors() {
        let device = Device::flex();
        let mut it = TbpttIterator::new(counting_sequence(10, 100), 10, 5).unwrap();
        let window = it.next_window(&device);
        assert_eq!(window.inputs.dims(), [10, 5]);
        assert_eq!(window.targets.dims(), [10, 5]);
        let inputs = window
            .inputs
            .to_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(&inputs[..5], &[1, 2, 2, 3, 3]);
    }

    #[test]
    fn tbptt_save_and_restore_reproduce_the_next_windows() {
        let seq = counting_sequence(10, 100);
        let mut original = TbpttIterator::new(seq.clone(), 10, 35).unwrap();
        for _ in 0..20 {
            original.next_window_data();
        }
        let saved = serde_json::to_string(&original.position()).unwrap();
        let expected: Vec<_> = (0..5).map(|_| original.next_window_data()).collect();
        let epoch = original.epoch_detail();

        let mut resumed = TbpttIterator::new(seq.clone(), 10, 35).unwrap();
        resumed
            .restore(&serde_json::from_str(&saved).unwrap())
            .unwrap();
        let got: Vec<_> = (0..5).map(|_| resumed.next_window_data()).collect();
        assert_eq!(got, expected);
        assert_eq!(resumed.epoch_detail(), epoch);

        let mut other = TbpttIterator::new(seq, 20, 35).unwrap();
        let err = other.restore(&original.position()).unwrap_err();
        assert!(matches!(err, ConfigError::PositionMismatch { .. }), "{err}");
    }

    #[test]
    fn tbptt_rejects_degenerate_configs() {
        assert_eq!(
            TbpttIterator::new(Vec::new(), 1, 1).unwrap_err(),
            ConfigError::EmptyStream
        );
        assert!(TbpttIterator::new(vec![1], 0, 1).is_err());
        assert!(TbpttIterator::new(vec![1], 1, 0).is_err());
    }
}
