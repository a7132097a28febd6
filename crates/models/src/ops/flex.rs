//! The flex backend's recurrence: the CPU kernel of `cpu.rs` on `f32` tensors, the generic
//! loop for any other dtype.

use burn::backend::flex::FlexTensor;
use burn::backend::{DType, Flex, tensor::FloatTensor};
use burn::tensor::TensorData;

use super::cpu::{self, padded};
use super::{ElmanGrads, GruGrads, LstmGrads, RecurrenceKernels, Tape, generic};

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

impl RecurrenceKernels for Flex {
    fn elman_forward(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        relu: bool,
        keep_sequence: bool,
        save: bool,
    ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
        let (Some((xc, shape)), Some((wi, _)), Some((bc, _)), Some((w, wshape)), Some((h0c, _))) = (
            f32_data(&x),
            f32_data(&w_ih),
            f32_data(&bias),
            f32_data(&w_hh),
            f32_data(&h0),
        ) else {
            return generic::elman_forward::<Self>(
                x,
                w_ih,
                bias,
                w_hh,
                h0,
                relu,
                keep_sequence,
                save,
            );
        };
        let [b, t, d, h] = [shape[0], shape[1], shape[2], wshape[0]];
        let keep_all = save || keep_sequence;
        let hs = cpu::elman_forward(
            slice(&xc),
            slice(&wi),
            slice(&bc),
            slice(&w),
            slice(&h0c),
            b,
            t,
            d,
            h,
            relu,
            keep_all,
        );
        let out = if keep_sequence {
            tensor(to_batch_major(&hs, 1, t, b, h), vec![b, t, h])
        } else {
            let last = if keep_all { t } else { t % 2 };
            tensor(to_batch_major(&hs, last, 1, b, h), vec![b, h])
        };
        let tape = save.then(|| Tape {
            tensors: vec![tensor(hs, vec![t + 1, b, padded(h)]), xc],
        });
        (out, tape)
    }

    fn elman_backward(
        tape: Tape<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        relu: bool,
        keep_sequence: bool,
        need_dx: bool,
    ) -> ElmanGrads<Self> {
        let (Some((wi, _)), Some((w, wshape)), Some((g, _))) =
            (f32_data(&w_ih), f32_data(&w_hh), f32_data(&grad_out))
        else {
            return generic::elman_backward::<Self>(
                tape,
                w_ih,
                w_hh,
                grad_out,
                relu,
                keep_sequence,
                need_dx,
            );
        };
        let (hs, x) = (&tape.tensors[0], &tape.tensors[1]);
        let dims = x.layout().shape().to_vec();
        let (b, t, d, h) = (dims[0], dims[1], dims[2], wshape[0]);
        let grads = cpu::elman_backward(
            slice(hs),
            slice(x),
            slice(&wi),
            slice(&w),
            slice(&g),
            b,
            t,
            d,
            h,
            relu,
            keep_sequence,
            need_dx,
        );
        ElmanGrads {
            x: grads.x.map(|dx| tensor(dx, vec![b, t, d])),
            w_ih: tensor(grads.w_ih, vec![d, h]),
            bias: tensor(grads.bias, vec![h]),
            w_hh: tensor(grads.w_hh, vec![h, h]),
            h0: tensor(grads.h0, vec![b, h]),
        }
    }

    fn lstm_forward(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        keep_sequence: bool,
        save: bool,
    ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
        let (
            Some((xc, shape)),
            Some((wi, _)),
            Some((bc, _)),
            Some((w, wshape)),
            Some((h0c, _)),
            Some((c0c, _)),
        ) = (
            f32_data(&x),
            f32_data(&w_ih),
            f32_data(&bias),
            f32_data(&w_hh),
            f32_data(&h0),
            f32_data(&c0),
        )
        else {
            return generic::lstm_forward::<Self>(x, w_ih, bias, w_hh, h0, c0, keep_sequence, save);
        };
        let [b, t, d, h] = [shape[0], shape[1], shape[2], wshape[0]];
        let keep_all = save || keep_sequence;
        let (hs, cs, acts) = cpu::lstm_forward(
            slice(&xc),
            slice(&wi),
            slice(&bc),
            slice(&w),
            slice(&h0c),
            slice(&c0c),
            b,
            t,
            d,
            h,
            keep_all,
        );
        let last = if keep_all { t } else { t % 2 };
        // Hidden rows, then the final cell state as one more row (see `RecurrenceKernels`).
        let (first, rows) = if keep_sequence { (1, t) } else { (last, 1) };
        let hidden = to_batch_major(&hs, first, rows, b, h);
        let cell = to_batch_major(&cs, last, 1, b, h);
        let mut out = Vec::with_capacity(b * (rows + 1) * h);
        for r in 0..b {
            out.extend_from_slice(&hidden[r * rows * h..(r + 1) * rows * h]);
            out.extend_from_slice(&cell[r * h..(r + 1) * h]);
        }
        let out = tensor(out, vec![b, rows + 1, h]);
        let tape = save.then(|| {
            let hp = padded(h);
            Tape {
                tensors: vec![
                    tensor(hs, vec![t + 1, b, hp]),
                    tensor(cs, vec![t + 1, b, hp]),
                    tensor(acts, vec![t, b, padded(4 * h)]),
                    xc,
                ],
            }
        });
        (out, tape)
    }

