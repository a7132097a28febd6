//! Which code runs a layer's time loop: chosen per module (its configuration's
//! `recurrence` field, or `with_recurrence`), and resolved per call against the
//! backend the tensors live on. Nothing else changes it: two modules in one program run
//! what each was configured with.

use burn::backend::DispatchDevice;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// What runs a layer's time loop (the recurrence). Every choice computes the same function;
/// they differ in speed, memory and how the gradient is obtained. A module keeps its choice
/// (`with_recurrence`); the stacks' outputs report the one that ran on the tensors' backend
/// ([`Recurrence::on`]: a backend without the custom operation runs tensor-ops).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recurrence {
    /// One custom autodiff operation per layer whose backward pass is hand-written
    /// backpropagation through time, linear in the sequence length. Inside it the backend's
    /// kernel runs where there is one (flex and ndarray on `f32`: the CPU kernel; wgpu, CUDA
    /// and the other CubeCL runtimes: the CubeCL kernel, when the layer fits in shared
    /// memory), the backend-generic loop where not. On a backend the operation is not
    /// registered for (LibTorch, remote, ...), the layer runs as [`Recurrence::TensorOps`].
    #[default]
    Fused,
    /// The same custom operation, always running the backend-generic loop inside: what the
    /// backend kernels are tested against.
    Generic,
    /// Plain Burn tensor operations step by step, differentiated by Burn's autodiff. Runs on
    /// every backend; its backward pass is quadratic in the sequence length (each step's
    /// slice backward writes a full-length gradient). Autodiff's gradient, which the custom
    /// operation's hand-written backward pass is tested against, and the fallback where the
    /// operation is not registered.
    TensorOps,
}

impl Recurrence {
    /// The names the command-line flags take, in the order of the variants.
    pub const NAMES: [&'static str; 3] = ["fused", "generic", "tensor-ops"];

    const ALL: [Self; 3] = [Self::Fused, Self::Generic, Self::TensorOps];

    /// What runs for this choice on a backend of `kind`.
    pub(crate) fn resolved(self, kind: BackendKind) -> Recurrence {
        match (self, kind) {
            (Self::TensorOps, _) | (_, BackendKind::Other) => Recurrence::TensorOps,
            (Self::Fused, _) => Recurrence::Fused,
            (Self::Generic, _) => Recurrence::Generic,
        }
    }

    /// What a layer with this choice runs on `device` (an autodiff device: the backend it
    /// wraps).
    pub fn on(self, device: &Device) -> Recurrence {
        self.resolved(BackendKind::of(device))
    }
}

impl std::fmt::Display for Recurrence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = Self::ALL.iter().position(|v| v == self).unwrap_or(0);
        f.write_str(Self::NAMES[i])
    }
}

impl std::str::FromStr for Recurrence {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| {
                format!(
                    "unknown recurrence '{s}': expected one of {}",
                    Self::NAMES.join(", ")
                )
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_without_the_operation_runs_tensor_ops() {
        for choice in Recurrence::ALL {
            assert_eq!(choice.resolved(BackendKind::Other), Recurrence::TensorOps);
        }
        assert_eq!(
            Recurrence::Fused.resolved(BackendKind::Host),
            Recurrence::Fused
        );
        assert_eq!(
            Recurrence::Generic.resolved(BackendKind::Cube),
            Recurrence::Generic
        );
    }

    #[test]
    fn names_round_trip() {
        for choice in Recurrence::ALL {
            assert_eq!(choice.to_string().parse::<Recurrence>(), Ok(choice));
        }
        assert!("reference".parse::<Recurrence>().is_err());
    }

    #[cfg(feature = "flex")]
    #[test]
    fn devices_are_classified_by_backend() {
        let flex = Device::flex();
        assert_eq!(BackendKind::of(&flex), BackendKind::Host);
        assert_eq!(BackendKind::of(&flex.autodiff()), BackendKind::Host);
    }
}
