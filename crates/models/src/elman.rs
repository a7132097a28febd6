//! The Elman RNN: `h_t = act(x_t · w_ih + b_ih + h_{t-1} · w_hh + b_hh)`, tanh or ReLU,
//! stacked.
//!
//! `w_ih` is `[D, H]` (`[H, H]` above the first layer) and `w_hh` `[H, H]`, applied as
//! `x · w`; the two biases are summed into the input projection. With ReLU and the identity
//! initialisation ([`ElmanConfig::irnn`]) this is the IRNN of Le, Jaitly and Hinton (2015).

use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::init::{Biases, RecurrentInit};
use crate::layer::{Path, RecurrentLayer, RnnOutput, Steps, initial_state, time_step};
use crate::ops::elman_layer;

/// The Elman cell's nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Nonlinearity {
    /// `act = tanh` (the default; PyTorch's `nn.RNN` default).
    Tanh,
    /// `act = max(0, ·)`, the IRNN's activation.
    Relu,
}

/// The configuration of a stack of Elman layers; layer `l > 0` reads the hidden states of
/// layer `l - 1`. `ElmanConfig::new(d_input, d_hidden)` sets the two required fields; the
/// `with_*` methods the others.
#[derive(Config, Debug)]
pub struct ElmanConfig {
    /// Features per time step of the input.
    pub d_input: usize,
    /// Hidden units per layer.
    pub d_hidden: usize,
    /// Stacked layers `L` (default 1).
    #[config(default = 1)]
    pub num_layers: usize,
    /// The activation of every layer (default tanh).
    #[config(default = "Nonlinearity::Tanh")]
    pub nonlinearity: Nonlinearity,
    /// Which biases each layer has (default [`Biases::Two`]: `b_ih` and `b_hh`, as in
    /// PyTorch and NeoML).
    #[config(default = "Biases::Two")]
    pub biases: Biases,
    /// Dropout probability on the outputs of every layer but the last (training only;
    /// default 0, none).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// How weights and biases start (default [`RecurrentInit::PyTorchUniform`]).
    #[config(default = "RecurrentInit::PyTorchUniform")]
    pub init: RecurrentInit,
}

impl ElmanConfig {
    /// The IRNN: a ReLU Elman layer with identity recurrent weights, small Gaussian input
    /// weights and zero biases (`RecurrentInit::IRNN`, the irnn-mnist tutorial's values).
    pub fn irnn(d_input: usize, d_hidden: usize) -> Self {
        Self::new(d_input, d_hidden)
            .with_nonlinearity(Nonlinearity::Relu)
            .with_init(RecurrentInit::IRNN)
    }

    /// Builds the stack on `device`, its parameters drawn by the `init` field's rule. Layer 0
    /// reads `d_input` features, every later layer `d_hidden`.
    ///
    /// # Panics
    ///
    /// If `num_layers` is 0.
    pub fn init(&self, device: &Device) -> Elman {
        // Every experiment's config (ExperimentConfig::validate, flags and config.json alike)
        // refuses 0 layers before a model is built; this guards library callers.
        assert!(
            self.num_layers >= 1,
            "an Elman stack needs at least one layer"
        );
        let layers = (0..self.num_layers)
            .map(|l| {
                let d_in = if l == 0 { self.d_input } else { self.d_hidden };
                RecurrentLayer::new(
                    d_in,
                    self.d_hidden,
                    1,
                    self.biases,
                    false,
                    &self.init,
                    device,
                )
            })
            .collect();
        Elman {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            relu: self.nonlinearity == Nonlinearity::Relu,
        }
    }
}

/// A stack of Elman layers (built by [`ElmanConfig::init`]).
///
/// Input `[B, T, D]`, state `[L, B, H]`; see [`Elman::run`].
#[derive(Module, Debug)]
pub struct Elman {
    /// The layers, first to last; each has one gate group (`G = H`).
    pub layers: Vec<RecurrentLayer>,
    /// Applied to the output of every layer but the last.
    pub dropout: Dropout,
    /// ReLU (IRNN) instead of tanh.
    pub relu: bool,
}

impl Elman {
    /// All steps of the last layer and the final state of every layer, on the fused path:
    /// `run(x, state, Steps::All, Path::Fused)`.
    /// `x`: `[B, T, D]`; `state`: `[L, B, H]` (zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<Tensor<3>>) -> RnnOutput {
        self.run(x, state, Steps::All, Path::Fused)
    }

    /// Only the last step's hidden state of the last layer (`output` is `[B, 1, H]`), on the
    /// fused path: `run(x, state, Steps::Last, Path::Fused)`. The last layer's `[B, T, H]`
    /// output is never built.
    pub fn forward_last(&self, x: Tensor<3>, state: Option<Tensor<3>>) -> RnnOutput {
        self.run(x, state, Steps::Last, Path::Fused)
    }

    /// Runs the stack on `x` `[B, T, D]` from `state` `[L, B, H]` (zeros when `None`).
    ///
    /// `steps` chooses the `output` ([`Steps::All`]: `[B, T, H]`, [`Steps::Last`]:
    /// `[B, 1, H]`); `h_n` is always every layer's final state `[L, B, H]`. `path` chooses
    /// the implementation of each layer's time loop ([`Path`]); both compute the same
    /// function.
    pub fn run(
        &self,
        x: Tensor<3>,
        state: Option<Tensor<3>>,
        steps: Steps,
        path: Path,
    ) -> RnnOutput {
        let [b, _, _] = x.dims();
        let device = x.device();
        let n = self.layers.len();
        let mut input = x;
        let mut finals = Vec::with_capacity(n);
        for (l, layer) in self.layers.iter().enumerate() {
            let h = layer.hidden_size();
            let h0 = initial_state(state.as_ref(), l, b, h, &device);
            let keep = l + 1 < n || steps == Steps::All;
            let out = match path {
                Path::Fused => {
                    // The op always takes a bias; a bias-free layer passes zeros.
                    let bias = layer
                        .summed_bias()
                        .unwrap_or_else(|| Tensor::zeros([h], &device));
                    elman_layer(
                        input,
                        layer.input_weights(),
                        bias,
                        layer.recurrent_weights(),
                        h0,
                        self.relu,
                        keep,
                    )
                }
                Path::Reference => {
                    let xw = layer.project(input, layer.summed_bias());
                    self.reference(xw, layer.recurrent_weights(), h0, keep)
                }
            };
            let [_, t, _] = out.dims();
            finals.push(out.clone().slice([0..b, t - 1..t, 0..h]).reshape([1, b, h]));
            input = if l + 1 < n {
                self.dropout.forward(out)
            } else {
                out
            };
        }
        RnnOutput {
            output: input,
            h_n: Tensor::cat(finals, 0),
        }
    }

    fn reference(&self, xw: Tensor<3>, w_hh: Tensor<2>, h0: Tensor<2>, keep: bool) -> Tensor<3> {
        let [_, t, _] = xw.dims();
        let mut h = h0;
        let mut outs = Vec::with_capacity(t);
        for s in 0..t {
            let pre = time_step(&xw, s) + h.matmul(w_hh.clone());
            h = if self.relu {
                burn::tensor::activation::relu(pre)
            } else {
                pre.tanh()
            };
            if keep {
                outs.push(h.clone());
            }
        }
        if keep {
            Tensor::stack(outs, 1)
        } else {
            h.unsqueeze_dim(1)
        }
    }
}
