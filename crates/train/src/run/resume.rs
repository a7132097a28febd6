//! Continuing an interrupted run (`--resume RUN_DIR`): its saved settings reconciled with the
//! command line, the checkpoint to continue from (the newest usable one), and the metrics of
//! the epochs already done.

use std::collections::BTreeSet;
use std::path::Path;

use crate::base::console::Console;
use crate::base::error::{RunError, shell_quote};
use crate::config::experiment::ExperimentConfig;
use crate::report::epoch_record::EpochRecord;
use crate::run::reconcile::reconcile_run;
use crate::run::run_dir::RunDir;

/// A run re-opened for `--resume`.
pub(crate) struct Resumed<C> {
    /// Its directory.
    pub dir: RunDir,
    /// The configuration it continues with.
    pub config: C,
    /// The checkpoint epoch it continues from.
    pub epoch: usize,
    /// The metrics of the epochs already done.
    pub previous: Vec<EpochRecord>,
}

/// Re-opens the run of `experiment` in `path` with the `requested` configuration, of which
/// the flags in `explicit` were typed.
pub(crate) fn reopen<C: ExperimentConfig>(
    experiment: &str,
    path: &Path,
    requested: &C,
    explicit: &BTreeSet<String>,
    console: &Console,
) -> Result<Resumed<C>, RunError> {
    let dir = RunDir::open(path, experiment)?;
    let saved: C = dir.read_config()?;
    let config = reconcile_run(&saved, requested, explicit, path)?;
    config.validate()?;
    let candidates = dir.checkpoint_epochs();
    if candidates.is_empty() {
        return Err(resume_error(
            path,
            format!(
                "there is no checkpoint in {} (the run stopped before finishing its first \
                 epoch)",
                dir.checkpoint_dir().display()
            ),
            Some("start the run again without --resume (with another --out)".into()),
        ));
    }
    let rows = dir.read_metrics()?;
    let epoch = choose_checkpoint(&dir, path, &candidates, &rows, console)?;
    refuse_finished(&dir, path, epoch, config.training().epochs)?;
    let previous = previous_records(&dir, path, rows, epoch, console)?;
    Ok(Resumed {
        dir,
        config,
        epoch,
        previous,
    })
}

/// The error `--resume` reports about `path`.
fn resume_error(path: &Path, message: String, hint: Option<String>) -> RunError {
    RunError::Resume {
        dir: path.to_path_buf(),
        message,
        hint,
    }
}

/// The epoch to continue from, among the `candidates` (newest first).
fn choose_checkpoint(
    dir: &RunDir,
    path: &Path,
    candidates: &[usize],
    rows: &[EpochRecord],
    console: &Console,
) -> Result<usize, RunError> {
    // The newest checkpoint whose files all read back and whose epoch has its row in
    // metrics.csv (a kill between Burn's checkpoint and the CSV's update leaves the row
    // out: resuming one epoch earlier trains it again, with the same result); a damaged
    // one (a kill or a full disk while it was written) is passed over, saying so.
    let has_row = |e: usize| rows.iter().any(|r| r.epoch == e && r.is_complete());
    let mut damaged = Vec::new();
    let mut valid = Vec::new();
    for &epoch in candidates {
        match dir.check_checkpoint(epoch) {
            Ok(()) => valid.push(epoch),
            Err(e) => damaged.push((epoch, e)),
        }
    }
    let Some(epoch) = valid
        .iter()
        .copied()
        .find(|&e| has_row(e))
        .or_else(|| valid.first().copied())
    else {
        let list: Vec<String> = damaged.into_iter().map(|(_, e)| e).collect();
        return Err(resume_error(
            path,
            format!("no usable checkpoint is left: {}", list.join("; ")),
            Some("start the run again without --resume (with another --out)".into()),
        ));
    };
    for (bad, e) in damaged.iter().filter(|(bad, _)| *bad > epoch) {
        console.eline(format!(
            "warning: the checkpoint of epoch {bad} cannot be used ({e}); resuming from \
             epoch {epoch} instead"
        ));
    }
    Ok(epoch)
}

/// Refuses to resume a run that has already finished its `epochs` at checkpoint `epoch`.
fn refuse_finished(dir: &RunDir, path: &Path, epoch: usize, epochs: usize) -> Result<(), RunError> {
    // A run killed after its last checkpoint but before its summary is finished by a
    // resume that trains nothing: the final model and summary.json are written.
    let finished = std::fs::read_to_string(dir.summary_path())
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["completed"] == true && v["epochs"].as_u64() >= Some(epochs as u64));
    if epoch >= epochs && finished {
        let quoted = shell_quote(&path.display().to_string());
        return Err(resume_error(
            path,
            format!("the run has already finished epoch {epoch} of {epochs}"),
            Some(format!(
                "to train further, pass more epochs: --resume {quoted} --epochs {}",
                epoch + 1
            )),
        ));
    }
    Ok(())
}

/// The complete rows of `metrics.csv` up to checkpoint `epoch`; an error when a row before it
/// is missing.
fn previous_records(
    dir: &RunDir,
    path: &Path,
    rows: Vec<EpochRecord>,
    epoch: usize,
    console: &Console,
) -> Result<Vec<EpochRecord>, RunError> {
    let previous: Vec<EpochRecord> = rows
        .into_iter()
        .filter(|r| r.epoch <= epoch && r.is_complete())
        .collect();
    // Only a row before the checkpoint's own is damage; the checkpoint's own row is
    // missing when the run was killed between the two writes, and no older checkpoint
    // was left to go back to.
    if !previous.iter().any(|r| r.epoch == epoch) {
        console.eline(format!(
            "warning: the run stopped before recording epoch {epoch}'s metrics; it continues \
             from that epoch's checkpoint, and its row will be missing from metrics.csv"
        ));
    }
    let missing: Vec<String> = (1..epoch)
        .filter(|e| !previous.iter().any(|r| r.epoch == *e))
        .map(|e| e.to_string())
        .collect();
    if !missing.is_empty() {
        // metrics.csv has no second copy: resuming would lose these rows for good.
        return Err(resume_error(
            path,
            format!(
                "{} lacks the rows of epoch {} (the file is damaged)",
                dir.metrics_path().display(),
                missing.join(", ")
            ),
            Some(
                "restore metrics.csv from a backup, or start the run again without --resume".into(),
            ),
        ));
    }
    Ok(previous)
}
