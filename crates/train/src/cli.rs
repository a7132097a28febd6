//! The command line every experiment binary shares: its flags, their parsing, the program's
//! entry point and what the process tells the user when a run fails.
//!
//! * [`args`]: the shared flags ([`args::CommonArgs`]) and the optional groups (Adam, shuffle,
//!   clipping);
//! * [`config_flags`]: which flag writes which configuration field, declared once per
//!   experiment; every such flag's default is the configuration's, which
//!   [`defaults_check`] verifies;
//! * [`value_parsers`] and [`limits`]: what a flag's value may be;
//! * [`entry`]: parsing that records the flags a user typed, and [`entry::cli_main`], the
//!   `main` of every experiment binary;
//! * [`run_error`]: why a run failed ([`run_error::RunError`]), its `error:`/`hint:` lines and
//!   the process's exit codes.

pub mod args;
pub mod config_flags;
pub mod defaults_check;
pub mod entry;
pub mod flag_value;
pub mod limits;
pub mod run_error;
pub mod value_parsers;

#[cfg(test)]
mod cli_tests;
#[cfg(test)]
mod config_flags_tests;
