//! Weight initialisation of the recurrent layers.

use burn::module::{Initializer, Param};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// How a recurrent layer's weights and biases start.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum RecurrentInit {
    /// Every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)): what PyTorch's `nn.RNN`, `nn.LSTM`
    /// and `nn.GRU` do, and so what the PyTorch tutorials train with.
    PyTorchUniform,
    /// Xavier/Glorot-uniform weights per gate matrix (fan-in = input width, fan-out = H),
    /// zero biases: the adding-problem tutorial's initialisation.
    XavierUniform,
    /// The IRNN of Le, Jaitly and Hinton (2015): recurrent weight `scale * I`, input weights
    /// ~ N(0, input_std), biases zero. Meant for the ReLU Elman cell.
    Identity { scale: f64, input_std: f64 },
}

impl RecurrentInit {
    /// The irnn-mnist tutorial's values: identity 1.0, input weights N(0, 1e-3).
    pub const IRNN: Self = Self::Identity {
        scale: 1.0,
        input_std: 1e-3,
    };

    /// Input weights `[d_in, gates * hidden]`.
    pub(crate) fn input_weight(
        &self,
        d_in: usize,
        hidden: usize,
        gates: usize,
        device: &Device,
    ) -> Param<Tensor<2>> {
        let shape = [d_in, gates * hidden];
        match *self {
            Self::PyTorchUniform => uniform(hidden).init(shape, device),
            Self::XavierUniform => Initializer::XavierUniform { gain: 1.0 }.init_with(
                shape,
                Some(d_in),
                Some(hidden),
                device,
            ),
            Self::Identity { input_std, .. } => Initializer::Normal {
                mean: 0.0,
                std: input_std,
            }
            .init(shape, device),
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
        match *self {
            Self::PyTorchUniform => uniform(hidden).init(shape, device),
            Self::XavierUniform => Initializer::XavierUniform { gain: 1.0 }.init_with(
                shape,
                Some(hidden),
                Some(hidden),
                device,
            ),
            Self::Identity { scale, .. } => {
                let eye = Tensor::<2>::eye(hidden, device).mul_scalar(scale);
                let w = if gates == 1 {
                    eye
                } else {
                    Tensor::cat(vec![eye; gates], 1)
                };
                Param::from_tensor(w)
            }
        }
    }

    /// A bias `[gates * hidden]`.
    pub(crate) fn bias(&self, hidden: usize, gates: usize, device: &Device) -> Param<Tensor<1>> {
        match self {
            Self::PyTorchUniform => uniform(hidden).init([gates * hidden], device),
            Self::XavierUniform | Self::Identity { .. } => {
                Initializer::Zeros.init([gates * hidden], device)
            }
        }
    }
}

fn uniform(hidden: usize) -> Initializer {
    let k = 1.0 / (hidden as f64).sqrt();
    Initializer::Uniform { min: -k, max: k }
}
