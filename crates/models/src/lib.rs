//! Recurrent cells for Burn whose backward pass is linear in the sequence length: each layer
//! is one custom autodiff operation with hand-written backpropagation through time, running a
//! CPU kernel on flex and ndarray (`f32`) and a CubeCL kernel on wgpu and CUDA.
//!
//! Two families of modules, one mechanism underneath:
//!
//! - **Drop-ins for burn::nn** ([`nn`]): [`Rnn`], [`Lstm`], [`Gru`], [`BiRnn`], [`BiLstm`],
//!   [`BiGru`], with burn::nn's configurations (`LstmConfig::new(d_input, d_hidden, bias)`),
//!   forward signatures, state types ([`LstmState`], [`RnnState`]) and shapes: a model
//!   swaps `burn::nn::Lstm` for `rnn_models::Lstm` by changing the import. The table in
//!   [`nn`] lists what differs on purpose.
//! - **Stacks as in PyTorch** ([`ElmanStack`], [`LstmStack`], [`GruStack`]): `L` layers with
//!   dropout between them, states `[L, B, H]`, PyTorch's initialisation by default, and the
//!   parameter layouts and initialisations of the frameworks the rnn-burn experiments
//!   reproduce ([`Biases`], [`RecurrentInit`]). [`ElmanStackConfig::irnn`] is the IRNN.
//!
//! With the `safetensors` feature (on by default), every module loads the weights of
//! PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU` from a `state_dict` saved as safetensors
//! ([`PyTorchWeights`]).
//!
//! # Equations
//!
//! With `x_t` a layer's input at step `t` and `h_{t-1}` its previous hidden state (row
//! vectors), `σ` the logistic function and `⊙` the element-wise product:
//!
//! - Elman: `h_t = act(x_t W_ih + h_{t-1} W_hh + b)`, `act` tanh or ReLU.
//! - LSTM, gates i, f, g, o: `i = σ(·)`, `f = σ(·)`, `g = tanh(·)`, `o = σ(·)` of their
//!   columns of `x_t W_ih + h_{t-1} W_hh + b`; `c_t = f ⊙ c_{t-1} + i ⊙ g`,
//!   `h_t = o ⊙ tanh(c_t)`.
//! - GRU, gates r, z, n: `r = σ(·)`, `z = σ(·)` of their columns of
//!   `x_t W_ih + h_{t-1} W_hh + b`; the candidate is
//!   `n = tanh(x_t W_in + b_in + r ⊙ (h_{t-1} W_hn + b_hn))` with the reset gate after the
//!   product (PyTorch, cuDNN, burn::nn's default) or
//!   `n = tanh(x_t W_in + b_in + (r ⊙ h_{t-1}) W_hn + b_hn)` before it (Cho et al. 2014);
//!   `h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}`.
//!
//! `b` is whichever biases the layer has (`b_ih + b_hh`, `b_ih` alone, or none).
//!
//! # Shapes and layout
//!
//! | tensor | burn::nn drop-ins | stacks |
//! |---|---|---|
//! | input `x` | `[B, T, D]` (`[T, B, D]` without `batch_first`) | `[B, T, D]` |
//! | output | `[B, T, H]` (`[B, T, 2H]` bidirectional) | `[B, T, H]`, or `[B, 1, H]` from `forward_last` |
//! | states `h`, `c` | `[B, H]` (`[2, B, H]` bidirectional) | `[L, B, H]` |
//! | input weights `w_ih` | `[D, G]` | `[D, G]` (`[H, G]` above the first layer) |
//! | recurrent weights `w_hh` | `[H, G]` | `[H, G]` |
//! | biases `b_ih`, `b_hh` | `[G]` | `[G]` |
//!
//! `G = gates · H`: 1 gate group for Elman, 4 for the LSTM (packed i, f, g, o), 3 for the
//! GRU (packed r, z, n). Weights are applied as `x · W` (Burn's `Linear` convention), so a
//! PyTorch weight `W [G, in]` is stored as `Wᵀ` ([`RecurrentLayer`]).
//!
//! # Recurrences and backends
//!
//! Every module has a [`Recurrence`] (`with_recurrence`, or the config field), and
//! nothing else changes what it runs; the stacks' outputs report the recurrence that ran:
//!
//! | backend | [`Recurrence::Fused`] (default) | [`Recurrence::Generic`] | [`Recurrence::TensorOps`] |
//! |---|---|---|---|
//! | flex, ndarray | the CPU kernel when every tensor is `f32`, else the generic loop | generic loop | tensor ops |
//! | wgpu, CUDA (CubeCL) | the CubeCL kernel when the layer fits in shared memory, else the generic loop | generic loop | tensor ops |
//! | any other (LibTorch, remote, ...) | tensor ops | tensor ops | tensor ops |
//!
//! The custom operation is registered for the backends of this crate's features (`flex`,
//! the default, `ndarray`, `wgpu`, `cuda`); on any other backend a layer runs as plain tensor
//! operations ([`Recurrence::TensorOps`]), never failing. The generic loop
//! ([`ops::generic`]) is the recurrence and its hand-written backward pass written once over
//! any backend's primitives.
//!
//! # Example
//!
//! ```
//! use burn::prelude::*;
//! use rnn_models::{LstmConfig, ElmanStackConfig};
//!
//! let device = Device::flex();
//! let x = Tensor::<3>::ones([2, 7, 28], &device); // [B, T, D]
//! // burn::nn's contract: out [B, T, 20], state.hidden and state.cell [B, 20]
//! let lstm = LstmConfig::new(28, 20, true).init(&device);
//! let (out, state) = lstm.forward(x.clone(), None);
//! assert_eq!(state.hidden.dims(), [2, 20]);
//! // PyTorch's: a 2-layer tanh stack, output [B, T, 256], h_n [L, B, 256]
//! let elman = ElmanStackConfig::new(28, 256).with_num_layers(2).init(&device);
//! let out = elman.forward(x, None);
//! assert_eq!(out.h_n.dims(), [2, 2, 256]);
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
pub mod nn;
pub mod ops;
pub mod paper_start;
#[cfg(feature = "safetensors")]
pub mod pytorch;
pub mod recurrence;

pub use elman::{ElmanStack, ElmanStackConfig, ElmanWeights, Nonlinearity};
pub use gru::{GruStack, GruStackConfig};
pub use init::{Biases, RecurrentInit};
pub use layer::{LastGroup, RecurrentLayer, RnnOutput, Steps};
pub use lstm::{LstmOutput, LstmStack, LstmStackConfig};
pub use nn::{
    BiGru, BiGruConfig, BiLstm, BiLstmConfig, BiRnn, BiRnnConfig, Gru, GruConfig, Lstm, LstmConfig,
    LstmState, Rnn, RnnConfig, RnnState,
};
#[cfg(feature = "safetensors")]
pub use pytorch::{PyTorchError, PyTorchWeights, StateDict};
pub use recurrence::Recurrence;
