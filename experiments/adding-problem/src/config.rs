//! The configuration, the story's first step: the tutorial's values, everything that
//! defines one network's run, and the paper preset.

use burn::prelude::*;
use rnn_train::cli::limits::{MAX_HIDDEN, MAX_SAMPLES, MAX_STEPS, check_count};
use rnn_train::{ExperimentConfig, OptimizerConfig, RunError, TrainingConfig};

use crate::model::{AdderConfig, Cell};

/// The binary's name and the run directory's parent (`runs/adding-problem/`).
pub const NAME: &str = "adding-problem";

/// How many sequences of how many steps.
#[derive(Config, Debug)]
pub struct AddingData {
    /// Steps per sequence, T (the tutorial's generator default).
    #[config(default = 6)]
    pub seq_len: usize,
    /// Training sequences.
    #[config(default = 10_000)]
    pub train_size: usize,
    /// Test sequences.
    #[config(default = 1_000)]
    pub test_size: usize,
}

/// Everything that defines one network's run (saved as its run directory's `config.json`).
#[derive(Config, Debug)]
pub struct AddingConfig {
    /// The network.
    pub model: AdderConfig,
    /// The data.
    #[config(default = "AddingData::new()")]
    pub data: AddingData,
    /// MinPy's `adam` update rule: lr 1e-3, betas 0.9/0.999, epsilon 1e-8.
    #[config(default = "OptimizerConfig::adam()")]
    pub optimizer: OptimizerConfig,
    /// 10 epochs of batches of 100 at lr 1e-3, in one shuffled order drawn once (MinPy's
    /// `NDArrayIter(shuffle=True)` shuffles in its constructor, and its `reset()` rewinds).
    #[config(default = "TrainingConfig::new(10, 100, 1e-3).with_reshuffle(false)")]
    pub training: TrainingConfig,
}

impl AddingConfig {
    /// `cell`'s run as the tutorial sets it up.
    pub fn tutorial(cell: Cell) -> Self {
        AddingConfig::new(AdderConfig::tutorial(cell))
    }
}

impl ExperimentConfig for AddingConfig {
    fn training(&self) -> &TrainingConfig {
        &self.training
    }

    fn validate(&self) -> Result<(), RunError> {
        let d = &self.data;
        check_count("hidden", self.model.hidden, MAX_HIDDEN)?;
        check_count("train_size", d.train_size, MAX_SAMPLES)?;
        check_count("test_size", d.test_size, MAX_SAMPLES)?;
        if !(2..=MAX_STEPS).contains(&d.seq_len) {
            return Err(RunError::usage(
                format!(
                    "seq_len must be between 2 and {MAX_STEPS}, got {}",
                    d.seq_len
                ),
                None,
            ));
        }
        // Each sequence is 2 * T floats: keep the two sets within 2^28 values (1 GiB).
        let values = (d.train_size + d.test_size).saturating_mul(2 * d.seq_len);
        if values > 1 << 28 {
            return Err(RunError::usage(
                format!(
                    "{} + {} sequences of {} steps would take {} GiB",
                    d.train_size,
                    d.test_size,
                    d.seq_len,
                    values / (1 << 28)
                ),
                Some(
                    "use fewer or shorter sequences (--train-size, --test-size, --seq-len)".into(),
                ),
            ));
        }
        self.training.validate()
    }
}

/// `--paper`: the long-sequence setting of Le, Jaitly & Hinton (2015), section 4.1.
///
/// * T = 150, the shortest of the paper's lengths (150, 200, 300, 400); pass `--seq-len` for
///   the others.
/// * 100 hidden units for every network, the paper's size (the tutorial gives the vanilla RNN
///   64).
/// * 100 000 training and 10 000 test sequences, ten times the tutorial's: at T = 150 there
///   are 11 175 mark positions, and the networks must see each kind many times.
/// * Gradients clipped to global norm 1: over 150 steps a tanh or ReLU recurrence produces
///   occasional exploding gradients, and the paper clips too.
/// * The IRNN joins the comparison, since the preset reproduces the paper's question: can a
///   ReLU RNN with identity initialisation carry information as far as an LSTM?
/// * Everything else stays the tutorial's (Adam lr 1e-3, batch 100, 10 epochs), so the two
///   settings differ only in what the paper changes.
pub mod paper {
    use super::{AddingConfig, AddingData};
    use crate::model::{AdderConfig, Cell};

    /// Steps per sequence.
    pub const SEQ_LEN: usize = 150;
    /// Hidden units of every network.
    pub const HIDDEN: usize = 100;
    /// Training sequences.
    pub const TRAIN_SIZE: usize = 100_000;
    /// Test sequences.
    pub const TEST_SIZE: usize = 10_000;
    /// Global-norm gradient clipping.
    pub const CLIP_NORM: f64 = 1.0;
    /// The networks compared.
    pub const MODELS: [Cell; 4] = [Cell::Rnn, Cell::Lstm, Cell::Gru, Cell::Irnn];

    /// `cell`'s run in this setting: the tutorial's, with the values above.
    pub fn config(cell: Cell) -> AddingConfig {
        let mut config = AddingConfig::tutorial(cell);
        config.model = AdderConfig::new(cell, HIDDEN);
        config.data = AddingData::new()
            .with_seq_len(SEQ_LEN)
            .with_train_size(TRAIN_SIZE)
            .with_test_size(TEST_SIZE);
        config.training.clip_norm = Some(CLIP_NORM);
        config
    }
}
