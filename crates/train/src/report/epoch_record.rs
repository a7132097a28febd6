//! One row of a run's `metrics.csv` per epoch, and the plots drawn from them.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::report::plot::{Series, line_plot, line_plot_with_legend};
use plotters::prelude::SeriesLabelPosition;

/// What kind of target the experiment predicts; decides the metrics and their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Classes: loss is cross-entropy (or NLL), accuracy is reported.
    Classification,
    /// Real values: loss is the mean squared error.
    Regression,
}

/// The metrics of one epoch. Accuracies are fractions in [0, 1]; times in seconds. Epoch 0,
/// when present, is an evaluation before any training (test columns only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch (0 = before training).
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size).
    pub train_loss: Option<f64>,
    /// Training accuracy over the epoch (while the weights changed).
    pub train_accuracy: Option<f64>,
    /// Loss on the test set after the epoch.
    pub test_loss: Option<f64>,
    /// Accuracy on the test set after the epoch.
    pub test_accuracy: Option<f64>,
    /// Learning rate used in the epoch.
    pub learning_rate: Option<f64>,
    /// Wall time of the training pass.
    pub train_seconds: Option<f64>,
    /// Wall time of the test pass.
    pub test_seconds: Option<f64>,
    /// Training samples in the epoch.
    pub train_samples: Option<usize>,
    /// Burn's iteration-speed metric (batches per second), epoch mean.
    pub iterations_per_second: Option<f64>,
    /// CPU use at the end of the epoch, percent of all cores.
    pub cpu_usage_percent: Option<f64>,
    /// Memory in use on the machine at the end of the epoch, GB.
    pub cpu_memory_gb: Option<f64>,
}

impl EpochRecord {
    /// Training samples per second of this epoch.
    pub fn train_samples_per_second(&self) -> Option<f64> {
        match (self.train_samples, self.train_seconds) {
            (Some(n), Some(s)) if s > 0.0 => Some(n as f64 / s),
            _ => None,
        }
    }

    /// Whether the epoch has finished both passes (what a CSV row needs).
    pub fn is_complete(&self) -> bool {
        self.test_loss.is_some() && (self.epoch == 0 || self.train_loss.is_some())
    }
}

const COLUMNS: [&str; 13] = [
    "epoch",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "learning_rate",
    "train_seconds",
    "test_seconds",
    "train_samples",
    "train_samples_per_second",
    "iterations_per_second",
    "cpu_usage_percent",
    "cpu_memory_gb",
];

fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v}"),
        Some(v) => format!("{v}"), // NaN / inf stay visible
        None => String::new(),
    }
}

/// `v` rounded to `digits` significant digits (finite values only).
pub fn round_significant(v: f64, digits: usize) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    format!("{v:.*e}", digits.saturating_sub(1))
        .parse()
        .unwrap_or(v)
}

/// The CSV text of `records` (header + one row per epoch, ascending).
pub fn to_csv(records: &[EpochRecord]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for r in records {
        let cells = [
            r.epoch.to_string(),
            num(r.train_loss),
            num(r.train_accuracy),
            num(r.test_loss),
            num(r.test_accuracy),
            num(r.learning_rate),
            num(r.train_seconds),
            num(r.test_seconds),
            r.train_samples.map(|n| n.to_string()).unwrap_or_default(),
            num(r.train_samples_per_second()),
            num(r.iterations_per_second),
            num(r.cpu_usage_percent),
            num(r.cpu_memory_gb),
        ];
        let _ = writeln!(out, "{}", cells.join(","));
    }
    out
}

