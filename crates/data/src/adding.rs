//! The adding problem (Hochreiter & Schmidhuber; used by the IRNN paper): each step carries a
//! uniform [0, 1) value and a mask bit; exactly two steps are marked, and the target is the
//! sum of their values. A network must carry two numbers across the whole sequence.
//!
//! Sequences are generated on demand from the seed: a set of any size costs a few words, so
//! a run that draws fresh sequences for every step of 60 000 can hold them all as one set.
//! Sample `i` of a set keyed by `(seed, domain)` ([`rng::chacha`]) reads its values from
//! ChaCha8 stream `2i` (value at step `t` = word `t`, see [`rng::unit_f32`]) and its marks
//! from stream `2i + 1` ([`MarkPlacement`] says how): the data depend on nothing but the seed.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::rng;

/// Where the two marks of a sequence may fall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MarkPlacement {
    /// Any two distinct steps, uniformly (the MinPy tutorial's generator): the first drawn
    /// with `below(T)`, the second with `below(T - 1)` shifted past the first.
    #[default]
    Anywhere,
    /// One step in the first half (`below(T / 2)`) and one in the second (`T / 2 +
    /// below(T - T / 2)`), as Keller et al.'s generator places them: the first value always
    /// has to be carried across at least half the sequence.
    OnePerHalf,
}

/// A seeded set of adding-problem sequences (a Burn [`Dataset`] of [`AddingItem`]s).
#[derive(Debug, Clone)]
pub struct AddingProblem {
    len: usize,
    seq_len: usize,
    seed: u64,
    domain: u64,
    placement: MarkPlacement,
}

impl AddingProblem {
    /// `n` sequences of `seq_len` steps from `seed` (the training-set domain; equal to the
    /// training set of [`AddingProblem::train_test`] with the same seed).
    pub fn new(n: usize, seq_len: usize, seed: u64) -> Result<Self, ConfigError> {
        Self::with_domain(n, seq_len, seed, rng::DOMAIN_ADDING_TRAIN)
    }

    /// A training and a test set from independent random streams of one seed.
    pub fn train_test(
        n_train: usize,
        n_test: usize,
        seq_len: usize,
        seed: u64,
    ) -> Result<(Self, Self), ConfigError> {
        Ok((
            Self::with_domain(n_train, seq_len, seed, rng::DOMAIN_ADDING_TRAIN)?,
            Self::with_domain(n_test, seq_len, seed, rng::DOMAIN_ADDING_TEST)?,
        ))
    }

    /// The same set with its marks placed by `placement` (the values do not change).
    pub fn placed(mut self, placement: MarkPlacement) -> Self {
        self.placement = placement;
        self
    }

    fn with_domain(n: usize, seq_len: usize, seed: u64, domain: u64) -> Result<Self, ConfigError> {
        if seq_len < 2 {
            return Err(ConfigError::SequenceTooShort { seq_len });
        }
        Ok(AddingProblem {
            len: n,
            seq_len,
            seed,
            domain,
            placement: MarkPlacement::Anywhere,
        })
    }

    fn stream(&self, stream: u64) -> ChaCha8Rng {
        let mut rng = rng::chacha(self.seed, self.domain);
        rng.set_stream(stream);
        rng
    }

    /// Steps per sequence.
    pub fn seq_len(&self) -> usize {
        self.seq_len
    }

    /// The two marked steps of sample `index` (ascending).
    pub fn marks(&self, index: usize) -> [usize; 2] {
        self.check(index);
        let mut rng = self.stream(2 * index as u64 + 1);
        let t = self.seq_len as u64;
        let (first, second) = match self.placement {
            MarkPlacement::Anywhere => {
                let first = rng::below(&mut rng, t);
                let second = rng::below(&mut rng, t - 1);
                (first, second + u64::from(second >= first))
            }
            MarkPlacement::OnePerHalf => {
                let half = t / 2;
                (
                    rng::below(&mut rng, half),
                    half + rng::below(&mut rng, t - half),
                )
            }
        };
        [first.min(second) as usize, first.max(second) as usize]
    }

