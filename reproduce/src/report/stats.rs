//! The seeds' statistics ([`stats`]) and how the report and the progress lines write
//! numbers: accuracies and MSEs ([`show`]), step counts ([`steps`]) and durations
//! ([`duration`]).

use crate::plan::Metric;

/// Mean, sample standard deviation (n - 1; `None` for one value), min, max.
#[derive(Debug, PartialEq)]
pub struct Stats {
    pub mean: f64,
    pub sd: Option<f64>,
    pub min: f64,
    pub max: f64,
}

pub fn stats(values: &[f64]) -> Option<Stats> {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.len() > 1).then(|| {
        let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        (ss / (n - 1.0)).sqrt()
    });
    let min = smallest(values.iter().copied(), f64::INFINITY);
    let max = largest(values.iter().copied(), f64::NEG_INFINITY);
    (!values.is_empty()).then_some(Stats { mean, sd, min, max })
}

/// The largest of `values` (`empty` when there is none); NaN when any is NaN or infinite, so
/// that a diverged seed is never skipped (`f64::max` ignores NaN).
pub fn largest(values: impl IntoIterator<Item = f64>, empty: f64) -> f64 {
    values
        .into_iter()
        .try_fold(empty, |m, v| v.is_finite().then(|| m.max(v)))
        .unwrap_or(f64::NAN)
}

/// The smallest of `values` (`empty` when there is none); NaN when any is NaN or infinite.
pub fn smallest(values: impl IntoIterator<Item = f64>, empty: f64) -> f64 {
    values
        .into_iter()
        .try_fold(empty, |m, v| v.is_finite().then(|| m.min(v)))
        .unwrap_or(f64::NAN)
}

/// `95.31 %` or `0.02220` (four significant digits).
pub fn show(metric: Metric, v: f64) -> String {
    match metric {
        Metric::Accuracy => format!("{:.2} %", v * 100.0),
        Metric::Mse if v == 0.0 || !v.is_finite() => format!("{v}"),
        Metric::Mse => {
            let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
            format!("{v:.decimals$}")
        }
    }
}

/// `30k`, `1.2M`, `640`: a step count.
pub fn steps(n: f64) -> String {
    match n {
        _ if n >= 1e6 => format!("{:.2}M", n / 1e6),
        _ if n >= 1e4 => format!("{:.0}k", n / 1e3),
        _ if n >= 1e3 => format!("{:.1}k", n / 1e3),
        _ => format!("{n:.0}"),
    }
}

/// `6.9 s`, `4 min 12 s`, `2 h 52 min`.
pub fn duration(secs: f64) -> String {
    let whole = secs.round() as u64;
    match whole {
        _ if secs < 60.0 => format!("{secs:.1} s"),
        0..3600 => format!("{} min {} s", whole / 60, whole % 60),
        _ => format!("{} h {} min", whole / 3600, (whole % 3600) / 60),
    }
}
