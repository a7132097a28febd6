use serde_json::{Value, json};

use super::json::json_report;
use super::markdown::{markdown, sweep_section};
use super::pixels::{
    pixel_section, pixel_verdict, plot_pixels, preset_json, preset_pairs, preset_section,
};
use super::read::{Entry, collect};
use super::stats::stats;
use super::verdict::{gru_lowest, steps_to_solve, sweep_verdict, verdict};
use super::*;
use crate::plan::{self, Experiment};

fn entry(name: &str, exp: &'static Experiment, values: &[f64]) -> Entry {
    Entry {
        name: name.into(),
        exp,
        seeds: (1..=values.len() as u64).collect(),
        values: values.to_vec(),
        seconds: vec![1.0; values.len()],
        runs: vec![],
        curves: vec![],
        train_set: vec![],
        parameters: None,
        setting: None,
        steps: vec![],
        stopped: vec![],
    }
}

#[test]
fn statistics_use_the_sample_standard_deviation() {
    let s = stats(&[0.9, 0.95, 1.0]).unwrap();
    assert!((s.mean - 0.95).abs() < 1e-12);
    assert!((s.sd.unwrap() - 0.05).abs() < 1e-12);
    assert_eq!((s.min, s.max), (0.9, 1.0));
    assert_eq!(stats(&[0.5]).unwrap().sd, None);
    assert_eq!(stats(&[]), None);
}

/// A seed that ended in NaN or infinity shows in the range: it is never skipped.
#[test]
fn a_non_finite_seed_is_the_range() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let s = stats(&[0.9, bad, 1.0]).unwrap();
        assert!(!s.min.is_finite() && !s.max.is_finite(), "{bad}: {s:?}");
    }
}

#[test]
fn verdicts_place_the_tutorial_against_the_seeds() {
    let lstm = plan::experiment("lstm-mnist").unwrap(); // tutorial 95.8 %
    let e = entry("lstm-mnist", lstm, &[0.950, 0.960]);
    let v = verdict(&e, &stats(&e.values).unwrap());
    assert!(
        v.contains("95.80 % lies inside the seeds' range [95.00 %, 96.00 %]"),
        "{v}"
    );
    assert!(
        v.contains("mean 95.50 % does not reach it (-0.30 points)"),
        "{v}"
    );
    let e = entry("lstm-mnist", lstm, &[0.96, 0.97]);
    let v = verdict(&e, &stats(&e.values).unwrap());
    assert!(
        v.contains("lies below the seeds' range") && v.contains("reaches it"),
        "{v}"
    );

    let adding = plan::experiment("adding-problem").unwrap();
    let e = entry("adding-problem/rnn", adding, &[0.02, 0.2]);
    let v = verdict(&e, &stats(&e.values).unwrap());
    assert!(
        v.contains("below the 0.1767 baseline in 1 of 2 seeds"),
        "{v}"
    );
    assert!(v.contains("seed 2 0.2000 NOT below"), "{v}");
}

#[test]
fn reports_mark_the_gru_and_the_baseline() {
    let adding = plan::experiment("adding-problem").unwrap();
    let group = vec![
        entry("adding-problem/rnn", adding, &[0.02, 0.03]),
        entry("adding-problem/lstm", adding, &[0.002, 0.0001]),
        entry("adding-problem/gru", adding, &[0.0003, 0.0004]),
    ];
    assert_eq!(gru_lowest(&group), Some((1, 2)));
    let ctx = Context {
        date: "d".into(),
        machine: "m".into(),
        seeds: vec![1, 2],
        quick: true,
        command: "c".into(),
        missing: vec![],
    };
    let groups = [group];
    let json = json_report(&ctx, &groups, &[]);
    let rnn = &json["experiments"]["adding-problem/rnn"];
    assert_eq!(rnn["metric"], "test_mse");
    assert_eq!(rnn["tutorial"], Value::Null);
    assert_eq!(rnn["baseline"], 0.1767);
    assert_eq!(rnn["below_baseline"], json!([true, true]));
    let md = markdown(&ctx, &groups, &[vec!["adding-problem.png".into()]], &[]);
    assert!(
        md.contains("| adding-problem/gru | test_mse | < 0.1767 (baseline) | 2 |"),
        "{md}"
    );
    assert!(
        md.contains("lowest test MSE (as the tutorial reports) in 1 of 2 seeds"),
        "{md}"
    );
    assert!(md.contains("![adding-problem](adding-problem.png)"), "{md}");
}

