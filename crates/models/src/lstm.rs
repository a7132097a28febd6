//! The LSTM (gates i, f, g, o), stacked:
//! `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`.
//!
//! The four gates' pre-activations are the columns of `x_t · w_ih + h_{t-1} · w_hh + b`
//! (`w_ih` `[D, 4H]`, `w_hh` `[H, 4H]`, packed i, f, g, o, `H` columns each; `b` is
//! `b_ih + b_hh`, or whichever of them the layer has); `i`, `f` and `o` go through the
//! logistic function, `g` through tanh.

use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::init::{Biases, RecurrentInit};
use crate::layer::{Path, RecurrentLayer, Steps, columns, initial_state, time_step};
use crate::ops::lstm_layer;

/// The configuration of a stack of LSTM layers; layer `l > 0` reads the hidden states of
/// layer `l - 1`. `LstmConfig::new(d_input, d_hidden)` sets the two required fields; the
/// `with_*` methods the others.
#[derive(Config, Debug)]
pub struct LstmConfig {
    /// Features per time step of the input.
    pub d_input: usize,
    /// Hidden units per layer (`H`; the cell state has as many).
    pub d_hidden: usize,
    /// Stacked layers `L` (default 1).
    #[config(default = 1)]
    pub num_layers: usize,
    /// Which biases each layer has (default [`Biases::Two`]: `b_ih` and `b_hh`, as in
    /// PyTorch).
    #[config(default = "Biases::Two")]
    pub biases: Biases,
    /// Dropout probability on the outputs of every layer but the last (training only;
    /// default 0, none).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// How weights and biases start (default [`RecurrentInit::PyTorchUniform`]).
    #[config(default = "RecurrentInit::PyTorchUniform")]
    pub init: RecurrentInit,
    /// If set, the forget-gate part of `b_ih` starts at this value (and of `b_hh`, if any, at
    /// zero), the usual trick (e.g. 1.0) to let gradients flow early in training. Ignored by a
    /// layer without biases. Default `None`: the forget bias is drawn like every other bias.
    #[config(default = "None")]
    pub forget_bias: Option<f64>,
}

impl LstmConfig {
    /// Builds the stack on `device`, its parameters drawn by the `init` field's rule and the
    /// forget-gate bias then set by `forget_bias`. Layer 0 reads `d_input` features, every
    /// later layer `d_hidden`.
    ///
    /// # Panics
    ///
    /// If `num_layers` is 0.
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

/// A stack of LSTM layers (built by [`LstmConfig::init`]).
///
/// Input `[B, T, D]`, state `h` and `c` `[L, B, H]` ([`LstmState`]); see [`Lstm::run`].
#[derive(Module, Debug)]
pub struct Lstm {
    /// The layers, first to last; each has four gate groups (`G = 4H`, packed i, f, g, o).
    pub layers: Vec<RecurrentLayer>,
    /// Applied to the output of every layer but the last.
    pub dropout: Dropout,
}

/// The LSTM's recurrent state, `[L, B, H]` each.
#[derive(Debug, Clone)]
pub struct LstmState {
    /// Hidden state of every layer, `[L, B, H]`.
    pub h: Tensor<3>,
    /// Cell state of every layer, `[L, B, H]`.
    pub c: Tensor<3>,
}

/// What an LSTM stack returns.
#[derive(Debug, Clone)]
pub struct LstmOutput {
    /// Hidden states of the last layer: `[B, T, H]`, or `[B, 1, H]` with [`Steps::Last`].
    pub output: Tensor<3>,
    /// Final states of every layer (`h` and `c`, `[L, B, H]` each).
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
    /// All steps of the last layer and the final states of every layer, on the fused path:
    /// `run(x, state, Steps::All, Path::Fused)`.
    /// `x`: `[B, T, D]`; `state`: `h` and `c` `[L, B, H]` (zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<LstmState>) -> LstmOutput {
        self.run(x, state, Steps::All, Path::Fused)
    }

    /// Only the last step's hidden state of the last layer (`output` is `[B, 1, H]`), on the
    /// fused path: `run(x, state, Steps::Last, Path::Fused)`. The last layer's `[B, T, H]`
    /// output is never built.
    pub fn forward_last(&self, x: Tensor<3>, state: Option<LstmState>) -> LstmOutput {
        self.run(x, state, Steps::Last, Path::Fused)
    }

    /// Runs the stack on `x` `[B, T, D]` from `state` (`h` and `c` `[L, B, H]`; both zeros
    /// when `None`).
    ///
    /// `steps` chooses the `output` ([`Steps::All`]: `[B, T, H]`, [`Steps::Last`]:
    /// `[B, 1, H]`); `state` of the result always holds every layer's final `h` and `c`.
    /// `path` chooses the implementation of each layer's time loop ([`Path`]); both compute
    /// the same function.
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
