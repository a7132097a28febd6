//! A specialised CPU kernel for the flex backend: the whole time loop of a layer on plain
//! `f32` buffers.
//!
//! Why not the backend-generic loop: at the experiments' shapes (e.g. a 40 x 100 by
//! 100 x 100 product per step, 784 steps) the arithmetic per step is tiny, so the cost is
//! per-operation overhead and re-packing the recurrent matrix at every call. Here:
//! - the recurrent matrix is packed once per call into zero-padded 16-wide panels, and a
//!   register-blocked kernel ([`gemm`]) multiplies it at every step;
//! - the batch is split across the rayon threads, each running the whole time loop on its
//!   own rows (the recurrence is independent per sequence, so no per-step synchronisation);
//! - the input projection `x_s · w_ih + bias` is computed per step inside the loop, and its
//!   weight and bias gradients are accumulated per step in each thread's share, so no
//!   `[B, T, G]` projection or projection gradient is stored;
//! - the recurrent weight gradient is accumulated per step (Elman) or is one large product
//!   after the loop, split across threads (LSTM, GRU);
//! - denormal floats are flushed to zero on the computing threads ([`FlushDenormals`]):
//!   decaying hidden states and gradients otherwise fall into denormals, which are many
//!   times slower on x86. This changes results only for values below ~1.2e-38.
//!
//! Internal buffers are time-major with rows padded to `hp` (a multiple of 16) columns; the
//! padding stays zero, so the kernel never needs a ragged tail.

use rayon::prelude::*;

/// Lanes per vector panel of the kernel.
pub const LANES: usize = 16;

pub fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// A `k x n` matrix stored row-major with rows padded to `padded(n)` columns of zeros.
pub struct Packed {
    pub data: Vec<f32>,
    pub k: usize,
    pub n: usize,
    pub np: usize,
}

impl Packed {
    /// Packs `m` (row-major `k x n`), or its transpose when `transpose` (then `m` is `n x k`).
    pub fn new(m: &[f32], k: usize, n: usize, transpose: bool) -> Self {
        let np = padded(n);
        let mut data = vec![0.0; k * np];
        for r in 0..k {
            for c in 0..n {
                data[r * np + c] = if transpose {
                    m[c * k + r]
                } else {
                    m[r * n + c]
                };
            }
        }
        Self { data, k, n, np }
    }

    /// Packs columns `c0..c1` of the row-major `k x n_total` matrix `m`.
    pub fn columns(m: &[f32], k: usize, n_total: usize, c0: usize, c1: usize) -> Self {
        let n = c1 - c0;
        let np = padded(n);
        let mut data = vec![0.0; k * np];
        for r in 0..k {
            data[r * np..r * np + n].copy_from_slice(&m[r * n_total + c0..r * n_total + c1]);
        }
        Self { data, k, n, np }
    }

    /// Packs the transpose of columns `c0..c1` of the row-major `k x n_total` matrix `m`:
    /// a `(c1 - c0) x k` matrix.
    pub fn columns_transposed(m: &[f32], k: usize, n_total: usize, c0: usize, c1: usize) -> Self {
        let rows = c1 - c0;
        let np = padded(k);
        let mut data = vec![0.0; rows * np];
        for r in 0..rows {
            for c in 0..k {
                data[r * np + c] = m[c * n_total + c0 + r];
            }
        }
        Self {
            data,
            k: rows,
            n: k,
            np,
        }
    }
}

/// `C[i, 0..np] (+)= sum_kk A(i, kk) * B[kk, 0..np]` for `i < m`, where
/// `A(i, kk) = a[i * rsa + kk * csa]`, `B` is row-major with `ldb >= np` and `np` a multiple
/// of [`LANES`]; `C` has row stride `ldc >= np`.
///
/// # Safety
/// All indexed elements must be in bounds of the pointed-to buffers.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm(
    m: usize,
    k: usize,
    np: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    debug_assert_eq!(np % LANES, 0);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return unsafe { gemm_avx512(m, k, np, a, rsa, csa, b, ldb, c, ldc, accumulate) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return unsafe { gemm_avx2(m, k, np, a, rsa, csa, b, ldb, c, ldc, accumulate) };
        }
    }
    unsafe { gemm_body(m, k, np, a, rsa, csa, b, ldb, c, ldc, accumulate) }
}

/// The same kernel body compiled for an instruction set, so the compiler vectorises the
/// register blocks with that set's vector width.
macro_rules! gemm_for_target {
    ($name:ident, $features:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name(
            m: usize,
            k: usize,
            np: usize,
            a: *const f32,
            rsa: usize,
            csa: usize,
            b: *const f32,
            ldb: usize,
            c: *mut f32,
            ldc: usize,
            accumulate: bool,
        ) {
            unsafe { gemm_body(m, k, np, a, rsa, csa, b, ldb, c, ldc, accumulate) }
        }
    };
}

gemm_for_target!(gemm_avx512, "avx512f,avx2,fma");
gemm_for_target!(gemm_avx2, "avx2,fma");

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_body(
    m: usize,
    k: usize,
    np: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    // Column panels outside, rows inside: one panel of B (k x 64, 25.6 KB at k = 100) stays
    // in L1 while every row block uses it. Rows outside would stream all of B from L2 once
    // per four rows (B is 160 KB for the LSTM's 100 x 400 recurrent matrix).
    let mut j = 0;
    while j < np {
        let left = (np - j) / LANES;
        unsafe {
            match left {
                1 => column_panel::<1>(m, j, k, a, rsa, csa, b, ldb, c, ldc, accumulate),
                2 => column_panel::<2>(m, j, k, a, rsa, csa, b, ldb, c, ldc, accumulate),
                3 => column_panel::<3>(m, j, k, a, rsa, csa, b, ldb, c, ldc, accumulate),
                _ => column_panel::<4>(m, j, k, a, rsa, csa, b, ldb, c, ldc, accumulate),
            }
        }
        j += LANES * left.min(4);
    }
}

