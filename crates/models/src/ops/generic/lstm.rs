//! The LSTM cell's time loop on Burn's primitives (gates i, f, g, o), and its hand-written
//! backward pass.

use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};

use super::{
    LoopGrads, OutputGrad, Tape, assemble_output, cols, dims3, forget_history, last,
    recurrent_grads, sigmoid_grad, step, tanh_grad,
};

/// The LSTM time loop on a precomputed projection `xw` `[B, T, 4H]`.
pub(super) fn lstm_loop_forward<B: Backend>(
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
pub(super) fn lstm_loop_backward<B: Backend>(
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
