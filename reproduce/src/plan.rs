//! What to run: the experiments and their tutorials' numbers, where their binaries are, and
//! for each seed whether its run directory is finished, can be resumed, or starts afresh.

mod experiments;
mod launch;
mod pixels;
mod state;
mod sweeps;
#[cfg(test)]
mod tests;
mod units;

pub use experiments::{EXPERIMENTS, Experiment, Metric, experiment, irnn_seconds};
pub use launch::{arguments, binary, run_logged};
pub use state::{Action, completed, decide, progress, read_json};
pub use sweeps::{Reference, Reported, SOLVED_MSE, Sweep, Task, estimate, steps_per_epoch};
pub use units::{Unit, model_dirs, run_path};
