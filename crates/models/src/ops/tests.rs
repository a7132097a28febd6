//! The fused operation against the tensor-op loop through Burn's dispatch, on flex.

use super::compare::{largest_magnitude, within, worst_error};
use super::*;
use burn::prelude::*;

/// A layer on a backend without the operation (the recurrence `BackendKind::Other` takes),
/// forced on flex, against the fused kernel: outputs and the gradients of every input,
/// with every step's state returned and with only the last.
#[test]
fn the_fallback_for_a_backend_without_the_operation_matches_the_kernel() {
    let device = Device::flex().autodiff();
    let (b, t, d, h) = (3, 9, 4, 5);
    let runs = Cell::ALL.into_iter().flat_map(|c| [(c, true), (c, false)]);
    for (cell, keep_sequence) in runs {
        let g = cell.gates() * h;
        // Fixed inputs, drawn from a generator of the test's own (the backend's is shared
        // with the tests running beside it): an unlucky draw can put a ReLU
        // pre-activation within rounding of zero, where the two summation orders take
        // different sides and a gradient differs.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = |shape: Vec<usize>| {
            let n = shape.iter().product();
            let values: Vec<f32> = (0..n)
                .map(|_| {
                    // The sum of four uniforms on [0, 1), centred: near N(0, 1/3).
                    let sum: f32 = (0..4)
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            (state >> 40) as f32 / (1u64 << 24) as f32
                        })
                        .sum();
                    (sum - 2.0) * 0.85
                })
                .collect();
            Tensor::<3>::from_data(TensorData::new(values, shape), &device)
        };
        let inputs = [
            random(vec![b, t, d]),
            random(vec![1, d, g]),
            random(vec![1, 1, g]),
            random(vec![1, h, g]),
            random(vec![1, 1, h]),
            random(vec![1, b, h]),
            random(vec![1, b, h]),
        ];
        let fallback = Recurrence::Fused.resolved(BackendKind::Other);
        assert_eq!(fallback, Recurrence::TensorOps);
        let mut results = vec![];
        for recurrence in [Recurrence::Fused, fallback] {
            let leaves: Vec<Tensor<3>> = inputs
                .iter()
                .map(|t| t.clone().detach().require_grad())
                .collect();
            let flat2 = |x: &Tensor<3>| {
                let [_, r, c] = x.dims();
                x.clone().reshape([r, c])
            };
            let flat1 = |x: &Tensor<3>| {
                let [_, _, c] = x.dims();
                x.clone().reshape([c])
            };
            let (out, c) = layer_by(
                recurrence,
                cell,
                leaves[0].clone(),
                flat2(&leaves[1]),
                flat1(&leaves[2]),
                flat2(&leaves[3]),
                Some(flat1(&leaves[4])),
                flat2(&leaves[5]),
                Some(flat2(&leaves[6])),
                keep_sequence,
            );
            let probe = out.clone().cos();
            let mut loss = (out.clone() * probe.detach()).sum();
            if let Some(c) = c {
                loss = loss + c.sum();
            }
            let grads = loss.backward();
            let mut values: Vec<Vec<f32>> = vec![
                out.into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .unwrap(),
            ];
            for (i, leaf) in leaves.iter().enumerate() {
                // b_hn is the GRU's and c0 the LSTM's; the other cells leave them alone.
                let unused =
                    (i == 4 && !matches!(cell, Cell::Gru { .. })) || (i == 6 && cell != Cell::Lstm);
                if !unused {
                    let grad = leaf.grad(&grads).expect("a gradient");
                    values.push(grad.into_data().try_to_vec::<f32>().unwrap());
                }
            }
            results.push(values);
        }
        for (k, (fused, fallback)) in results[0].iter().zip(&results[1]).enumerate() {
            let scale = largest_magnitude(fused.iter().map(|&v| v as f64)).max(1.0);
            let diff = worst_error(fallback, fused, |a, b| (a - b).abs());
            assert!(
                within(diff, 1e-5 * scale),
                "{cell:?}, keep_sequence {keep_sequence}: tensor {k} differs by {diff} \
                 (scale {scale})"
            );
        }
    }
}
