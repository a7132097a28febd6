//! The recurrence written once over any backend's tensor primitives.
//!
//! The time loop runs on the *inner* (non-autodiff) backend, so it records no autodiff
//! nodes: each step is a handful of primitive ops on `[B, H]`-sized tensors, and the
//! backward pass is hand-written BPTT. Nothing inside the loop touches a whole
//! `[B, T, *]` tensor except through views, which is what keeps the cost linear in T.
//!
//! This file holds the loop-independent parts (the input projection, the weight gradients,
//! the helpers on step tensors) and the dispatch by cell; each cell's time loop, forward and
//! backward, is in its own file under `generic/`.
//!
//! Layout conventions (see `ops.rs`): `xw` is the input projection `[B, T, G]` with
//! every bias that can be folded into it already added; `w_hh` is `[H, G]` and applied as
//! `h · w_hh` (row layout); gates are packed along G in the order i, f, g, o (LSTM) and
//! r, z, n (GRU).

use burn::backend::{Backend, Scalar, Shape, Slice, TensorMetadata, tensor::FloatTensor};

use super::{Cell, LayerGrads, LayerTensors, Tape};

mod elman;
mod gru;
mod lstm;

use elman::{elman_loop_backward, elman_loop_forward};
use gru::{gru_loop_backward, gru_loop_forward};
use lstm::{lstm_loop_backward, lstm_loop_forward};

fn dims3<B: Backend>(x: &FloatTensor<B>) -> [usize; 3] {
    x.shape().dims::<3>()
}

/// `[T, B, G]` (a view of `[B, T, G]`) -> step `t` as `[B, G]`.
fn step<B: Backend>(x_tm: &FloatTensor<B>, t: usize, b: usize, g: usize) -> FloatTensor<B> {
    let s = B::float_slice(
        x_tm.clone(),
        &[
            Slice::new(t as isize, Some(t as isize + 1), 1),
            Slice::full(),
            Slice::full(),
        ],
    );
    B::float_reshape(s, Shape::new([b, g]))
}

/// Columns `start..end` of a `[B, G]` tensor.
fn cols<B: Backend>(x: &FloatTensor<B>, start: usize, end: usize) -> FloatTensor<B> {
    B::float_slice(
        x.clone(),
        &[
            Slice::full(),
            Slice::new(start as isize, Some(end as isize), 1),
        ],
    )
}

/// Stacks `[B, H]` steps into `[T, B, H]`.
fn stack_time<B: Backend>(steps: Vec<FloatTensor<B>>) -> FloatTensor<B> {
    let steps = steps
        .into_iter()
        .map(|s| {
            let [b, h] = s.shape().dims::<2>();
            B::float_reshape(s, Shape::new([1, b, h]))
        })
        .collect();
    B::float_cat(steps, 0)
}

/// `[T, B, H]` -> `[T * B, H]`, the operand of the one large weight-gradient GEMM.
fn flat_time<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let [t, b, h] = dims3::<B>(&x);
    B::float_reshape(x, Shape::new([t * b, h]))
}

fn one_minus<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::float_add_scalar(B::float_neg(x), Scalar::Float(1.0))
}

/// Derivative of the logistic function from its output: `s (1 - s)`.
fn sigmoid_grad<B: Backend>(s: &FloatTensor<B>) -> FloatTensor<B> {
    B::float_mul(s.clone(), one_minus::<B>(s.clone()))
}

/// Derivative of tanh from its output: `1 - y^2`.
fn tanh_grad<B: Backend>(y: &FloatTensor<B>) -> FloatTensor<B> {
    one_minus::<B>(B::float_mul(y.clone(), y.clone()))
}

/// Sums a `[B, H]` gradient over the batch into `[H]`.
fn sum_batch<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let [_, h] = x.shape().dims::<2>();
    B::float_reshape(B::float_sum_dim(x, 0), Shape::new([h]))
}

fn last<B: Backend>(xs: &[FloatTensor<B>]) -> FloatTensor<B> {
    xs[xs.len() - 1].clone()
}

/// Drops the states of earlier steps when neither the output nor a backward pass needs
/// them, so a forward-only "last state" run holds O(1) steps in memory.
fn forget_history<B: Backend>(xs: &mut Vec<FloatTensor<B>>, keep: bool) {
    if !keep {
        xs.clear();
    }
}

