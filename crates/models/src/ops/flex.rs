//! The flex backend's recurrence: the CPU kernel of `cpu.rs` on `f32` tensors, the generic
//! loop for any other dtype.

use burn::backend::flex::FlexTensor;
use burn::backend::{DType, Flex, tensor::FloatTensor};
use burn::tensor::TensorData;

use super::cpu::{self, padded};
use super::{Cell, LayerGrads, LayerTensors, RecurrenceKernels, Tape, generic, recurrence_path};

/// The contiguous `f32` data and shape of a tensor, or `None` for other dtypes.
fn f32_data(t: &FlexTensor) -> Option<(FlexTensor, Vec<usize>)> {
    (t.dtype() == DType::F32).then(|| (t.to_contiguous(), t.layout().shape().to_vec()))
}

fn slice(t: &FlexTensor) -> &[f32] {
    // Every caller passes a tensor from `f32_data`, which made it contiguous and checked f32.
    t.as_slice::<f32>().expect("contiguous f32 tensor")
}

fn tensor(data: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
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

/// The `f32` data of every tensor in `ts`, or `None` if any has another dtype.
fn all_f32<const N: usize>(ts: [&FlexTensor; N]) -> Option<[FlexTensor; N]> {
    let data: Vec<FlexTensor> = ts
        .iter()
        .map(|t| f32_data(t).map(|d| d.0))
        .collect::<Option<_>>()?;
    data.try_into().ok()
}

fn dims(t: &FlexTensor) -> Vec<usize> {
    t.layout().shape().to_vec()
}

/// The output of a forward pass from the kernel's time-major states `hs` (and the LSTM's
/// cell states `cs`): `[B, T, H]` or `[B, H]`, the LSTM's with its final cell state as one
/// more row (see [`RecurrenceKernels`]). `last` is the slot of the last state.
#[allow(clippy::too_many_arguments)]
fn assemble_output(
    hs: &[f32],
    cs: Option<&[f32]>,
    last: usize,
    keep_sequence: bool,
    b: usize,
    t: usize,
    h: usize,
) -> FlexTensor {
    let (first, rows) = if keep_sequence { (1, t) } else { (last, 1) };
    let hidden = to_batch_major(hs, first, rows, b, h);
    let Some(cs) = cs else {
        let shape = if keep_sequence {
            vec![b, t, h]
        } else {
            vec![b, h]
        };
        return tensor(hidden, shape);
    };
    let cell = to_batch_major(cs, last, 1, b, h);
    let mut out = Vec::with_capacity(b * (rows + 1) * h);
    for r in 0..b {
        out.extend_from_slice(&hidden[r * rows * h..(r + 1) * rows * h]);
        out.extend_from_slice(&cell[r * h..(r + 1) * h]);
    }
    tensor(out, vec![b, rows + 1, h])
}

impl RecurrenceKernels for Flex {
    fn recurrence_forward(
        cell: Cell,
        tensors: LayerTensors<Self>,
        keep_sequence: bool,
        save: bool,
    ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
        let ts = &tensors;
        let tensors_f32 = recurrence_path().is_fused().then(|| {
            all_f32([
                &ts.x, &ts.w_ih, &ts.bias, &ts.w_hh, &ts.b_hn, &ts.h0, &ts.c0,
            ])
        });
        let Some([xc, wi, bias, w, bn, h0, c0]) = tensors_f32.flatten() else {
            return generic::forward::<Self>(cell, tensors, keep_sequence, save);
        };
        let (shape, h) = (dims(&xc), dims(&w)[0]);
        let [b, t, d] = [shape[0], shape[1], shape[2]];
        let keep_all = save || keep_sequence;
        let last = if keep_all { t } else { t % 2 };
        let hp = padded(h);
        let (x, wi, bias, w) = (slice(&xc), slice(&wi), slice(&bias), slice(&w));
        let (out, tape) = match cell {
            Cell::Elman { relu } => {
                let hs = cpu::elman_forward(x, wi, bias, w, slice(&h0), b, t, d, h, relu, keep_all);
                let out = assemble_output(&hs, None, last, keep_sequence, b, t, h);
                (out, save.then(|| vec![tensor(hs, vec![t + 1, b, hp])]))
            }
            Cell::Lstm => {
                let (hs, cs, acts) =
                    cpu::lstm_forward(x, wi, bias, w, slice(&h0), slice(&c0), b, t, d, h, keep_all);
                let out = assemble_output(&hs, Some(&cs), last, keep_sequence, b, t, h);
                let tape = save.then(|| {
                    vec![
                        tensor(hs, vec![t + 1, b, hp]),
                        tensor(cs, vec![t + 1, b, hp]),
                        tensor(acts, vec![t, b, padded(4 * h)]),
                    ]
                });
                (out, tape)
            }
            Cell::Gru { reset_after } => {
                let (hs, saved) = cpu::gru_forward(
                    x,
                    wi,
                    bias,
                    w,
                    slice(&bn),
                    slice(&h0),
                    b,
                    t,
                    d,
                    h,
                    reset_after,
                    keep_all,
                );
                let out = assemble_output(&hs, None, last, keep_sequence, b, t, h);
                let tape = save.then(|| {
                    vec![
                        tensor(hs, vec![t + 1, b, hp]),
                        tensor(saved, vec![t, b, padded(4 * h)]),
                    ]
                });
                (out, tape)
            }
        };
        // The tape: the kernel's buffers, then the layer input.
        let tape = tape.map(|mut tensors| {
            tensors.push(xc);
            Tape {
                tensors,
                fused: true,
            }
        });
        (out, tape)
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
        let fused = tape
            .fused
            .then(|| all_f32([&w_ih, &w_hh, &grad_out]))
            .flatten();
        let Some([wi, w, g]) = fused else {
            return generic::backward::<Self>(
                cell,
                tape,
                w_ih,
                w_hh,
                grad_out,
                keep_sequence,
                need_dx,
            );
        };
        // `recurrence_forward` above pushes the input last onto every tape it returns.
        let [buffers @ .., x] = &tape.tensors[..] else {
            unreachable!("the forward pass always records the input last")
        };
        let (shape, h) = (dims(x), dims(&w)[0]);
        let [b, t, d] = [shape[0], shape[1], shape[2]];
        let (wi, w, g, xs) = (slice(&wi), slice(&w), slice(&g), slice(x));
        let buf = |i: usize| slice(&buffers[i]);
        let k = cell.gates() * h;
        let (grads, b_hn, c0) = match cell {
            Cell::Elman { relu } => {
                let gr = cpu::elman_backward(
                    buf(0),
                    xs,
                    wi,
                    w,
                    g,
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
                let rows = dims(&grad_out)[1] - 1;
                let mut grad_h = Vec::with_capacity(b * rows * h);
                let mut grad_c = Vec::with_capacity(b * h);
                for r in 0..b {
                    let base = r * (rows + 1) * h;
                    grad_h.extend_from_slice(&g[base..base + rows * h]);
                    grad_c.extend_from_slice(&g[base + rows * h..base + (rows + 1) * h]);
                }
                let (gr, dc0) = cpu::lstm_backward(
                    buf(0),
                    buf(1),
                    buf(2),
                    xs,
                    wi,
                    w,
                    &grad_h,
                    &grad_c,
                    b,
                    t,
                    d,
                    h,
                    keep_sequence,
                    need_dx,
                );
                (gr, None, Some(tensor(dc0, vec![b, h])))
            }
            Cell::Gru { reset_after } => {
                let (gr, db_hn) = cpu::gru_backward(
                    buf(0),
                    buf(1),
                    xs,
                    wi,
                    w,
                    g,
                    b,
                    t,
                    d,
                    h,
                    reset_after,
                    keep_sequence,
                    need_dx,
                );
                (gr, Some(tensor(db_hn, vec![h])), None)
            }
        };
        LayerGrads {
            x: grads.x.map(|dx| tensor(dx, vec![b, t, d])),
            w_ih: tensor(grads.w_ih, vec![d, k]),
            bias: tensor(grads.bias, vec![k]),
            w_hh: tensor(grads.w_hh, vec![h, k]),
            b_hn,
            h0: tensor(grads.h0, vec![b, h]),
            c0,
        }
    }
}
