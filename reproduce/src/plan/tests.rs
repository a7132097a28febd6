use std::path::Path;

use super::sweeps::{MODERN_STEP_SECONDS, MODERN_SWEEP, PAPER_SWEEP, print_config, sweep_steps};
use super::*;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn checkpoint(dir: &Path, epoch: usize) {
    for kind in ["model", "optim", "scheduler"] {
        write(&dir.join(format!("checkpoint/{kind}-{epoch}.bpk")), "x");
    }
}

const CONFIG: &str =
    r#"{"experiment": "lstm-mnist", "version": "0", "config": {"training": {"epochs": 3}}}"#;

#[test]
fn single_runs_are_skipped_resumed_or_moved_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let lstm = &Unit::parse("lstm-mnist").unwrap();
    let dir = run_path(tmp.path(), lstm, 1);
    assert_eq!(decide(lstm, &dir), Action::Start);

    // Killed before config.json: moved aside, numbered past what is already there.
    std::fs::create_dir_all(&dir).unwrap();
    let aside = |n: usize| dir.with_file_name(format!("seed-1.incomplete-{n}"));
    assert_eq!(decide(lstm, &dir), Action::MoveAside(aside(1)));
    std::fs::create_dir_all(aside(1)).unwrap();
    assert_eq!(decide(lstm, &dir), Action::MoveAside(aside(2)));

    // Started but no checkpoint yet: --resume would refuse it.
    write(&dir.join("config.json"), CONFIG);
    assert_eq!(decide(lstm, &dir), Action::MoveAside(aside(2)));
    checkpoint(&dir, 1);
    assert_eq!(decide(lstm, &dir), Action::Resume);
    // Stopped early (summary written, not completed): resumed.
    write(&dir.join("summary.json"), r#"{"completed": false}"#);
    assert_eq!(decide(lstm, &dir), Action::Resume);
    // Every epoch checkpointed but no summary: --resume would refuse it.
    checkpoint(&dir, 3);
    assert!(matches!(decide(lstm, &dir), Action::MoveAside(_)));
    write(&dir.join("summary.json"), r#"{"completed": true}"#);
    assert_eq!(decide(lstm, &dir), Action::Done);

    // Another experiment's run is not resumed as this one.
    let elman = &Unit::parse("elman-mnist").unwrap();
    let other = run_path(tmp.path(), elman, 1);
    write(&other.join("config.json"), CONFIG);
    checkpoint(&other, 1);
    assert!(matches!(decide(elman, &other), Action::MoveAside(_)));
}

#[test]
fn the_adding_problem_is_done_when_every_network_is() {
    let tmp = tempfile::tempdir().unwrap();
    let adding = &Unit::parse("adding-problem").unwrap();
    let dir = run_path(tmp.path(), adding, 2);
    std::fs::create_dir_all(dir.join("rnn")).unwrap();
    assert!(matches!(decide(adding, &dir), Action::MoveAside(_)));
    write(&dir.join("comparison.json"), "{}");
    assert_eq!(decide(adding, &dir), Action::Resume);
    for net in ["rnn", "lstm"] {
        write(
            &dir.join(net).join("summary.json"),
            r#"{"completed": true}"#,
        );
    }
    assert_eq!(decide(adding, &dir), Action::Resume);
    write(&dir.join("gru/summary.json"), r#"{"completed": true}"#);
    assert_eq!(decide(adding, &dir), Action::Done);
}

#[test]
fn progress_counts_the_epochs_of_every_network() {
    let tmp = tempfile::tempdir().unwrap();
    let header = "epoch,train_loss,train_accuracy,test_loss,test_accuracy\n";
    let config = |epochs: usize| {
        format!(
            r#"{{"experiment": "EXP", "version": "0", "config": {{"training": {{"epochs": {epochs}}}}}}}"#
        )
    };
    let lstm = &Unit::parse("lstm-mnist").unwrap();
    let dir = run_path(tmp.path(), lstm, 1);
    assert_eq!(progress(lstm, &dir), None);
    write(
        &dir.join("config.json"),
        &config(10).replace("EXP", "lstm-mnist"),
    );
    let started = progress(lstm, &dir).unwrap();
    assert_eq!((started.done, started.planned, started.epoch), (0, 10, 0));
    let rows = "1,2.0,0.2,1.9,0.25\n2,1.5,0.5,1.4,0.55\n";
    write(&dir.join("metrics.csv"), &format!("{header}{rows}"));
    let p = progress(lstm, &dir).unwrap();
    assert_eq!((p.done, p.planned, p.network, p.epoch), (2, 10, None, 2));
    assert_eq!(p.test, Some(0.55));

    // The comparison: rnn done (3 epochs), lstm on its first, gru not started.
    let adding = &Unit::parse("adding-problem").unwrap();
    let dir = run_path(tmp.path(), adding, 1);
    for (net, rows) in [
        ("rnn", "1,,,0.3,\n2,,,0.2,\n3,,,0.1,\n"),
        ("lstm", "1,,,0.15,\n"),
    ] {
        write(
            &dir.join(net).join("config.json"),
            &config(3).replace("EXP", "adding-problem"),
        );
        write(
            &dir.join(net).join("metrics.csv"),
            &format!("{header}{rows}"),
        );
    }
    let p = progress(adding, &dir).unwrap();
    assert_eq!(
        (p.done, p.planned, p.network, p.epoch),
        (4, 9, Some("lstm"), 1)
    );
    assert_eq!(p.test, Some(0.15));
}

#[test]
fn arguments_and_names() {
    let lstm = &Unit::parse("lstm-mnist").unwrap();
    let dir = Path::new("out/lstm-mnist/seed-3");
    let args = arguments(lstm, 3, dir, false, true);
    assert_eq!(
        args[..5],
        ["--seed", "3", "--out", "out/lstm-mnist/seed-3", "--plain"]
    );
    assert!(args.contains(&"--limit-train".to_string()));
    let args = arguments(lstm, 3, dir, true, true);
    assert_eq!(args, ["--resume", "out/lstm-mnist/seed-3", "--plain"]);
    let err = experiment("lstm").unwrap_err();
    assert!(err.contains("unknown experiment \"lstm\"") && err.contains("adding-problem"));
}

/// The adding-problem binary beside the test's (`target/release/`), built by `just test`.
fn adding_problem_binary() -> std::path::PathBuf {
    let me = std::env::current_exe().unwrap();
    let release = me.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = release.join(format!("adding-problem{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: build the binaries first (`cargo build --release --workspace`, as `just test` does)",
        bin.display()
    );
    bin
}

#[test]
fn the_sweeps_are_the_binarys_presets() {
    let bin = adding_problem_binary();
    let (p, m) = (
        experiment("adding-paper").unwrap(),
        experiment("adding-modern").unwrap(),
    );
    // A preset without --model trains its networks: the ones the sweep runs.
    for (exp, preset) in [(p, "paper"), (m, "modern")] {
        let configs = print_config(&bin, &["--preset", preset]).unwrap();
        let networks: Vec<&str> = configs
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["model"]["cell"].as_str().unwrap())
            .collect();
        assert_eq!(exp.networks, networks, "{preset}");
    }
    // The lengths of the paper's Fig. 2, and the three of the modern setting.
    assert_eq!(PAPER_SWEEP.lengths, [150, 200, 300, 400]);
    assert_eq!(MODERN_SWEEP.lengths, [100, 200, 400]);
    assert_eq!(sweep_steps(&bin, &PAPER_SWEEP, "irnn", false), Some(1e6));
    assert_eq!(sweep_steps(&bin, &MODERN_SWEEP, "irnn", false), Some(6e4));
    assert_eq!(sweep_steps(&bin, &PAPER_SWEEP, "lstm", true), Some(32.0));
    assert_eq!(
        sweep_steps(&bin, &PAPER_SWEEP, "no-such-network", false),
        None
    );
    let unit = Unit::parse("adding-modern/T400-irnn").unwrap();
    let secs = estimate(&bin, &unit, false);
    assert!(
        (secs - 6e4 * 400.0 * MODERN_STEP_SECONDS).abs() < 1e-6,
        "{secs}"
    );
    // Every reference reading names a length and network the sweep runs.
    for sweep in [&PAPER_SWEEP, &MODERN_SWEEP] {
        let exp = EXPERIMENTS.iter().find(|e| e.sweep == Some(sweep)).unwrap();
        for r in sweep.reference {
            assert!(sweep.lengths.contains(&r.seq_len) && exp.networks.contains(&r.network));
        }
    }
}

#[test]
fn a_sweep_runs_each_length_and_network_on_its_own() {
    let paper = experiment("adding-paper").unwrap();
    let units = paper.units(false, &[150, 200]);
    let names: Vec<String> = units.iter().map(Unit::name).collect();
    assert_eq!(names.len(), 8);
    assert_eq!(names[0], "adding-paper/T150-lstm");
    assert_eq!(names[7], "adding-paper/T200-irnn");
    assert_eq!(paper.units(false, &[]).len(), 16);
    assert_eq!(
        paper.units(true, &[]).len(),
        4,
        "--quick: the first length only"
    );
    assert_eq!(paper.program(), "adding-problem");

    let unit = Unit::parse("adding-paper/T200-relu").unwrap();
    assert_eq!(unit.setting, Some((200, "relu")));
    let dir = run_path(Path::new("out"), &unit, 2);
    assert_eq!(dir, Path::new("out/adding-paper/T200-relu/seed-2"));
    let dirs = model_dirs(&unit, &dir);
    assert_eq!(
        dirs,
        [("adding-paper/T200/relu".to_string(), dir.join("relu"))]
    );
    let args = arguments(&unit, 2, &dir, false, false);
    let tail = ["--preset", "paper", "--seq-len", "200", "--model", "relu"];
    assert_eq!(args[5..], tail);
    assert_eq!(arguments(&unit, 2, &dir, true, true).len(), 3);
    assert!(Unit::parse("adding-paper/T999-relu").is_err());
    assert!(Unit::parse("adding-paper").unwrap_err().contains("sweep"));
    assert_eq!(Unit::parse("lstm-mnist").unwrap().setting, None);

    let config = serde_json::json!({"config": {"data": {"train_size": 100_000},
        "training": {"batch_size": 16, "limit_train": null}}});
    assert_eq!(steps_per_epoch(&config), Some(6250.0));
}
