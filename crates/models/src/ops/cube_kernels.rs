//! The time loop of one recurrent layer as one CubeCL kernel launch per pass.
//!
//! One cube (workgroup) per slice of `rows` batch rows carries them through every step: their
//! hidden states (and the LSTM's cell states) stay in shared memory, each step's recurrent
//! product `h · w_hh` is computed by the cube's units column by column (one weight read
//! serving every row of the slice), and a barrier separates the product from the cell's gate
//! arithmetic. What is outside the loop stays outside: the input
//! projection `x · w_ih + bias` arrives precomputed (`xw`), and the weight gradients are
//! large matmuls over the tensors written here (`ops/cube.rs`).
//!
//! Buffers are dense row-major; each kernel indexes them itself:
//! - `xw` `[B, T, G]`, `w_hh` `[H, G]` (forward), its transpose `w_t` `[G, H]` (backward, so
//!   that adjacent units read adjacent addresses in `dh = dgates · w_hhᵀ`);
//! - `hall` `[B, T + 1, H]`: the initial state then every step's state;
//! - `aux` `[B, T, A]`: what the backward pass needs besides the states — LSTM: the
//!   activated gates i, f, g, o and the cell state (A = 5H); GRU: r, z, n and q, where
//!   q = `h · w_hn + b_hn` (reset after) or `r * h` (reset before) (A = 4H); Elman: none.
//!
//! The recurrent matrix is read from global memory (cache-resident) at every step, or copied
//! once into shared memory at the kernel's start when it fits there beside the states
//! (`w_shared`).
//!
//! The cell is a set of compile-time flags: one kernel source, specialised per
//! cell kind and hidden size when it is first launched.

// A kernel variable assigned in every branch of an `if` is declared with a value first.
#![allow(unused_assignments)]

use burn_cubecl::cubecl;
use cubecl::prelude::*;

#[cube]
fn sigmoid<F: Float>(x: F) -> F {
    F::new(1.0) / (F::new(1.0) + (F::new(0.0) - x).exp())
}

/// The rows of this cube's slice of the batch that exist (the last slice may be partly
/// filled).
#[cube]
fn slice_rows(batch: u32, #[comptime] rows: usize) -> usize {
    let b0 = CUBE_POS_X as usize * rows;
    let mut valid = batch as usize - b0;
    if valid > rows {
        valid = rows;
    }
    valid
}

/// Copies the `len` elements of the recurrent matrix `w` into `wsh` when `shared`; the
/// caller's next barrier publishes the copy.
#[cube]
fn share_matrix<F: Float>(
    w: &Tensor<F>,
    wsh: &mut Shared<[F]>,
    #[comptime] len: usize,
    #[comptime] shared: bool,
) {
    if shared {
        let mut i = UNIT_POS_X as usize;
        while i < len {
            wsh[i] = w[i];
            i += CUBE_DIM_X as usize;
        }
    }
}

/// Element `index` of the recurrent matrix: its shared copy, or global memory.
#[cube]
fn weight<F: Float>(wsh: &Shared<[F]>, w: &Tensor<F>, index: usize, #[comptime] shared: bool) -> F {
    let mut v = F::new(0.0);
    if shared {
        v = wsh[index];
    } else {
        v = w[index];
    }
    v
}

