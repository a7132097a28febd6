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

            /// One timed SGD step on a batch: the updated model, and the step's scores (from
            /// before the update), loss and wall time.
            fn sgd_step(self, pixels: Tensor<3>, labels: &Tensor<2>) -> (Self, TimedStep) {
                let start = Instant::now();
                let scores = self.forward(pixels);
                let step_loss = loss(scores.clone(), labels);
                let grads = step_loss.backward();
                let updated = self.map(&mut Sgd {
                    grads: &grads,
                    lr: 0.5,
                });
                let loss = f64::from(step_loss.into_scalar::<f32>());
                let seconds = start.elapsed().as_secs_f64();
                let step = TimedStep {
                    scores,
                    loss,
                    seconds,
                };
                (updated, step)
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

/// What one model's SGD step leaves for the comparison.
struct TimedStep {
    /// Class scores of the batch, from before the update.
    scores: Tensor<2>,
    loss: f64,
    /// Wall time of forward, backward and update.
    seconds: f64,
}

/// STEPS, BATCH and HIDDEN from the command line, each defaulting to 4, 16 and 32.
fn sizes() -> [usize; 3] {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("usage: swap_in [STEPS BATCH HIDDEN]"))
        .collect();
    [0, 1, 2].map(|i| args.get(i).copied().unwrap_or([4, 16, 32][i]))
}

/// The two classifiers with the same weights: burn::nn's LSTM, and this crate's with burn::nn's
/// weights copied in; one head, shared.
fn same_classifiers(hidden: usize, device: &Device) -> (BurnClassifier, FusedClassifier) {
    // The same two lines for either type: only the path differs.
    let burn_lstm = burn::nn::LstmConfig::new(1, hidden, true).init(device);
    let fused_lstm = rnn_models::LstmConfig::new(1, hidden, true).init(device);
    let head = LinearConfig::new(hidden, CLASSES).init(device);
    let fused_lstm = same_weights(&burn_lstm, fused_lstm);
    let burn_model = BurnClassifier {
        lstm: burn_lstm,
        head: head.clone(),
    };
    let fused_model = FusedClassifier {
        lstm: fused_lstm,
        head,
    };
    (burn_model, fused_model)
}

/// A synthetic batch: normal pixels `[B, T, 1]` and random 0/1 labels `[B, 10]`.
fn random_batch(batch: usize, device: &Device) -> (Tensor<3>, Tensor<2>) {
    let pixels = Tensor::<3>::random(
        [batch, T, 1],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        device,
    );
    let labels = Tensor::<2>::random(
        [batch, CLASSES],
        burn::tensor::Distribution::Bernoulli(0.1),
        device,
    );
    (pixels, labels)
}

/// Prints step `step`'s line comparing the two models, and returns their losses' relative
/// gap.
fn print_step(step: usize, burn: TimedStep, fused: TimedStep) -> f64 {
    let (burn_loss, fused_loss) = (burn.loss, fused.loss);
    let (burn_step, fused_step) = (burn.seconds, fused.seconds);
    let gap = (burn_loss - fused_loss).abs() / burn_loss.abs().max(1e-12);
    // The scores' largest difference: a finer view than the loss, which the labels dominate.
    let scores_gap = (burn.scores - fused.scores)
        .abs()
        .max()
        .into_scalar::<f32>();
    println!(
        "step {step}: loss burn::nn {burn_loss:.6}  rnn_models {fused_loss:.6}  \
         (relative gap {gap:.1e}, scores differ by at most {scores_gap:.1e})   \
         step time burn::nn {burn_step:.3} s  rnn_models {fused_step:.3} s"
    );
    gap
}

fn main() {
    let [steps, batch, hidden] = sizes();
    let device = Device::flex().autodiff();
    println!(
        "LSTM classifier, T = {T}, batch {batch}, hidden {hidden}, {steps} SGD steps, flex CPU"
    );
    let (mut burn_model, mut fused_model) = same_classifiers(hidden, &device);

    let (mut burn_time, mut fused_time) = (0.0, 0.0);
    let mut worst = 0f64;
    for step in 0..steps {
        let (pixels, labels) = random_batch(batch, &device);
        let (updated, burn) = burn_model.sgd_step(pixels.clone(), &labels);
        burn_model = updated;
        let (updated, fused) = fused_model.sgd_step(pixels, &labels);
        fused_model = updated;
        // The first step compiles and warms caches; it is left out of the mean.
        if step > 0 || steps == 1 {
            burn_time += burn.seconds;
            fused_time += fused.seconds;
        }
        worst = worst.max(print_step(step, burn, fused));
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