/// The output tensor: all steps `[B, T, H]`, or the last step `[B, H]`; for the LSTM the
/// final cell state rides along as one more row (`[B, T + 1, H]` or `[B, 2, H]`), because an
/// autodiff operation has exactly one output.
fn assemble_output<B: Backend>(
    hs: &[FloatTensor<B>],
    extra_last: Option<FloatTensor<B>>,
    keep_sequence: bool,
) -> FloatTensor<B> {
    let mut rows: Vec<FloatTensor<B>> = if keep_sequence {
        hs[1..].to_vec()
    } else if extra_last.is_some() {
        vec![hs[hs.len() - 1].clone()]
    } else {
        return hs[hs.len() - 1].clone();
    };
    rows.extend(extra_last);
    B::float_swap_dims(stack_time::<B>(rows), 0, 1)
}

/// The gradient arriving for step `t`'s hidden state from the output (zero-free: `None`
/// when the output holds only the last state and `t` is not the last step).
struct OutputGrad<B: Backend> {
    grad_tm: FloatTensor<B>,
    b: usize,
    h: usize,
}

impl<B: Backend> OutputGrad<B> {
    fn new(grad_out: FloatTensor<B>) -> Self {
        let (b, h) = {
            let s = grad_out.shape();
            (s[0], s[s.num_dims() - 1])
        };
        let grad_tm = if grad_out.shape().num_dims() == 3 {
            B::float_swap_dims(grad_out, 0, 1)
        } else {
            B::float_reshape(grad_out, Shape::new([1, b, h]))
        };
        Self { grad_tm, b, h }
    }

    fn row(&self, r: usize) -> FloatTensor<B> {
        step::<B>(&self.grad_tm, r, self.b, self.h)
    }

    /// The whole gradient w.r.t. the hidden state after step `s` of `t`: `dh` (from step
    /// `s + 1`; `None` at the last step) plus the output's row for the step, if it has one.
    fn incoming(
        &self,
        dh: Option<FloatTensor<B>>,
        s: usize,
        t: usize,
        keep_sequence: bool,
    ) -> FloatTensor<B> {
        let from_output = if keep_sequence {
            Some(self.row(s))
        } else {
            (s == t - 1).then(|| self.row(0))
        };
        match (dh, from_output) {
            (Some(a), Some(b)) => B::float_add(a, b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            // The loop starts at the last step, which always has an output row.
            (None, None) => unreachable!("the last step always receives a gradient"),
        }
    }
}

/// The gradients of a loop's step inputs, stacked: from per-step `[B, G]` gradients
/// (collected last step first) to `[T, B, G]` time-major, and `d w_hh = sum_s
/// h_{s-1}^T d_s` over the states before each step, `hs[..T]`.
fn recurrent_grads<B: Backend>(
    mut ds: Vec<FloatTensor<B>>,
    hs: &[FloatTensor<B>],
) -> (FloatTensor<B>, FloatTensor<B>) {
    ds.reverse();
    let d_tm = stack_time::<B>(ds);
    let h_prev = flat_time::<B>(stack_time::<B>(hs[..hs.len() - 1].to_vec()));
    let (dw, _) = recurrent_weight_grads::<B>(h_prev, flat_time::<B>(d_tm.clone()), None, None);
    (d_tm, dw)
}

/// What a loop's backward pass returns: the gradient of its projection `[B, T, G]`, of
/// `w_hh`, of the initial state(s), and of the GRU's `b_hn`.
struct LoopGrads<B: Backend> {
    xw: FloatTensor<B>,
    w_hh: FloatTensor<B>,
    h0: FloatTensor<B>,
    c0: Option<FloatTensor<B>>,
    b_hn: Option<FloatTensor<B>>,
}

/// `x · w_ih + bias` for every step: `[B, T, D]` -> `[B, T, G]`, one matmul.
pub fn project<B: Backend>(
    x: FloatTensor<B>,
    w_ih: FloatTensor<B>,
    bias: FloatTensor<B>,
) -> FloatTensor<B> {
    let [b, t, d] = dims3::<B>(&x);
    let g = w_ih.shape()[1];
    let xw = B::float_matmul(B::float_reshape(x, Shape::new([b * t, d])), w_ih);
    let xw = B::float_add(xw, B::float_reshape(bias, Shape::new([1, g])));
    B::float_reshape(xw, Shape::new([b, t, g]))
}

/// The gradients of [`project`] from the gradient of its output `dxw` `[B, T, G]`:
/// (`d x` when `need_dx`, `d w_ih`, `d bias`).
pub fn project_backward<B: Backend>(
    x: FloatTensor<B>,
    w_ih: FloatTensor<B>,
    dxw: FloatTensor<B>,
    need_dx: bool,
) -> (Option<FloatTensor<B>>, FloatTensor<B>, FloatTensor<B>) {
    let [b, t, d] = dims3::<B>(&x);
    let g = w_ih.shape()[1];
    let dxw = B::float_reshape(dxw, Shape::new([b * t, g]));
    let x = B::float_reshape(x, Shape::new([b * t, d]));
    let dw = B::float_matmul(B::float_transpose(x), dxw.clone());
    let db = sum_batch::<B>(dxw.clone());
    let dx = need_dx.then(|| {
        B::float_reshape(
            B::float_matmul(dxw, B::float_transpose(w_ih)),
            Shape::new([b, t, d]),
        )
    });
    (dx, dw, db)
}

/// The recurrent weights' gradients from a whole loop, flattened over batch and time (row
/// `n` is one step of one sequence): `h_prev` `[N, H]` the state before each step, `dxw`
/// `[N, G]` the gradient of the gates' pre-activations. For the GRU, `dq` `[N, H]` is the
/// gradient of its n-columns' recurrent term q, and `rh` `[N, H]` the `r * h` those columns
/// multiply when the reset gate comes before the product (`None`: after it, where they
/// multiply `h`). Returns (`d w_hh` `[H, G]`, the GRU's `d b_hn` `[H]`). Every backend's
/// backward pass ends here: one large matmul per weight block.
pub fn recurrent_weight_grads<B: Backend>(
    h_prev: FloatTensor<B>,
    dxw: FloatTensor<B>,
    dq: Option<FloatTensor<B>>,
    rh: Option<FloatTensor<B>>,
) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
    let h_prev_t = B::float_transpose(h_prev);
    let Some(dq) = dq else {
        return (B::float_matmul(h_prev_t, dxw), None);
    };
    let h = dq.shape()[1];
    let drz = B::float_slice(
        dxw,
        &[Slice::full(), Slice::new(0, Some(2 * h as isize), 1)],
    );
    let b_hn = sum_batch::<B>(dq.clone());
    let w_hh = match rh {
        None => B::float_matmul(h_prev_t, B::float_cat(vec![drz, dq], 1)),
        Some(rh) => B::float_cat(
            vec![
                B::float_matmul(h_prev_t, drz),
                B::float_matmul(B::float_transpose(rh), dq),
            ],
            1,
        ),
    };
    (w_hh, Some(b_hn))
}