/// Parses what [`to_csv`] wrote (unknown columns are ignored, missing ones are empty).
pub fn from_csv(text: &str) -> Result<Vec<EpochRecord>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or("the file is empty")?
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let epoch_col = col("epoch").ok_or("no `epoch` column")?;
    let mut records = Vec::new();
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let cell = |name: &str| {
            col(name)
                .and_then(|i| cells.get(i))
                .filter(|c| !c.is_empty())
        };
        let float = |name: &str| -> Result<Option<f64>, String> {
            cell(name)
                .map(|c| {
                    c.parse::<f64>()
                        .map_err(|e| format!("row {}: {name}: {e}", n + 2))
                })
                .transpose()
        };
        let epoch = cells
            .get(epoch_col)
            .and_then(|c| c.parse::<usize>().ok())
            .ok_or_else(|| format!("row {}: bad epoch", n + 2))?;
        records.push(EpochRecord {
            epoch,
            train_loss: float("train_loss")?,
            train_accuracy: float("train_accuracy")?,
            test_loss: float("test_loss")?,
            test_accuracy: float("test_accuracy")?,
            learning_rate: float("learning_rate")?,
            train_seconds: float("train_seconds")?,
            test_seconds: float("test_seconds")?,
            train_samples: cell("train_samples").and_then(|c| c.parse().ok()),
            iterations_per_second: float("iterations_per_second")?,
            cpu_usage_percent: float("cpu_usage_percent")?,
            cpu_memory_gb: float("cpu_memory_gb")?,
        });
    }
    Ok(records)
}

/// `loss.png` and (for classification) `accuracy.png` in `dir`: train and test per epoch.
pub fn write_plots(
    dir: &Path,
    title: &str,
    kind: TaskKind,
    records: &[EpochRecord],
) -> Result<(), Box<dyn std::error::Error>> {
    let series = |label: &str, f: &dyn Fn(&EpochRecord) -> Option<f64>, scale: f64| {
        Series::new(
            label,
            records
                .iter()
                .filter_map(|r| f(r).map(|v| (r.epoch as f64, v * scale)))
                .collect(),
        )
    };
    let (loss_title, loss_axis) = match kind {
        TaskKind::Classification => ("loss", "cross-entropy"),
        TaskKind::Regression => ("loss (MSE)", "mean squared error"),
    };
    // Each error names its file.
    let named = |path: &Path| {
        let path = path.display().to_string();
        move |e: Box<dyn std::error::Error>| -> Box<dyn std::error::Error> {
            format!("could not write {path}: {e}").into()
        }
    };
    let loss_png = dir.join("loss.png");
    line_plot(
        &loss_png,
        &format!("{title}: {loss_title}"),
        loss_axis,
        &[
            series("train", &|r| r.train_loss, 1.0),
            series("test", &|r| r.test_loss, 1.0),
        ],
    )
    .map_err(named(&loss_png))?;
    if kind == TaskKind::Classification {
        let accuracy_png = dir.join("accuracy.png");
        line_plot_with_legend(
            &accuracy_png,
            &format!("{title}: accuracy"),
            "accuracy (%)",
            &[
                series("train", &|r| r.train_accuracy, 100.0),
                series("test", &|r| r.test_accuracy, 100.0),
            ],
            SeriesLabelPosition::LowerRight,
        )
        .map_err(named(&accuracy_png))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip() {
        let records = vec![
            EpochRecord {
                epoch: 0,
                test_loss: Some(2.305),
                test_accuracy: Some(0.103),
                ..Default::default()
            },
            EpochRecord {
                epoch: 1,
                train_loss: Some(1.5),
                train_accuracy: Some(0.5),
                test_loss: Some(1.2),
                test_accuracy: Some(0.6),
                learning_rate: Some(0.1),
                train_seconds: Some(2.0),
                test_seconds: Some(0.5),
                train_samples: Some(1000),
                iterations_per_second: Some(5.0),
                cpu_usage_percent: Some(99.0),
                cpu_memory_gb: Some(1.5),
            },
        ];
        let text = to_csv(&records);
        assert!(text.starts_with("epoch,train_loss,train_accuracy,test_loss,test_accuracy,"));
        assert!(text.contains(",500,"), "samples per second: {text}");
        assert_eq!(from_csv(&text).unwrap(), records);
        assert!(records[0].is_complete() && records[1].is_complete());
    }
}
