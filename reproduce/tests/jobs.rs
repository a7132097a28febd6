//! A reproduction run as scheduler jobs (`--emit-jobs`, then `xargs -P 2`, then `--collect`)
//! reports what the in-process runner reports, with tiny budgets (`--quick`) on the long
//! adding problem's two sweeps and on two of pixel MNIST's; a pixel sweep adopts the runs
//! started by hand in its place. Runs the release binaries next to `reproduce` (`just test`
//! builds them first; pixel MNIST is found as a run finds it, e.g. `$MNIST_DIR`).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const REPRODUCE: &str = env!("CARGO_BIN_EXE_reproduce");

/// The experiment binary `name` beside `reproduce`.
fn sibling(name: &str) -> std::path::PathBuf {
    let bin = Path::new(REPRODUCE);
    let sibling = bin.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        sibling.is_file(),
        "{} is missing: build the binaries first (`cargo build --release --workspace`, as `just test` does)",
        sibling.display()
    );
    sibling
}

fn reproduce(args: &[&str]) -> Output {
    let bin = Path::new(REPRODUCE);
    sibling("adding-problem");
    sibling("irnn-mnist");
    Command::new(bin)
        .args(args)
        .output()
        .expect("reproduce runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `reproduce ARGS --emit-jobs FILE`, which must succeed, and returns FILE's lines.
fn emit_jobs(args: &[&str], file: &Path) -> String {
    let o = reproduce(&[args, &["--emit-jobs", file.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", text(&o));
    std::fs::read_to_string(file).unwrap()
}

/// report.json without what differs between two reproductions of the same runs: when and
/// where they ran, how long each took, and the run directories' paths.
fn comparable(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for key in ["date", "command", "machine"] {
        v.as_object_mut().unwrap().remove(key);
    }
    for (_, e) in v["experiments"].as_object_mut().unwrap() {
        for key in ["seconds", "runs"] {
            e.as_object_mut().unwrap().remove(key);
        }
    }
    v
}

#[test]
fn jobs_on_a_scheduler_give_the_in_process_report() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("in-process"), tmp.path().join("jobs"));
    let plan = [
        "--quick",
        "--seeds",
        "1",
        "--experiments",
        "adding-paper,adding-modern",
    ];
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());

    let o = reproduce(&[&plan[..], &["--out", a_s]].concat());
    assert!(o.status.success(), "{}", text(&o));

    let jobs = tmp.path().join("jobs.txt");
    let jobs_s = jobs.to_str().unwrap();
    let lines = emit_jobs(&[&plan[..], &["--out", b_s]].concat(), &jobs);
    // adding-paper at T = 150: four networks; adding-modern at T = 100: two.
    assert_eq!(lines.lines().count(), 6, "{lines}");
    assert!(
        lines.contains("--job adding-paper/T150-irnn/seed-1"),
        "{lines}"
    );
    assert!(!b.join("report.json").exists(), "--emit-jobs runs nothing");

    // Nothing finished yet: --collect names every run as missing and fails.
    let o = reproduce(&["--collect", b_s]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("6 of 6 runs have not finished"),
        "{}",
        text(&o)
    );

    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("xargs -P 2 -I{{}} sh -c {{}} < '{jobs_s}'"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    let o = reproduce(&["--collect", b_s]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(comparable(&a), comparable(&b));
    let md = std::fs::read_to_string(b.join("report.md")).unwrap();
    assert!(md.contains("| 150 | irnn | 1 |"), "{md}");
    assert!(md.contains("| 100 | rnn | 1 |"), "{md}");
    for png in ["adding-paper-T150.png", "adding-modern-T100.png"] {
        assert!(b.join(png).is_file(), "{png} not drawn");
    }

    // Everything finished: no job left to emit.
    assert_eq!(emit_jobs(&[&plan[..], &["--out", b_s]].concat(), &jobs), "");

    // A run lost: the report says which, and the exit code says it is incomplete.
    std::fs::remove_dir_all(b.join("adding-modern/T100-rnn/seed-1")).unwrap();
    let o = reproduce(&["--collect", b_s]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let md = std::fs::read_to_string(b.join("report.md")).unwrap();
    assert!(md.contains("- `adding-modern/T100-rnn/seed-1`"), "{md}");

    // --out alone goes on with the directory's plan, not the defaults: the lost run is the
    // one job left, and the plan --collect reads is unchanged.
    let lines = emit_jobs(&["--quick", "--out", b_s], &jobs);
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(
        lines.contains("--job adding-modern/T100-rnn/seed-1"),
        "{lines}"
    );
    let o = reproduce(&["--collect", b_s]);
    assert!(
        text(&o).contains("1 of 6 runs have not finished"),
        "{}",
        text(&o)
    );
}

/// `irnn-mnist ARGS --seed 1 --out DIR --plain` with the quick budget, which must succeed.
fn irnn_mnist(args: &[&str], dir: &Path) {
    let quick = [
        "--epochs",
        "1",
        "--limit-train",
        "16",
        "--limit-test",
        "16",
        "--plain",
    ];
    let o = Command::new(sibling("irnn-mnist"))
        .args(args)
        .args(["--seed", "1", "--out", dir.to_str().unwrap()])
        .args(quick)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn pixel_sweeps_adopt_runs_started_by_hand_and_run_as_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("in-process"), tmp.path().join("jobs"));
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
    let plan = [
        "--quick",
        "--seeds",
        "1",
        "--experiments",
        "smnist-modern,psmnist-modern",
    ];

    // Started by hand where the sweeps put them, before any reproduction: psmnist-modern's
    // ReLU RNN finished; smnist-modern's LSTM stopped after its first of two epochs (as a
    // killed run leaves it: a checkpoint, no summary).
    for dir in [&a, &b] {
        let relu = dir.join("psmnist-modern/relu/seed-1");
        irnn_mnist(
            &["--preset", "modern", "--model", "relu", "--permuted"],
            &relu,
        );
        let lstm = dir.join("smnist-modern/lstm/seed-1");
        irnn_mnist(&["--preset", "modern", "--model", "lstm"], &lstm);
        let config = std::fs::read_to_string(lstm.join("config.json")).unwrap();
        let config = config.replace("\"epochs\": 1,", "\"epochs\": 2,");
        std::fs::write(lstm.join("config.json"), config).unwrap();
        std::fs::remove_file(lstm.join("summary.json")).unwrap();
    }

    // A directory of runs started by hand holds no plan: --collect takes it from the flags.
    let o = reproduce(&[&plan[..], &["--collect", b_s]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let md = std::fs::read_to_string(b.join("report.md")).unwrap();
    assert!(
        md.contains("| lstm | sequential | modern | 1 | 1 / 2 |"),
        "{md}"
    );
    assert!(md.contains("unfinished (1 of 2 steps)"), "{md}");
    assert!(
        text(&o).contains("1 of 2 runs have not finished"),
        "{}",
        text(&o)
    );

    let o = reproduce(&[&plan[..], &["--out", a_s]].concat());
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("smnist-modern/lstm seed 1: resuming"), "{out}");
    assert!(
        out.contains("psmnist-modern/relu seed 1: already finished"),
        "{out}"
    );
    let log = std::fs::read_to_string(a.join("smnist-modern/lstm/seed-1.log")).unwrap();
    let resumed = format!("--resume {a_s}/smnist-modern/lstm/seed-1 --plain");
    assert!(log.lines().next().unwrap().ends_with(&resumed), "{log}");

    let jobs = tmp.path().join("jobs.txt");
    let lines = emit_jobs(&[&plan[..], &["--out", b_s]].concat(), &jobs);
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(
        lines.contains("--job smnist-modern/lstm/seed-1 --quick"),
        "{lines}"
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "xargs -P 2 -I{{}} sh -c {{}} < '{}'",
            jobs.display()
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    let o = reproduce(&["--collect", b_s]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(comparable(&a), comparable(&b));
    let md = std::fs::read_to_string(b.join("report.md")).unwrap();
    assert!(
        md.contains("| lstm | sequential | modern | 1 | 2 / 2 |"),
        "{md}"
    );
    assert!(
        md.contains("| relu | permuted | modern | 1 | 1 / 1 |"),
        "{md}"
    );
    for png in ["smnist-modern.png", "psmnist-modern.png"] {
        assert!(b.join(png).is_file(), "{png} not drawn");
    }
}
