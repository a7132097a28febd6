//! A plain-text renderer for Burn's Learner, for logs and terminals without the dashboard.
//!
//! Burn's own fallback (`CliMetricsRenderer`) prints a debug line per iteration and no metric
//! values. This one prints, per epoch and split, one line with every metric's epoch value
//! (`epoch 3/10  train  loss 0.4123  accuracy 87.52 %  lr 0.1  ...`), and while a split runs a
//! progress line at most every few seconds (items done, samples/s, ETA, running loss and
//! accuracy). Custom training strategies get it for free: it is driven by Burn's event
//! processor like any renderer.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

use crate::base::console::Console;

#[derive(Default, Clone)]
struct Value {
    sum: f64,
    count: f64,
    last: Option<f64>,
    last_is_running_mean: bool,
    final_value: Option<f64>,
}

impl Value {
    fn running(&self) -> Option<f64> {
        self.final_value.or(if self.last_is_running_mean {
            (self.count > 0.0).then(|| self.sum / self.count)
        } else {
            self.last
        })
    }
}

/// The plain-text renderer (see the module docs).
pub struct PlainRenderer {
    console: Console,
    valid_label: String,
    interval: Duration,
    names: HashMap<MetricId, String>,
    order: Vec<String>,
    values: HashMap<String, Value>,
    total_epochs: usize,
    epoch: usize,
    split: String,
    split_total: usize,
    split_done: usize,
    split_started: Instant,
    last_print: Instant,
}

impl PlainRenderer {
    /// Prints to `console`, with progress lines at most every 5 seconds, calling the
    /// validation split "test".
    pub fn new(console: Console) -> Self {
        let now = Instant::now();
        PlainRenderer {
            console,
            valid_label: "test".into(),
            interval: Duration::from_secs(5),
            names: HashMap::new(),
            order: Vec::new(),
            values: HashMap::new(),
            total_epochs: 0,
            epoch: 1,
            split: String::new(),
            split_total: 0,
            split_done: 0,
            split_started: now,
            last_print: now,
        }
    }

    /// How the validation split is named in the output.
    pub fn with_valid_label(mut self, label: impl Into<String>) -> Self {
        self.valid_label = label.into();
        self
    }

    /// The least time between two progress lines.
    pub fn with_progress_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    fn split_label(&self) -> &str {
        if self.split == "valid" {
            &self.valid_label
        } else {
            &self.split
        }
    }

    fn update(&mut self, state: MetricState) {
        let MetricState::Numeric(entry, numeric) = state else {
            return;
        };
        let Some(name) = self.names.get(&entry.metric_id).cloned() else {
            return;
        };
        let value = self.values.entry(name).or_default();
        match numeric {
            Some(NumericEntry::Aggregated {
                aggregated_value,
                count,
            }) => {
                if aggregated_value.is_finite() || count > 0 {
                    value.sum += aggregated_value * count as f64;
                    value.count += count as f64;
                }
                value.last = Some(aggregated_value);
                value.last_is_running_mean = true;
            }
            Some(NumericEntry::Value(v)) => {
                value.last = Some(v);
                value.last_is_running_mean = false;
            }
            Some(NumericEntry::Final(v)) => value.final_value = Some(v),
            None => {}
        }
    }

    /// `loss 0.4123  accuracy 87.52 %  ...` for the metrics seen in this split.
    fn metric_text(&self, with_system: bool) -> String {
        let mut parts = Vec::new();
        for name in &self.order {
            let Some(v) = self.values.get(name).and_then(Value::running) else {
                continue;
            };
            let text = match name.as_str() {
                "Loss" => format!("loss {}", fmt_loss(v)),
                "Accuracy" => format!("accuracy {v:.2} %"),
                "Learning Rate" => format!("lr {}", fmt_lr(v)),
                "Iteration Speed" if with_system => format!("{v:.1} it/s"),
                "CPU Usage" if with_system => format!("cpu {v:.0} %"),
                "CPU Memory" if with_system => format!("mem {v:.1} GB"),
                "Iteration Speed" | "CPU Usage" | "CPU Memory" => continue,
                other => format!("{} {v:.4}", other.to_lowercase()),
            };
            parts.push(text);
        }
        parts.join("  ")
    }

