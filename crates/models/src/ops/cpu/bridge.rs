//! The CPU backends' recurrence (flex and ndarray): the CPU kernel of `cpu.rs` on `f32`
//! tensors, the generic loop for any other dtype. One implementation over [`HostTensors`],
//! the two things a kernel needs from a backend: a tensor's `f32` elements in row-major
//! order, and a tensor made from such elements.

use std::borrow::Cow;

use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
#[cfg(feature = "flex")]
use burn::backend::{DType, Flex, flex::FlexTensor};
#[cfg(feature = "ndarray")]
use burn::backend::{NdArray, ndarray::NdArrayTensor};
use burn::tensor::TensorData;

use crate::ops::cpu::{self, padded};
use crate::ops::{Cell, LayerGrads, LayerTensors, RecurrenceKernels, Tape, generic};

/// A backend whose tensors live in host memory, so the CPU kernel can read and write them.
pub(crate) trait HostTensors: Backend {
    /// The elements of `t` in row-major order if it holds `f32`: borrowed when its buffer is
    /// contiguous, copied otherwise; `None` for any other dtype.
    fn f32_elements(t: &FloatTensor<Self>) -> Option<Cow<'_, [f32]>>;
    /// An `f32` tensor of `shape` holding `data` in row-major order.
    fn from_f32(data: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self>;
}

#[cfg(feature = "flex")]
impl HostTensors for Flex {
    fn f32_elements(t: &FlexTensor) -> Option<Cow<'_, [f32]>> {
        if t.dtype() != DType::F32 {
            return None;
        }
        Some(match t.as_slice::<f32>() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(t.to_contiguous().as_slice::<f32>()?.to_vec()),
        })
    }

    fn from_f32(data: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(data, shape))
    }
}

#[cfg(feature = "ndarray")]
impl HostTensors for NdArray {
    fn f32_elements(t: &NdArrayTensor) -> Option<Cow<'_, [f32]>> {
        let NdArrayTensor::F32(storage) = t else {
            return None;
        };
        let view = storage.view();
        Some(match view.to_slice() {
            Some(s) => Cow::Borrowed(s),
            // Not in standard (row-major, contiguous) layout: copy in logical order.
            None => Cow::Owned(view.iter().copied().collect()),
        })
    }

    fn from_f32(data: Vec<f32>, shape: Vec<usize>) -> NdArrayTensor {
        NdArrayTensor::from_data(TensorData::new(data, shape))
    }
}

/// `[slots, B, hp]` time-major padded -> `[B, T, H]` (steps `first..first + T`).
fn to_batch_major(src: &[f32], first: usize, t: usize, b: usize, h: usize) -> Vec<f32> {
    let hp = padded(h);
    let mut out = vec![0.0f32; b * t * h];
    for r in 0..b {
        for s in 0..t {
            let from = ((first + s) * b + r) * hp;
            out[(r * t + s) * h..(r * t + s + 1) * h].copy_from_slice(&src[from..from + h]);
        }
    }
    out
}

/// The `f32` elements of every tensor in `ts`, or `None` if any has another dtype.
fn all_f32<'a, B: HostTensors, const N: usize>(
    ts: [&'a FloatTensor<B>; N],
) -> Option<[Cow<'a, [f32]>; N]> {
    let data: Vec<Cow<'a, [f32]>> = ts
        .iter()
        .map(|t| B::f32_elements(t))
        .collect::<Option<_>>()?;
    data.try_into().ok()
}

fn dims<B: Backend>(t: &FloatTensor<B>) -> Vec<usize> {
    t.shape().to_vec()
}

/// The output of a forward pass from the kernel's time-major states `hs` (and the LSTM's
/// cell states `cs`): `[B, T, H]` or `[B, H]`, the LSTM's with its final cell state as one
/// more row (see [`RecurrenceKernels`]). `last` is the slot of the last state.
#[allow(clippy::too_many_arguments)]
fn assemble_output<B: HostTensors>(
    hs: &[f32],
    cs: Option<&[f32]>,
    last: usize,
    keep_sequence: bool,
    b: usize,
    t: usize,
    h: usize,
) -> FloatTensor<B> {
    let (first, rows) = if keep_sequence { (1, t) } else { (last, 1) };
    let hidden = to_batch_major(hs, first, rows, b, h);
    let Some(cs) = cs else {
        let shape = if keep_sequence {
            vec![b, t, h]
        } else {
            vec![b, h]
        };
        return B::from_f32(hidden, shape);
    };
    let cell = to_batch_major(cs, last, 1, b, h);
    let mut out = Vec::with_capacity(b * (rows + 1) * h);
    for r in 0..b {
        out.extend_from_slice(&hidden[r * rows * h..(r + 1) * rows * h]);
        out.extend_from_slice(&cell[r * h..(r + 1) * h]);
    }
    B::from_f32(out, vec![b, rows + 1, h])
}

