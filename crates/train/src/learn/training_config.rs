//! The settings every experiment shares ([`TrainingConfig`], [`OptimizerConfig`]) and how a
//! resumed run reconciles its saved settings with the command line ([`reconcile`]).

use std::collections::BTreeSet;
use std::path::Path;

use burn::config::Config;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::limits::{MAX_EPOCHS, MAX_LR, MAX_SAMPLES, check_count};
use crate::cli::run_error::RunError;
use crate::device::backend_choice::BackendChoice;
use crate::learn::optimizer::{AdamUncorrectedEpsilon, EpsilonForm};

/// The loop around the model: how long, how fast, on what, from which seed.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per optimisation step.
    pub batch_size: usize,
    /// Learning rate (constant).
    pub lr: f64,
    /// Where tensors live (`--backend`).
    #[config(default = "BackendChoice::Flex")]
    pub backend: BackendChoice,
    /// Seeds the backend's random generator (weight initialisation) and the data shuffling.
    #[config(default = 42)]
    pub seed: u64,
    /// Whether the training set is reshuffled every epoch (the order of epoch `e` depends only
    /// on `seed` and `e`, so a resumed run sees the same order as an uninterrupted one).
    #[config(default = true)]
    pub shuffle: bool,
    /// Whether a shuffled training set gets a new order every epoch; `false` draws one order
    /// and walks it every epoch (MinPy's `NDArrayIter` shuffles once, in its constructor).
    #[config(default = true)]
    pub reshuffle: bool,
    /// Train on the first N training samples only (quick runs).
    pub limit_train: Option<usize>,
    /// Evaluate on the first N test samples only (quick runs).
    pub limit_test: Option<usize>,
    /// Rescale the gradient so that its L2 norm is at most this (over all parameters, or over
    /// each layer's: [`TrainingConfig::clip_scope`]).
    pub clip_norm: Option<f64>,
    /// What `clip_norm` bounds: the norm over all parameters together (PyTorch's
    /// `clip_grad_norm_`) or each layer's own (NeoML's solver).
    #[config(default = "ClipScope::Global")]
    pub clip_scope: ClipScope,
}

/// What gradient-norm clipping bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClipScope {
    /// The norm of all parameters' gradients together.
    #[default]
    Global,
    /// Each layer's norm on its own (the layers a model names in
    /// [`crate::TaskModel::layers`]), as NeoML's `CDnnSolver` clips.
    Layer,
}

impl TrainingConfig {
    /// Checks values that clap cannot (configs built in code, or read from a run directory).
    pub fn validate(&self) -> Result<(), RunError> {
        let positive = |name: &str, v: usize| {
            if v == 0 {
                Err(RunError::usage(
                    format!("--{name} must be at least 1, got 0"),
                    None,
                ))
            } else {
                Ok(())
            }
        };
        positive("epochs", self.epochs)?;
        if self.epochs > MAX_EPOCHS {
            return Err(RunError::usage(
                format!("--epochs must be at most {MAX_EPOCHS}"),
                None,
            ));
        }
        positive("batch-size", self.batch_size)?;
        check_count("batch_size", self.batch_size, MAX_SAMPLES)?;
        if let Some(n) = self.limit_train {
            positive("limit-train", n)?;
        }
        if let Some(n) = self.limit_test {
            positive("limit-test", n)?;
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= MAX_LR) {
            return Err(RunError::usage(
                format!(
                    "--lr must be a positive number up to {MAX_LR}, got {}",
                    self.lr
                ),
                None,
            ));
        }
        if let Some(c) = self.clip_norm
            && !(c.is_finite() && c > 0.0)
        {
            return Err(RunError::usage(
                format!("--clip-norm must be a positive number, got {c}"),
                Some(
                    "omit --clip-norm (or pass --no-clip where offered) to train unclipped".into(),
                ),
            ));
        }
        Ok(())
    }
}

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

/// Settings a resumed run may change: how many epochs in total, and where/how it runs.
pub const RESUMABLE_OVERRIDES: &[&str] = &["epochs", "backend"];

