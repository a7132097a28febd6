//! The starts of the four networks that Le, Jaitly & Hinton (2015), "A Simple Way to
//! Initialize Recurrent Networks of Rectified Linear Units", compare: the IRNN, the ReLU and
//! tanh RNNs with a Gaussian start, and the LSTM. The adding problem and pixel MNIST use the
//! same four, so they are written once here.
//!
//! From the paper: the IRNN's recurrent weights start at the identity, its biases at zero;
//! the other plain RNNs start from a Gaussian; the LSTM has a forget gate whose initial bias
//! is searched. Chosen here, where the paper is silent: input weights N(0, 0.001) for every
//! Elman network (the IRNN's, so that only the recurrent start differs), recurrent
//! N(0, 1/H) for the Gaussian start (a spectral radius near 1), one bias per layer, and the
//! LSTM's other tensors PyTorch's U(-1/sqrt(H), 1/sqrt(H)).

use crate::elman::{ElmanStackConfig, Nonlinearity};
use crate::init::{Biases, RecurrentInit};
use crate::lstm::LstmStackConfig;

/// Standard deviation of every Elman network's input weights.
pub const INPUT_STD: f64 = 1e-3;

/// The IRNN: ReLU, recurrent weights `scale * I`, input weights N(0, `input_std`), one zero
/// bias.
pub fn irnn(d_input: usize, hidden: usize, scale: f64, input_std: f64) -> ElmanStackConfig {
    ElmanStackConfig::new(d_input, hidden)
        .with_nonlinearity(Nonlinearity::Relu)
        .with_biases(Biases::One)
        .with_init(RecurrentInit::Identity { scale, input_std })
}

/// A plain RNN of `nonlinearity` with the Gaussian start: recurrent weights N(0, 1/H), input
/// weights N(0, `input_std`), one zero bias (the paper's "RNN + ReLU" and "RNN + tanh").
pub fn gaussian(
    d_input: usize,
    hidden: usize,
    nonlinearity: Nonlinearity,
    input_std: f64,
) -> ElmanStackConfig {
    ElmanStackConfig::new(d_input, hidden)
        .with_nonlinearity(nonlinearity)
        .with_biases(Biases::One)
        .with_init(RecurrentInit::Normal {
            input_std,
            recurrent_std: 1.0 / (hidden as f64).sqrt(),
        })
}

/// The LSTM: one bias per layer, PyTorch's uniform start, the forget gate's bias set to
/// `forget_bias` (`None`: drawn with the rest).
pub fn lstm(d_input: usize, hidden: usize, forget_bias: Option<f64>) -> LstmStackConfig {
    LstmStackConfig::new(d_input, hidden)
        .with_biases(Biases::One)
        .with_init(RecurrentInit::PyTorchUniform)
        .with_forget_bias(forget_bias)
}