/// Columns `j..j + NV * 16` of `C` for all `m` rows, four rows at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn column_panel<const NV: usize>(
    m: usize,
    j: usize,
    k: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    let mut i = 0;
    while i + 4 <= m {
        unsafe { panel::<4, NV>(i, j, k, a, rsa, csa, b, ldb, c, ldc, accumulate) };
        i += 4;
    }
    while i < m {
        unsafe { panel::<1, NV>(i, j, k, a, rsa, csa, b, ldb, c, ldc, accumulate) };
        i += 1;
    }
}

/// `MR` rows by `NV * 16` columns of `C`, accumulated in registers over all of `k`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn panel<const MR: usize, const NV: usize>(
    i: usize,
    j: usize,
    k: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    let mut acc = [[[0.0f32; LANES]; NV]; MR];
    if accumulate {
        for (r, row) in acc.iter_mut().enumerate() {
            for (v, vec) in row.iter_mut().enumerate() {
                let src = unsafe { c.add((i + r) * ldc + j + v * LANES) };
                for (l, x) in vec.iter_mut().enumerate() {
                    *x = unsafe { *src.add(l) };
                }
            }
        }
    }
    for kk in 0..k {
        let brow = unsafe { b.add(kk * ldb + j) };
        let mut bv = [[0.0f32; LANES]; NV];
        for (v, vec) in bv.iter_mut().enumerate() {
            for (l, x) in vec.iter_mut().enumerate() {
                *x = unsafe { *brow.add(v * LANES + l) };
            }
        }
        for (r, row) in acc.iter_mut().enumerate() {
            let av = unsafe { *a.add((i + r) * rsa + kk * csa) };
            for (v, vec) in row.iter_mut().enumerate() {
                for (l, x) in vec.iter_mut().enumerate() {
                    *x = av.mul_add(bv[v][l], *x);
                }
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, vec) in row.iter().enumerate() {
            let dst = unsafe { c.add((i + r) * ldc + j + v * LANES) };
            for (l, x) in vec.iter().enumerate() {
                unsafe { *dst.add(l) = *x };
            }
        }
    }
}

/// `e^x` for `f32` without a libm call, so loops over it vectorise: range reduction to
/// `2^n e^r` with `|r| <= ln2 / 2` and a degree-6 polynomial (the Cephes `expf`
/// coefficients); relative error ~1e-7 over the range that does not overflow.
///
/// Plain multiply-adds on purpose: `f32::mul_add` and `f32::round` become calls into libm
/// wherever the code is compiled without FMA/SSE4.1 (the default x86-64 target), which
/// stops vectorisation and cost more than half of the LSTM step.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds x log2(e) to the nearest integer n (|n| < 2^22), which then
    // sits in the low mantissa bits: the bits of `shifted` are ROUND's bits plus n. Reading
    // n from there avoids an `as i32` cast, whose saturating semantics compile to a
    // per-lane scalar sequence (it was 40% of the LSTM forward's gate loop).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.7);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let n_int = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let e = p * (r * r) + r + 1.0;
    e * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// `tanh` through [`exp`]: `(1 - e) / (1 + e)` with `e = e^{-2|x|}`, and the Taylor series
/// near zero where that difference would cancel.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let e = exp(-2.0 * a);
    let big = (1.0 - e) / (1.0 + e);
    let x2 = a * a;
    let small = a * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0)));
    let t = if a < 0.0625 { small } else { big };
    t.copysign(x)
}

/// The logistic function through [`exp`].
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Sets flush-to-zero and denormals-are-zero on this thread while alive.
pub struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

impl FlushDenormals {
    #[allow(deprecated)]
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            // SAFETY: reading and writing MXCSR only changes this thread's float modes.
            let saved = unsafe { _mm_getcsr() };
            unsafe { _mm_setcsr(saved | 0x8040) };
            Self { saved }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Self {}
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushDenormals {
    #[allow(deprecated)]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::x86_64::_mm_setcsr(self.saved)
        };
    }
}

/// Compiles a kernel function once per instruction set and picks one at run time.
///
/// The crate is built for baseline x86-64 (users' binaries must run on any CPU), so the
/// pointwise gate loops would otherwise use 4-wide SSE. Each copy of the body is
/// compiled with AVX-512 or AVX2+FMA enabled; closures inside the body (the per-thread
/// time loops) inherit the features.
macro_rules! multiversion {
    (
        $(#[$attr:meta])*
        pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        $(#[$attr])*
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512($($arg: $ty),*) -> $ret $body
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) -> $ret $body
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports the features the copy was compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            #[allow(clippy::too_many_arguments)]
            fn baseline($($arg: $ty),*) -> $ret $body
            baseline($($arg),*)
        }
    };
}

/// A raw pointer that threads may share because each writes disjoint rows.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

