//! The command line every experiment binary shares: its flags, their parsing and the program's
//! entry point.
//!
//! * [`args`]: the shared flags ([`args::CommonArgs`]) and the optional groups (Adam, shuffle,
//!   clipping);
//! * [`config_flags`]: which flag writes which configuration field, declared once per
//!   experiment; every such flag's default is the configuration's, which
//!   [`defaults_check`] verifies;
//! * [`value_parsers`]: what a flag's value may be;
//! * [`entry`]: parsing that records the flags a user typed, and [`entry::cli_main`], the
//!   `main` of every experiment binary.

pub mod args;
pub mod config_flags;
pub mod defaults_check;
pub mod entry;
pub mod flag_value;
pub mod value_parsers;

#[cfg(test)]
mod cli_tests;
#[cfg(test)]
mod config_flags_tests;