/// The kernels of a host backend: [`forward`] and [`backward`] below.
macro_rules! host_kernels {
    ($backend:ty) => {
        impl RecurrenceKernels for $backend {
            fn recurrence_forward(
                cell: Cell,
                tensors: LayerTensors<Self>,
                keep_sequence: bool,
                save: bool,
                kernel: bool,
            ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
                forward::<Self>(cell, tensors, keep_sequence, save, kernel)
            }

            fn recurrence_backward(
                cell: Cell,
                tape: Tape<Self>,
                w_ih: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
                grad_out: FloatTensor<Self>,
                keep_sequence: bool,
                need_dx: bool,
            ) -> LayerGrads<Self> {
                backward::<Self>(cell, tape, w_ih, w_hh, grad_out, keep_sequence, need_dx)
            }
        }
    };
}

#[cfg(feature = "flex")]
host_kernels!(Flex);
#[cfg(feature = "ndarray")]
host_kernels!(NdArray);

/// The forward pass on a host backend: the CPU kernel when `kernel` is allowed and every
/// tensor is `f32`, the generic loop otherwise. The tape holds the kernel's buffers, then
/// the layer input.
fn forward<B: HostTensors>(
    cell: Cell,
    tensors: LayerTensors<B>,
    keep_sequence: bool,
    save: bool,
    kernel: bool,
) -> (FloatTensor<B>, Option<Tape<B>>) {
    let ts = &tensors;
    let elements = kernel.then(|| {
        all_f32::<B, 7>([
            &ts.x, &ts.w_ih, &ts.bias, &ts.w_hh, &ts.b_hn, &ts.h0, &ts.c0,
        ])
    });
    let Some([x, wi, bias, w, bn, h0, c0]) = elements.flatten() else {
        return generic::forward::<B>(cell, tensors, keep_sequence, save);
    };
    let (shape, h) = (dims::<B>(&ts.x), dims::<B>(&ts.w_hh)[0]);
    let [b, t, d] = [shape[0], shape[1], shape[2]];
    let keep_all = save || keep_sequence;
    let last = if keep_all { t } else { t % 2 };
    let hp = padded(h);
    let (out, tape) = match cell {
        Cell::Elman { relu } => {
            let hs = cpu::elman_forward(&x, &wi, &bias, &w, &h0, b, t, d, h, relu, keep_all);
            let out = assemble_output::<B>(&hs, None, last, keep_sequence, b, t, h);
            (out, save.then(|| vec![B::from_f32(hs, vec![t + 1, b, hp])]))
        }
        Cell::Lstm => {
            let (hs, cs, acts) =
                cpu::lstm_forward(&x, &wi, &bias, &w, &h0, &c0, b, t, d, h, keep_all);
            let out = assemble_output::<B>(&hs, Some(&cs), last, keep_sequence, b, t, h);
            let tape = save.then(|| {
                vec![
                    B::from_f32(hs, vec![t + 1, b, hp]),
                    B::from_f32(cs, vec![t + 1, b, hp]),
                    B::from_f32(acts, vec![t, b, padded(4 * h)]),
                ]
            });
            (out, tape)
        }
        Cell::Gru { reset_after } => {
            let (hs, saved) = cpu::gru_forward(
                &x,
                &wi,
                &bias,
                &w,
                &bn,
                &h0,
                b,
                t,
                d,
                h,
                reset_after,
                keep_all,
            );
            let out = assemble_output::<B>(&hs, None, last, keep_sequence, b, t, h);
            let tape = save.then(|| {
                vec![
                    B::from_f32(hs, vec![t + 1, b, hp]),
                    B::from_f32(saved, vec![t, b, padded(4 * h)]),
                ]
            });
            (out, tape)
        }
    };
    // A layer input that had to be copied into row-major order is kept as copied, so the
    // backward pass does not copy it again.
    let x_copied = match x {
        Cow::Owned(values) => Some(values),
        Cow::Borrowed(_) => None,
    };
    drop((wi, bias, w, bn, h0, c0));
    let tape = tape.map(|mut buffers| {
        buffers.push(match x_copied {
            Some(values) => B::from_f32(values, shape),
            None => tensors.x,
        });
        Tape {
            tensors: buffers,
            fused: true,
        }
    });
    (out, tape)
}

