//! Training: Burn's Learner set up for every experiment, the bridge from an experiment's
//! model to it, gradient clipping, optimisers, the data loader, and the strategies beyond one
//! batch at a time (truncated BPTT, comparisons of several runs).

pub mod clip;
pub mod epoch_loader;
pub mod fit;
pub mod learner_run;
pub mod multi_run;
pub mod optimizer;
pub mod task;
pub mod training_config;
pub mod truncated_bptt;
