//! How a resumed run reconciles its saved settings with the command line ([`reconcile`]): the
//! saved configuration wins except where the user typed a flag, and only a few settings may
//! change ([`RESUMABLE_OVERRIDES`]).

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::base::error::RunError;

/// Settings a resumed run may change: how many epochs in total, and where/how it runs.
pub const RESUMABLE_OVERRIDES: &[&str] = &["epochs", "backend"];

/// The configuration a resumed run continues with: the `saved` one, except where the user
/// passed a flag explicitly. Flags in [`RESUMABLE_OVERRIDES`] win; any other explicit flag
/// that asks for a value different from the saved one is refused, because it would silently
/// mix two experiments in one run directory.
///
/// Flags are matched to configuration fields by name (clap's argument id, i.e. the field name
/// of the CLI struct, is the configuration field's name), at any nesting depth.
pub fn reconcile<C>(saved: &C, requested: &C, explicit: &BTreeSet<String>) -> Result<C, String>
where
    C: Serialize + for<'de> Deserialize<'de>,
{
    let mut merged = serde_json::to_value(saved).map_err(|e| e.to_string())?;
    let requested = serde_json::to_value(requested).map_err(|e| e.to_string())?;
    let mut conflicts = Vec::new();
    merge(&mut merged, &requested, explicit, &mut conflicts);
    if !conflicts.is_empty() {
        return Err(conflicts.join("; "));
    }
    serde_json::from_value(merged).map_err(|e| e.to_string())
}

/// [`reconcile`] for a resumed run in `dir`: a refusal is the error `--resume` reports.
pub fn reconcile_run<C>(
    saved: &C,
    requested: &C,
    explicit: &BTreeSet<String>,
    dir: &Path,
) -> Result<C, RunError>
where
    C: Serialize + for<'de> Deserialize<'de>,
{
    reconcile(saved, requested, explicit).map_err(|conflicts| RunError::Resume {
        dir: dir.to_path_buf(),
        message: format!("the command line changes the run's settings: {conflicts}"),
        hint: Some(
            "drop those flags to continue the run as it was configured (only --epochs and \
             --backend may change), or start a new run with --out"
                .into(),
        ),
    })
}

fn merge(saved: &mut Value, requested: &Value, explicit: &BTreeSet<String>, out: &mut Vec<String>) {
    let (Value::Object(saved), Value::Object(requested)) = (saved, requested) else {
        return;
    };
    for (key, want) in requested {
        let Some(have) = saved.get_mut(key) else {
            continue;
        };
        if have == want {
            continue;
        }
        if !explicit.contains(key) {
            // Not on the command line: a nested object may still hold explicit leaves.
            if have.is_object() && want.is_object() {
                merge(have, want, explicit, out);
            }
            continue;
        }
        if RESUMABLE_OVERRIDES.contains(&key.as_str()) {
            *have = want.clone();
        } else {
            out.push(format!(
                "--{} {} differs from the run's {}",
                key.replace('_', "-"),
                show(want),
                show(have)
            ));
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::training::TrainingConfig;
    use crate::device::backend_choice::BackendChoice;

    fn cfg() -> TrainingConfig {
        TrainingConfig::new(10, 100, 0.1).with_limit_train(Some(300))
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn resume_keeps_saved_values_that_were_not_given() {
        let saved = cfg();
        let requested = TrainingConfig::new(10, 100, 0.1); // no --limit-train this time
        let merged = reconcile(&saved, &requested, &set(&[])).unwrap();
        assert_eq!(merged.limit_train, Some(300));
    }

    #[test]
    fn resume_accepts_more_epochs_and_another_backend() {
        let saved = cfg();
        let mut requested = cfg().with_backend(BackendChoice::Ndarray);
        requested.epochs = 20;
        let merged = reconcile(&saved, &requested, &set(&["epochs", "backend"])).unwrap();
        assert_eq!(merged.epochs, 20);
        assert_eq!(merged.backend, BackendChoice::Ndarray);
    }

    #[test]
    fn resume_refuses_a_different_explicit_value() {
        let saved = cfg();
        let mut requested = cfg();
        requested.lr = 0.5;
        let err = reconcile(&saved, &requested, &set(&["lr"])).unwrap_err();
        assert_eq!(err, "--lr 0.5 differs from the run's 0.1");
        // The same value given explicitly is fine.
        reconcile(&saved, &cfg(), &set(&["lr"])).unwrap();
    }
}