    /// The target of sample `index`: the sum of its two marked values.
    pub fn target(&self, index: usize) -> f32 {
        let [a, b] = self.marks(index);
        let mut rng = self.stream(2 * index as u64);
        let mut value_at = |t: usize| {
            rng.set_word_pos(t as u128);
            rng::unit_f32(rng.next_u32())
        };
        value_at(a) + value_at(b)
    }

    /// The values of sample `index` (one per step).
    pub fn values(&self, index: usize) -> Vec<f32> {
        self.check(index);
        let mut rng = self.stream(2 * index as u64);
        (0..self.seq_len)
            .map(|_| rng::unit_f32(rng.next_u32()))
            .collect()
    }

    /// Guards the public accessors (the dataset's `get` checks before calling them).
    fn check(&self, index: usize) {
        assert!(index < self.len, "sample {index} out of range");
    }

    /// Mean squared error of always predicting 1.0: the "random guess" baseline a model has
    /// to beat (expected value 1/6, the variance of the sum of two uniforms).
    pub fn predict_one_mse(&self) -> f64 {
        if self.len == 0 {
            return f64::NAN;
        }
        let sum: f64 = (0..self.len)
            .map(|i| (self.target(i) as f64 - 1.0).powi(2))
            .sum();
        sum / self.len as f64
    }
}

/// One sequence: `seq_len` rows of `[value, mask]`, and the sum of the two marked values.
#[derive(Debug, Clone, PartialEq)]
pub struct AddingItem {
    /// `seq_len * 2` floats, row-major `[step][value, mask]`.
    pub inputs: Vec<f32>,
    /// Sum of the two marked values.
    pub target: f32,
}

