//! Recurrent cells for the rnn-burn experiments, as Burn modules that run on whatever
//! `Device` they are given: the Elman RNN ([`Elman`], tanh or ReLU, with the IRNN
//! initialisation as [`ElmanConfig::irnn`]), the LSTM ([`Lstm`]) and the GRU ([`Gru`], with
//! the reset gate after or before the recurrent product). Each is a stack of `L` layers;
//! layer `l > 0` reads the hidden states of layer `l - 1`, with optional dropout between
//! layers.
//!
//! # Equations
//!
//! With `x_t` the layer's input at step `t` and `h_{t-1}` its previous hidden state (both
//! row vectors), `σ` the logistic function and `⊙` the element-wise product:
//!
//! - Elman: `h_t = act(x_t W_ih + h_{t-1} W_hh + b)`, `act` tanh or ReLU.
//! - LSTM, gates i, f, g, o: `i = σ(·)`, `f = σ(·)`, `g = tanh(·)`, `o = σ(·)` of their
//!   columns of `x_t W_ih + h_{t-1} W_hh + b`; `c_t = f ⊙ c_{t-1} + i ⊙ g`,
//!   `h_t = o ⊙ tanh(c_t)`.
//! - GRU, gates r, z, n: `r = σ(·)`, `z = σ(·)` of their columns of
//!   `x_t W_ih + h_{t-1} W_hh + b`; the candidate `n` is
//!   `tanh(x_t W_in + b_in + r ⊙ (h_{t-1} W_hn + b_hn))` with the reset gate after the
//!   product (the form of PyTorch and cuDNN) or `tanh(x_t W_in + b_in + (r ⊙ h_{t-1}) W_hn +
//!   b_hn)` with it before (the form of Cho et al. 2014 and MinPy);
//!   `h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}`.
//!
//! Here `b` stands for whichever biases the layer has ([`Biases`]): `b_ih + b_hh`, `b_ih`
//! alone, or none.
//!
//! # Shapes and layout
//!
//! | tensor | shape |
//! |---|---|
//! | input `x` | `[B, T, D]`, batch-first |
//! | output, [`Steps::All`] / [`Steps::Last`] | `[B, T, H]` / `[B, 1, H]` (last layer) |
//! | initial and final states (`h`, and the LSTM's `c`) | `[L, B, H]`; `None` means zeros |
//! | input weights `w_ih` | `[D, G]` (`[H, G]` above the first layer) |
//! | recurrent weights `w_hh` | `[H, G]` |
//! | biases `b_ih`, `b_hh` | `[G]` |
//!
//! `G = gates · H`: 1 gate group for Elman, 4 for the LSTM (packed i, f, g, o), 3 for the
//! GRU (packed r, z, n). Weights are applied as `x · W` (Burn's `Linear` convention), so a
//! PyTorch weight `W [G, in]` corresponds to `w = Wᵀ`. See [`RecurrentLayer`].
//!
//! # Two paths, several kernels
//!
//! Each cell has two implementations of its time loop, chosen per call by [`Path`]:
//!
//! - [`Path::Fused`] (what `forward` and `forward_last` use): each layer is one custom
//!   autodiff operation ([`ops::recurrent_layer`]) whose backward pass is hand-written
//!   backpropagation through time, linear in the sequence length.
//! - [`Path::Reference`]: the time loop written with plain Burn tensor ops and
//!   differentiated by Burn's autodiff. It runs on any backend but its backward pass is
//!   quadratic in the sequence length; it is what the fused path is tested against.
//!
//! Inside the fused operation, the backend decides which code runs, and the process-wide
//! [`RecurrencePath`] ([`set_recurrence_path`]) can force the generic loop everywhere:
//!
//! | backend | [`RecurrencePath::Fused`] (default) | [`RecurrencePath::Generic`] |
//! |---|---|---|
//! | flex | the CPU kernel when every tensor is `f32`, else the generic loop | generic loop |
//! | CubeCL (wgpu, CUDA, ...) | the CubeCL kernel when the layer fits in 16 KiB of shared memory, else the generic loop | generic loop |
//! | ndarray | generic loop | generic loop |
//!
//! The generic loop ([`ops::generic`]) is the same recurrence and hand-written backward pass
//! written once over any backend's tensor primitives. Autodiff wraps any of these backends
//! and records each layer as one node. The operation is routed to these backends only
//! (every backend this workspace enables is among them); on a backend outside the list,
//! Burn's dispatch panics with "unsupported dispatch backend" on the fused path, and only
//! [`Path::Reference`] runs.
//!
//! # Example
//!
//! (Not compiled as a doctest, to keep `cargo test` from linking another Burn binary.)
//!
//! ```ignore
//! use burn::prelude::*;
//! use rnn_models::{ElmanConfig, LstmConfig};
//!
//! fn example(x: Tensor<3>, device: &Device) {
//!     // x: [B, T, 28]
//!     let elman = ElmanConfig::new(28, 256).with_num_layers(2).init(device);
//!     let out = elman.forward(x.clone(), None); // out.output [B, T, 256], out.h_n [2, B, 256]
//!     let lstm = LstmConfig::new(28, 20).init(device);
//!     let last = lstm.forward_last(x, None).last(); // [B, 20]
//! }
//! ```
// Burn's `slice` takes one range per dimension: `[a..b]` slices a 1-D tensor, it is not a
// one-element vector of ranges by mistake.
#![allow(clippy::single_range_in_vec_init)]
#![deny(missing_docs)]

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
