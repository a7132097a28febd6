//! Where tensors live: the `--backend` vocabulary and the devices behind it.

pub mod backend_choice;
