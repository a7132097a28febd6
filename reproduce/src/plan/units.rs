//! One run's place in a reproduction ([`Unit`]): its name, and where its run directories
//! lie under `--out`.

use std::path::{Path, PathBuf};

use super::experiments::{Experiment, experiment};
use super::sweeps::Task;

/// One run's place in a reproduction: an experiment, and for a sweep one length and network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unit {
    pub exp: &'static Experiment,
    /// `(T, network)` of a sweep's run.
    pub setting: Option<(usize, &'static str)>,
}

impl Unit {
    /// `adding-paper/T150-irnn`, `smnist-paper/irnn`, or the experiment's name.
    pub fn name(&self) -> String {
        match (self.setting, self.task()) {
            (Some((t, n)), Some(Task::Adding)) => format!("{}/T{t}-{n}", self.exp.name),
            (Some((_, n)), _) => format!("{}/{n}", self.exp.name),
            (None, _) => self.exp.name.to_string(),
        }
    }

    /// The task of its experiment's sweep.
    pub fn task(&self) -> Option<Task> {
        self.exp.sweep.map(|s| s.task)
    }

    /// The unit whose run directory `name` names (`adding-paper/T150-irnn`,
    /// `smnist-paper/irnn`, `lstm-mnist`).
    pub fn parse(name: &str) -> Result<Unit, String> {
        let (exp, setting) = match name.split_once('/') {
            Some((e, s)) => (experiment(e)?, Some(s)),
            None => (experiment(name)?, None),
        };
        let units = exp.units(false, &[]);
        let found = units.into_iter().find(|u| u.name() == name);
        found.ok_or_else(|| match setting {
            Some(s) => format!("{} has no setting {s:?}", exp.name),
            None => format!("{} is a sweep: name one of its settings", exp.name),
        })
    }
}

/// `dir/<experiment>/seed-<seed>`, or for a sweep `dir/<experiment>/T<len>-<network>/seed-<seed>`
/// (pixel MNIST: `dir/<experiment>/<network>/seed-<seed>`).
pub fn run_path(out: &Path, unit: &Unit, seed: u64) -> PathBuf {
    out.join(unit.name()).join(format!("seed-{seed}"))
}

/// Where the run of `unit` (or of each of its networks) keeps its `summary.json`, with the
/// name the report gives it (`lstm-mnist`, `adding-problem/gru`, `adding-paper/T150/irnn`,
/// `smnist-paper/irnn`: a pixel sweep's run directory is the binary's own).
pub fn model_dirs(unit: &Unit, run: &Path) -> Vec<(String, PathBuf)> {
    let exp = unit.exp;
    match (unit.setting, unit.task()) {
        (Some((t, n)), Some(Task::Adding)) => {
            return vec![(format!("{}/T{t}/{n}", exp.name), run.join(n))];
        }
        (Some((_, n)), _) => return vec![(format!("{}/{n}", exp.name), run.to_path_buf())],
        (None, _) => {}
    }
    if exp.networks.is_empty() {
        vec![(exp.name.to_string(), run.to_path_buf())]
    } else {
        let net = |n: &&str| (format!("{}/{n}", exp.name), run.join(n));
        exp.networks.iter().map(net).collect()
    }
}
