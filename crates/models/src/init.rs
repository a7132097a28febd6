//! Weight initialisation of the recurrent layers, one rule per framework whose tutorial the
//! project reproduces, and which biases a layer keeps.

use burn::module::{Initializer, Param};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// How a recurrent layer's weights and biases start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RecurrentInit {
    /// Every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)): what PyTorch's `nn.RNN`, `nn.LSTM`
    /// and `nn.GRU` do (`reset_parameters`), and so what the PyTorch tutorials train with.
    PyTorchUniform,
    /// Every weight and bias, `w` of shape `[rows, cols]`, ~ N(0, 6 / (rows + cols)), and a
    /// bias of length `n` ~ N(0, 6 / n): MinPy's `xavier` rule (`minpy/nn/init.py`: a standard
    /// normal times `sqrt(6 / (fan_in + fan_out))`, `fan_out = shape[0]`, `fan_in` the product
    /// of the other dimensions, 0 for a vector), which its `Solver` applies to every parameter
    /// without an `init_rule` of its own — the adding-problem tutorial's biases included.
    MinPyXavier,
    /// Weights ~ N(0, 1/fan_in) (LeCun normal, fan_in = the weight's input width), biases
    /// zero: Chainer's `L.Linear` defaults, which the simple-sequence tutorial's Elman layers
    /// are built from.
    LeCunNormal,
    /// Every weight and bias ~ U(-bound, bound): what Chainer's `RNNForLM` does to all of its
    /// parameters after building them.
    Uniform {
        /// Half-width of the interval.
        bound: f64,
    },
    /// burn::nn's rule: each gate group's block of every weight and bias drawn by
    /// `initializer` with that block's own fan-in and fan-out, as burn::nn's recurrent
    /// modules draw the `Linear` layers of their gates (a weight block `[in, H]`: fan-in `in`,
    /// fan-out `H`; a bias block `[H]`: the fan-in of the weight beside it).
    Burn(Initializer),
    /// The IRNN of Le, Jaitly and Hinton (2015), as NeoML's `CIrnnLayer` starts it: recurrent
    /// weight `scale * I`, input weights ~ N(0, input_std), both free terms zero. Meant for the
    /// ReLU Elman cell. A layer of several gate groups gets `scale * I` in each group's
    /// block of `w_hh`.
    Identity {
        /// The recurrent weight's diagonal.
        scale: f64,
        /// Standard deviation of the input weights.
        input_std: f64,
    },
    /// Input weights ~ N(0, input_std), recurrent weights ~ N(0, recurrent_std), biases
    /// zero: the Gaussian start the IRNN paper compares the identity start with (a recurrent
    /// standard deviation of `1/sqrt(H)` gives a spectral radius near 1).
    Normal {
        /// Standard deviation of the input weights.
        input_std: f64,
        /// Standard deviation of the recurrent weights.
        recurrent_std: f64,
    },
}

impl RecurrentInit {
    /// The irnn-mnist tutorial's values: identity 1.0, input weights N(0, 1e-3) (standard
    /// deviation 1e-3).
    pub const IRNN: Self = Self::Identity {
        scale: 1.0,
        input_std: 1e-3,
    };

    /// Input weights `[d_in, gates * hidden]` of a layer with `hidden` units.
    pub(crate) fn input_weight(
        &self,
        d_in: usize,
        hidden: usize,
        gates: usize,
        device: &Device,
    ) -> Param<Tensor<2>> {
        let shape = [d_in, gates * hidden];
        match self {
            Self::Identity { input_std, .. } | Self::Normal { input_std, .. } => {
                normal(*input_std).init(shape, device)
            }
            Self::Burn(init) => per_gate(gates, |_| {
                init.init_with([d_in, hidden], Some(d_in), Some(hidden), device)
            }),
            _ => self.weight(shape, hidden, device),
        }
    }

