//! The command line every experiment binary shares: its flags, their parsing, the program's
//! entry point and what the process tells the user when a run fails.

pub mod entry;
pub mod run_error;