/// Copies step `s` of rows `r0..r0 + rows` (each `width` values of a padded row of stride
/// `ld` in `src`) into the batch-major `[B, T, width]` buffer `dst`, while the rows are
/// still in cache: a separate strided copy of the whole buffer afterwards costs more than
/// the time loop's products at the IRNN shape.
fn write_batch_major(
    dst: Shared,
    src: &[f32],
    ld: usize,
    rows: usize,
    r0: usize,
    s: usize,
    t: usize,
    width: usize,
) {
    for r in 0..rows {
        let out =
            unsafe { std::slice::from_raw_parts_mut(dst.0.add(((r0 + r) * t + s) * width), width) };
        out.copy_from_slice(&src[r * ld..r * ld + width]);
    }
}

/// `out = x_s · w_ih` for rows `r0..r0 + rows` of `x` `[B, T, D]` at step `s`: row `r` of the
/// product's left operand is `x[r0 + r, s, ..]`. `out` has row stride `w_ih.np`.
///
/// # Safety
/// `out` must hold `rows` rows of `w_ih.np` values.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn project_step(
    x: &[f32],
    w_ih: &Packed,
    r0: usize,
    rows: usize,
    s: usize,
    t: usize,
    out: *mut f32,
) {
    let d = w_ih.k;
    unsafe {
        gemm(
            rows,
            d,
            w_ih.np,
            x.as_ptr().add((r0 * t + s) * d),
            t * d,
            1,
            w_ih.data.as_ptr(),
            w_ih.np,
            out,
            w_ih.np,
            false,
        )
    };
}

/// One thread's share of the input-side gradients of a layer whose projection is folded
/// into the time loop: `d w_ih` `[D, ld]` and `d bias` `[ld]` (padded), accumulated step
/// by step while the step's gate gradients are in cache, and `d x` written per step.
struct InputGrads {
    w_ih: Vec<f32>,
    bias: Vec<f32>,
    /// One step's `d x` rows, padded to `padded(D)`; empty when `d x` is not needed.
    dx_s: Vec<f32>,
}

impl InputGrads {
    fn new(d: usize, ld: usize, rows: usize, need_dx: bool) -> Self {
        Self {
            w_ih: vec![0.0f32; d * ld],
            bias: vec![0.0f32; ld],
            dx_s: vec![0.0f32; if need_dx { rows * padded(d) } else { 0 }],
        }
    }

    /// Adds step `s`: `g` holds the gradients w.r.t. the projection of rows `r0..r0 + rows`
    /// (`k` values in rows of stride `ld`). `w_ih_t` is `w_ih^T` packed (`[k, padded(D)]`),
    /// present exactly when `d x` is wanted; `dx` is then the `[B, T, D]` output.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn add_step(
        &mut self,
        g: &[f32],
        k: usize,
        ld: usize,
        x: &[f32],
        w_ih_t: Option<&Packed>,
        dx: Shared,
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
        unsafe {
            gemm(
                d,
                rows,
                ld,
                x.as_ptr().add((r0 * t + s) * d),
                1,
                t * d,
                g.as_ptr(),
                ld,
                self.w_ih.as_mut_ptr(),
                ld,
                true,
            )
        };
        if let Some(w_ih_t) = w_ih_t {
            // d x_s = g · w_ih^T
            let dp = w_ih_t.np;
            unsafe {
                gemm(
                    rows,
                    k,
                    dp,
                    g.as_ptr(),
                    ld,
                    1,
                    w_ih_t.data.as_ptr(),
                    dp,
                    self.dx_s.as_mut_ptr(),
                    dp,
                    false,
                )
            };
            write_batch_major(dx, &self.dx_s, dp, rows, r0, s, t, d);
        }
    }
}

/// Sums the threads' padded `[k, ld]` partials into one `[k, n]` matrix.
fn sum_partials<'a>(
    parts: impl Iterator<Item = &'a [f32]>,
    k: usize,
    n: usize,
    ld: usize,
) -> Vec<f32> {
    let mut sum = vec![0.0f32; k * n];
    for part in parts {
        for i in 0..k {
            sum[i * n..(i + 1) * n]
                .iter_mut()
                .zip(&part[i * ld..i * ld + n])
                .for_each(|(a, v)| *a += v);
        }
    }
    sum
}

/// Splits `0..b` into one contiguous row range per worker thread.
fn row_chunks(b: usize) -> Vec<(usize, usize)> {
    let n = rayon::current_num_threads().clamp(1, b.max(1));
    (0..n)
        .map(|i| (i * b / n, (i + 1) * b / n))
        .filter(|(s, e)| e > s)
        .collect()
}

