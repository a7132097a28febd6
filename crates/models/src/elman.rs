//! The Elman RNN: `h_t = act(x_t · w_ih + b_ih + h_{t-1} · w_hh + b_hh)`, tanh or ReLU,
//! stacked.
//!
//! `w_ih` is `[D, H]` (`[H, H]` above the first layer) and `w_hh` `[H, H]`, applied as
//! `x · w`; the two biases are summed into the input projection. With ReLU and the identity
//! initialisation ([`ElmanStackConfig::irnn`]) this is the IRNN of Le, Jaitly and Hinton (2015).

use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::init::{Biases, RecurrentInit};
use crate::layer::{RecurrentLayer, RnnOutput, Steps, run_stack};
use crate::ops::Cell;
use crate::recurrence::Recurrence;

/// The Elman cell's nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Nonlinearity {
    /// `act = tanh` (the default; PyTorch's `nn.RNN` default).
    Tanh,
    /// `act = max(0, ·)`, the IRNN's activation.
    Relu,
}

/// One Elman layer over weights its caller holds, for a model whose parameters are not laid
/// out as an [`ElmanStack`]'s (e.g. slices of one larger matrix, as Chainer's concatenated
/// blocks keep them): `h_t = act(x_t · input + bias + h_{t-1} · recurrent)`.
#[derive(Clone, Debug)]
pub struct ElmanWeights {
    /// `[D, H]`, applied as `x · input`.
    pub input: Tensor<2>,
    /// `[H, H]`, applied as `h · recurrent`.
    pub recurrent: Tensor<2>,
    /// `[H]`.
    pub bias: Tensor<1>,
    /// The activation.
    pub nonlinearity: Nonlinearity,
}

impl ElmanWeights {
    /// Every step's state `[B, T, H]` for the input `x` `[B, T, D]` from the state `h0`
    /// `[B, H]`, the time loop run by `recurrence`; gradients flow to every weight and to
    /// `x` and `h0`.
    pub fn run(&self, x: Tensor<3>, h0: Tensor<2>, recurrence: Recurrence) -> Tensor<3> {
        let cell = Cell::Elman {
            relu: self.nonlinearity == Nonlinearity::Relu,
        };
        crate::ops::recurrent_layer(
            cell,
            x,
            self.input.clone(),
            self.bias.clone(),
            self.recurrent.clone(),
            None,
            h0,
            None,
            true,
            recurrence,
        )
        .states
    }
}

/// The configuration of a stack of Elman layers (PyTorch's `nn.RNN`); layer `l > 0` reads
/// the hidden states of layer `l - 1`. `ElmanStackConfig::new(d_input, d_hidden)` sets the two
/// required fields; the `with_*` methods the others.
#[derive(Config, Debug)]
pub struct ElmanStackConfig {
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
    /// What runs the time loop (default [`Recurrence::Fused`]).
    #[config(default = "Recurrence::Fused")]
    pub recurrence: Recurrence,
}

impl ElmanStackConfig {
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
    pub fn init(&self, device: &Device) -> ElmanStack {
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
        ElmanStack {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            relu: self.nonlinearity == Nonlinearity::Relu,
            recurrence: self.recurrence,
        }
    }
}

/// A stack of Elman layers (built by [`ElmanStackConfig::init`]).
///
/// Input `[B, T, D]`, state `[L, B, H]`; see [`ElmanStack::run`].
///
/// ```
/// use burn::prelude::*;
/// use rnn_models::ElmanStackConfig;
///
/// let device = Device::flex();
/// // The IRNN on pixel-by-pixel input: ReLU, identity recurrent weights.
/// let irnn = ElmanStackConfig::irnn(1, 8).init(&device);
/// let pixels = Tensor::<3>::ones([2, 16, 1], &device); // [B, T, 1]
/// let last = irnn.forward_last(pixels, None).last();
/// assert_eq!(last.dims(), [2, 8]);
/// // Two tanh layers, every step of the last one.
/// let rnn = ElmanStackConfig::new(3, 8).with_num_layers(2).init(&device);
/// let out = rnn.forward(Tensor::<3>::ones([2, 4, 3], &device), None);
/// assert_eq!(out.output.dims(), [2, 4, 8]);
/// assert_eq!(out.h_n.dims(), [2, 2, 8]); // [L, B, H]
/// ```
#[derive(Module, Debug)]
pub struct ElmanStack {
    /// The layers, first to last; each has one gate group (`G = H`).
    pub layers: Vec<RecurrentLayer>,
    /// Applied to the output of every layer but the last.
    pub dropout: Dropout,
    /// ReLU (IRNN) instead of tanh.
    pub relu: bool,
    /// What runs the time loop of `forward` and `forward_last`.
    #[module(skip)]
    pub recurrence: Recurrence,
}

impl ElmanStack {
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
    /// `recurrence` chooses what runs each layer's time loop; every choice computes
    /// the same function.
    pub fn run(
        &self,
        x: Tensor<3>,
        state: Option<Tensor<3>>,
        steps: Steps,
        recurrence: Recurrence,
    ) -> RnnOutput {
        let cell = Cell::Elman { relu: self.relu };
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
