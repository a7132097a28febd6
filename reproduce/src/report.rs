//! The report: each finished seed's figures read back from its run directory, their
//! statistics, `report.json`, `report.md` and one plot per experiment.

use std::path::PathBuf;

mod figure;
mod json;
mod markdown;
mod pixels;
mod plots;
mod read;
mod stats;
#[cfg(test)]
mod tests;
mod verdict;
mod write;

pub use stats::{duration, show};
pub use write::write_report;

/// A run that exited with an error.
pub struct Failure {
    /// The run's name (`lstm-mnist`, `adding-paper/T150-irnn`).
    pub experiment: String,
    pub seed: u64,
    /// `None`: killed by a signal, or it could not be started.
    pub exit_code: Option<i32>,
    pub log: PathBuf,
}

/// How the report was made.
pub struct Context {
    pub date: String,
    pub machine: String,
    pub seeds: Vec<u64>,
    pub quick: bool,
    pub command: String,
    /// Runs of the plan that have not finished (`adding-paper/T150-irnn/seed-1`).
    pub missing: Vec<String>,
}
