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
//! The cell is a set of compile-time flags ([`Layer`], the same for both kernels): one kernel
//! source, specialised per cell kind and hidden size when it is first launched. What both
//! kernels do around their time loop (allocating and zeroing shared memory, copying the
//! recurrent matrix, moving a slice's state rows between global and shared memory) is
//! written once, in the helpers below.

// A kernel variable assigned in every branch of an `if` is declared with a value first.
#![allow(unused_assignments)]

use burn_cubecl::cubecl;
use cubecl::prelude::*;

/// What both kernels are specialised on, fixed when a layer's kernel is first launched: the
/// cell, its sizes, the batch rows per cube and where the recurrent matrix is read from.
/// Every branch on it is resolved at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layer {
    /// Batch rows per cube (the last cube's slice may be partly filled).
    pub rows: usize,
    /// Whether the recurrent matrix is copied into shared memory (else read from global).
    pub w_shared: bool,
    /// H.
    pub hidden: usize,
    /// Gate blocks of H columns: G = `gates * hidden`.
    pub gates: usize,
    /// Floats per step in `aux` (see the module notes).
    pub aux_width: usize,
    /// The LSTM cell.
    pub lstm: bool,
    /// The GRU cell.
    pub gru: bool,
    /// The Elman cell (neither LSTM nor GRU) with ReLU instead of tanh.
    pub relu: bool,
    /// The GRU's reset gate applies after the recurrent product.
    pub reset_after: bool,
    /// Slices of the state over which the forward product's units split each column block
    /// (partial sums, added up through shared memory); 1: each unit takes a whole column.
    pub splits: usize,
    /// The same for the backward product `dh = dg · w_hhᵀ`, whose slices are of the
    /// [`Layer::direct_columns`] it sums over.
    pub back_splits: usize,
}

impl Layer {
    /// The columns of the recurrent product that take the state itself: G, except 2H for
    /// the GRU with the reset gate before the product, whose n-columns take `r * h` (in the
    /// backward pass: the rows of `w_hhᵀ` through which `dh` flows back directly).
    pub fn direct_columns(&self) -> usize {
        if self.gru && !self.reset_after {
            2 * self.hidden
        } else {
            self.hidden * self.gates
        }
    }

    /// Elements of the LSTM's cell-state buffers (`csh` forward, `dc` backward), of the
    /// reset-before GRU's `r * h` (`rh`), of the GRU's part of `dh` not through the matrix
    /// (`dl`), of the shared matrix and of the split products' partial sums (`partial`,
    /// slices times rows times G or H): the slice's rows times H, H x G, or the sums, where
    /// the layer uses them, else a one-element placeholder (a shared array cannot be empty).
    pub fn cell_state_len(&self) -> usize {
        self.used(self.lstm, self.rows * self.hidden)
    }
    pub fn reset_state_len(&self) -> usize {
        self.used(self.gru && !self.reset_after, self.rows * self.hidden)
    }
    pub fn side_grad_len(&self) -> usize {
        self.used(self.gru, self.rows * self.hidden)
    }
    pub fn partial_len(&self) -> usize {
        self.used(
            self.splits > 1,
            self.splits * self.rows * self.direct_columns(),
        )
    }
    pub fn back_partial_len(&self) -> usize {
        self.used(
            self.back_splits > 1,
            self.back_splits * self.rows * self.hidden,
        )
    }
    pub fn matrix_len(&self) -> usize {
        self.used(self.w_shared, self.hidden * self.hidden * self.gates)
    }

    /// Values the backward pass's gate arithmetic reads from global memory per state
    /// element and step ([`step_reads`]): the output's gradient, then the LSTM's four gates,
    /// its cell state and the previous one; the GRU's r, z, n, q and the previous state; the
    /// Elman cell's new state.
    pub fn step_reads(&self) -> usize {
        if self.lstm {
            7
        } else if self.gru {
            6
        } else {
            2
        }
    }

    fn used(&self, used: bool, len: usize) -> usize {
        if used { len } else { 1 }
    }

    /// The shared memory a cube uses, in elements: the larger of the two kernels' buffers,
    /// placeholders included. The forward kernel holds the states, the pre-activations
    /// `[rows, G]`, the cell state, `r * h` and its product's partial sums; the backward
    /// kernel the state gradient, the gates' gradient `[rows, G]`, the cell state's, `dl`
    /// and its product's partial sums; both the matrix.
    pub fn shared_len(&self) -> usize {
        let states = self.rows * self.hidden;
        let gates = states * self.gates;
        let common = states + gates + self.cell_state_len() + self.matrix_len();
        let forward = self.reset_state_len() + self.partial_len();
        let backward = self.side_grad_len() + self.back_partial_len();
        common + forward.max(backward)
    }
}

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

