//! Recurrent cells for the rnn-burn experiments: Elman (tanh or ReLU, with the IRNN
//! initialisation), LSTM and GRU, as Burn modules that run on whatever `Device` they are
//! given.
//!
//! Each cell has two implementations of its time loop (see [`Path`]): the default fused
//! one, a custom autodiff operation with a hand-written backward pass that is linear in the
//! sequence length ([`ops`]), and a reference written with plain Burn tensor ops.
//!
//! Inputs are batch-first, `[batch, time, features]`.
// Burn's `slice` takes one range per dimension: `[a..b]` slices a 1-D tensor, it is not a
// one-element vector of ranges by mistake.
#![allow(clippy::single_range_in_vec_init)]

pub mod elman;
pub mod gru;
pub mod init;
pub mod layer;
pub mod lstm;
pub mod ops;

pub use elman::{Elman, ElmanConfig, Nonlinearity};
pub use gru::{Gru, GruConfig};
pub use init::{Biases, RecurrentInit};
pub use layer::{LastGroup, Path, RecurrentLayer, RnnOutput, Steps};
pub use lstm::{Lstm, LstmConfig, LstmOutput, LstmState};
pub use ops::{RecurrencePath, recurrence_path, set_recurrence_path};
