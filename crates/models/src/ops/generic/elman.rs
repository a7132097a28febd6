//! The Elman cell's time loop on Burn's primitives: `h_s = act(xw_s + h_{s-1} · w_hh)`, and
//! its hand-written backward pass.

use burn::backend::{Backend, tensor::FloatTensor};

use super::{
    LoopGrads, OutputGrad, Tape, assemble_output, dims3, forget_history, last, recurrent_grads,
    step, tanh_grad,
};

/// The Elman time loop on a precomputed projection `xw` `[B, T, H]`.
pub(super) fn elman_loop_forward<B: Backend>(
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
pub(super) fn elman_loop_backward<B: Backend>(
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
