//! One recurrent layer's parameters and its run, shared by every cell kind, and the stack of
//! layers every multi-layer module runs.

use burn::module::Param;
use burn::nn::Dropout;
use burn::prelude::*;

use crate::init::{Biases, RecurrentInit};
use crate::ops::{Cell, LayerOutput, recurrent_layer};
use crate::recurrence::Recurrence;

/// The weights of one layer, gates packed along the last axis (`G = gates * H`).
///
/// Weights are stored in row layout and applied as `x · w` (Burn's `Linear` convention);
/// a PyTorch-style `W [H, in]` maps to `w = W^T`. Which biases a layer has follows the
/// framework being reproduced ([`Biases`]), so parameter lists match the tutorials tensor for
/// tensor. A framework that stores the last gate group in tensors of its own (MinPy's GRU
/// keeps the candidate's `Wxh`, `Whh`, `bh` apart from the gates' `Wx`, `Wh`, `b`) gets them
/// in [`RecurrentLayer::split`]; the cell sees the concatenation either way.
#[derive(Module, Debug)]
pub struct RecurrentLayer {
    /// Input weights `[d_in, G]` (`[d_in, G - H]` when the last group is split off).
    pub w_ih: Param<Tensor<2>>,
    /// Recurrent weights `[H, G]` (`[H, G - H]` when split).
    pub w_hh: Param<Tensor<2>>,
    /// Input-side bias `[G]` (`[G - H]` when split), or the layer's only bias.
    pub b_ih: Option<Param<Tensor<1>>>,
    /// Recurrent-side bias `[G]`.
    pub b_hh: Option<Param<Tensor<1>>>,
    /// The last gate group's own tensors, when the framework stores them apart.
    pub split: Option<LastGroup>,
}

/// The last gate group of a layer, stored apart (see [`RecurrentLayer`]).
#[derive(Module, Debug)]
pub struct LastGroup {
    /// Input weights `[d_in, H]`.
    pub w_ih: Param<Tensor<2>>,
    /// Recurrent weights `[H, H]`.
    pub w_hh: Param<Tensor<2>>,
    /// Its bias `[H]` (present when the layer has one).
    pub b: Option<Param<Tensor<1>>>,
}

impl RecurrentLayer {
    /// A layer of `gates` gate groups of `hidden` units; with `split_last`, the last group's
    /// tensors are separate parameters (each initialised by its own shape).
    pub(crate) fn new(
        d_in: usize,
        hidden: usize,
        gates: usize,
        biases: Biases,
        split_last: bool,
        init: &RecurrentInit,
        device: &Device,
    ) -> Self {
        let packed = if split_last { gates - 1 } else { gates };
        let split = split_last.then(|| LastGroup {
            w_ih: init.input_weight(d_in, hidden, 1, device),
            w_hh: init.recurrent_weight(hidden, 1, device),
            b: (biases != Biases::None).then(|| init.bias(hidden, 1, d_in, device)),
        });
        Self {
            w_ih: init.input_weight(d_in, hidden, packed, device),
            w_hh: init.recurrent_weight(hidden, packed, device),
            b_ih: (biases != Biases::None).then(|| init.bias(hidden, packed, d_in, device)),
            b_hh: (biases == Biases::Two).then(|| init.bias(hidden, gates, hidden, device)),
            split,
        }
    }

    /// The layer's hidden units `H` (the rows of `w_hh`).
    pub fn hidden_size(&self) -> usize {
        self.w_hh.dims()[0]
    }

    /// The input weights of all gate groups, `[d_in, G]`.
    pub fn input_weights(&self) -> Tensor<2> {
        match &self.split {
            Some(last) => Tensor::cat(vec![self.w_ih.val(), last.w_ih.val()], 1),
            None => self.w_ih.val(),
        }
    }

    /// The recurrent weights of all gate groups, `[H, G]`.
    pub fn recurrent_weights(&self) -> Tensor<2> {
        match &self.split {
            Some(last) => Tensor::cat(vec![self.w_hh.val(), last.w_hh.val()], 1),
            None => self.w_hh.val(),
        }
    }

    /// The input-side bias of all gate groups, `[G]`, if the layer has one.
    pub fn input_bias(&self) -> Option<Tensor<1>> {
        let b = self.b_ih.as_ref()?.val();
        Some(match self.split.as_ref().and_then(|last| last.b.as_ref()) {
            Some(last) => Tensor::cat(vec![b, last.val()], 0),
            None => b,
        })
    }

    /// `b_ih + b_hh`, the bias that an Elman or LSTM cell can add to the input projection.
    pub(crate) fn summed_bias(&self) -> Option<Tensor<1>> {
        match (self.input_bias(), &self.b_hh) {
            (Some(a), Some(b)) => Some(a + b.val()),
            (Some(a), None) => Some(a),
            (None, Some(b)) => Some(b.val()),
            (None, None) => None,
        }
    }

