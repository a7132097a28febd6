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
//! Two traits:
//! - [`RecurrenceKernels`]: forward (optionally recording a [`Tape`]) and backward for each
//!   cell kind. The default bodies are the backend-generic implementation; a backend can
//!   override them with a specialised kernel.
//! - [`RecurrenceOps`]: the backend extension that Burn's `Dispatch` routes to the tensor's
//!   backend. Its implementation for `Autodiff<B>` registers the hand-written backward.
//!
//! Layout: each op takes the layer input `x` `[B, T, D]` with `w_ih` `[D, G]` and the bias
//! that folds into the input projection `[G]`, so the CPU kernel can fold the projection
//! into the time loop (the generic loop computes it as one matmul first).
//! Recurrent weight `w_hh` `[H, G]` applied as `h · w_hh`, states `[B, H]`.

pub(crate) mod cpu;
mod flex;
pub mod generic;

use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::{Backend, Cube, Dispatch, Flex, backend_extension, tensor::FloatTensor};
use burn::tensor::Tensor;

/// What a forward pass keeps for its backward pass. The meaning of the tensors is private
/// to the kernel that wrote them (forward and backward of one kernel come in pairs).
#[derive(Clone, Debug)]
pub struct Tape<B: Backend> {
    pub tensors: Vec<FloatTensor<B>>,
}

pub struct ElmanGrads<B: Backend> {
    /// `None` unless asked for (the input of the first layer is data).
    pub x: Option<FloatTensor<B>>,
    pub w_ih: FloatTensor<B>,
    pub bias: FloatTensor<B>,
    pub w_hh: FloatTensor<B>,
    pub h0: FloatTensor<B>,
}

pub struct LstmGrads<B: Backend> {
    /// `None` unless asked for (the input of the first layer is data).
    pub x: Option<FloatTensor<B>>,
    pub w_ih: FloatTensor<B>,
    pub bias: FloatTensor<B>,
    pub w_hh: FloatTensor<B>,
    pub h0: FloatTensor<B>,
    pub c0: FloatTensor<B>,
}

pub struct GruGrads<B: Backend> {
    /// `None` unless asked for (the input of the first layer is data).
    pub x: Option<FloatTensor<B>>,
    pub w_ih: FloatTensor<B>,
    pub bias: FloatTensor<B>,
    pub w_hh: FloatTensor<B>,
    pub b_hn: FloatTensor<B>,
    pub h0: FloatTensor<B>,
}

/// Forward and backward of each cell's time loop on one backend's primitives.
///
/// `keep_sequence` selects the output: all hidden states `[B, T, H]`, or only the last one
/// `[B, H]`. The LSTM output carries its final cell state as one extra time row
/// (`[B, T + 1, H]` or `[B, 2, H]`). `save` asks for a [`Tape`] for the backward pass.
pub trait RecurrenceKernels: Backend {
    /// The Elman layer from its input `x` `[B, T, D]`: `h_s = act(x_s · w_ih + bias +
    /// h_{s-1} · w_hh)`. Unlike the gated cells, the input projection is part of the
    /// operation, so a kernel may fold it into the time loop.
    #[allow(clippy::too_many_arguments)]
    fn elman_forward(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        relu: bool,
        keep_sequence: bool,
        save: bool,
    ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
        generic::elman_forward::<Self>(x, w_ih, bias, w_hh, h0, relu, keep_sequence, save)
    }

    #[allow(clippy::too_many_arguments)]
    fn elman_backward(
        tape: Tape<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        relu: bool,
        keep_sequence: bool,
        need_dx: bool,
    ) -> ElmanGrads<Self> {
        generic::elman_backward::<Self>(tape, w_ih, w_hh, grad_out, relu, keep_sequence, need_dx)
    }

    /// The LSTM layer from its input `x` `[B, T, D]`, with `w_ih` `[D, 4H]` and the summed
    /// bias `[4H]`; like the Elman op, a kernel may fold the projection into its loop.
    #[allow(clippy::too_many_arguments)]
    fn lstm_forward(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        keep_sequence: bool,
        save: bool,
    ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
        generic::lstm_forward::<Self>(x, w_ih, bias, w_hh, h0, c0, keep_sequence, save)
    }

