#![allow(deprecated)] // NdArray (deprecated in Burn 0.22) stays selectable with --backend ndarray.

//! The recurrence of one layer as a single custom autodiff operation.
//!
//! Written with ordinary Burn tensor ops, a time loop slices the input projection once per
//! step; Burn's backward of a slice materialises a zero tensor of the *whole* input and
//! writes the step's gradient into it, so the backward pass costs O(T^2). Here the loop runs
//! on the inner backend (no autodiff nodes), and the backward pass is hand-written BPTT
//! (`generic.rs`) whose per-step work touches only `[B, H]`-sized tensors, with the weight
//! gradient computed as one large matmul after the loop.
//!
//! One mechanism for every cell: the cell kind ([`Cell`]) is a parameter of one operation with
//! one argument list ([`LayerTensors`]), one gradient list ([`LayerGrads`]) and one autodiff
//! registration. Two traits:
//! - [`RecurrenceKernels`]: the forward pass (optionally recording a [`Tape`]) and the
//!   backward pass of a layer, for any cell. The default bodies are the backend-generic loop
//!   (`generic.rs`); a backend overrides them with a specialised kernel (flex and ndarray:
//!   `cpu/bridge.rs` over the kernel in `cpu/`; the CubeCL backends: `cube.rs` over `cube/kernels.rs`) and falls back to the
//!   generic loop for what its kernel does not cover.
//! - [`RecurrenceOps`]: the backend extension that Burn's `Dispatch` routes to the tensor's
//!   backend. Its implementation for `Autodiff<B>` registers the hand-written backward.
//!
//! Adding a backend kernel means implementing the two methods of [`RecurrenceKernels`];
//! adding a cell means a [`Cell`] variant and its step arithmetic in each kernel.
//!
//! Layout: each op takes the layer input `x` `[B, T, D]` with `w_ih` `[D, G]` and the bias
//! that folds into the input projection `[G]`, so the CPU kernel can fold the projection
//! into the time loop (the generic loop computes it as one matmul first).
//! Recurrent weight `w_hh` `[H, G]` applied as `h · w_hh`, states `[B, H]`.

#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) mod cpu;
#[cfg(feature = "cube")]
mod cube;
#[cfg(feature = "cube")]
pub use cube::LaunchPlan;
pub mod generic;
mod tensor_ops;

use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::tensor::Tensor;

use crate::recurrence::{BackendKind, Recurrence};

/// The recurrence of a layer: which cell runs at every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    /// `h_s = act(x_s · w_ih + bias + h_{s-1} · w_hh)`, `act` ReLU or tanh.
    Elman {
        /// ReLU instead of tanh.
        relu: bool,
    },
    /// Gates i, f, g, o packed along G = 4H.
    Lstm,
    /// Gates r, z, n packed along G = 3H; `reset_after` applies the reset gate after the
    /// recurrent product (PyTorch, cuDNN) rather than before it (the original GRU).
    Gru {
        /// The reset gate multiplies `h · w_hn + b_hn` (`true`) or `h` (`false`).
        reset_after: bool,
    },
}

impl Cell {
    /// Every cell the kernels run: Elman tanh and ReLU, the LSTM, the GRU with the reset
    /// gate after and before the recurrent product.
    pub const ALL: [Cell; 5] = [
        Cell::Elman { relu: false },
        Cell::Elman { relu: true },
        Cell::Lstm,
        Cell::Gru { reset_after: true },
        Cell::Gru { reset_after: false },
    ];

    /// Gate groups of H columns in the projection: G = `gates() * H`.
    pub fn gates(self) -> usize {
        match self {
            Cell::Elman { .. } => 1,
            Cell::Lstm => 4,
            Cell::Gru { .. } => 3,
        }
    }
}

