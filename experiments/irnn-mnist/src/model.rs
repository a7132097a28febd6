//! The IRNN classifier: IRNN over the sequence, last hidden state -> linear -> 10 logits.

use burn::module::{Initializer, Param, ParamId};
use burn::nn::Linear;
use burn::prelude::*;
use burn::train::ClassificationOutput;
use rnn_data::MnistBatch;
use rnn_models::{ElmanStack, ElmanStackConfig, Recurrence, RecurrentInit};
use rnn_train::{TaskModel, cross_entropy, layer};

/// The tutorial's network: NeoML's `CIrnnLayer` (an input and a recurrent fully-connected
/// layer, each with a free term) and a `FullyConnected` output layer.
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
        let irnn = ElmanStackConfig::irnn(d_input, self.hidden)
            .with_init(RecurrentInit::Identity {
                scale: self.identity_scale,
                input_std: self.input_std,
            })
            .init(device);
        // NeoML's default initializer (CDnnXavierInitializer) draws N(0, 1/n) with n half the
        // layer's input count (CBaseLayer::InitializeParamBlob passes ObjectSize() / 2), so
        // the std is sqrt(2 / hidden); the free term starts at zero.
        let std = (2.0 / self.hidden as f64).sqrt();
        let output = Linear {
            weight: Initializer::Normal { mean: 0.0, std }
                .init([self.hidden, self.classes], device),
            bias: Some(Initializer::Zeros.init([self.classes], device)),
        };
        IrnnClassifier { irnn, output }
    }
}

/// IRNN -> last step -> linear.
#[derive(Module, Debug)]
pub struct IrnnClassifier {
    /// ReLU Elman layer with identity initialisation.
    pub irnn: ElmanStack,
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

    /// This network with `recurrence` running the IRNN's time loop.
    pub fn with_recurrence(mut self, recurrence: Recurrence) -> Self {
        self.irnn = self.irnn.with_recurrence(recurrence);
        self
    }
}

impl TaskModel for IrnnClassifier {
    type Batch = MnistBatch;
    type Output = ClassificationOutput;

    /// NeoML's layers, each clipped by its own gradient norm: the IRNN's input and recurrent
    /// fully-connected layers (weights with their free terms), and the output layer.
    fn layers(&self) -> Vec<Vec<(ParamId, usize)>> {
        let with_bias = |w: ParamId, b: &Option<Param<Tensor<1>>>| {
            let mut group = vec![(w, 2)];
            group.extend(b.as_ref().map(|b| (b.id, 1)));
            group
        };
        let mut layers = Vec::new();
        for rnn in &self.irnn.layers {
            layers.push(with_bias(rnn.w_ih.id, &rnn.b_ih));
            layers.push(with_bias(rnn.w_hh.id, &rnn.b_hh));
        }
        layers.push(layer(&self.output));
        layers
    }

    fn forward_step(&self, batch: MnistBatch) -> ClassificationOutput {
        cross_entropy(self.forward(batch.inputs), batch.targets)
    }
}