    fn epoch_prefix(&self) -> String {
        let width = self.total_epochs.to_string().len();
        format!("epoch {:>width$}/{}", self.epoch, self.total_epochs)
    }

    fn progress_line(&self) -> String {
        let elapsed = self.split_started.elapsed().as_secs_f64();
        let rate = self.split_done as f64 / elapsed.max(1e-9);
        let remaining = self.split_total.saturating_sub(self.split_done) as f64 / rate.max(1e-9);
        let percent = 100.0 * self.split_done as f64 / self.split_total.max(1) as f64;
        format!(
            "{}  {:<5}  {:>3.0}% {}/{}  {}  {:.0} samples/s  ETA {}",
            self.epoch_prefix(),
            self.split_label(),
            percent,
            self.split_done,
            self.split_total,
            self.metric_text(false),
            rate,
            fmt_duration(remaining)
        )
    }
}

fn fmt_loss(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e-4 && v.abs() < 1e5 {
        format!("{v:.4}")
    } else {
        format!("{v:.4e}")
    }
}

fn fmt_lr(v: f64) -> String {
    // The epoch value is a mean of per-step values: drop the summation noise.
    let v = crate::report::epoch_record::round_significant(v, 6);
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e4) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// `42s`, `3m07s`, `2h05m`.
pub fn fmt_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".into();
    }
    let s = seconds.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

impl MetricsRendererTraining for PlainRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.update(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.update(state);
    }
}

impl MetricsRendererEvaluation for PlainRenderer {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.update(state);
    }
}

impl TrainingProgressLogger for PlainRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch;
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        self.split = split.to_string();
        self.split_total = total_items;
        self.split_done = 0;
        self.values.clear();
        self.split_started = Instant::now();
        self.last_print = self.split_started;
    }

    fn update_split(&mut self, items_processed: usize) {
        self.split_done = items_processed;
        if self.last_print.elapsed() >= self.interval && items_processed < self.split_total {
            self.last_print = Instant::now();
            self.console.line(self.progress_line());
        }
    }

    fn end_split(&mut self) {
        let seconds = self.split_started.elapsed().as_secs_f64();
        let rate = self.split_done as f64 / seconds.max(1e-9);
        let label = format!("{:<5}", self.split_label());
        self.console.line(format!(
            "{}  {}  {}  ({}, {:.0} samples/s)",
            self.epoch_prefix(),
            label,
            self.metric_text(self.split == "train"),
            fmt_duration(seconds),
            rate
        ));
    }

    fn end(&mut self) {}

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for PlainRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}

    fn start_test(&mut self, name: &str, total_items: usize) {
        self.start_split(name, total_items);
    }

    fn update_test_progress(&mut self, items_processed: usize) {
        self.split_done = items_processed;
    }

    fn end_test(&mut self) {
        self.console.line(format!(
            "{}  {}",
            self.split_label(),
            self.metric_text(false)
        ));
    }

    fn end_global_progress(&mut self) {}

    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for PlainRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        let name = definition.name.to_string();
        if !self.order.contains(&name) {
            self.order.push(name.clone());
            // Loss first, then accuracy, the learning rate and the system metrics.
            let rank = |n: &String| {
                [
                    "Loss",
                    "Accuracy",
                    "Learning Rate",
                    "Iteration Speed",
                    "CPU Usage",
                    "CPU Memory",
                ]
                .iter()
                .position(|k| k == n)
                .unwrap_or(usize::MAX)
            };
            self.order.sort_by_key(rank);
        }
        self.names.insert(definition.metric_id, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(42.4), "42s");
        assert_eq!(fmt_duration(187.0), "3m07s");
        assert_eq!(fmt_duration(7500.0), "2h05m");
        assert_eq!(fmt_lr(1e-6), "1e-6");
        assert_eq!(fmt_lr(0.1), "0.1");
        assert_eq!(fmt_lr(0.10000000000000098), "0.1");
        assert_eq!(fmt_loss(0.123456), "0.1235");
        assert_eq!(fmt_loss(f64::NAN), "NaN");
    }
}