/// A shared buffer of `len` elements, zeroed by the cube's units together; the caller's
/// next barrier publishes the zeros.
#[cube]
fn zeroed<F: Float>(#[comptime] len: usize) -> Shared<[F]> {
    let mut buf = Shared::<[F]>::new_slice(len);
    let mut i = UNIT_POS_X as usize;
    while i < len {
        buf[i] = F::new(0.0);
        i += CUBE_DIM_X as usize;
    }
    buf
}

/// The recurrent matrix `w` (H x G elements) as [`block_product`] reads it: copied into
/// shared memory when `layer.w_shared` (the caller's next barrier publishes the copy), else
/// a one-element placeholder beside the reads from global memory.
#[cube]
fn shared_matrix<F: Float>(w: &Tensor<F>, #[comptime] layer: Layer) -> Shared<[F]> {
    let len = layer.hidden * layer.hidden * layer.gates;
    let mut wsh = Shared::<[F]>::new_slice(comptime![layer.matrix_len()]);
    if layer.w_shared {
        let mut i = UNIT_POS_X as usize;
        while i < len {
            wsh[i] = w[i];
            i += CUBE_DIM_X as usize;
        }
    }
    wsh
}

/// Loads the `valid` rows of this cube's slice (batch rows from `b0`) from `src` into `dst`
/// `[rows, H]`: batch row `b` starts at `src[b * row_stride + offset]`. Rows past the batch
/// are zeros, and so is all of `dst` when `!load`. The caller's next barrier publishes `dst`.
#[cube]
// `load` has an `if` of its own because it is known at compile time: the read of `src` is
// compiled only where it happens.
#[allow(clippy::too_many_arguments, clippy::collapsible_if)]
fn load_rows<F: Float>(
    src: &Tensor<F>,
    dst: &mut Shared<[F]>,
    b0: usize,
    valid: usize,
    row_stride: usize,
    offset: usize,
    #[comptime] layer: Layer,
    #[comptime] load: bool,
) {
    let h = layer.hidden;
    let mut i = UNIT_POS_X as usize;
    while i < layer.rows * h {
        let r = i / h;
        let mut v = F::new(0.0);
        if load {
            if r < valid {
                v = src[(b0 + r) * row_stride + offset + i % h];
            }
        }
        dst[i] = v;
        i += CUBE_DIM_X as usize;
    }
}

