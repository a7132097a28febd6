//! The GRU cell's kernels (gates r, z, n), with the reset gate applied after the recurrent
//! product (`r * (h W_hn + b_hn)`) or before it (`(r * h) W_hn`).

use rayon::prelude::*;

use super::gemm::{Packed, gemm, weight_grad};
use super::input::{InputGrads, project_step};
use super::math::{sigmoid, tanh};
use super::simd::multiversion;
use super::threads::{
    FlushDenormals, ForwardStep, Shared, forward_loop, sum_partials, thread_slabs,
};
use super::{CpuGrads, check_len, out_grad, padded, size};

multiversion! {
/// GRU forward (gates r, z, n) with the input projection folded in, as in
/// [`elman_forward`]: `x` `[B, T, D]`, `w_ih` `[D, 3H]`, `bias` `[3H]` (`b_ih` with `b_hr`,
/// `b_hz` folded in), `w` `[H, 3H]`, `b_hn` `[H]`, `h0` `[B, H]`. Returns `(hs, saved)`: states as in
/// [`elman_forward`] and, when `keep_all`, per step `[r, z, n, q]` rows `[T, B, padded(4H)]`
/// with `q = h W_hn + b_hn` (reset after) or `q = r * h` (reset before).
///
/// Panics if a slice's length does not match its shape.
///
/// [`elman_forward`]: super::elman_forward
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_forward(
    x: &[f32],
    w_ih: &[f32],
    bias: &[f32],
    w: &[f32],
    b_hn: &[f32],
    h0: &[f32],
    b: usize,
    t: usize,
    d: usize,
    h: usize,
    reset_after: bool,
    keep_all: bool,
) -> (Vec<f32>, Vec<f32>) {
    const K: &str = "gru_forward";
    let (g3, g4) = (size(&[3, h]), size(&[4, h]));
    check_len(K, "x", x.len(), size(&[b, t, d]));
    check_len(K, "w_ih", w_ih.len(), size(&[d, g3]));
    check_len(K, "bias", bias.len(), g3);
    check_len(K, "w", w.len(), size(&[h, g3]));
    check_len(K, "b_hn", b_hn.len(), h);
    check_len(K, "h0", h0.len(), size(&[b, h]));
    let (hp, xp, sp) = (padded(h), padded(g3), padded(g4));
    let wip = Packed::new(w_ih, d, g3, false);
    // Reset after: one product with all of W. Reset before: h W_rz, then (r h) W_n.
    let (w_a, w_n) = if reset_after {
        (Packed::new(w, h, g3, false), None)
    } else {
        (
            Packed::columns(w, h, g3, 0, 2 * h),
            Some(Packed::columns(w, h, g3, 2 * h, g3)),
        )
    };
    let b_hn = &b_hn[..h];
    // Per thread: h W (or h W_rz), r h, (r h) W_n, a [r, z, n, q] row when there is no
    // tape to write it to, and the step's input projection x_s · w_ih + bias.
    let scratch = |rows: usize| GruScratch {
        hw: vec![0.0f32; rows * w_a.np],
        q: vec![0.0f32; rows * hp],
        qn: vec![0.0f32; rows * hp],
        row_save: vec![0.0f32; 4 * h],
        xw: vec![0.0f32; rows * xp],
    };
    let step = |w: &mut GruScratch, st: ForwardStep<'_, 1>| {
        let ([prev], [h_new]) = (st.prev, st.next);
        let rows = st.rows;
        project_step(x, &wip, st.r0, rows, st.s, t, &mut w.xw);
        for row in w.xw.chunks_exact_mut(xp) {
            row.iter_mut().zip(bias).for_each(|(v, c)| *v += c);
        }
        gemm(rows, h, w_a.np, prev, hp, 1, &w_a.data, w_a.np, &mut w.hw, w_a.np, false);
        if let Some(w_n) = &w_n {
            for r in 0..rows {
                // Exact-length slices so the loop has no bounds checks and vectorises.
                let x_r = &w.xw[r * xp..][..h];
                let hprev = &prev[r * hp..][..h];
                let hw_r = &mut w.hw[r * w_a.np..][..h];
                let q_r = &mut w.q[r * hp..][..h];
                for u in 0..h {
                    // Keep the activated r in place of its pre-activation for the loop below.
                    let rr = sigmoid(x_r[u] + hw_r[u]);
                    hw_r[u] = rr;
                    q_r[u] = rr * hprev[u];
                }
            }
            gemm(rows, h, hp, &w.q, hp, 1, &w_n.data, hp, &mut w.qn, hp, false);
        }
        let mut saved_s = st.tape;
        for r in 0..rows {
            // Exact-length slices so the loops below have no bounds checks and vectorise.
            let x = &w.xw[r * xp..][..g3];
            let (x_r, x_zn) = x.split_at(h);
            let (x_z, x_n) = x_zn.split_at(h);
            let hw_r = &w.hw[r * w_a.np..][..w_a.n];
            let (hw_rr, hw_zn) = hw_r.split_at(h);
            let hw_z = &hw_zn[..h];
            let hprev = &prev[r * hp..][..h];
            let hn = &mut h_new[r * hp..][..h];
            // The saved [r, z, n, q] row goes straight to the tape when there is one.
            let save: &mut [f32] = match &mut saved_s {
                Some(saved_s) => &mut saved_s[r * sp..][..4 * h],
                None => &mut w.row_save[..],
            };
            let (s_r, rest) = save.split_at_mut(h);
            let (s_z, rest) = rest.split_at_mut(h);
            let (s_n, s_q) = rest.split_at_mut(h);
            let s_q = &mut s_q[..h];
            if reset_after {
                let hw_n = &hw_zn[h..2 * h];
                for u in 0..h {
                    let rr = sigmoid(x_r[u] + hw_rr[u]);
                    let z = sigmoid(x_z[u] + hw_z[u]);
                    let qq = hw_n[u] + b_hn[u];
                    let n = tanh(x_n[u] + rr * qq);
                    hn[u] = n + z * (hprev[u] - n);
                    s_r[u] = rr;
                    s_z[u] = z;
                    s_n[u] = n;
                    s_q[u] = qq;
                }
            } else {
                let qn_r = &w.qn[r * hp..][..h];
                let q_r = &w.q[r * hp..][..h];
                for u in 0..h {
                    let z = sigmoid(x_z[u] + hw_z[u]);
                    let n = tanh(x_n[u] + qn_r[u] + b_hn[u]);
                    hn[u] = n + z * (hprev[u] - n);
                    s_r[u] = hw_rr[u];
                    s_z[u] = z;
                    s_n[u] = n;
                    s_q[u] = q_r[u];
                }
            }
        }
    };
    let ([hs], saved) = forward_loop(b, t, h, [h0], keep_all, sp, scratch, step);
    (hs, saved)
}
}

