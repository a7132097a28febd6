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
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (!values.is_empty()).then_some(Stats { mean, sd, min, max })
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
