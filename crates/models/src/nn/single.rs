//! The one-direction drop-ins: [`Rnn`], [`Lstm`], [`Gru`] and their configurations.

use burn::nn::Initializer;
use burn::nn::activation::ActivationConfig;
use burn::prelude::*;

use super::{LstmState, RnnState, elman_cell, layer, run_layer};
use crate::init::RecurrentInit;
use crate::layer::RecurrentLayer;
use crate::ops::Cell;
use crate::recurrence::Recurrence;

/// Configuration of an [`Rnn`]: burn::nn's `RnnConfig` fields, plus `init` and
/// `recurrence`.
#[derive(Config, Debug)]
pub struct RnnConfig {
    /// Features per time step of the input.
    pub d_input: usize,
    /// Hidden units.
    pub d_hidden: usize,
    /// Whether the layer has biases (`b_ih` and `b_hh`).
    pub bias: bool,
    /// How weights and biases start, per gate block as in burn::nn (default Xavier normal,
    /// gain 1, burn::nn's).
    #[config(default = "Initializer::XavierNormal{gain:1.0}")]
    pub initializer: Initializer,
    /// Input and output `[B, T, ·]` (`true`, the default) or `[T, B, ·]`.
    #[config(default = true)]
    pub batch_first: bool,
    /// Read the sequence from its last step to its first.
    #[config(default = false)]
    pub reverse: bool,
    /// The activation: `Tanh` (the default) or `Relu`.
    #[config(default = "ActivationConfig::Tanh")]
    pub hidden_activation: ActivationConfig,
    /// A framework's initialisation (e.g. [`RecurrentInit::IRNN`]) in place of
    /// `initializer`. Default `None`.
    #[config(default = "None")]
    pub init: Option<RecurrentInit>,
    /// What runs the time loop (default [`Recurrence::Fused`]).
    #[config(default = "Recurrence::Fused")]
    pub recurrence: Recurrence,
}

impl RnnConfig {
    /// Builds the module on `device`.
    ///
    /// # Panics
    ///
    /// If `hidden_activation` is neither `Tanh` nor `Relu`.
    pub fn init(&self, device: &Device) -> Rnn {
        let cell = elman_cell(&self.hidden_activation);
        Rnn {
            layer: layer(
                self.d_input,
                self.d_hidden,
                1,
                self.bias,
                &self.initializer,
                &self.init,
                device,
            ),
            d_hidden: self.d_hidden,
            batch_first: self.batch_first,
            reverse: self.reverse,
            relu: cell == Cell::Elman { relu: true },
            recurrence: self.recurrence,
        }
    }
}

/// One Elman layer, `h_t = act(x_t · w_ih + b_ih + h_{t-1} · w_hh + b_hh)`, `act` tanh or
/// ReLU; burn::nn's `Rnn` contract. Weights: `layer.w_ih` `[D, H]`, `layer.w_hh` `[H, H]`.
///
/// ```
/// use burn::nn::activation::ActivationConfig;
/// use burn::prelude::*;
/// use rnn_models::RnnConfig;
///
/// let device = Device::flex();
/// let rnn = RnnConfig::new(3, 5, true)
///     .with_hidden_activation(ActivationConfig::Relu)
///     .init(&device);
/// let x = Tensor::<3>::ones([2, 4, 3], &device); // [B, T, D]
/// let (out, state) = rnn.forward(x, None);
/// assert_eq!(out.dims(), [2, 4, 5]);
/// assert_eq!(state.hidden.dims(), [2, 5]);
/// ```
#[derive(Module, Debug)]
pub struct Rnn {
    /// The weights and biases.
    pub layer: RecurrentLayer,
    /// Hidden units.
    pub d_hidden: usize,
    /// Input and output `[B, T, ·]` (else `[T, B, ·]`).
    pub batch_first: bool,
    /// Reads the sequence from its end.
    pub reverse: bool,
    /// ReLU instead of tanh.
    pub relu: bool,
    /// What runs the time loop.
    #[module(skip)]
    pub recurrence: Recurrence,
}