#[test]
fn sweep_verdicts_compare_each_network_with_the_paper() {
    let paper = plan::experiment("adding-paper").unwrap();
    let run = |t: usize, net: &'static str, curves: Vec<Vec<(f64, f64)>>, planned: f64| {
        let mut e = entry(&format!("adding-paper/T{t}/{net}"), paper, &[]);
        e.setting = Some((t, net));
        for c in curves {
            e.values.push(c.last().unwrap().1);
            e.steps.push((c.last().unwrap().0, planned));
            e.seeds.push(e.seeds.len() as u64 + 1);
            e.curves.push(c);
        }
        e
    };
    let solving = vec![(1e5, 0.16), (4e5, 0.04), (1e6, 0.01)];
    let flat = vec![(1e5, 0.17), (1e6, 0.166)];
    assert_eq!(steps_to_solve(&solving), Some(4e5));
    assert_eq!(steps_to_solve(&flat), None);
    let v = sweep_verdict(&run(150, "irnn", vec![solving.clone()], 1e6));
    assert!(v.starts_with("matches, sooner: solved by 400k"), "{v}");
    let v = sweep_verdict(&run(200, "rnn", vec![solving.clone()], 1e6));
    assert!(v.starts_with("better"), "{v}");
    let v = sweep_verdict(&run(400, "irnn", vec![flat.clone()], 1e6));
    assert!(v.starts_with("matches: not solved in 1.00M"), "{v}");
    // A run still going, short of the paper's steps: not yet judged.
    let v = sweep_verdict(&run(300, "irnn", vec![vec![(2e5, 0.16)]], 1e6));
    assert!(v.starts_with("not yet judged: 200k of 1.00M"), "{v}");
    let v = sweep_verdict(&run(200, "rnn", vec![vec![(4e5, 0.166)]], 1e6));
    assert_eq!(
        v,
        "as the reference so far: not solved in 400k of 1.00M steps"
    );
    // A run that ended with an error says so, whatever its curve.
    let mut diverged = run(150, "irnn", vec![vec![(1e5, 0.08)]], 1e6);
    diverged
        .stopped
        .push(Some("the training loss became inf".into()));
    let v = sweep_verdict(&diverged);
    assert_eq!(
        v,
        "stopped: the run ended early (the training loss became inf)"
    );
    let v = sweep_verdict(&run(150, "lstm", vec![solving, flat.clone()], 1e6));
    assert!(v.contains("1 of 2 seeds"), "{v}");
    let md = sweep_section(
        paper.sweep.unwrap(),
        &[run(150, "lstm", vec![flat], 1e6)],
        &["adding-paper-T150.png".into()],
    );
    assert!(
        md.contains("| 150 | lstm | 1 | 1.00M | — | 0.1660 |"),
        "{md}"
    );
    assert!(
        md.contains("![adding-paper-T150.png](adding-paper-T150.png)"),
        "{md}"
    );
}

const METRICS_HEADER: &str = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,\
    learning_rate,train_seconds,test_seconds\n";

/// Writes the files irnn-mnist leaves in a run directory of `exp`'s network `network`, seed
/// `seed`, under `out`: config.json (`epochs` planned, the preset's batches) and
/// metrics.csv with one row per test accuracy; with `finished`, a summary.json that says so.
fn pixel_run(
    out: &std::path::Path,
    exp: &str,
    network: &str,
    seed: u64,
    epochs: usize,
    tests: &[&str],
    finished: bool,
) {
    let dir = out.join(format!("{exp}/{network}/seed-{seed}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (batch, limit) = match exp.ends_with("paper") {
        true => (json!(16), Value::Null),
        false => (json!(128), json!(57_000)),
    };
    let config = json!({"experiment": "irnn-mnist", "version": "0", "config": {
        "view": "pixel", "training": {"epochs": epochs, "batch_size": batch, "limit_train": limit}}});
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let rows: String = (tests.iter().enumerate())
        .map(|(i, t)| format!("{},1.0,0.5,1.0,{t},0.0001,30.0,2.0\n", i + 1))
        .collect();
    std::fs::write(dir.join("metrics.csv"), format!("{METRICS_HEADER}{rows}")).unwrap();
    if finished {
        let summary = json!({"completed": true, "epochs": epochs, "epochs_configured": epochs});
        std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    }
}

/// The row of `network` in a pixel sweep's section.
fn pixel_row<'a>(md: &'a str, network: &str) -> &'a str {
    let start = format!("| {network} |");
    md.lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("{md}"))
}

