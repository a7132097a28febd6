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
//!
//! Memory safety. Every function here that is not `unsafe fn` is memory-safe for any
//! arguments (for the floating-point modes, see the caveat at [`FlushDenormals::new`]):
//! - the kernels the flex backend calls assert at entry that each slice has exactly the
//!   length of its documented shape (the flex backend passes tensors of those shapes, so
//!   the asserts cannot fire from this crate), and compute every size with overflow checks
//!   ([`size`]);
//! - the product [`gemm`] takes slices and asserts, once per call, that they span every
//!   element the strided product reads or writes; only then does it enter the raw-pointer
//!   kernel;
//! - batch-major outputs (`d x`, `d h0`, `d c0`) are split into one `&mut` slab per thread
//!   ([`split_rows`]); time-major buffers, whose rows of one thread are not contiguous, are
//!   shared through [`Shared`], whose accessors check bounds and are `unsafe` only for the
//!   one thing they cannot check: that the threads touch disjoint rows. [`row_chunks`]
//!   gives each thread a disjoint range `r0..r1` of batch rows, and a thread only ever asks
//!   for elements of its own rows.

use std::marker::PhantomData;

use rayon::prelude::*;

/// Lanes per vector panel of the kernel.
const LANES: usize = 16;

pub(crate) fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// The product of `dims`, panicking if it overflows `usize` (then no buffer of that size
/// could exist, and the index arithmetic derived from it could wrap).
fn size(dims: &[usize]) -> usize {
    dims.iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        // The dims are those of tensors that exist in memory, so their product fits.
        .expect("cpu kernel: buffer size overflows usize")
}

/// The number of elements a strided `rows x cols` operand spans from its first element:
/// its largest index, `(rows - 1) * rs + (cols - 1) * cs`, plus one; 0 when it is empty.
/// Panics if that overflows `usize`.
fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        return 0;
    }
    (rows - 1)
        .checked_mul(rs)
        .and_then(|a| (cols - 1).checked_mul(cs).and_then(|b| a.checked_add(b)))
        .and_then(|last| last.checked_add(1))
        // Called on the shapes of existing buffers: the extent is at most their length.
        .expect("cpu kernel: operand extent overflows usize")
}

/// A `k x n` matrix stored row-major with rows padded to `padded(n)` columns of zeros.
struct Packed {
    data: Vec<f32>,
    k: usize,
    n: usize,
    np: usize,
}

