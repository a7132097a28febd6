//! What a run is, as `config.json` holds it: the settings every experiment shares
//! ([`training::TrainingConfig`]: backend, epochs, batches, learning rate, seed, clipping,
//! data limits), the optimisers ([`optimizer::OptimizerConfig`], with NeoML's and Chainer's
//! form of Adam) and the trait every experiment's configuration implements
//! ([`experiment::ExperimentConfig`]).

pub mod experiment;
pub mod optimizer;
pub mod training;
