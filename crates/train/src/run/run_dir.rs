//! The run directory: everything one run leaves behind, in one place.
//!
//! ```text
//! <run dir>/
//!   config.json        the resolved configuration ({"experiment", "version", "config"})
//!   metrics.csv        one row per epoch (train/test loss and accuracy, lr, times, system)
//!   loss.png           loss per epoch, train and test
//!   accuracy.png       accuracy per epoch, train and test (classification)
//!   summary.json       final figures (test_accuracy or test_mse, epochs, wall_seconds, ...)
//!   model.bpk          the trained model (Burn burnpack)
//!   checkpoint/        model-N.bpk, optim-N.bpk, scheduler-N.bpk after every epoch (Burn
//!                      keeps the last two and the one with the best test loss)
//!   train/ valid/      Burn's per-iteration metric logs
//!   experiment.log     the run's log (Burn's per-epoch lines, warnings; see run_log)
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::base::atomic;
use crate::base::error::{RunError, shell_quote};
use crate::report::epoch_record::{EpochRecord, from_csv};

/// What `config.json` holds.
#[derive(Serialize, Deserialize)]
struct ConfigFile<C> {
    experiment: String,
    version: String,
    config: C,
}

/// A run directory (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// `metrics.csv`.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }

    /// `summary.json`.
    pub fn summary_path(&self) -> PathBuf {
        self.root.join("summary.json")
    }

    /// `model.bpk`, the final model.
    pub fn model_path(&self) -> PathBuf {
        self.root.join("model.bpk")
    }

    /// `checkpoint/`.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// `runs/<experiment>/<UTC date-time>` under the current directory, made unique.
    pub fn default_path(experiment: &str) -> PathBuf {
        let base = PathBuf::from("runs").join(experiment);
        let stamp = utc_stamp(std::time::SystemTime::now());
        let mut path = base.join(&stamp);
        let mut n = 2;
        while path.exists() {
            path = base.join(format!("{stamp}-{n}"));
            n += 1;
        }
        path
    }

    /// Checks that `path` can hold a new run: it holds no run, and it can be created and
    /// written (checked by creating it and writing a probe file, which is removed).
    pub fn check_new(path: &Path) -> Result<(), RunError> {
        Self::refuse_existing_run(path)?;
        std::fs::create_dir_all(path).map_err(|e| RunError::io("create directory", path, e))?;
        let probe = crate::base::atomic::temp_sibling(&path.join("probe"), "probe");
        atomic::write(&probe, b"").map_err(|e| RunError::io("write in", path, e))?;
        let _ = std::fs::remove_file(&probe);
        Ok(())
    }

    fn refuse_existing_run(path: &Path) -> Result<(), RunError> {
        let dir = RunDir {
            root: path.to_path_buf(),
        };
        if dir.config_path().exists() || dir.checkpoint_dir().exists() {
            return Err(RunError::usage(
                format!("{} already holds a run", path.display()),
                Some(format!(
                    "continue it with --resume {}, or choose another --out",
                    shell_quote(&path.display().to_string())
                )),
            ));
        }
        Ok(())
    }

    /// Creates a directory for a new run; refuses one that already holds a run.
    pub fn create(path: &Path) -> Result<Self, RunError> {
        Self::refuse_existing_run(path)?;
        std::fs::create_dir_all(path).map_err(|e| RunError::io("create directory", path, e))?;
        Ok(RunDir {
            root: path.to_path_buf(),
        })
    }

    /// An existing run of `experiment` (for `--resume` or for loading its model).
    pub fn open(path: &Path, experiment: &str) -> Result<Self, RunError> {
        let fail = |message: String, hint: Option<String>| RunError::Resume {
            dir: path.to_path_buf(),
            message,
            hint,
        };
        if !path.is_dir() {
            return Err(fail(
                "no such directory".into(),
                Some("pass the run directory printed when the run started (runs/<experiment>/<date-time>)".into()),
            ));
        }
        let dir = RunDir {
            root: path.to_path_buf(),
        };
        if !dir.config_path().is_file() {
            return Err(fail(
                "it is not a run directory (it has no config.json)".into(),
                Some("pass the run directory printed when the run started (runs/<experiment>/<date-time>)".into()),
            ));
        }
        let saved = dir.read_experiment()?;
        if saved != experiment {
            return Err(fail(
                format!("it is a run of {saved}, not of {experiment}"),
                Some(format!("resume it with the {saved} binary")),
            ));
        }
        Ok(dir)
    }

    fn read_config_value(&self) -> Result<serde_json::Value, RunError> {
        let path = self.config_path();
        let text = std::fs::read_to_string(&path).map_err(|e| RunError::io("read", &path, e))?;
        serde_json::from_str(&text).map_err(|e| RunError::Resume {
            dir: self.root.clone(),
            message: format!("{} is not valid JSON: {e}", path.display()),
            hint: None,
        })
    }

    fn read_experiment(&self) -> Result<String, RunError> {
        let value = self.read_config_value()?;
        Ok(value
            .get("experiment")
            .and_then(|v| v.as_str())
            .unwrap_or("an unknown experiment")
            .to_string())
    }

    /// Writes `config.json`.
    pub fn write_config<C: Serialize>(&self, experiment: &str, config: &C) -> Result<(), RunError> {
        let file = ConfigFile {
            experiment: experiment.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            config,
        };
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| RunError::Internal(format!("cannot serialise the config: {e}")))?;
        let path = self.config_path();
        atomic::write(&path, (text + "\n").as_bytes()).map_err(|e| RunError::io("write", &path, e))
    }

    /// Reads the configuration saved in `config.json`.
    pub fn read_config<C: DeserializeOwned>(&self) -> Result<C, RunError> {
        let mut value = self.read_config_value()?;
        let config = value.get_mut("config").map(serde_json::Value::take);
        let config = config.ok_or_else(|| RunError::Resume {
            dir: self.root.clone(),
            message: "config.json has no \"config\" entry".into(),
            hint: None,
        })?;
        serde_json::from_value(config).map_err(|e| RunError::Resume {
            dir: self.root.clone(),
            message: format!("config.json was written by another version of the experiment ({e})"),
            hint: Some("start a new run with --out".into()),
        })
    }

    /// The last epoch with a complete checkpoint (model, optimiser and scheduler files).
    pub fn last_checkpoint(&self) -> Option<usize> {
        self.checkpoint_epochs().into_iter().next()
    }

    /// The epochs with all three checkpoint files present, newest first.
    pub fn checkpoint_epochs(&self) -> Vec<usize> {
        let dir = self.checkpoint_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut epochs: Vec<usize> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_prefix("model-")?
                    .strip_suffix(".bpk")?
                    .parse::<usize>()
                    .ok()
            })
            .filter(|epoch| {
                ["optim", "scheduler"]
                    .iter()
                    .all(|k| dir.join(format!("{k}-{epoch}.bpk")).is_file())
            })
            .collect();
        epochs.sort_unstable_by(|a, b| b.cmp(a));
        epochs
    }

    /// Reads the three files of epoch `epoch`'s checkpoint as Burn will when it resumes
    /// from it (Burn's own loading panics on a damaged file): `Err` names the first damaged
    /// file and what is wrong with it.
    pub fn check_checkpoint(&self, epoch: usize) -> Result<(), String> {
        use burn::optim::OptimizerRecord;
        use burn::optim::lr_scheduler::LrSchedulerRecord;
        use burn::store::ModuleRecord;
        use burn::train::checkpoint::Checkpoint;
        let dir = self.checkpoint_dir();
        let path = |kind: &str| dir.join(format!("{kind}-{epoch}.bpk"));
        let damaged = |kind: &str, e: &dyn std::fmt::Display| {
            format!("{} is damaged: {e}", path(kind).display())
        };
        for kind in ["model", "optim", "scheduler"] {
            crate::run::checkpoint::verify(&path(kind)).map_err(|e| damaged(kind, &e))?;
        }
        // Files a training strategy keeps beside Burn's (the truncated-BPTT snapshots
        // `tbptt-<epoch>.json`, see simple-sequence's truncated_bptt) must at least be whole JSON.
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let file = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(&format!("-{epoch}.json")) {
                    let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
                    serde_json::from_str::<serde_json::Value>(&text)
                        .map_err(|e| format!("{} is damaged: {e}", file.display()))?;
                }
            }
        }
        <ModuleRecord as Checkpoint>::load(path("model")).map_err(|e| damaged("model", &e))?;
        let optim = <OptimizerRecord as Checkpoint>::load(path("optim"))
            .map_err(|e| damaged("optim", &e))?;
        // Re-encoding reads every tensor's bytes, which a truncated file cannot supply.
        optim.into_bytes().map_err(|e| damaged("optim", &e))?;
        <LrSchedulerRecord as Checkpoint>::load(path("scheduler"))
            .map_err(|e| damaged("scheduler", &e))?;
        Ok(())
    }

    /// `checkpoint/model-<epoch>.bpk`.
    pub fn checkpoint_model_path(&self, epoch: usize) -> PathBuf {
        self.checkpoint_dir().join(format!("model-{epoch}.bpk"))
    }

    /// The rows of `metrics.csv` (empty if there is none yet).
    pub fn read_metrics(&self) -> Result<Vec<EpochRecord>, RunError> {
        let path = self.metrics_path();
        match std::fs::read_to_string(&path) {
            // Every row the project writes ends with a newline: text after the last one is
            // a row cut short (a damaged file), not data.
            Ok(text) => from_csv(&text[..text.rfind('\n').map_or(0, |i| i + 1)]).map_err(|e| {
                RunError::Resume {
                    dir: self.root.clone(),
                    message: format!("{} is not readable: {e}", path.display()),
                    hint: None,
                }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(RunError::io("read", &path, e)),
        }
    }
}

/// `2026-11-22T13-05-09Z` for `time` (UTC; `-` instead of `:` so it is a portable file name).
pub fn utc_stamp(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn stamps() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "1970-01-01T00-00-00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_525_509);
        assert_eq!(utc_stamp(t), "2026-11-24T13-05-09Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_stamp(leap), "2000-02-29T00-00-00Z");
    }

    #[test]
    fn checkpoints_need_all_three_files_and_runs_are_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::create(&tmp.path().join("run")).unwrap();
        assert_eq!(dir.last_checkpoint(), None);
        std::fs::create_dir_all(dir.checkpoint_dir()).unwrap();
        for (k, e) in [
            ("model", 1),
            ("optim", 1),
            ("scheduler", 1),
            ("model", 2),
            ("optim", 2),
        ] {
            std::fs::write(dir.checkpoint_dir().join(format!("{k}-{e}.bpk")), b"x").unwrap();
        }
        assert_eq!(dir.last_checkpoint(), Some(1));
        dir.write_config("toy", &serde_json::json!({"epochs": 3}))
            .unwrap();
        let err = RunDir::create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("already holds a run"), "{err}");
        let opened = RunDir::open(dir.path(), "toy").unwrap();
        let config: serde_json::Value = opened.read_config().unwrap();
        assert_eq!(config["epochs"], 3);
        let err = RunDir::open(dir.path(), "other").unwrap_err();
        assert!(
            err.to_string().contains("it is a run of toy, not of other"),
            "{err}"
        );
        let err = RunDir::open(&tmp.path().join("nope"), "toy").unwrap_err();
        assert!(err.to_string().contains("no such directory"), "{err}");
    }
}
