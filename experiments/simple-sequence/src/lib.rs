//! # simple-sequence
//!
//! The Chainer "Training RNN with simple sequence dataset" tutorial: a recurrent network
//! learns to continue the counting sequence `1 2 2 3 3 3 4 4 4 4 ... 9 (x9) 1 2 2 ...` (each
//! `i` in 1..=9 repeated `i` times, the cycle repeated 100 times: 4 500 tokens, vocabulary
//! 10). To predict the token after `9 9 9 9 9 9 9 9` it must count, so its hidden state has
//! to carry information from one window of the stream to the next.
//!
//! Training is truncated backpropagation through time: 10 cursors read the stream at evenly
//! spaced offsets; each update runs `bprop_len` = 20 steps forward, accumulates the loss,
//! runs one backward, then detaches the hidden state and carries it into the next window.
//! Validation reads the sequence once with a fresh state. Defaults are the tutorial's: 100
//! units, Adam (alpha 5e-4), batch 10, 10 epochs; it reports validation accuracy 1.0 after 10
//! epochs with the one-layer RNN.
//!
//! * [`config`]: what defines a run; [`cli`]: the flags that ask for it.
//! * [`model`]: the four architectures (`--arch rnn|rnn2|rnn3|lstm`).
//! * [`training`]: the experiment top to bottom. The training loop is rnn-train's
//!   truncated-BPTT strategy ([`truncated_bptt`]), over rnn-data's
//!   token-stream loaders ([`rnn_data::TbpttLoader`]): the dashboard, metrics and checkpoints
//!   work as for every other experiment, and its snapshots also hold the stream position and
//!   the carried state, so `--resume` continues exactly.
//! * [`trainer_report`]: the tutorial's per-epoch table, printed in plain mode.
//! * [`generate`]: continue a prompt with a trained model.
// Burn's `slice` takes one range per dimension: `[a..b]` slices a 1-D tensor, it is not a
// one-element vector of ranges by mistake.
#![allow(clippy::single_range_in_vec_init)]

pub mod cli;
pub mod config;
pub mod generate;
pub mod model;
pub mod trainer_report;
pub mod training;
pub mod truncated_bptt;

pub use cli::Cli;
pub use config::{NAME, SimpleSequenceConfig};
pub use model::{LanguageModel, LanguageModelConfig, Network};
pub use training::{main_with, run};