    fn lstm_backward(
        tape: Tape<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        keep_sequence: bool,
        need_dx: bool,
    ) -> LstmGrads<Self> {
        let (Some((wi, _)), Some((w, wshape)), Some((g, gshape))) =
            (f32_data(&w_ih), f32_data(&w_hh), f32_data(&grad_out))
        else {
            return generic::lstm_backward::<Self>(
                tape,
                w_ih,
                w_hh,
                grad_out,
                keep_sequence,
                need_dx,
            );
        };
        let h = wshape[0];
        let x = &tape.tensors[3];
        let dims = x.layout().shape().to_vec();
        let (b, t, d) = (dims[0], dims[1], dims[2]);
        // Split the output gradient into the hidden rows and the cell-state row.
        let rows = gshape[1] - 1;
        let g = slice(&g);
        let mut grad_h = Vec::with_capacity(b * rows * h);
        let mut grad_c = Vec::with_capacity(b * h);
        for r in 0..b {
            let base = r * (rows + 1) * h;
            grad_h.extend_from_slice(&g[base..base + rows * h]);
            grad_c.extend_from_slice(&g[base + rows * h..base + (rows + 1) * h]);
        }
        let grads = cpu::lstm_backward(
            slice(&tape.tensors[0]),
            slice(&tape.tensors[1]),
            slice(&tape.tensors[2]),
            slice(x),
            slice(&wi),
            slice(&w),
            &grad_h,
            &grad_c,
            b,
            t,
            d,
            h,
            keep_sequence,
            need_dx,
        );
        LstmGrads {
            x: grads.x.map(|dx| tensor(dx, vec![b, t, d])),
            w_ih: tensor(grads.w_ih, vec![d, 4 * h]),
            bias: tensor(grads.bias, vec![4 * h]),
            w_hh: tensor(grads.w_hh, vec![h, 4 * h]),
            h0: tensor(grads.h0, vec![b, h]),
            c0: tensor(grads.c0, vec![b, h]),
        }
    }

    fn gru_forward(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_hn: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        reset_after: bool,
        keep_sequence: bool,
        save: bool,
    ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
        let (
            Some((xc, shape)),
            Some((wi, _)),
            Some((bc, _)),
            Some((w, wshape)),
            Some((bn, _)),
            Some((h0c, _)),
        ) = (
            f32_data(&x),
            f32_data(&w_ih),
            f32_data(&bias),
            f32_data(&w_hh),
            f32_data(&b_hn),
            f32_data(&h0),
        )
        else {
            return generic::gru_forward::<Self>(
                x,
                w_ih,
                bias,
                w_hh,
                b_hn,
                h0,
                reset_after,
                keep_sequence,
                save,
            );
        };
        let [b, t, d, h] = [shape[0], shape[1], shape[2], wshape[0]];
        let keep_all = save || keep_sequence;
        let (hs, saved) = cpu::gru_forward(
            slice(&xc),
            slice(&wi),
            slice(&bc),
            slice(&w),
            slice(&bn),
            slice(&h0c),
            b,
            t,
            d,
            h,
            reset_after,
            keep_all,
        );
        let out = if keep_sequence {
            tensor(to_batch_major(&hs, 1, t, b, h), vec![b, t, h])
        } else {
            let last = if keep_all { t } else { t % 2 };
            tensor(to_batch_major(&hs, last, 1, b, h), vec![b, h])
        };
        let tape = save.then(|| Tape {
            tensors: vec![
                tensor(hs, vec![t + 1, b, padded(h)]),
                tensor(saved, vec![t, b, padded(4 * h)]),
                xc,
            ],
        });
        (out, tape)
    }

    fn gru_backward(
        tape: Tape<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        reset_after: bool,
        keep_sequence: bool,
        need_dx: bool,
    ) -> GruGrads<Self> {
        let (Some((wi, _)), Some((w, wshape)), Some((g, _))) =
            (f32_data(&w_ih), f32_data(&w_hh), f32_data(&grad_out))
        else {
            return generic::gru_backward::<Self>(
                tape,
                w_ih,
                w_hh,
                grad_out,
                reset_after,
                keep_sequence,
                need_dx,
            );
        };
        let h = wshape[0];
        let x = &tape.tensors[2];
        let dims = x.layout().shape().to_vec();
        let (b, t, d) = (dims[0], dims[1], dims[2]);
        let grads = cpu::gru_backward(
            slice(&tape.tensors[0]),
            slice(&tape.tensors[1]),
            slice(x),
            slice(&wi),
            slice(&w),
            slice(&g),
            b,
            t,
            d,
            h,
            reset_after,
            keep_sequence,
            need_dx,
        );
        GruGrads {
            x: grads.x.map(|dx| tensor(dx, vec![b, t, d])),
            w_ih: tensor(grads.w_ih, vec![d, 3 * h]),
            bias: tensor(grads.bias, vec![3 * h]),
            w_hh: tensor(grads.w_hh, vec![h, 3 * h]),
            b_hn: tensor(grads.b_hn, vec![h]),
            h0: tensor(grads.h0, vec![b, h]),
        }
    }
}
