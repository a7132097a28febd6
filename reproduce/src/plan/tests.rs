use std::path::Path;

use super::pixels::{MODERN_PIXEL_STEP_SECONDS, PIXELS};
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
    sibling_binary("adding-problem")
}

/// The experiment binary `name` beside the test's (`target/release/`), built by `just test`.
fn sibling_binary(name: &str) -> std::path::PathBuf {
    let me = std::env::current_exe().unwrap();
    let release = me.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = release.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
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

    let config = serde_json::json!({"data": {"train_size": 100_000},
        "training": {"batch_size": 16, "limit_train": null}});
    assert_eq!(steps_per_epoch(Task::Adding, &config), Some(6250.0));
}

const PIXEL_SWEEPS: [&str; 4] = [
    "smnist-paper",
    "psmnist-paper",
    "smnist-modern",
    "psmnist-modern",
];

#[test]
fn the_pixel_sweeps_are_the_binarys_presets() {
    let bin = sibling_binary("irnn-mnist");
    // Steps per run: paper 267 epochs of 60 000 / 16 = 3 750 steps; modern 120 (sequential)
    // and 250 (permuted) epochs of ceil(57 000 / 128) = 446 steps.
    let steps = [1_001_250.0, 1_001_250.0, 53_520.0, 111_500.0];
    for (name, steps) in PIXEL_SWEEPS.into_iter().zip(steps) {
        let exp = experiment(name).unwrap();
        let sweep = exp.sweep.unwrap();
        assert_eq!(exp.program(), "irnn-mnist");
        assert_eq!(exp.networks, ["lstm", "rnn", "relu", "irnn"], "{name}");
        let permuted = sweep.task == (Task::Pixels { permuted: true });
        assert_eq!(permuted, name.starts_with('p'), "{name}");
        for &network in exp.networks {
            // The configuration a run of the sweep trains with is the one it asks for.
            let unit = Unit::parse(&format!("{name}/{network}")).unwrap();
            let args = arguments(&unit, 1, Path::new("d"), false, false);
            let tail: Vec<&str> = args[5..].iter().map(String::as_str).collect();
            let config = print_config(&bin, &tail).unwrap();
            assert_eq!(config["model"]["network"], network, "{name}");
            let view = &config["view"];
            assert_eq!(
                view.get("permuted-pixel").is_some(),
                permuted,
                "{name}: {view}"
            );
            assert!(permuted || view == "pixel", "{name}: {view}");
            assert_eq!(
                sweep_steps(&bin, sweep, network, false),
                Some(steps),
                "{name}"
            );
            assert_eq!(sweep_steps(&bin, sweep, network, true), Some(1.0), "{name}");
        }
        // Every reference names a network the sweep runs; only the IRNN and the tanh RNN have
        // a number.
        let numbers: Vec<&str> = (sweep.reference.iter())
            .filter(|r| r.outcome != Reported::Accuracy(None))
            .map(|r| r.network)
            .collect();
        assert_eq!(numbers, ["rnn", "irnn"], "{name}");
        assert!(
            sweep
                .reference
                .iter()
                .all(|r| exp.networks.contains(&r.network))
        );
    }
    let unit = Unit::parse("smnist-modern/irnn").unwrap();
    let secs = estimate(&bin, &unit, false);
    let expected = 53_520.0 * PIXELS as f64 * MODERN_PIXEL_STEP_SECONDS[1];
    assert!((secs - expected).abs() < 1e-6, "{secs}");
    assert!((expected / 53_520.0 - 0.042).abs() < 1e-9, "42 ms per step");
}

