//! A specialised CPU kernel for the flex backend: the whole time loop of a layer on plain
//! `f32` buffers.
//!
//! Why not the backend-generic loop: at the experiments' shapes (e.g. a 40 x 100 by
//! 100 x 100 product per step, 784 steps) the arithmetic per step is tiny, so the cost is
//! per-operation overhead and re-packing the recurrent matrix at every call. Here:
//! - the recurrent matrix is packed once per call into zero-padded 16-wide panels, and a
//!   register-blocked kernel ([`gemm::gemm`]) multiplies it at every step;
//! - the batch is split across the rayon threads, each running the whole time loop on its
//!   own rows (the recurrence is independent per sequence, so no per-step synchronisation);
//! - the input projection `x_s · w_ih + bias` is computed per step inside the loop, and its
//!   weight and bias gradients are accumulated per step in each thread's share, so no
//!   `[B, T, G]` projection or projection gradient is stored;
//! - the recurrent weight gradient is accumulated per step (Elman) or is one large product
//!   after the loop, split across threads (LSTM, GRU);
//! - denormal floats are flushed to zero on the computing threads ([`threads::FlushDenormals`]):
//!   decaying hidden states and gradients otherwise fall into denormals, which are many
//!   times slower on x86. This changes results only for values below ~1.2e-38.
//!
//! Internal buffers are time-major with rows padded to `hp` (a multiple of 16) columns; the
//! padding stays zero, so the kernel never needs a ragged tail.
//!
//! Memory safety. Every function here that is not `unsafe fn` is memory-safe for any
//! arguments (for the floating-point modes, see the caveat at
//! [`threads::FlushDenormals::new`]):
//! - the kernels the flex backend calls assert at entry that each slice has exactly the
//!   length of its documented shape (the flex backend passes tensors of those shapes, so
//!   the asserts cannot fire from this crate), and compute every size with overflow checks
//!   ([`size`]);
//! - the product [`gemm::gemm`] takes slices and asserts, once per call, that they span
//!   every element the strided product reads or writes; only then does it enter the
//!   raw-pointer kernel;
//! - batch-major outputs (`d x`, `d h0`, `d c0`) are split into one `&mut` slab per thread
//!   ([`threads::split_rows`]); time-major buffers, whose rows of one thread are not
//!   contiguous, are shared through [`threads::Shared`], whose accessors check bounds and
//!   are `unsafe` only for the one thing they cannot check: that the threads touch disjoint
//!   rows. [`threads::row_chunks`] gives each thread a disjoint range `r0..r1` of batch
//!   rows, and a thread only ever asks for elements of its own rows.
//!
//! One file per concern: `gemm.rs` (packing and the matrix product), `math.rs` (the
//! `exp`/`tanh`/logistic approximations), `simd.rs` (one copy of a kernel per instruction
//! set), `threads.rs` (splitting the batch across threads, flushing denormals, the forward
//! time-loop driver), `input.rs` (the input projection folded into the time loop), and one
//! file per cell (`elman.rs`, `lstm.rs`, `gru.rs`) with its forward and backward kernels.
//! This file holds what they all share: argument checks, padding, the gradient struct.

mod bridge;
mod elman;
mod gemm;
mod gru;
mod input;
mod lstm;
mod math;
mod simd;
mod threads;

pub(crate) use elman::{elman_backward, elman_forward};
pub(crate) use gru::{gru_backward, gru_forward};
pub(crate) use lstm::{lstm_backward, lstm_forward};

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
