//! The synthetic-task experiments end to end, in-process with small settings: the adding
//! problem's networks beat the predict-1 baseline and a stopped comparison resumes; the
//! simple-sequence network learns to count with truncated BPTT, `generate` continues the
//! cycle, a resumed run takes exactly the next window an uninterrupted one takes, and the
//! carried state is cut from the autodiff graph (which therefore does not grow).
//!
//! The experiments run through their `main_with` (the binaries' whole `main`) with output
//! captured. The memory check runs in a child process (this test binary re-executed with
//! `RNN_SYNTHETIC_CHILD` set), so that no other test's allocations blur it.
//!
//! Everything runs on flex unless `RNN_TEST_BACKEND` names another backend.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use burn::optim::AdamConfig;
use burn::prelude::*;
use rnn_data::{AddingProblem, TbpttIterator, counting_sequence};
use rnn_models::{ElmanStackConfig, LstmStackConfig, Recurrence};
use rnn_train::{BackendChoice, Captured, Console, EpochRecord, Trainer, exit_code};
use simple_sequence::LanguageModelConfig;
use simple_sequence::trainer_report::TABLE_HEADER;
use simple_sequence::truncated_bptt::{CarriedState, StatefulModel, train_window};

type MainWith = fn(Vec<OsString>, &Console) -> i32;

fn adding(argv: Vec<OsString>, console: &Console) -> i32 {
    adding_problem::main_with(argv, console)
}
fn sequence(argv: Vec<OsString>, console: &Console) -> i32 {
    simple_sequence::main_with(argv, console)
}

fn backend() -> String {
    BackendChoice::from_env("RNN_TEST_BACKEND")
        .expect("RNN_TEST_BACKEND names a backend")
        .to_string()
}

/// Runs an experiment in-process with `args` plus the test settings (plain renderer, the
/// test backend; neither for `--help`, `generate` sets its own backend, `--resume` keeps the
/// run's); returns the exit code and the captured output.
fn run(main_with: MainWith, name: &str, args: &[&str]) -> (i32, Captured) {
    let mut argv: Vec<OsString> = vec![name.into()];
    argv.extend(args.iter().map(OsString::from));
    if !args.contains(&"--help") {
        if args.first() == Some(&"generate") {
            argv.extend(["--backend".into(), backend().into()]);
        } else {
            argv.push("--plain".into());
            if !args.contains(&"--resume") {
                argv.extend(["--backend".into(), backend().into()]);
            }
        }
    }
    let (console, captured) = Console::buffer();
    let code = main_with(argv, &console);
    (code, captured)
}

fn assert_ok(what: &str, code: i32, out: &Captured) {
    assert_eq!(
        code,
        0,
        "{what} failed.\nstdout:\n{}\nstderr:\n{}",
        out.stdout(),
        out.stderr()
    );
}

fn read_csv(run_dir: &Path) -> Vec<EpochRecord> {
    let text = std::fs::read_to_string(run_dir.join("metrics.csv")).expect("metrics.csv");
    rnn_train::report::epoch_record::from_csv(&text).expect("valid metrics.csv")
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[1..4], b"PNG", "{} is not a PNG", path.display());
}