/// The backward pass on a host backend, matching the forward pass that wrote `tape`.
fn backward<B: HostTensors>(
    cell: Cell,
    tape: Tape<B>,
    w_ih: FloatTensor<B>,
    w_hh: FloatTensor<B>,
    grad_out: FloatTensor<B>,
    keep_sequence: bool,
    need_dx: bool,
) -> LayerGrads<B> {
    let fused = tape
        .fused
        .then(|| all_f32::<B, 3>([&w_ih, &w_hh, &grad_out]))
        .flatten();
    let Some([wi, w, g]) = fused else {
        return generic::backward::<B>(cell, tape, w_ih, w_hh, grad_out, keep_sequence, need_dx);
    };
    // `forward` above pushes the input last onto every tape it returns.
    let [buffers @ .., x] = &tape.tensors[..] else {
        unreachable!("the forward pass always records the input last")
    };
    fn elements<B: HostTensors>(t: &FloatTensor<B>) -> Cow<'_, [f32]> {
        // Every tensor on a fused tape was made f32 by `forward`.
        B::f32_elements(t).expect("the fused forward pass records f32 tensors")
    }
    let xs = elements::<B>(x);
    let buf: Vec<Cow<'_, [f32]>> = buffers.iter().map(elements::<B>).collect();
    let (shape, h) = (dims::<B>(x), dims::<B>(&w_hh)[0]);
    let [b, t, d] = [shape[0], shape[1], shape[2]];
    let k = cell.gates() * h;
    let (grads, b_hn, c0) = match cell {
        Cell::Elman { relu } => {
            let gr = cpu::elman_backward(
                &buf[0],
                &xs,
                &wi,
                &w,
                &g,
                b,
                t,
                d,
                h,
                relu,
                keep_sequence,
                need_dx,
            );
            (gr, None, None)
        }
        Cell::Lstm => {
            // Split the output gradient into the hidden rows and the cell-state row.
            let rows = dims::<B>(&grad_out)[1] - 1;
            let mut grad_h = Vec::with_capacity(b * rows * h);
            let mut grad_c = Vec::with_capacity(b * h);
            for r in 0..b {
                let base = r * (rows + 1) * h;
                grad_h.extend_from_slice(&g[base..base + rows * h]);
                grad_c.extend_from_slice(&g[base + rows * h..base + (rows + 1) * h]);
            }
            let (gr, dc0) = cpu::lstm_backward(
                &buf[0],
                &buf[1],
                &buf[2],
                &xs,
                &wi,
                &w,
                &grad_h,
                &grad_c,
                b,
                t,
                d,
                h,
                keep_sequence,
                need_dx,
            );
            (gr, None, Some(B::from_f32(dc0, vec![b, h])))
        }
        Cell::Gru { reset_after } => {
            let (gr, db_hn) = cpu::gru_backward(
                &buf[0],
                &buf[1],
                &xs,
                &wi,
                &w,
                &g,
                b,
                t,
                d,
                h,
                reset_after,
                keep_sequence,
                need_dx,
            );
            (gr, Some(B::from_f32(db_hn, vec![h])), None)
        }
    };
    LayerGrads {
        x: grads.x.map(|dx| B::from_f32(dx, vec![b, t, d])),
        w_ih: B::from_f32(grads.w_ih, vec![d, k]),
        bias: B::from_f32(grads.bias, vec![k]),
        w_hh: B::from_f32(grads.w_hh, vec![h, k]),
        b_hn,
        h0: B::from_f32(grads.h0, vec![b, h]),
        c0,
    }
}