/// The tensors of one layer's recurrence, the same list for every cell.
///
/// `x` `[B, T, D]`, `w_ih` `[D, G]`, `bias` `[G]` (every bias that folds into the input
/// projection), `w_hh` `[H, G]`, `h0` `[B, H]`. `b_hn` `[H]` is the GRU's bias inside the
/// candidate (`r * (h · w_hn + b_hn)`), `c0` `[B, H]` the LSTM's initial cell state; a cell
/// without them ignores what is passed there (and gets no gradient for it).
#[derive(Clone, Debug)]
pub struct LayerTensors<B: Backend> {
    /// The layer input `[B, T, D]`.
    pub x: FloatTensor<B>,
    /// Input weights `[D, G]`.
    pub w_ih: FloatTensor<B>,
    /// Every bias that folds into the input projection, `[G]`.
    pub bias: FloatTensor<B>,
    /// Recurrent weights `[H, G]`, applied as `h · w_hh`.
    pub w_hh: FloatTensor<B>,
    /// The GRU's bias inside the candidate, `[H]` (ignored by the other cells).
    pub b_hn: FloatTensor<B>,
    /// Initial hidden state `[B, H]`.
    pub h0: FloatTensor<B>,
    /// The LSTM's initial cell state `[B, H]` (ignored by the other cells).
    pub c0: FloatTensor<B>,
}

/// What a forward pass keeps for its backward pass. The meaning of the tensors is private
/// to the kernel that wrote them (forward and backward of one kernel come in pairs);
/// `fused` says which wrote it, the backend's kernel or the generic loop, so the backward
/// pass matches its forward pass even if the path was switched in between.
#[derive(Clone, Debug)]
pub struct Tape<B: Backend> {
    /// The saved tensors, in an order only the kernel that wrote them relies on.
    pub tensors: Vec<FloatTensor<B>>,
    /// Written by the backend's own kernel (`true`) or by the generic loop (`false`).
    pub fused: bool,
}

impl<B: Backend> Tape<B> {
    /// A tape of the generic loop (`generic.rs`).
    pub fn generic(tensors: Vec<FloatTensor<B>>) -> Self {
        Self {
            tensors,
            fused: false,
        }
    }
}

/// The gradients of a layer, field for field those of [`LayerTensors`]; `None` where the
/// cell has no such tensor, and for `x` unless asked for (a first layer's input is data).
pub struct LayerGrads<B: Backend> {
    /// Gradient of the layer input `[B, T, D]`, when asked for.
    pub x: Option<FloatTensor<B>>,
    /// Gradient of the input weights `[D, G]`.
    pub w_ih: FloatTensor<B>,
    /// Gradient of the folded bias `[G]`.
    pub bias: FloatTensor<B>,
    /// Gradient of the recurrent weights `[H, G]`.
    pub w_hh: FloatTensor<B>,
    /// Gradient of the GRU's `b_hn` `[H]` (GRU only).
    pub b_hn: Option<FloatTensor<B>>,
    /// Gradient of the initial hidden state `[B, H]`.
    pub h0: FloatTensor<B>,
    /// Gradient of the LSTM's initial cell state `[B, H]` (LSTM only).
    pub c0: Option<FloatTensor<B>>,
}

/// Forward and backward of a layer's time loop on one backend's primitives.
///
/// `keep_sequence` selects the output: all hidden states `[B, T, H]`, or only the last one
/// `[B, H]`. The LSTM output carries its final cell state as one extra time row
/// (`[B, T + 1, H]` or `[B, 2, H]`), because an autodiff operation has one output. `save`
/// asks for a [`Tape`] for the backward pass (a kernel returns one exactly then).
pub trait RecurrenceKernels: Backend {
    /// The forward pass of a layer of `cell` over `tensors`: the output described above, and
    /// a [`Tape`] when `save` is set. `kernel` allows the backend's own kernel (otherwise the
    /// generic loop runs). The default body is the generic loop.
    fn recurrence_forward(
        cell: Cell,
        tensors: LayerTensors<Self>,
        keep_sequence: bool,
        save: bool,
        kernel: bool,
    ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
        let _ = kernel;
        generic::forward::<Self>(cell, tensors, keep_sequence, save)
    }

    /// From the tape of [`RecurrenceKernels::recurrence_forward`] and the gradient of its
    /// output; `need_dx` asks for the gradient of the layer input. The default body is the
    /// generic loop's backward pass.
    fn recurrence_backward(
        cell: Cell,
        tape: Tape<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        keep_sequence: bool,
        need_dx: bool,
    ) -> LayerGrads<Self> {
        generic::backward::<Self>(cell, tape, w_ih, w_hh, grad_out, keep_sequence, need_dx)
    }
}

