//! The bounds of the sizes and rates a run accepts: the flags check them when parsed
//! ([`crate::cli::value_parsers`]), and [`check_count`] checks a configuration read back from a
//! run directory against the same bounds.

use crate::base::error::RunError;

/// The largest `--lr`: far above any experiment's (they train at 1e-6 to 0.1); a larger
/// value is taken for a typo.
pub const MAX_LR: f64 = 1e3;

/// The largest hidden or embedding size a flag accepts (an LSTM's recurrent matrix is then
/// 1 GiB of f32).
pub const MAX_HIDDEN: usize = 8192;
/// The most stacked layers a flag accepts.
pub const MAX_LAYERS: usize = 64;
/// The longest sequence or window a flag accepts.
pub const MAX_STEPS: usize = 100_000;
/// The most samples (or cycle repetitions) a flag accepts.
pub const MAX_SAMPLES: usize = 10_000_000;

/// The largest `--epochs`: far beyond any experiment here, small enough that a typo does not
/// start a run that never ends.
pub const MAX_EPOCHS: usize = 1_000_000;

/// Checks a size read from a configuration: `1..=max`, else a usage error naming the setting
/// (for `config.json` files edited by hand; the flags check the same bounds when parsed).
pub fn check_count(name: &str, value: usize, max: usize) -> Result<(), RunError> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(RunError::usage(
            format!("{name} must be between 1 and {max}, got {value}"),
            Some(
                "fix the value (in the run directory's config.json, if it came from there)".into(),
            ),
        ))
    }
}