impl Rnn {
    /// The hidden state at every step `[B, T, H]` (`[T, B, H]` without `batch_first`) and the
    /// final state `[B, H]`, from `state` `[B, H]` (zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<RnnState<2>>) -> (Tensor<3>, RnnState<2>) {
        let cell = Cell::Elman { relu: self.relu };
        let h0 = state.map(|s| s.hidden);
        let (out, h_n, _) = run_layer(
            &self.layer,
            cell,
            x,
            self.batch_first,
            self.reverse,
            h0,
            None,
            self.recurrence,
        );
        (out, RnnState::new(h_n))
    }
}

/// Configuration of an [`Lstm`]: burn::nn's `LstmConfig` fields (but the activations, `clip`
/// and `input_forget`), plus `init` and `recurrence`.
#[derive(Config, Debug)]
pub struct LstmConfig {
    /// Features per time step of the input.
    pub d_input: usize,
    /// Hidden units (the cell state has as many).
    pub d_hidden: usize,
    /// Whether the layer has biases (`b_ih` and `b_hh`).
    pub bias: bool,
    /// How weights and biases start, per gate block as in burn::nn (default Xavier normal,
    /// gain 1, burn::nn's).
    #[config(default = "Initializer::XavierNormal{gain:1.0}")]
    pub initializer: Initializer,
    /// Input and output `[B, T, ·]` (`true`, the default) or `[T, B, ·]`.
    #[config(default = true)]
    pub batch_first: bool,
    /// Read the sequence from its last step to its first.
    #[config(default = false)]
    pub reverse: bool,
    /// A framework's initialisation (e.g. [`RecurrentInit::PyTorchUniform`]) in place of
    /// `initializer`. Default `None`.
    #[config(default = "None")]
    pub init: Option<RecurrentInit>,
    /// What runs the time loop (default [`Recurrence::Fused`]).
    #[config(default = "Recurrence::Fused")]
    pub recurrence: Recurrence,
}

impl LstmConfig {
    /// Builds the module on `device`.
    pub fn init(&self, device: &Device) -> Lstm {
        Lstm {
            layer: layer(
                self.d_input,
                self.d_hidden,
                4,
                self.bias,
                &self.initializer,
                &self.init,
                device,
            ),
            d_hidden: self.d_hidden,
            batch_first: self.batch_first,
            reverse: self.reverse,
            recurrence: self.recurrence,
        }
    }
}

/// One LSTM layer (gates i, f, g, o: `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`);
/// burn::nn's `Lstm` contract. Weights: `layer.w_ih` `[D, 4H]`, `layer.w_hh` `[H, 4H]`,
/// packed i, f, g, o.
///
/// ```
/// use burn::prelude::*;
/// use rnn_models::{LstmConfig, LstmState};
///
/// let device = Device::flex();
/// let lstm = LstmConfig::new(3, 5, true).init(&device);
/// let x = Tensor::<3>::ones([2, 4, 3], &device); // [B, T, D]
/// let (out, state) = lstm.forward(x.clone(), None);
/// assert_eq!(out.dims(), [2, 4, 5]);
/// // Carry the state on to the next piece of the sequence.
/// let (_, next): (_, LstmState<2>) = lstm.forward(x, Some(state));
/// assert_eq!(next.cell.dims(), [2, 5]);
/// ```
#[derive(Module, Debug)]
pub struct Lstm {
    /// The weights and biases.
    pub layer: RecurrentLayer,
    /// Hidden units.
    pub d_hidden: usize,
    /// Input and output `[B, T, ·]` (else `[T, B, ·]`).
    pub batch_first: bool,
    /// Reads the sequence from its end.
    pub reverse: bool,
    /// What runs the time loop.
    #[module(skip)]
    pub recurrence: Recurrence,
}

