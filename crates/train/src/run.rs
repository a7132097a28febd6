//! One run on disk, from its start to its last file:
//!
//! * [`session`]: starting a run ([`session::Session`]): settings checked, run directory
//!   created, device chosen and seeded, data loaders; [`mnist_run`], the start every MNIST
//!   experiment makes;
//! * [`resume`] and [`reconcile`]: continuing an interrupted run from its newest usable
//!   checkpoint, with the flags typed on the command line checked against its saved settings;
//! * [`run_dir`]: the run directory and every file in it;
//! * [`checkpoint`] and [`atomic`]: checkpoints and files written whole or not at all;
//! * [`run_log`]: the run's own `experiment.log`;
//! * [`disk_space`]: the free-space check before and during training.

pub mod atomic;
pub mod checkpoint;
pub mod disk_space;
pub mod mnist_run;
pub mod reconcile;
pub mod resume;
pub mod run_dir;
pub mod run_log;
pub mod session;
