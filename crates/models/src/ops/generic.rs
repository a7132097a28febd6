//! The recurrence written once over any backend's tensor primitives.
//!
//! The time loop runs on the *inner* (non-autodiff) backend, so it records no autodiff
//! nodes: each step is a handful of primitive ops on `[B, H]`-sized tensors, and the
//! backward pass below is hand-written BPTT. Nothing inside the loop touches a whole
//! `[B, T, *]` tensor except through views, which is what keeps the cost linear in T.
//!
//! Layout conventions (see `ops/mod.rs`): `xw` is the input projection `[B, T, G]` with
//! every bias that can be folded into it already added; `w_hh` is `[H, G]` and applied as
//! `h · w_hh` (row layout); gates are packed along G in the order i, f, g, o (LSTM) and
//! r, z, n (GRU).

use burn::backend::{Backend, Scalar, Shape, Slice, TensorMetadata, tensor::FloatTensor};

use super::{Cell, LayerGrads, LayerTensors, Tape};

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

/// The Elman time loop on a precomputed projection `xw` `[B, T, H]`.
fn elman_loop_forward<B: Backend>(
    xw: FloatTensor<B>,
    w_hh: FloatTensor<B>,
    h0: FloatTensor<B>,
    relu: bool,
    keep_sequence: bool,
    save: bool,
) -> (FloatTensor<B>, Option<Tape<B>>) {
    let [b, t, h] = dims3::<B>(&xw);
    let x_tm = B::float_swap_dims(xw, 0, 1);
    let mut hs = Vec::with_capacity(t + 1);
    hs.push(h0);
    for s in 0..t {
        let prev = last::<B>(&hs);
        let pre = B::float_add(
            step::<B>(&x_tm, s, b, h),
            B::float_matmul(prev, w_hh.clone()),
        );
        forget_history::<B>(&mut hs, save || keep_sequence);
        hs.push(if relu {
            B::relu(pre)
        } else {
            B::float_tanh(pre)
        });
    }
    let out = assemble_output::<B>(&hs, None, keep_sequence);
    (out, save.then_some(Tape::generic(hs)))
}

/// Backward of [`elman_loop_forward`].
fn elman_loop_backward<B: Backend>(
    tape: Tape<B>,
    w_hh: FloatTensor<B>,
    grad_out: FloatTensor<B>,
    relu: bool,
    keep_sequence: bool,
) -> LoopGrads<B> {
    let hs = tape.tensors;
    let t = hs.len() - 1;
    let og = OutputGrad::<B>::new(grad_out);
    let w_t = B::float_transpose(w_hh);
    let mut dh: Option<FloatTensor<B>> = None;
    let mut das = Vec::with_capacity(t);
    for s in (0..t).rev() {
        let d = og.incoming(dh.take(), s, t, keep_sequence);
        let da = if relu {
            B::relu_backward(hs[s + 1].clone(), d)
        } else {
            B::float_mul(d, tanh_grad::<B>(&hs[s + 1]))
        };
        dh = Some(B::float_matmul(da.clone(), w_t.clone()));
        das.push(da);
    }
    let (da_tm, w_hh) = recurrent_grads::<B>(das, &hs);
    LoopGrads {
        xw: B::float_swap_dims(da_tm, 0, 1),
        w_hh,
        // Every sequence has T ≥ 1: each experiment checks its step count at parse time.
        h0: dh.expect("at least one time step"),
        c0: None,
        b_hn: None,
    }
}