/// The configuration a resumed run continues with: the `saved` one, except where the user
/// passed a flag explicitly. Flags in [`RESUMABLE_OVERRIDES`] win; any other explicit flag
/// that asks for a value different from the saved one is refused, because it would silently
/// mix two experiments in one run directory.
///
/// Flags are matched to configuration fields by name (clap's argument id, i.e. the field name
/// of the CLI struct, is the configuration field's name), at any nesting depth.
pub fn reconcile<C>(saved: &C, requested: &C, explicit: &BTreeSet<String>) -> Result<C, String>
where
    C: Serialize + for<'de> Deserialize<'de>,
{
    let mut merged = serde_json::to_value(saved).map_err(|e| e.to_string())?;
    let requested = serde_json::to_value(requested).map_err(|e| e.to_string())?;
    let mut conflicts = Vec::new();
    merge(&mut merged, &requested, explicit, &mut conflicts);
    if !conflicts.is_empty() {
        return Err(conflicts.join("; "));
    }
    serde_json::from_value(merged).map_err(|e| e.to_string())
}

/// [`reconcile`] for a resumed run in `dir`: a refusal is the error `--resume` reports.
pub fn reconcile_run<C>(
    saved: &C,
    requested: &C,
    explicit: &BTreeSet<String>,
    dir: &Path,
) -> Result<C, RunError>
where
    C: Serialize + for<'de> Deserialize<'de>,
{
    reconcile(saved, requested, explicit).map_err(|conflicts| RunError::Resume {
        dir: dir.to_path_buf(),
        message: format!("the command line changes the run's settings: {conflicts}"),
        hint: Some(
            "drop those flags to continue the run as it was configured (only --epochs and \
             --backend may change), or start a new run with --out"
                .into(),
        ),
    })
}

fn merge(saved: &mut Value, requested: &Value, explicit: &BTreeSet<String>, out: &mut Vec<String>) {
    let (Value::Object(saved), Value::Object(requested)) = (saved, requested) else {
        return;
    };
    for (key, want) in requested {
        let Some(have) = saved.get_mut(key) else {
            continue;
        };
        if have == want {
            continue;
        }
        if !explicit.contains(key) {
            // Not on the command line: a nested object may still hold explicit leaves.
            if have.is_object() && want.is_object() {
                merge(have, want, explicit, out);
            }
            continue;
        }
        if RESUMABLE_OVERRIDES.contains(&key.as_str()) {
            *have = want.clone();
        } else {
            out.push(format!(
                "--{} {} differs from the run's {}",
                key.replace('_', "-"),
                show(want),
                show(have)
            ));
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TrainingConfig {
        TrainingConfig::new(10, 100, 0.1).with_limit_train(Some(300))
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn resume_keeps_saved_values_that_were_not_given() {
        let saved = cfg();
        let requested = TrainingConfig::new(10, 100, 0.1); // no --limit-train this time
        let merged = reconcile(&saved, &requested, &set(&[])).unwrap();
        assert_eq!(merged.limit_train, Some(300));
    }

    #[test]
    fn resume_accepts_more_epochs_and_another_backend() {
        let saved = cfg();
        let mut requested = cfg().with_backend(BackendChoice::Ndarray);
        requested.epochs = 20;
        let merged = reconcile(&saved, &requested, &set(&["epochs", "backend"])).unwrap();
        assert_eq!(merged.epochs, 20);
        assert_eq!(merged.backend, BackendChoice::Ndarray);
    }

    #[test]
    fn resume_refuses_a_different_explicit_value() {
        let saved = cfg();
        let mut requested = cfg();
        requested.lr = 0.5;
        let err = reconcile(&saved, &requested, &set(&["lr"])).unwrap_err();
        assert_eq!(err, "--lr 0.5 differs from the run's 0.1");
        // The same value given explicitly is fine.
        reconcile(&saved, &cfg(), &set(&["lr"])).unwrap();
    }

    #[test]
    fn validation_names_the_flag() {
        let err = TrainingConfig::new(1, 0, 0.1).validate().unwrap_err();
        assert_eq!(err.to_string(), "--batch-size must be at least 1, got 0");
        let err = TrainingConfig::new(0, 1, 0.1).validate().unwrap_err();
        assert!(err.to_string().starts_with("--epochs"));
        let err = TrainingConfig::new(1, 1, f64::NAN).validate().unwrap_err();
        assert!(err.to_string().starts_with("--lr"));
    }
}
