//! The optimisers the experiments train with ([`OptimizerConfig`]: Adam or SGD, with the
//! tutorials' parameters), and Adam in the form NeoML and Chainer implement it, beside Burn's
//! own.
//!
//! Both forms keep the same moments, `m = β1 m + (1 - β1) g` and `v = β2 v + (1 - β2) g²`,
//! and both fold the bias corrections into the step; they differ in which second moment
//! epsilon is added to:
//!
//! * corrected (Burn's `Adam`, PyTorch, MinPy): `θ -= lr · m̂ / (sqrt(v̂) + ε)`, with
//!   `m̂ = m / (1 - β1^t)`, `v̂ = v / (1 - β2^t)`;
//! * uncorrected (NeoML's `CDnnAdaptiveGradientSolver`, Chainer's `optimizers.Adam`, and the
//!   "ε̂" of Kingma & Ba's section 2): `θ -= lr · sqrt(1 - β2^t) / (1 - β1^t) · m / (sqrt(v) + ε)`.
//!
//! The second equals the first with `ε / sqrt(1 - β2^t)` in place of `ε`: about 31.6 ε at the
//! first step with β2 = 0.999, decaying to ε. Burn's `AdamConfig` takes a constant ε only,
//! so the uncorrected form is implemented here as a Burn [`Optimizer`].

use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    AdamConfig, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer, SgdConfig,
};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The optimiser, with the tutorials' parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// Adam (Kingma & Ba), bias-corrected.
    Adam {
        /// First-moment decay.
        beta1: f32,
        /// Second-moment decay.
        beta2: f32,
        /// Added to the denominator.
        epsilon: f32,
        /// Which second moment epsilon is added to (configs written before this field
        /// existed used the corrected form).
        #[serde(default)]
        epsilon_form: EpsilonForm,
    },
    /// Plain stochastic gradient descent (optionally with momentum).
    Sgd {
        /// Momentum factor; `None` or 0 for plain SGD.
        momentum: Option<f64>,
    },
}

impl OptimizerConfig {
    /// Adam with PyTorch's defaults (betas 0.9/0.999, epsilon 1e-8), which MinPy's `adam`
    /// update rule shares.
    pub fn adam() -> Self {
        OptimizerConfig::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            epsilon_form: EpsilonForm::Corrected,
        }
    }

    /// Plain SGD.
    pub fn sgd() -> Self {
        OptimizerConfig::Sgd { momentum: None }
    }

    /// The Burn optimiser. Gradient clipping is not configured here: the experiments clip by
    /// the global norm in their training step ([`crate::learn::clip`]), which Burn's per-tensor
    /// `GradientClippingConfig::Norm` does not do.
    pub fn init(&self) -> ModuleOptimizer {
        match *self {
            OptimizerConfig::Adam {
                beta1,
                beta2,
                epsilon,
                epsilon_form: EpsilonForm::Corrected,
            } => AdamConfig::new()
                .with_beta_1(beta1)
                .with_beta_2(beta2)
                .with_epsilon(epsilon)
                .init(),
            OptimizerConfig::Adam {
                beta1,
                beta2,
                epsilon,
                epsilon_form: EpsilonForm::Uncorrected,
            } => ModuleOptimizer::from(AdamUncorrectedEpsilon {
                beta1,
                beta2,
                epsilon,
            }),
            OptimizerConfig::Sgd { momentum } => {
                let momentum = momentum.filter(|m| *m != 0.0).map(|m| {
                    // PyTorch's SGD momentum has no dampening.
                    MomentumConfig::new().with_momentum(m).with_dampening(0.0)
                });
                SgdConfig::new().with_momentum(momentum).init()
            }
        }
    }

    /// `adam` or `sgd`.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Adam { .. } => "adam",
            OptimizerConfig::Sgd { .. } => "sgd",
        }
    }
}

/// Which second moment Adam's epsilon is added to (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EpsilonForm {
    /// `m̂ / (sqrt(v̂) + ε)`: PyTorch, MinPy, Burn.
    #[default]
    Corrected,
    /// `sqrt(1 - β2^t) / (1 - β1^t) · m / (sqrt(v) + ε)`: NeoML, Chainer.
    Uncorrected,
}

/// Adam with epsilon added to the square root of the uncorrected second moment.
#[derive(Clone, Debug)]
pub struct AdamUncorrectedEpsilon {
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Added to `sqrt(v)`.
    pub epsilon: f32,
}

impl Optimizer for AdamUncorrectedEpsilon {
    type State<const D: usize> = AdaptiveMomentumState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (b1, b2) = (self.beta1 as f64, self.beta2 as f64);
        let state = match state {
            Some(s) => AdaptiveMomentumState::new(
                s.time + 1,
                s.moment_1.mul_scalar(b1) + grad.clone().mul_scalar(1.0 - b1),
                s.moment_2.mul_scalar(b2) + grad.square().mul_scalar(1.0 - b2),
            ),
            None => AdaptiveMomentumState::new(
                1,
                grad.clone().mul_scalar(1.0 - b1),
                grad.square().mul_scalar(1.0 - b2),
            ),
        };
        let t = state.time as i32;
        let step = lr * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
        let delta = state
            .moment_1
            .clone()
            .div(state.moment_2.clone().sqrt().add_scalar(self.epsilon))
            .mul_scalar(step);
        (tensor - delta, Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.to_device(device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three steps on a two-element parameter, against the update written out in f64.
    #[test]
    fn uncorrected_epsilon_follows_the_formula() {
        let device = Device::flex();
        let adam = AdamUncorrectedEpsilon {
            beta1: 0.9,
            beta2: 0.99,
            epsilon: 1e-2,
        };
        let grads = [[0.5f64, -2.0], [0.1, 1.0], [-0.3, 0.25]];
        let (mut theta, mut m, mut v) = ([1.0f64, -1.0], [0.0f64; 2], [0.0f64; 2]);
        let mut param = Tensor::<1>::from_floats([1.0f32, -1.0], &device);
        let mut state = None;
        let lr = 0.1;
        for (k, g) in grads.iter().enumerate() {
            let t = (k + 1) as i32;
            for i in 0..2 {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
                let step = lr * (1.0 - 0.99f64.powi(t)).sqrt() / (1.0 - 0.9f64.powi(t));
                theta[i] -= step * m[i] / (v[i].sqrt() + 1e-2);
            }
            let g = Tensor::<1>::from_floats([g[0] as f32, g[1] as f32], &device);
            let (p, s) = adam.step(lr, param, g, state);
            param = p;
            state = s;
        }
        let got: Vec<f32> = param.into_data().try_to_vec::<f32>().unwrap();
        for i in 0..2 {
            assert!(
                (got[i] as f64 - theta[i]).abs() < 1e-6,
                "element {i}: {} against {}",
                got[i],
                theta[i]
            );
        }
        // And it is not Burn's corrected form: with this epsilon the two differ visibly.
        let corrected = burn::optim::AdamConfig::new()
            .with_beta_1(0.9)
            .with_beta_2(0.99)
            .with_epsilon(1e-2)
            .build();
        let mut param = Tensor::<1>::from_floats([1.0f32, -1.0], &device);
        let mut state = None;
        for g in grads {
            let g = Tensor::<1>::from_floats([g[0] as f32, g[1] as f32], &device);
            let (p, s) = corrected.step(lr, param, g, state);
            param = p;
            state = s;
        }
        let other: Vec<f32> = param.into_data().try_to_vec::<f32>().unwrap();
        assert!((other[0] - got[0]).abs() > 1e-4, "{other:?} vs {got:?}");
    }
}
