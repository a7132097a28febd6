//! Drop-in replacements for burn::nn's recurrent modules: [`Rnn`], [`Lstm`], [`Gru`] and the
//! bidirectional [`BiRnn`], [`BiLstm`], [`BiGru`], with burn::nn's constructor arguments,
//! configuration fields, forward signatures, state types ([`LstmState`] and [`RnnState`]
//! are burn::nn's own) and shapes, running on this crate's fused recurrence.
//!
//! Each is one layer, like burn::nn's; the multi-layer stacks of PyTorch's `nn.RNN`,
//! `nn.LSTM` and `nn.GRU` are [`crate::ElmanStack`], [`crate::LstmStack`] and
//! [`crate::GruStack`]. The differences from burn::nn, all on purpose:
//!
//! | burn::nn | here |
//! |---|---|
//! | one `Linear` pair per gate (`GateController`) | the gates packed in one `RecurrentLayer`: `w_ih` `[D, G]`, `w_hh` `[H, G]`, `b_ih`, `b_hh` `[G]` (records are not interchangeable) |
//! | `initializer` only | `initializer` (same default, same distribution per gate block), or a framework's rule in `init` |
//! | `gate_activation`, `cell_activation`, `hidden_activation` (any) | fixed sigmoid and tanh; the `Rnn`'s `hidden_activation` tanh or ReLU |
//! | `clip`, the LSTM's `input_forget` | not available |
//! | — | `recurrence`: what runs the time loop ([`Recurrence`]) |

mod bidirectional;
mod single;

pub use bidirectional::{BiGru, BiGruConfig, BiLstm, BiLstmConfig, BiRnn, BiRnnConfig};
pub use burn::nn::{LstmState, RnnState};
pub use single::{Gru, GruConfig, Lstm, LstmConfig, Rnn, RnnConfig};

use burn::nn::Initializer;
use burn::nn::activation::ActivationConfig;
use burn::prelude::*;

use crate::init::{Biases, RecurrentInit};
use crate::layer::RecurrentLayer;
use crate::ops::Cell;
use crate::recurrence::Recurrence;

/// Builds the layer of a burn::nn-style module: `bias` means both biases (as burn::nn's
/// gates, which have a bias on each side), the weights drawn by `init` when given, else by
/// `initializer`.
pub(super) fn layer(
    d_input: usize,
    d_hidden: usize,
    gates: usize,
    bias: bool,
    initializer: &Initializer,
    init: &Option<RecurrentInit>,
    device: &Device,
) -> RecurrentLayer {
    let biases = if bias { Biases::Two } else { Biases::None };
    let rule = init
        .clone()
        .unwrap_or_else(|| RecurrentInit::Burn(initializer.clone()));
    RecurrentLayer::new(d_input, d_hidden, gates, biases, false, &rule, device)
}

/// Runs one layer over a whole sequence in burn::nn's conventions: `x` batch-first
/// `[B, T, D]` or, without `batch_first`, `[T, B, D]`; `reverse` reads the sequence from its
/// end (output `t` is then the state after reading steps `T - 1` down to `t`). Returns the
/// output in the layout of `x` and the final `h` (and the LSTM's `c`) `[B, H]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_layer(
    layer: &RecurrentLayer,
    cell: Cell,
    x: Tensor<3>,
    batch_first: bool,
    reverse: bool,
    h0: Option<Tensor<2>>,
    c0: Option<Tensor<2>>,
    recurrence: Recurrence,
) -> (Tensor<3>, Tensor<2>, Option<Tensor<2>>) {
    let x = if batch_first { x } else { x.swap_dims(0, 1) };
    let x = if reverse { x.flip([1]) } else { x };
    let [b, t, _] = x.dims();
    let h = layer.hidden_size();
    let device = x.device();
    let h0 = h0.unwrap_or_else(|| Tensor::zeros([b, h], &device));
    let c0 = (cell == Cell::Lstm).then(|| c0.unwrap_or_else(|| Tensor::zeros([b, h], &device)));
    let ran = layer.run(cell, x, h0, c0, true, recurrence);
    let (out, c) = (ran.states, ran.cell_state);
    let h_n = out.clone().slice([0..b, t - 1..t, 0..h]).reshape([b, h]);
    let out = if reverse { out.flip([1]) } else { out };
    let out = if batch_first {
        out
    } else {
        out.swap_dims(0, 1)
    };
    (out, h_n, c)
}

/// The Elman cell of an activation: tanh or ReLU, the two the fused kernels run.
///
/// # Panics
///
/// For any other activation.
pub(super) fn elman_cell(activation: &ActivationConfig) -> Cell {
    match activation {
        ActivationConfig::Tanh => Cell::Elman { relu: false },
        ActivationConfig::Relu => Cell::Elman { relu: true },
        other => panic!("rnn_models::Rnn runs tanh or ReLU, not {other:?}"),
    }
}

/// Two directions' outputs side by side `[.., 2H]` and their final states stacked `[2, B, H]`.
pub(super) fn join(
    forward: (Tensor<3>, Tensor<2>, Option<Tensor<2>>),
    reverse: (Tensor<3>, Tensor<2>, Option<Tensor<2>>),
) -> (Tensor<3>, Tensor<3>, Option<Tensor<3>>) {
    let out = Tensor::cat(vec![forward.0, reverse.0], 2);
    let h = Tensor::stack(vec![forward.1, reverse.1], 0);
    let c = forward
        .2
        .zip(reverse.2)
        .map(|(f, r)| Tensor::stack(vec![f, r], 0));
    (out, h, c)
}

/// Direction `i` (0 forward, 1 reverse) of a `[2, B, H]` state.
pub(super) fn direction(state: &Tensor<3>, i: usize) -> Tensor<2> {
    let [_, b, h] = state.dims();
    state.clone().slice([i..i + 1, 0..b, 0..h]).reshape([b, h])
}
