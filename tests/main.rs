//! The cross-crate tests, as one test binary: every test binary links all of Burn, so one
//! link here instead of one per file. `cargo test --test tests cells::` runs one module.

rnn_train::use_mimalloc!();

mod cells;
// The comparison the cell crate's own tests use, so both measure errors the same way.
#[path = "../crates/models/tests/support/compare.rs"]
mod compare;
mod defaults;
mod docs;
mod experiments;
mod faithful;
mod synthetic;