/// One unit's block of a step's product, for every row r of the slice and `cols` adjacent
/// columns from `col0`: `acc[r * cols + c] = sum over i < n of
/// src[r * src_stride + src_offset + i] * W[i * ld + col0 + c]`. Per i, `rows` reads of
/// `src` and `cols` weight reads feed rows x cols multiply-adds.
#[cube]
#[allow(clippy::too_many_arguments)]
fn block_product<F: Float>(
    src: &Shared<[F]>,
    wsh: &Shared<[F]>,
    w: &Tensor<F>,
    col0: usize,
    #[comptime] src_stride: usize,
    #[comptime] src_offset: usize,
    #[comptime] ld: usize,
    #[comptime] n: usize,
    #[comptime] rows: usize,
    #[comptime] cols: usize,
    #[comptime] shared: bool,
) -> Array<F> {
    let mut acc = Array::<F>::new(rows * cols);
    #[unroll]
    for x in 0..rows * cols {
        acc[x] = F::new(0.0);
    }
    let mut sv = Array::<F>::new(rows);
    for i in 0..n {
        #[unroll]
        for r in 0..rows {
            sv[r] = src[r * src_stride + src_offset + i];
        }
        #[unroll]
        for c in 0..cols {
            let wv = weight::<F>(wsh, w, i * ld + col0 + c, shared);
            #[unroll]
            for r in 0..rows {
                acc[r * cols + c] += sv[r] * wv;
            }
        }
    }
    acc
}

