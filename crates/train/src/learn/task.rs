//! The bridge between an experiment's model and Burn's `Learner`: an experiment implements
//! [`TaskModel`] (one forward pass that returns Burn's `ClassificationOutput` or
//! `RegressionOutput`), and [`Trainer`] turns it into a `TrainStep` + `InferenceStep` with the
//! backward pass and global-norm gradient clipping done here, once, for every experiment.

use burn::module::{Module, ModuleDisplay, ParamId};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::train::metric::ItemLazy;
use burn::train::{ClassificationOutput, InferenceStep, RegressionOutput, TrainOutput, TrainStep};

use crate::base::error::RunError;
use crate::config::training::ClipScope;
use crate::learn::clip::{clip_global_norm, clip_per_group, param_ids};
use crate::run::run_dir::RunDir;

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

    /// The model's layers as its framework counts them, each a group of parameters, for
    /// per-layer gradient clipping ([`crate::ClipScope::Layer`]). By default the whole model
    /// is one layer.
    fn layers(&self) -> Vec<Vec<(ParamId, usize)>> {
        vec![param_ids(self)]
    }
}

/// The float parameters of `module` (ids and ranks): one layer for [`TaskModel::layers`].
pub fn layer<M: Module>(module: &M) -> Vec<(ParamId, usize)> {
    param_ids(module)
}

/// A classifier's output from its class `logits` `[B, classes]`: the cross-entropy against
/// `targets`, averaged over the batch (PyTorch's `nn.CrossEntropyLoss`, NeoML's
/// `CCrossEntropyLossLayer`).
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> ClassificationOutput {
    let loss = CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits.clone(), targets.clone());
    ClassificationOutput::new(loss, logits, targets)
}

/// The trained `model` of `run`: its `model.bpk`, or the model of its last checkpoint when the
/// run stopped early, with which of the two it is (for the commands that use a trained model,
/// e.g. `lstm-mnist show`; `command` is that subcommand's name, for the hint).
pub fn trained_model<M: TaskModel>(
    run: &RunDir,
    model: M,
    experiment: &str,
    command: &str,
) -> Result<(M, String), RunError> {
    let cannot_load = |path: &std::path::Path, e: String| {
        RunError::Internal(format!("cannot load {}: {e}", path.display()))
    };
    if run.model_path().is_file() {
        let path = run.model_path();
        let model = model
            .try_load_file(&path)
            .map_err(|e| cannot_load(&path, e.to_string()))?;
        Ok((model, "model.bpk".to_string()))
    } else if let Some(epoch) = run.last_checkpoint() {
        let path = run.checkpoint_model_path(epoch);
        let trainer = Trainer::new(model, None, Default::default())
            .try_load_file(&path)
            .map_err(|e| cannot_load(&path, e.to_string()))?;
        Ok((trainer.model, format!("checkpoint of epoch {epoch}")))
    } else {
        Err(RunError::usage(
            format!(
                "{} has no trained model yet (no model.bpk, no checkpoint)",
                run.path().display()
            ),
            Some(format!(
                "train first: {experiment} --out DIR, then {experiment} {command} DIR"
            )),
        ))
    }
}

/// An experiment's model as Burn's Learner trains it: the forward pass of `M`, then
/// `backward`, then (when `clip_norm` is set) gradient-norm clipping, globally or per layer.
#[derive(Module, Debug)]
pub struct Trainer<M> {
    /// The experiment's model.
    pub model: M,
    /// Clipping threshold (`None`: no clipping).
    pub clip_norm: Option<f64>,
    /// Clip each of [`TaskModel::layers`] by its own norm instead of all parameters together.
    pub clip_per_layer: bool,
}

impl<M: TaskModel> Trainer<M> {
    /// Wraps `model`.
    pub fn new(model: M, clip_norm: Option<f64>, clip_scope: ClipScope) -> Self {
        Trainer {
            model,
            clip_norm,
            clip_per_layer: clip_scope == ClipScope::Layer,
        }
    }

    /// Gradients of `output`'s loss, clipped as configured.
    pub fn gradients(&self, output: &M::Output) -> GradientsParams {
        let grads = GradientsParams::from_grads(output.loss().backward(), self);
        match self.clip_norm {
            Some(max_norm) if self.clip_per_layer => {
                clip_per_group(&self.model.layers(), grads, max_norm)
            }
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
