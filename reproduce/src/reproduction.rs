//! What a reproduction runs ([`Plan`]): its experiments, seeds, lengths and mode, chosen on
//! the command line or read back from the directory of an earlier one, where [`prepare`]
//! records it (`reproduce.json`) for `--job` and `--collect`.

use std::path::Path;

use crate::cli::Cli;
use crate::plan::{self, EXPERIMENTS, Experiment};
use crate::{Stop, stop};

/// What a reproduction runs: saved in its directory (`reproduce.json`) so that `--job` and
/// `--collect` work from it.
pub struct Plan {
    pub quick: bool,
    pub seeds: Vec<u64>,
    pub experiments: Vec<&'static Experiment>,
    pub lengths: Vec<usize>,
}

impl Plan {
    pub fn from_cli(cli: &Cli) -> Plan {
        let quick = cli.quick;
        let chosen = |e: &Experiment| match cli.experiments.is_empty() {
            true => e.by_default || (quick && e.name != "irnn-mnist"),
            false => cli.experiments.iter().any(|c| c.name == e.name),
        };
        Plan {
            quick,
            seeds: (1..=cli.seeds.unwrap_or(if quick { 2 } else { 5 })).collect(),
            experiments: EXPERIMENTS.iter().filter(|e| chosen(e)).collect(),
            lengths: cli.lengths.clone(),
        }
    }

    /// The plan an earlier reproduction in `out` was made with, when the command line names
    /// no experiments, seeds or lengths of its own and asks for the same mode (quick or
    /// full): `reproduce --out DIR` and `reproduce --out DIR --emit-jobs FILE` go on with
    /// what DIR holds rather than with the defaults.
    pub fn resumed(cli: &Cli, out: &Path) -> Option<Plan> {
        if !cli.experiments.is_empty() || cli.seeds.is_some() || !cli.lengths.is_empty() {
            return None;
        }
        let saved = plan::read_json(&out.join("reproduce.json"))?;
        let plan = Plan::from_json(&saved).filter(|p| p.quick == cli.quick)?;
        let names: Vec<&str> = plan.experiments.iter().map(|e| e.name).collect();
        sayln!(
            "{}: going on with its plan ({}; {} seed(s))",
            out.display(),
            names.join(", "),
            plan.seeds.len()
        );
        Some(plan)
    }

    /// Every run, in the order they run: experiment, then setting, then seed.
    pub fn runs(&self) -> Vec<(plan::Unit, u64)> {
        let units = self
            .experiments
            .iter()
            .flat_map(|e| e.units(self.quick, &self.lengths));
        units
            .flat_map(|u| self.seeds.iter().map(move |&k| (u, k)))
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        let names: Vec<&str> = self.experiments.iter().map(|e| e.name).collect();
        serde_json::json!({
            "quick": self.quick, "seeds": self.seeds, "experiments": names, "lengths": self.lengths,
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Plan> {
        let experiments = v["experiments"].as_array()?.iter();
        let experiments = experiments.map(|e| plan::experiment(e.as_str()?).ok());
        let numbers = |key: &str| -> Option<Vec<u64>> {
            v[key].as_array()?.iter().map(|n| n.as_u64()).collect()
        };
        Some(Plan {
            quick: v["quick"].as_bool()?,
            seeds: numbers("seeds")?,
            experiments: experiments.collect::<Option<_>>()?,
            lengths: numbers("lengths")?
                .into_iter()
                .map(|n| n as usize)
                .collect(),
        })
    }
}

/// Creates `out` and checks that it can be written, and that an earlier reproduction there
/// used the same mode; records the plan (`reproduce.json`).
pub fn prepare(out: &Path, plan: &Plan) -> Result<(), Stop> {
    let quick = plan.quick;
    let other = "choose another --out (quick and full runs do not share a directory)";
    std::fs::create_dir_all(out).map_err(|e| {
        stop(
            2,
            format!("cannot create --out {}: {e}", out.display()),
            None,
        )
    })?;
    let marker = out.join("reproduce.json");
    if let Some(saved) = plan::read_json(&marker)
        && saved["quick"].as_bool() != Some(quick)
    {
        let mode = if quick { "full" } else { "quick" };
        let message = format!("{} holds a {mode} reproduction", out.display());
        return Err(stop(2, message, Some(other)));
    }
    let text = plan.json().to_string() + "\n";
    rnn_train::base::atomic::write(&marker, text.as_bytes()).map_err(|e| {
        stop(
            2,
            format!("cannot write in --out {}: {e}", out.display()),
            None,
        )
    })
}
