//! Truncated backpropagation through time inside Burn's Learner.
//!
//! Burn's built-in training loop cannot carry a hidden state from one batch to the next (each
//! step is `TrainStep::step(&self, batch)` on a fresh clone of the model). [`TbpttStrategy`]
//! is a custom `SupervisedLearningStrategy` that does what Chainer's `BPTTUpdater` does:
//! for every window of `bprop_len` steps it runs the forward pass from the carried state,
//! takes one backward pass of the accumulated loss, updates the parameters, and keeps the
//! final state — detached, so the next window's graph starts there — for the next window.
//! Validation runs on its own state, reset at the start of every evaluation (Chainer's
//! `eval_hook=lambda _: eval_model.reset_state()`). Everything else is Burn's: the events
//! feed the dashboard or the plain log, the metrics, the checkpointer and early stopping.
//!
//! Burn's checkpoints hold the model, optimiser and scheduler. A resumed run also needs the
//! stream position and the carried state, so after every epoch the strategy writes
//! `checkpoint/tbptt-<epoch>.json` ([`TbpttSnapshot`]) next to them.
//!
//! Any [`StatefulModel`] over [`TbpttWindow`](rnn_data::TbpttWindow)s trains this way:
//! [`tbptt_fit`] sets up the loaders ([`TbpttLoader`]), the strategy and, for a resumed run,
//! its snapshot.

use std::sync::{Arc, Mutex};

use burn::optim::ModuleOptimizer;
use burn::train::TrainingStrategy;
use rnn_data::{TbpttIterator, TbpttLoader};

use rnn_train::base::error::RunError;
use rnn_train::config::training::TrainingConfig;
use rnn_train::learn::fit::Fit;
use rnn_train::run::session::Session;

mod snapshot;
mod stateful_model;
mod strategy;

pub use snapshot::{SavedTensor, TbpttSnapshot};
pub use stateful_model::{CarriedState, StatefulModel, WindowStep, train_window};
pub use strategy::{EpochTable, SplitFigures, TbpttStrategy};

/// How a truncated-BPTT run trains and what it prints besides.
pub struct TbpttOptions {
    /// The gradient is that of `loss_scale` times the mean window loss ([`train_window`]).
    pub loss_scale: f64,
    /// The experiment's per-epoch table, printed in plain mode.
    pub table: Option<Arc<dyn EpochTable>>,
}

/// Truncated-BPTT training of `model` on `stream`, validated by passes over `validation` from
/// a reset state: the [`Fit`] (loaders and [`TbpttStrategy`]) for
/// [`rnn_train::train_classifier`]. A resumed session continues from the snapshot of its
/// checkpoint: the stream's position, the carried state and the training time so far (Burn
/// restores the model and the optimiser). The gradient and the plain-mode table are the
/// `options`' ([`TbpttOptions`]).
pub fn tbptt_fit<M: StatefulModel>(
    session: &Session,
    model: M,
    optimizer: ModuleOptimizer,
    training: &TrainingConfig,
    mut stream: TbpttIterator,
    validation: &TbpttIterator,
    options: TbpttOptions,
) -> Result<Fit<M>, RunError> {
    let TbpttOptions { loss_scale, table } = options;
    let checkpoint_dir = session.run_dir.checkpoint_dir();
    let (initial_state, elapsed_before) = match session.resume_from {
        None => (None, 0.0),
        Some(epoch) => {
            let fail = |message: String| RunError::Resume {
                dir: session.run_dir.path().to_path_buf(),
                message,
                hint: Some("start the run again without --resume".into()),
            };
            let snapshot = TbpttSnapshot::read(&checkpoint_dir, epoch).map_err(fail)?;
            stream
                .restore(&snapshot.position)
                .map_err(|e| fail(e.to_string()))?;
            let state = snapshot
                .carried_state(&session.training_device())
                .map_err(fail)?;
            (state, snapshot.elapsed_seconds)
        }
    };
    let stream = Arc::new(Mutex::new(stream));
    let train = TbpttLoader::training(stream.clone(), &session.device).into_arc();
    let valid = TbpttLoader::evaluation(validation, &session.device).into_arc();
    let console = &session.console;
    let plain = session.plain || !(console.is_terminal() && console.is_stdio());
    let strategy = TbpttStrategy::<M> {
        device: session.training_device(),
        stream,
        checkpoint_dir,
        initial_state,
        elapsed_before,
        loss_scale,
        table: table.filter(|_| plain).map(|t| (t, console.clone())),
        model: std::marker::PhantomData,
    };
    let mut fit = Fit::new(model, optimizer, training, train, valid);
    fit.strategy = Some(TrainingStrategy::Custom(Arc::new(strategy)));
    Ok(fit)
}