fn dir_arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// The per-window training losses Burn logged for `epoch` (`train/epoch-N/Loss.log`: a
/// `value,count` line per item, then the epoch's `value,final`).
fn batch_losses(run_dir: &Path, epoch: usize) -> Vec<f64> {
    let path = run_dir.join(format!("train/epoch-{epoch}/Loss.log"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.split_once(','))
        .filter(|(_, count)| *count != "final")
        .map(|(value, _)| value.parse().expect("a loss value"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// adding-problem

#[test]
fn adding_problem_every_network_beats_the_baseline() {
    // The tutorial's networks and T = 6, with 8000 sequences, 4 epochs, batches of 50 and
    // lr 3e-3 so that the three train in about 3 seconds. (MinPy's initialisation starts the
    // LSTM slower than a zero-bias one: with 4000 sequences its MSE after 4 epochs was 0.10 at
    // seed 42; with 8000, 0.0001 to 0.034 over seeds 1, 2, 3 and 42.)
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("comparison");
    let (code, o) = run(
        adding,
        "adding-problem",
        &[
            "--train-size",
            "8000",
            "--test-size",
            "500",
            "--epochs",
            "4",
            "--batch-size",
            "50",
            "--lr",
            "0.003",
            "--out",
            dir_arg(&out),
        ],
    );
    assert_ok("adding-problem", code, &o);

    // Predicting 1.0 scores ~1/6; carrying only one of the two values would leave the
    // variance of the other, 1/12. Every network must do clearly better than both.
    let (_, test) = AddingProblem::train_test(0, 500, 6, 42).unwrap();
    let baseline = test.predict_one_mse();
    for (model, hidden) in [("rnn", 64), ("lstm", 100), ("gru", 100)] {
        let dir = out.join(model);
        let summary = read_json(&dir.join("summary.json"));
        let mse = summary["test_mse"].as_f64().expect("test_mse");
        assert!(
            mse < 0.4 * baseline,
            "{model}: test MSE {mse} vs baseline {baseline}"
        );
        assert_eq!(summary["completed"], true);
        let records = read_csv(&dir);
        assert_eq!(records.len(), 4);
        let (first, last) = (
            records[0].train_loss.unwrap(),
            records[3].train_loss.unwrap(),
        );
        assert!(
            last < 0.5 * first,
            "{model}: training MSE {first} -> {last}"
        );
        let config = read_json(&dir.join("config.json"));
        assert_eq!(config["config"]["model"]["hidden"], hidden, "{model}");
        for file in ["loss.png", "model.bpk", "metrics.csv"] {
            assert!(dir.join(file).is_file(), "{model}: {file} missing");
        }
    }

    // The comparison: plot, JSON and the printed table.
    assert_png(&out.join("comparison.png"));
    let comparison = read_json(&out.join("comparison.json"));
    let results = comparison["results"].as_array().expect("results");
    assert_eq!(
        results
            .iter()
            .map(|r| r["model"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["rnn", "lstm", "gru"]
    );
    for r in results {
        assert_eq!(r["epochs_to_beat_baseline"], 1, "{r}");
        assert!(
            r["batches_to_beat_baseline"]
                .as_u64()
                .is_some_and(|b| b <= 80),
            "{r}"
        );
        assert!((r["baseline_mse"].as_f64().unwrap() - baseline).abs() < 1e-12);
    }
    let stdout = o.stdout();
    assert!(stdout.contains("epochs to beat baseline"), "{stdout}");
    for model in ["rnn ", "lstm ", "gru "] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(model) && l.contains("  1 ")),
            "{model}: {stdout}"
        );
    }
    assert!(stdout.contains("first below the baseline: "), "{stdout}");
}

/// What `--recurrence` chose for one run stays in that run's model: after an experiment ran
/// in this process with the fused kernel, modules built here still run what each was
/// configured with (checked by the recurrence each reports, not by its numbers).
#[test]
fn a_run_s_recurrence_changes_no_other_module() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fused");
    let args = [
        "--model",
        "gru",
        "--recurrence",
        "fused",
        "--train-size",
        "200",
        "--test-size",
        "100",
        "--epochs",
        "1",
        "--out",
        dir_arg(&out),
    ];
    let (code, o) = run(adding, "adding-problem", &args);
    assert_ok("adding-problem --recurrence fused", code, &o);

    let backend = BackendChoice::from_env("RNN_TEST_BACKEND").unwrap();
    let device = rnn_train::device::open::open(backend, 1)
        .unwrap()
        .main()
        .clone()
        .autodiff();
    let x = Tensor::<3>::ones([2, 3, 4], &device);
    // On the test backends (each has the custom operation) every module runs what it asks for.
    for recurrence in [
        Recurrence::TensorOps,
        Recurrence::Generic,
        Recurrence::Fused,
    ] {
        let rnn = ElmanStackConfig::new(4, 5)
            .with_recurrence(recurrence)
            .init(&device);
        assert_eq!(
            rnn.forward(x.clone(), None).recurrence,
            recurrence,
            "{recurrence}"
        );
        let lstm = LstmStackConfig::new(4, 5)
            .init(&device)
            .with_recurrence(recurrence);
        assert_eq!(
            lstm.forward_last(x.clone(), None).recurrence,
            recurrence,
            "{recurrence}"
        );
    }
}

#[test]
fn adding_problem_resumes_a_stopped_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("stopped");
    let common = [
        "--train-size",
        "1000",
        "--test-size",
        "200",
        "--epochs",
        "2",
        "--seed",
        "5",
    ];
    let with = |extra: &[&'static str], out: &Path| -> Vec<String> {
        common
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .chain([dir_arg(out).to_string()])
            .collect()
    };
    let strs = |v: &[String]| -> Vec<String> { v.to_vec() };

    // GRU first, stopped after epoch 1: exit code 5 and a hint naming the comparison.
    let args = strs(&with(
        &["--model", "gru,rnn", "--stop-after-epoch", "1", "--out"],
        &out,
    ));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, o) = run(adding, "adding-problem", &args);
    assert_eq!(code, exit_code::STOPPED, "{}", o.stderr());
    assert!(
        o.stderr().contains(&format!(
            "hint: continue it with --resume {}",
            out.display()
        )),
        "{}",
        o.stderr()
    );
    assert!(
        !out.join("rnn").exists(),
        "the RNN started although the GRU stopped"
    );

    // A network's own directory is not what --resume takes.
    let (code, o) = run(
        adding,
        "adding-problem",
        &["--resume", dir_arg(&out.join("gru"))],
    );
    assert_eq!(code, exit_code::USAGE);
    assert!(
        o.stderr().contains("resume the comparison: --resume"),
        "{}",
        o.stderr()
    );

    // Flags typed with --resume are held against the saved plan as a run's are against its
    // config.json (only --epochs and --backend may change it).
    let (code, o) = run(
        adding,
        "adding-problem",
        &["--resume", dir_arg(&out), "--hidden", "7"],
    );
    assert_eq!(code, exit_code::USAGE, "{}", o.stderr());
    assert!(
        o.stderr().contains("--hidden 7 differs from the run's 100"),
        "{}",
        o.stderr()
    );

    // Resumed: the GRU continues at epoch 2, then the RNN trains.
    let (code, o) = run(adding, "adding-problem", &["--resume", dir_arg(&out)]);
    assert_ok("adding-problem --resume", code, &o);
    assert!(o.stdout().contains("epochs 2..=2"), "{}", o.stdout());
    for model in ["gru", "rnn"] {
        assert_eq!(
            read_json(&out.join(model).join("summary.json"))["completed"],
            true,
            "{model}"
        );
    }
    assert_eq!(
        read_json(&out.join("comparison.json"))["results"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The resumed GRU ends exactly as an uninterrupted one.
    let straight = tmp.path().join("straight");
    let args = strs(&with(&["--model", "gru", "--out"], &straight));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, o) = run(adding, "adding-problem", &args);
    assert_ok("adding-problem", code, &o);
    let (resumed, reference) = (read_csv(&out.join("gru")), read_csv(&straight.join("gru")));
    assert_eq!(resumed.len(), 2);
    for (a, b) in resumed.iter().zip(&reference) {
        let (x, y) = (a.test_loss.unwrap(), b.test_loss.unwrap());
        assert!(
            (x - y).abs() <= 1e-6 * y.max(1e-3),
            "epoch {}: {x} vs {y}",
            a.epoch
        );
    }

    // Everything finished: a further --resume only rewrites the comparison.
    let (code, o) = run(adding, "adding-problem", &["--resume", dir_arg(&out)]);
    assert_ok("adding-problem --resume (finished)", code, &o);
    assert!(
        o.stdout().contains("gru: already trained"),
        "{}",
        o.stdout()
    );
}

// ---------------------------------------------------------------------------------------------
// simple-sequence

#[test]
fn simple_sequence_learns_to_count_and_generate_continues_the_cycle() {
    // The tutorial's settings exactly (architecture rnn, 10 epochs): under a second on flex.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rnn");
    let (code, o) = run(sequence, "simple-sequence", &["--out", dir_arg(&dir)]);
    assert_ok("simple-sequence", code, &o);

    let records = read_csv(&dir);
    assert_eq!(
        records.iter().map(|r| r.epoch).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    let last = records.last().unwrap();
    let accuracy = last.test_accuracy.unwrap();
    assert!(
        accuracy >= 0.99,
        "validation accuracy after 10 epochs: {accuracy}"
    );
    let (first_loss, last_loss) = (records[0].train_loss.unwrap(), last.train_loss.unwrap());
    assert!(
        last_loss < 0.25 * first_loss,
        "training loss {first_loss} -> {last_loss}"
    );
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(summary["test_accuracy"].as_f64(), Some(accuracy));
    for file in [
        "loss.png",
        "accuracy.png",
        "model.bpk",
        "checkpoint/tbptt-10.json",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }

    // The tutorial's table: one row per epoch with the figures of metrics.csv.
    let stdout = o.stdout();
    assert!(stdout.contains(TABLE_HEADER), "{stdout}");
    for r in &records {
        let row = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&r.epoch.to_string()))
            .unwrap_or_else(|| panic!("no table row for epoch {}:\n{stdout}", r.epoch));
        let cells: Vec<f64> = row.split_whitespace().map(|c| c.parse().unwrap()).collect();
        for (cell, value) in [
            (1, r.train_loss),
            (2, r.test_loss),
            (3, r.train_accuracy),
            (4, r.test_accuracy),
        ] {
            let value = value.unwrap();
            assert!(
                (cells[cell] - value).abs() < 2e-6,
                "epoch {} column {cell}: {row} vs {value}",
                r.epoch
            );
        }
    }

    // generate: one full cycle after the tutorial's prompt.
    let (code, o) = run(
        sequence,
        "simple-sequence",
        &["generate", dir_arg(&dir), "--prompt", "1 2 2 3 3 3"],
    );
    assert_ok("simple-sequence generate", code, &o);
    let cycle: Vec<String> = counting_sequence(10, 2)[6..51]
        .iter()
        .map(u32::to_string)
        .collect();
    assert_eq!(cycle.len(), 45);
    let expected = format!("generated: {}", cycle.join(" "));
    assert!(
        o.stdout().contains(&expected),
        "{}\nexpected {expected}",
        o.stdout()
    );
    assert!(
        o.stdout()
            .contains("all 45 generated tokens continue the counting sequence")
    );

    // A prompt outside the vocabulary is a usage error.
    let (code, o) = run(
        sequence,
        "simple-sequence",
        &["generate", dir_arg(&dir), "--prompt", "1 12"],
    );
    assert_eq!(code, exit_code::USAGE);
    assert!(
        o.stderr()
            .starts_with("error: --prompt: \"12\" is not a token"),
        "{}",
        o.stderr()
    );
}

