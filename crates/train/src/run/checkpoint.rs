//! Checkpoint files written atomically. Burn's `FileCheckpointer` writes a checkpoint in
//! place, so a kill or a full disk while it writes leaves a torn `model-N.bpk` (or
//! `optim-N.bpk`) beside the intact ones of earlier epochs; this one writes the same burnpack
//! bytes through [`crate::base::atomic`], so each file is complete or absent, and a failed write
//! names the file and the cause (Burn then stops the run with that error). Beside each file
//! goes its sha256 (`<file>.sha256`), so that a resume can tell a checkpoint damaged later
//! (a bit flip, a copy gone wrong) from a good one: burnpack itself checks its header and
//! lengths, not the tensor bytes.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};

use crate::report::metrics_recorder::Recorder;

/// Saves each record as `<dir>/<name>-<epoch>.bpk` (the layout of Burn's default
/// checkpointers, which `--resume` and [`crate::RunDir`] read).
pub struct AtomicFileCheckpointer {
    dir: PathBuf,
    name: &'static str,
    /// The run's recorder, when this checkpointer must wait for the epoch's metrics row.
    recorder: Option<Recorder>,
}

impl AtomicFileCheckpointer {
    /// Checkpoints named `name` in `dir` (created on the first save).
    pub fn new(dir: PathBuf, name: &'static str) -> Self {
        AtomicFileCheckpointer {
            dir,
            name,
            recorder: None,
        }
    }

    /// Before saving epoch N, waits until `recorder` has written epoch N's row to
    /// metrics.csv (see [`Recorder::wait_until_written`]): a kill then never leaves a
    /// checkpoint whose metrics are lost.
    pub fn after_metrics_of(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    fn path(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        if let Some(recorder) = &self.recorder {
            recorder.wait_until_written(epoch, std::time::Duration::from_secs(30));
        }
        let path = self.path(epoch);
        let failed = |cause: String| {
            CheckpointerError::Unknown(format!("could not write {}: {cause}", path.display()))
        };
        let bytes = record
            .checkpoint_into_bytes()
            .map_err(|e| failed(e.to_string()))?;
        std::fs::create_dir_all(&self.dir).map_err(|e| failed(e.to_string()))?;
        crate::base::atomic::write(&path, &bytes).map_err(|e| failed(e.to_string()))?;
        let sum = sidecar(&path);
        crate::base::atomic::write(&sum, sha256_hex(&bytes).as_bytes()).map_err(|e| {
            CheckpointerError::Unknown(format!("could not write {}: {e}", sum.display()))
        })
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.path(epoch))
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        for file in [sidecar(&path), path] {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(CheckpointerError::Unknown(format!(
                        "could not delete {}: {e}",
                        file.display()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// `<file>.sha256`, the checksum beside a checkpoint file.
pub fn sidecar(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks `path` against its sha256 sidecar, when it has one (checkpoints written before
/// sidecars existed have none). `Err` says what is wrong.
pub fn verify(path: &Path) -> Result<(), String> {
    let Ok(expected) = std::fs::read_to_string(sidecar(path)) else {
        return Ok(());
    };
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if sha256_hex(&bytes) != expected.trim() {
        return Err("its sha256 differs from the one written with it".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use burn::optim::lr_scheduler::LrSchedulerRecord;

    use super::*;

    #[test]
    fn saves_restores_and_deletes_in_burns_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("checkpoint");
        let c = AtomicFileCheckpointer::new(dir.clone(), "scheduler");
        let record = LrSchedulerRecord::new().with_scalar("step", 7u64);
        c.save(3, record).unwrap();
        assert!(dir.join("scheduler-3.bpk").is_file());
        let file = dir.join("scheduler-3.bpk");
        verify(&file).unwrap();
        let back: LrSchedulerRecord = c.restore(3).unwrap();
        assert_eq!(back.scalar::<u64>("step"), Some(7));
        // One flipped byte is caught by the sidecar.
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        assert!(verify(&file).is_err());
        Checkpointer::<LrSchedulerRecord>::delete(&c, 3).unwrap();
        assert!(!dir.join("scheduler-3.bpk").exists());
        // Nothing but the checkpoint was ever left in the directory.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        // A directory that cannot be created is an error naming the file.
        let blocked = tmp.path().join("file");
        std::fs::write(&blocked, b"x").unwrap();
        let c = AtomicFileCheckpointer::new(blocked.join("checkpoint"), "model");
        let err = c.save(1, LrSchedulerRecord::new()).unwrap_err().to_string();
        assert!(err.contains("model-1.bpk"), "{err}");
    }
}
