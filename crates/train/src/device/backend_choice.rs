//! The `--backend` vocabulary, used by every binary, benchmark and test of the project.

use std::fmt;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Where tensors live and run. Burn 0.22 picks the backend at run time from a `Device`;
/// this is the one place that maps the project's flag values onto devices.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// Burn's pure-Rust CPU backend (the default, and the fastest on CPU here).
    #[default]
    Flex,
    /// The ndarray CPU backend (deprecated in Burn 0.22, kept for comparison).
    Ndarray,
    /// wgpu: Vulkan, Metal, DX12 or OpenGL; a GPU, or Mesa's software Vulkan (lavapipe).
    Wgpu,
    /// NVIDIA CUDA; needs a build with `--features cuda` and the driver at run time.
    Cuda,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "the cuda backend is not compiled into this binary: rebuild with `--features cuda` \
         (needs no CUDA toolkit to build, only the NVIDIA driver to run)"
    )]
    CudaNotCompiled,
    #[error("unknown backend '{0}': expected one of flex, ndarray, wgpu, cuda")]
    Unknown(String),
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 4] = [Self::Flex, Self::Ndarray, Self::Wgpu, Self::Cuda];

    pub fn name(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::Ndarray => "ndarray",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        }
    }

    /// Device `index` of this backend, not yet probed (see [`crate::device::open`], the way
    /// every program gets its devices), without autodiff. Several are for data-parallel
    /// training (see `--devices`): wgpu's discrete GPUs and CUDA's GPUs by index (index 0 of
    /// wgpu is its default device, which need not be discrete); the CPU backends have one
    /// device, which every index names.
    pub(crate) fn create(self, index: usize) -> Result<Device, BackendError> {
        match (self, index) {
            (Self::Flex, _) => Ok(Device::flex()),
            #[allow(deprecated)]
            (Self::Ndarray, _) => Ok(Device::ndarray()),
            (Self::Wgpu, 0) => Ok(Device::wgpu(DeviceKind::DefaultDevice)),
            (Self::Wgpu, i) => Ok(Device::wgpu(DeviceKind::DiscreteGpu(i))),
            (Self::Cuda, i) => cuda_device(i),
        }
    }

    /// The backend named by an environment variable (tests use `RNN_TEST_BACKEND`), or
    /// the default when it is unset.
    pub fn from_env(var: &str) -> Result<Self, BackendError> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => v.parse(),
            _ => Ok(Self::default()),
        }
    }
}

#[cfg(feature = "cuda")]
fn cuda_device(index: usize) -> Result<Device, BackendError> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(_index: usize) -> Result<Device, BackendError> {
    Err(BackendError::CudaNotCompiled)
}

impl std::str::FromStr for BackendChoice {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| BackendError::Unknown(s.to_string()))
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_an_error() {
        for b in BackendChoice::ALL {
            assert_eq!(b.name().parse::<BackendChoice>().unwrap(), b);
        }
        let err = "nosuch".parse::<BackendChoice>().unwrap_err();
        assert!(err.to_string().contains("unknown backend 'nosuch'"));
    }
}
