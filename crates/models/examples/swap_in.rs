//! burn::nn's LSTM and this crate's, side by side, in the same sequence classifier.
//!
//! The classifier (an LSTM over a `[B, 784, 1]` pixel sequence, its final hidden state into a
//! linear layer) is written once, by a macro whose only parameter is the LSTM type: the
//! swap is the import. Both models get the same weights, take a few plain SGD steps on the
//! same synthetic batches, and must agree in loss at every step; the example prints both
//! step times.
//!
//! ```text
//! cargo run --release -p rnn-models --example swap_in [-- STEPS BATCH HIDDEN]
//! ```

use std::time::Instant;

use burn::module::{ModuleMapper, Param};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Gradients;

/// Pixel-by-pixel MNIST's length.
const T: usize = 784;
const CLASSES: usize = 10;

/// The classifier, for any LSTM with burn::nn's `forward(x, state) -> (out, state)`.
macro_rules! classifier {
    ($name:ident, $lstm:ty) => {
        #[derive(Module, Debug)]
        struct $name {
            lstm: $lstm,
            head: Linear,
        }

        impl $name {
            /// Class scores `[B, 10]` for pixels `[B, T, 1]`.
            fn forward(&self, pixels: Tensor<3>) -> Tensor<2> {
                let (_, state) = self.lstm.forward(pixels, None);
                self.head.forward(state.hidden)
            }
        }
    };
}

classifier!(BurnClassifier, burn::nn::Lstm);
classifier!(FusedClassifier, rnn_models::Lstm);

/// One SGD step: `p ← p − lr · ∂loss/∂p` for every parameter.
struct Sgd<'a> {
    grads: &'a Gradients,
    lr: f64,
}

impl ModuleMapper for Sgd<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (grads, lr) = (self.grads, self.lr);
        param.map(|p| match p.grad(grads) {
            Some(g) => (p.inner() - g.mul_scalar(lr)).autodiff().require_grad(),
            None => p,
        })
    }
}

/// burn::nn's four gates as this crate's packed layer (gates i, f, g, o side by side;
/// `x · w`, as burn::nn's row-layout `Linear`).
fn same_weights(burn: &burn::nn::Lstm, fused: rnn_models::Lstm) -> rnn_models::Lstm {
    let gates = [
        &burn.input_gate,
        burn.forget_gate.as_ref().expect("a forget gate"),
        &burn.cell_gate,
        &burn.output_gate,
    ];
    // Detached copies: the packed tensors are new parameters (leaves) of their own.
    let cat2 = |f: &dyn Fn(usize) -> Tensor<2>| Tensor::cat((0..4).map(f).collect(), 1).detach();
    let cat1 = |f: &dyn Fn(usize) -> Tensor<1>| Tensor::cat((0..4).map(f).collect(), 0).detach();
    let bias = |l: &Linear| l.bias.as_ref().expect("a bias").val();
    let mut layer = fused.layer.clone();
    layer.w_ih = Param::from_tensor(cat2(&|g| gates[g].input_transform.weight.val()));
    layer.w_hh = Param::from_tensor(cat2(&|g| gates[g].hidden_transform.weight.val()));
    layer.b_ih = Some(Param::from_tensor(cat1(&|g| {
        bias(&gates[g].input_transform)
    })));
    layer.b_hh = Some(Param::from_tensor(cat1(&|g| {
        bias(&gates[g].hidden_transform)
    })));
    rnn_models::Lstm { layer, ..fused }
}

fn loss(scores: Tensor<2>, labels: &Tensor<2>) -> Tensor<1> {
    // Mean squared error against one-hot labels: simple, and the same for both models.
    (scores - labels.clone()).powi_scalar(2).mean()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("usage: swap_in [STEPS BATCH HIDDEN]"))
        .collect();
    let [steps, batch, hidden] = [0, 1, 2].map(|i| args.get(i).copied().unwrap_or([4, 16, 32][i]));
    let device = Device::flex().autodiff();
    println!(
        "LSTM classifier, T = {T}, batch {batch}, hidden {hidden}, {steps} SGD steps, flex CPU"
    );

    // The same two lines for either type: only the path differs.
    let burn_lstm = burn::nn::LstmConfig::new(1, hidden, true).init(&device);
    let fused_lstm = rnn_models::LstmConfig::new(1, hidden, true).init(&device);
    let head = LinearConfig::new(hidden, CLASSES).init(&device);
    let fused_lstm = same_weights(&burn_lstm, fused_lstm);
    let mut burn_model = BurnClassifier {
        lstm: burn_lstm,
        head: head.clone(),
    };
    let mut fused_model = FusedClassifier {
        lstm: fused_lstm,
        head,
    };

    let (mut burn_time, mut fused_time) = (0.0, 0.0);
    let mut worst = 0f64;
    for step in 0..steps {
        let pixels = Tensor::<3>::random(
            [batch, T, 1],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let labels = Tensor::<2>::random(
            [batch, CLASSES],
            burn::tensor::Distribution::Bernoulli(0.1),
            &device,
        );

        let start = Instant::now();
        let burn_scores = burn_model.forward(pixels.clone());
        let burn_loss = loss(burn_scores.clone(), &labels);
        let grads = burn_loss.backward();
        burn_model = burn_model.map(&mut Sgd {
            grads: &grads,
            lr: 0.5,
        });
        let burn_loss = f64::from(burn_loss.into_scalar::<f32>());
        let burn_step = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let fused_scores = fused_model.forward(pixels);
        let fused_loss = loss(fused_scores.clone(), &labels);
        let grads = fused_loss.backward();
        fused_model = fused_model.map(&mut Sgd {
            grads: &grads,
            lr: 0.5,
        });
        let fused_loss = f64::from(fused_loss.into_scalar::<f32>());
        let fused_step = start.elapsed().as_secs_f64();

        let gap = (burn_loss - fused_loss).abs() / burn_loss.abs().max(1e-12);
        // The scores' largest difference: a finer view than the loss, which the labels dominate.
        let scores_gap = (burn_scores - fused_scores)
            .abs()
            .max()
            .into_scalar::<f32>();
        worst = worst.max(gap);
        println!(
            "step {step}: loss burn::nn {burn_loss:.6}  rnn_models {fused_loss:.6}  \
             (relative gap {gap:.1e}, scores differ by at most {scores_gap:.1e})   \
             step time burn::nn {burn_step:.3} s  rnn_models {fused_step:.3} s"
        );
        // The first step compiles and warms caches; it is left out of the mean.
        if step > 0 || steps == 1 {
            burn_time += burn_step;
            fused_time += fused_step;
        }
    }
    let timed = steps.saturating_sub(1).max(1) as f64;
    println!(
        "mean step time: burn::nn::Lstm {:.3} s, rnn_models::Lstm {:.3} s ({:.1}x)",
        burn_time / timed,
        fused_time / timed,
        burn_time / fused_time
    );
    assert!(worst < 1e-4, "the two models' losses differ by {worst:.1e}");
    println!("losses agree to {worst:.1e} (relative) at every step");
}
