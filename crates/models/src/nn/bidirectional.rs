//! The bidirectional drop-ins: [`BiRnn`], [`BiLstm`], [`BiGru`] and their configurations,
//! each two one-direction modules whose outputs lie side by side.

use burn::nn::Initializer;
use burn::nn::activation::ActivationConfig;
use burn::prelude::*;

use super::{
    Gru, GruConfig, Lstm, LstmConfig, LstmState, Rnn, RnnConfig, RnnState, direction, join,
    run_layer,
};
use crate::init::RecurrentInit;
use crate::ops::Cell;
use crate::recurrence::Recurrence;

/// Configuration of a [`BiRnn`]: burn::nn's `BiRnnConfig` fields, plus `init` and
/// `recurrence`.
#[derive(Config, Debug)]
pub struct BiRnnConfig {
    /// Features per time step of the input.
    pub d_input: usize,
    /// Hidden units per direction.
    pub d_hidden: usize,
    /// Whether each direction has biases.
    pub bias: bool,
    /// How weights and biases start (default Xavier normal, gain 1, burn::nn's).
    #[config(default = "Initializer::XavierNormal{gain:1.0}")]
    pub initializer: Initializer,
    /// Input and output `[B, T, ·]` (`true`, the default) or `[T, B, ·]`.
    #[config(default = true)]
    pub batch_first: bool,
    /// The activation: `Tanh` (the default) or `Relu`.
    #[config(default = "ActivationConfig::Tanh")]
    pub hidden_activation: ActivationConfig,
    /// A framework's initialisation in place of `initializer`. Default `None`.
    #[config(default = "None")]
    pub init: Option<RecurrentInit>,
    /// What runs the time loop (default [`Recurrence::Fused`]).
    #[config(default = "Recurrence::Fused")]
    pub recurrence: Recurrence,
}

impl BiRnnConfig {
    /// Builds the module on `device`.
    ///
    /// # Panics
    ///
    /// If `hidden_activation` is neither `Tanh` nor `Relu`.
    pub fn init(&self, device: &Device) -> BiRnn {
        let direction = |reverse| {
            RnnConfig::new(self.d_input, self.d_hidden, self.bias)
                .with_initializer(self.initializer.clone())
                .with_hidden_activation(self.hidden_activation.clone())
                .with_init(self.init.clone())
                .with_recurrence(self.recurrence)
                .with_reverse(reverse)
                .init(device)
        };
        BiRnn {
            forward: direction(false),
            reverse: direction(true),
            d_hidden: self.d_hidden,
            batch_first: self.batch_first,
        }
    }
}

/// A bidirectional Elman layer; burn::nn's `BiRnn` contract.
#[derive(Module, Debug)]
pub struct BiRnn {
    /// The forward direction.
    pub forward: Rnn,
    /// The reverse direction.
    pub reverse: Rnn,
    /// Hidden units per direction.
    pub d_hidden: usize,
    /// Input and output `[B, T, ·]` (else `[T, B, ·]`).
    pub batch_first: bool,
}

impl BiRnn {
    /// Both directions' states at every step side by side, `[B, T, 2H]` (`[T, B, 2H]` without
    /// `batch_first`), and their final states `[2, B, H]` (forward first), from `state`
    /// `[2, B, H]` (zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<RnnState<3>>) -> (Tensor<3>, RnnState<3>) {
        let h0 = |i| state.as_ref().map(|s| direction(&s.hidden, i));
        let run = |m: &Rnn, i, reverse| {
            let cell = Cell::Elman { relu: m.relu };
            run_layer(
                &m.layer,
                cell,
                x.clone(),
                self.batch_first,
                reverse,
                h0(i),
                None,
                m.recurrence,
            )
        };
        let (out, h, _) = join(run(&self.forward, 0, false), run(&self.reverse, 1, true));
        (out, RnnState::new(h))
    }
}

/// Configuration of a [`BiLstm`]: burn::nn's `BiLstmConfig` fields (but the activations,
/// `clip` and `input_forget`), plus `init` and `recurrence`.
#[derive(Config, Debug)]
pub struct BiLstmConfig {
    /// Features per time step of the input.
    pub d_input: usize,
    /// Hidden units per direction.
    pub d_hidden: usize,
    /// Whether each direction has biases.
    pub bias: bool,
    /// How weights and biases start (default Xavier normal, gain 1, burn::nn's).
    #[config(default = "Initializer::XavierNormal{gain:1.0}")]
    pub initializer: Initializer,
    /// Input and output `[B, T, ·]` (`true`, the default) or `[T, B, ·]`.
    #[config(default = true)]
    pub batch_first: bool,
    /// A framework's initialisation in place of `initializer`. Default `None`.
    #[config(default = "None")]
    pub init: Option<RecurrentInit>,
    /// What runs the time loop (default [`Recurrence::Fused`]).
    #[config(default = "Recurrence::Fused")]
    pub recurrence: Recurrence,
}

impl BiLstmConfig {
    /// Builds the module on `device`.
    pub fn init(&self, device: &Device) -> BiLstm {
        let direction = |reverse| {
            LstmConfig::new(self.d_input, self.d_hidden, self.bias)
                .with_initializer(self.initializer.clone())
                .with_init(self.init.clone())
                .with_recurrence(self.recurrence)
                .with_reverse(reverse)
                .init(device)
        };
        BiLstm {
            forward: direction(false),
            reverse: direction(true),
            d_hidden: self.d_hidden,
            batch_first: self.batch_first,
        }
    }
}

