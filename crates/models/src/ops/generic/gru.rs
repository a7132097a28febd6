//! The GRU cell's time loop on Burn's primitives (gates r, z, n; the reset gate after or
//! before the recurrent product), and its hand-written backward pass.

use burn::backend::{Backend, Shape, TensorMetadata, tensor::FloatTensor};

use super::{
    LoopGrads, OutputGrad, Tape, assemble_output, cols, dims3, flat_time, forget_history, last,
    one_minus, recurrent_weight_grads, sigmoid_grad, stack_time, step, tanh_grad,
};

/// The GRU time loop on a precomputed projection `xw` `[B, T, 3H]`.
pub(super) fn gru_loop_forward<B: Backend>(
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
pub(super) fn gru_loop_backward<B: Backend>(
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
    let weights = TransposedWeights::<B>::new(&w_hh, h);
    let mut dh: Option<FloatTensor<B>> = None;
    // dx: gradient w.r.t. the input projection [B, 3H]; dq: the n-part of the recurrent
    // gradient (w.r.t. h W_hn for reset-after, w.r.t. (r h) W_hn for reset-before).
    let mut dxs = Vec::with_capacity(t);
    let mut dqs = Vec::with_capacity(t);
    for s in (0..t).rev() {
        let d = og.incoming(dh.take(), s, t, keep_sequence);
        let step_grads =
            gru_step_backward::<B>(d, &saved[s], hs[s].clone(), &weights, h, reset_after);
        dh = Some(step_grads.dh_prev);
        dxs.push(step_grads.dx);
        dqs.push(step_grads.dq);
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

/// The transposed recurrent weights a backward step multiplies by, transposed once for the
/// whole sequence instead of at every step.
struct TransposedWeights<B: Backend> {
    /// `W_hhᵀ` `[3H, H]`: reset after, the gradients of r, z and q all flow through it.
    all: FloatTensor<B>,
    /// `W_rzᵀ` `[2H, H]`: reset before, the gradients of r and z flow through it.
    rz: FloatTensor<B>,
    /// `W_hnᵀ` `[H, H]`: reset before, the candidate's gradient reaches `r * h` through it.
    n: FloatTensor<B>,
}

impl<B: Backend> TransposedWeights<B> {
    fn new(w_hh: &FloatTensor<B>, h: usize) -> Self {
        Self {
            all: B::float_transpose(w_hh.clone()),
            rz: B::float_transpose(cols::<B>(w_hh, 0, 2 * h)),
            n: B::float_transpose(cols::<B>(w_hh, 2 * h, 3 * h)),
        }
    }
}

/// What one step's backward hands on: to the step before it, and to the weight gradients
/// summed over the sequence once the loop is done.
struct StepGrads<B: Backend> {
    /// Gradient w.r.t. the previous hidden state, h_{s-1}.
    dh_prev: FloatTensor<B>,
    /// Gradient w.r.t. the step's input projection `[B, 3H]` (pre-activations of r, z, n).
    dx: FloatTensor<B>,
    /// The n-part of the recurrent gradient: w.r.t. `h W_hn` (reset after) or w.r.t.
    /// `(r h) W_hn` (reset before).
    dq: FloatTensor<B>,
}

/// Backward of one GRU step: `d` is the gradient w.r.t. its new hidden state, `sv` its saved
/// `[r, z, n, q]` `[B, 4H]` and `hp` its previous hidden state. A step of its own so that the
/// time loop reads as the order of the steps, and each step as its chain rule.
fn gru_step_backward<B: Backend>(
    d: FloatTensor<B>,
    sv: &FloatTensor<B>,
    hp: FloatTensor<B>,
    weights: &TransposedWeights<B>,
    h: usize,
    reset_after: bool,
) -> StepGrads<B> {
    let r = cols::<B>(sv, 0, h);
    let z = cols::<B>(sv, h, 2 * h);
    let n = cols::<B>(sv, 2 * h, 3 * h);
    let q = cols::<B>(sv, 3 * h, 4 * h);
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
        let d_rh = B::float_matmul(dn_pre.clone(), weights.n.clone());
        dh_prev = B::float_add(dh_prev, B::float_mul(d_rh.clone(), r.clone()));
        (B::float_mul(d_rh, hp), dn_pre.clone())
    };
    let dr_pre = B::float_mul(dr, sigmoid_grad::<B>(&r));
    let drz = B::float_cat(vec![dr_pre, dz_pre], 1);
    let rec = if reset_after {
        B::float_matmul(
            B::float_cat(vec![drz.clone(), dq.clone()], 1),
            weights.all.clone(),
        )
    } else {
        B::float_matmul(drz.clone(), weights.rz.clone())
    };
    StepGrads {
        dh_prev: B::float_add(dh_prev, rec),
        dx: B::float_cat(vec![drz, dn_pre], 1),
        dq,
    }
}