/// The backend extension: one recurrent layer's time loop as one operation (the arguments
/// are those of [`LayerTensors`]).
#[allow(deprecated)]
#[backend_extension(
    Autodiff,
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(feature = "cube")
)]
pub trait RecurrenceOps: burn::backend::Backend {
    /// One layer of `cell` over the given tensors: the output of
    /// [`RecurrenceKernels::recurrence_forward`] (all states or the last, the LSTM's with
    /// its final cell state as one more row; the backend's kernel only if `kernel`). On
    /// `Autodiff<B>`, when a gradient is tracked, the operation is recorded with the
    /// hand-written backward pass; otherwise, and on the other backends, it runs forward
    /// only.
    #[allow(clippy::too_many_arguments)]
    fn rnn_layer(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_hn: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        cell: Cell,
        keep_sequence: bool,
        kernel: bool,
    ) -> FloatTensor<Self>;
}

macro_rules! forward_only_impl {
    ($backend:ty) => {
        impl RecurrenceOps for $backend {
            fn rnn_layer(
                x: FloatTensor<Self>,
                w_ih: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
                b_hn: FloatTensor<Self>,
                h0: FloatTensor<Self>,
                c0: FloatTensor<Self>,
                cell: Cell,
                keep_sequence: bool,
                kernel: bool,
            ) -> FloatTensor<Self> {
                let tensors = LayerTensors {
                    x,
                    w_ih,
                    bias,
                    w_hh,
                    b_hn,
                    h0,
                    c0,
                };
                Self::recurrence_forward(cell, tensors, keep_sequence, false, kernel).0
            }
        }
    };
}

#[cfg(feature = "flex")]
forward_only_impl!(burn::backend::Flex);
#[cfg(feature = "cube")]
forward_only_impl!(burn::backend::Cube);
#[cfg(feature = "ndarray")]
#[allow(deprecated)]
mod ndarray_impl {
    use super::*;
    forward_only_impl!(burn::backend::NdArray);
}

#[derive(Debug)]
struct RecurrenceBackward;

impl<B: RecurrenceKernels> Backward<B, 7> for RecurrenceBackward {
    type State = (Cell, Tape<B>, FloatTensor<B>, FloatTensor<B>, bool);

