//! The LSTM cell's kernels (gates i, f, g, o). The backward pass writes every step's gate
//! gradients and multiplies them by the states once, after the time loop ([`weight_grad`]).

use rayon::prelude::*;

use super::gemm::{Packed, gemm, weight_grad};
use super::input::{InputGrads, project_step};
use super::math::{sigmoid, tanh};
use super::simd::multiversion;
use super::threads::{
    FlushDenormals, ForwardStep, Shared, forward_loop, sum_partials, thread_slabs,
};
use super::{CpuGrads, check_len, padded, size};

multiversion! {
/// LSTM forward (gates i, f, g, o) with the input projection folded in, as in
/// [`elman_forward`]: `x` `[B, T, D]`, `w_ih` `[D, 4H]`, `bias` `[4H]`, `w` `[H, 4H]`, `h0`,
/// `c0` `[B, H]`. Returns `(hs, cs, acts)`: states `[slots, B, hp]` as in [`elman_forward`]
/// and, when `keep_all`, the activated gates `[T, B, padded(4H)]` for the backward pass.
///
/// Panics if a slice's length does not match its shape.
///
/// [`elman_forward`]: super::elman_forward
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_forward(
    x: &[f32],
    w_ih: &[f32],
    bias: &[f32],
    w: &[f32],
    h0: &[f32],
    c0: &[f32],
    b: usize,
    t: usize,
    d: usize,
    h: usize,
    keep_all: bool,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    const K: &str = "lstm_forward";
    let g4 = size(&[4, h]);
    check_len(K, "x", x.len(), size(&[b, t, d]));
    check_len(K, "w_ih", w_ih.len(), size(&[d, g4]));
    check_len(K, "bias", bias.len(), g4);
    check_len(K, "w", w.len(), size(&[h, g4]));
    check_len(K, "h0", h0.len(), size(&[b, h]));
    check_len(K, "c0", c0.len(), size(&[b, h]));
    let (hp, gp) = (padded(h), padded(g4));
    let wp = Packed::new(w, h, g4, false);
    let wip = Packed::new(w_ih, d, g4, false);
    // Per thread: the step's gate pre-activations, then activations, `[rows, gp]`.
    let scratch = |rows: usize| vec![0.0f32; rows * gp];
    let step = |gates: &mut Vec<f32>, st: ForwardStep<'_, 2>| {
        let ([h_prev, c_prev], [h_new, c_new]) = (st.prev, st.next);
        project_step(x, &wip, st.r0, st.rows, st.s, t, gates);
        gemm(st.rows, h, gp, h_prev, hp, 1, &wp.data, gp, gates, gp, true);
        let mut acts = st.tape;
        for r in 0..st.rows {
            let g = &mut gates[r * gp..r * gp + g4];
            g.iter_mut().zip(bias).for_each(|(v, c)| *v += c);
            // Exact-length gate slices so the loop has no bounds checks and vectorises.
            let (ifg, o) = g.split_at_mut(3 * h);
            let (i_f, gg) = ifg.split_at_mut(2 * h);
            i_f.iter_mut().for_each(|x| *x = sigmoid(*x));
            gg.iter_mut().for_each(|x| *x = tanh(*x));
            o.iter_mut().for_each(|x| *x = sigmoid(*x));
            let (gi, rest) = g.split_at(h);
            let (gf, rest) = rest.split_at(h);
            let (gg, go) = rest.split_at(h);
            let go = &go[..h];
            let c_prev = &c_prev[r * hp..][..h];
            let c = &mut c_new[r * hp..][..h];
            let hn = &mut h_new[r * hp..][..h];
            for u in 0..h {
                let cv = gf[u] * c_prev[u] + gi[u] * gg[u];
                c[u] = cv;
                hn[u] = go[u] * tanh(cv);
            }
            if let Some(acts) = &mut acts {
                acts[r * gp..][..g4].copy_from_slice(g);
            }
        }
    };
    let ([hs, cs], acts) = forward_loop(b, t, h, [h0, c0], keep_all, gp, scratch, step);
    (hs, cs, acts)
}
}