/// Forward pass of one layer: writes `hall` and `aux` (see the module notes). `cols` must
/// divide the columns computed at once (G, or 2H for the GRU with the reset gate before).
#[allow(clippy::too_many_arguments)]
#[cube(launch_unchecked)]
pub fn recurrence_forward_kernel<F: Float>(
    xw: &Tensor<F>,
    w_hh: &Tensor<F>,
    b_hn: &Tensor<F>,
    h0: &Tensor<F>,
    c0: &Tensor<F>,
    hall: &mut Tensor<F>,
    aux: &mut Tensor<F>,
    batch: u32,
    steps: u32,
    #[comptime] rows: usize,
    #[comptime] cols: usize,
    #[comptime] w_shared: bool,
    #[comptime] hidden: usize,
    #[comptime] gates: usize,
    #[comptime] aux_width: usize,
    #[comptime] lstm: bool,
    #[comptime] gru: bool,
    #[comptime] relu: bool,
    #[comptime] reset_after: bool,
    #[define(F)] _dtype: ElemType,
) {
    let b0 = CUBE_POS_X as usize * rows;
    let valid = slice_rows(batch, rows);
    let unit = UNIT_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let t_len = steps as usize;
    let h = hidden;
    let g = hidden * gates;
    let a = aux_width;
    let zero = F::new(0.0);
    // The GRU with the reset gate before the product multiplies r * h by the n-columns,
    // so those columns wait for r; every other cell takes all G columns at once.
    let direct = comptime![if gru && !reset_after {
        2 * hidden
    } else {
        hidden * gates
    }];

    let mut hsh = Shared::<[F]>::new_slice(rows * hidden);
    let mut csh = Shared::<[F]>::new_slice(rows * hidden);
    let mut rh = Shared::<[F]>::new_slice(rows * hidden);
    let mut pre = Shared::<[F]>::new_slice(rows * hidden * gates);
    // The recurrent matrix, copied once into shared memory when it fits beside the states.
    let mut wsh = Shared::<[F]>::new_slice(comptime![if w_shared {
        hidden * hidden * gates
    } else {
        1
    }]);
    share_matrix::<F>(w_hh, &mut wsh, hidden * hidden * gates, w_shared);

    // Rows past the batch (in the last slice) stay zero and are never written out.
    let mut i = unit;
    while i < rows * g {
        pre[i] = zero;
        i += stride;
    }
    let mut i = unit;
    while i < rows * h {
        let r = i / h;
        let j = i % h;
        let mut v = zero;
        let mut c = zero;
        if r < valid {
            v = h0[(b0 + r) * h + j];
            hall[(b0 + r) * (t_len + 1) * h + j] = v;
            if lstm {
                c = c0[(b0 + r) * h + j];
            }
        }
        hsh[i] = v;
        csh[i] = c;
        rh[i] = zero;
        i += stride;
    }
    sync_cube();

    for t in 0..t_len {
        // Each unit takes `cols` adjacent columns for every row of the slice.
        let mut kb = unit;
        while kb < direct / cols {
            let k0 = kb * cols;
            let acc = block_product::<F>(
                &hsh, &wsh, w_hh, k0, hidden, 0usize, g, hidden, rows, cols, w_shared,
            );
            #[unroll]
            for r in 0..rows {
                if r < valid {
                    let xb = ((b0 + r) * t_len + t) * g;
                    #[unroll]
                    for c in 0..cols {
                        let k = k0 + c;
                        if gru && reset_after && k >= 2 * h {
                            pre[r * g + k] = acc[r * cols + c] + b_hn[k - 2 * h];
                        } else {
                            pre[r * g + k] = acc[r * cols + c] + xw[xb + k];
                        }
                    }
                }
            }
            kb += stride;
        }
        sync_cube();

        if gru && !reset_after {
            let mut i = unit;
            while i < rows * h {
                let r = i / h;
                let j = i % h;
                rh[i] = sigmoid::<F>(pre[r * g + j]) * hsh[i];
                i += stride;
            }
            sync_cube();
            let mut k = unit;
            while k < h {
                let acc = block_product::<F>(
                    &rh,
                    &wsh,
                    w_hh,
                    2 * h + k,
                    hidden,
                    0usize,
                    g,
                    hidden,
                    rows,
                    1usize,
                    w_shared,
                );
                #[unroll]
                for r in 0..rows {
                    pre[r * g + 2 * h + k] = acc[r];
                }
                k += stride;
            }
            sync_cube();
        }

        let mut i = unit;
        while i < rows * h {
            let r = i / h;
            let j = i % h;
            if r < valid {
                let b = b0 + r;
                let xb = (b * t_len + t) * g;
                let ab = (b * t_len + t) * a;
                let p = r * g;
                let mut hn = zero;
                if lstm {
                    let ig = sigmoid::<F>(pre[p + j]);
                    let fg = sigmoid::<F>(pre[p + h + j]);
                    let gg = pre[p + 2 * h + j].tanh();
                    let og = sigmoid::<F>(pre[p + 3 * h + j]);
                    let c = fg * csh[i] + ig * gg;
                    hn = og * c.tanh();
                    csh[i] = c;
                    aux[ab + j] = ig;
                    aux[ab + h + j] = fg;
                    aux[ab + 2 * h + j] = gg;
                    aux[ab + 3 * h + j] = og;
                    aux[ab + 4 * h + j] = c;
                } else if gru {
                    let rg = sigmoid::<F>(pre[p + j]);
                    let z = sigmoid::<F>(pre[p + h + j]);
                    let mut q = zero;
                    let mut n = zero;
                    if reset_after {
                        q = pre[p + 2 * h + j];
                        n = (xw[xb + 2 * h + j] + rg * q).tanh();
                    } else {
                        q = rh[i];
                        n = (xw[xb + 2 * h + j] + pre[p + 2 * h + j] + b_hn[j]).tanh();
                    }
                    hn = n + z * (hsh[i] - n);
                    aux[ab + j] = rg;
                    aux[ab + h + j] = z;
                    aux[ab + 2 * h + j] = n;
                    aux[ab + 3 * h + j] = q;
                } else if relu {
                    hn = select(pre[p + j] > zero, pre[p + j], zero);
                } else {
                    hn = pre[p + j].tanh();
                }
                hsh[i] = hn;
                hall[(b * (t_len + 1) + t + 1) * h + j] = hn;
            }
            i += stride;
        }
        sync_cube();
    }
}

