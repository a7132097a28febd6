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

use crate::init::{Biases, RecurrentInit};
use crate::layer::{RecurrentLayer, RnnOutput, Steps, run_stack};
use crate::ops::Cell;
use crate::recurrence::Recurrence;

/// The configuration of a stack of GRU layers (PyTorch's `nn.GRU`); layer `l > 0` reads the
/// hidden states of layer `l - 1`. `GruStackConfig::new(d_input, d_hidden)` sets the two
/// required fields; the `with_*` methods the others.
#[derive(Config, Debug)]
pub struct GruStackConfig {
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
    /// What runs the time loop (default [`Recurrence::Fused`]).
    #[config(default = "Recurrence::Fused")]
    pub recurrence: Recurrence,
}

impl GruStackConfig {
    /// Builds the stack on `device`, its parameters drawn by the `init` field's rule. Layer 0
    /// reads `d_input` features, every later layer `d_hidden`.
    ///
    /// # Panics
    ///
    /// If `num_layers` is 0.
    pub fn init(&self, device: &Device) -> GruStack {
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
        GruStack {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            reset_after: self.reset_after,
            recurrence: self.recurrence,
        }
    }
}

/// A stack of GRU layers (built by [`GruStackConfig::init`]).
///
/// Input `[B, T, D]`, state `[L, B, H]`; see [`GruStack::run`].
///
/// ```
/// use burn::prelude::*;
/// use rnn_models::GruStackConfig;
///
/// let device = Device::flex();
/// // The reset gate before the recurrent product (Cho et al.).
/// let gru = GruStackConfig::new(3, 5).with_reset_after(false).init(&device);
/// let out = gru.forward(Tensor::<3>::ones([2, 4, 3], &device), None);
/// assert_eq!(out.h_n.dims(), [1, 2, 5]);
/// ```
#[derive(Module, Debug)]
pub struct GruStack {
    /// The layers, first to last; each has three gate groups (`G = 3H`, packed r, z, n).
    pub layers: Vec<RecurrentLayer>,
    /// Applied to the output of every layer but the last.
    pub dropout: Dropout,
    /// The reset gate multiplies `h · w_hn + b_hn` (`true`, PyTorch and cuDNN) or `h` before
    /// the product (`false`, Cho et al. and MinPy); see [`GruStackConfig::reset_after`].
    pub reset_after: bool,
    /// What runs the time loop of `forward` and `forward_last`.
    #[module(skip)]
    pub recurrence: Recurrence,
}

impl GruStack {
    /// All steps of the last layer and the final state of every layer.
    /// `x`: `[B, T, D]`; `state`: `[L, B, H]` (zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<Tensor<3>>) -> RnnOutput {
        self.run(x, state, Steps::All, self.recurrence)
    }

    /// Only the last step's hidden state of the last layer (`output` is `[B, 1, H]`). The
    /// last layer's `[B, T, H]` output is never built.
    pub fn forward_last(&self, x: Tensor<3>, state: Option<Tensor<3>>) -> RnnOutput {
        self.run(x, state, Steps::Last, self.recurrence)
    }

    /// This stack with `recurrence` running its time loop.
    pub fn with_recurrence(mut self, recurrence: Recurrence) -> Self {
        self.recurrence = recurrence;
        self
    }

    /// Runs the stack on `x` `[B, T, D]` from `state` `[L, B, H]` (zeros when `None`).
    ///
    /// `steps` chooses the `output` ([`Steps::All`]: `[B, T, H]`, [`Steps::Last`]:
    /// `[B, 1, H]`); `h_n` is always every layer's final state `[L, B, H]`.
    /// `recurrence` chooses what runs each layer's time loop; every choice computes the
    /// same function.
    pub fn run(
        &self,
        x: Tensor<3>,
        state: Option<Tensor<3>>,
        steps: Steps,
        recurrence: Recurrence,
    ) -> RnnOutput {
        let cell = Cell::Gru {
            reset_after: self.reset_after,
        };
        let (output, last) = run_stack(
            &self.layers,
            &self.dropout,
            cell,
            x,
            state.as_ref(),
            None,
            steps,
            recurrence,
        );
        RnnOutput {
            output,
            h_n: last.h,
            recurrence: last.recurrence,
        }
    }
}
