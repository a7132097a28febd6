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
//! `--preset paper` switches to the long sequences of Le, Jaitly and Hinton (2015), Fig. 2:
//! LSTM, tanh RNN, ReLU RNN with a Gaussian start and the IRNN, plain SGD, up to 10^6 steps;
//! `--preset modern` to Keller et al. (2024)'s protocol (Adam, fresh batches, T = 400). The
//! reproduction (`just reproduce --experiments adding-paper,adding-modern`) sweeps lengths
//! and seeds and draws the paper's figure.
//!
//! [`training`] reads top to bottom: configuration ([`config`], from the flags of [`cli`]),
//! data, models ([`model`]), training, comparison; [`comparison_table`] turns the runs into the
//! table and the plot.

pub mod cli;
pub mod comparison;
pub mod comparison_plot;
pub mod comparison_table;
pub mod config;
pub mod model;
pub mod training;

pub use cli::Cli;
pub use comparison_table::{AddingResults, ComparisonRow, batches_to_beat, epochs_to_beat};
pub use config::{AddingConfig, AddingData, NAME, Preset};
pub use model::{Adder, AdderConfig, Network, Start};
pub use training::{main_with, run};
