//! One run on disk: its directory and the files in it, starting or resuming it, checkpoints,
//! files written whole, its log and the disk it writes to.

pub mod atomic;
pub mod checkpoint;
pub mod disk_space;
pub mod mnist_run;
pub mod reconcile;
pub mod resume;
pub mod run_dir;
pub mod run_log;
pub mod session;
