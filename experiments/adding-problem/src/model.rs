//! The networks: a recurrent layer reads the `[value, mask]` sequence, and a linear layer maps
//! its last hidden state to the predicted sum.

use burn::module::Initializer;
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::train::RegressionOutput;
use rnn_data::AddingBatch;
use rnn_models::{
    Biases, ElmanStack, ElmanStackConfig, GruStack, GruStackConfig, LstmStack, LstmStackConfig,
    Nonlinearity, Recurrence, RecurrentInit, paper_start,
};
use rnn_train::TaskModel;
use serde::{Deserialize, Serialize};

/// Which recurrent cell reads the sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Vanilla Elman RNN, `h = tanh(x W_x + h W_h + b)` (the tutorial's `rnn_step`).
    Rnn,
    /// LSTM (the tutorial's `lstm_step`).
    Lstm,
    /// GRU with the reset gate applied to `h` before the recurrent matmul (the tutorial's
    /// `gru_step`, Cho et al. 2014).
    Gru,
    /// ReLU RNN with identity recurrent weights (Le, Jaitly & Hinton 2015).
    Irnn,
    /// ReLU RNN with a Gaussian recurrent start: the IRNN paper's "RNN + ReLU", which shows
    /// what the identity start adds.
    Relu,
}

impl Network {
    /// The tutorial's three, in the order it introduces them.
    pub const TUTORIAL: [Network; 3] = [Network::Rnn, Network::Lstm, Network::Gru];

    /// Hidden units the tutorial gives each network (64 for the vanilla RNN, 100 for the
    /// gated ones; the IRNN paper uses 100).
    pub fn tutorial_hidden(self) -> usize {
        match self {
            Network::Rnn | Network::Relu => 64,
            Network::Lstm | Network::Gru | Network::Irnn => 100,
        }
    }

    /// `rnn`, `lstm`, `gru`, `irnn`, `relu`: the flag value and the run directory's name.
    pub fn name(self) -> &'static str {
        match self {
            Network::Rnn => "rnn",
            Network::Lstm => "lstm",
            Network::Gru => "gru",
            Network::Irnn => "irnn",
            Network::Relu => "relu",
        }
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a network's parameters start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Start {
    /// The MinPy tutorial's: every tensor by its `xavier` rule, one bias per layer (the IRNN
    /// keeps its identity start).
    #[default]
    MinPy,
    /// The IRNN paper's networks: one zero bias per layer; the IRNN identity recurrent
    /// weights; the tanh and ReLU RNNs Gaussian recurrent weights N(0, 1/H); both with input
    /// weights N(0, 0.001); the LSTM PyTorch's uniform start U(-1/sqrt(H), 1/sqrt(H)) (the
    /// forget bias set by `forget_bias`); the readout Burn's default `Linear`.
    Paper,
}

/// One network of the comparison.
#[derive(Config, Debug)]
pub struct AdderConfig {
    /// The recurrent cell.
    pub cell: Network,
    /// Its hidden units.
    pub hidden: usize,
    /// Features per step: the value and the mask bit.
    #[config(default = 2)]
    pub d_input: usize,
    /// How the parameters start.
    #[config(default = "Start::MinPy")]
    pub start: Start,
    /// The LSTM's initial forget-gate bias (`None`: as the start draws it).
    pub forget_bias: Option<f64>,
}

impl AdderConfig {
    /// `cell` with the tutorial's hidden size.
    pub fn tutorial(cell: Network) -> Self {
        Self::new(cell, cell.tutorial_hidden())
    }

    /// The network, started as [`AdderConfig::start`] says.
    pub fn init(&self, device: &Device) -> Adder {
        match self.start {
            Start::MinPy => self.init_minpy(device),
            Start::Paper => self.init_paper(device),
        }
    }

