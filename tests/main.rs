//! The cross-crate tests, as one test binary: every test binary links all of Burn, so one
//! link here instead of one per file. `cargo test --test tests cells::` runs one module.

rnn_train::use_mimalloc!();

mod cells;
mod defaults;
mod docs;
mod experiments;
mod faithful;
mod synthetic;
