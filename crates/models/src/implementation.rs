//! Which code runs a layer's time loop: chosen per module, overridable process-wide, and
//! resolved per call against the backend the tensors live on.

use std::sync::atomic::{AtomicU8, Ordering};

use burn::backend::DispatchDevice;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The implementation of a layer's time loop. Every choice computes the same function; they
/// differ in speed, memory and how the gradient is obtained. A module keeps its choice
/// (`with_implementation`); [`set_implementation_override`] replaces it process-wide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Implementation {
    /// One custom autodiff operation per layer whose backward pass is hand-written
    /// backpropagation through time, linear in the sequence length. Inside it the backend's
    /// kernel runs where there is one (flex and ndarray on `f32`: the CPU kernel; wgpu, CUDA
    /// and the other CubeCL runtimes: the CubeCL kernel, when the layer fits in shared
    /// memory), the backend-generic loop where not. On a backend the operation is not
    /// registered for (LibTorch, remote, ...), the layer runs as [`Implementation::TensorOps`].
    #[default]
    Fused,
    /// The same custom operation, always running the backend-generic loop inside: the
    /// reference the backend kernels are tested against.
    Generic,
    /// Plain Burn tensor operations step by step, differentiated by Burn's autodiff. Runs on
    /// every backend; its backward pass is quadratic in the sequence length (each step's
    /// slice backward writes a full-length gradient). The reference for the custom
    /// operation's backward pass, and the fallback where the operation is not registered.
    TensorOps,
}

impl Implementation {
    /// The names the command-line flags take, in the order of the variants.
    pub const NAMES: [&'static str; 3] = ["fused", "generic", "tensor-ops"];

    const ALL: [Self; 3] = [Self::Fused, Self::Generic, Self::TensorOps];

    /// This choice, or the process-wide override when one is set.
    pub fn effective(self) -> Self {
        implementation_override().unwrap_or(self)
    }

    /// What runs for this choice on a backend of `kind` (after the override).
    pub(crate) fn route(self, kind: BackendKind) -> Route {
        match (self.effective(), kind) {
            (Self::TensorOps, _) | (_, BackendKind::Other) => Route::TensorOps,
            (Self::Fused, _) => Route::Op { kernel: true },
            (Self::Generic, _) => Route::Op { kernel: false },
        }
    }
}

impl std::fmt::Display for Implementation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = Self::ALL.iter().position(|v| v == self).unwrap_or(0);
        f.write_str(Self::NAMES[i])
    }
}

impl std::str::FromStr for Implementation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| {
                format!(
                    "unknown implementation '{s}': expected one of {}",
                    Self::NAMES.join(", ")
                )
            })
    }
}

/// 0: no override; `i + 1`: `Implementation::ALL[i]`.
static OVERRIDE: AtomicU8 = AtomicU8::new(0);

/// Replaces every module's [`Implementation`] from now on, process-wide (`None` restores each
/// module's own). A layer's backward pass always follows what its forward pass ran. The
/// experiments set it from `--recurrence`.
pub fn set_implementation_override(implementation: Option<Implementation>) {
    let code = implementation.map_or(0, |i| {
        Implementation::ALL
            .iter()
            .position(|v| *v == i)
            .unwrap_or(0) as u8
            + 1
    });
    OVERRIDE.store(code, Ordering::Relaxed);
}

/// The override set by [`set_implementation_override`], if any.
pub fn implementation_override() -> Option<Implementation> {
    match OVERRIDE.load(Ordering::Relaxed) {
        0 => None,
        code => Implementation::ALL.get(code as usize - 1).copied(),
    }
}

/// The backends the custom operation is registered for, and every other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackendKind {
    /// Flex or ndarray: host memory, the CPU kernel.
    #[cfg_attr(not(any(feature = "flex", feature = "ndarray")), allow(dead_code))]
    Host,
    /// A CubeCL runtime (wgpu, CUDA, ...): the CubeCL kernel.
    #[cfg_attr(not(feature = "cube"), allow(dead_code))]
    Cube,
    /// A backend without the operation (LibTorch, remote, capture, ...).
    Other,
}

impl BackendKind {
    /// The kind of backend `device` belongs to (an autodiff device: the one it wraps).
    pub(crate) fn of(device: &Device) -> Self {
        // The operation is registered for exactly the backends this crate's features enable
        // (see `ops::RecurrenceOps`); the same features gate the arms here.
        #[allow(unreachable_patterns)]
        match device.as_dispatch().clone().inner() {
            #[cfg(feature = "flex")]
            DispatchDevice::Flex(_) => Self::Host,
            #[cfg(feature = "ndarray")]
            DispatchDevice::NdArray(_) => Self::Host,
            #[cfg(feature = "cube")]
            DispatchDevice::Cube(_) => Self::Cube,
            _ => Self::Other,
        }
    }
}

/// What a layer runs: the custom operation (with or without the backend's kernel), or the
/// tensor-op loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// The custom operation; `kernel` lets the backend use its own kernel.
    Op {
        /// The backend's kernel may run (otherwise the generic loop).
        kernel: bool,
    },
    /// Plain tensor operations differentiated by autodiff.
    TensorOps,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_without_the_operation_runs_tensor_ops() {
        for choice in Implementation::ALL {
            assert_eq!(choice.route(BackendKind::Other), Route::TensorOps);
        }
        assert_eq!(
            Implementation::Fused.route(BackendKind::Host),
            Route::Op { kernel: true }
        );
        assert_eq!(
            Implementation::Generic.route(BackendKind::Cube),
            Route::Op { kernel: false }
        );
    }

    #[test]
    fn names_round_trip() {
        for choice in Implementation::ALL {
            assert_eq!(choice.to_string().parse::<Implementation>(), Ok(choice));
        }
        assert!("reference".parse::<Implementation>().is_err());
    }

    #[cfg(feature = "flex")]
    #[test]
    fn devices_are_classified_by_backend() {
        let flex = Device::flex();
        assert_eq!(BackendKind::of(&flex), BackendKind::Host);
        assert_eq!(BackendKind::of(&flex.autodiff()), BackendKind::Host);
    }
}