impl Dataset<AddingItem> for AddingProblem {
    fn get(&self, index: usize) -> Result<AddingItem, DatasetError> {
        let [a, b] = self.marks(index);
        let values = self.values(index);
        let mut inputs = Vec::with_capacity(2 * self.seq_len);
        for (t, &v) in values.iter().enumerate() {
            inputs.push(v);
            inputs.push(if t == a || t == b { 1.0 } else { 0.0 });
        }
        Ok(AddingItem {
            inputs,
            target: values[a] + values[b],
        })
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// A batch of adding-problem sequences.
#[derive(Debug, Clone)]
pub struct AddingBatch {
    /// `[batch, seq_len, 2]`: value and mask per step.
    pub inputs: Tensor<3>,
    /// `[batch, 1]`: the sums (regression targets).
    pub targets: Tensor<2>,
}

/// Stacks [`AddingItem`]s into an [`AddingBatch`] with one upload per tensor.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddingBatcher;

impl Batcher<AddingItem, AddingBatch> for AddingBatcher {
    fn batch(&self, items: Vec<AddingItem>, device: &Device) -> AddingBatch {
        let batch = items.len();
        let seq_len = items.first().map_or(0, |i| i.inputs.len() / 2);
        let mut inputs = Vec::with_capacity(batch * seq_len * 2);
        let mut targets = Vec::with_capacity(batch);
        for item in items {
            inputs.extend_from_slice(&item.inputs);
            targets.push(item.target);
        }
        AddingBatch {
            inputs: Tensor::from_data(TensorData::new(inputs, [batch, seq_len, 2]), device),
            targets: Tensor::from_data(TensorData::new(targets, [batch, 1]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sequence_has_two_marks_and_the_target_is_their_sum() {
        let (train, test) = AddingProblem::train_test(500, 500, 50, 11).unwrap();
        for set in [&train, &test] {
            assert_eq!(set.len(), 500);
            for i in 0..set.len() {
                let item = set.get(i).unwrap();
                assert_eq!(item.inputs.len(), 100);
                let marked: Vec<usize> =
                    (0..50).filter(|&t| item.inputs[2 * t + 1] == 1.0).collect();
                assert_eq!(marked.len(), 2, "sample {i}");
                assert!((0..50).all(|t| [0.0, 1.0].contains(&item.inputs[2 * t + 1])));
                assert!((0..50).all(|t| (0.0..1.0).contains(&item.inputs[2 * t])));
                assert_eq!(marked, set.marks(i).to_vec());
                let sum = item.inputs[2 * marked[0]] + item.inputs[2 * marked[1]];
                assert_eq!(item.target, sum);
                assert_eq!(set.target(i), sum);
                let values: Vec<f32> = (0..50).map(|t| item.inputs[2 * t]).collect();
                assert_eq!(set.values(i), values);
            }
        }
        // Independent train and test streams; the same seed reproduces them.
        assert_ne!(train.get(0).unwrap(), test.get(0).unwrap());
        let again = AddingProblem::new(500, 50, 11).unwrap();
        assert_eq!(again.get(123).unwrap(), train.get(123).unwrap());
        assert_ne!(
            AddingProblem::new(1, 50, 12).unwrap().get(0).unwrap(),
            train.get(0).unwrap()
        );
    }

    #[test]
    fn marks_cover_all_positions_including_the_ends() {
        let set = AddingProblem::new(2000, 3, 5).unwrap();
        let mut pairs = std::collections::BTreeSet::new();
        for i in 0..set.len() {
            pairs.insert(set.marks(i));
        }
        let all: std::collections::BTreeSet<_> = [[0, 1], [0, 2], [1, 2]].into_iter().collect();
        assert_eq!(pairs, all);
        assert_eq!(
            AddingProblem::new(1, 1, 0).unwrap_err(),
            ConfigError::SequenceTooShort { seq_len: 1 }
        );
    }

    #[test]
    fn one_mark_per_half_keeps_the_values_and_splits_the_marks() {
        for t in [2, 3, 7, 400] {
            let anywhere = AddingProblem::new(300, t, 9).unwrap();
            let halves = anywhere.clone().placed(MarkPlacement::OnePerHalf);
            let mut firsts = std::collections::BTreeSet::new();
            for i in 0..300 {
                let [a, b] = halves.marks(i);
                assert!(
                    a < t / 2 && (t / 2..t).contains(&b),
                    "T = {t}: marks {a}, {b}"
                );
                firsts.insert(a);
                assert_eq!(halves.values(i), anywhere.values(i));
                let item = halves.get(i).unwrap();
                assert_eq!(item.target, item.inputs[2 * a] + item.inputs[2 * b]);
                assert_eq!(halves.target(i), item.target);
            }
            // The first mark ranges over the whole first half.
            if t == 7 {
                assert_eq!(firsts, (0..3).collect());
            }
        }
    }

    #[test]
    fn a_set_of_millions_costs_nothing_until_read() {
        // Fresh sequences for every step of a long run are one set, generated on demand.
        let set = AddingProblem::new(50_000_000, 400, 1).unwrap();
        assert_eq!(set.len(), 50_000_000);
        let item = set.get(49_999_999).unwrap();
        assert_eq!(item.inputs.len(), 800);
    }

    #[test]
    fn predict_one_baseline_is_one_sixth() {
        let set = AddingProblem::new(100_000, 100, 42).unwrap();
        let mse = set.predict_one_mse();
        println!("predict-1.0 MSE on 100000 samples (T=100, seed 42): {mse:.5}");
        assert!((mse - 1.0 / 6.0).abs() < 0.005, "mse {mse}");
    }

    #[test]
    fn batches_have_the_expected_shapes() {
        let set = AddingProblem::new(4, 7, 1).unwrap();
        let items: Vec<_> = (0..4).map(|i| set.get(i).unwrap()).collect();
        let batch = AddingBatcher.batch(items.clone(), &Device::flex());
        assert_eq!(batch.inputs.dims(), [4, 7, 2]);
        assert_eq!(batch.targets.dims(), [4, 1]);
        let flat = batch.inputs.to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(&flat[14..28], &items[1].inputs[..]);
        let targets = batch.targets.to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(targets, items.iter().map(|i| i.target).collect::<Vec<_>>());
    }
}
