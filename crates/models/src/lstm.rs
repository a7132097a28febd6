//! The LSTM (gates i, f, g, o), stacked:
//! `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`.

use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::init::{Biases, RecurrentInit};
use crate::layer::{Path, RecurrentLayer, Steps, columns, initial_state, time_step};
use crate::ops::lstm_layer;

#[derive(Config, Debug)]
pub struct LstmConfig {
    pub d_input: usize,
    pub d_hidden: usize,
    #[config(default = 1)]
    pub num_layers: usize,
    /// Which biases each layer has (PyTorch: `b_ih` and `b_hh`).
    #[config(default = "Biases::Two")]
    pub biases: Biases,
    /// Dropout on the outputs of every layer but the last (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
    #[config(default = "RecurrentInit::PyTorchUniform")]
    pub init: RecurrentInit,
    /// If set, the forget-gate part of `b_ih` starts at this value (and of `b_hh`, if any, at
    /// zero), the usual trick (e.g. 1.0) to let gradients flow early in training. Ignored by a
    /// layer without biases.
    #[config(default = "None")]
    pub forget_bias: Option<f64>,
}

impl LstmConfig {
    pub fn init(&self, device: &Device) -> Lstm {
        // Refused earlier for users (ExperimentConfig::validate); this guards library callers.
        assert!(
            self.num_layers >= 1,
            "an LSTM stack needs at least one layer"
        );
        let h = self.d_hidden;
        let layers = (0..self.num_layers)
            .map(|l| {
                let d_in = if l == 0 { self.d_input } else { h };
                let mut layer =
                    RecurrentLayer::new(d_in, h, 4, self.biases, false, &self.init, device);
                if let Some(value) = self.forget_bias {
                    // Detached, so the parameter stays a leaf of the autodiff graph.
                    let set = |b: Tensor<1>, v: f64| {
                        b.slice_assign([h..2 * h], Tensor::full([h], v, device))
                            .detach()
                            .require_grad()
                    };
                    layer.b_ih = layer.b_ih.map(|p| p.map(|b| set(b, value)));
                    layer.b_hh = layer.b_hh.map(|p| p.map(|b| set(b, 0.0)));
                }
                layer
            })
            .collect();
        Lstm {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

#[derive(Module, Debug)]
pub struct Lstm {
    pub layers: Vec<RecurrentLayer>,
    pub dropout: Dropout,
}

/// The LSTM's recurrent state, `[L, B, H]` each.
#[derive(Debug, Clone)]
pub struct LstmState {
    pub h: Tensor<3>,
    pub c: Tensor<3>,
}

#[derive(Debug, Clone)]
pub struct LstmOutput {
    /// Hidden states of the last layer: `[B, T, H]`, or `[B, 1, H]` with [`Steps::Last`].
    pub output: Tensor<3>,
    /// Final states of every layer.
    pub state: LstmState,
}

impl LstmOutput {
    /// The last layer's final hidden state `[B, H]`.
    pub fn last(&self) -> Tensor<2> {
        let [b, t, h] = self.output.dims();
        self.output
            .clone()
            .slice([0..b, t - 1..t, 0..h])
            .reshape([b, h])
    }
}

impl Lstm {
    pub fn forward(&self, x: Tensor<3>, state: Option<LstmState>) -> LstmOutput {
        self.run(x, state, Steps::All, Path::Fused)
    }

    pub fn forward_last(&self, x: Tensor<3>, state: Option<LstmState>) -> LstmOutput {
        self.run(x, state, Steps::Last, Path::Fused)
    }

    pub fn run(
        &self,
        x: Tensor<3>,
        state: Option<LstmState>,
        steps: Steps,
        path: Path,
    ) -> LstmOutput {
        let [b, _, _] = x.dims();
        let device = x.device();
        let n = self.layers.len();
        let mut input = x;
        let (mut hs, mut cs) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (l, layer) in self.layers.iter().enumerate() {
            let h = layer.hidden_size();
            let h0 = initial_state(state.as_ref().map(|s| &s.h), l, b, h, &device);
            let c0 = initial_state(state.as_ref().map(|s| &s.c), l, b, h, &device);
            let keep = l + 1 < n || steps == Steps::All;
            let (out, c) = match path {
                Path::Fused => {
                    // The op always takes a bias; a bias-free layer passes zeros.
                    let bias = layer
                        .summed_bias()
                        .unwrap_or_else(|| Tensor::zeros([4 * h], &device));
                    lstm_layer(
                        input,
                        layer.input_weights(),
                        bias,
                        layer.recurrent_weights(),
                        h0,
                        c0,
                        keep,
                    )
                }
                Path::Reference => {
                    let xw = layer.project(input, layer.summed_bias());
                    reference(xw, layer.recurrent_weights(), h0, c0, keep)
                }
            };
            let [_, t, _] = out.dims();
            hs.push(out.clone().slice([0..b, t - 1..t, 0..h]).reshape([1, b, h]));
            cs.push(c.reshape([1, b, h]));
            input = if l + 1 < n {
                self.dropout.forward(out)
            } else {
                out
            };
        }
        LstmOutput {
            output: input,
            state: LstmState {
                h: Tensor::cat(hs, 0),
                c: Tensor::cat(cs, 0),
            },
        }
    }
}

fn reference(
    xw: Tensor<3>,
    w_hh: Tensor<2>,
    h0: Tensor<2>,
    c0: Tensor<2>,
    keep: bool,
) -> (Tensor<3>, Tensor<2>) {
    let [_, t, g] = xw.dims();
    let hidden = g / 4;
    let (mut h, mut c) = (h0, c0);
    let mut outs = Vec::with_capacity(t);
    for s in 0..t {
        let gates = time_step(&xw, s) + h.matmul(w_hh.clone());
        let i = sigmoid(columns(&gates, 0, hidden));
        let f = sigmoid(columns(&gates, hidden, 2 * hidden));
        let gg = columns(&gates, 2 * hidden, 3 * hidden).tanh();
        let o = sigmoid(columns(&gates, 3 * hidden, 4 * hidden));
        c = f * c + i * gg;
        h = o * c.clone().tanh();
        if keep {
            outs.push(h.clone());
        }
    }
    let out = if keep {
        Tensor::stack(outs, 1)
    } else {
        h.unsqueeze_dim(1)
    };
    (out, c)
}
