//! Several runs of one experiment under one directory, trained one after the other and
//! resumable as a whole (adding-problem's RNN vs LSTM vs GRU):
//!
//! ```text
//! <out>/
//!   comparison.json   {"experiment", "plan": one configuration per run, then the
//!                     experiment's results once every run has finished}
//!   <name>/           one run directory per run (config.json, metrics.csv, ...)
//! ```
//!
//! `--resume OUT` reads the plan back: finished runs are kept, the one that stopped continues
//! from its last checkpoint, the others start. Flags typed with `--resume` are checked against
//! the plan as a resumed run checks them against its `config.json`
//! ([`rnn_train::run::reconcile::reconcile`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use rnn_train::ExperimentConfig;
use rnn_train::base::console::Console;
use rnn_train::base::error::RunError;
use rnn_train::cli::args::CommonArgs;
use rnn_train::learn::summary::Summary;
use rnn_train::report::epoch_record::EpochRecord;
use rnn_train::run::reconcile::reconcile_run;
use rnn_train::run::run_dir::RunDir;

/// What `<out>/comparison.json` holds: the plan, then the experiment's results `R` (written
/// with `R::default()` when the comparison starts).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComparisonFile<C, R> {
    /// The experiment's name.
    pub experiment: String,
    /// One configuration per run, in training order.
    pub plan: Vec<C>,
    /// The experiment's results, beside the plan.
    #[serde(flatten)]
    pub results: R,
}

/// One finished run of a comparison.
pub struct Member<C> {
    /// Its configuration.
    pub config: C,
    /// Its run directory.
    pub dir: PathBuf,
    /// Its `summary.json`.
    pub summary: Summary,
    /// Its per-epoch metrics.
    pub records: Vec<EpochRecord>,
}

/// A comparison being run (see the module docs).
pub struct Comparison<C> {
    /// The experiment's name.
    pub experiment: &'static str,
    /// What one run is called in messages (adding-problem: "network").
    pub member: &'static str,
    /// The comparison's directory.
    pub out: PathBuf,
    /// One configuration per run, in training order.
    pub plan: Vec<C>,
    resuming: bool,
}

impl<C: ExperimentConfig> Comparison<C> {
    /// With `--resume OUT`, the interrupted comparison saved in OUT; otherwise a new one in
    /// `--out` (by default `runs/<experiment>/<date-time>`) of the runs `plan` lists, whose
    /// `comparison.json` is written at once. `R` is the type of the experiment's results.
    pub fn open<R: Serialize + DeserializeOwned + Default>(
        experiment: &'static str,
        member: &'static str,
        common: &CommonArgs,
        plan: impl FnOnce() -> Vec<C>,
    ) -> Result<Self, RunError> {
        let mut comparison = Comparison {
            experiment,
            member,
            out: PathBuf::new(),
            plan: Vec::new(),
            resuming: common.resume.is_some(),
        };
        match &common.resume {
            Some(dir) => {
                comparison.out = dir.clone();
                comparison.plan = comparison.read_plan::<R>()?;
            }
            None => {
                comparison.out = common
                    .out
                    .clone()
                    .unwrap_or_else(|| RunDir::default_path(experiment));
                comparison.plan = plan();
                comparison.create::<R>()?;
            }
        }
        Ok(comparison)
    }

    /// Trains every run of the plan in order, each in `<out>/<name(config)>`, by `train`:
    /// given the shared flags pointed at the run's directory (`--out`, or `--resume` for a run
    /// that has a checkpoint) and the configuration to request, it starts the session, trains,
    /// and returns the configuration it ran with, its summary and its records. A run that
    /// stops stops the comparison (the error names `<out>` to resume). When resuming, a run
    /// that finished is kept, and `requested` (the configuration the flags ask for, for a
    /// planned one) is reconciled with the plan under the `explicit` flags.
    #[allow(clippy::type_complexity)]
    pub fn run(
        &self,
        common: &CommonArgs,
        explicit: &BTreeSet<String>,
        name: impl Fn(&C) -> String,
        requested: impl Fn(&C) -> C,
        mut train: impl FnMut(&CommonArgs, C) -> Result<(C, Summary, Vec<EpochRecord>), RunError>,
        console: &Console,
    ) -> Result<Vec<Member<C>>, RunError> {
        let mut members = Vec::with_capacity(self.plan.len());
        for planned in &self.plan {
            let name = name(planned);
            let dir = self.out.join(&name);
            if !self.resuming {
                let member = self.train_member(common, &dir, planned.clone(), &mut train);
                members.push(member.map_err(|e| self.point_resume_at(e))?);
                continue;
            }
            let config = reconcile_run(planned, &requested(planned), explicit, &self.out)?;
            let member = match self.previous_result(&dir, config.training().epochs)? {
                Some(done) => {
                    console.line(format!("{name}: already trained in {}", dir.display()));
                    done
                }
                None => {
                    self.restart_if_unusable(&dir, &name, console)?;
                    self.train_member(common, &dir, config, &mut train)
                        .map_err(|e| self.point_resume_at(e))?
                }
            };
            members.push(member);
        }
        Ok(members)
    }

    /// Writes `comparison.json`: the plan and `results`.
    pub fn write<R: Serialize>(&self, results: R) -> Result<(), RunError> {
        let file = ComparisonFile {
            experiment: self.experiment.to_string(),
            plan: self.plan.clone(),
            results,
        };
        let path = self.out.join("comparison.json");
        let text =
            serde_json::to_string_pretty(&file).map_err(|e| RunError::Internal(e.to_string()))?;
        rnn_train::base::atomic::write(&path, (text + "\n").as_bytes())
            .map_err(|e| RunError::io("write", &path, e))
    }