    /// MinPy's network for the cell: its tensors (one bias per layer: `rnn_step`'s and
    /// `lstm_step`'s `b`; `gru_step`'s `b` for the gates and `bh` for the candidate, whose
    /// weights `Wxh`, `Whh` are tensors of their own), every one of them drawn by MinPy's
    /// `xavier` rule, biases included ([`RecurrentInit::MinPyXavier`]). The IRNN keeps its
    /// identity start and both biases (Le et al.'s network, not the tutorial's).
    fn init_minpy(&self, device: &Device) -> Adder {
        let (d, h) = (self.d_input, self.hidden);
        let xavier = RecurrentInit::MinPyXavier;
        let elman = |nonlinearity| {
            ElmanStackConfig::new(d, h)
                .with_nonlinearity(nonlinearity)
                .with_biases(Biases::One)
                .with_init(RecurrentInit::MinPyXavier)
        };
        let rnn = match self.cell {
            Network::Rnn => Recurrent::Elman(elman(Nonlinearity::Tanh).init(device)),
            Network::Relu => Recurrent::Elman(elman(Nonlinearity::Relu).init(device)),
            Network::Irnn => Recurrent::Elman(ElmanStackConfig::irnn(d, h).init(device)),
            Network::Lstm => Recurrent::Lstm(
                LstmStackConfig::new(d, h)
                    .with_biases(Biases::One)
                    .with_init(xavier.clone())
                    .with_forget_bias(self.forget_bias)
                    .init(device),
            ),
            Network::Gru => Recurrent::Gru(
                GruStackConfig::new(d, h)
                    .with_reset_after(false)
                    .with_biases(Biases::One)
                    .with_split_candidate(true)
                    .with_init(xavier)
                    .init(device),
            ),
        };
        // The tutorial's affine output layer, `Wa` [H, 1] and `ba` [1], by the same rule:
        // N(0, 6 / (H + 1)) and N(0, 6 / 1).
        let normal = |std: f64| Initializer::Normal { mean: 0.0, std };
        let output = Linear {
            weight: normal((6.0 / (h + 1) as f64).sqrt()).init([h, 1], device),
            bias: Some(normal(6f64.sqrt()).init([1], device)),
        };
        Adder { rnn, output }
    }

    /// The IRNN paper's networks ([`Start::Paper`], as [`rnn_models::paper_start`] starts
    /// them).
    fn init_paper(&self, device: &Device) -> Adder {
        let (d, h) = (self.d_input, self.hidden);
        let input_std = paper_start::INPUT_STD;
        let elman = |config: ElmanStackConfig| Recurrent::Elman(config.init(device));
        let rnn = match self.cell {
            Network::Rnn => elman(paper_start::gaussian(d, h, Nonlinearity::Tanh, input_std)),
            Network::Relu => elman(paper_start::gaussian(d, h, Nonlinearity::Relu, input_std)),
            Network::Irnn => elman(paper_start::irnn(d, h, 1.0, input_std)),
            Network::Lstm => {
                Recurrent::Lstm(paper_start::lstm(d, h, self.forget_bias).init(device))
            }
            Network::Gru => Recurrent::Gru(
                GruStackConfig::new(d, h)
                    .with_biases(Biases::One)
                    .with_init(RecurrentInit::PyTorchUniform)
                    .init(device),
            ),
        };
        Adder {
            rnn,
            output: LinearConfig::new(h, 1).init(device),
        }
    }
}

/// The recurrent layer of an [`Adder`].
#[derive(Module, Debug)]
pub enum Recurrent {
    /// Vanilla RNN or IRNN.
    Elman(ElmanStack),
    /// LSTM.
    Lstm(LstmStack),
    /// GRU.
    Gru(GruStack),
}

/// Recurrent layer -> last hidden state -> linear -> the predicted sum.
#[derive(Module, Debug)]
pub struct Adder {
    /// Reads the sequence.
    pub rnn: Recurrent,
    /// Hidden state -> one number.
    pub output: Linear,
}

impl Adder {
    /// Predicted sums `[B, 1]` for inputs `[B, T, 2]` (only the last hidden state is kept).
    pub fn forward(&self, inputs: Tensor<3>) -> Tensor<2> {
        let last = match &self.rnn {
            Recurrent::Elman(rnn) => rnn.forward_last(inputs, None).last(),
            Recurrent::Lstm(lstm) => lstm.forward_last(inputs, None).last(),
            Recurrent::Gru(gru) => gru.forward_last(inputs, None).last(),
        };
        self.output.forward(last)
    }

    /// This network with `recurrence` running its recurrent time loop.
    pub fn with_recurrence(mut self, recurrence: Recurrence) -> Self {
        self.rnn = match self.rnn {
            Recurrent::Elman(m) => Recurrent::Elman(m.with_recurrence(recurrence)),
            Recurrent::Lstm(m) => Recurrent::Lstm(m.with_recurrence(recurrence)),
            Recurrent::Gru(m) => Recurrent::Gru(m.with_recurrence(recurrence)),
        };
        self
    }
}

impl TaskModel for Adder {
    type Batch = AddingBatch;
    type Output = RegressionOutput;

    /// MSE over the batch: the tutorial's `l2_loss` (sum of squares / N, one output).
    fn forward_step(&self, batch: AddingBatch) -> RegressionOutput {
        let predicted = self.forward(batch.inputs);
        let loss =
            MseLoss::new().forward(predicted.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, predicted, batch.targets)
    }
}