#[test]
fn a_pixel_sweep_runs_each_network_in_the_binarys_own_directory() {
    let exp = experiment("psmnist-modern").unwrap();
    let names: Vec<String> = exp.units(false, &[]).iter().map(Unit::name).collect();
    assert_eq!(names[0], "psmnist-modern/lstm");
    assert_eq!(names[3], "psmnist-modern/irnn");
    // --lengths picks the adding problem's lengths; a pixel sweep has its one.
    assert_eq!(exp.units(false, &[150]).len(), 4);
    let quick: Vec<String> = exp.units(true, &[]).iter().map(Unit::name).collect();
    assert_eq!(quick, ["psmnist-modern/relu"]);
    // The four sweeps' quick runs cover the four networks between them.
    let mut covered: Vec<&str> = PIXEL_SWEEPS
        .iter()
        .flat_map(|e| experiment(e).unwrap().units(true, &[]))
        .map(|u| u.setting.unwrap().1)
        .collect();
    covered.sort();
    assert_eq!(covered, ["irnn", "lstm", "relu", "rnn"]);

    let unit = Unit::parse("psmnist-modern/irnn").unwrap();
    assert_eq!(unit.setting, Some((PIXELS, "irnn")));
    let dir = run_path(Path::new("out"), &unit, 2);
    assert_eq!(dir, Path::new("out/psmnist-modern/irnn/seed-2"));
    let dirs = model_dirs(&unit, &dir);
    assert_eq!(dirs, [("psmnist-modern/irnn".to_string(), dir.clone())]);
    let args = arguments(&unit, 2, &dir, false, false);
    assert_eq!(
        args[5..],
        ["--preset", "modern", "--model", "irnn", "--permuted"]
    );
    let unit = Unit::parse("smnist-paper/lstm").unwrap();
    let args = arguments(&unit, 1, &dir, false, true);
    let tail = ["--preset", "paper", "--model", "lstm", "--epochs", "1"];
    assert_eq!(args[5..11], tail);
    assert_eq!(arguments(&unit, 1, &dir, true, false).len(), 3);
    assert!(Unit::parse("smnist-paper/T784-irnn").is_err());
    assert!(Unit::parse("smnist-paper/gru").is_err());

    let config = serde_json::json!({"training": {"batch_size": 128, "limit_train": 57_000}});
    let pixels = Task::Pixels { permuted: false };
    assert_eq!(steps_per_epoch(pixels, &config), Some(446.0));
    let config = serde_json::json!({"training": {"batch_size": 16, "limit_train": null}});
    assert_eq!(steps_per_epoch(pixels, &config), Some(3750.0));
}

/// A pixel sweep's run directory is the binary's own: one started by hand where the sweep
/// puts it (`irnn-mnist --preset modern --model irnn --seed 1 --out DIR`) is resumed or, when
/// finished, kept; the adding sweeps still need their comparison.json.
#[test]
fn a_pixel_run_started_by_hand_is_adopted() {
    let tmp = tempfile::tempdir().unwrap();
    let irnn = &Unit::parse("smnist-modern/irnn").unwrap();
    let dir = run_path(tmp.path(), irnn, 1);
    let config = CONFIG
        .replace("lstm-mnist", "irnn-mnist")
        .replace("\"epochs\": 3", "\"epochs\": 120");
    write(&dir.join("config.json"), &config);
    assert!(
        matches!(decide(irnn, &dir), Action::MoveAside(_)),
        "no checkpoint yet"
    );
    checkpoint(&dir, 7);
    assert_eq!(decide(irnn, &dir), Action::Resume);
    write(&dir.join("summary.json"), r#"{"completed": true}"#);
    assert_eq!(decide(irnn, &dir), Action::Done);
    let p = progress(irnn, &dir).unwrap();
    assert_eq!((p.planned, p.network), (120, Some("irnn")));

    // Another binary's run in its place is not resumed as irnn-mnist's.
    let other = run_path(tmp.path(), &Unit::parse("smnist-modern/rnn").unwrap(), 1);
    write(&other.join("config.json"), CONFIG);
    checkpoint(&other, 1);
    let rnn = &Unit::parse("smnist-modern/rnn").unwrap();
    assert!(matches!(decide(rnn, &other), Action::MoveAside(_)));

    // The adding sweep: a network's checkpoint is not enough without comparison.json.
    let adding = &Unit::parse("adding-paper/T150-irnn").unwrap();
    let dir = run_path(tmp.path(), adding, 1);
    let config = CONFIG.replace("lstm-mnist", "adding-problem");
    write(&dir.join("irnn/config.json"), &config);
    checkpoint(&dir.join("irnn"), 1);
    assert!(matches!(decide(adding, &dir), Action::MoveAside(_)));
    write(&dir.join("comparison.json"), "{}");
    assert_eq!(decide(adding, &dir), Action::Resume);
}