    /// One run in `dir`: a new one, or the continuation of the one whose checkpoint `dir`
    /// holds.
    fn train_member(
        &self,
        common: &CommonArgs,
        dir: &Path,
        config: C,
        train: &mut impl FnMut(&CommonArgs, C) -> Result<(C, Summary, Vec<EpochRecord>), RunError>,
    ) -> Result<Member<C>, RunError> {
        let mut common = common.clone();
        common.resume = None;
        common.out = Some(dir.to_path_buf());
        if self.resuming && dir.join("config.json").is_file() {
            common.resume = Some(dir.to_path_buf());
            common.out = None;
        }
        let (config, summary, records) = train(&common, config)?;
        Ok(Member {
            config,
            dir: dir.to_path_buf(),
            summary,
            records,
        })
    }

    /// A run that stopped during its first epoch has nothing worth keeping: its directory is
    /// removed, so it starts again.
    fn restart_if_unusable(
        &self,
        dir: &Path,
        name: &str,
        console: &Console,
    ) -> Result<(), RunError> {
        if dir.join("config.json").is_file()
            && RunDir::open(dir, self.experiment)?
                .last_checkpoint()
                .is_none()
        {
            console.line(format!(
                "{name}: no checkpoint in {}, starting it again",
                dir.display()
            ));
            std::fs::remove_dir_all(dir).map_err(|e| RunError::io("remove", dir, e))?;
        }
        Ok(())
    }

    /// Creates `out` and its `comparison.json` for a new comparison.
    fn create<R: Serialize + Default>(&self) -> Result<(), RunError> {
        let out = &self.out;
        if out.join("comparison.json").exists() || out.join("config.json").exists() {
            return Err(RunError::usage(
                format!("{} already holds a run", out.display()),
                Some(format!(
                    "continue it with --resume {}, or choose another --out",
                    out.display()
                )),
            ));
        }
        std::fs::create_dir_all(out).map_err(|e| RunError::io("create directory", out, e))?;
        self.write(R::default())
    }

    /// The plan saved in `<out>/comparison.json` (for `--resume OUT`).
    fn read_plan<R: DeserializeOwned>(&self) -> Result<Vec<C>, RunError> {
        let dir = &self.out;
        let fail = |message: String, hint: Option<String>| RunError::Resume {
            dir: dir.clone(),
            message,
            hint,
        };
        let file = dir.join("comparison.json");
        if !file.is_file() {
            if dir.join("config.json").is_file()
                && let Some(parent) = dir.parent()
            {
                return Err(fail(
                    format!("it is one {}'s run of a comparison", self.member),
                    Some(format!(
                        "resume the comparison: --resume {}",
                        parent.display()
                    )),
                ));
            }
            let what = if dir.is_dir() {
                let article = if self.experiment.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                format!(
                    "it is not {article} {} comparison (it has no comparison.json)",
                    self.experiment
                )
            } else {
                "no such directory".to_string()
            };
            return Err(fail(
                what,
                Some("pass the --out directory of the interrupted run".into()),
            ));
        }
        let text = std::fs::read_to_string(&file).map_err(|e| RunError::io("read", &file, e))?;
        let saved: ComparisonFile<C, R> = serde_json::from_str(&text).map_err(|e| {
            fail(
                format!("{} is not readable ({e})", file.display()),
                Some("start a new comparison with --out".into()),
            )
        })?;
        Ok(saved.plan)
    }

    /// The finished run in `dir`, if its `summary.json` says it completed `epochs` epochs (a
    /// resumed comparison with more `--epochs` trains it further).
    fn previous_result(&self, dir: &Path, epochs: usize) -> Result<Option<Member<C>>, RunError> {
        let path = dir.join("summary.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        let Ok(summary) = serde_json::from_str::<Summary>(&text) else {
            return Ok(None);
        };
        if !summary.completed || summary.epochs < epochs {
            return Ok(None);
        }
        let run_dir = RunDir::open(dir, self.experiment)?;
        let records = run_dir.read_metrics()?;
        // The comparison reads every epoch's row; metrics.csv has no second copy to restore
        // lost rows from.
        let missing: Vec<String> = (1..=summary.epochs)
            .filter(|e| !records.iter().any(|r| r.epoch == *e && r.is_complete()))
            .map(|e| e.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(RunError::Resume {
                dir: dir.to_path_buf(),
                message: format!(
                    "{} lacks the rows of epoch {} (the file is damaged)",
                    run_dir.metrics_path().display(),
                    missing.join(", ")
                ),
                hint: Some(
                    "restore metrics.csv from a backup, or start the comparison again with --out"
                        .into(),
                ),
            });
        }
        Ok(Some(Member {
            config: run_dir.read_config()?,
            dir: dir.to_path_buf(),
            records,
            summary,
        }))
    }

    /// A run that stopped (dashboard, `--stop-after-epoch`) stops the comparison; the resume
    /// hint names the comparison's directory, which continues every run.
    fn point_resume_at(&self, error: RunError) -> RunError {
        match error {
            RunError::Stopped {
                epoch,
                epochs,
                reason,
                ..
            } => RunError::Stopped {
                epoch,
                epochs,
                reason,
                dir: self.out.clone(),
            },
            other => other,
        }
    }
}