impl Lstm {
    /// The hidden state at every step `[B, T, H]` (`[T, B, H]` without `batch_first`) and the
    /// final `cell` and `hidden` `[B, H]`, from `state` (`[B, H]` each; zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<LstmState<2>>) -> (Tensor<3>, LstmState<2>) {
        let (c0, h0) = state.map(|s| (s.cell, s.hidden)).unzip();
        let (out, h_n, c_n) = run_layer(
            &self.layer,
            Cell::Lstm,
            x,
            self.batch_first,
            self.reverse,
            h0,
            c0,
            self.recurrence,
        );
        // `run_layer` returns the cell state of an LSTM layer.
        let c_n = c_n.expect("an LSTM layer has a cell state");
        (out, LstmState::new(c_n, h_n))
    }
}

/// Configuration of a [`Gru`]: burn::nn's `GruConfig` fields (but the activations and
/// `clip`), plus `init` and `recurrence`.
#[derive(Config, Debug)]
pub struct GruConfig {
    /// Features per time step of the input.
    pub d_input: usize,
    /// Hidden units.
    pub d_hidden: usize,
    /// Whether the layer has biases (`b_ih` and `b_hh`).
    pub bias: bool,
    /// `true` (the default, PyTorch's and cuDNN's form): the reset gate multiplies
    /// `h · w_hn + b_hn`; `false`: it multiplies `h` before the product.
    #[config(default = "true")]
    pub reset_after: bool,
    /// How weights and biases start, per gate block as in burn::nn (default Xavier normal,
    /// gain 1, burn::nn's).
    #[config(default = "Initializer::XavierNormal{gain:1.0}")]
    pub initializer: Initializer,
    /// A framework's initialisation in place of `initializer`. Default `None`.
    #[config(default = "None")]
    pub init: Option<RecurrentInit>,
    /// What runs the time loop (default [`Recurrence::Fused`]).
    #[config(default = "Recurrence::Fused")]
    pub recurrence: Recurrence,
}

impl GruConfig {
    /// Builds the module on `device`.
    pub fn init(&self, device: &Device) -> Gru {
        Gru {
            layer: layer(
                self.d_input,
                self.d_hidden,
                3,
                self.bias,
                &self.initializer,
                &self.init,
                device,
            ),
            d_hidden: self.d_hidden,
            reset_after: self.reset_after,
            recurrence: self.recurrence,
        }
    }
}

/// One GRU layer (gates r, z, n; `h' = (1 - z) ⊙ n + z ⊙ h`); burn::nn's `Gru` contract:
/// batch-first, the output only. Weights: `layer.w_ih` `[D, 3H]`, `layer.w_hh` `[H, 3H]`,
/// packed r, z, n.
///
/// ```
/// use burn::prelude::*;
/// use rnn_models::GruConfig;
///
/// let device = Device::flex();
/// let gru = GruConfig::new(3, 5, true).init(&device);
/// let x = Tensor::<3>::ones([2, 4, 3], &device);
/// assert_eq!(gru.forward(x, None).dims(), [2, 4, 5]);
/// ```
#[derive(Module, Debug)]
pub struct Gru {
    /// The weights and biases.
    pub layer: RecurrentLayer,
    /// Hidden units.
    pub d_hidden: usize,
    /// The reset gate applies after the recurrent product (see [`GruConfig::reset_after`]).
    pub reset_after: bool,
    /// What runs the time loop.
    #[module(skip)]
    pub recurrence: Recurrence,
}

impl Gru {
    pub(super) fn cell(&self) -> Cell {
        Cell::Gru {
            reset_after: self.reset_after,
        }
    }

    /// The hidden state at every step `[B, T, H]` from `state` `[B, H]` (zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<Tensor<2>>) -> Tensor<3> {
        let cell = self.cell();
        run_layer(
            &self.layer,
            cell,
            x,
            true,
            false,
            state,
            None,
            self.recurrence,
        )
        .0
    }
}