/// The LSTM time loop on a precomputed projection `xw` `[B, T, 4H]`.
fn lstm_loop_forward<B: Backend>(
    xw: FloatTensor<B>,
    w_hh: FloatTensor<B>,
    h0: FloatTensor<B>,
    c0: FloatTensor<B>,
    keep_sequence: bool,
    save: bool,
) -> (FloatTensor<B>, Option<Tape<B>>) {
    let [b, t, g4] = dims3::<B>(&xw);
    let h = g4 / 4;
    let x_tm = B::float_swap_dims(xw, 0, 1);
    let mut hs = Vec::with_capacity(t + 1);
    let mut cs = Vec::with_capacity(t + 1);
    // Per step: the activated gates [B, 4H] (sigmoid on i, f, o; tanh on g).
    let mut acts = Vec::with_capacity(if save { t } else { 0 });
    hs.push(h0);
    cs.push(c0);
    for s in 0..t {
        let gates = B::float_add(
            step::<B>(&x_tm, s, b, g4),
            B::float_matmul(last::<B>(&hs), w_hh.clone()),
        );
        let sig = B::sigmoid(gates.clone());
        let i = cols::<B>(&sig, 0, h);
        let f = cols::<B>(&sig, h, 2 * h);
        let o = cols::<B>(&sig, 3 * h, 4 * h);
        let g = B::float_tanh(cols::<B>(&gates, 2 * h, 3 * h));
        let c = B::float_add(
            B::float_mul(f.clone(), last::<B>(&cs)),
            B::float_mul(i.clone(), g.clone()),
        );
        let hn = B::float_mul(o.clone(), B::float_tanh(c.clone()));
        if save {
            acts.push(B::float_cat(vec![i, f, g, o], 1));
        }
        forget_history::<B>(&mut hs, save || keep_sequence);
        forget_history::<B>(&mut cs, save);
        hs.push(hn);
        cs.push(c);
    }
    let out = assemble_output::<B>(&hs, Some(last::<B>(&cs)), keep_sequence);
    let tape = save.then(|| {
        let mut tensors = Vec::with_capacity(3 * t + 2);
        tensors.extend(hs);
        tensors.extend(cs);
        tensors.extend(acts);
        Tape::generic(tensors)
    });
    (out, tape)
}

/// Backward of [`lstm_loop_forward`].
fn lstm_loop_backward<B: Backend>(
    tape: Tape<B>,
    w_hh: FloatTensor<B>,
    grad_out: FloatTensor<B>,
    keep_sequence: bool,
) -> LoopGrads<B> {
    let t = (tape.tensors.len() - 2) / 3;
    let mut it = tape.tensors.into_iter();
    let hs: Vec<_> = it.by_ref().take(t + 1).collect();
    let cs: Vec<_> = it.by_ref().take(t + 1).collect();
    let acts: Vec<_> = it.collect();
    let h = hs[0].shape()[1];
    let og = OutputGrad::<B>::new(grad_out);
    let w_t = B::float_transpose(w_hh);
    // The cell-state row sits after the hidden rows of the output.
    let mut dc = og.row(if keep_sequence { t } else { 1 });
    let mut dh: Option<FloatTensor<B>> = None;
    let mut dgs = Vec::with_capacity(t);
    for s in (0..t).rev() {
        let d = og.incoming(dh.take(), s, t, keep_sequence);
        let a = &acts[s];
        let i = cols::<B>(a, 0, h);
        let f = cols::<B>(a, h, 2 * h);
        let g = cols::<B>(a, 2 * h, 3 * h);
        let o = cols::<B>(a, 3 * h, 4 * h);
        let tc = B::float_tanh(cs[s + 1].clone());
        let d_o = B::float_mul(d.clone(), tc.clone());
        dc = B::float_add(
            dc,
            B::float_mul(B::float_mul(d, o.clone()), tanh_grad::<B>(&tc)),
        );
        let d_i = B::float_mul(dc.clone(), g.clone());
        let d_g = B::float_mul(dc.clone(), i.clone());
        let d_f = B::float_mul(dc.clone(), cs[s].clone());
        dc = B::float_mul(dc, f.clone());
        let dg = B::float_cat(
            vec![
                B::float_mul(d_i, sigmoid_grad::<B>(&i)),
                B::float_mul(d_f, sigmoid_grad::<B>(&f)),
                B::float_mul(d_g, tanh_grad::<B>(&g)),
                B::float_mul(d_o, sigmoid_grad::<B>(&o)),
            ],
            1,
        );
        dh = Some(B::float_matmul(dg.clone(), w_t.clone()));
        dgs.push(dg);
    }
    let (dg_tm, w_hh) = recurrent_grads::<B>(dgs, &hs);
    LoopGrads {
        xw: B::float_swap_dims(dg_tm, 0, 1),
        w_hh,
        // Every sequence has T ≥ 1: each experiment checks its step count at parse time.
        h0: dh.expect("at least one time step"),
        c0: Some(dc),
        b_hn: None,
    }
}

