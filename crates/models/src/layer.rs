//! One recurrent layer's parameters, shared by every cell kind, and the input projection.

use burn::module::Param;
use burn::prelude::*;

use crate::init::{Biases, RecurrentInit};

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
            b: (biases != Biases::None).then(|| init.bias(hidden, 1, device)),
        });
        Self {
            w_ih: init.input_weight(d_in, hidden, packed, device),
            w_hh: init.recurrent_weight(hidden, packed, device),
            b_ih: (biases != Biases::None).then(|| init.bias(hidden, packed, device)),
            b_hh: (biases == Biases::Two).then(|| init.bias(hidden, gates, device)),
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

    /// `x [B, T, D] · w_ih` for all steps in one matmul, plus `bias` (`[G]`) if any.
    pub(crate) fn project(&self, x: Tensor<3>, bias: Option<Tensor<1>>) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let w_ih = self.input_weights();
        let g = w_ih.dims()[1];
        let xw = x.reshape([b * t, d]).matmul(w_ih);
        let xw = match bias {
            Some(bias) => xw + bias.unsqueeze::<2>(),
            None => xw,
        };
        xw.reshape([b, t, g])
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
}

/// Which implementation of the time loop runs, chosen per call of a cell's `run` (`forward`
/// and `forward_last` take [`Path::Fused`]). Both compute the same function; they differ in
/// speed, memory and in how the gradient is obtained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Path {
    /// The recurrence as one custom operation with a hand-written backward pass
    /// (linear in the sequence length), one per layer ([`crate::ops::recurrent_layer`]).
    /// Inside it the backend's specialised kernel runs where there is one (flex on `f32`:
    /// the CPU kernel; the CubeCL backends: a CubeCL kernel), the backend-generic loop
    /// elsewhere or when [`crate::RecurrencePath::Generic`] is set.
    #[default]
    Fused,
    /// Plain Burn tensor ops step by step, differentiated by Burn's autodiff. Slow on long
    /// sequences (quadratic backward); kept as the reference the fused path is tested against.
    /// Independent of [`crate::RecurrencePath`], and runs on any backend.
    Reference,
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

/// One time step `[B, G]` of `xw [B, T, G]` (reference path only).
pub(crate) fn time_step(xw: &Tensor<3>, t: usize) -> Tensor<2> {
    let [b, _, g] = xw.dims();
    xw.clone().slice([0..b, t..t + 1, 0..g]).reshape([b, g])
}

/// Columns `start..end` of a `[B, G]` tensor.
pub(crate) fn columns(x: &Tensor<2>, start: usize, end: usize) -> Tensor<2> {
    let [b, _] = x.dims();
    x.clone().slice([0..b, start..end])
}