/// A bidirectional LSTM layer; burn::nn's `BiLstm` contract.
///
/// ```
/// use burn::prelude::*;
/// use rnn_models::BiLstmConfig;
///
/// let device = Device::flex();
/// let bilstm = BiLstmConfig::new(3, 5, true).init(&device);
/// let (out, state) = bilstm.forward(Tensor::<3>::ones([2, 4, 3], &device), None);
/// assert_eq!(out.dims(), [2, 4, 10]); // forward, then reverse
/// assert_eq!(state.hidden.dims(), [2, 2, 5]);
/// ```
#[derive(Module, Debug)]
pub struct BiLstm {
    /// The forward direction.
    pub forward: Lstm,
    /// The reverse direction.
    pub reverse: Lstm,
    /// Hidden units per direction.
    pub d_hidden: usize,
    /// Input and output `[B, T, ·]` (else `[T, B, ·]`).
    pub batch_first: bool,
}

impl BiLstm {
    /// Both directions' hidden states at every step side by side, `[B, T, 2H]` (`[T, B, 2H]`
    /// without `batch_first`), and their final `cell` and `hidden` `[2, B, H]` (forward
    /// first), from `state` (`[2, B, H]` each; zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<LstmState<3>>) -> (Tensor<3>, LstmState<3>) {
        let run = |m: &Lstm, i, reverse| {
            let h0 = state.as_ref().map(|s| direction(&s.hidden, i));
            let c0 = state.as_ref().map(|s| direction(&s.cell, i));
            let x = x.clone();
            run_layer(
                &m.layer,
                Cell::Lstm,
                x,
                self.batch_first,
                reverse,
                h0,
                c0,
                m.recurrence,
            )
        };
        let (out, h, c) = join(run(&self.forward, 0, false), run(&self.reverse, 1, true));
        // Both directions of an LSTM return cell states.
        let c = c.expect("an LSTM layer has a cell state");
        (out, LstmState::new(c, h))
    }
}

/// Configuration of a [`BiGru`]: burn::nn's `BiGruConfig` fields (but the activations and
/// `clip`), plus `init` and `recurrence`.
#[derive(Config, Debug)]
pub struct BiGruConfig {
    /// Features per time step of the input.
    pub d_input: usize,
    /// Hidden units per direction.
    pub d_hidden: usize,
    /// Whether each direction has biases.
    pub bias: bool,
    /// The reset gate's place (see [`GruConfig::reset_after`]; default `true`).
    #[config(default = "true")]
    pub reset_after: bool,
    /// How weights and biases start (default Xavier normal, gain 1, burn::nn's).
    #[config(default = "Initializer::XavierNormal{gain:1.0}")]
    pub initializer: Initializer,
    /// Input and output `[B, T, ·]` (`true`, the default) or `[T, B, ·]`.
    #[config(default = true)]
    pub batch_first: bool,
    /// A framework's initialisation in place of `initializer`. Default `None`.
    #[config(default = "None")]
    pub init: Option<RecurrentInit>,
    /// What runs the time loop (default [`Recurrence::Fused`]).
    #[config(default = "Recurrence::Fused")]
    pub recurrence: Recurrence,
}

impl BiGruConfig {
    /// Builds the module on `device`.
    pub fn init(&self, device: &Device) -> BiGru {
        let direction = || {
            GruConfig::new(self.d_input, self.d_hidden, self.bias)
                .with_reset_after(self.reset_after)
                .with_initializer(self.initializer.clone())
                .with_init(self.init.clone())
                .with_recurrence(self.recurrence)
                .init(device)
        };
        BiGru {
            forward: direction(),
            reverse: direction(),
            d_hidden: self.d_hidden,
            batch_first: self.batch_first,
        }
    }
}

/// A bidirectional GRU layer; burn::nn's `BiGru` contract.
#[derive(Module, Debug)]
pub struct BiGru {
    /// The forward direction.
    pub forward: Gru,
    /// The reverse direction.
    pub reverse: Gru,
    /// Hidden units per direction.
    pub d_hidden: usize,
    /// Input and output `[B, T, ·]` (else `[T, B, ·]`).
    pub batch_first: bool,
}

impl BiGru {
    /// Both directions' states at every step side by side, `[B, T, 2H]` (`[T, B, 2H]` without
    /// `batch_first`), and their final states `[2, B, H]` (forward first), from `state`
    /// `[2, B, H]` (zeros when `None`).
    pub fn forward(&self, x: Tensor<3>, state: Option<Tensor<3>>) -> (Tensor<3>, Tensor<3>) {
        let run = |m: &Gru, i, reverse| {
            let h0 = state.as_ref().map(|s| direction(s, i));
            let x = x.clone();
            run_layer(
                &m.layer,
                m.cell(),
                x,
                self.batch_first,
                reverse,
                h0,
                None,
                m.recurrence,
            )
        };
        let (out, h, _) = join(run(&self.forward, 0, false), run(&self.reverse, 1, true));
        (out, h)
    }
}
