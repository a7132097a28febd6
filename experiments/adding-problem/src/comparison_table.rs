//! What the comparison leaves behind once every network has trained: the table (printed and
//! in `comparison.json`) and `comparison.png`, the MSE histories against the predict-1
//! baseline.

use std::path::Path;

use crate::comparison::{Comparison, Member};
use crate::comparison_plot::{Curve, CurveStyle, Reference, comparison_plot};
use rnn_train::report::plain_renderer::fmt_duration;
use rnn_train::{Console, EpochRecord, RunError};
use serde::{Deserialize, Serialize};

use crate::config::{AddingConfig, NAME};

/// What `comparison.json` holds beside the plan ([`crate::comparison::ComparisonFile`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AddingResults {
    /// The predict-1 MSE on the test set.
    pub baseline_mse: Option<f64>,
    /// The table, once every network has finished.
    pub results: Vec<ComparisonRow>,
}

/// The MSE baseline Le et al. quote for always predicting 1 (the expected value is 1/6; the
/// table uses the test set's own figure).
pub const PAPER_BASELINE: f64 = 0.1767;

/// One line of the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// `rnn`, `lstm`, `gru` or `irnn`.
    pub model: String,
    /// Hidden units.
    pub hidden: usize,
    /// Test MSE after the last epoch.
    pub test_mse: Option<f64>,
    /// The predict-1 MSE on this network's test set.
    pub baseline_mse: f64,
    /// The first epoch whose test MSE is below the baseline (`None`: never).
    pub epochs_to_beat_baseline: Option<usize>,
    /// The first training batch after which the mean training MSE of the last
    /// [`SMOOTHING`] batches is below the baseline: the finer measure of who learns first
    /// (`None`: never, or the per-batch log is missing).
    pub batches_to_beat_baseline: Option<usize>,
    /// Wall time of the training and test passes, summed over the epochs (and over the
    /// sessions of a resumed run).
    pub wall_seconds: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// The network's run directory.
    pub run_dir: String,
}

/// Batches averaged by [`batches_to_beat`] (single batches of 100 are noisy).
pub const SMOOTHING: usize = 10;

/// The first batch (1-based) after which the mean of the last [`SMOOTHING`] batch losses of
/// `history` (per-batch training MSE, in order) is below `baseline`.
pub fn batches_to_beat(history: &[f64], baseline: f64) -> Option<usize> {
    history
        .windows(SMOOTHING)
        .position(|w| w.iter().sum::<f64>() / (SMOOTHING as f64) < baseline)
        .map(|i| i + SMOOTHING)
}

/// The first epoch (1-based) whose test MSE is below `baseline`.
pub fn epochs_to_beat(records: &[EpochRecord], baseline: f64) -> Option<usize> {
    records
        .iter()
        .filter(|r| r.epoch > 0)
        .find(|r| r.test_loss.is_some_and(|mse| mse < baseline))
        .map(|r| r.epoch)
}

/// The predict-1 MSE of `config`'s test set (the same seeded set the network was tested on).
pub fn baseline_of(config: &AddingConfig) -> Result<f64, RunError> {
    Ok(config
        .data
        .test_set(config.training.seed)?
        .predict_one_mse())
}

/// The table's rows, in training order.
pub fn rows(runs: &[Member<AddingConfig>]) -> Result<Vec<ComparisonRow>, RunError> {
    runs.iter()
        .map(|run| {
            let baseline = baseline_of(&run.config)?;
            let history: Vec<f64> = iteration_history(&run.dir, run.summary.epochs)
                .into_iter()
                .map(|(_, mse)| mse)
                .collect();
            Ok(ComparisonRow {
                model: run.config.model.cell.name().into(),
                hidden: run.config.model.hidden,
                test_mse: run.summary.test_mse,
                baseline_mse: baseline,
                epochs_to_beat_baseline: epochs_to_beat(&run.records, baseline),
                batches_to_beat_baseline: batches_to_beat(&history, baseline),
                wall_seconds: run.summary.train_seconds + run.summary.test_seconds,
                epochs: run.summary.epochs,
                run_dir: run.dir.display().to_string(),
            })
        })
        .collect()
}

/// The printed table.
pub fn table(rows: &[ComparisonRow]) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<6} {:>6} {:>10} {:>24} {:>24} {:>10}",
        "model",
        "hidden",
        "test MSE",
        "epochs to beat baseline",
        "batches to beat baseline",
        "wall time"
    )];
    let or_never = |v: Option<usize>| v.map_or("never".to_string(), |v| v.to_string());
    for r in rows {
        let mse = r.test_mse.map_or("-".into(), |m| format!("{m:.5}"));
        lines.push(format!(
            "{:<6} {:>6} {:>10} {:>24} {:>24} {:>10}",
            r.model,
            r.hidden,
            mse,
            or_never(r.epochs_to_beat_baseline),
            or_never(r.batches_to_beat_baseline),
            fmt_duration(r.wall_seconds)
        ));
    }
    lines
}

