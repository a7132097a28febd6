//! Where tensors live: the `--backend` vocabulary ([`backend_choice`]) and the one way from it
//! to a run's devices ([`open`]), which makes the backend Burn's default device for the
//! process ([`default_device`]) and probes each device before a run writes anything (the
//! probe's expected panics kept off the terminal by [`quiet_panic`]).

pub mod backend_choice;
pub mod default_device;
pub mod open;
pub mod quiet_panic;
