//! One run on disk, from its start to its last file:
//!
//! * [`session`]: starting a run ([`session::Session`]): settings checked, run directory
//!   created, devices opened and seeded, data loaders ([`epoch_loader`]: batches whose
//!   per-epoch shuffle a resumed run reproduces);
//! * [`resume`] and [`reconcile`]: continuing an interrupted run from its newest usable
//!   checkpoint, with the flags typed on the command line checked against its saved settings;
//! * [`run_dir`]: the run directory and every file in it;
//! * [`checkpoint`]: checkpoints written whole;
//! * [`run_log`]: the run's own `experiment.log`.

pub mod checkpoint;
pub mod epoch_loader;
pub mod reconcile;
pub mod resume;
pub mod run_dir;
pub mod run_log;
pub mod session;
