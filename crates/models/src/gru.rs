//! The GRU (gates r, z, n), stacked, in both of its published forms:
//! `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
//! `h' = (1 - z) ⊙ n + z ⊙ h`, and the candidate `n`:
//! - reset after (cuDNN, PyTorch): `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`;
//! - reset before (Cho et al. 2014): `n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)`.
//!
//! The equations are written in the `W x` notation of the papers; the weights are stored
//! as `w_ih` `[D, 3H]` and `w_hh` `[H, 3H]`, packed r, z, n, and applied as `x · w`
//! (`W_ir` is the transpose of the first `H` columns of `w_ih`, and so on). `b_hr` and
//! `b_hz` are added to the input projection with `b_ih`; `b_hn` stays inside the candidate,
//! where the reset gate can multiply it. A layer with one bias ([`Biases::One`]) has
//! `b_hn = 0`.

use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::init::{Biases, RecurrentInit};
use crate::layer::{Path, RecurrentLayer, RnnOutput, Steps, columns, initial_state, time_step};
use crate::ops::gru_layer;

/// The configuration of a stack of GRU layers; layer `l > 0` reads the hidden states of
/// layer `l - 1`. `GruConfig::new(d_input, d_hidden)` sets the two required fields; the
/// `with_*` methods the others.
#[derive(Config, Debug)]
pub struct GruConfig {
    /// Features per time step of the input.
    pub d_input: usize,
    /// Hidden units per layer.
    pub d_hidden: usize,
    /// Stacked layers `L` (default 1).
    #[config(default = 1)]
    pub num_layers: usize,
    /// Which biases each layer has (default [`Biases::Two`]: `b_ih` and `b_hh`, as in
    /// PyTorch).
    #[config(default = "Biases::Two")]
    pub biases: Biases,
    /// Store the candidate's weights and bias as tensors of their own, apart from the reset
    /// and update gates' (MinPy's `Wxh`, `Whh`, `bh` beside `Wx`, `Wh`, `b`; see
    /// [`RecurrentLayer::split`]). Default `false`. It changes how the parameters are stored
    /// and initialised, not what the cell computes.
    #[config(default = false)]
    pub split_candidate: bool,
    /// `true`: the reset gate multiplies `W_hn h + b_hn` (cuDNN/PyTorch form);
    /// `false`: it multiplies `h` before the recurrent matmul (Cho et al. form). Default
    /// `true`.
    #[config(default = true)]
    pub reset_after: bool,
    /// Dropout probability on the outputs of every layer but the last (training only;
    /// default 0, none).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// How weights and biases start (default [`RecurrentInit::PyTorchUniform`]).
    #[config(default = "RecurrentInit::PyTorchUniform")]
    pub init: RecurrentInit,
}

impl GruConfig {
    /// Builds the stack on `device`, its parameters drawn by the `init` field's rule. Layer 0
    /// reads `d_input` features, every later layer `d_hidden`.
    ///
    /// # Panics
    ///
    /// If `num_layers` is 0.
    pub fn init(&self, device: &Device) -> Gru {
        // Refused earlier for users (ExperimentConfig::validate); this guards library callers.
        assert!(self.num_layers >= 1, "a GRU stack needs at least one layer");
        let layers = (0..self.num_layers)
            .map(|l| {
                let d_in = if l == 0 { self.d_input } else { self.d_hidden };
                RecurrentLayer::new(
                    d_in,
                    self.d_hidden,
                    3,
                    self.biases,
                    self.split_candidate,
                    &self.init,
                    device,
                )
            })
            .collect();
        Gru {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            reset_after: self.reset_after,
        }
    }
}

/// A stack of GRU layers (built by [`GruConfig::init`]).
///
/// Input `[B, T, D]`, state `[L, B, H]`; see [`Gru::run`].
#[derive(Module, Debug)]
pub struct Gru {
    /// The layers, first to last; each has three gate groups (`G = 3H`, packed r, z, n).
    pub layers: Vec<RecurrentLayer>,
    /// Applied to the output of every layer but the last.
    pub dropout: Dropout,
    /// The reset gate multiplies `h · w_hn + b_hn` (`true`, PyTorch and cuDNN) or `h` before
    /// the product (`false`, Cho et al. and MinPy); see [`GruConfig::reset_after`].
    pub reset_after: bool,
}

impl Gru {
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
            // b_hr and b_hz fold into the input projection; b_hn stays inside the candidate.
            let (bias, b_hn) = match (layer.input_bias(), &layer.b_hh) {
                (b_ih, Some(b_hh)) => {
                    let b_hh = b_hh.val();
                    let rz = b_hh.clone().slice([0..2 * h]);
                    let folded = Tensor::cat(vec![rz, Tensor::zeros([h], &device)], 0);
                    let bias = match b_ih {
                        Some(b_ih) => b_ih + folded,
                        None => folded,
                    };
                    (Some(bias), b_hh.slice([2 * h..3 * h]))
                }
                (b_ih, None) => (b_ih, Tensor::zeros([h], &device)),
            };
            let out = match path {
                Path::Fused => {
                    // The op always takes a bias; a bias-free layer passes zeros.
                    let bias = bias.unwrap_or_else(|| Tensor::zeros([3 * h], &device));
                    gru_layer(
                        input,
                        layer.input_weights(),
                        bias,
                        layer.recurrent_weights(),
                        b_hn,
                        h0,
                        self.reset_after,
                        keep,
                    )
                }
                Path::Reference => {
                    let xw = layer.project(input, bias);
                    reference(
                        xw,
                        layer.recurrent_weights(),
                        b_hn,
                        h0,
                        self.reset_after,
                        keep,
                    )
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
}

fn reference(
    xw: Tensor<3>,
    w_hh: Tensor<2>,
    b_hn: Tensor<1>,
    h0: Tensor<2>,
    reset_after: bool,
    keep: bool,
) -> Tensor<3> {
    let [_, t, g] = xw.dims();
    let hidden = g / 3;
    let w_rz = w_hh.clone().slice([0..hidden, 0..2 * hidden]);
    let w_n = w_hh.clone().slice([0..hidden, 2 * hidden..3 * hidden]);
    let b_hn = b_hn.unsqueeze::<2>();
    let mut h = h0;
    let mut outs = Vec::with_capacity(t);
    for s in 0..t {
        let x = time_step(&xw, s);
        let rz = sigmoid(columns(&x, 0, 2 * hidden) + h.clone().matmul(w_rz.clone()));
        let r = columns(&rz, 0, hidden);
        let z = columns(&rz, hidden, 2 * hidden);
        let x_n = columns(&x, 2 * hidden, 3 * hidden);
        let n = if reset_after {
            (x_n + r * (h.clone().matmul(w_n.clone()) + b_hn.clone())).tanh()
        } else {
            (x_n + (r * h.clone()).matmul(w_n.clone()) + b_hn.clone()).tanh()
        };
        h = (z.clone().neg() + 1.0) * n + z * h;
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