multiversion! {
/// Elman forward with the input projection folded in: step `s` computes
/// `h_s = act(x_s · w_ih + bias + h_{s-1} · w)`. `x` `[B, T, D]`, `w_ih` `[D, H]`,
/// `bias` `[H]`, `w` `[H, H]`, `h0` `[B, H]`.
///
/// Folding the projection into the time loop means no `[B, T, H]` projection is written
/// and read back (at the IRNN shape that buffer is 12.5 MB, far outside the caches).
/// Returns the states `[slots, B, hp]` (time-major, padded): all `T + 1` steps when
/// `keep_all`, else two slots used in turn (the last state is in slot `T % 2`).
#[allow(clippy::too_many_arguments)]
pub fn elman_forward(
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
    let hp = padded(h);
    let slots = if keep_all { t + 1 } else { 2 };
    let slot = move |s: usize| if keep_all { s } else { s % 2 };
    let mut hs = vec![0.0f32; slots * b * hp];
    for r in 0..b {
        hs[r * hp..r * hp + h].copy_from_slice(&h0[r * h..(r + 1) * h]);
    }
    let wp = Packed::new(w, h, h, false);
    let wip = Packed::new(w_ih, d, h, false);
    let out = Shared(hs.as_mut_ptr());
    row_chunks(b).into_par_iter().for_each(|(r0, r1)| {
        let _ftz = FlushDenormals::new();
        let out = out;
        let rows = r1 - r0;
        for s in 0..t {
            let prev = unsafe { out.0.add((slot(s) * b + r0) * hp) };
            let cur = unsafe { out.0.add((slot(s + 1) * b + r0) * hp) };
            unsafe { project_step(x, &wip, r0, rows, s, t, cur) };
            unsafe {
                gemm(
                    rows,
                    h,
                    hp,
                    prev,
                    hp,
                    1,
                    wp.data.as_ptr(),
                    hp,
                    cur,
                    hp,
                    true,
                )
            };
            for r in 0..rows {
                let a = unsafe { std::slice::from_raw_parts_mut(cur.add(r * hp), h) };
                if relu {
                    a.iter_mut().zip(bias).for_each(|(a, c)| *a = (*a + c).max(0.0));
                } else {
                    a.iter_mut().zip(bias).for_each(|(a, c)| *a = tanh(*a + c));
                }
            }
        }
    });
    hs
}
}

/// The gradients of [`elman_backward`].
pub struct ElmanCpuGrads {
    /// `[B, T, D]`, when asked for.
    pub x: Option<Vec<f32>>,
    /// `[D, H]`.
    pub w_ih: Vec<f32>,
    /// `[H]`.
    pub bias: Vec<f32>,
    /// `[H, H]`.
    pub w_hh: Vec<f32>,
    /// `[B, H]`.
    pub h0: Vec<f32>,
}

multiversion! {
/// Elman backward from the states of [`elman_forward`] (`keep_all`) and its input `x`.
/// `grad_out` is `[B, T, H]` when `keep_sequence`, else `[B, H]` (the last step's).
/// `need_dx`: also return the gradient w.r.t. `x` (a lower layer's output).
#[allow(clippy::too_many_arguments)]
pub fn elman_backward(
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
) -> ElmanCpuGrads {
    let hp = padded(h);
    let wt = Packed::new(w, h, h, true);
    let wit = need_dx.then(|| Packed::new(w_ih, h, d, true));
    let mut dx = vec![0.0f32; if need_dx { b * t * d } else { 0 }];
    let mut dh0 = vec![0.0f32; b * h];
    let dx_ptr = Shared(dx.as_mut_ptr());
    let dh0_ptr = Shared(dh0.as_mut_ptr());
    // Each thread accumulates its rows' share of dW_hh = sum_s h_{s-1}^T da_s, dW_ih =
    // sum_s x_s^T da_s and d bias step by step, so no [T, B, H] buffer of da is written
    // and read back (at long T it would not fit in cache, and the step cost would grow
    // with T).
    let partials: Vec<(InputGrads, Vec<f32>)> = row_chunks(b)
        .into_par_iter()
        .map(|(r0, r1)| {
            let _ftz = FlushDenormals::new();
            let (dx_ptr, dh0_ptr) = (dx_ptr, dh0_ptr);
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
                let hprev = hs[(s * b + r0) * hp..].as_ptr();
                unsafe {
                    gemm(
                        h,
                        rows,
                        hp,
                        hprev,
                        1,
                        hp,
                        da.as_ptr(),
                        hp,
                        dw_hh.as_mut_ptr(),
                        hp,
                        true,
                    )
                };
                input.add_step(&da, h, hp, x, wit.as_ref(), dx_ptr, r0, rows, s, t);
                // dh_{s-1} = da_s · W^T
                unsafe {
                    gemm(
                        rows,
                        h,
                        hp,
                        da.as_ptr(),
                        hp,
                        1,
                        wt.data.as_ptr(),
                        hp,
                        dh.as_mut_ptr(),
                        hp,
                        false,
                    )
                };
            }
            for r in 0..rows {
                let dst = unsafe { std::slice::from_raw_parts_mut(dh0_ptr.0.add((r0 + r) * h), h) };
                dst.copy_from_slice(&dh[r * hp..r * hp + h]);
            }
            (input, dw_hh)
        })
        .collect();
    ElmanCpuGrads {
        x: need_dx.then_some(dx),
        w_ih: sum_partials(partials.iter().map(|p| &p.0.w_ih[..]), d, h, hp),
        bias: sum_partials(partials.iter().map(|p| &p.0.bias[..]), 1, h, hp),
        w_hh: sum_partials(partials.iter().map(|p| &p.1[..]), h, h, hp),
        h0: dh0,
    }
}
}

