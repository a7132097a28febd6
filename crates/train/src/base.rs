//! The floor every other module of the crate stands on; it imports none of them:
//!
//! * [`error`]: why a run failed ([`error::RunError`]), its `error:`/`hint:` lines and the
//!   process's exit codes;
//! * [`atomic`]: files written whole or not at all, and [`disk_space`], the free-space check
//!   before and during training;
//! * [`console`]: where a run's lines go (the terminal, or a buffer in tests);
//! * [`limits`]: the largest values the flags and configurations accept.

pub mod atomic;
pub mod console;
pub mod disk_space;
pub mod error;
pub mod limits;
