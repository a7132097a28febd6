//! The LSTM (gates i, f, g, o), stacked:
//! `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`.
//!
//! The four gates' pre-activations are the columns of `x_t · w_ih + h_{t-1} · w_hh + b`
//! (`w_ih` `[D, 4H]`, `w_hh` `[H, 4H]`, packed i, f, g, o, `H` columns each; `b` is
//! `b_ih + b_hh`, or whichever of them the layer has); `i`, `f` and `o` go through the
//! logistic function, `g` through tanh.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, LstmState};
use burn::prelude::*;

use crate::init::{Biases, RecurrentInit};
use crate::layer::{RecurrentLayer, Steps, replace_value, run_stack};
use crate::ops::Cell;
use crate::recurrence::Recurrence;

/// The configuration of a stack of LSTM layers (PyTorch's `nn.LSTM`); layer `l > 0` reads
/// the hidden states of layer `l - 1`. `LstmStackConfig::new(d_input, d_hidden)` sets the two
/// required fields; the `with_*` methods the others.
#[derive(Config, Debug)]
pub struct LstmStackConfig {
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
    /// What runs the time loop (default [`Recurrence::Fused`]).
    #[config(default = "Recurrence::Fused")]
    pub recurrence: Recurrence,
}

impl LstmStackConfig {
    /// Builds the stack on `device`, its parameters drawn by the `init` field's rule and the
    /// forget-gate bias then set by `forget_bias`. Layer 0 reads `d_input` features, every
    /// later layer `d_hidden`.
    ///
    /// # Panics
    ///
    /// If `num_layers` is 0.
    pub fn init(&self, device: &Device) -> LstmStack {
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
                    let set = |p: Param<Tensor<1>>, v: f64| {
                        let b = p
                            .val()
                            .slice_assign([h..2 * h], Tensor::full([h], v, device));
                        replace_value(p, b)
                    };
                    layer.b_ih = layer.b_ih.map(|p| set(p, value));
                    layer.b_hh = layer.b_hh.map(|p| set(p, 0.0));
                }
                layer
            })
            .collect();
        LstmStack {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            recurrence: self.recurrence,
        }
    }
}

/// A stack of LSTM layers (built by [`LstmStackConfig::init`]).
///
/// Input `[B, T, D]`, states `hidden` and `cell` `[L, B, H]` (burn::nn's [`LstmState`]);
/// see [`LstmStack::run`].
///
/// ```
/// use burn::prelude::*;
/// use rnn_models::LstmStackConfig;
///
/// let device = Device::flex();
/// let lstm = LstmStackConfig::new(3, 5)
///     .with_num_layers(2)
///     .with_forget_bias(Some(1.0))
///     .init(&device);
/// let out = lstm.forward(Tensor::<3>::ones([2, 4, 3], &device), None);
/// assert_eq!(out.output.dims(), [2, 4, 5]);
/// assert_eq!(out.state.cell.dims(), [2, 2, 5]); // [L, B, H]
/// ```
#[derive(Module, Debug)]
pub struct LstmStack {
    /// The layers, first to last; each has four gate groups (`G = 4H`, packed i, f, g, o).
    pub layers: Vec<RecurrentLayer>,
    /// Applied to the output of every layer but the last.
    pub dropout: Dropout,
    /// What runs the time loop of `forward` and `forward_last`.
    #[module(skip)]
    pub recurrence: Recurrence,
}

/// What an LSTM stack returns.
#[derive(Debug, Clone)]
pub struct LstmOutput {
    /// Hidden states of the last layer: `[B, T, H]`, or `[B, 1, H]` with [`Steps::Last`].
    pub output: Tensor<3>,
    /// Final states of every layer (`hidden` and `cell`, `[L, B, H]` each).
    pub state: LstmState<3>,
    /// What ran the layers' time loops.
    pub recurrence: Recurrence,
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

impl LstmStack {
    /// All steps of the last layer and the final states of every layer.
    /// `x`: `[B, T, D]`; `state`: `hidden` and `cell` `[L, B, H]` (zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<LstmState<3>>) -> LstmOutput {
        self.run(x, state, Steps::All, self.recurrence)
    }

    /// Only the last step's hidden state of the last layer (`output` is `[B, 1, H]`). The
    /// last layer's `[B, T, H]` output is never built.
    pub fn forward_last(&self, x: Tensor<3>, state: Option<LstmState<3>>) -> LstmOutput {
        self.run(x, state, Steps::Last, self.recurrence)
    }

    /// This stack with `recurrence` running its time loop.
    pub fn with_recurrence(mut self, recurrence: Recurrence) -> Self {
        self.recurrence = recurrence;
        self
    }

    /// Runs the stack on `x` `[B, T, D]` from `state` (`hidden` and `cell` `[L, B, H]`; both
    /// zeros when `None`).
    ///
    /// `steps` chooses the `output` ([`Steps::All`]: `[B, T, H]`, [`Steps::Last`]:
    /// `[B, 1, H]`); `state` of the result always holds every layer's final `hidden` and
    /// `cell`. `recurrence` chooses what runs each layer's time loop; every choice
    /// computes the same function.
    pub fn run(
        &self,
        x: Tensor<3>,
        state: Option<LstmState<3>>,
        steps: Steps,
        recurrence: Recurrence,
    ) -> LstmOutput {
        let (output, last) = run_stack(
            &self.layers,
            &self.dropout,
            Cell::Lstm,
            x,
            state.as_ref().map(|s| &s.hidden),
            state.as_ref().map(|s| &s.cell),
            steps,
            recurrence,
        );
        // `run_stack` returns the cell states of an LSTM stack.
        let cell = last.c.expect("an LSTM stack has cell states");
        LstmOutput {
            output,
            state: LstmState::new(cell, last.h),
            recurrence: last.recurrence,
        }
    }
}