    fn backward(self, ops: Ops<Self::State, 7>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [n_x, n_wi, n_b, n_w, n_bn, n_h0, n_c0] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (cell, tape, w_ih, w_hh, keep) = ops.state;
        let g = B::recurrence_backward(cell, tape, w_ih, w_hh, grad, keep, n_x.is_some());
        for (node, value) in [
            (n_x, g.x),
            (n_wi, Some(g.w_ih)),
            (n_b, Some(g.bias)),
            (n_w, Some(g.w_hh)),
            (n_bn, g.b_hn),
            (n_h0, Some(g.h0)),
            (n_c0, g.c0),
        ] {
            if let (Some(node), Some(value)) = (node, value) {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

impl<B: RecurrenceKernels, C: CheckpointStrategy> RecurrenceOps for Autodiff<B, C> {
    fn rnn_layer(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_hn: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        cell: Cell,
        keep_sequence: bool,
        kernel: bool,
    ) -> FloatTensor<Self> {
        let inner = LayerTensors::<B> {
            x: x.primitive().clone(),
            w_ih: w_ih.primitive().clone(),
            bias: bias.primitive().clone(),
            w_hh: w_hh.primitive().clone(),
            b_hn: b_hn.primitive().clone(),
            h0: h0.primitive().clone(),
            c0: c0.primitive().clone(),
        };
        let nodes = [&x, &w_ih, &bias, &w_hh, &b_hn, &h0, &c0].map(|t| t.node());
        match RecurrenceBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (wi, w) = (inner.w_ih.clone(), inner.w_hh.clone());
                let (out, tape) = B::recurrence_forward(cell, inner, keep_sequence, true, kernel);
                // `save` was true, and every kernel returns a tape then.
                let tape = tape.expect("a tape was requested");
                prep.finish((cell, tape, wi, w, keep_sequence), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::recurrence_forward(cell, inner, keep_sequence, false, kernel).0)
            }
        }
    }
}

/// How the fused path launches a layer of `cell` (batch `batch`, hidden size `hidden`,
/// elements of `dtype`) on a CubeCL device (wgpu, CUDA): batch rows and cubes, units per
/// cube, whether the recurrent matrix sits in shared memory, how the products are split.
/// `None` where the fused path does not launch the CubeCL kernel for it: another backend,
/// or a layer too large for any device's shared memory, which runs the generic loop.
/// `RNN_BURN_CUBE_ROWS` and `RNN_BURN_CUBE_SPLITS` count as at a launch.
#[cfg(feature = "cube")]
pub fn cube_launch_plan(
    device: &burn::tensor::Device,
    cell: Cell,
    batch: usize,
    hidden: usize,
    dtype: burn::tensor::DType,
) -> Option<LaunchPlan> {
    cube::launch_plan(device, cell, batch, hidden, dtype.size())
}

/// One layer of any cell from its input `x` `[B, T, D]` (input projection included; the
/// tensors as in [`LayerTensors`], zeros where the cell takes no `b_hn` or `c0`): the hidden
/// states `[B, T, H]` (or `[B, 1, H]`, the last step, unless `keep_sequence`), and for the
/// LSTM the final cell state `[B, H]`.
///
/// `recurrence` chooses what runs ([`Recurrence`]); on a backend the custom
/// operation is not registered for, the tensor-op loop runs whatever the choice. The
/// output says which ran ([`LayerOutput::recurrence`]).
#[allow(clippy::too_many_arguments)]
pub fn recurrent_layer(
    cell: Cell,
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    b_hn: Option<Tensor<1>>,
    h0: Tensor<2>,
    c0: Option<Tensor<2>>,
    keep_sequence: bool,
    recurrence: Recurrence,
) -> LayerOutput {
    let recurrence = recurrence.resolved(BackendKind::of(&x.device()));
    let (states, cell_state) = layer_by(
        recurrence,
        cell,
        x,
        w_ih,
        bias,
        w_hh,
        b_hn,
        h0,
        c0,
        keep_sequence,
    );
    LayerOutput {
        states,
        cell_state,
        recurrence,
    }
}

/// What [`recurrent_layer`] returns.
#[derive(Debug, Clone)]
pub struct LayerOutput {
    /// The hidden states `[B, T, H]`, or the last step's `[B, 1, H]`.
    pub states: Tensor<3>,
    /// The LSTM's final cell state `[B, H]`.
    pub cell_state: Option<Tensor<2>>,
    /// What ran the time loop.
    pub recurrence: Recurrence,
}

/// [`recurrent_layer`] once the recurrence is known.
#[allow(clippy::too_many_arguments)]
fn layer_by(
    recurrence: Recurrence,
    cell: Cell,
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    b_hn: Option<Tensor<1>>,
    h0: Tensor<2>,
    c0: Option<Tensor<2>>,
    keep_sequence: bool,
) -> (Tensor<3>, Option<Tensor<2>>) {
    let device = x.device();
    let [b, t, _] = x.dims();
    let [_, h] = h0.dims();
    // A tensor the cell does not read is replaced by zeros: the operation returns no
    // gradient for it, which a tracked tensor would wait for in vain.
    let b_hn = match (cell, b_hn) {
        (Cell::Gru { .. }, Some(b_hn)) => b_hn,
        _ => Tensor::zeros([h], &device),
    };
    let c0 = match (cell, c0) {
        (Cell::Lstm, Some(c0)) => c0,
        _ => Tensor::zeros([b, h], &device),
    };
    let kernel = match recurrence {
        Recurrence::TensorOps => {
            return tensor_ops::layer(cell, x, w_ih, bias, w_hh, b_hn, h0, c0, keep_sequence);
        }
        Recurrence::Fused => true,
        Recurrence::Generic => false,
    };
    let out = <Dispatch as RecurrenceOps>::rnn_layer(
        x.into_dispatch(),
        w_ih.into_dispatch(),
        bias.into_dispatch(),
        w_hh.into_dispatch(),
        b_hn.into_dispatch(),
        h0.into_dispatch(),
        c0.into_dispatch(),
        cell,
        keep_sequence,
        kernel,
    );
    let rows = if keep_sequence { t } else { 1 };
    match cell {
        Cell::Lstm => {
            let out = Tensor::<3>::from_dispatch(out);
            let hidden = out.clone().slice([0..b, 0..rows, 0..h]);
            let cell_state = out.slice([0..b, rows..rows + 1, 0..h]).reshape([b, h]);
            (hidden, Some(cell_state))
        }
        _ if keep_sequence => (Tensor::<3>::from_dispatch(out), None),
        _ => (Tensor::<2>::from_dispatch(out).reshape([b, 1, h]), None),
    }
}

#[cfg(test)]
#[path = "../tests/support/compare.rs"]
pub(crate) mod compare;

#[cfg(all(test, feature = "flex"))]
mod tests;
