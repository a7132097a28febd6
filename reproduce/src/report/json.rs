//! `report.json`: every experiment's (or network's) per-seed values, statistics and curves,
//! with how the report was made and the runs that failed or are missing.

use serde_json::{Value, json};

use super::pixels::{pixel_json, preset_json};
use super::read::Entry;
use super::stats::stats;
use super::verdict::{reference, steps_to_solve, sweep_verdict};
use super::{Context, Failure};
use crate::plan::{SOLVED_MSE, Task};

fn entry_json(e: &Entry) -> Value {
    let s = stats(&e.values);
    let curves: Vec<Vec<[f64; 2]>> = e
        .curves
        .iter()
        .map(|c| c.iter().map(|&(x, y)| [x, y]).collect())
        .collect();
    let tutorial = e.exp.tutorial.filter(|_| e.exp.baseline.is_none());
    let mut v = json!({
        "metric": e.exp.metric.field(),
        "tutorial": tutorial,
        "values": e.values,
        "mean": s.as_ref().map(|s| s.mean),
        "sd": s.as_ref().and_then(|s| s.sd),
        "min": s.as_ref().map(|s| s.min),
        "max": s.as_ref().map(|s| s.max),
        "seconds": e.seconds,
        "runs": e.runs,
        "seeds": e.seeds,
    });
    let pixels = e.exp.sweep.filter(|s| s.task != Task::Adding);
    if let Some(sweep) = pixels {
        pixel_json(sweep, e, &mut v);
    } else if let Some((t, network)) = e.setting {
        v["seq_len"] = json!(t);
        v["network"] = json!(network);
        v["steps_curve"] = json!(curves);
        v["steps_trained"] = json!(e.steps.iter().map(|s| s.0).collect::<Vec<_>>());
        v["steps_planned"] = json!(e.steps.iter().map(|s| s.1).collect::<Vec<_>>());
        let solved: Vec<Option<f64>> = e.curves.iter().map(|c| steps_to_solve(c)).collect();
        v["steps_to_solve"] = json!(solved);
        v["solved_mse"] = json!(SOLVED_MSE);
        v["reference"] = json!(reference(e).map(|r| r.note));
        v["outcome"] = json!(sweep_verdict(e));
    } else {
        v["epochs"] = json!(curves);
    }
    if let Some(b) = e.exp.baseline {
        v["baseline"] = json!(b);
        v["below_baseline"] = json!(e.values.iter().map(|&x| x < b).collect::<Vec<_>>());
    }
    if !e.exp.tutorial_curve.is_empty() {
        let from = e.exp.curve_from;
        let pts: Vec<[f64; 2]> = e
            .exp
            .tutorial_curve
            .iter()
            .enumerate()
            .map(|(i, &y)| [(from + i) as f64, y])
            .collect();
        v["tutorial_epochs"] = json!(pts);
    }
    if !e.train_set.is_empty() {
        v["extra"] = json!({"train_set_accuracy": e.train_set, "tutorial_train_set_accuracy": e.exp.tutorial_train});
    }
    if let Some(p) = &e.parameters {
        v["parameters"] = p.clone();
    }
    v
}

/// `report.json`.
pub fn json_report(ctx: &Context, groups: &[Vec<Entry>], failures: &[Failure]) -> Value {
    let mut experiments = serde_json::Map::new();
    for e in groups.iter().flatten() {
        experiments.insert(e.name.clone(), entry_json(e));
    }
    let failed: Vec<Value> = failures
        .iter()
        .map(|f| json!({"experiment": f.experiment, "seed": f.seed, "exit_code": f.exit_code, "log": f.log}))
        .collect();
    json!({
        "date": ctx.date, "machine": ctx.machine, "seeds": ctx.seeds, "quick": ctx.quick,
        "command": ctx.command, "sd": "sample standard deviation (n - 1); null with one seed",
        "experiments": experiments, "presets": preset_json(groups), "failed": failed,
        "missing": ctx.missing,
    })
}