impl Packed {
    /// Packs `m` (row-major `k x n`), or its transpose when `transpose` (then `m` is `n x k`).
    fn new(m: &[f32], k: usize, n: usize, transpose: bool) -> Self {
        let np = padded(n);
        let mut data = vec![0.0; size(&[k, np])];
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
    fn columns(m: &[f32], k: usize, n_total: usize, c0: usize, c1: usize) -> Self {
        let n = c1 - c0;
        let np = padded(n);
        let mut data = vec![0.0; size(&[k, np])];
        for r in 0..k {
            data[r * np..r * np + n].copy_from_slice(&m[r * n_total + c0..r * n_total + c1]);
        }
        Self { data, k, n, np }
    }

    /// Packs the transpose of columns `c0..c1` of the row-major `k x n_total` matrix `m`:
    /// a `(c1 - c0) x k` matrix.
    fn columns_transposed(m: &[f32], k: usize, n_total: usize, c0: usize, c1: usize) -> Self {
        let rows = c1 - c0;
        let np = padded(k);
        let mut data = vec![0.0; size(&[rows, np])];
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
/// `A(i, kk) = a[i * rsa + kk * csa]`, `B` is row-major with row stride `ldb` and `np` a
/// multiple of [`LANES`]; `C` has row stride `ldc`. `accumulate`: add to `C` instead of
/// overwriting it.
///
/// Checks once per call (a few multiplications, nothing per element) that `np` is a multiple
/// of [`LANES`] and that each slice spans every element the product touches; panics
/// otherwise. `c` is a unique borrow, so it overlaps neither `a` nor `b`.
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    k: usize,
    np: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    // The callers in this file pad every width with `padded` and pass buffers of the shapes
    // below, so these cannot fire; they keep a wrong size from reaching the unchecked loads.
    assert!(
        np.is_multiple_of(LANES),
        "gemm: np = {np} is not a multiple of {LANES}"
    );
    assert!(
        a.len() >= span(m, k, rsa, csa),
        "gemm: A has {} elements, a {m} x {k} operand with strides ({rsa}, {csa}) spans {}",
        a.len(),
        span(m, k, rsa, csa)
    );
    assert!(
        b.len() >= span(k, np, ldb, 1),
        "gemm: B has {} elements, a {k} x {np} operand with row stride {ldb} spans {}",
        b.len(),
        span(k, np, ldb, 1)
    );
    assert!(
        c.len() >= span(m, np, ldc, 1),
        "gemm: C has {} elements, a {m} x {np} operand with row stride {ldc} spans {}",
        c.len(),
        span(m, np, ldc, 1)
    );
    let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has every feature `gemm_avx512` is compiled for (detected just
            // above); the asserts above establish `gemm_body`'s contract (spans, np % LANES).
            return unsafe { gemm_avx512(m, k, np, a, rsa, csa, b, ldb, c, ldc, accumulate) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (detected just above); the asserts above
            // establish `gemm_body`'s contract (spans, np % LANES).
            return unsafe { gemm_avx2(m, k, np, a, rsa, csa, b, ldb, c, ldc, accumulate) };
        }
    }
    // SAFETY: the asserts above establish `gemm_body`'s contract: `a`, `b`, `c` come from
    // slices spanning every indexed element, `np % LANES == 0`, and `c` (a `&mut`) overlaps
    // neither `a` nor `b`.
    unsafe { gemm_body(m, k, np, a, rsa, csa, b, ldb, c, ldc, accumulate) }
}

/// The same kernel body compiled for an instruction set, so the compiler vectorises the
/// register blocks with that set's vector width.
macro_rules! gemm_for_target {
    ($name:ident, $features:literal) => {
        /// [`gemm_body`] compiled with the target features named in the macro call.
        ///
        /// # Safety
        /// The CPU must support those features, and the arguments must meet
        /// [`gemm_body`]'s contract.
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
            // SAFETY: this function's caller guarantees `gemm_body`'s contract (see above);
            // `gemm_body` needs no target feature.
            unsafe { gemm_body(m, k, np, a, rsa, csa, b, ldb, c, ldc, accumulate) }
        }
    };
}

gemm_for_target!(gemm_avx512, "avx512f,avx2,fma");
gemm_for_target!(gemm_avx2, "avx2,fma");

/// The raw-pointer product behind [`gemm`].
///
/// # Safety
/// - `np` is a multiple of [`LANES`];
/// - `a.add(i * rsa + kk * csa)` is readable for every `i < m`, `kk < k`;
/// - `b.add(kk * ldb + j)` is readable for every `kk < k`, `j < np`;
/// - `c.add(i * ldc + j)` is readable and writable for every `i < m`, `j < np`, those
///   elements overlap none of the `A` and `B` elements read, and nothing else reads or
///   writes them while the call runs.
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
    debug_assert_eq!(np % LANES, 0);
    // Column panels outside, rows inside: one panel of B (k x 64, 25.6 KB at k = 100) stays
    // in L1 while every row block uses it. Rows outside would stream all of B from L2 once
    // per four rows (B is 160 KB for the LSTM's 100 x 400 recurrent matrix).
    let mut j = 0;
    while j < np {
        let left = (np - j) / LANES;
        // SAFETY: `j < np` and `np % LANES == 0`, so `left >= 1`, and the panel chosen covers
        // columns `j..j + LANES * min(left, 4)`, all `< np`; rows `< m` and `kk < k` as the
        // caller guarantees for this function.
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
///
/// # Safety
/// [`gemm_body`]'s contract, with `j + NV * LANES <= np`.
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
        // SAFETY: rows `i..i + 4` are `< m`; the columns are in range by this fn's contract.
        unsafe { panel::<4, NV>(i, j, k, a, rsa, csa, b, ldb, c, ldc, accumulate) };
        i += 4;
    }
    while i < m {
        // SAFETY: row `i < m`; the columns are in range by this fn's contract.
        unsafe { panel::<1, NV>(i, j, k, a, rsa, csa, b, ldb, c, ldc, accumulate) };
        i += 1;
    }
}

