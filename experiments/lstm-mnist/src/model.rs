//! The classifier: LSTM, last hidden state -> linear -> log-softmax; NLL loss.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::train::ClassificationOutput;
use rnn_data::MnistBatch;
use rnn_models::{LstmStack, LstmStackConfig, Recurrence};
use rnn_train::TaskModel;

/// The tutorial's network: `nn.LSTM(28, 20)` (both biases; every tensor ~ U(±1/sqrt(20)))
/// and `nn.Linear(20, 10)` (weight and bias ~ U(±1/sqrt(20)), which Burn's default `Linear`
/// initialiser, Kaiming-uniform with gain 1/sqrt(3), also draws).
#[derive(Config, Debug)]
pub struct LstmClassifierConfig {
    /// Hidden (and cell) state size.
    #[config(default = 20)]
    pub hidden: usize,
    /// Output classes.
    #[config(default = 10)]
    pub classes: usize,
}

impl LstmClassifierConfig {
    /// The network for inputs of `d_input` values per step.
    pub fn init(&self, d_input: usize, device: &Device) -> LstmClassifier {
        LstmClassifier {
            lstm: LstmStackConfig::new(d_input, self.hidden).init(device),
            hidden2digits: LinearConfig::new(self.hidden, self.classes).init(device),
        }
    }
}

/// LSTM -> last hidden state -> linear -> log-softmax.
#[derive(Module, Debug)]
pub struct LstmClassifier {
    /// One LSTM layer.
    pub lstm: LstmStack,
    /// Hidden state -> digit scores.
    pub hidden2digits: Linear,
}

impl LstmClassifier {
    /// Log-probabilities of the classes `[B, classes]` for inputs `[B, T, D]`.
    pub fn forward(&self, inputs: Tensor<3>) -> Tensor<2> {
        let last = self.lstm.forward_last(inputs, None).last();
        log_softmax(self.hidden2digits.forward(last), 1)
    }

    /// This network with `recurrence` running the LSTM's time loop.
    pub fn with_recurrence(mut self, recurrence: Recurrence) -> Self {
        self.lstm = self.lstm.with_recurrence(recurrence);
        self
    }
}

/// The negative log-likelihood of `targets` under `log_probs` `[B, C]`, averaged over the
/// batch (`torch.nn.NLLLoss()`).
pub fn nll_loss(log_probs: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    log_probs.gather(1, targets.unsqueeze_dim(1)).mean().neg()
}

impl TaskModel for LstmClassifier {
    type Batch = MnistBatch;
    type Output = ClassificationOutput;

    fn forward_step(&self, batch: MnistBatch) -> ClassificationOutput {
        let log_probs = self.forward(batch.inputs);
        let loss = nll_loss(log_probs.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, log_probs, batch.targets)
    }
}
