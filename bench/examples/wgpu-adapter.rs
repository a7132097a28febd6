//! The adapter wgpu picked for `--backend wgpu`, one `key: value` line each:
//!
//! ```text
//! name: llvmpipe (LLVM 15.0.6, 256 bits)
//! device_type: Cpu
//! backend: Vulkan
//! driver: llvmpipe
//! driver_info: Mesa 22.3.6 (LLVM 15.0.6)
//! vendor: 0x10005
//! device: 0x0000
//! ```
//!
//! `device_type` is wgpu's `DeviceType` (DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu, Other)
//! and `backend` its graphics API (Vulkan, Metal, Dx12, Gl). A wgpu run passes on Mesa's
//! software Vulkan (lavapipe, device type Cpu) as it does on a GPU, so the GPU check
//! (tools/gpu-check.sh) records these lines and refuses a CPU adapter on a machine with a GPU.
//!
//! The device is Burn's default wgpu device, the one `--backend wgpu` and the wgpu tests
//! use, brought up by Burn itself: the adapter is the one CubeCL's selection gives (the
//! graphics API it settles on, its power preference, `CUBECL_WGPU_DEFAULT_DEVICE`), not a
//! second guess at its rules. Exit code 1, with an `error:` line, when there is no adapter.
//!
//! ```text
//! cargo run --release -p rnn-bench --example wgpu-adapter
//! ```

use std::process::ExitCode;

use burn::prelude::*;

fn main() -> ExitCode {
    // `Device::wgpu_options()` starts from the selector `Device::wgpu(DeviceKind::DefaultDevice)`
    // names, and hands back the setup the runtime was brought up with.
    let (_device, setup) = match Device::wgpu_options().init_with_setup() {
        Ok(up) => up,
        Err(e) => {
            eprintln!("error: wgpu brought up no default device: {e}");
            return ExitCode::FAILURE;
        }
    };
    let info = setup.adapter.get_info();
    println!("name: {}", info.name);
    println!("device_type: {:?}", info.device_type);
    println!("backend: {:?}", info.backend);
    println!("driver: {}", info.driver);
    println!("driver_info: {}", info.driver_info);
    println!("vendor: {:#06x}", info.vendor);
    println!("device: {:#06x}", info.device);
    ExitCode::SUCCESS
}