/// Backward pass of one layer (BPTT over the forward pass's `hall` and `aux`).
///
/// `grad` is the gradient of the layer's output, `[B, n_rows, H]` dense: with
/// `keep_sequence` one row per step (the LSTM adds its final cell state's row), else one
/// row for the last state (and the LSTM's final cell state as a second). Writes `dxw` (the
/// gradient of the gates' pre-activations on the input side, `[B, T, G]`), `dq` (GRU: of q,
/// `[B, T, H]`), and the gradients of the initial states `dh0`, `dc0` `[B, H]`. `hcols`
/// must divide H.
#[allow(clippy::too_many_arguments)]
#[cube(launch_unchecked)]
pub fn recurrence_backward_kernel<F: Float>(
    grad: &Tensor<F>,
    w_t: &Tensor<F>,
    hall: &Tensor<F>,
    aux: &Tensor<F>,
    c0: &Tensor<F>,
    dxw: &mut Tensor<F>,
    dq: &mut Tensor<F>,
    dh0: &mut Tensor<F>,
    dc0: &mut Tensor<F>,
    batch: u32,
    steps: u32,
    grad_rows: u32,
    #[comptime] rows: usize,
    #[comptime] hcols: usize,
    #[comptime] w_shared: bool,
    #[comptime] hidden: usize,
    #[comptime] gates: usize,
    #[comptime] aux_width: usize,
    #[comptime] lstm: bool,
    #[comptime] gru: bool,
    #[comptime] relu: bool,
    #[comptime] reset_after: bool,
    #[comptime] keep_sequence: bool,
    #[define(F)] _dtype: ElemType,
) {
    let b0 = CUBE_POS_X as usize * rows;
    let valid = slice_rows(batch, rows);
    let unit = UNIT_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let t_len = steps as usize;
    let n_rows = grad_rows as usize;
    let h = hidden;
    let g = hidden * gates;
    let a = aux_width;
    let zero = F::new(0.0);
    let one = F::new(1.0);
    let through_w = comptime![if gru && !reset_after {
        2 * hidden
    } else {
        hidden * gates
    }];

    // dh: the gradient reaching the state after the current step from later steps;
    // dl: the part of the previous state's gradient that is not through w_hh;
    // dg: the gradient of the recurrent product's columns; dc: the LSTM cell state's.
    let mut dh = Shared::<[F]>::new_slice(rows * hidden);
    let mut dl = Shared::<[F]>::new_slice(rows * hidden);
    let mut dc = Shared::<[F]>::new_slice(rows * hidden);
    let mut dg = Shared::<[F]>::new_slice(rows * hidden * gates);
    // The transposed recurrent matrix, copied once into shared memory when it fits.
    let mut wsh = Shared::<[F]>::new_slice(comptime![if w_shared {
        hidden * hidden * gates
    } else {
        1
    }]);
    share_matrix::<F>(w_t, &mut wsh, hidden * hidden * gates, w_shared);

    let mut i = unit;
    while i < rows * g {
        dg[i] = zero;
        i += stride;
    }
    let mut i = unit;
    while i < rows * h {
        let r = i / h;
        let j = i % h;
        let mut c = zero;
        if lstm && r < valid {
            c = grad[((b0 + r) * n_rows + n_rows - 1) * h + j];
        }
        dh[i] = zero;
        dl[i] = zero;
        dc[i] = c;
        i += stride;
    }
    sync_cube();

    for back in 0..t_len {
        let t = t_len - 1 - back;
        let mut i = unit;
        while i < rows * h {
            let r = i / h;
            let j = i % h;
            if r < valid {
                let b = b0 + r;
                let xb = (b * t_len + t) * g;
                let ab = (b * t_len + t) * a;
                let p = r * g;
                let mut d = dh[i];
                if keep_sequence {
                    d += grad[(b * n_rows + t) * h + j];
                } else if t == t_len - 1 {
                    d += grad[b * n_rows * h + j];
                }
                dl[i] = zero;
                if lstm {
                    let ig = aux[ab + j];
                    let fg = aux[ab + h + j];
                    let gg = aux[ab + 2 * h + j];
                    let og = aux[ab + 3 * h + j];
                    let tc = aux[ab + 4 * h + j].tanh();
                    let mut c_prev = zero;
                    if t > 0 {
                        c_prev = aux[ab - a + 4 * h + j];
                    } else {
                        c_prev = c0[b * h + j];
                    }
                    let dcj = dc[i] + d * og * (one - tc * tc);
                    let di = dcj * gg * ig * (one - ig);
                    let df = dcj * c_prev * fg * (one - fg);
                    let dgg = dcj * ig * (one - gg * gg);
                    let dob = d * tc * og * (one - og);
                    dc[i] = dcj * fg;
                    dg[p + j] = di;
                    dg[p + h + j] = df;
                    dg[p + 2 * h + j] = dgg;
                    dg[p + 3 * h + j] = dob;
                    dxw[xb + j] = di;
                    dxw[xb + h + j] = df;
                    dxw[xb + 2 * h + j] = dgg;
                    dxw[xb + 3 * h + j] = dob;
                } else if gru {
                    let rg = aux[ab + j];
                    let z = aux[ab + h + j];
                    let n = aux[ab + 2 * h + j];
                    let q = aux[ab + 3 * h + j];
                    let hp = hall[(b * (t_len + 1) + t) * h + j];
                    let dn = d * (one - z) * (one - n * n);
                    let dz = d * (hp - n) * z * (one - z);
                    dl[i] = d * z;
                    dg[p + h + j] = dz;
                    dxw[xb + h + j] = dz;
                    dxw[xb + 2 * h + j] = dn;
                    if reset_after {
                        let dr = dn * q * rg * (one - rg);
                        let dqv = dn * rg;
                        dg[p + j] = dr;
                        dg[p + 2 * h + j] = dqv;
                        dxw[xb + j] = dr;
                        dq[(b * t_len + t) * h + j] = dqv;
                    } else {
                        dg[p + 2 * h + j] = dn;
                        dq[(b * t_len + t) * h + j] = dn;
                    }
                } else {
                    let y = hall[(b * (t_len + 1) + t + 1) * h + j];
                    let mut da = zero;
                    if relu {
                        da = select(y > zero, d, zero);
                    } else {
                        da = d * (one - y * y);
                    }
                    dg[p + j] = da;
                    dxw[xb + j] = da;
                }
            }
            i += stride;
        }
        sync_cube();

        if gru && !reset_after {
            // n = tanh(x_n + (r * h) · w_hn + b_hn): through r * h to r and to h.
            let mut j = unit;
            while j < h {
                // Column j of w_hnᵀ starts at row 2H of w_t: element (2H + k, j).
                let d_rh = block_product::<F>(
                    &dg,
                    &wsh,
                    w_t,
                    2 * h * h + j,
                    g,
                    2 * hidden,
                    hidden,
                    hidden,
                    rows,
                    1usize,
                    w_shared,
                );
                #[unroll]
                for r in 0..rows {
                    if r < valid {
                        let b = b0 + r;
                        let rg = aux[(b * t_len + t) * a + j];
                        let hp = hall[(b * (t_len + 1) + t) * h + j];
                        let dr = d_rh[r] * hp * rg * (one - rg);
                        dl[r * h + j] += d_rh[r] * rg;
                        dg[r * g + j] = dr;
                        dxw[(b * t_len + t) * g + j] = dr;
                    }
                }
                j += stride;
            }
            sync_cube();
        }

        // Each unit takes `hcols` adjacent state columns for every row of the slice.
        let mut jb = unit;
        while jb < h / hcols {
            let j0 = jb * hcols;
            let acc = block_product::<F>(
                &dg, &wsh, w_t, j0, g, 0usize, hidden, through_w, rows, hcols, w_shared,
            );
            #[unroll]
            for r in 0..rows {
                #[unroll]
                for c in 0..hcols {
                    dh[r * h + j0 + c] = dl[r * h + j0 + c] + acc[r * hcols + c];
                }
            }
            jb += stride;
        }
        sync_cube();
    }

    let mut i = unit;
    while i < rows * h {
        let r = i / h;
        let j = i % h;
        if r < valid {
            dh0[(b0 + r) * h + j] = dh[i];
            if lstm {
                dc0[(b0 + r) * h + j] = dc[i];
            }
        }
        i += stride;
    }
}