multiversion! {
/// LSTM backward from [`lstm_forward`] (`keep_all`) and its input `x`. `grad_h` is
/// `[B, T, H]` when `keep_sequence`, else `[B, H]`; `grad_c` is the final cell state's
/// `[B, H]`. `need_dx`: also return the gradient w.r.t. `x`.
///
/// Panics if a slice's length does not match its shape (`hs`, `cs` `[T + 1, B,
/// padded(H)]`, `acts` `[T, B, padded(4H)]`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_backward(
    hs: &[f32],
    cs: &[f32],
    acts: &[f32],
    x: &[f32],
    w_ih: &[f32],
    w: &[f32],
    grad_h: &[f32],
    grad_c: &[f32],
    b: usize,
    t: usize,
    d: usize,
    h: usize,
    keep_sequence: bool,
    need_dx: bool,
) -> (CpuGrads, Vec<f32>) {
    const K: &str = "lstm_backward";
    let g4 = size(&[4, h]);
    let (hp, gp) = (padded(h), padded(g4));
    check_len(K, "hs", hs.len(), size(&[t + 1, b, hp]));
    check_len(K, "cs", cs.len(), size(&[t + 1, b, hp]));
    check_len(K, "acts", acts.len(), size(&[t, b, gp]));
    check_len(K, "x", x.len(), size(&[b, t, d]));
    check_len(K, "w_ih", w_ih.len(), size(&[d, g4]));
    check_len(K, "w", w.len(), size(&[h, g4]));
    let out_steps = if keep_sequence { t } else { 1 };
    check_len(K, "grad_h", grad_h.len(), size(&[b, out_steps, h]));
    check_len(K, "grad_c", grad_c.len(), size(&[b, h]));
    let wt = Packed::new(w, g4, h, true);
    let wit = need_dx.then(|| Packed::new(w_ih, g4, d, true));
    let mut dg = vec![0.0f32; size(&[t, b, gp])];
    let mut dx = vec![0.0f32; if need_dx { size(&[b, t, d]) } else { 0 }];
    let mut dh0 = vec![0.0f32; size(&[b, h])];
    let mut dc0 = vec![0.0f32; size(&[b, h])];
    let dg_p = Shared::new(&mut dg);
    // Each thread gets its own rows of the batch-major outputs d x, d h0 and d c0.
    let dx_row = if need_dx { t * d } else { 0 };
    let work = thread_slabs(b, [(&mut dx, dx_row), (&mut dh0, h), (&mut dc0, h)]);
    let partials: Vec<InputGrads> = work.into_par_iter().map(|((r0, r1), [dx, dh0, dc0])| {
        let _ftz = FlushDenormals::new();
        let rows = r1 - r0;
        let mut input = InputGrads::new(d, gp, rows, need_dx);
        let mut dh = vec![0.0f32; rows * hp];
        let mut dc = vec![0.0f32; rows * h];
        for r in 0..rows {
            dc[r * h..(r + 1) * h].copy_from_slice(&grad_c[(r0 + r) * h..(r0 + r + 1) * h]);
        }
        for s in (0..t).rev() {
            for r in 0..rows {
                let row = r0 + r;
                let g_out = if keep_sequence {
                    Some(&grad_h[(row * t + s) * h..(row * t + s + 1) * h])
                } else if s == t - 1 {
                    Some(&grad_h[row * h..(row + 1) * h])
                } else {
                    None
                };
                let dh_r = &mut dh[r * hp..r * hp + h];
                if let Some(g) = g_out {
                    dh_r.iter_mut().zip(g).for_each(|(d, g)| *d += g);
                }
                // Exact-length slices so the loop has no bounds checks and vectorises.
                let a = &acts[(s * b + row) * gp..(s * b + row) * gp + g4];
                let (a_i, rest) = a.split_at(h);
                let (a_f, rest) = rest.split_at(h);
                let (a_g, a_o) = rest.split_at(h);
                let a_o = &a_o[..h];
                let c = &cs[((s + 1) * b + row) * hp..((s + 1) * b + row) * hp + h];
                let c_prev = &cs[(s * b + row) * hp..(s * b + row) * hp + h];
                // One row at a time, not the step's block: with a block-wide `&mut` borrow,
                // LLVM ran the loop below in its scalar version (1.9x slower backward).
                // SAFETY: row `row` of step `s` of `dg` is this thread's (r0..r1, disjoint
                // across threads by `row_chunks`); no other slice of `dg` is alive here.
                let out = unsafe { dg_p.slice_mut((s * b + row) * gp, g4) };
                let (o_i, rest) = out.split_at_mut(h);
                let (o_f, rest) = rest.split_at_mut(h);
                let (o_g, o_o) = rest.split_at_mut(h);
                let o_o = &mut o_o[..h];
                let dc_r = &mut dc[r * h..(r + 1) * h];
                for u in 0..h {
                    let (i, f, g, o) = (a_i[u], a_f[u], a_g[u], a_o[u]);
                    let tc = tanh(c[u]);
                    let d = dh_r[u];
                    let dcu = dc_r[u] + d * o * (1.0 - tc * tc);
                    o_i[u] = dcu * g * i * (1.0 - i);
                    o_f[u] = dcu * c_prev[u] * f * (1.0 - f);
                    o_g[u] = dcu * i * (1.0 - g * g);
                    o_o[u] = d * tc * o * (1.0 - o);
                    dc_r[u] = dcu * f;
                }
            }
            // SAFETY: this thread's rows of step `s` of `dg`, read only; the row slices
            // written above are no longer used.
            let dg_s = unsafe { dg_p.slice((s * b + r0) * gp, rows * gp) };
            input.add_step(dg_s, g4, gp, x, wit.as_ref(), dx, r0, rows, s, t);
            gemm(rows, g4, hp, dg_s, gp, 1, &wt.data, hp, &mut dh, hp, false);
        }
        for r in 0..rows {
            dh0[r * h..(r + 1) * h].copy_from_slice(&dh[r * hp..r * hp + h]);
            dc0[r * h..(r + 1) * h].copy_from_slice(&dc[r * h..(r + 1) * h]);
        }
        input
    }).collect();
    let dw = weight_grad(&hs[..t * b * hp], &dg, t * b, h, hp, g4);
    let grads = CpuGrads {
        x: need_dx.then_some(dx),
        w_ih: sum_partials(partials.iter().map(|p| &p.w_ih[..]), d, g4, gp),
        bias: sum_partials(partials.iter().map(|p| &p.bias[..]), 1, g4, gp),
        w_hh: dw,
        h0: dh0,
    };
    (grads, dc0)
}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "`hs` has")]
    fn backward_rejects_a_short_tape() {
        let (b, t, d, h) = (2, 3, 1, 4);
        lstm_backward(
            &vec![0.0; t * b * padded(h)],
            &vec![0.0; (t + 1) * b * padded(h)],
            &vec![0.0; t * b * padded(4 * h)],
            &vec![0.0; b * t * d],
            &vec![0.0; d * 4 * h],
            &vec![0.0; h * 4 * h],
            &vec![0.0; b * h],
            &vec![0.0; b * h],
            b,
            t,
            d,
            h,
            false,
            true,
        );
    }
}