#[test]
fn a_pixel_sweep_reads_its_runs_against_their_planned_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let exp = plan::experiment("smnist-modern").unwrap();
    // The IRNN three epochs into 120, the tanh RNN finished (3 of 3 epochs) in two seeds, the
    // LSTM (no number read from the paper) finished, the ReLU RNN not started.
    pixel_run(
        out,
        "smnist-modern",
        "irnn",
        1,
        120,
        &["0.30", "0.52", "0.61"],
        false,
    );
    pixel_run(
        out,
        "smnist-modern",
        "rnn",
        1,
        3,
        &["0.2", "0.3", "0.36"],
        true,
    );
    pixel_run(
        out,
        "smnist-modern",
        "rnn",
        2,
        3,
        &["0.2", "0.3", "0.33"],
        true,
    );
    pixel_run(
        out,
        "smnist-modern",
        "lstm",
        1,
        3,
        &["0.5", "0.9", "0.98"],
        true,
    );
    let group = collect(exp, out, &[1, 2], &[], false);
    let [lstm, rnn, relu, irnn] = &group[..] else {
        panic!("four networks");
    };
    assert_eq!(irnn.steps, [(1338.0, 53_520.0)]);
    assert_eq!(irnn.curves[0][0], (446.0, 0.30));
    assert_eq!(irnn.values, [0.61]);
    assert_eq!(pixel_verdict(irnn), "unfinished (1.3k of 54k steps)");
    assert_eq!(rnn.seeds, [1, 2]);
    assert_eq!(rnn.steps, [(1338.0, 1338.0); 2]);
    // Mean 34.5 % against the paper's 35.0 %.
    assert_eq!(
        pixel_verdict(rnn),
        "short by 0.50 points; 1 of 2 seeds at or above it"
    );
    assert_eq!(pixel_verdict(lstm), "no reference");
    assert_eq!(pixel_verdict(relu), "no run yet");

    let md = pixel_section(exp.sweep.unwrap(), &group, &["smnist-modern.png".into()]);
    assert!(pixel_row(&md, "irnn").starts_with(
        "| irnn | sequential | modern | 1 | 1.3k / 54k | 61.00 % | 97.0 % | unfinished (1.3k of 54k steps) |"
    ), "{md}");
    assert!(
        pixel_row(&md, "rnn").contains(
            "| 2 | 1.3k / 1.3k, 1.3k / 1.3k | 34.50 % [33.00 %, 36.00 %] | 35.0 % (“RNN + tanh”) |"
        ),
        "{md}"
    );
    assert!(
        pixel_row(&md, "lstm").contains("| 98.00 % | not read | no reference |"),
        "{md}"
    );
    assert!(
        pixel_row(&md, "relu").ends_with("| 0 | — | — | not read | no run yet |"),
        "{md}"
    );

    let ctx = Context {
        date: "d".into(),
        machine: "m".into(),
        seeds: vec![1, 2],
        quick: false,
        command: "c".into(),
        missing: vec![],
    };
    let json = json_report(&ctx, std::slice::from_ref(&group), &[]);
    let irnn = &json["experiments"]["smnist-modern/irnn"];
    assert_eq!(irnn["reference"], 0.97);
    assert_eq!(irnn["task"], "sequential");
    assert_eq!(irnn["steps_planned"], json!([53_520.0]));
    assert_eq!(
        json["experiments"]["smnist-modern/lstm"]["reference"],
        Value::Null
    );
    let md = markdown(&ctx, std::slice::from_ref(&group), &[vec![]], &[]);
    assert!(
        md.contains("| smnist-modern/irnn | test_accuracy | 97.00 % (paper) | 1 |"),
        "{md}"
    );

    assert_eq!(
        plot_pixels(out, &group, false).unwrap(),
        ["smnist-modern.png"]
    );
    assert!(out.join("smnist-modern.png").is_file());
}

