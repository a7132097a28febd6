//! The matrix product every kernel is built on, and the packing of its right operand.
//!
//! One register-blocked kernel body ([`gemm_body`]) serves every product; it is compiled
//! again for AVX-512 and for AVX2+FMA, and [`gemm`] picks the widest copy the CPU runs.
//! The right operand is a [`Packed`] matrix: rows padded with zeros to a multiple of
//! [`LANES`] columns, so the kernel works on whole vector panels and never on a ragged tail.
//! [`weight_grad`] is the one large product after a backward time loop, split across threads.

use rayon::prelude::*;

use super::threads::FlushDenormals;
use super::{LANES, padded, size};

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
pub(super) struct Packed {
    pub(super) data: Vec<f32>,
    pub(super) k: usize,
    pub(super) n: usize,
    pub(super) np: usize,
}

impl Packed {
    /// Packs `m` (row-major `k x n`), or its transpose when `transpose` (then `m` is `n x k`).
    pub(super) fn new(m: &[f32], k: usize, n: usize, transpose: bool) -> Self {
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
    pub(super) fn columns(m: &[f32], k: usize, n_total: usize, c0: usize, c1: usize) -> Self {
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
    pub(super) fn columns_transposed(
        m: &[f32],
        k: usize,
        n_total: usize,
        c0: usize,
        c1: usize,
    ) -> Self {
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
pub(super) fn gemm(
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
    // The kernels of this module pad every width with `padded` and pass buffers of the shapes
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
    unsafe { gemm_baseline(m, k, np, a, rsa, csa, b, ldb, c, ldc, accumulate) }
}

/// The operands of one product once [`gemm`] has checked them, as raw pointers so that the
/// kernel's loads carry no bounds checks: `A(i, kk) = a[i * rsa + kk * csa]` for `i < m`,
/// `kk < k`; `B` row-major `k x np` with row stride `ldb`; `C` `m x np` with row stride
/// `ldc`, added to when `accumulate`, else overwritten.
#[derive(Clone, Copy)]
struct Operands {
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
}

/// The same kernel body compiled for an instruction set, so the compiler vectorises the
/// register blocks with that set's vector width; without target features, the baseline
/// copy, inlined into [`gemm`].
macro_rules! gemm_for_target {
    ($(#[$attr:meta])* $name:ident) => {
        /// [`gemm_body`] compiled with the target features, if any, named in the macro call.
        ///
        /// # Safety
        /// The CPU must support those features, and the arguments must meet
        /// [`gemm_body`]'s contract.
        $(#[$attr])*
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
            // Plain arguments, not an `Operands`, cross this call: a struct crosses a
            // non-inlined call by reference, which changed the kernel's register allocation.
            let p = Operands {
                m,
                k,
                np,
                a,
                rsa,
                csa,
                b,
                ldb,
                c,
                ldc,
                accumulate,
            };
            // SAFETY: this function's caller guarantees `gemm_body`'s contract (see above);
            // `gemm_body` needs no target feature.
            unsafe { gemm_body(p) }
        }
    };
}

gemm_for_target!(
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    gemm_avx512
);
gemm_for_target!(
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    gemm_avx2
);
gemm_for_target!(
    #[inline(always)]
    gemm_baseline
);

/// The raw-pointer product behind [`gemm`].
///
/// # Safety
/// The fields of `p`:
/// - `np` is a multiple of [`LANES`];
/// - `a.add(i * rsa + kk * csa)` is readable for every `i < m`, `kk < k`;
/// - `b.add(kk * ldb + j)` is readable for every `kk < k`, `j < np`;
/// - `c.add(i * ldc + j)` is readable and writable for every `i < m`, `j < np`, those
///   elements overlap none of the `A` and `B` elements read, and nothing else reads or
///   writes them while the call runs.
#[inline(always)]
unsafe fn gemm_body(p: Operands) {
    let np = p.np;
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
                1 => column_panel::<1>(p, j),
                2 => column_panel::<2>(p, j),
                3 => column_panel::<3>(p, j),
                _ => column_panel::<4>(p, j),
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
unsafe fn column_panel<const NV: usize>(p: Operands, j: usize) {
    let m = p.m;
    let mut i = 0;
    while i + 4 <= m {
        // SAFETY: rows `i..i + 4` are `< m`; the columns are in range by this fn's contract.
        unsafe { panel::<4, NV>(p, i, j) };
        i += 4;
    }
    while i < m {
        // SAFETY: row `i < m`; the columns are in range by this fn's contract.
        unsafe { panel::<1, NV>(p, i, j) };
        i += 1;
    }
}

/// `MR` rows by `NV * 16` columns of `C`, accumulated in registers over all of `k`.
///
/// # Safety
/// [`gemm_body`]'s contract, with `i + MR <= m` and `j + NV * LANES <= np`.
#[inline(always)]
unsafe fn panel<const MR: usize, const NV: usize>(p: Operands, i: usize, j: usize) {
    let Operands {
        k,
        a,
        rsa,
        csa,
        b,
        ldb,
        c,
        ldc,
        accumulate,
        ..
    } = p;
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

/// `dW [k_out, n] = X^T · D` summed over `rows` time-batch rows: `X` is `[rows, xp]` (the
/// first `k_out` columns used), `D` is `[rows, np]` padded. Threads split the output rows;
/// the row loop is blocked so a block of `D` stays in cache while every output row uses it.
///
/// Panics if `x` or `d` is too short for those shapes.
pub(super) fn weight_grad(
    x: &[f32],
    d: &[f32],
    rows: usize,
    k_out: usize,
    xp: usize,
    n: usize,
) -> Vec<f32> {
    let np = padded(n);
    // The kernels of this module pass buffers of exactly these shapes (or, for `x`, a suffix
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
}