/// Stores the `valid` rows of `src` `[rows, H]` (batch rows from `b0`) into `dst`, where
/// batch row `b` starts at `dst[b * row_stride]`; rows past the batch are not written. Each
/// unit reads the elements [`load_rows`] has each unit write, so right after it no barrier
/// is needed; after anything else, the caller's barrier must come first.
#[cube]
fn store_rows<F: Float>(
    src: &Shared<[F]>,
    dst: &mut Tensor<F>,
    b0: usize,
    valid: usize,
    row_stride: usize,
    #[comptime] layer: Layer,
) {
    let h = layer.hidden;
    let mut i = UNIT_POS_X as usize;
    while i < layer.rows * h {
        let r = i / h;
        if r < valid {
            dst[(b0 + r) * row_stride + i % h] = src[i];
        }
        i += CUBE_DIM_X as usize;
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

/// One unit's block of a step's product, for every row r of the slice and `cols` columns
/// `col0 + c * col_step`: `acc[r * cols + c] = sum over i0 <= i < i1 of
/// src[r * src_stride + src_offset + i] * W[i * ld + col0 + c * col_step]`. Per i, `rows`
/// reads of `src` and `cols` weight reads feed rows x cols multiply-adds. The callers
/// interleave the blocks (`col_step` is the number of blocks, `col0` the unit's block), so
/// that neighbouring units read neighbouring weights: one memory transaction, or one
/// shared-memory access without bank conflicts, serves a warp.
#[cube]
#[allow(clippy::too_many_arguments)]
fn block_product<F: Float>(
    src: &Shared<[F]>,
    wsh: &Shared<[F]>,
    w: &Tensor<F>,
    col0: usize,
    i0: usize,
    i1: usize,
    #[comptime] src_stride: usize,
    #[comptime] src_offset: usize,
    #[comptime] ld: usize,
    #[comptime] layer: Layer,
    #[comptime] cols: usize,
    #[comptime] col_step: usize,
) -> Array<F> {
    let rows = layer.rows;
    let mut acc = Array::<F>::new(rows * cols);
    #[unroll]
    for x in 0..rows * cols {
        acc[x] = F::new(0.0);
    }
    let mut sv = Array::<F>::new(rows);
    for i in i0..i1 {
        #[unroll]
        for r in 0..rows {
            sv[r] = src[r * src_stride + src_offset + i];
        }
        #[unroll]
        for c in 0..cols {
            let wv = weight::<F>(wsh, w, i * ld + col0 + c * col_step, layer.w_shared);
            #[unroll]
            for r in 0..rows {
                acc[r * cols + c] += sv[r] * wv;
            }
        }
    }
    acc
}

/// What the recurrent product's column `k` of batch row `b` is added to at step `t`: the
/// input projection `xw`, or for the reset-after GRU's n-columns the bias `b_hn` (its input
/// side is added after the reset gate).
#[cube]
#[allow(clippy::too_many_arguments)]
fn input_term<F: Float>(
    xw: &Tensor<F>,
    b_hn: &Tensor<F>,
    b: usize,
    t: usize,
    t_len: usize,
    k: usize,
    #[comptime] layer: Layer,
) -> F {
    let h = layer.hidden;
    let mut v = F::new(0.0);
    if layer.gru && layer.reset_after && k >= 2 * h {
        v = b_hn[k - 2 * h];
    } else {
        v = xw[(b * t_len + t) * h * layer.gates + k];
    }
    v
}

/// Forward pass of one layer: writes `hall` and `aux` (see the module notes). `cols` must
/// divide [`Layer::direct_columns`].
// An `if` on a compile-time value stays apart from the run-time `if` inside it: only the
// branch the layer needs is compiled.
#[allow(clippy::too_many_arguments, clippy::collapsible_if)]
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
    #[comptime] layer: Layer,
    #[comptime] cols: usize,
    #[define(F)] _dtype: ElemType,
) {
    let rows = layer.rows;
    let b0 = CUBE_POS_X as usize * rows;
    let valid = slice_rows(batch, rows);
    let unit = UNIT_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let t_len = steps as usize;
    let h = layer.hidden;
    let g = layer.hidden * layer.gates;
    let a = layer.aux_width;
    let zero = F::new(0.0);
    // The GRU with the reset gate before the product multiplies r * h by the n-columns,
    // so those columns wait for r; every other cell takes all G columns at once.
    let direct = comptime![layer.direct_columns()];

    // Rows past the batch (in the last slice) stay zero and are never written out.
    let mut hsh = Shared::<[F]>::new_slice(rows * h);
    let mut csh = Shared::<[F]>::new_slice(comptime![layer.cell_state_len()]);
    let mut rh = zeroed::<F>(comptime![layer.reset_state_len()]);
    let mut pre = zeroed::<F>(rows * g);
    let mut partial = Shared::<[F]>::new_slice(comptime![layer.partial_len()]);
    // The recurrent matrix, copied once into shared memory when it fits beside the states.
    let wsh = shared_matrix::<F>(w_hh, layer);
    load_rows::<F>(h0, &mut hsh, b0, valid, h, 0, layer, true);
    if layer.lstm {
        load_rows::<F>(c0, &mut csh, b0, valid, h, 0, layer, true);
    }
    // Step 0 of `hall` is the initial state.
    store_rows::<F>(&hsh, hall, b0, valid, (t_len + 1) * h, layer);
    sync_cube();

    for t in 0..t_len {
        // Each unit takes `cols` columns, `blocks` apart, for every row of the slice, and
        // with `splits` > 1 one slice of the state: the slices' partial sums meet in
        // `partial` and are added up after a barrier.
        let blocks = comptime![direct / cols];
        let splits = comptime![layer.splits];
        let mut w = unit;
        while w < blocks * splits {
            let kb = w % blocks;
            let part = w / blocks;
            // What the product is added to is loaded first, so that its global reads are in
            // flight while the product runs rather than after it.
            // (With a split product the sum of the slices takes it instead.)
            let mut add = Array::<F>::new(rows * cols);
            if splits == 1 {
                #[unroll]
                for r in 0..rows {
                    #[unroll]
                    for c in 0..cols {
                        let mut v = zero;
                        if r < valid {
                            v = input_term::<F>(xw, b_hn, b0 + r, t, t_len, kb + c * blocks, layer);
                        }
                        add[r * cols + c] = v;
                    }
                }
            }
            let i0 = part * h / splits;
            let i1 = (part + 1) * h / splits;
            let acc = block_product::<F>(
                &hsh, &wsh, w_hh, kb, i0, i1, h, 0usize, g, layer, cols, blocks,
            );
            #[unroll]
            for r in 0..rows {
                if r < valid {
                    #[unroll]
                    for c in 0..cols {
                        let k = kb + c * blocks;
                        if splits == 1 {
                            pre[r * g + k] = acc[r * cols + c] + add[r * cols + c];
                        } else {
                            partial[(part * rows + r) * direct + k] = acc[r * cols + c];
                        }
                    }
                }
            }
            w += stride;
        }
        if splits > 1 {
            sync_cube();
            let mut e = unit;
            while e < rows * direct {
                let r = e / direct;
                let k = e % direct;
                if r < valid {
                    let mut v = input_term::<F>(xw, b_hn, b0 + r, t, t_len, k, layer);
                    #[unroll]
                    for p in 0..splits {
                        v += partial[(p * rows + r) * direct + k];
                    }
                    pre[r * g + k] = v;
                }
                e += stride;
            }
        }
        sync_cube();

        if layer.gru && !layer.reset_after {
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
                    0,
                    h,
                    h,
                    0usize,
                    g,
                    layer,
                    1usize,
                    1usize,
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
                if layer.lstm {
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
                } else if layer.gru {
                    let rg = sigmoid::<F>(pre[p + j]);
                    let z = sigmoid::<F>(pre[p + h + j]);
                    let mut q = zero;
                    let mut n = zero;
                    if layer.reset_after {
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
                } else if layer.relu {
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

/// Reads into `v` what the backward step `t` of state element `i` (row `i / H` of the
/// slice, unit `i % H`) takes from global memory ([`Layer::step_reads`]); nothing for a row
/// past the batch. The kernel reads the next step's values for each unit's first element
/// while the current step's product runs, so that they are at hand when it ends.
#[cube]
#[allow(clippy::too_many_arguments)]
fn step_reads<F: Float>(
    v: &mut Array<F>,
    grad: &Tensor<F>,
    hall: &Tensor<F>,
    aux: &Tensor<F>,
    c0: &Tensor<F>,
    b0: usize,
    valid: usize,
    i: usize,
    t: usize,
    t_len: usize,
    n_rows: usize,
    #[comptime] keep_sequence: bool,
    #[comptime] layer: Layer,
) {
    let h = layer.hidden;
    let a = layer.aux_width;
    let r = i / h;
    let j = i % h;
    if r < valid {
        let b = b0 + r;
        let ab = (b * t_len + t) * a;
        let mut d = F::new(0.0);
        if keep_sequence {
            d = grad[(b * n_rows + t) * h + j];
        } else if t == t_len - 1 {
            d = grad[b * n_rows * h + j];
        }
        v[0] = d;
        if layer.lstm {
            #[unroll]
            for q in 0..5 {
                v[1 + q] = aux[ab + q * h + j];
            }
            if t > 0 {
                v[6] = aux[ab - a + 4 * h + j];
            } else {
                v[6] = c0[b * h + j];
            }
        } else if layer.gru {
            #[unroll]
            for q in 0..4 {
                v[1 + q] = aux[ab + q * h + j];
            }
            v[5] = hall[(b * (t_len + 1) + t) * h + j];
        } else {
            v[1] = hall[(b * (t_len + 1) + t + 1) * h + j];
        }
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
    #[comptime] layer: Layer,
    #[comptime] hcols: usize,
    #[comptime] keep_sequence: bool,
    #[define(F)] _dtype: ElemType,
) {
    let rows = layer.rows;
    let b0 = CUBE_POS_X as usize * rows;
    let valid = slice_rows(batch, rows);
    let unit = UNIT_POS_X as usize;
    let stride = CUBE_DIM_X as usize;
    let t_len = steps as usize;
    let n_rows = grad_rows as usize;
    let h = layer.hidden;
    let g = layer.hidden * layer.gates;
    let a = layer.aux_width;
    let zero = F::new(0.0);
    let one = F::new(1.0);
    let through_w = comptime![layer.direct_columns()];

    // dh: the gradient reaching the state after the current step from later steps;
    // dl: the part of the previous state's gradient that is not through w_hh;
    // dg: the gradient of the recurrent product's columns; dc: the LSTM cell state's,
    // starting from the final cell state's row of `grad`.
    let mut dh = zeroed::<F>(rows * h);
    let mut dl = zeroed::<F>(comptime![layer.side_grad_len()]);
    let mut dc = Shared::<[F]>::new_slice(comptime![layer.cell_state_len()]);
    let mut dg = zeroed::<F>(rows * g);
    let mut partial = Shared::<[F]>::new_slice(comptime![layer.back_partial_len()]);
    // The transposed recurrent matrix, copied once into shared memory when it fits.
    let wsh = shared_matrix::<F>(w_t, layer);
    if layer.lstm {
        let last_row = (n_rows - 1) * h;
        load_rows::<F>(grad, &mut dc, b0, valid, n_rows * h, last_row, layer, true);
    }
    sync_cube();

    // Each unit's first element's reads for the step about to run, made during the step
    // before (see `step_reads`).
    let n_reads = comptime![layer.step_reads()];
    let mut ahead = Array::<F>::new(n_reads);

    for back in 0..t_len {
        let t = t_len - 1 - back;
        let mut i = unit;
        while i < rows * h {
            let r = i / h;
            let j = i % h;
            if r < valid {
                let mut v = Array::<F>::new(n_reads);
                if i == unit && back > 0 {
                    #[unroll]
                    for q in 0..n_reads {
                        v[q] = ahead[q];
                    }
                } else {
                    step_reads::<F>(
                        &mut v,
                        grad,
                        hall,
                        aux,
                        c0,
                        b0,
                        valid,
                        i,
                        t,
                        t_len,
                        n_rows,
                        keep_sequence,
                        layer,
                    );
                }
                let b = b0 + r;
                let xb = (b * t_len + t) * g;
                let p = r * g;
                let d = dh[i] + v[0];
                if layer.lstm {
                    let ig = v[1];
                    let fg = v[2];
                    let gg = v[3];
                    let og = v[4];
                    let tc = v[5].tanh();
                    let c_prev = v[6];
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
                } else if layer.gru {
                    let rg = v[1];
                    let z = v[2];
                    let n = v[3];
                    let q = v[4];
                    let hp = v[5];
                    let dn = d * (one - z) * (one - n * n);
                    let dz = d * (hp - n) * z * (one - z);
                    dl[i] = d * z;
                    dg[p + h + j] = dz;
                    dxw[xb + h + j] = dz;
                    dxw[xb + 2 * h + j] = dn;
                    if layer.reset_after {
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
                    let y = v[1];
                    let mut da = zero;
                    if layer.relu {
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
        if t > 0 && unit < rows * h {
            step_reads::<F>(
                &mut ahead,
                grad,
                hall,
                aux,
                c0,
                b0,
                valid,
                unit,
                t - 1,
                t_len,
                n_rows,
                keep_sequence,
                layer,
            );
        }
        sync_cube();

        if layer.gru && !layer.reset_after {
            // n = tanh(x_n + (r * h) · w_hn + b_hn): through r * h to r and to h.
            let mut j = unit;
            while j < h {
                // Column j of w_hnᵀ starts at row 2H of w_t: element (2H + k, j).
                let d_rh = block_product::<F>(
                    &dg,
                    &wsh,
                    w_t,
                    2 * h * h + j,
                    0,
                    h,
                    g,
                    2 * h,
                    h,
                    layer,
                    1usize,
                    1usize,
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

        // Each unit takes `hcols` state columns, `blocks` apart, for every row of the slice,
        // and with `back_splits` > 1 one slice of the columns of `dg` summed over: the
        // slices' partial sums meet in `partial` and are added up after a barrier.
        let blocks = comptime![h / hcols];
        let splits = comptime![layer.back_splits];
        let mut w = unit;
        while w < blocks * splits {
            let jb = w % blocks;
            let part = w / blocks;
            let k0 = part * through_w / splits;
            let k1 = (part + 1) * through_w / splits;
            let acc = block_product::<F>(
                &dg, &wsh, w_t, jb, k0, k1, g, 0usize, h, layer, hcols, blocks,
            );
            #[unroll]
            for r in 0..rows {
                #[unroll]
                for c in 0..hcols {
                    let k = r * h + jb + c * blocks;
                    if splits > 1 {
                        partial[part * rows * h + k] = acc[r * hcols + c];
                    } else if layer.gru {
                        dh[k] = dl[k] + acc[r * hcols + c];
                    } else {
                        dh[k] = acc[r * hcols + c];
                    }
                }
            }
            w += stride;
        }
        if splits > 1 {
            sync_cube();
            let mut k = unit;
            while k < rows * h {
                let mut v = zero;
                if layer.gru {
                    v = dl[k];
                }
                #[unroll]
                for p in 0..splits {
                    v += partial[p * rows * h + k];
                }
                dh[k] = v;
                k += stride;
            }
        }
        sync_cube();
    }

    store_rows::<F>(&dh, dh0, b0, valid, h, layer);
    if layer.lstm {
        store_rows::<F>(&dc, dc0, b0, valid, h, layer);
    }
}