#[test]
fn a_pixel_run_that_reaches_the_paper_says_so_and_nan_is_no_number() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let exp = plan::experiment("psmnist-paper").unwrap(); // IRNN 82.0 %
    pixel_run(out, "psmnist-paper", "irnn", 1, 2, &["0.7", "0.83"], true);
    pixel_run(out, "psmnist-paper", "rnn", 1, 2, &["0.3", "NaN"], true);
    let group = collect(exp, out, &[1], &[], false);
    let (rnn, irnn) = (&group[1], &group[3]);
    assert_eq!(
        irnn.steps,
        [(7500.0, 7500.0)],
        "paper: 3 750 steps per epoch"
    );
    assert_eq!(pixel_verdict(irnn), "reaches the paper (+1.00 points)");
    assert!(rnn.values[0].is_nan());
    let v = pixel_verdict(rnn);
    assert_eq!(v, "no verdict: a seed's test accuracy is not a number");
    let md = pixel_section(exp.sweep.unwrap(), &group, &[]);
    assert!(pixel_row(&md, "rnn").contains("| NaN % | 35.0 %"), "{md}");
    // Beside a good seed, a NaN one still spoils the mean and the range.
    pixel_run(out, "psmnist-paper", "rnn", 2, 2, &["0.3", "0.5"], true);
    let group = collect(exp, out, &[1, 2], &[], false);
    let v = pixel_verdict(&group[1]);
    assert_eq!(v, "no verdict: a seed's test accuracy is not a number");
    let md = pixel_section(exp.sweep.unwrap(), &group, &[]);
    assert!(
        pixel_row(&md, "rnn").contains("| NaN % [NaN %, NaN %] |"),
        "{md}"
    );
}

#[test]
fn the_presets_side_by_side_compare_finished_runs_only() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    // IRNN: both finished, modern above; tanh RNN: both finished, modern below; LSTM: the
    // modern run unfinished; ReLU RNN: only the modern preset ran it.
    pixel_run(out, "smnist-paper", "irnn", 1, 2, &["0.8", "0.90"], true);
    pixel_run(out, "smnist-modern", "irnn", 1, 2, &["0.9", "0.95"], true);
    pixel_run(out, "smnist-paper", "rnn", 1, 2, &["0.3", "0.40"], true);
    pixel_run(out, "smnist-modern", "rnn", 1, 2, &["0.3", "0.35"], true);
    pixel_run(out, "smnist-paper", "lstm", 1, 2, &["0.5", "0.6"], true);
    pixel_run(out, "smnist-modern", "lstm", 1, 120, &["0.7"], false);
    pixel_run(out, "smnist-modern", "relu", 1, 2, &["0.5", "0.6"], true);
    let groups: Vec<Vec<Entry>> = ["smnist-paper", "smnist-modern"]
        .iter()
        .map(|name| collect(plan::experiment(name).unwrap(), out, &[1], &[], false))
        .collect();
    let pairs = preset_pairs(&groups);
    let outcomes: Vec<(&str, &str, String)> = pairs
        .iter()
        .map(|p| (p.task, p.network, p.outcome()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("sequential", "lstm", "not both finished".to_string()),
            (
                "sequential",
                "rnn",
                "modern short by 5.00 points".to_string()
            ),
            (
                "sequential",
                "irnn",
                "modern at or above (+5.00 points)".to_string()
            ),
        ]
    );
    let md = preset_section(&groups);
    assert!(
        md.contains(
            "| sequential | lstm | 60.00 % | 70.00 % (446 of 54k steps) | not both finished |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| sequential | irnn | 90.00 % | 95.00 % | modern at or above"),
        "{md}"
    );
    let json = preset_json(&groups);
    assert_eq!(json[2]["paper"], 0.9);
    assert_eq!(
        json[0]["modern"],
        Value::Null,
        "unfinished: no final accuracy"
    );

    // A NaN is no number, whichever preset has it.
    pixel_run(out, "smnist-paper", "irnn", 1, 2, &["0.8", "NaN"], true);
    let groups: Vec<Vec<Entry>> = ["smnist-paper", "smnist-modern"]
        .iter()
        .map(|name| collect(plan::experiment(name).unwrap(), out, &[1], &[], false))
        .collect();
    let irnn = preset_pairs(&groups).pop().unwrap();
    assert_eq!(
        irnn.outcome(),
        "no verdict: a test accuracy is not a number"
    );

    // Without both presets of a task there is nothing to set side by side.
    assert!(preset_section(&groups[1..]).is_empty());
}
