//! What every experiment's configuration is: the [`ExperimentConfig`] trait.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::base::error::RunError;
use crate::config::training::TrainingConfig;

/// An experiment's complete configuration: serialisable (it is saved in `config.json` and
/// reloaded by `--resume`) and holding the shared [`TrainingConfig`].
pub trait ExperimentConfig: Serialize + DeserializeOwned + Clone {
    /// The loop settings.
    fn training(&self) -> &TrainingConfig;

    /// Checks the whole configuration, also when it was read back from a run directory's
    /// `config.json` (which a user may have edited): the training settings, and whatever the
    /// experiment adds (model sizes, data sizes) in an override that calls this one.
    fn validate(&self) -> Result<(), RunError> {
        self.training().validate()
    }
}
