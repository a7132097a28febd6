//! What a truncated-BPTT run keeps beside Burn's checkpoint after every epoch
//! (`checkpoint/tbptt-<epoch>.json`, [`TbpttSnapshot`]): the stream's position, the carried
//! state and the training time so far, which a resumed run continues from.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use rnn_data::TbpttPosition;
use serde::{Deserialize, Serialize};

use super::stateful_model::CarriedState;

/// A tensor in a snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedTensor {
    /// `[L, B, H]`.
    pub shape: [usize; 3],
    /// Row-major values.
    pub values: Vec<f32>,
}

/// What `checkpoint/tbptt-<epoch>.json` holds: where the training stream stands after the
/// epoch, the state carried into the next window, and the training time so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TbpttSnapshot {
    /// The epoch it was taken after.
    pub epoch: usize,
    /// The training iterator's position.
    pub position: TbpttPosition,
    /// The carried state (empty before the first window).
    pub state: Vec<SavedTensor>,
    /// Seconds of training (all sessions) up to this snapshot, for the elapsed-time column.
    pub elapsed_seconds: f64,
}

impl TbpttSnapshot {
    /// `<checkpoint dir>/tbptt-<epoch>.json`.
    pub fn path(checkpoint_dir: &Path, epoch: usize) -> PathBuf {
        checkpoint_dir.join(format!("tbptt-{epoch}.json"))
    }

    /// Reads the snapshot of `epoch`.
    pub fn read(checkpoint_dir: &Path, epoch: usize) -> Result<Self, String> {
        let path = Self::path(checkpoint_dir, epoch);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not readable: {e}", path.display()))
    }

    /// The carried state, on `device`.
    pub fn carried_state(&self, device: &Device) -> Result<Option<CarriedState>, String> {
        if self.state.is_empty() {
            return Ok(None);
        }
        CarriedState::load(&self.state, device).map(Some)
    }
}

impl CarriedState {
    /// The state's tensors as a snapshot holds them.
    pub(super) fn save(&self) -> Result<Vec<SavedTensor>, String> {
        self.0
            .iter()
            .map(|t| {
                let values = t.to_data().convert::<f32>().try_to_vec::<f32>();
                Ok(SavedTensor {
                    shape: t.dims(),
                    values: values.map_err(|e| format!("{e:?}"))?,
                })
            })
            .collect()
    }

    /// The state held by `saved`, on `device`.
    pub(super) fn load(saved: &[SavedTensor], device: &Device) -> Result<Self, String> {
        saved
            .iter()
            .map(|s| {
                if s.values.len() != s.shape.iter().product::<usize>() {
                    return Err(format!(
                        "a state tensor of shape {:?} holds {} values",
                        s.shape,
                        s.values.len()
                    ));
                }
                Ok(Tensor::from_data(
                    TensorData::new(s.values.clone(), s.shape),
                    device,
                ))
            })
            .collect::<Result<_, _>>()
            .map(CarriedState)
    }
}
