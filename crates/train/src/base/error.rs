//! Why a run did not succeed, and what the process tells the user about it.
//!
//! Every failure a user can cause (a bad flag value, missing data, a resume directory
//! without a checkpoint, a backend that is not available) is a [`RunError`] value: the binary
//! prints one `error: ...` line (plus a `hint: ...` line where there is a fix) to stderr and
//! exits with [`RunError::exit_code`]. Panics are left for bugs.

use std::path::PathBuf;

use rnn_data::MnistError;

/// Exit codes of every experiment binary (also listed in each `--help`).
pub mod exit_code {
    /// The run finished.
    pub const OK: i32 = 0;
    /// A failure that is not the user's: an I/O error writing the run directory, an error
    /// inside Burn.
    pub const FAILURE: i32 = 1;
    /// A usage error: a bad flag value (clap uses 2 for its own parse errors too), a bad
    /// `--resume` directory, a backend that is not available.
    pub const USAGE: i32 = 2;
    /// The data could not be found, downloaded or read.
    pub const DATA: i32 = 3;
    /// The loss became NaN or infinite.
    pub const NON_FINITE: i32 = 4;
    /// Training stopped before its last epoch (stopped from the dashboard, or
    /// `--stop-after-epoch`); the run directory can be resumed.
    pub const STOPPED: i32 = 5;
}

/// The text appended to every experiment's `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes: 0 finished; 1 internal failure; 2 usage error (bad flag value, bad --resume \
directory, backend not available); 3 data not found or unreadable; 4 the loss became NaN or \
infinite; 5 stopped before the last epoch (resume with --resume RUN_DIR).";

/// A run that could not start or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A flag or configuration value that cannot work.
    #[error("{message}")]
    Usage {
        /// What is wrong, naming the flag.
        message: String,
        /// How to fix it, if there is something more to say.
        hint: Option<String>,
    },

    /// `--resume` cannot continue the given directory.
    #[error("cannot resume {}: {message}", dir.display())]
    Resume {
        /// The `--resume` directory.
        dir: PathBuf,
        /// Why not.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },

    /// The backend cannot be used on this machine or build.
    #[error("backend {backend} is not available: {message}")]
    Backend {
        /// The `--backend` value.
        backend: String,
        /// What went wrong.
        message: String,
        /// What to install or pass instead.
        hint: Option<String>,
    },

    /// MNIST could not be found, downloaded or parsed.
    #[error(transparent)]
    Data(#[from] MnistError),

    /// A data set other than MNIST could not be built.
    #[error("{0}")]
    DataConfig(#[from] rnn_data::ConfigError),

    /// The loss became NaN or infinite.
    #[error(
        "the training loss became {value} at epoch {epoch}, iteration {iteration}; training \
         stopped"
    )]
    NonFiniteLoss {
        /// Epoch (1-based).
        epoch: usize,
        /// Iteration within the epoch (1-based).
        iteration: usize,
        /// `NaN`, `inf` or `-inf`.
        value: f64,
        /// The run directory (checkpoints of the epochs before are kept).
        dir: PathBuf,
    },

    /// Training stopped before its last epoch.
    #[error("training stopped after epoch {epoch} of {epochs} ({reason})")]
    Stopped {
        /// Last completed epoch.
        epoch: usize,
        /// Epochs the run is configured for.
        epochs: usize,
        /// Why.
        reason: String,
        /// The run directory, for the resume hint.
        dir: PathBuf,
    },

    /// Reading or writing a file failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("write", "create directory", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// Writing the run's files failed part-way (a full disk, permissions): the run stopped;
    /// what was written before, checkpoints included, is intact.
    #[error("{message}")]
    RunFiles {
        /// Which file (or disk) and why.
        message: String,
        /// The run directory, for the resume hint.
        dir: PathBuf,
    },

    /// Burn reported an error that ended training.
    #[error("training failed: {0}")]
    Training(String),

    /// Something else that is not the user's fault.
    #[error("{0}")]
    Internal(String),
}

impl RunError {
    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        RunError::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RunError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The process exit code for this error (see [`exit_code`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Usage { .. } | RunError::Resume { .. } | RunError::Backend { .. } => {
                exit_code::USAGE
            }
            RunError::Data(_) | RunError::DataConfig(_) => exit_code::DATA,
            RunError::NonFiniteLoss { .. } => exit_code::NON_FINITE,
            RunError::Stopped { .. } => exit_code::STOPPED,
            RunError::Io { .. }
            | RunError::RunFiles { .. }
            | RunError::Training(_)
            | RunError::Internal(_) => exit_code::FAILURE,
        }
    }

    /// What the user can do about it, if anything.
    pub fn hint(&self) -> Option<String> {
        match self {
            RunError::Usage { hint, .. }
            | RunError::Resume { hint, .. }
            | RunError::Backend { hint, .. } => hint.clone(),
            RunError::NonFiniteLoss { dir, .. } => Some(format!(
                "lower the learning rate (--lr) or clip gradients; the metrics up to here are in \
                 {}",
                dir.display()
            )),
            RunError::Stopped { dir, .. } => Some(format!(
                "continue it with --resume {}",
                shell_quote(&dir.display().to_string())
            )),
            RunError::RunFiles { dir, .. } => Some(format!(
                "make room (or fix the permissions), then continue with --resume {}: the \
                 checkpoints written so far are intact",
                shell_quote(&dir.display().to_string())
            )),
            _ => None,
        }
    }
}

/// `s` quoted for a POSIX shell when it needs it (for hints that show a command).
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_hints() {
        let e = RunError::usage("--batch-size must be at least 1", None);
        assert_eq!(e.exit_code(), exit_code::USAGE);
        assert_eq!(e.to_string(), "--batch-size must be at least 1");
        let e = RunError::NonFiniteLoss {
            epoch: 2,
            iteration: 17,
            value: f64::NAN,
            dir: "runs/x".into(),
        };
        assert_eq!(e.exit_code(), exit_code::NON_FINITE);
        assert!(
            e.to_string().contains("NaN at epoch 2, iteration 17"),
            "{e}"
        );
        let e = RunError::Stopped {
            epoch: 1,
            epochs: 3,
            reason: "requested".into(),
            dir: "runs/my run".into(),
        };
        assert_eq!(e.hint().unwrap(), "continue it with --resume 'runs/my run'");
        assert_eq!(shell_quote("runs/a-1"), "runs/a-1");
    }
}
