//! The device of a backend, checked to work before a run writes anything: creating a wgpu or
//! CUDA device is lazy and panics on first use when there is no adapter or driver, so a tiny
//! computation is tried first and a failure becomes a [`RunError::Backend`] with a hint.

use std::panic::AssertUnwindSafe;

use burn::prelude::*;

use crate::cli::run_error::RunError;
use crate::device::backend_choice::BackendChoice;
use crate::device::quiet_panic::quietly;

/// The device for `backend`, checked to work: creating a wgpu or CUDA device is lazy and
/// panics on first use when there is no adapter or driver, so a tiny computation is tried
/// here and a failure becomes a [`RunError::Backend`].
pub fn device_for(backend: BackendChoice) -> Result<Device, RunError> {
    device_at(backend, 0)
}

/// Device `index` of `backend` (see [`BackendChoice::device_at`]), checked to work like
/// [`device_for`]'s.
pub fn device_at(backend: BackendChoice, index: usize) -> Result<Device, RunError> {
    let device = backend.device_at(index).map_err(|e| RunError::Backend {
        backend: backend.to_string(),
        message: e.to_string(),
        hint: None,
    })?;
    if matches!(backend, BackendChoice::Flex | BackendChoice::Ndarray) {
        return Ok(device);
    }
    let probe = device.clone();
    let outcome = quietly(AssertUnwindSafe(move || {
        Tensor::<1>::ones([4], &probe).sum().into_scalar::<f32>()
    }));
    match outcome {
        Ok(4.0) => Ok(device),
        Ok(v) => Err(RunError::Backend {
            backend: backend.to_string(),
            message: format!("a test computation gave {v} instead of 4"),
            hint: Some("use --backend flex".into()),
        }),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the device could not be initialised".into());
            let hint = match backend {
                BackendChoice::Wgpu => {
                    "wgpu needs a GPU driver or Mesa's software Vulkan (apt install libvulkan1 \
                     mesa-vulkan-drivers) and XDG_RUNTIME_DIR set; or use --backend flex"
                }
                _ => "cuda needs the NVIDIA driver (libcuda, libnvrtc); or use --backend flex",
            };
            Err(RunError::Backend {
                backend: backend.to_string(),
                message: message.lines().next().unwrap_or_default().to_string(),
                hint: Some(hint.into()),
            })
        }
    }
}
