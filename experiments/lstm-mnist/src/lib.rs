//! # lstm-mnist
//!
//! The PyTorch "Recurrent Neural Network Example - Classifying Handwritten Digits" tutorial:
//! an LSTM with 20 hidden units reads each MNIST image row by row (28 steps of 28 pixels
//! scaled to [0, 1]); its last hidden state goes through a linear layer and a log-softmax,
//! trained with the negative log-likelihood by plain SGD (lr 0.1, batch 100, 10 epochs). The
//! test accuracy is measured before training and after every epoch: the tutorial reports
//! 10.3 % before training and 22.0, 63.6, 79.6, 88.7, 91.2, 94.0, 94.3, 95.6, 95.8, 95.8 %
//! after epochs 1-10. `lstm-mnist show RUN_DIR` draws random test digits in the terminal with
//! the trained model's predictions, as the tutorial's last cell does.
//!
//! [`training`] reads top to bottom: configuration ([`config`], from the flags of [`cli`]),
//! data, model ([`model`]), training, report; [`show`] is the prediction viewer, which draws
//! the digits with [`digits`].

pub mod cli;
pub mod config;
pub mod digits;
pub mod model;
pub mod show;
pub mod training;

pub use cli::Cli;
pub use config::{LstmMnistConfig, NAME};
pub use model::{LstmClassifier, LstmClassifierConfig};
pub use training::{main_with, run};
