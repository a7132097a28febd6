//! How the kernels spread a batch across the rayon threads, and what each thread sets up.
//!
//! The recurrence is independent per sequence, so each thread takes a contiguous range of
//! batch rows ([`row_chunks`]) and runs the whole time loop on them without per-step
//! synchronisation ([`forward_loop`] for the forward passes). Outputs reach the threads
//! either as disjoint `&mut` slabs ([`split_rows`], batch-major buffers) or through
//! [`Shared`] (time-major buffers, whose rows of one thread are not contiguous). Every
//! computing thread flushes denormals to zero while it works ([`FlushDenormals`]).

use std::marker::PhantomData;

use rayon::prelude::*;

use super::{padded, size};

/// Sets flush-to-zero and denormals-are-zero on this thread while alive.
///
/// Not `Send`: it must be dropped on the thread whose MXCSR it changed.
pub(super) struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
    _not_send: PhantomData<*const ()>,
}

impl FlushDenormals {
    #[allow(deprecated)]
    pub(super) fn new() -> Self {
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

/// A buffer that the worker threads write concurrently, each only at its own batch rows
/// (time-major buffers, where one thread's rows are not contiguous).
///
/// It borrows the buffer mutably for `'a`, so the buffer outlives every slice handed out
/// and nothing else touches it meanwhile. The accessors check bounds; they are `unsafe`
/// because they cannot check that no two live slices overlap.
#[derive(Clone, Copy)]
pub(super) struct Shared<'a> {
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
    pub(super) fn new(buf: &'a mut [f32]) -> Self {
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
    pub(super) unsafe fn slice_mut(self, offset: usize, len: usize) -> &'a mut [f32] {
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
    pub(super) unsafe fn slice(self, offset: usize, len: usize) -> &'a [f32] {
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

/// One worker thread's batch rows `(r0, r1)` and its slab of each of `N` batch-major outputs.
pub(super) type ThreadSlabs<'a, const N: usize> = ((usize, usize), [&'a mut [f32]; N]);

/// The work items of a backward kernel, one per worker thread: its batch rows from
/// [`row_chunks`], and its own slab of each batch-major output in `outputs` (given with its
/// values per batch row), from [`split_rows`].
pub(super) fn thread_slabs<const N: usize>(
    b: usize,
    outputs: [(&mut [f32], usize); N],
) -> Vec<ThreadSlabs<'_, N>> {
    let chunks = row_chunks(b);
    let mut slabs = outputs.map(|(buf, row_len)| split_rows(buf, &chunks, row_len).into_iter());
    chunks
        .into_iter()
        .map(|rows| {
            // `split_rows` returns one slab per chunk, so none of these runs out.
            let own = slabs
                .each_mut()
                .map(|s| s.next().expect("one slab per chunk"));
            (rows, own)
        })
        .collect()
}

/// Sums the threads' padded `[k, ld]` partials into one `[k, n]` matrix.
pub(super) fn sum_partials<'a>(
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
/// non-empty, covering `0..b`. Every kernel relies on the ranges being disjoint (each
/// thread touches only its own rows of the shared buffers).
pub(super) fn row_chunks(b: usize) -> Vec<(usize, usize)> {
    let n = rayon::current_num_threads().clamp(1, b.max(1));
    (0..n)
        .map(|i| (i * b / n, (i + 1) * b / n))
        .filter(|(s, e)| e > s)
        .collect()
}

/// One thread's share of one step of a forward time loop, as [`forward_loop`] hands it to a
/// cell's step arithmetic: rows `r0..r0 + rows` of the batch at step `s`.
pub(super) struct ForwardStep<'a, const N: usize> {
    pub(super) r0: usize,
    pub(super) rows: usize,
    pub(super) s: usize,
    /// Each state (h; and c for the LSTM) before the step: this thread's rows, stride `hp`.
    pub(super) prev: [&'a [f32]; N],
    /// Each state after the step, to write: this thread's rows, stride `hp`.
    pub(super) next: [&'a mut [f32]; N],
    /// This thread's rows of the step's tape entry (stride `tape_width`), when recording.
    pub(super) tape: Option<&'a mut [f32]>,
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
pub(super) fn forward_loop<const N: usize, W>(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "outside a shared buffer")]
    fn shared_rejects_out_of_bounds_rows() {
        let mut buf = vec![0.0f32; 8];
        let shared = Shared::new(&mut buf);
        // SAFETY: no other slice of `buf` exists; the call panics before making one.
        let _ = unsafe { shared.slice_mut(4, 5) };
    }
}