/// The GRU time loop on a precomputed projection `xw` `[B, T, 3H]`.
fn gru_loop_forward<B: Backend>(
    xw: FloatTensor<B>,
    w_hh: FloatTensor<B>,
    b_hn: FloatTensor<B>,
    h0: FloatTensor<B>,
    reset_after: bool,
    keep_sequence: bool,
    save: bool,
) -> (FloatTensor<B>, Option<Tape<B>>) {
    let [b, t, g3] = dims3::<B>(&xw);
    let h = g3 / 3;
    let x_tm = B::float_swap_dims(xw, 0, 1);
    let b_hn = B::float_reshape(b_hn, Shape::new([1, h]));
    let w_rz = cols::<B>(&w_hh, 0, 2 * h);
    let w_n = cols::<B>(&w_hh, 2 * h, 3 * h);
    let mut hs = Vec::with_capacity(t + 1);
    // Per step: [r, z, n, q] with q = h W_hn + b_hn (reset after) or q = r * h (reset before),
    // each [B, H], concatenated to [B, 4H].
    let mut saved = Vec::with_capacity(if save { t } else { 0 });
    hs.push(h0);
    for s in 0..t {
        let x = step::<B>(&x_tm, s, b, g3);
        let hp = last::<B>(&hs);
        let (r, z, n, q) = if reset_after {
            let hw = B::float_matmul(hp.clone(), w_hh.clone());
            let rz = B::sigmoid(B::float_add(
                cols::<B>(&x, 0, 2 * h),
                cols::<B>(&hw, 0, 2 * h),
            ));
            let r = cols::<B>(&rz, 0, h);
            let z = cols::<B>(&rz, h, 2 * h);
            let q = B::float_add(cols::<B>(&hw, 2 * h, 3 * h), b_hn.clone());
            let n = B::float_tanh(B::float_add(
                cols::<B>(&x, 2 * h, 3 * h),
                B::float_mul(r.clone(), q.clone()),
            ));
            (r, z, n, q)
        } else {
            let hw = B::float_matmul(hp.clone(), w_rz.clone());
            let rz = B::sigmoid(B::float_add(cols::<B>(&x, 0, 2 * h), hw));
            let r = cols::<B>(&rz, 0, h);
            let z = cols::<B>(&rz, h, 2 * h);
            let q = B::float_mul(r.clone(), hp.clone());
            let pre = B::float_add(
                B::float_add(
                    cols::<B>(&x, 2 * h, 3 * h),
                    B::float_matmul(q.clone(), w_n.clone()),
                ),
                b_hn.clone(),
            );
            (r, z, B::float_tanh(pre), q)
        };
        // h' = (1 - z) n + z h = n + z (h - n)
        let hn = B::float_add(
            n.clone(),
            B::float_mul(z.clone(), B::float_sub(hp, n.clone())),
        );
        if save {
            saved.push(B::float_cat(vec![r, z, n, q], 1));
        }
        forget_history::<B>(&mut hs, save || keep_sequence);
        hs.push(hn);
    }
    let out = assemble_output::<B>(&hs, None, keep_sequence);
    let tape = save.then(|| {
        let mut tensors = hs;
        tensors.extend(saved);
        Tape::generic(tensors)
    });
    (out, tape)
}

