//! Drop-in replacements for burn::nn's recurrent modules: [`Rnn`], [`Lstm`], [`Gru`] and the
//! bidirectional [`BiRnn`], [`BiLstm`], [`BiGru`], with burn::nn's constructor arguments,
//! configuration fields, forward signatures, state types ([`LstmState`] and [`RnnState`]
//! are burn::nn's own) and shapes, running on this crate's fused recurrence.
//!
//! Each is one layer, like burn::nn's; the multi-layer stacks of PyTorch's `nn.RNN`,
//! `nn.LSTM` and `nn.GRU` are [`crate::RnnStack`], [`crate::LstmStack`] and
//! [`crate::GruStack`]. The differences from burn::nn, all on purpose:
//!
//! | burn::nn | here |
//! |---|---|
//! | one `Linear` pair per gate (`GateController`) | the gates packed in one `RecurrentLayer`: `w_ih` `[D, G]`, `w_hh` `[H, G]`, `b_ih`, `b_hh` `[G]` (records are not interchangeable) |
//! | `initializer` only | `initializer` (same default, same distribution per gate block), or a framework's rule in `init` |
//! | `gate_activation`, `cell_activation`, `hidden_activation` (any) | fixed sigmoid and tanh; the `Rnn`'s `hidden_activation` tanh or ReLU |
//! | `clip`, the LSTM's `input_forget` | not available |
//! | — | `implementation`: what runs the time loop ([`Implementation`]) |

use burn::nn::Initializer;
use burn::nn::activation::ActivationConfig;
use burn::prelude::*;

pub use burn::nn::{LstmState, RnnState};

use crate::implementation::Implementation;
use crate::init::{Biases, RecurrentInit};
use crate::layer::RecurrentLayer;
use crate::ops::Cell;

/// Builds the layer of a burn::nn-style module: `bias` means both biases (as burn::nn's
/// gates, which have a bias on each side), the weights drawn by `init` when given, else by
/// `initializer`.
fn layer(
    d_input: usize,
    d_hidden: usize,
    gates: usize,
    bias: bool,
    initializer: &Initializer,
    init: &Option<RecurrentInit>,
    device: &Device,
) -> RecurrentLayer {
    let biases = if bias { Biases::Two } else { Biases::None };
    let rule = init
        .clone()
        .unwrap_or_else(|| RecurrentInit::Burn(initializer.clone()));
    RecurrentLayer::new(d_input, d_hidden, gates, biases, false, &rule, device)
}

/// Runs one layer over a whole sequence in burn::nn's conventions: `x` batch-first
/// `[B, T, D]` or, without `batch_first`, `[T, B, D]`; `reverse` reads the sequence from its
/// end (output `t` is then the state after reading steps `T - 1` down to `t`). Returns the
/// output in the layout of `x` and the final `h` (and the LSTM's `c`) `[B, H]`.
#[allow(clippy::too_many_arguments)]
fn run_layer(
    layer: &RecurrentLayer,
    cell: Cell,
    x: Tensor<3>,
    batch_first: bool,
    reverse: bool,
    h0: Option<Tensor<2>>,
    c0: Option<Tensor<2>>,
    implementation: Implementation,
) -> (Tensor<3>, Tensor<2>, Option<Tensor<2>>) {
    let x = if batch_first { x } else { x.swap_dims(0, 1) };
    let x = if reverse { x.flip([1]) } else { x };
    let [b, t, _] = x.dims();
    let h = layer.hidden_size();
    let device = x.device();
    let h0 = h0.unwrap_or_else(|| Tensor::zeros([b, h], &device));
    let c0 = (cell == Cell::Lstm).then(|| c0.unwrap_or_else(|| Tensor::zeros([b, h], &device)));
    let (out, c) = layer.run(cell, x, h0, c0, true, implementation);
    let h_n = out.clone().slice([0..b, t - 1..t, 0..h]).reshape([b, h]);
    let out = if reverse { out.flip([1]) } else { out };
    let out = if batch_first {
        out
    } else {
        out.swap_dims(0, 1)
    };
    (out, h_n, c)
}

/// The Elman cell of an activation: tanh or ReLU, the two the fused kernels run.
///
/// # Panics
///
/// For any other activation.
fn elman_cell(activation: &ActivationConfig) -> Cell {
    match activation {
        ActivationConfig::Tanh => Cell::Elman { relu: false },
        ActivationConfig::Relu => Cell::Elman { relu: true },
        other => panic!("rnn_models::Rnn runs tanh or ReLU, not {other:?}"),
    }
}

