//! The input projection `x_s · w_ih + bias`, folded into each kernel's time loop.
//!
//! Computing it per step, while the step's rows are in cache, means no `[B, T, G]`
//! projection (or its gradient) is ever written and read back: [`project_step`] is the
//! forward side, [`InputGrads`] accumulates the backward side per thread.

use super::gemm::{Packed, gemm};
use super::{padded, size};

/// Copies step `s` of `rows` rows (each `width` values of a padded row of stride `ld` in
/// `src`) into `dst`, one thread's rows of the batch-major `[B, T, width]` buffer (`[rows,
/// T, width]`), while the rows are still in cache: a separate strided copy of the whole
/// buffer afterwards costs more than the time loop's products at the IRNN shape.
fn write_batch_major(
    dst: &mut [f32],
    src: &[f32],
    ld: usize,
    rows: usize,
    s: usize,
    t: usize,
    width: usize,
) {
    for r in 0..rows {
        dst[(r * t + s) * width..][..width].copy_from_slice(&src[r * ld..r * ld + width]);
    }
}

/// `out = x_s · w_ih` for rows `r0..r0 + rows` of `x` `[B, T, D]` at step `s`: row `r` of the
/// product's left operand is `x[r0 + r, s, ..]`. `out` has row stride `w_ih.np`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn project_step(
    x: &[f32],
    w_ih: &Packed,
    r0: usize,
    rows: usize,
    s: usize,
    t: usize,
    out: &mut [f32],
) {
    let d = w_ih.k;
    gemm(
        rows,
        d,
        w_ih.np,
        &x[(r0 * t + s) * d..],
        t * d,
        1,
        &w_ih.data,
        w_ih.np,
        out,
        w_ih.np,
        false,
    );
}

/// One thread's share of the input-side gradients of a layer whose projection is folded
/// into the time loop: `d w_ih` `[D, ld]` and `d bias` `[ld]` (padded), accumulated step
/// by step while the step's gate gradients are in cache, and `d x` written per step.
pub(super) struct InputGrads {
    pub(super) w_ih: Vec<f32>,
    pub(super) bias: Vec<f32>,
    /// One step's `d x` rows, padded to `padded(D)`; empty when `d x` is not needed.
    dx_s: Vec<f32>,
}

impl InputGrads {
    pub(super) fn new(d: usize, ld: usize, rows: usize, need_dx: bool) -> Self {
        Self {
            w_ih: vec![0.0f32; size(&[d, ld])],
            bias: vec![0.0f32; ld],
            dx_s: vec![0.0f32; if need_dx { size(&[rows, padded(d)]) } else { 0 }],
        }
    }

    /// Adds step `s`: `g` holds the gradients w.r.t. the projection of rows `r0..r0 + rows`
    /// (`k` values in rows of stride `ld`). `w_ih_t` is `w_ih^T` packed (`[k, padded(D)]`),
    /// present exactly when `d x` is wanted; `dx` is then this thread's rows (`r0..r0 +
    /// rows`) of the `[B, T, D]` output.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_step(
        &mut self,
        g: &[f32],
        k: usize,
        ld: usize,
        x: &[f32],
        w_ih_t: Option<&Packed>,
        dx: &mut [f32],
        r0: usize,
        rows: usize,
        s: usize,
        t: usize,
    ) {
        let d = self.w_ih.len() / ld;
        for row in g[..rows * ld].chunks_exact(ld) {
            self.bias.iter_mut().zip(row).for_each(|(a, v)| *a += v);
        }
        // d w_ih += x_s^T g: element (i, kk) of the left operand is x[r0 + kk, s, i].
        gemm(
            d,
            rows,
            ld,
            &x[(r0 * t + s) * d..],
            1,
            t * d,
            g,
            ld,
            &mut self.w_ih,
            ld,
            true,
        );
        if let Some(w_ih_t) = w_ih_t {
            // d x_s = g · w_ih^T
            let dp = w_ih_t.np;
            gemm(
                rows,
                k,
                dp,
                g,
                ld,
                1,
                &w_ih_t.data,
                dp,
                &mut self.dx_s,
                dp,
                false,
            );
            write_batch_major(dx, &self.dx_s, dp, rows, s, t, d);
        }
    }
}