#[test]
fn simple_sequence_resume_takes_the_same_next_window_as_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let common = ["--epochs", "2", "--seed", "9"];
    let stopped = tmp.path().join("stopped");
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--stop-after-epoch", "1", "--out", dir_arg(&stopped)]);
    let (code, o) = run(sequence, "simple-sequence", &args);
    assert_eq!(code, exit_code::STOPPED, "{}", o.stderr());

    // The snapshot: the stream stands after the 23 windows of epoch 1 (460 steps; the window
    // that completes the pass ends the epoch), with a non-zero carried state.
    let snapshot_path = stopped.join("checkpoint/tbptt-1.json");
    let snapshot = read_json(&snapshot_path);
    assert_eq!(snapshot["position"]["iteration"], 460);
    let state = snapshot["state"][0]["values"].as_array().unwrap();
    assert_eq!(state.len(), 1000);
    assert!(state.iter().any(|v| v.as_f64().unwrap().abs() > 0.1));

    // A copy whose snapshot lost its carried state (zeros), to show that the state matters.
    let zeroed = tmp.path().join("zeroed");
    copy_dir(&stopped, &zeroed);
    let mut blank = snapshot.clone();
    for v in blank["state"][0]["values"].as_array_mut().unwrap() {
        *v = serde_json::json!(0.0);
    }
    std::fs::write(zeroed.join("checkpoint/tbptt-1.json"), blank.to_string()).unwrap();

    let (code, o) = run(
        sequence,
        "simple-sequence",
        &["--resume", dir_arg(&stopped)],
    );
    assert_ok("simple-sequence --resume", code, &o);
    let straight = tmp.path().join("straight");
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--out", dir_arg(&straight)]);
    let (code, o) = run(sequence, "simple-sequence", &args);
    assert_ok("simple-sequence", code, &o);

    // The first window after the resume has the same loss as in the uninterrupted run, and so
    // has every later one.
    let (resumed, reference) = (batch_losses(&stopped, 2), batch_losses(&straight, 2));
    assert_eq!(resumed.len(), 22);
    assert!(
        (resumed[0] - reference[0]).abs() <= 1e-6 * reference[0],
        "next-window loss after the resume {} vs uninterrupted {}",
        resumed[0],
        reference[0]
    );
    for (i, (a, b)) in resumed.iter().zip(&reference).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * b,
            "window {i} of epoch 2: {a} vs {b}"
        );
    }

    // Without the carried state the next window is a different one.
    let (code, o) = run(sequence, "simple-sequence", &["--resume", dir_arg(&zeroed)]);
    assert_ok("simple-sequence --resume (zeroed state)", code, &o);
    let without_state = batch_losses(&zeroed, 2)[0];
    assert!(
        (without_state - reference[0]).abs() > 1e-3 * reference[0],
        "a zeroed state gave the same loss {without_state}: the snapshot's state is not used"
    );

    // A snapshot that is missing is a clear error.
    let broken = tmp.path().join("broken");
    copy_dir(&zeroed, &broken);
    std::fs::remove_file(broken.join("checkpoint/tbptt-2.json")).unwrap();
    let (code, o) = run(
        sequence,
        "simple-sequence",
        &["--resume", dir_arg(&broken), "--epochs", "3"],
    );
    assert_eq!(code, exit_code::USAGE, "{}", o.stderr());
    assert!(o.stderr().contains("tbptt-2.json"), "{}", o.stderr());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn carried_state_is_detached_and_the_graph_does_not_grow() {
    // Runs in a child process: alone there, its resident memory measures this loop only, and
    // its weight initialisation does not race with the runs of the other tests for the
    // backend's global random generator.
    let (report, stderr) = child("windows");
    let report = report.unwrap_or_else(|| panic!("the child reported nothing:\n{stderr}"));
    eprintln!("{report}");

    // What a window's forward pass hands back belongs to its autodiff graph; what the
    // training step carries into the next window does not.
    assert_eq!(report["raw_state_tracked"], report["checked"], "{report}");
    assert_eq!(report["carried_state_tracked"], 0, "{report}");

    // 400 windows after a warm-up of 50: every window's graph is freed by its backward pass,
    // so the process does not grow. (Were each window's graph kept alive through the state,
    // its activations, about 0.3 MB here, would pile up: 120 MB over 400 windows.)
    assert_eq!(report["windows"], 400);
    let growth_mb = report["growth_bytes"].as_f64().unwrap() / 1e6;
    assert!(
        growth_mb < 12.0,
        "resident memory grew by {growth_mb:.1} MB over 400 windows"
    );
}