/// A layer of any cell: the input projection as one matmul, then the cell's time loop.
/// The tape holds the loop's tensors followed by the input `x`.
pub fn forward<B: Backend>(
    cell: Cell,
    tensors: LayerTensors<B>,
    keep_sequence: bool,
    save: bool,
) -> (FloatTensor<B>, Option<Tape<B>>) {
    let LayerTensors {
        x,
        w_ih,
        bias,
        w_hh,
        b_hn,
        h0,
        c0,
    } = tensors;
    let xw = project::<B>(x.clone(), w_ih, bias);
    let (out, tape) = match cell {
        Cell::Elman { relu } => elman_loop_forward::<B>(xw, w_hh, h0, relu, keep_sequence, save),
        Cell::Lstm => lstm_loop_forward::<B>(xw, w_hh, h0, c0, keep_sequence, save),
        Cell::Gru { reset_after } => {
            gru_loop_forward::<B>(xw, w_hh, b_hn, h0, reset_after, keep_sequence, save)
        }
    };
    let tape = tape.map(|mut tape| {
        tape.tensors.push(x);
        tape
    });
    (out, tape)
}

/// The backward pass of [`forward`] from its tape.
pub fn backward<B: Backend>(
    cell: Cell,
    mut tape: Tape<B>,
    w_ih: FloatTensor<B>,
    w_hh: FloatTensor<B>,
    grad_out: FloatTensor<B>,
    keep_sequence: bool,
    need_dx: bool,
) -> LayerGrads<B> {
    // `forward` pushes the input last onto every tape it builds.
    let x = tape.tensors.pop().expect("the tape ends with the input");
    let grads = match cell {
        Cell::Elman { relu } => elman_loop_backward::<B>(tape, w_hh, grad_out, relu, keep_sequence),
        Cell::Lstm => lstm_loop_backward::<B>(tape, w_hh, grad_out, keep_sequence),
        Cell::Gru { reset_after } => {
            gru_loop_backward::<B>(tape, w_hh, grad_out, reset_after, keep_sequence)
        }
    };
    let (dx, dw_ih, db) = project_backward::<B>(x, w_ih, grads.xw, need_dx);
    LayerGrads {
        x: dx,
        w_ih: dw_ih,
        bias: db,
        w_hh: grads.w_hh,
        b_hn: grads.b_hn,
        h0: grads.h0,
        c0: grads.c0,
    }
}