/// Configuration of an [`Rnn`]: burn::nn's `RnnConfig` fields, plus `init` and
/// `implementation`.
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
    /// What runs the time loop (default [`Implementation::Fused`]).
    #[config(default = "Implementation::Fused")]
    pub implementation: Implementation,
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
            implementation: self.implementation,
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
    pub implementation: Implementation,
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
            self.implementation,
        );
        (out, RnnState::new(h_n))
    }
}

/// Configuration of an [`Lstm`]: burn::nn's `LstmConfig` fields (but the activations, `clip`
/// and `input_forget`), plus `init` and `implementation`.
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
    /// What runs the time loop (default [`Implementation::Fused`]).
    #[config(default = "Implementation::Fused")]
    pub implementation: Implementation,
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
            implementation: self.implementation,
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
    pub implementation: Implementation,
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
            self.implementation,
        );
        // `run_layer` returns the cell state of an LSTM layer.
        let c_n = c_n.expect("an LSTM layer has a cell state");
        (out, LstmState::new(c_n, h_n))
    }
}

/// Configuration of a [`Gru`]: burn::nn's `GruConfig` fields (but the activations and
/// `clip`), plus `init` and `implementation`.
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
    /// What runs the time loop (default [`Implementation::Fused`]).
    #[config(default = "Implementation::Fused")]
    pub implementation: Implementation,
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
            implementation: self.implementation,
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
    pub implementation: Implementation,
}

impl Gru {
    fn cell(&self) -> Cell {
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
            self.implementation,
        )
        .0
    }
}

/// Two directions' outputs side by side `[.., 2H]` and their final states stacked `[2, B, H]`.
fn join(
    forward: (Tensor<3>, Tensor<2>, Option<Tensor<2>>),
    reverse: (Tensor<3>, Tensor<2>, Option<Tensor<2>>),
) -> (Tensor<3>, Tensor<3>, Option<Tensor<3>>) {
    let out = Tensor::cat(vec![forward.0, reverse.0], 2);
    let h = Tensor::stack(vec![forward.1, reverse.1], 0);
    let c = forward
        .2
        .zip(reverse.2)
        .map(|(f, r)| Tensor::stack(vec![f, r], 0));
    (out, h, c)
}

/// Direction `i` (0 forward, 1 reverse) of a `[2, B, H]` state.
fn direction(state: &Tensor<3>, i: usize) -> Tensor<2> {
    let [_, b, h] = state.dims();
    state.clone().slice([i..i + 1, 0..b, 0..h]).reshape([b, h])
}

/// Configuration of a [`BiRnn`]: burn::nn's `BiRnnConfig` fields, plus `init` and
/// `implementation`.
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
    /// What runs the time loop (default [`Implementation::Fused`]).
    #[config(default = "Implementation::Fused")]
    pub implementation: Implementation,
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
                .with_implementation(self.implementation)
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
                m.implementation,
            )
        };
        let (out, h, _) = join(run(&self.forward, 0, false), run(&self.reverse, 1, true));
        (out, RnnState::new(h))
    }
}

/// Configuration of a [`BiLstm`]: burn::nn's `BiLstmConfig` fields (but the activations,
/// `clip` and `input_forget`), plus `init` and `implementation`.
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
    /// What runs the time loop (default [`Implementation::Fused`]).
    #[config(default = "Implementation::Fused")]
    pub implementation: Implementation,
}

impl BiLstmConfig {
    /// Builds the module on `device`.
    pub fn init(&self, device: &Device) -> BiLstm {
        let direction = |reverse| {
            LstmConfig::new(self.d_input, self.d_hidden, self.bias)
                .with_initializer(self.initializer.clone())
                .with_init(self.init.clone())
                .with_implementation(self.implementation)
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
                m.implementation,
            )
        };
        let (out, h, c) = join(run(&self.forward, 0, false), run(&self.reverse, 1, true));
        // Both directions of an LSTM return cell states.
        let c = c.expect("an LSTM layer has a cell state");
        (out, LstmState::new(c, h))
    }
}

/// Configuration of a [`BiGru`]: burn::nn's `BiGruConfig` fields (but the activations and
/// `clip`), plus `init` and `implementation`.
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
    /// What runs the time loop (default [`Implementation::Fused`]).
    #[config(default = "Implementation::Fused")]
    pub implementation: Implementation,
}

impl BiGruConfig {
    /// Builds the module on `device`.
    pub fn init(&self, device: &Device) -> BiGru {
        let direction = || {
            GruConfig::new(self.d_input, self.d_hidden, self.bias)
                .with_reset_after(self.reset_after)
                .with_initializer(self.initializer.clone())
                .with_init(self.init.clone())
                .with_implementation(self.implementation)
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
                m.implementation,
            )
        };
        let (out, h, _) = join(run(&self.forward, 0, false), run(&self.reverse, 1, true));
        (out, h)
    }
}