/// `MR` rows by `NV * 16` columns of `C`, accumulated in registers over all of `k`.
///
/// # Safety
/// [`gemm_body`]'s contract, with `i + MR <= m` and `j + NV * LANES <= np`.
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
                // SAFETY: row `i + r < m`, columns `j + v * LANES + 0..LANES < np`: in C.
                let src = unsafe { c.add((i + r) * ldc + j + v * LANES) };
                for (l, x) in vec.iter_mut().enumerate() {
                    // SAFETY: as above (`l < LANES`).
                    *x = unsafe { *src.add(l) };
                }
            }
        }
    }
    for kk in 0..k {
        // SAFETY: row `kk < k`, columns `j + 0..NV * LANES <= np`: in B.
        let brow = unsafe { b.add(kk * ldb + j) };
        let mut bv = [[0.0f32; LANES]; NV];
        for (v, vec) in bv.iter_mut().enumerate() {
            for (l, x) in vec.iter_mut().enumerate() {
                // SAFETY: column `j + v * LANES + l < j + NV * LANES <= np`: in B.
                *x = unsafe { *brow.add(v * LANES + l) };
            }
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: `A(i + r, kk)` with `i + r < m`, `kk < k`: readable by the contract.
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
            // SAFETY: row `i + r < m`, columns `j + v * LANES + 0..LANES < np`: in C.
            let dst = unsafe { c.add((i + r) * ldc + j + v * LANES) };
            for (l, x) in vec.iter().enumerate() {
                // SAFETY: as above (`l < LANES`); C is writable and unaliased by the contract.
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
fn exp(x: f32) -> f32 {
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
    let p = p * r + 5.0e-1;
    let e = p * (r * r) + r + 1.0;
    e * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// `tanh` through [`exp`]: `(1 - e) / (1 + e)` with `e = e^{-2|x|}`, and the Taylor series
/// near zero where that difference would cancel.
#[inline(always)]
fn tanh(x: f32) -> f32 {
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
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Sets flush-to-zero and denormals-are-zero on this thread while alive.
///
/// Not `Send`: it must be dropped on the thread whose MXCSR it changed.
struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
    _not_send: PhantomData<*const ()>,
}

impl FlushDenormals {
    #[allow(deprecated)]
    fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            // SAFETY: `_mm_getcsr` needs only SSE, which every x86-64 CPU has; it reads this
            // thread's MXCSR and touches no memory.
            let saved = unsafe { _mm_getcsr() };
            // Caveat: Rust documents changing DAZ/FTZ as outside its float model (the compiler
            // may evaluate float operations as if they were off); here that can only move
            // values below ~1.2e-38, and no address, length or index is computed from floats.
            // SAFETY: SSE as above; FTZ | DAZ (0x8040) changes only this thread's float modes,
            // and `drop` restores `saved` on this same thread (the guard is not `Send`).
            unsafe { _mm_setcsr(saved | 0x8040) };
            Self {
                saved,
                _not_send: PhantomData,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Self {
            _not_send: PhantomData,
        }
    }
}

impl Drop for FlushDenormals {
    #[allow(deprecated)]
    fn drop(&mut self) {
        // SAFETY: SSE is baseline on x86-64; this writes back the MXCSR value read in `new`
        // on the same thread (the guard is not `Send`), restoring the caller's float modes.
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
/// time loops) inherit the features. The copies are safe functions: calling one is
/// `unsafe` only because its target features must be present, which is checked first.
macro_rules! multiversion {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512($($arg: $ty),*) -> $ret $body
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) -> $ret $body
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX-512F, AVX2 and FMA (detected just above), every
                    // feature this copy is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX2 and FMA (detected just above), the features
                    // this copy is compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            #[allow(clippy::too_many_arguments)]
            fn baseline($($arg: $ty),*) -> $ret $body
            baseline($($arg),*)
        }
    };
}

/// A buffer that the worker threads write concurrently, each only at its own batch rows
/// (time-major buffers, where one thread's rows are not contiguous).
///
/// It borrows the buffer mutably for `'a`, so the buffer outlives every slice handed out
/// and nothing else touches it meanwhile. The accessors check bounds; they are `unsafe`
/// because they cannot check that no two live slices overlap.
#[derive(Clone, Copy)]
struct Shared<'a> {
    ptr: *mut f32,
    len: usize,
    _buf: PhantomData<&'a mut [f32]>,
}

// SAFETY: a `Shared` is the address and length of a `&'a mut [f32]` (which is `Send`); it
// reaches memory only through its `unsafe` accessors, whose callers guarantee that live
// slices (on any threads) never overlap unless both are shared, so no data race is possible.
unsafe impl Send for Shared<'_> {}
// SAFETY: as for `Send`: sharing the address is harmless, every access goes through the
// accessors' no-overlap contract.
unsafe impl Sync for Shared<'_> {}

impl<'a> Shared<'a> {
    fn new(buf: &'a mut [f32]) -> Self {
        Self {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            _buf: PhantomData,
        }
    }

    /// Panics unless `offset..offset + len` lies inside the buffer.
    #[inline(always)]
    fn check(self, offset: usize, len: usize) {
        // The drivers split rows into disjoint ranges of the buffer they allocated, so this
        // cannot fire; it is the bound the raw-pointer accesses rely on.
        assert!(
            offset <= self.len && len <= self.len - offset,
            "cpu kernel: rows {offset}..+{len} outside a shared buffer of {}",
            self.len
        );
    }

    /// Elements `offset..offset + len`, to write. Panics if they are not in the buffer.
    ///
    /// # Safety
    /// While the returned slice is alive, no other slice obtained from this buffer (on any
    /// thread) may overlap it.
    #[inline(always)]
    unsafe fn slice_mut(self, offset: usize, len: usize) -> &'a mut [f32] {
        self.check(offset, len);
        // SAFETY: the range is inside the buffer (checked above), which stays mutably
        // borrowed, so alive and otherwise untouched, for `'a`; the caller rules out overlaps.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(offset), len) }
    }

    /// Elements `offset..offset + len`, to read. Panics if they are not in the buffer.
    ///
    /// # Safety
    /// While the returned slice is alive, no slice from [`Shared::slice_mut`] (on any
    /// thread) may overlap it.
    #[inline(always)]
    unsafe fn slice(self, offset: usize, len: usize) -> &'a [f32] {
        self.check(offset, len);
        // SAFETY: in bounds (checked above) of the buffer borrowed for `'a`; the caller rules
        // out a live mutable slice over the range.
        unsafe { std::slice::from_raw_parts(self.ptr.add(offset), len) }
    }
}