    fn lstm_backward(
        tape: Tape<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        keep_sequence: bool,
        need_dx: bool,
    ) -> LstmGrads<Self> {
        generic::lstm_backward::<Self>(tape, w_ih, w_hh, grad_out, keep_sequence, need_dx)
    }

    /// The GRU layer from its input `x` `[B, T, D]`, with `w_ih` `[D, 3H]`, `bias` `[3H]`
    /// (`b_ih` plus `b_hr`, `b_hz`) and `b_hn` `[H]`, which stays inside the candidate.
    #[allow(clippy::too_many_arguments)]
    fn gru_forward(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_hn: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        reset_after: bool,
        keep_sequence: bool,
        save: bool,
    ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
        generic::gru_forward::<Self>(
            x,
            w_ih,
            bias,
            w_hh,
            b_hn,
            h0,
            reset_after,
            keep_sequence,
            save,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn gru_backward(
        tape: Tape<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        reset_after: bool,
        keep_sequence: bool,
        need_dx: bool,
    ) -> GruGrads<Self> {
        generic::gru_backward::<Self>(
            tape,
            w_ih,
            w_hh,
            grad_out,
            reset_after,
            keep_sequence,
            need_dx,
        )
    }
}

impl RecurrenceKernels for Cube {}
#[allow(deprecated)]
impl RecurrenceKernels for burn::backend::NdArray {}

/// The backend extension: one recurrent layer's time loop as one operation.
#[allow(deprecated)]
#[backend_extension(Autodiff, Flex, NdArray, Cube)]
pub trait RecurrenceOps: burn::backend::Backend {
    #[allow(clippy::too_many_arguments)]
    fn rnn_elman(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        relu: bool,
        keep_sequence: bool,
    ) -> FloatTensor<Self>;

    #[allow(clippy::too_many_arguments)]
    fn rnn_lstm(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        keep_sequence: bool,
    ) -> FloatTensor<Self>;

    #[allow(clippy::too_many_arguments)]
    fn rnn_gru(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_hn: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        reset_after: bool,
        keep_sequence: bool,
    ) -> FloatTensor<Self>;
}

macro_rules! forward_only_impl {
    ($backend:ty) => {
        impl RecurrenceOps for $backend {
            fn rnn_elman(
                x: FloatTensor<Self>,
                w_ih: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
                h0: FloatTensor<Self>,
                relu: bool,
                keep_sequence: bool,
            ) -> FloatTensor<Self> {
                Self::elman_forward(x, w_ih, bias, w_hh, h0, relu, keep_sequence, false).0
            }

            fn rnn_lstm(
                x: FloatTensor<Self>,
                w_ih: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
                h0: FloatTensor<Self>,
                c0: FloatTensor<Self>,
                keep_sequence: bool,
            ) -> FloatTensor<Self> {
                Self::lstm_forward(x, w_ih, bias, w_hh, h0, c0, keep_sequence, false).0
            }

            fn rnn_gru(
                x: FloatTensor<Self>,
                w_ih: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
                b_hn: FloatTensor<Self>,
                h0: FloatTensor<Self>,
                reset_after: bool,
                keep_sequence: bool,
            ) -> FloatTensor<Self> {
                Self::gru_forward(
                    x,
                    w_ih,
                    bias,
                    w_hh,
                    b_hn,
                    h0,
                    reset_after,
                    keep_sequence,
                    false,
                )
                .0
            }
        }
    };
}

forward_only_impl!(Flex);
forward_only_impl!(Cube);
#[allow(deprecated)]
mod ndarray_impl {
    use super::*;
    forward_only_impl!(burn::backend::NdArray);
}

#[derive(Debug)]
struct ElmanBackward;

impl<B: RecurrenceKernels> Backward<B, 5> for ElmanBackward {
    type State = (Tape<B>, FloatTensor<B>, FloatTensor<B>, bool, bool);

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [n_x, n_wi, n_b, n_w, n_h0] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (tape, w_ih, w_hh, relu, keep) = ops.state;
        let g = B::elman_backward(tape, w_ih, w_hh, grad, relu, keep, n_x.is_some());
        if let (Some(node), Some(dx)) = (n_x, g.x) {
            grads.register::<B>(node.id, dx);
        }
        for (node, value) in [(n_wi, g.w_ih), (n_b, g.bias), (n_w, g.w_hh), (n_h0, g.h0)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

#[derive(Debug)]
struct LstmBackward;

impl<B: RecurrenceKernels> Backward<B, 6> for LstmBackward {
    type State = (Tape<B>, FloatTensor<B>, FloatTensor<B>, bool);

    fn backward(self, ops: Ops<Self::State, 6>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [n_x, n_wi, n_b, n_w, n_h0, n_c0] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (tape, w_ih, w_hh, keep) = ops.state;
        let g = B::lstm_backward(tape, w_ih, w_hh, grad, keep, n_x.is_some());
        if let (Some(node), Some(dx)) = (n_x, g.x) {
            grads.register::<B>(node.id, dx);
        }
        for (node, value) in [
            (n_wi, g.w_ih),
            (n_b, g.bias),
            (n_w, g.w_hh),
            (n_h0, g.h0),
            (n_c0, g.c0),
        ] {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

#[derive(Debug)]
struct GruBackward;

impl<B: RecurrenceKernels> Backward<B, 6> for GruBackward {
    type State = (Tape<B>, FloatTensor<B>, FloatTensor<B>, bool, bool);

    fn backward(self, ops: Ops<Self::State, 6>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [n_x, n_wi, n_bias, n_w, n_bn, n_h0] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (tape, w_ih, w_hh, reset_after, keep) = ops.state;
        let g = B::gru_backward(tape, w_ih, w_hh, grad, reset_after, keep, n_x.is_some());
        if let (Some(node), Some(dx)) = (n_x, g.x) {
            grads.register::<B>(node.id, dx);
        }
        for (node, value) in [
            (n_wi, g.w_ih),
            (n_bias, g.bias),
            (n_w, g.w_hh),
            (n_bn, g.b_hn),
            (n_h0, g.h0),
        ] {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

impl<B: RecurrenceKernels, C: CheckpointStrategy> RecurrenceOps for Autodiff<B, C> {
    fn rnn_elman(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        relu: bool,
        keep_sequence: bool,
    ) -> FloatTensor<Self> {
        let prep = ElmanBackward
            .prepare::<C>([x.node(), w_ih.node(), bias.node(), w_hh.node(), h0.node()])
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(prep) => {
                let wi = w_ih.primitive().clone();
                let w = w_hh.primitive().clone();
                let (out, tape) = B::elman_forward(
                    x.primitive().clone(),
                    wi.clone(),
                    bias.primitive().clone(),
                    w.clone(),
                    h0.primitive().clone(),
                    relu,
                    keep_sequence,
                    true,
                );
                // The call above passed `true` for the tape, and the kernels always return one then.
                let tape = tape.expect("a tape was requested");
                prep.finish((tape, wi, w, relu, keep_sequence), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(
                B::elman_forward(
                    x.into_primitive(),
                    w_ih.into_primitive(),
                    bias.into_primitive(),
                    w_hh.into_primitive(),
                    h0.into_primitive(),
                    relu,
                    keep_sequence,
                    false,
                )
                .0,
            ),
        }
    }

    fn rnn_lstm(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        keep_sequence: bool,
    ) -> FloatTensor<Self> {
        let prep = LstmBackward
            .prepare::<C>([
                x.node(),
                w_ih.node(),
                bias.node(),
                w_hh.node(),
                h0.node(),
                c0.node(),
            ])
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(prep) => {
                let wi = w_ih.primitive().clone();
                let w = w_hh.primitive().clone();
                let (out, tape) = B::lstm_forward(
                    x.primitive().clone(),
                    wi.clone(),
                    bias.primitive().clone(),
                    w.clone(),
                    h0.primitive().clone(),
                    c0.primitive().clone(),
                    keep_sequence,
                    true,
                );
                // The call above passed `true` for the tape, and the kernels always return one then.
                let tape = tape.expect("a tape was requested");
                prep.finish((tape, wi, w, keep_sequence), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(
                B::lstm_forward(
                    x.into_primitive(),
                    w_ih.into_primitive(),
                    bias.into_primitive(),
                    w_hh.into_primitive(),
                    h0.into_primitive(),
                    c0.into_primitive(),
                    keep_sequence,
                    false,
                )
                .0,
            ),
        }
    }

    fn rnn_gru(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_hn: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        reset_after: bool,
        keep_sequence: bool,
    ) -> FloatTensor<Self> {
        let prep = GruBackward
            .prepare::<C>([
                x.node(),
                w_ih.node(),
                bias.node(),
                w_hh.node(),
                b_hn.node(),
                h0.node(),
            ])
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(prep) => {
                let wi = w_ih.primitive().clone();
                let w = w_hh.primitive().clone();
                let (out, tape) = B::gru_forward(
                    x.primitive().clone(),
                    wi.clone(),
                    bias.primitive().clone(),
                    w.clone(),
                    b_hn.primitive().clone(),
                    h0.primitive().clone(),
                    reset_after,
                    keep_sequence,
                    true,
                );
                // The call above passed `true` for the tape, and the kernels always return one then.
                let tape = tape.expect("a tape was requested");
                prep.finish((tape, wi, w, reset_after, keep_sequence), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(
                B::gru_forward(
                    x.into_primitive(),
                    w_ih.into_primitive(),
                    bias.into_primitive(),
                    w_hh.into_primitive(),
                    b_hn.into_primitive(),
                    h0.into_primitive(),
                    reset_after,
                    keep_sequence,
                    false,
                )
                .0,
            ),
        }
    }
}

/// Elman layer on `Tensor`s, from its input `x` `[B, T, D]` (input projection included):
/// `[B, T, H]` (all steps) or `[B, H]` (last step) as a rank-3 tensor `[B, T or 1, H]`.
pub fn elman_layer(
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    h0: Tensor<2>,
    relu: bool,
    keep_sequence: bool,
) -> Tensor<3> {
    let [b, _, _] = x.dims();
    let h = w_hh.dims()[0];
    let out = <Dispatch as RecurrenceOps>::rnn_elman(
        x.into_dispatch(),
        w_ih.into_dispatch(),
        bias.into_dispatch(),
        w_hh.into_dispatch(),
        h0.into_dispatch(),
        relu,
        keep_sequence,
    );
    if keep_sequence {
        Tensor::<3>::from_dispatch(out)
    } else {
        Tensor::<2>::from_dispatch(out).reshape([b, 1, h])
    }
}

/// LSTM layer from its input `x` `[B, T, D]` (input projection included): returns
/// `[B, T or 1, H]` hidden states and the final cell state `[B, H]`.
pub fn lstm_layer(
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    h0: Tensor<2>,
    c0: Tensor<2>,
    keep_sequence: bool,
) -> (Tensor<3>, Tensor<2>) {
    let [b, t, _] = x.dims();
    let h = w_hh.dims()[0];
    let out = Tensor::<3>::from_dispatch(<Dispatch as RecurrenceOps>::rnn_lstm(
        x.into_dispatch(),
        w_ih.into_dispatch(),
        bias.into_dispatch(),
        w_hh.into_dispatch(),
        h0.into_dispatch(),
        c0.into_dispatch(),
        keep_sequence,
    ));
    let rows = if keep_sequence { t } else { 1 };
    let hidden = out.clone().slice([0..b, 0..rows, 0..h]);
    let cell = out.slice([0..b, rows..rows + 1, 0..h]).reshape([b, h]);
    (hidden, cell)
}

/// GRU layer from its input `x` `[B, T, D]` (input projection included): `[B, T or 1, H]`.
#[allow(clippy::too_many_arguments)]
pub fn gru_layer(
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    b_hn: Tensor<1>,
    h0: Tensor<2>,
    reset_after: bool,
    keep_sequence: bool,
) -> Tensor<3> {
    let [b, _, _] = x.dims();
    let h = w_hh.dims()[0];
    let out = <Dispatch as RecurrenceOps>::rnn_gru(
        x.into_dispatch(),
        w_ih.into_dispatch(),
        bias.into_dispatch(),
        w_hh.into_dispatch(),
        b_hn.into_dispatch(),
        h0.into_dispatch(),
        reset_after,
        keep_sequence,
    );
    if keep_sequence {
        Tensor::<3>::from_dispatch(out)
    } else {
        Tensor::<2>::from_dispatch(out).reshape([b, 1, h])
    }
}
