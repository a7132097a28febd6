//! The bridge between an experiment's model and Burn's `Learner`: an experiment implements
//! [`TaskModel`] (one forward pass that returns Burn's `ClassificationOutput` or
//! `RegressionOutput`), and [`Trainer`] turns it into a `TrainStep` + `InferenceStep` with the
//! backward pass and global-norm gradient clipping done here, once, for every experiment.

use burn::module::{Module, ModuleDisplay};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::train::metric::ItemLazy;
use burn::train::{ClassificationOutput, InferenceStep, RegressionOutput, TrainOutput, TrainStep};

use crate::clip::clip_global_norm;

/// An output of a forward pass that carries the loss to minimise.
pub trait TaskOutput: ItemLazy + Send + 'static {
    /// The scalar loss (`[1]`).
    fn loss(&self) -> Tensor<1>;
}

impl TaskOutput for ClassificationOutput {
    fn loss(&self) -> Tensor<1> {
        self.loss.clone()
    }
}

impl TaskOutput for RegressionOutput {
    fn loss(&self) -> Tensor<1> {
        self.loss.clone()
    }
}

/// What an experiment's model provides: a forward pass from a batch to an output with its
/// loss. Used the same way in training (autodiff device) and evaluation.
pub trait TaskModel: Module + ModuleDisplay + Send + 'static {
    /// The data loader's batch type.
    type Batch: Send + 'static;
    /// `ClassificationOutput`, `RegressionOutput`, or any [`TaskOutput`].
    type Output: TaskOutput;

    /// Forward pass and loss.
    fn forward_step(&self, batch: Self::Batch) -> Self::Output;
}

/// An experiment's model as Burn's Learner trains it: the forward pass of `M`, then
/// `backward`, then (when `clip_norm` is set) global-norm clipping of the gradients.
#[derive(Module, Debug)]
pub struct Trainer<M> {
    /// The experiment's model.
    pub model: M,
    /// Global-norm clipping threshold (`None`: no clipping).
    pub clip_norm: Option<f64>,
}

impl<M: TaskModel> Trainer<M> {
    /// Wraps `model`.
    pub fn new(model: M, clip_norm: Option<f64>) -> Self {
        Trainer { model, clip_norm }
    }

    /// Gradients of `output`'s loss, clipped as configured.
    pub fn gradients(&self, output: &M::Output) -> GradientsParams {
        let grads = GradientsParams::from_grads(output.loss().backward(), self);
        match self.clip_norm {
            Some(max_norm) => clip_global_norm(self, grads, max_norm).0,
            None => grads,
        }
    }
}

impl<M: TaskModel> TrainStep for Trainer<M> {
    type Input = M::Batch;
    type Output = M::Output;

    fn step(&self, batch: M::Batch) -> TrainOutput<M::Output> {
        let output = self.model.forward_step(batch);
        let grads = self.gradients(&output);
        TrainOutput {
            grads,
            item: output,
        }
    }
}

impl<M: TaskModel> InferenceStep for Trainer<M> {
    type Input = M::Batch;
    type Output = M::Output;

    fn step(&self, batch: M::Batch) -> M::Output {
        self.model.forward_step(batch)
    }
}
