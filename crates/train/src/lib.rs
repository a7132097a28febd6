//! What every rnn-burn experiment shares around training: the backend flag (and, as the
//! experiments arrive, the run directory, metrics, plots and checkpoints).

pub mod backend;

pub use backend::{BackendChoice, BackendError};
