//! The model side of truncated BPTT: a [`StatefulModel`] reads a stream window by window,
//! carrying its state ([`CarriedState`]) from one window to the next, and [`train_window`] is
//! one update's forward and backward pass.

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::train::ClassificationOutput;
use rnn_data::TbpttWindow;

use rnn_train::learn::clip::clip_global_norm;
use rnn_train::learn::task::{TaskModel, Trainer};

/// The recurrent state carried from one window to the next: the `[L, B, H]` tensors of the
/// model's stack (`h`, or `h` and `c` for an LSTM).
#[derive(Clone, Debug)]
pub struct CarriedState(pub Vec<Tensor<3>>);

impl CarriedState {
    /// Tensor `i` of the state.
    pub fn tensor(&self, i: usize) -> Tensor<3> {
        self.0[i].clone()
    }

    /// The same values cut from the autodiff graph: the next window backpropagates into
    /// them no further (and the graph of this window can be freed).
    pub fn detach(self) -> Self {
        CarriedState(self.0.into_iter().map(Tensor::detach).collect())
    }

    /// Whether any tensor still belongs to an autodiff graph.
    pub fn is_tracked(&self) -> bool {
        self.0.iter().any(Tensor::is_tracked)
    }
}

/// A model that reads a stream window by window and carries its state between windows.
/// Burn's Learner is typed by a one-batch step ([`TaskModel::forward_step`]), which
/// [`TbpttStrategy`](super::TbpttStrategy) never calls: it goes through
/// [`StatefulModel::forward_window`]. A model's step is one window from a zero state, with the
/// mean token loss.
pub trait StatefulModel:
    TaskModel<Batch = TbpttWindow, Output = ClassificationOutput>
    + burn::module::Module
    + burn::module::ModuleDisplay
    + Send
    + 'static
{
    /// The forward pass over one window from `state` (zeros when `None`): the per-token
    /// scores and targets with the per-token losses (`[tokens]`, averaged for the gradient),
    /// and the state after the window's last step.
    fn forward_window(
        &self,
        window: TbpttWindow,
        state: Option<CarriedState>,
    ) -> (ClassificationOutput, CarriedState);
}

/// What one training window produces.
pub struct WindowStep {
    /// Scores, targets and the mean loss of the window (for the metrics).
    pub output: ClassificationOutput,
    /// The parameters' gradients (clipped if the trainer clips).
    pub grads: GradientsParams,
    /// The final state, detached: the next window's initial state.
    pub state: CarriedState,
}

/// One truncated-BPTT update's forward and backward pass: `model` reads `window` from
/// `state`, and the gradient is that of `loss_scale` times the window's mean token loss.
///
/// Chainer's `BPTTUpdater` accumulates the loss of each of the `bprop_len` steps (each a mean
/// over the batch) and calls backward once, so its gradient is that of the *sum* over the
/// steps: `loss_scale = bprop_len` reproduces it.
pub fn train_window<M: StatefulModel>(
    model: &Trainer<M>,
    window: TbpttWindow,
    state: Option<CarriedState>,
    loss_scale: f64,
) -> WindowStep {
    let (output, state) = model.model.forward_window(window, state);
    let loss = output.loss.clone().mean() * loss_scale;
    let grads = GradientsParams::from_grads(loss.backward(), model);
    let grads = match model.clip_norm {
        Some(max_norm) => clip_global_norm(model, grads, max_norm).0,
        None => grads,
    };
    WindowStep {
        output,
        grads,
        state: state.detach(),
    }
}
