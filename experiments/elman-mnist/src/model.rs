//! The classifier: a stacked tanh Elman RNN; all its hidden states, flattened, -> linear.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::train::ClassificationOutput;
use rnn_data::MnistBatch;
use rnn_models::{ElmanStack, ElmanStackConfig, Recurrence};
use rnn_train::{TaskModel, cross_entropy};

/// The tutorial's network (PyTorch `nn.RNN` initialisation: every weight and bias
/// ~ U(-1/sqrt(H), 1/sqrt(H))).
#[derive(Config, Debug)]
pub struct ElmanClassifierConfig {
    /// Hidden units per layer.
    #[config(default = 256)]
    pub hidden: usize,
    /// Stacked Elman layers.
    #[config(default = 2)]
    pub layers: usize,
    /// Output classes.
    #[config(default = 10)]
    pub classes: usize,
}

impl ElmanClassifierConfig {
    /// The network for sequences of `steps` steps of `d_input` values.
    pub fn init(&self, d_input: usize, steps: usize, device: &Device) -> ElmanClassifier {
        ElmanClassifier {
            rnn: ElmanStackConfig::new(d_input, self.hidden)
                .with_num_layers(self.layers)
                .init(device),
            output: LinearConfig::new(self.hidden * steps, self.classes).init(device),
        }
    }
}

/// Elman stack -> all hidden states `[B, T * H]` -> linear.
#[derive(Module, Debug)]
pub struct ElmanClassifier {
    /// The recurrent layers.
    pub rnn: ElmanStack,
    /// `T * H` -> class logits.
    pub output: Linear,
}

impl ElmanClassifier {
    /// Class logits `[B, classes]` for inputs `[B, T, D]`.
    pub fn forward(&self, inputs: Tensor<3>) -> Tensor<2> {
        let states = self.rnn.forward(inputs, None).output;
        let [b, t, h] = states.dims();
        self.output.forward(states.reshape([b, t * h]))
    }

    /// This network with `recurrence` running the Elman layers' time loops.
    pub fn with_recurrence(mut self, recurrence: Recurrence) -> Self {
        self.rnn = self.rnn.with_recurrence(recurrence);
        self
    }
}

impl TaskModel for ElmanClassifier {
    type Batch = MnistBatch;
    type Output = ClassificationOutput;

    fn forward_step(&self, batch: MnistBatch) -> ClassificationOutput {
        cross_entropy(self.forward(batch.inputs), batch.targets)
    }
}