/// Splits `buf`, batch-major with `row_len` values per batch row, into one slab per range
/// of `chunks` (ascending, disjoint ranges from [`row_chunks`]), so each thread writes its
/// own rows of a batch-major output through a plain `&mut`.
fn split_rows<'a>(
    mut buf: &'a mut [f32],
    chunks: &[(usize, usize)],
    row_len: usize,
) -> Vec<&'a mut [f32]> {
    let mut slabs = Vec::with_capacity(chunks.len());
    let mut at = 0;
    for &(r0, r1) in chunks {
        let (_, rest) = std::mem::take(&mut buf).split_at_mut((r0 - at) * row_len);
        let (slab, rest) = rest.split_at_mut((r1 - r0) * row_len);
        slabs.push(slab);
        buf = rest;
        at = r1;
    }
    slabs
}

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
fn project_step(
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
struct InputGrads {
    w_ih: Vec<f32>,
    bias: Vec<f32>,
    /// One step's `d x` rows, padded to `padded(D)`; empty when `d x` is not needed.
    dx_s: Vec<f32>,
}

impl InputGrads {
    fn new(d: usize, ld: usize, rows: usize, need_dx: bool) -> Self {
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
    fn add_step(
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

/// Splits `0..b` into one contiguous row range per worker thread: ascending, disjoint and
/// non-empty, covering `0..b`. Every kernel below relies on the ranges being disjoint (each
/// thread touches only its own rows of the shared buffers).
fn row_chunks(b: usize) -> Vec<(usize, usize)> {
    let n = rayon::current_num_threads().clamp(1, b.max(1));
    (0..n)
        .map(|i| (i * b / n, (i + 1) * b / n))
        .filter(|(s, e)| e > s)
        .collect()
}

/// Asserts that the kernel argument `name` holds exactly `want` values (its documented
/// shape). The flex backend passes tensors of exactly those shapes, so in this crate the
/// assert cannot fire; it keeps a wrong size from reaching the index arithmetic.
#[track_caller]
fn check_len(kernel: &str, name: &str, got: usize, want: usize) {
    assert!(
        got == want,
        "{kernel}: `{name}` has {got} values, its shape needs {want}"
    );
}

/// One thread's share of one step of a forward time loop, as [`forward_loop`] hands it to a
/// cell's step arithmetic: rows `r0..r0 + rows` of the batch at step `s`.
struct ForwardStep<'a, const N: usize> {
    r0: usize,
    rows: usize,
    s: usize,
    /// Each state (h; and c for the LSTM) before the step: this thread's rows, stride `hp`.
    prev: [&'a [f32]; N],
    /// Each state after the step, to write: this thread's rows, stride `hp`.
    next: [&'a mut [f32]; N],
    /// This thread's rows of the step's tape entry (stride `tape_width`), when recording.
    tape: Option<&'a mut [f32]>,
}

/// The time-loop driver of every cell's forward kernel, written once: the state buffers,
/// the batch split across threads (each runs all T steps on its own rows, so no per-step
/// synchronisation), the two-slot rotation when earlier steps need not be kept, denormal
/// flushing, and the disjoint row slices each thread gets. The cell supplies per-thread
/// scratch (`scratch(rows)`) and its step arithmetic (`step`), which reads `prev` and
/// writes `next` (and the tape row when there is one).
///
/// Returns the states `[slots, B, hp]` (time-major, padded): all `T + 1` steps when
/// `keep_all`, else two slots used in turn (the last state is in slot `T % 2`); and the
/// tape `[T, B, tape_width]` when `keep_all` (empty otherwise).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn forward_loop<const N: usize, W>(
    b: usize,
    t: usize,
    h: usize,
    init: [&[f32]; N],
    keep_all: bool,
    tape_width: usize,
    scratch: impl Fn(usize) -> W + Sync,
    step: impl Fn(&mut W, ForwardStep<'_, N>) + Sync,
) -> ([Vec<f32>; N], Vec<f32>) {
    let hp = padded(h);
    let slots = if keep_all { t + 1 } else { 2 };
    let slot = move |s: usize| if keep_all { s } else { s % 2 };
    let mut states: [Vec<f32>; N] = std::array::from_fn(|_| vec![0.0f32; size(&[slots, b, hp])]);
    for (state, init) in states.iter_mut().zip(init) {
        for r in 0..b {
            state[r * hp..r * hp + h].copy_from_slice(&init[r * h..(r + 1) * h]);
        }
    }
    let mut tape = vec![
        0.0f32;
        if keep_all {
            size(&[t, b, tape_width])
        } else {
            0
        }
    ];
    {
        let shared = states.each_mut().map(|s| Shared::new(s));
        let tape_p = Shared::new(&mut tape);
        row_chunks(b).into_par_iter().for_each(|(r0, r1)| {
            let _ftz = FlushDenormals::new();
            let rows = r1 - r0;
            let mut w = scratch(rows);
            for s in 0..t {
                let (at_prev, at_next) = ((slot(s) * b + r0) * hp, (slot(s + 1) * b + r0) * hp);
                // Rows r0..r1 of a slot are this thread's alone (`row_chunks` gives disjoint
                // ranges), and `slot(s) != slot(s + 1)`; both slices live for this step only.
                // SAFETY: `prev` (slot `s`, read) overlaps neither `next` nor another thread's.
                let prev = shared.map(|p| unsafe { p.slice(at_prev, rows * hp) });
                // SAFETY: `next` (slot `s + 1`, written) overlaps neither `prev` nor another
                // thread's slices.
                let next = shared.map(|p| unsafe { p.slice_mut(at_next, rows * hp) });
                // SAFETY: this thread's rows of step `s` of the tape, written only here, once.
                let tape = keep_all.then(|| unsafe {
                    tape_p.slice_mut((s * b + r0) * tape_width, rows * tape_width)
                });
                step(
                    &mut w,
                    ForwardStep {
                        r0,
                        rows,
                        s,
                        prev,
                        next,
                        tape,
                    },
                );
            }
        });
    }
    (states, tape)
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

/// The gradients every cell's backward kernel returns (the LSTM's `d c0` and the GRU's
/// `d b_hn` come beside them).
pub(crate) struct CpuGrads {
    /// `[B, T, D]`, when asked for.
    pub(crate) x: Option<Vec<f32>>,
    /// `[D, G]`.
    pub(crate) w_ih: Vec<f32>,
    /// `[G]`.
    pub(crate) bias: Vec<f32>,
    /// `[H, G]`.
    pub(crate) w_hh: Vec<f32>,
    /// `[B, H]`.
    pub(crate) h0: Vec<f32>,
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
    let chunks = row_chunks(b);
    // Each thread gets its own rows of the batch-major outputs d x and d h0.
    let work: Vec<_> = chunks
        .iter()
        .copied()
        .zip(split_rows(&mut dx, &chunks, if need_dx { t * d } else { 0 }))
        .zip(split_rows(&mut dh0, &chunks, h))
        .collect();
    // Each thread accumulates its rows' share of dW_hh = sum_s h_{s-1}^T da_s, dW_ih =
    // sum_s x_s^T da_s and d bias step by step, so no [T, B, H] buffer of da is written
    // and read back (at long T it would not fit in cache, and the step cost would grow
    // with T).
    let partials: Vec<(InputGrads, Vec<f32>)> = work
        .into_par_iter()
        .map(|(((r0, r1), dx), dh0)| {
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

multiversion! {
/// LSTM forward (gates i, f, g, o) with the input projection folded in, as in
/// [`elman_forward`]: `x` `[B, T, D]`, `w_ih` `[D, 4H]`, `bias` `[4H]`, `w` `[H, 4H]`, `h0`,
/// `c0` `[B, H]`. Returns `(hs, cs, acts)`: states `[slots, B, hp]` as in [`elman_forward`]
/// and, when `keep_all`, the activated gates `[T, B, padded(4H)]` for the backward pass.
///
/// Panics if a slice's length does not match its shape.
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
    let chunks = row_chunks(b);
    // Each thread gets its own rows of the batch-major outputs d x, d h0 and d c0.
    let work: Vec<_> = chunks
        .iter()
        .copied()
        .zip(split_rows(&mut dx, &chunks, if need_dx { t * d } else { 0 }))
        .zip(split_rows(&mut dh0, &chunks, h))
        .zip(split_rows(&mut dc0, &chunks, h))
        .collect();
    let partials: Vec<InputGrads> = work.into_par_iter().map(|((((r0, r1), dx), dh0), dc0)| {
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

multiversion! {
/// GRU forward (gates r, z, n) with the input projection folded in, as in
/// [`elman_forward`]: `x` `[B, T, D]`, `w_ih` `[D, 3H]`, `bias` `[3H]` (`b_ih` with `b_hr`,
/// `b_hz` folded in), `w` `[H, 3H]`, `b_hn` `[H]`, `h0` `[B, H]`. Returns `(hs, saved)`: states as in
/// [`elman_forward`] and, when `keep_all`, per step `[r, z, n, q]` rows `[T, B, padded(4H)]`
/// with `q = h W_hn + b_hn` (reset after) or `q = r * h` (reset before).
///
/// Panics if a slice's length does not match its shape.
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
    let chunks = row_chunks(b);
    // Each thread gets its own rows of the batch-major outputs d x (`d_in`) and d h0.
    let work: Vec<_> = chunks
        .iter()
        .copied()
        .zip(split_rows(&mut d_in, &chunks, if need_dx { t * d } else { 0 }))
        .zip(split_rows(&mut dh0, &chunks, h))
        .collect();
    let partials: Vec<InputGrads> = work.into_par_iter().map(|(((r0, r1), d_in), dh0)| {
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
///
/// Panics if `x` or `d` is too short for those shapes.
fn weight_grad(x: &[f32], d: &[f32], rows: usize, k_out: usize, xp: usize, n: usize) -> Vec<f32> {
    let np = padded(n);
    // The callers in this file pass buffers of exactly these shapes (or, for `x`, a suffix
    // of one whose rows are wider), so these cannot fire; `gemm` checks each block again.
    assert!(
        x.len() >= span(rows, k_out, xp, 1),
        "weight_grad: X has {} values, {rows} rows of {k_out} at stride {xp} span {}",
        x.len(),
        span(rows, k_out, xp, 1)
    );
    assert!(
        d.len() >= size(&[rows, np]),
        "weight_grad: D has {} values, [{rows}, {np}] needs {}",
        d.len(),
        size(&[rows, np])
    );
    const KC: usize = 256;
    let mut dw = vec![0.0f32; size(&[k_out, np])];
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
                gemm(
                    m,
                    kc,
                    np,
                    &x[start * xp + i0..],
                    1,
                    xp,
                    &d[start * np..],
                    np,
                    out,
                    np,
                    start > 0,
                );
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
            gemm(m, k, bp.np, &a, k, 1, &bp.data, bp.np, &mut c, bp.np, false);
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

    #[test]
    #[should_panic(expected = "gemm: A has")]
    fn gemm_rejects_a_short_left_operand() {
        let b = Packed::new(&[1.0; 12], 3, 4, false);
        let mut c = vec![0.0; 2 * b.np];
        gemm(
            2, 3, b.np, &[1.0; 5], 3, 1, &b.data, b.np, &mut c, b.np, false,
        );
    }

    #[test]
    #[should_panic(expected = "gemm: C has")]
    fn gemm_rejects_a_short_output() {
        let b = Packed::new(&[1.0; 12], 3, 4, false);
        let mut c = vec![0.0; 2 * b.np - 1];
        gemm(
            2, 3, b.np, &[1.0; 6], 3, 1, &b.data, b.np, &mut c, b.np, false,
        );
    }

    #[test]
    #[should_panic(expected = "not a multiple")]
    fn gemm_rejects_a_ragged_width() {
        let mut c = vec![0.0; 64];
        gemm(1, 1, 17, &[1.0], 1, 1, &[1.0; 64], 17, &mut c, 17, false);
    }

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

    #[test]
    #[should_panic(expected = "outside a shared buffer")]
    fn shared_rejects_out_of_bounds_rows() {
        let mut buf = vec![0.0f32; 8];
        let shared = Shared::new(&mut buf);
        // SAFETY: no other slice of `buf` exists; the call panics before making one.
        let _ = unsafe { shared.slice_mut(4, 5) };
    }
}
