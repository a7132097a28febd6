//! Where tensors live: the `--backend` vocabulary ([`backend_choice`]), Burn's default device
//! for the process ([`default_device`]), and the devices of a run, probed before it writes
//! anything ([`device_probe`], whose expected panics [`quiet_panic`] keeps off the terminal).

pub mod backend_choice;
pub mod default_device;
pub mod device_probe;
pub mod quiet_panic;
