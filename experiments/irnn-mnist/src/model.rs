//! The classifiers: a recurrent network over the sequence, its last hidden state -> linear
//! -> 10 logits. The tutorial's IRNN ([`IrnnClassifier`]), and the four networks of the
//! IRNN paper (`--model`): the IRNN, the tanh and ReLU RNNs with a Gaussian start (all three
//! an [`IrnnClassifier`], an Elman layer), and the LSTM ([`LstmPixelClassifier`]).

use burn::module::{Initializer, Param, ParamId};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::train::ClassificationOutput;
use rnn_data::MnistBatch;
use rnn_models::{
    ElmanStack, ElmanStackConfig, LstmStack, Nonlinearity, Recurrence, RecurrentInit, paper_start,
};
use rnn_train::{TaskModel, cross_entropy, layer};
use serde::{Deserialize, Serialize};

/// The IRNN paper's networks on pixel MNIST (`--model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// ReLU RNN whose recurrent weights start at the identity (the paper's IRNN).
    Irnn,
    /// tanh RNN with a Gaussian recurrent start (the paper's "RNN + tanh").
    Rnn,
    /// ReLU RNN with a Gaussian recurrent start (the paper's "RNN + ReLU").
    Relu,
    /// LSTM with a forget gate.
    Lstm,
}

impl Network {
    /// The paper's four, in its figure's legend order.
    pub const PAPER: [Network; 4] = [Network::Lstm, Network::Rnn, Network::Relu, Network::Irnn];

    /// `irnn`, `rnn`, `relu`, `lstm`: the flag value and the run directory's name.
    pub fn name(self) -> &'static str {
        match self {
            Network::Irnn => "irnn",
            Network::Rnn => "rnn",
            Network::Relu => "relu",
            Network::Lstm => "lstm",
        }
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The network of a run: the tutorial's IRNN (`network` unset), or one of the paper's four,
/// started as [`rnn_models::paper_start`] starts them.
#[derive(Config, Debug)]
pub struct IrnnClassifierConfig {
    /// Which network (`None`: the tutorial's, NeoML's `CIrnnLayer`: an input and a recurrent
    /// fully-connected layer, each with a free term, and a `FullyConnected` output layer
    /// started by NeoML's rule). Set, one of the paper's: one bias, the paper's start
    /// ([`rnn_models::paper_start`]), and Burn's default `Linear` readout.
    pub network: Option<Network>,
    /// The LSTM's initial forget-gate bias (`None`: drawn with the other biases).
    pub forget_bias: Option<f64>,
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
    /// The Elman network for inputs of `d_input` values per step: the tutorial's IRNN, or
    /// the paper's IRNN, tanh or ReLU RNN.
    ///
    /// # Panics
    ///
    /// If `network` is the LSTM ([`IrnnClassifierConfig::init_lstm`] builds that one).
    pub fn init(&self, d_input: usize, device: &Device) -> IrnnClassifier {
        let (d, h, std) = (d_input, self.hidden, self.input_std);
        let paper = |rnn: ElmanStackConfig| IrnnClassifier {
            irnn: rnn.init(device),
            output: LinearConfig::new(h, self.classes).init(device),
        };
        match self.network {
            None => self.init_tutorial(d_input, device),
            Some(Network::Irnn) => paper(paper_start::irnn(d, h, self.identity_scale, std)),
            Some(Network::Rnn) => paper(paper_start::gaussian(d, h, Nonlinearity::Tanh, std)),
            Some(Network::Relu) => paper(paper_start::gaussian(d, h, Nonlinearity::Relu, std)),
            Some(Network::Lstm) => panic!("the LSTM is an LstmPixelClassifier (init_lstm)"),
        }
    }

    /// The LSTM for inputs of `d_input` values per step, started as the paper's networks
    /// are, with Burn's default `Linear` readout.
    pub fn init_lstm(&self, d_input: usize, device: &Device) -> LstmPixelClassifier {
        LstmPixelClassifier {
            lstm: paper_start::lstm(d_input, self.hidden, self.forget_bias).init(device),
            output: LinearConfig::new(self.hidden, self.classes).init(device),
        }
    }

    /// The tutorial's network.
    fn init_tutorial(&self, d_input: usize, device: &Device) -> IrnnClassifier {
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

/// Elman layer -> last step -> linear.
#[derive(Module, Debug)]
pub struct IrnnClassifier {
    /// The Elman layer: the IRNN, or the paper's tanh or ReLU RNN (the field keeps the
    /// tutorial's name, so runs saved before the other networks existed still load).
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

/// LSTM -> last step -> linear: the IRNN paper's LSTM on pixels.
#[derive(Module, Debug)]
pub struct LstmPixelClassifier {
    /// One LSTM layer.
    pub lstm: LstmStack,
    /// Hidden state -> class logits.
    pub output: Linear,
}

impl LstmPixelClassifier {
    /// Class logits `[B, classes]` for inputs `[B, T, D]`.
    pub fn forward(&self, inputs: Tensor<3>) -> Tensor<2> {
        let last = self.lstm.forward_last(inputs, None).last();
        self.output.forward(last)
    }

    /// This network with `recurrence` running the LSTM's time loop.
    pub fn with_recurrence(mut self, recurrence: Recurrence) -> Self {
        self.lstm = self.lstm.with_recurrence(recurrence);
        self
    }
}

impl TaskModel for LstmPixelClassifier {
    type Batch = MnistBatch;
    type Output = ClassificationOutput;

    fn forward_step(&self, batch: MnistBatch) -> ClassificationOutput {
        cross_entropy(self.forward(batch.inputs), batch.targets)
    }
}
