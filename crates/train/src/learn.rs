//! Training:
//!
//! * [`task`]: the bridge from an experiment's model ([`task::TaskModel`]) to Burn's Learner
//!   ([`task::Trainer`]: backward pass and gradient clipping, [`clip`]);
//! * [`fit`]: what a training needs besides its session, and what it returns;
//! * [`train`] and [`learner`]: Burn's `SupervisedTraining` Learner, set up and launched the
//!   same way for every experiment;
//! * [`summary`]: `summary.json` and the closing lines of a run.

pub mod clip;
pub mod fit;
pub mod learner;
pub mod summary;
pub mod task;
pub mod train;