/// The GRU forward kernel's per-thread buffers (see [`gru_forward`]).
struct GruScratch {
    hw: Vec<f32>,
    q: Vec<f32>,
    qn: Vec<f32>,
    row_save: Vec<f32>,
    xw: Vec<f32>,
}

multiversion! {
/// GRU backward from [`gru_forward`] (`keep_all`) and its input `x`. `need_dx`: also
/// return the gradient w.r.t. `x`.
///
/// Panics if a slice's length does not match its shape (`hs` `[T + 1, B, padded(H)]`,
/// `saved` `[T, B, padded(4H)]`, `grad_out` `[B, T, H]` or `[B, H]`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_backward(
    hs: &[f32],
    saved: &[f32],
    x: &[f32],
    w_ih: &[f32],
    w: &[f32],
    grad_out: &[f32],
    b: usize,
    t: usize,
    d: usize,
    h: usize,
    reset_after: bool,
    keep_sequence: bool,
    need_dx: bool,
) -> (CpuGrads, Vec<f32>) {
    const K: &str = "gru_backward";
    let (g3, g4) = (size(&[3, h]), size(&[4, h]));
    let (hp, xp, sp) = (padded(h), padded(g3), padded(g4));
    check_len(K, "hs", hs.len(), size(&[t + 1, b, hp]));
    check_len(K, "saved", saved.len(), size(&[t, b, sp]));
    check_len(K, "x", x.len(), size(&[b, t, d]));
    check_len(K, "w_ih", w_ih.len(), size(&[d, g3]));
    check_len(K, "w", w.len(), size(&[h, g3]));
    let out_steps = if keep_sequence { t } else { 1 };
    check_len(K, "grad_out", grad_out.len(), size(&[b, out_steps, h]));
    let wit = need_dx.then(|| Packed::new(w_ih, g3, d, true));
    // Recurrent-side gradients: [dr, dz, dq] against all of W (reset after), or [dr, dz]
    // against W_rz plus dn against W_n through (r h) (reset before).
    let (wt_a, wt_n) = if reset_after {
        (Packed::new(w, g3, h, true), None)
    } else {
        (
            Packed::columns_transposed(w, h, g3, 0, 2 * h),
            Some(Packed::columns_transposed(w, h, g3, 2 * h, g3)),
        )
    };
    let rec_w = if reset_after { g3 } else { 2 * h };
    let rp = padded(rec_w);
    let mut d_in = vec![0.0f32; if need_dx { size(&[b, t, d]) } else { 0 }];
    let mut dx = vec![0.0f32; size(&[t, b, xp])];
    let mut drec = vec![0.0f32; size(&[t, b, rp])];
    let mut dh0 = vec![0.0f32; size(&[b, h])];
    let (dx_p, drec_p) = (Shared::new(&mut dx), Shared::new(&mut drec));
    // Each thread gets its own rows of the batch-major outputs d x (`d_in`) and d h0.
    let dx_row = if need_dx { t * d } else { 0 };
    let work = thread_slabs(b, [(&mut d_in, dx_row), (&mut dh0, h)]);
    let partials: Vec<InputGrads> = work.into_par_iter().map(|((r0, r1), [d_in, dh0])| {
        let _ftz = FlushDenormals::new();
        let rows = r1 - r0;
        let mut input = InputGrads::new(d, xp, rows, need_dx);
        let mut dh = vec![0.0f32; rows * hp];
        let mut direct = vec![0.0f32; rows * hp];
        let mut drh = vec![0.0f32; rows * hp];
        for s in (0..t).rev() {
            // dh += the output's gradient for this step, once, for both loops below.
            for r in 0..rows {
                if let Some(g) = out_grad(grad_out, keep_sequence, r0 + r, s, t, h) {
                    dh[r * hp..][..h]
                        .iter_mut()
                        .zip(g)
                        .for_each(|(d, g)| *d += g);
                }
            }
            // SAFETY: this thread's rows (r0..r1, disjoint across threads by `row_chunks`) of
            // step `s` of `dx` and of `drec`: the only slices of those this thread holds.
            let (dx_s, rec_s) = unsafe {
                (
                    dx_p.slice_mut((s * b + r0) * xp, rows * xp),
                    drec_p.slice_mut((s * b + r0) * rp, rows * rp),
                )
            };
            // Exact-length slices below so the loops have no bounds checks and vectorise.
            if let Some(wt_n) = &wt_n {
                // d(r h) = dn_pre · W_n^T needs dn_pre first: compute it per row.
                for r in 0..rows {
                    let row = r0 + r;
                    let sv = &saved[(s * b + row) * sp..][..4 * h];
                    let (z, n) = (&sv[h..2 * h], &sv[2 * h..3 * h]);
                    let out_n = &mut dx_s[r * xp + 2 * h..][..h];
                    let d = &dh[r * hp..][..h];
                    for u in 0..h {
                        out_n[u] = d[u] * (1.0 - z[u]) * (1.0 - n[u] * n[u]);
                    }
                }
                // dn: columns 2H..3H of this step's rows.
                let dn = &dx_s[2 * h..];
                gemm(rows, h, hp, dn, xp, 1, &wt_n.data, hp, &mut drh, hp, false);
            }
            for r in 0..rows {
                let row = r0 + r;
                let sv = &saved[(s * b + row) * sp..][..4 * h];
                let (sv_r, rest) = sv.split_at(h);
                let (sv_z, rest) = rest.split_at(h);
                let (sv_n, sv_q) = rest.split_at(h);
                let sv_q = &sv_q[..h];
                let hprev = &hs[(s * b + row) * hp..][..h];
                let out = &mut dx_s[r * xp..][..g3];
                let (o_r, rest) = out.split_at_mut(h);
                let (o_z, o_n) = rest.split_at_mut(h);
                let o_n = &mut o_n[..h];
                let rec = &mut rec_s[r * rp..][..rec_w];
                let (rec_r, rest) = rec.split_at_mut(h);
                let (rec_z, rec_n) = rest.split_at_mut(h);
                let d = &dh[r * hp..][..h];
                let direct_r = &mut direct[r * hp..][..h];
                if reset_after {
                    let rec_n = &mut rec_n[..h];
                    for u in 0..h {
                        let (rr, z, n) = (sv_r[u], sv_z[u], sv_n[u]);
                        let dn_pre = d[u] * (1.0 - z) * (1.0 - n * n);
                        let dz_pre = d[u] * (hprev[u] - n) * z * (1.0 - z);
                        let dr_pre = dn_pre * sv_q[u] * rr * (1.0 - rr);
                        rec_n[u] = dn_pre * rr;
                        o_r[u] = dr_pre;
                        o_z[u] = dz_pre;
                        o_n[u] = dn_pre;
                        rec_r[u] = dr_pre;
                        rec_z[u] = dz_pre;
                        direct_r[u] = d[u] * z;
                    }
                } else {
                    let drh_r = &drh[r * hp..][..h];
                    for u in 0..h {
                        let (rr, z, n) = (sv_r[u], sv_z[u], sv_n[u]);
                        let dz_pre = d[u] * (hprev[u] - n) * z * (1.0 - z);
                        let dr_pre = drh_r[u] * hprev[u] * rr * (1.0 - rr);
                        o_r[u] = dr_pre;
                        o_z[u] = dz_pre;
                        rec_r[u] = dr_pre;
                        rec_z[u] = dz_pre;
                        direct_r[u] = d[u] * z + drh_r[u] * rr;
                    }
                }
            }
            input.add_step(dx_s, g3, xp, x, wit.as_ref(), d_in, r0, rows, s, t);
            gemm(rows, rec_w, hp, rec_s, rp, 1, &wt_a.data, hp, &mut dh, hp, false);
            dh.iter_mut().zip(&direct).for_each(|(a, d)| *a += d);
        }
        for r in 0..rows {
            dh0[r * h..(r + 1) * h].copy_from_slice(&dh[r * hp..r * hp + h]);
        }
        input
    }).collect();
    let dw_ih = sum_partials(partials.iter().map(|p| &p.w_ih[..]), d, g3, xp);
    let db = sum_partials(partials.iter().map(|p| &p.bias[..]), 1, g3, xp);
    let rows = t * b;
    let h_prev = &hs[..rows * hp];
    let (dw, db_hn) = if reset_after {
        let dw = weight_grad(h_prev, &drec, rows, h, hp, g3);
        let db = column_sums(&drec, rows, rp, 2 * h, g3);
        (dw, db)
    } else {
        let dw_rz = weight_grad(h_prev, &drec, rows, h, hp, 2 * h);
        // dn sits at columns 2H..3H of dx; q = r h at columns 3H..4H of the saved rows.
        let mut dn = vec![0.0f32; rows * hp];
        for (dst, src) in dn.chunks_exact_mut(hp).zip(dx.chunks_exact(xp)) {
            dst[..h].copy_from_slice(&src[2 * h..g3]);
        }
        // (`get`: `saved` is empty when T or B is 0; then so is every operand here.)
        let dw_n = weight_grad(saved.get(3 * h..).unwrap_or_default(), &dn, rows, h, sp, h);
        let mut dw = vec![0.0f32; h * g3];
        for i in 0..h {
            dw[i * g3..i * g3 + 2 * h].copy_from_slice(&dw_rz[i * 2 * h..(i + 1) * 2 * h]);
            dw[i * g3 + 2 * h..(i + 1) * g3].copy_from_slice(&dw_n[i * h..(i + 1) * h]);
        }
        (dw, column_sums(&dn, rows, hp, 0, h))
    };
    let grads = CpuGrads {
        x: need_dx.then_some(d_in),
        w_ih: dw_ih,
        bias: db,
        w_hh: dw,
        h0: dh0,
    };
    (grads, db_hn)
}
}

/// Sums columns `c0..c1` over `rows` rows of stride `ld`.
fn column_sums(x: &[f32], rows: usize, ld: usize, c0: usize, c1: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; c1 - c0];
    for r in 0..rows {
        out.iter_mut()
            .zip(&x[r * ld + c0..r * ld + c1])
            .for_each(|(o, v)| *o += v);
    }
    out
}