    /// Recurrent weights `[hidden, gates * hidden]`.
    pub(crate) fn recurrent_weight(
        &self,
        hidden: usize,
        gates: usize,
        device: &Device,
    ) -> Param<Tensor<2>> {
        let shape = [hidden, gates * hidden];
        match self {
            Self::Burn(init) => per_gate(gates, |_| {
                init.init_with([hidden, hidden], Some(hidden), Some(hidden), device)
            }),
            Self::Identity { scale, .. } => {
                let eye = Tensor::<2>::eye(hidden, device).mul_scalar(*scale);
                let w = if gates == 1 {
                    eye
                } else {
                    Tensor::cat(vec![eye; gates], 1)
                };
                Param::from_tensor(w)
            }
            Self::Normal { recurrent_std, .. } => normal(*recurrent_std).init(shape, device),
            _ => self.weight(shape, hidden, device),
        }
    }

    /// A weight `[rows, cols]` (applied as `x · w`, so `rows` is its input width) of a layer
    /// with `hidden` units, by the rules that do not depend on the weight's role.
    fn weight(&self, shape: [usize; 2], hidden: usize, device: &Device) -> Param<Tensor<2>> {
        let [rows, cols] = shape;
        let init = match *self {
            Self::PyTorchUniform => uniform(1.0 / (hidden as f64).sqrt()),
            Self::MinPyXavier => normal((6.0 / (rows + cols) as f64).sqrt()),
            Self::LeCunNormal => normal((1.0 / rows as f64).sqrt()),
            Self::Uniform { bound } => uniform(bound),
            // These rules are matched before this function and never reach it.
            Self::Identity { .. } | Self::Normal { .. } | Self::Burn(_) => {
                unreachable!("the identity, normal and burn rules set weights by role")
            }
        };
        init.init(shape, device)
    }

    /// A bias `[gates * hidden]` beside a weight of fan-in `fan_in`.
    pub(crate) fn bias(
        &self,
        hidden: usize,
        gates: usize,
        fan_in: usize,
        device: &Device,
    ) -> Param<Tensor<1>> {
        let n = gates * hidden;
        let init = match self {
            Self::Burn(init) => {
                return per_gate(gates, |_| {
                    init.init_with([hidden], Some(fan_in), Some(hidden), device)
                });
            }
            Self::PyTorchUniform => uniform(1.0 / (hidden as f64).sqrt()),
            Self::MinPyXavier => normal((6.0 / n as f64).sqrt()),
            Self::Uniform { bound } => uniform(*bound),
            Self::LeCunNormal | Self::Identity { .. } | Self::Normal { .. } => Initializer::Zeros,
        };
        init.init([n], device)
    }
}

/// Which bias vectors each layer keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Biases {
    /// `b_ih` and `b_hh`, one on each side of the cell, as PyTorch's `nn.RNN`/`nn.LSTM`/
    /// `nn.GRU` and NeoML's IRNN (a free term in each of its two fully-connected layers) have.
    #[default]
    Two,
    /// One bias per layer (`b_ih` only), as MinPy's step functions and Chainer's `L.LSTM`
    /// (whose lateral connection has none) have.
    One,
    /// No bias.
    None,
}

impl Biases {
    /// How many bias vectors a layer has.
    pub fn count(self) -> usize {
        match self {
            Biases::Two => 2,
            Biases::One => 1,
            Biases::None => 0,
        }
    }
}

/// `gates` blocks drawn one by one and laid side by side along the last axis.
fn per_gate<const D: usize>(
    gates: usize,
    block: impl Fn(usize) -> Param<Tensor<D>>,
) -> Param<Tensor<D>> {
    let blocks: Vec<Tensor<D>> = (0..gates).map(|g| block(g).val()).collect();
    // Detached: the blocks are parameters of their own, the packed tensor must be a leaf.
    Param::from_tensor(Tensor::cat(blocks, D - 1).detach())
}

fn uniform(bound: f64) -> Initializer {
    Initializer::Uniform {
        min: -bound,
        max: bound,
    }
}

fn normal(std: f64) -> Initializer {
    Initializer::Normal { mean: 0.0, std }
}