/// Backward of [`gru_loop_forward`].
fn gru_loop_backward<B: Backend>(
    tape: Tape<B>,
    w_hh: FloatTensor<B>,
    grad_out: FloatTensor<B>,
    reset_after: bool,
    keep_sequence: bool,
) -> LoopGrads<B> {
    let t = (tape.tensors.len() - 1) / 2;
    let mut it = tape.tensors.into_iter();
    let hs: Vec<_> = it.by_ref().take(t + 1).collect();
    let saved: Vec<_> = it.collect();
    let h = hs[0].shape()[1];
    let og = OutputGrad::<B>::new(grad_out);
    let w_t = B::float_transpose(w_hh.clone());
    let w_rz_t = B::float_transpose(cols::<B>(&w_hh, 0, 2 * h));
    let w_n_t = B::float_transpose(cols::<B>(&w_hh, 2 * h, 3 * h));
    let mut dh: Option<FloatTensor<B>> = None;
    // dx: gradient w.r.t. the input projection [B, 3H]; dq: the n-part of the recurrent
    // gradient (w.r.t. h W_hn for reset-after, w.r.t. (r h) W_hn for reset-before).
    let mut dxs = Vec::with_capacity(t);
    let mut dqs = Vec::with_capacity(t);
    for s in (0..t).rev() {
        let d = og.incoming(dh.take(), s, t, keep_sequence);
        let sv = &saved[s];
        let r = cols::<B>(sv, 0, h);
        let z = cols::<B>(sv, h, 2 * h);
        let n = cols::<B>(sv, 2 * h, 3 * h);
        let q = cols::<B>(sv, 3 * h, 4 * h);
        let hp = hs[s].clone();
        let dn_pre = B::float_mul(
            B::float_mul(d.clone(), one_minus::<B>(z.clone())),
            tanh_grad::<B>(&n),
        );
        let dz_pre = B::float_mul(
            B::float_mul(d.clone(), B::float_sub(hp.clone(), n)),
            sigmoid_grad::<B>(&z),
        );
        let mut dh_prev = B::float_mul(d, z);
        let (dr, dq) = if reset_after {
            // n = tanh(x_n + r * q), q = h W_hn + b_hn
            (
                B::float_mul(dn_pre.clone(), q),
                B::float_mul(dn_pre.clone(), r.clone()),
            )
        } else {
            // n = tanh(x_n + q W_hn + b_hn), q = r * h
            let d_rh = B::float_matmul(dn_pre.clone(), w_n_t.clone());
            dh_prev = B::float_add(dh_prev, B::float_mul(d_rh.clone(), r.clone()));
            (B::float_mul(d_rh, hp), dn_pre.clone())
        };
        let dr_pre = B::float_mul(dr, sigmoid_grad::<B>(&r));
        let drz = B::float_cat(vec![dr_pre, dz_pre], 1);
        let rec = if reset_after {
            B::float_matmul(B::float_cat(vec![drz.clone(), dq.clone()], 1), w_t.clone())
        } else {
            B::float_matmul(drz.clone(), w_rz_t.clone())
        };
        dh = Some(B::float_add(dh_prev, rec));
        dxs.push(B::float_cat(vec![drz, dn_pre], 1));
        dqs.push(dq);
    }
    dxs.reverse();
    dqs.reverse();
    let dx_tm = stack_time::<B>(dxs);
    let h_prev = flat_time::<B>(stack_time::<B>(hs[..t].to_vec()));
    let rh = (!reset_after).then(|| {
        flat_time::<B>(stack_time::<B>(
            saved.iter().map(|sv| cols::<B>(sv, 3 * h, 4 * h)).collect(),
        ))
    });
    let dq = Some(flat_time::<B>(stack_time::<B>(dqs)));
    let (w_hh, b_hn) = recurrent_weight_grads::<B>(h_prev, flat_time::<B>(dx_tm.clone()), dq, rh);
    LoopGrads {
        xw: B::float_swap_dims(dx_tm, 0, 1),
        w_hh,
        // Every sequence has T ≥ 1: each experiment checks its step count at parse time.
        h0: dh.expect("at least one time step"),
        c0: None,
        b_hn,
    }
}
