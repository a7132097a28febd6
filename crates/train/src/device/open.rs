//! The one way from `--backend` to devices ([`open`]): Burn's default device made the
//! backend's, and each device checked to work before a run writes anything. Creating a wgpu
//! or CUDA device is lazy and panics on first use when there is no adapter or driver, so a
//! tiny computation is tried first (its expected panic kept off the terminal) and a failure
//! becomes a [`RunError::Backend`] with a hint.

use std::panic::AssertUnwindSafe;

use burn::prelude::*;

use crate::base::error::RunError;
use crate::device::backend_choice::BackendChoice;
use crate::device::default_device::make_default_device;
use crate::device::quiet_panic::quietly;

/// The devices of a run on one backend, each checked to work.
#[derive(Clone, Debug)]
pub struct Devices {
    /// The backend they belong to.
    pub backend: BackendChoice,
    list: Vec<Device>,
}

impl Devices {
    /// The first device: where the model is created and the weights are updated.
    pub fn main(&self) -> &Device {
        &self.list[0]
    }

    /// Every device, [`Devices::main`] first (more than one for data-parallel training).
    pub fn all(&self) -> &[Device] {
        &self.list
    }
}

/// Turns `--backend` into `count` devices (at least one; `--devices N` asks for more): makes
/// `backend` Burn's default device for the process (`make_default_device`), then creates and
/// probes devices `0..count` (`BackendChoice::create`). Every program of the project
/// that takes `--backend` comes through here, once per run.
pub fn open(backend: BackendChoice, count: usize) -> Result<Devices, RunError> {
    make_default_device(backend);
    let list = (0..count.max(1))
        .map(|index| probed(backend, index))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Devices { backend, list })
}

/// Device `index` of `backend`, checked to work (see the module docs).
fn probed(backend: BackendChoice, index: usize) -> Result<Device, RunError> {
    let device = backend.create(index).map_err(|e| RunError::Backend {
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
