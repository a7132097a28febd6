//! The value parsers of the flags: counts and numbers checked when the command line is parsed,
//! so that a bad value is a clap error (exit code 2) naming the flag, never a panic later.

use rnn_models::Recurrence;

use crate::base::limits::MAX_EPOCHS;

pub(crate) fn at_least_one(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {s:?}"))?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

fn positive_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number, got {s:?}"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err("must be a positive number".into());
    }
    Ok(v)
}

/// A value parser for flags that must be a positive, finite number (learning rates,
/// clipping thresholds, standard deviations).
pub fn positive_number(s: &str) -> Result<f64, String> {
    positive_f64(s)
}

/// A value parser for counts that must be at least 1 (hidden sizes, layers).
pub fn positive_count(s: &str) -> Result<usize, String> {
    at_least_one(s)
}

/// A value parser for counts in `1..=max`: sizes whose memory grows with the value (hidden
/// units, layers, sequence lengths), so that an absurd value is refused at once instead of
/// aborting in an allocation.
pub fn count_up_to(max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |s| {
        let n = at_least_one(s)?;
        if n > max {
            return Err(format!("must be at most {max}"));
        }
        Ok(n)
    }
}

/// A value parser for any finite number.
pub fn finite_number(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number, got {s:?}"))?;
    if !v.is_finite() {
        return Err("must be a finite number".into());
    }
    Ok(v)
}

/// A value parser for positive numbers up to `max` (scales whose absurd values are typos).
pub fn positive_up_to(max: f64) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |s| {
        let v = positive_f64(s)?;
        if v > max {
            return Err(format!("must be at most {max}"));
        }
        Ok(v)
    }
}

/// A value parser for finite numbers in `[-max, max]`.
pub fn finite_up_to(max: f64) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |s| {
        let v = finite_number(s)?;
        if v.abs() > max {
            return Err(format!("must be between -{max} and {max}"));
        }
        Ok(v)
    }
}

/// A value parser for a moment decay rate (Adam's betas): a number in [0, 1).
pub fn decay_rate(s: &str) -> Result<f32, String> {
    let v = finite_number(s)?;
    if !(0.0..1.0).contains(&v) {
        return Err("must be at least 0 and below 1".into());
    }
    Ok(v as f32)
}

/// A value parser for Adam's epsilon: positive, at most 1, and representable as a positive
/// f32.
pub fn positive_f32(s: &str) -> Result<f32, String> {
    let v = positive_f64(s)?;
    if v > 1.0 {
        return Err("must be at most 1".into());
    }
    let f = v as f32;
    if !(f.is_finite() && f > 0.0) {
        return Err(format!("{v} is outside the range of a 32-bit float"));
    }
    Ok(f)
}

pub(crate) fn recurrence(s: &str) -> Result<Recurrence, String> {
    s.trim().parse()
}

pub(crate) fn epochs(s: &str) -> Result<usize, String> {
    count_up_to(MAX_EPOCHS)(s)
}
