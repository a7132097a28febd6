//! # adding-problem
//!
//! The MinPy RNN tutorial: a vanilla tanh RNN (hidden 64), an LSTM (hidden 100) and a GRU
//! (hidden 100, reset gate applied before the recurrent matmul as Cho et al. write it) learn
//! the adding problem — each step carries a uniform value and a mask bit, exactly two steps
//! are marked, and the target is the sum of the two marked values. Each network's last hidden
//! state goes through a linear layer to one output; MSE loss, Xavier initialisation, Adam;
//! 10 000 training and 1 000 test sequences of T = 6 steps, batches of 100, 10 epochs.
//!
//! Predicting 1.0 for every sequence scores an MSE of about 1/6 (the paper quotes 0.1767);
//! a network that beats that line has learned to carry the marked values. The tutorial
//! reports that all three end below it, GRU fastest, then LSTM, the vanilla RNN slowest.
//!
//! `--paper` switches to the long-sequence setting of Le, Jaitly and Hinton (2015), where the
//! IRNN (`--model irnn`) joins the comparison.
//!
//! [`training`] reads top to bottom: configuration ([`config`], from the flags of [`cli`]),
//! data, models ([`model`]), training, comparison; [`comparison_table`] turns the runs into the
//! table and the plot.

pub mod cli;
pub mod comparison_table;
pub mod config;
pub mod model;
pub mod training;

pub use cli::Cli;
pub use comparison_table::{AddingResults, ComparisonRow, batches_to_beat, epochs_to_beat};
pub use config::{AddingConfig, AddingData, NAME};
pub use model::{Adder, AdderConfig, Cell};
pub use training::{main_with, run};
