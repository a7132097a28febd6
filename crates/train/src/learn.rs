//! Training:
//!
//! * [`task`]: the bridge from an experiment's model ([`task::TaskModel`]) to Burn's Learner
//!   ([`task::Trainer`]: backward pass and gradient clipping, [`clip`]);
//! * [`fit`] and [`learner_run`]: Burn's `SupervisedTraining` Learner, set up and launched the
//!   same way for every experiment;
//! * [`training_config`] and [`optimizer`]: the loop's settings and the optimisers (with
//!   NeoML's and Chainer's form of Adam);
//! * [`epoch_loader`]: batches whose per-epoch shuffle a resumed run reproduces;
//! * strategies beyond one batch at a time: [`truncated_bptt`] (a state carried across
//!   windows) and [`multi_run`] (comparisons: several runs of one experiment under one
//!   directory, resumable as a whole).

pub mod clip;
pub mod epoch_loader;
pub mod fit;
pub mod learner_run;
pub mod multi_run;
pub mod optimizer;
pub mod task;
pub mod training_config;
pub mod truncated_bptt;
