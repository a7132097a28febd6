//! Where tensors live: the `--backend` vocabulary and the devices behind it.

pub mod backend_choice;
pub mod default_device;
pub mod device_probe;
pub mod quiet_panic;