multiversion! {
/// LSTM forward (gates i, f, g, o) with the input projection folded in, as in
/// [`elman_forward`]: `x` `[B, T, D]`, `w_ih` `[D, 4H]`, `bias` `[4H]`, `w` `[H, 4H]`, `h0`,
/// `c0` `[B, H]`. Returns `(hs, cs, acts)`: states `[slots, B, hp]` as in [`elman_forward`]
/// and, when `keep_all`, the activated gates `[T, B, padded(4H)]` for the backward pass.
#[allow(clippy::too_many_arguments)]
pub fn lstm_forward(
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
    let (hp, g4, gp) = (padded(h), 4 * h, padded(4 * h));
    let slots = if keep_all { t + 1 } else { 2 };
    let slot = move |s: usize| if keep_all { s } else { s % 2 };
    let mut hs = vec![0.0f32; slots * b * hp];
    let mut cs = vec![0.0f32; slots * b * hp];
    let mut acts = vec![0.0f32; if keep_all { t * b * gp } else { 0 }];
    for r in 0..b {
        hs[r * hp..r * hp + h].copy_from_slice(&h0[r * h..(r + 1) * h]);
        cs[r * hp..r * hp + h].copy_from_slice(&c0[r * h..(r + 1) * h]);
    }
    let wp = Packed::new(w, h, g4, false);
    let wip = Packed::new(w_ih, d, g4, false);
    let (hs_p, cs_p, acts_p) = (
        Shared(hs.as_mut_ptr()),
        Shared(cs.as_mut_ptr()),
        Shared(acts.as_mut_ptr()),
    );
    row_chunks(b).into_par_iter().for_each(|(r0, r1)| {
        let _ftz = FlushDenormals::new();
        let (hs_p, cs_p, acts_p) = (hs_p, cs_p, acts_p);
        let rows = r1 - r0;
        let mut gates = vec![0.0f32; rows * gp];
        for s in 0..t {
            unsafe { project_step(x, &wip, r0, rows, s, t, gates.as_mut_ptr()) };
            let prev = unsafe { hs_p.0.add((slot(s) * b + r0) * hp) };
            unsafe {
                gemm(
                    rows,
                    h,
                    gp,
                    prev,
                    hp,
                    1,
                    wp.data.as_ptr(),
                    gp,
                    gates.as_mut_ptr(),
                    gp,
                    true,
                )
            };
            for r in 0..rows {
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
                let base_prev = (slot(s) * b + r0 + r) * hp;
                let base = (slot(s + 1) * b + r0 + r) * hp;
                let c_prev = unsafe { std::slice::from_raw_parts(cs_p.0.add(base_prev), h) };
                let c = unsafe { std::slice::from_raw_parts_mut(cs_p.0.add(base), h) };
                let hn = unsafe { std::slice::from_raw_parts_mut(hs_p.0.add(base), h) };
                for u in 0..h {
                    let cv = gf[u] * c_prev[u] + gi[u] * gg[u];
                    c[u] = cv;
                    hn[u] = go[u] * tanh(cv);
                }
                if keep_all {
                    let dst = unsafe {
                        std::slice::from_raw_parts_mut(acts_p.0.add((s * b + r0 + r) * gp), g4)
                    };
                    dst.copy_from_slice(g);
                }
            }
        }
    });
    (hs, cs, acts)
}
}

/// The gradients of [`lstm_backward`].
pub struct LstmCpuGrads {
    /// `[B, T, D]`, when asked for.
    pub x: Option<Vec<f32>>,
    /// `[D, 4H]`.
    pub w_ih: Vec<f32>,
    /// `[4H]`.
    pub bias: Vec<f32>,
    /// `[H, 4H]`.
    pub w_hh: Vec<f32>,
    /// `[B, H]`.
    pub h0: Vec<f32>,
    /// `[B, H]`.
    pub c0: Vec<f32>,
}

multiversion! {
/// LSTM backward from [`lstm_forward`] (`keep_all`) and its input `x`. `grad_h` is
/// `[B, T, H]` when `keep_sequence`, else `[B, H]`; `grad_c` is the final cell state's
/// `[B, H]`. `need_dx`: also return the gradient w.r.t. `x`.
#[allow(clippy::too_many_arguments)]
pub fn lstm_backward(
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
) -> LstmCpuGrads {
    let (hp, g4, gp) = (padded(h), 4 * h, padded(4 * h));
    let wt = Packed::new(w, g4, h, true);
    let wit = need_dx.then(|| Packed::new(w_ih, g4, d, true));
    let mut dg = vec![0.0f32; t * b * gp];
    let mut dx = vec![0.0f32; if need_dx { b * t * d } else { 0 }];
    let mut dh0 = vec![0.0f32; b * h];
    let mut dc0 = vec![0.0f32; b * h];
    let (dg_p, dx_p, dh0_p, dc0_p) = (
        Shared(dg.as_mut_ptr()),
        Shared(dx.as_mut_ptr()),
        Shared(dh0.as_mut_ptr()),
        Shared(dc0.as_mut_ptr()),
    );
    let partials: Vec<InputGrads> = row_chunks(b).into_par_iter().map(|(r0, r1)| {
        let _ftz = FlushDenormals::new();
        let (dg_p, dx_p, dh0_p, dc0_p) = (dg_p, dx_p, dh0_p, dc0_p);
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
                let out =
                    unsafe { std::slice::from_raw_parts_mut(dg_p.0.add((s * b + row) * gp), g4) };
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
            let dg_s = unsafe { dg_p.0.add((s * b + r0) * gp) };
            let dg_rows = unsafe { std::slice::from_raw_parts(dg_s, rows * gp) };
            input.add_step(dg_rows, g4, gp, x, wit.as_ref(), dx_p, r0, rows, s, t);
            unsafe {
                gemm(
                    rows,
                    g4,
                    hp,
                    dg_s,
                    gp,
                    1,
                    wt.data.as_ptr(),
                    hp,
                    dh.as_mut_ptr(),
                    hp,
                    false,
                )
            };
        }
        for r in 0..rows {
            let row = r0 + r;
            unsafe {
                std::slice::from_raw_parts_mut(dh0_p.0.add(row * h), h)
                    .copy_from_slice(&dh[r * hp..r * hp + h]);
                std::slice::from_raw_parts_mut(dc0_p.0.add(row * h), h)
                    .copy_from_slice(&dc[r * h..(r + 1) * h]);
            }
        }
        input
    }).collect();
    let dw = weight_grad(&hs[..t * b * hp], &dg, t * b, h, hp, g4);
    LstmCpuGrads {
        x: need_dx.then_some(dx),
        w_ih: sum_partials(partials.iter().map(|p| &p.w_ih[..]), d, g4, gp),
        bias: sum_partials(partials.iter().map(|p| &p.bias[..]), 1, g4, gp),
        w_hh: dw,
        h0: dh0,
        c0: dc0,
    }
}
}