#[test]
fn without_detaching_the_next_backward_is_refused() {
    // The control for the two tests above: carrying the raw state makes the next window's
    // graph reach into the previous one, whose tape its backward pass consumed. Burn refuses
    // that (it does not retain graphs), so the carry must be detached to train at all.
    let (report, stderr) = child("undetached");
    assert!(
        report.is_none(),
        "training without detaching went through: {report:?}"
    );
    assert!(
        stderr.contains("graph tape has already been consumed"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Help and user mistakes.

#[test]
fn help_states_the_tutorial_defaults() {
    let (code, o) = run(adding, "adding-problem", &["--help"]);
    assert_eq!(code, 0);
    let help = o.stdout();
    for text in [
        "[default: 10]",
        "[default: 100]",
        "[default: 0.001]",
        "rnn,lstm,gru",
        "--preset",
        "--seq-len 150",
        "lstm,rnn,relu,irnn",
        "--seq-len",
        "--train-size",
        "Exit codes",
    ] {
        assert!(
            help.contains(text),
            "adding-problem --help lacks {text:?}:\n{help}"
        );
    }
    assert!(!help.contains("MNIST"), "{help}");
    let (code, o) = run(sequence, "simple-sequence", &["--help"]);
    assert_eq!(code, 0);
    let help = o.stdout();
    for text in [
        "[default: 10]",
        "[default: 5e-4]",
        "--bprop-len",
        "[default: 20]",
        "rnn2",
        "rnn3",
        "lstm",
        "generate",
        "--resume",
        "Exit codes",
    ] {
        assert!(
            help.contains(text),
            "simple-sequence --help lacks {text:?}:\n{help}"
        );
    }
    assert!(!help.contains("MNIST"), "{help}");
}

#[test]
fn user_mistakes_end_with_a_clear_error_and_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(MainWith, &str, Vec<String>, i32, &str); 7] = [
        (
            adding,
            "adding-problem",
            vec!["--seq-len".into(), "1".into()],
            exit_code::USAGE,
            "at least 2 steps",
        ),
        (
            adding,
            "adding-problem",
            vec!["--model".into(), "transformer".into()],
            exit_code::USAGE,
            "invalid value 'transformer'",
        ),
        (
            adding,
            "adding-problem",
            vec![
                "--resume".into(),
                tmp.path().join("nowhere").display().to_string(),
            ],
            exit_code::USAGE,
            "no such directory",
        ),
        (
            sequence,
            "simple-sequence",
            vec!["--bprop-len".into(), "0".into()],
            exit_code::USAGE,
            "must be at least 1",
        ),
        (
            sequence,
            "simple-sequence",
            vec!["--n-vocab".into(), "1".into()],
            exit_code::USAGE,
            "at least 2 tokens",
        ),
        (
            sequence,
            "simple-sequence",
            vec![
                "generate".into(),
                tmp.path().join("nowhere").display().to_string(),
            ],
            exit_code::USAGE,
            "no such directory",
        ),
        (
            sequence,
            "simple-sequence",
            vec![
                "--devices".into(),
                "2".into(),
                "--out".into(),
                tmp.path().join("two").display().to_string(),
            ],
            exit_code::USAGE,
            "truncated BPTT runs on one device",
        ),
    ];
    for (main_with, name, args, expected, text) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, o) = run(main_with, name, &args);
        let stderr = o.stderr();
        assert_eq!(code, expected, "{name} {args:?}: {stderr}");
        assert!(
            stderr.starts_with("error:") && stderr.contains(text),
            "{name} {args:?}: {stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The child process of the memory check.

const CHILD_ENV: &str = "RNN_SYNTHETIC_CHILD";

/// Not a test of its own: the body of the child process started by [`child`], which runs
/// it with `--ignored`; a plain test run lists it as ignored, not as a pass.
#[test]
#[ignore = "the entry point of the child processes that other tests start"]
fn child_process_entry() {
    let scenario = std::env::var(CHILD_ENV)
        .expect("child_process_entry runs only as the child process of another test");
    let report = match scenario.as_str() {
        "windows" => train_windows_measuring_memory(50, 400, true),
        "undetached" => train_windows_measuring_memory(50, 400, false),
        other => panic!("unknown child scenario {other}"),
    };
    println!("CHILD-REPORT {report}");
}

/// Runs this test binary's [`child_process_entry`] with `scenario`; returns its report (or
/// `None`) and its stderr.
fn child(scenario: &str) -> (Option<serde_json::Value>, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "synthetic::child_process_entry",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, scenario)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = stdout
        .lines()
        .find_map(|l| l.split_once("CHILD-REPORT ").map(|(_, report)| report))
        .map(|line| serde_json::from_str(line).unwrap());
    (report, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn resident_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0
}

fn train_windows_measuring_memory(
    warm_up: usize,
    windows: usize,
    detach: bool,
) -> serde_json::Value {
    let device = Device::flex().autodiff();
    device.seed(2);
    let mut trainer = Trainer::new(
        LanguageModelConfig::new().init(&device),
        None,
        Default::default(),
    );
    let mut optimizer = AdamConfig::new().init();
    let mut stream = TbpttIterator::new(counting_sequence(10, 100), 10, 20).unwrap();
    let mut state: Option<CarriedState> = None;
    let (mut checked, mut raw_tracked, mut carried_tracked) = (0, 0, 0);
    let mut step = |index: usize, state: &mut Option<CarriedState>| {
        let window = stream.next_window(&device);
        if !detach {
            // The control: carry the raw state on.
            let (output, raw) = trainer.model.forward_window(window, state.take());
            let loss = output.loss.mean() * 20.0;
            let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &trainer);
            trainer = optimizer.step(5e-4, trainer.clone(), grads);
            *state = Some(raw);
            return;
        }
        if index < 5 {
            // An extra forward pass, to look at the state it hands back (only while warming
            // up: its graph is swept by the next backward pass).
            let (_, raw) = trainer.model.forward_window(window.clone(), state.clone());
            checked += 1;
            raw_tracked += usize::from(raw.is_tracked());
        }
        let out = train_window(&trainer, window, state.take(), 20.0);
        carried_tracked += usize::from(out.state.is_tracked());
        trainer = optimizer.step(5e-4, trainer.clone(), out.grads);
        *state = Some(out.state);
    };
    for i in 0..warm_up {
        step(i, &mut state);
    }
    let before = resident_bytes();
    for i in 0..windows {
        step(warm_up + i, &mut state);
    }
    let after = resident_bytes();
    serde_json::json!({
        "windows": windows,
        "checked": checked,
        "raw_state_tracked": raw_tracked,
        "carried_state_tracked": carried_tracked,
        "before_bytes": before,
        "after_bytes": after,
        "growth_bytes": after - before,
    })
}
