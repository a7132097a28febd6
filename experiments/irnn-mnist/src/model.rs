//! The IRNN classifier: IRNN over the sequence, last hidden state -> linear -> 10 logits.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::train::ClassificationOutput;
use rnn_data::MnistBatch;
use rnn_models::{Elman, ElmanConfig, RecurrentInit};
use rnn_train::TaskModel;

/// The tutorial's network.
#[derive(Config, Debug)]
pub struct IrnnClassifierConfig {
    /// Hidden units of the IRNN layer.
    #[config(default = 100)]
    pub hidden: usize,
    /// The recurrent matrix starts as `identity_scale * I`.
    #[config(default = 1.0)]
    pub identity_scale: f64,
    /// Standard deviation of the input weights (normal, mean 0).
    #[config(default = 1e-3)]
    pub input_std: f64,
    /// Output classes.
    #[config(default = 10)]
    pub classes: usize,
}

impl IrnnClassifierConfig {
    /// The network for inputs of `d_input` values per step.
    pub fn init(&self, d_input: usize, device: &Device) -> IrnnClassifier {
        let irnn = ElmanConfig::irnn(d_input, self.hidden)
            .with_init(RecurrentInit::Identity {
                scale: self.identity_scale,
                input_std: self.input_std,
            })
            .init(device);
        IrnnClassifier {
            irnn,
            output: LinearConfig::new(self.hidden, self.classes).init(device),
        }
    }
}

/// IRNN -> last step -> linear.
#[derive(Module, Debug)]
pub struct IrnnClassifier {
    /// ReLU Elman layer with identity initialisation.
    pub irnn: Elman,
    /// Hidden state -> class logits.
    pub output: Linear,
}

impl IrnnClassifier {
    /// Class logits `[B, classes]` for inputs `[B, T, D]` (only the last hidden state is
    /// kept, not all T of them).
    pub fn forward(&self, inputs: Tensor<3>) -> Tensor<2> {
        let last = self.irnn.forward_last(inputs, None).last();
        self.output.forward(last)
    }
}

impl TaskModel for IrnnClassifier {
    type Batch = MnistBatch;
    type Output = ClassificationOutput;

    fn forward_step(&self, batch: MnistBatch) -> ClassificationOutput {
        let logits = self.forward(batch.inputs);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}