/// The training MSE of every iteration, from Burn's per-iteration log
/// (`train/epoch-N/Loss.log`: one `value,count` line per batch, then `value,final` for the
/// epoch), as `(fractional epoch, mse)`.
pub fn iteration_history(run_dir: &Path, epochs: usize) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    for epoch in 1..=epochs {
        let path = run_dir
            .join("train")
            .join(format!("epoch-{epoch}"))
            .join("Loss.log");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let values: Vec<f64> = text
            .lines()
            .filter_map(|l| l.split_once(','))
            .filter(|(_, count)| count.trim() != "final")
            .filter_map(|(value, _)| value.trim().parse().ok())
            .collect();
        let n = values.len() as f64;
        for (i, v) in values.into_iter().enumerate() {
            points.push(((epoch - 1) as f64 + (i + 1) as f64 / n, v));
        }
    }
    points
}

/// Writes `comparison.png` and `comparison.json` into the comparison's directory and prints
/// the table.
pub fn write_and_print(
    comparison: &Comparison<AddingConfig>,
    runs: &[Member<AddingConfig>],
    console: &Console,
) -> Result<Vec<ComparisonRow>, RunError> {
    let rows = rows(runs)?;
    let baseline = rows.first().map(|r| r.baseline_mse);
    let t = comparison.plan.first().map_or(0, |c| c.data.seq_len);
    draw_plot(&comparison.out, t, &curves(runs, &rows), baseline, console);
    comparison.write(AddingResults {
        baseline_mse: baseline,
        results: rows.clone(),
    })?;
    print_summary(&comparison.out, t, &rows, baseline, console);
    Ok(rows)
}

/// Two curves per network, in its own colour: the training MSE of every batch, faint, and
/// the test MSE of every epoch, bold.
fn curves(runs: &[Member<AddingConfig>], rows: &[ComparisonRow]) -> Vec<Curve> {
    let mut curves = Vec::new();
    for (i, (run, row)) in runs.iter().zip(rows).enumerate() {
        curves.push(Curve::new(
            format!("{} train (per batch)", row.model),
            iteration_history(&run.dir, row.epochs),
            i,
            CurveStyle::Faint,
        ));
        let test = run
            .records
            .iter()
            .filter_map(|r| r.test_loss.map(|mse| (r.epoch as f64, mse)))
            .collect();
        curves.push(Curve::new(
            format!("{} test", row.model),
            test,
            i,
            CurveStyle::Bold,
        ));
    }
    curves
}

/// Draws `comparison.png` into `out`: the curves against the predict-1 baseline. A figure
/// that cannot be drawn is a warning, not a failure: the table and the JSON still matter.
fn draw_plot(out: &Path, t: usize, curves: &[Curve], baseline: Option<f64>, console: &Console) {
    let reference = baseline.map(|y| Reference {
        label: format!("predict 1.0 ({y:.4})"),
        y,
    });
    let plot = out.join("comparison.png");
    if let Err(e) = comparison_plot(
        &plot,
        &format!("adding problem, T = {t}: MSE"),
        "epoch",
        "mean squared error (log scale)",
        curves,
        reference.as_ref(),
    ) {
        console.eline(format!("warning: could not draw {}: {e}", plot.display()));
    }
}

/// Prints the table under a heading with the baselines, then who beat the baseline first,
/// who ended lowest, and where the comparison lies.
fn print_summary(
    out: &Path,
    t: usize,
    rows: &[ComparisonRow],
    baseline: Option<f64>,
    console: &Console,
) {
    console.line(format!(
        "{NAME}, T = {t}: test MSE after training (predict-1 baseline on the test set {}, \
         the paper's {PAPER_BASELINE})",
        baseline.map_or("-".into(), |b| format!("{b:.4}"))
    ));
    for line in table(rows) {
        console.line(line);
    }
    if let Some(first) = first_below_baseline(rows) {
        console.line(format!(
            "first below the baseline: {} (after {} batches, mean of the last {SMOOTHING})",
            first.model,
            first.batches_to_beat_baseline.unwrap_or_default()
        ));
    }
    if let Some(best) = lowest_test_mse(rows) {
        console.line(format!(
            "lowest final test MSE: {} ({:.5})",
            best.model,
            best.test_mse.unwrap_or(f64::NAN)
        ));
    }
    console.line(format!(
        "comparison: {} (comparison.png, comparison.json; one run directory per network)",
        out.display()
    ));
}

/// The network whose smoothed training MSE went below the baseline after the fewest batches
/// (the first of them on a tie).
fn first_below_baseline(rows: &[ComparisonRow]) -> Option<&ComparisonRow> {
    rows.iter()
        .filter(|r| r.batches_to_beat_baseline.is_some())
        .min_by_key(|r| r.batches_to_beat_baseline)
}

/// The network with the lowest final test MSE (the first of them on a tie).
fn lowest_test_mse(rows: &[ComparisonRow]) -> Option<&ComparisonRow> {
    rows.iter().filter(|r| r.test_mse.is_some()).min_by(|a, b| {
        a.test_mse
            .partial_cmp(&b.test_mse)
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}
