//! The time loop written with plain Burn tensor operations and differentiated by Burn's
//! autodiff ([`crate::Recurrence::TensorOps`]): it runs on every backend, and is the
//! reference the custom operation's forward and backward passes are tested against. Its
//! backward pass is quadratic in the sequence length (the backward of each step's slice
//! writes a zero tensor as long as the whole input).

use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

use super::Cell;

/// One layer, arguments and result as [`super::recurrent_layer`]'s (`b_hn` and `c0` given,
/// zeros where the caller had none).
#[allow(clippy::too_many_arguments)]
pub(super) fn layer(
    cell: Cell,
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    b_hn: Tensor<1>,
    h0: Tensor<2>,
    c0: Tensor<2>,
    keep_sequence: bool,
) -> (Tensor<3>, Option<Tensor<2>>) {
    let [b, t, d] = x.dims();
    let g = w_ih.dims()[1];
    let xw = (x.reshape([b * t, d]).matmul(w_ih) + bias.unsqueeze::<2>()).reshape([b, t, g]);
    let hidden = g / cell.gates();
    // The GRU's recurrent matrix split once, before the loop: the gates' columns and the
    // candidate's.
    let gru_weights = matches!(cell, Cell::Gru { .. }).then(|| {
        let w_rz = w_hh.clone().slice([0..hidden, 0..2 * hidden]);
        let w_n = w_hh.clone().slice([0..hidden, 2 * hidden..3 * hidden]);
        (w_rz, w_n)
    });
    let b_hn = b_hn.unsqueeze::<2>();
    let mut h = h0;
    let mut c = c0;
    let mut outs = Vec::with_capacity(if keep_sequence { t } else { 0 });
    for s in 0..t {
        let x_s = xw.clone().slice([0..b, s..s + 1, 0..g]).reshape([b, g]);
        h = match cell {
            Cell::Elman { relu: true } => relu(x_s + h.matmul(w_hh.clone())),
            Cell::Elman { relu: false } => (x_s + h.matmul(w_hh.clone())).tanh(),
            Cell::Lstm => {
                let gates = x_s + h.matmul(w_hh.clone());
                let i = sigmoid(columns(&gates, 0, hidden));
                let f = sigmoid(columns(&gates, hidden, 2 * hidden));
                let cand = columns(&gates, 2 * hidden, 3 * hidden).tanh();
                let o = sigmoid(columns(&gates, 3 * hidden, 4 * hidden));
                c = f * c + i * cand;
                o * c.clone().tanh()
            }
            Cell::Gru { reset_after } => {
                // Set above for a GRU.
                let (w_rz, w_n) = gru_weights.as_ref().expect("the GRU's weights");
                let rz = sigmoid(columns(&x_s, 0, 2 * hidden) + h.clone().matmul(w_rz.clone()));
                let r = columns(&rz, 0, hidden);
                let z = columns(&rz, hidden, 2 * hidden);
                let x_n = columns(&x_s, 2 * hidden, 3 * hidden);
                let n = if reset_after {
                    (x_n + r * (h.clone().matmul(w_n.clone()) + b_hn.clone())).tanh()
                } else {
                    (x_n + (r * h.clone()).matmul(w_n.clone()) + b_hn.clone()).tanh()
                };
                (z.clone().neg() + 1.0) * n + z * h
            }
        };
        if keep_sequence {
            outs.push(h.clone());
        }
    }
    let out = if keep_sequence {
        Tensor::stack(outs, 1)
    } else {
        h.unsqueeze_dim(1)
    };
    (out, (cell == Cell::Lstm).then_some(c))
}

/// Columns `start..end` of a `[B, G]` tensor.
fn columns(x: &Tensor<2>, start: usize, end: usize) -> Tensor<2> {
    let [b, _] = x.dims();
    x.clone().slice([0..b, start..end])
}