multiversion! {
/// GRU forward (gates r, z, n) with the input projection folded in, as in
/// [`elman_forward`]: `x` `[B, T, D]`, `w_ih` `[D, 3H]`, `bias` `[3H]` (`b_ih` with `b_hr`,
/// `b_hz` folded in), `w` `[H, 3H]`, `b_hn` `[H]`, `h0` `[B, H]`. Returns `(hs, saved)`: states as in
/// [`elman_forward`] and, when `keep_all`, per step `[r, z, n, q]` rows `[T, B, padded(4H)]`
/// with `q = h W_hn + b_hn` (reset after) or `q = r * h` (reset before).
#[allow(clippy::too_many_arguments)]
pub fn gru_forward(
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
    let (hp, g3, xp, sp) = (padded(h), 3 * h, padded(3 * h), padded(4 * h));
    let wip = Packed::new(w_ih, d, g3, false);
    let slots = if keep_all { t + 1 } else { 2 };
    let slot = move |s: usize| if keep_all { s } else { s % 2 };
    let mut hs = vec![0.0f32; slots * b * hp];
    let mut saved = vec![0.0f32; if keep_all { t * b * sp } else { 0 }];
    for r in 0..b {
        hs[r * hp..r * hp + h].copy_from_slice(&h0[r * h..(r + 1) * h]);
    }
    // Reset after: one product with all of W. Reset before: h W_rz, then (r h) W_n.
    let (w_a, w_n) = if reset_after {
        (Packed::new(w, h, g3, false), None)
    } else {
        (
            Packed::columns(w, h, g3, 0, 2 * h),
            Some(Packed::columns(w, h, g3, 2 * h, g3)),
        )
    };
    let (hs_p, saved_p) = (Shared(hs.as_mut_ptr()), Shared(saved.as_mut_ptr()));
    row_chunks(b).into_par_iter().for_each(|(r0, r1)| {
        let _ftz = FlushDenormals::new();
        let (hs_p, saved_p) = (hs_p, saved_p);
        let rows = r1 - r0;
        let mut hw = vec![0.0f32; rows * w_a.np];
        let mut q = vec![0.0f32; rows * hp];
        let mut qn = vec![0.0f32; rows * hp];
        let mut row_save = vec![0.0f32; 4 * h];
        // This step's input projection x_s · w_ih + bias, rows padded to xp.
        let mut xw = vec![0.0f32; rows * xp];
        for s in 0..t {
            unsafe { project_step(x, &wip, r0, rows, s, t, xw.as_mut_ptr()) };
            for row in xw.chunks_exact_mut(xp) {
                row.iter_mut().zip(bias).for_each(|(v, c)| *v += c);
            }
            let prev = unsafe { hs_p.0.add((slot(s) * b + r0) * hp) };
            unsafe {
                gemm(
                    rows,
                    h,
                    w_a.np,
                    prev,
                    hp,
                    1,
                    w_a.data.as_ptr(),
                    w_a.np,
                    hw.as_mut_ptr(),
                    w_a.np,
                    false,
                )
            };
            if let Some(w_n) = &w_n {
                for r in 0..rows {
                    // Exact-length slices so the loop has no bounds checks and vectorises.
                    let x_r = &xw[r * xp..][..h];
                    let hprev = unsafe { std::slice::from_raw_parts(prev.add(r * hp), h) };
                    let hw_r = &mut hw[r * w_a.np..][..h];
                    let q_r = &mut q[r * hp..][..h];
                    for u in 0..h {
                        // Keep the activated r in place of its pre-activation for the loop below.
                        let rr = sigmoid(x_r[u] + hw_r[u]);
                        hw_r[u] = rr;
                        q_r[u] = rr * hprev[u];
                    }
                }
                unsafe {
                    gemm(
                        rows,
                        h,
                        hp,
                        q.as_ptr(),
                        hp,
                        1,
                        w_n.data.as_ptr(),
                        hp,
                        qn.as_mut_ptr(),
                        hp,
                        false,
                    )
                };
            }
            let b_hn = &b_hn[..h];
            for r in 0..rows {
                // Exact-length slices so the loops below have no bounds checks and vectorise.
                let x = &xw[r * xp..][..g3];
                let (x_r, x_zn) = x.split_at(h);
                let (x_z, x_n) = x_zn.split_at(h);
                let hw_r = &hw[r * w_a.np..][..w_a.n];
                let (hw_rr, hw_zn) = hw_r.split_at(h);
                let hw_z = &hw_zn[..h];
                let hprev = unsafe { std::slice::from_raw_parts(prev.add(r * hp), h) };
                let hn = unsafe {
                    std::slice::from_raw_parts_mut(hs_p.0.add((slot(s + 1) * b + r0 + r) * hp), h)
                };
                // The saved [r, z, n, q] row goes straight to the tape when there is one.
                let save: &mut [f32] = if keep_all {
                    unsafe {
                        std::slice::from_raw_parts_mut(saved_p.0.add((s * b + r0 + r) * sp), 4 * h)
                    }
                } else {
                    &mut row_save[..]
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
                    let qn_r = &qn[r * hp..][..h];
                    let q_r = &q[r * hp..][..h];
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
        }
    });
    (hs, saved)
}
}

/// The gradients of [`gru_backward`].
pub struct GruCpuGrads {
    /// `[B, T, D]`, when asked for.
    pub x: Option<Vec<f32>>,
    /// `[D, 3H]`.
    pub w_ih: Vec<f32>,
    /// `[3H]`, the gradient of the folded projection bias.
    pub bias: Vec<f32>,
    /// `[H, 3H]`.
    pub w_hh: Vec<f32>,
    /// `[H]`.
    pub b_hn: Vec<f32>,
    /// `[B, H]`.
    pub h0: Vec<f32>,
}

multiversion! {
/// GRU backward from [`gru_forward`] (`keep_all`) and its input `x`. `need_dx`: also
/// return the gradient w.r.t. `x`.
#[allow(clippy::too_many_arguments)]
pub fn gru_backward(
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
) -> GruCpuGrads {
    let (hp, g3, xp, sp) = (padded(h), 3 * h, padded(3 * h), padded(4 * h));
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
    let mut d_in = vec![0.0f32; if need_dx { b * t * d } else { 0 }];
    let d_in_p = Shared(d_in.as_mut_ptr());
    let mut dx = vec![0.0f32; t * b * xp];
    let mut drec = vec![0.0f32; t * b * rp];
    let mut dh0 = vec![0.0f32; b * h];
    let (dx_p, drec_p, dh0_p) = (
        Shared(dx.as_mut_ptr()),
        Shared(drec.as_mut_ptr()),
        Shared(dh0.as_mut_ptr()),
    );
    let partials: Vec<InputGrads> = row_chunks(b).into_par_iter().map(|(r0, r1)| {
        let _ftz = FlushDenormals::new();
        let (dx_p, drec_p, dh0_p, d_in_p) = (dx_p, drec_p, dh0_p, d_in_p);
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
            // Exact-length slices below so the loops have no bounds checks and vectorise.
            if let Some(wt_n) = &wt_n {
                // d(r h) = dn_pre · W_n^T needs dn_pre first: compute it per row.
                for r in 0..rows {
                    let row = r0 + r;
                    let sv = &saved[(s * b + row) * sp..][..4 * h];
                    let (z, n) = (&sv[h..2 * h], &sv[2 * h..3 * h]);
                    let out_n = unsafe {
                        std::slice::from_raw_parts_mut(dx_p.0.add((s * b + row) * xp + 2 * h), h)
                    };
                    let d = &dh[r * hp..][..h];
                    for u in 0..h {
                        out_n[u] = d[u] * (1.0 - z[u]) * (1.0 - n[u] * n[u]);
                    }
                }
                let dn = unsafe { dx_p.0.add((s * b + r0) * xp + 2 * h) };
                unsafe {
                    gemm(
                        rows,
                        h,
                        hp,
                        dn,
                        xp,
                        1,
                        wt_n.data.as_ptr(),
                        hp,
                        drh.as_mut_ptr(),
                        hp,
                        false,
                    )
                };
            }
            for r in 0..rows {
                let row = r0 + r;
                let sv = &saved[(s * b + row) * sp..][..4 * h];
                let (sv_r, rest) = sv.split_at(h);
                let (sv_z, rest) = rest.split_at(h);
                let (sv_n, sv_q) = rest.split_at(h);
                let sv_q = &sv_q[..h];
                let hprev = &hs[(s * b + row) * hp..][..h];
                let out =
                    unsafe { std::slice::from_raw_parts_mut(dx_p.0.add((s * b + row) * xp), g3) };
                let (o_r, rest) = out.split_at_mut(h);
                let (o_z, o_n) = rest.split_at_mut(h);
                let o_n = &mut o_n[..h];
                let rec = unsafe {
                    std::slice::from_raw_parts_mut(drec_p.0.add((s * b + row) * rp), rec_w)
                };
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
            let dx_rows =
                unsafe { std::slice::from_raw_parts(dx_p.0.add((s * b + r0) * xp), rows * xp) };
            input.add_step(dx_rows, g3, xp, x, wit.as_ref(), d_in_p, r0, rows, s, t);
            let rec_s = unsafe { drec_p.0.add((s * b + r0) * rp) };
            unsafe {
                gemm(
                    rows,
                    rec_w,
                    hp,
                    rec_s,
                    rp,
                    1,
                    wt_a.data.as_ptr(),
                    hp,
                    dh.as_mut_ptr(),
                    hp,
                    false,
                )
            };
            dh.iter_mut().zip(&direct).for_each(|(a, d)| *a += d);
        }
        for r in 0..rows {
            let dst = unsafe { std::slice::from_raw_parts_mut(dh0_p.0.add((r0 + r) * h), h) };
            dst.copy_from_slice(&dh[r * hp..r * hp + h]);
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
        let dw_n = weight_grad(&saved[3 * h..], &dn, rows, h, sp, h);
        let mut dw = vec![0.0f32; h * g3];
        for i in 0..h {
            dw[i * g3..i * g3 + 2 * h].copy_from_slice(&dw_rz[i * 2 * h..(i + 1) * 2 * h]);
            dw[i * g3 + 2 * h..(i + 1) * g3].copy_from_slice(&dw_n[i * h..(i + 1) * h]);
        }
        (dw, column_sums(&dn, rows, hp, 0, h))
    };
    GruCpuGrads {
        x: need_dx.then_some(d_in),
        w_ih: dw_ih,
        bias: db,
        w_hh: dw,
        b_hn: db_hn,
        h0: dh0,
    }
}
}

/// The output gradient for `row` at step `s`, if the output holds that step.
fn out_grad(
    grad_out: &[f32],
    keep_sequence: bool,
    row: usize,
    s: usize,
    t: usize,
    h: usize,
) -> Option<&[f32]> {
    if keep_sequence {
        Some(&grad_out[(row * t + s) * h..(row * t + s + 1) * h])
    } else if s == t - 1 {
        Some(&grad_out[row * h..(row + 1) * h])
    } else {
        None
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

/// `dW [k_out, n] = X^T · D` summed over `rows` time-batch rows: `X` is `[rows, xp]` (the
/// first `k_out` columns used), `D` is `[rows, np]` padded. Threads split the output rows;
/// the row loop is blocked so a block of `D` stays in cache while every output row uses it.
pub fn weight_grad(
    x: &[f32],
    d: &[f32],
    rows: usize,
    k_out: usize,
    xp: usize,
    n: usize,
) -> Vec<f32> {
    let np = padded(n);
    const KC: usize = 256;
    let mut dw = vec![0.0f32; k_out * np];
    let chunk = k_out.div_ceil(rayon::current_num_threads().max(1)).max(1);
    dw.par_chunks_mut(chunk * np)
        .enumerate()
        .for_each(|(ci, out)| {
            let _ftz = FlushDenormals::new();
            let i0 = ci * chunk;
            let m = out.len() / np;
            let mut start = 0;
            while start < rows {
                let kc = KC.min(rows - start);
                unsafe {
                    gemm(
                        m,
                        kc,
                        np,
                        x.as_ptr().add(start * xp + i0),
                        1,
                        xp,
                        d.as_ptr().add(start * np),
                        np,
                        out.as_mut_ptr(),
                        np,
                        start > 0,
                    )
                };
                start += kc;
            }
        });
    if np == n {
        dw
    } else {
        dw.chunks(np).flat_map(|r| r[..n].iter().copied()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|kk| a[i * k + kk] * b[kk * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn gemm_matches_naive_on_ragged_shapes() {
        for (m, k, n) in [
            (1, 1, 1),
            (5, 3, 17),
            (9, 100, 100),
            (4, 7, 64),
            (3, 20, 80),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 13) as f32 - 6.0) / 4.0)
                .collect();
            let bp = Packed::new(&b, k, n, false);
            let mut c = vec![0.0; m * bp.np];
            unsafe {
                gemm(
                    m,
                    k,
                    bp.np,
                    a.as_ptr(),
                    k,
                    1,
                    bp.data.as_ptr(),
                    bp.np,
                    c.as_mut_ptr(),
                    bp.np,
                    false,
                )
            };
            let want = naive(m, k, n, &a, &b);
            for i in 0..m {
                for j in 0..n {
                    assert!(
                        (c[i * bp.np + j] - want[i * n + j]).abs() < 1e-4,
                        "{m}x{k}x{n} at {i},{j}"
                    );
                }
                assert!(c[i * bp.np + n..(i + 1) * bp.np].iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn fast_exp_tanh_sigmoid_are_accurate() {
        let mut worst = (0.0f64, 0.0f64, 0.0f64);
        for i in -20000..=20000 {
            let x = i as f32 * 1e-3;
            let rel = |a: f32, b: f32| ((a - b).abs() / b.abs().max(1e-30)) as f64;
            worst.0 = worst.0.max(rel(exp(x), x.exp()));
            worst.1 = worst.1.max(rel(tanh(x), x.tanh()));
            worst.2 = worst.2.max(rel(sigmoid(x), 1.0 / (1.0 + (-x).exp())));
        }
        assert!(
            worst.0 < 1e-6 && worst.1 < 1e-6 && worst.2 < 1e-6,
            "{worst:?}"
        );
        assert_eq!(tanh(0.0), 0.0);
        assert!(tanh(50.0) == 1.0 && tanh(-50.0) == -1.0);
    }

    #[test]
    fn weight_grad_is_x_transpose_times_d() {
        let (rows, k, n) = (600, 7, 20);
        let (xp, np) = (padded(k), padded(n));
        let x: Vec<f32> = (0..rows * xp)
            .map(|i| {
                if i % xp < k {
                    ((i % 9) as f32 - 4.0) / 5.0
                } else {
                    0.0
                }
            })
            .collect();
        let d: Vec<f32> = (0..rows * np)
            .map(|i| {
                if i % np < n {
                    ((i % 7) as f32 - 3.0) / 2.0
                } else {
                    0.0
                }
            })
            .collect();
        let dw = weight_grad(&x, &d, rows, k, xp, n);
        for i in 0..k {
            for j in 0..n {
                let want: f32 = (0..rows).map(|r| x[r * xp + i] * d[r * np + j]).sum();
                assert!(
                    (dw[i * n + j] - want).abs() < 1e-3 * want.abs().max(1.0),
                    "{i},{j}"
                );
            }
        }
    }
}