    /// Runs this layer as `cell` on `x` `[B, T, D]` from `h0` `[B, H]` (and the LSTM's `c0`,
    /// zeros when `None`): the hidden states `[B, T, H]`, or only the last `[B, 1, H]`
    /// unless `keep_sequence`, the LSTM's final cell state, and what ran the time loop.
    ///
    /// The biases fold into the input projection, except the GRU's `b_hn`, which stays
    /// inside the candidate where the reset gate multiplies it.
    pub fn run(
        &self,
        cell: Cell,
        x: Tensor<3>,
        h0: Tensor<2>,
        c0: Option<Tensor<2>>,
        keep_sequence: bool,
        recurrence: Recurrence,
    ) -> LayerOutput {
        let h = self.hidden_size();
        let device = x.device();
        let (bias, b_hn) = match cell {
            // b_hr and b_hz fold into the input projection; b_hn stays inside the candidate.
            Cell::Gru { .. } => match (self.input_bias(), &self.b_hh) {
                (b_ih, Some(b_hh)) => {
                    let b_hh = b_hh.val();
                    let rz = b_hh.clone().slice([0..2 * h]);
                    let folded = Tensor::cat(vec![rz, Tensor::zeros([h], &device)], 0);
                    let bias = match b_ih {
                        Some(b_ih) => b_ih + folded,
                        None => folded,
                    };
                    (Some(bias), Some(b_hh.slice([2 * h..3 * h])))
                }
                (b_ih, None) => (b_ih, None),
            },
            _ => (self.summed_bias(), None),
        };
        // The operation always takes a bias; a bias-free layer passes zeros.
        let bias = bias.unwrap_or_else(|| Tensor::zeros([cell.gates() * h], &device));
        recurrent_layer(
            cell,
            x,
            self.input_weights(),
            bias,
            self.recurrent_weights(),
            b_hn,
            h0,
            c0,
            keep_sequence,
            recurrence,
        )
    }
}

/// `param` holding `value` instead, keeping its id and whether it is trained (on a device
/// without autodiff, nothing is).
pub(crate) fn replace_value<const D: usize>(
    param: Param<Tensor<D>>,
    value: Tensor<D>,
) -> Param<Tensor<D>> {
    let trained = param.val().is_require_grad();
    // Detached, so the parameter stays a leaf of the autodiff graph.
    let value = value.detach();
    param.map(move |_| if trained { value.require_grad() } else { value })
}

/// The final states of a stack: `h` of every layer `[L, B, H]`, and the LSTM's `c`; and
/// what ran the layers' time loops (one choice and one device for all of them).
pub(crate) struct StackFinal {
    pub(crate) h: Tensor<3>,
    pub(crate) c: Option<Tensor<3>>,
    pub(crate) recurrence: Recurrence,
}

/// Runs a stack of layers of one `cell`: layer `l > 0` reads the output of layer `l - 1`
/// (through `dropout`); `h0` and `c0` are `[L, B, H]` (zeros when `None`). Returns the last
/// layer's output (`[B, T, H]`, or `[B, 1, H]` with [`Steps::Last`]) and every layer's
/// final states.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_stack(
    layers: &[RecurrentLayer],
    dropout: &Dropout,
    cell: Cell,
    x: Tensor<3>,
    h0: Option<&Tensor<3>>,
    c0: Option<&Tensor<3>>,
    steps: Steps,
    recurrence: Recurrence,
) -> (Tensor<3>, StackFinal) {
    let [b, _, _] = x.dims();
    let device = x.device();
    let n = layers.len();
    let mut input = x;
    let (mut hs, mut cs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut recurrence = recurrence.on(&device);
    for (l, layer) in layers.iter().enumerate() {
        let h = layer.hidden_size();
        let h0 = initial_state(h0, l, b, h, &device);
        let c0 = (cell == Cell::Lstm).then(|| initial_state(c0, l, b, h, &device));
        let keep = l + 1 < n || steps == Steps::All;
        let ran = layer.run(cell, input, h0, c0, keep, recurrence);
        recurrence = ran.recurrence;
        let (out, c) = (ran.states, ran.cell_state);
        let [_, t, _] = out.dims();
        hs.push(out.clone().slice([0..b, t - 1..t, 0..h]).reshape([1, b, h]));
        if let Some(c) = c {
            cs.push(c.reshape([1, b, h]));
        }
        input = if l + 1 < n { dropout.forward(out) } else { out };
    }
    let c = (!cs.is_empty()).then(|| Tensor::cat(cs, 0));
    (
        input,
        StackFinal {
            h: Tensor::cat(hs, 0),
            c,
            recurrence,
        },
    )
}

/// Which hidden states a forward pass returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Steps {
    /// The last layer's hidden state at every step: `[B, T, H]`.
    All,
    /// Only the last step's, `[B, 1, H]`; the `[B, T, H]` output is never built.
    Last,
}

/// What an Elman or GRU stack returns.
#[derive(Debug, Clone)]
pub struct RnnOutput {
    /// Hidden states of the last layer: `[B, T, H]`, or `[B, 1, H]` with [`Steps::Last`].
    pub output: Tensor<3>,
    /// Final hidden state of every layer: `[L, B, H]`.
    pub h_n: Tensor<3>,
    /// What ran the layers' time loops.
    pub recurrence: Recurrence,
}

impl RnnOutput {
    /// The last layer's final hidden state `[B, H]`.
    pub fn last(&self) -> Tensor<2> {
        let [b, t, h] = self.output.dims();
        self.output
            .clone()
            .slice([0..b, t - 1..t, 0..h])
            .reshape([b, h])
    }
}

/// Zeros for a missing initial state, or layer `l` of a given `[L, B, H]` state.
pub(crate) fn initial_state(
    state: Option<&Tensor<3>>,
    layer: usize,
    batch: usize,
    hidden: usize,
    device: &Device,
) -> Tensor<2> {
    match state {
        Some(s) => s
            .clone()
            .slice([layer..layer + 1, 0..batch, 0..hidden])
            .reshape([batch, hidden]),
        None => Tensor::zeros([batch, hidden], device),
    }
}
