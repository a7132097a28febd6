//! The Elman cell's kernels: `h_s = act(x_s · w_ih + bias + h_{s-1} · w)`, with `act` tanh
//! or ReLU.

use rayon::prelude::*;

use super::gemm::{Packed, gemm};
use super::input::{InputGrads, project_step};
use super::math::tanh;
use super::simd::multiversion;
use super::threads::{FlushDenormals, ForwardStep, forward_loop, sum_partials, thread_slabs};
use super::{CpuGrads, check_len, out_grad, padded, size};

multiversion! {
/// Elman forward with the input projection folded in: step `s` computes
/// `h_s = act(x_s · w_ih + bias + h_{s-1} · w)`. `x` `[B, T, D]`, `w_ih` `[D, H]`,
/// `bias` `[H]`, `w` `[H, H]`, `h0` `[B, H]`.
///
/// Folding the projection into the time loop means no `[B, T, H]` projection is written
/// and read back (at the IRNN shape that buffer is 12.5 MB, far outside the caches).
/// Returns the states `[slots, B, hp]` (time-major, padded): all `T + 1` steps when
/// `keep_all`, else two slots used in turn (the last state is in slot `T % 2`).
///
/// Panics if a slice's length does not match its shape.
#[allow(clippy::too_many_arguments)]
pub(crate) fn elman_forward(
    x: &[f32],
    w_ih: &[f32],
    bias: &[f32],
    w: &[f32],
    h0: &[f32],
    b: usize,
    t: usize,
    d: usize,
    h: usize,
    relu: bool,
    keep_all: bool,
) -> Vec<f32> {
    const K: &str = "elman_forward";
    check_len(K, "x", x.len(), size(&[b, t, d]));
    check_len(K, "w_ih", w_ih.len(), size(&[d, h]));
    check_len(K, "bias", bias.len(), h);
    check_len(K, "w", w.len(), size(&[h, h]));
    check_len(K, "h0", h0.len(), size(&[b, h]));
    let hp = padded(h);
    let wp = Packed::new(w, h, h, false);
    let wip = Packed::new(w_ih, d, h, false);
    let step = |_: &mut (), st: ForwardStep<'_, 1>| {
        let ([prev], [cur]) = (st.prev, st.next);
        // The projection goes straight into the new state, then the recurrent product.
        project_step(x, &wip, st.r0, st.rows, st.s, t, cur);
        gemm(st.rows, h, hp, prev, hp, 1, &wp.data, hp, cur, hp, true);
        for r in 0..st.rows {
            let a = &mut cur[r * hp..][..h];
            if relu {
                a.iter_mut().zip(bias).for_each(|(a, c)| *a = (*a + c).max(0.0));
            } else {
                a.iter_mut().zip(bias).for_each(|(a, c)| *a = tanh(*a + c));
            }
        }
    };
    let ([hs], _) = forward_loop(b, t, h, [h0], keep_all, 0, |_| (), step);
    hs
}
}

multiversion! {
/// Elman backward from the states of [`elman_forward`] (`keep_all`) and its input `x`.
/// `grad_out` is `[B, T, H]` when `keep_sequence`, else `[B, H]` (the last step's).
/// `need_dx`: also return the gradient w.r.t. `x` (a lower layer's output).
///
/// Panics if a slice's length does not match its shape (`hs` is `[T + 1, B, padded(H)]`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn elman_backward(
    hs: &[f32],
    x: &[f32],
    w_ih: &[f32],
    w: &[f32],
    grad_out: &[f32],
    b: usize,
    t: usize,
    d: usize,
    h: usize,
    relu: bool,
    keep_sequence: bool,
    need_dx: bool,
) -> CpuGrads {
    const K: &str = "elman_backward";
    let hp = padded(h);
    check_len(K, "hs", hs.len(), size(&[t + 1, b, hp]));
    check_len(K, "x", x.len(), size(&[b, t, d]));
    check_len(K, "w_ih", w_ih.len(), size(&[d, h]));
    check_len(K, "w", w.len(), size(&[h, h]));
    let out_steps = if keep_sequence { t } else { 1 };
    check_len(K, "grad_out", grad_out.len(), size(&[b, out_steps, h]));
    let wt = Packed::new(w, h, h, true);
    let wit = need_dx.then(|| Packed::new(w_ih, h, d, true));
    let mut dx = vec![0.0f32; if need_dx { size(&[b, t, d]) } else { 0 }];
    let mut dh0 = vec![0.0f32; size(&[b, h])];
    // Each thread gets its own rows of the batch-major outputs d x and d h0.
    let dx_row = if need_dx { t * d } else { 0 };
    let work = thread_slabs(b, [(&mut dx, dx_row), (&mut dh0, h)]);
    // Each thread accumulates its rows' share of dW_hh = sum_s h_{s-1}^T da_s, dW_ih =
    // sum_s x_s^T da_s and d bias step by step, so no [T, B, H] buffer of da is written
    // and read back (at long T it would not fit in cache, and the step cost would grow
    // with T).
    let partials: Vec<(InputGrads, Vec<f32>)> = work
        .into_par_iter()
        .map(|((r0, r1), [dx, dh0])| {
            let _ftz = FlushDenormals::new();
            let rows = r1 - r0;
            // dh: gradient w.r.t. the state after step s, for this chunk's rows.
            let mut dh = vec![0.0f32; rows * hp];
            let mut da = vec![0.0f32; rows * hp];
            let mut input = InputGrads::new(d, hp, rows, need_dx);
            let mut dw_hh = vec![0.0f32; h * hp];
            for s in (0..t).rev() {
                for r in 0..rows {
                    let g = out_grad(grad_out, keep_sequence, r0 + r, s, t, h);
                    let y = &hs[((s + 1) * b + r0 + r) * hp..][..h];
                    let dh_r = &dh[r * hp..][..h];
                    let da_r = &mut da[r * hp..][..h];
                    for u in 0..h {
                        let dv = dh_r[u] + g.map_or(0.0, |g| g[u]);
                        da_r[u] = if relu {
                            if y[u] > 0.0 { dv } else { 0.0 }
                        } else {
                            dv * (1.0 - y[u] * y[u])
                        };
                    }
                }
                // dW_hh += h_{s-1}^T da_s
                let hprev = &hs[(s * b + r0) * hp..];
                gemm(h, rows, hp, hprev, 1, hp, &da, hp, &mut dw_hh, hp, true);
                input.add_step(&da, h, hp, x, wit.as_ref(), dx, r0, rows, s, t);
                // dh_{s-1} = da_s · W^T
                gemm(rows, h, hp, &da, hp, 1, &wt.data, hp, &mut dh, hp, false);
            }
            for r in 0..rows {
                dh0[r * h..(r + 1) * h].copy_from_slice(&dh[r * hp..r * hp + h]);
            }
            (input, dw_hh)
        })
        .collect();
    CpuGrads {
        x: need_dx.then_some(dx),
        w_ih: sum_partials(partials.iter().map(|p| &p.0.w_ih[..]), d, h, hp),
        bias: sum_partials(partials.iter().map(|p| &p.0.bias[..]), 1, h, hp),
        w_hh: sum_partials(partials.iter().map(|p| &p.1[..]), h, h, hp),
        h0: dh0,
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "`x` has 5 values")]
    fn kernels_reject_a_short_input() {
        let (b, t, d, h) = (2, 3, 1, 4);
        elman_forward(
            &[0.0; 5],
            &vec![0.0; d * h],
            &vec![0.0; h],
            &vec![0.0; h * h],
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
