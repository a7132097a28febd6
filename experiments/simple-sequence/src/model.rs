//! The tutorial's networks: an embedding of the current token, a recurrent stack, and a linear
//! layer to the scores of the next token.

use burn::module::Initializer;
use burn::nn::{Dropout, DropoutConfig, Embedding, Linear};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::train::ClassificationOutput;
use rnn_data::TbpttWindow;
use rnn_models::{Elman, ElmanConfig, Lstm, LstmConfig, LstmState, RecurrentInit};
use rnn_train::TaskModel;
use serde::{Deserialize, Serialize};

use crate::tbptt::{CarriedState, StatefulModel};

/// The architecture (`--arch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Embedding -> one tanh Elman layer -> linear (the tutorial's `RNN`, its default).
    Rnn,
    /// Embedding -> two stacked tanh Elman layers -> linear.
    Rnn2,
    /// Embedding -> three stacked tanh Elman layers -> linear.
    Rnn3,
    /// Embedding -> dropout -> two-layer LSTM with dropout between and after the layers ->
    /// linear: the classic language-model shape (the tutorial's `RNNForLM`, from Chainer's
    /// PTB example).
    Lstm,
}

impl Arch {
    /// Stacked recurrent layers.
    pub fn layers(self) -> usize {
        match self {
            Arch::Rnn => 1,
            Arch::Rnn2 | Arch::Lstm => 2,
            Arch::Rnn3 => 3,
        }
    }
}

/// A next-token model.
#[derive(Config, Debug)]
pub struct LanguageModelConfig {
    /// The architecture.
    #[config(default = "Arch::Rnn")]
    pub arch: Arch,
    /// Vocabulary size (tokens 0..n_vocab).
    #[config(default = 10)]
    pub n_vocab: usize,
    /// Units of the embedding and of every recurrent layer.
    #[config(default = 100)]
    pub units: usize,
    /// Dropout ratio of the LSTM architecture (Chainer's `F.dropout` default); the Elman ones
    /// use none.
    #[config(default = 0.5)]
    pub dropout: f64,
}

impl LanguageModelConfig {
    /// The network, initialised as Chainer initialises the tutorial's:
    /// * Elman stacks: embedding ~ N(0, 1) (`EmbedID`), recurrent weights Glorot-uniform with
    ///   zero biases — the variance of Chainer's LeCun-normal `Linear` (1/units) for these
    ///   square layers — and an output layer ~ N(0, 1/units) with a zero bias.
    /// * LSTM: every parameter ~ U(-0.1, 0.1), as `RNNForLM` sets it; the LSTM layers use
    ///   U(±1/sqrt(units)), which is exactly that at the tutorial's 100 units.
    pub fn init(&self, device: &Device) -> LanguageModel {
        let (v, u) = (self.n_vocab, self.units);
        let uniform = Initializer::Uniform {
            min: -0.1,
            max: 0.1,
        };
        let (embed_init, rnn, output_init, dropout) = match self.arch {
            Arch::Rnn | Arch::Rnn2 | Arch::Rnn3 => (
                Initializer::Normal {
                    mean: 0.0,
                    std: 1.0,
                },
                Recurrent::Elman(
                    ElmanConfig::new(u, u)
                        .with_num_layers(self.arch.layers())
                        .with_init(RecurrentInit::XavierUniform)
                        .init(device),
                ),
                Initializer::Normal {
                    mean: 0.0,
                    std: 1.0 / (u as f64).sqrt(),
                },
                0.0,
            ),
            Arch::Lstm => (
                uniform.clone(),
                Recurrent::Lstm(
                    LstmConfig::new(u, u)
                        .with_num_layers(2)
                        .with_dropout(self.dropout)
                        .with_init(RecurrentInit::PyTorchUniform)
                        .init(device),
                ),
                uniform.clone(),
                self.dropout,
            ),
        };
        let output_bias = match self.arch {
            Arch::Lstm => uniform.init([v], device),
            _ => Initializer::Zeros.init([v], device),
        };
        LanguageModel {
            embed: Embedding {
                weight: embed_init.init([v, u], device),
            },
            rnn,
            dropout: DropoutConfig::new(dropout).init(),
            output: Linear {
                weight: output_init.init_with([u, v], Some(u), Some(v), device),
                bias: Some(output_bias),
            },
        }
    }
}

/// The recurrent stack of a [`LanguageModel`].
#[derive(Module, Debug)]
pub enum Recurrent {
    /// 1 to 3 tanh Elman layers.
    Elman(Elman),
    /// A 2-layer LSTM.
    Lstm(Lstm),
}

/// Embedding -> recurrent stack -> linear to the vocabulary.
#[derive(Module, Debug)]
pub struct LanguageModel {
    /// Token -> vector.
    pub embed: Embedding,
    /// The recurrent stack.
    pub rnn: Recurrent,
    /// On the embedding and on the last layer's output (LSTM architecture only; 0 otherwise).
    pub dropout: Dropout,
    /// Hidden state -> next-token scores.
    pub output: Linear,
}

impl LanguageModel {
    /// Next-token scores `[B, T, n_vocab]` for tokens `[B, T]`, starting from `state` (zeros
    /// when `None`), and the state after the last step.
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        state: Option<CarriedState>,
    ) -> (Tensor<3>, CarriedState) {
        let x = self.dropout.forward(self.embed.forward(tokens));
        let (hidden, state) = match &self.rnn {
            Recurrent::Elman(elman) => {
                let out = elman.forward(x, state.map(|s| s.tensor(0)));
                (out.output, CarriedState(vec![out.h_n]))
            }
            Recurrent::Lstm(lstm) => {
                let state = state.map(|s| LstmState {
                    h: s.tensor(0),
                    c: s.tensor(1),
                });
                let out = lstm.forward(x, state);
                (out.output, CarriedState(vec![out.state.h, out.state.c]))
            }
        };
        (self.output.forward(self.dropout.forward(hidden)), state)
    }

    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        self.output.weight.dims()[1]
    }
}

impl StatefulModel for LanguageModel {
    /// The cross-entropy of every token's prediction, as a `[B * T]` vector: Burn's loss
    /// metric weights an item by the length of its loss tensor, so its epoch value is the
    /// mean over tokens — what the tutorial's evaluator reports — even when the last
    /// validation window is shorter than the others.
    fn forward_window(
        &self,
        window: TbpttWindow,
        state: Option<CarriedState>,
    ) -> (ClassificationOutput, CarriedState) {
        let [b, t] = window.inputs.dims();
        let (scores, state) = self.forward(window.inputs, state);
        let scores = scores.reshape([b * t, self.n_vocab()]);
        let targets = window.targets.reshape([b * t]);
        let loss = log_softmax(scores.clone(), 1)
            .gather(1, targets.clone().unsqueeze_dim(1))
            .neg()
            .reshape([b * t]);
        (ClassificationOutput::new(loss, scores, targets), state)
    }
}

impl TaskModel for LanguageModel {
    type Batch = TbpttWindow;
    type Output = ClassificationOutput;

    /// One window from a zero state, with the mean loss. (Training and validation go through
    /// [`StatefulModel::forward_window`], which carries the state.)
    fn forward_step(&self, window: TbpttWindow) -> ClassificationOutput {
        let output = self.forward_window(window, None).0;
        ClassificationOutput::new(output.loss.mean(), output.output, output.targets)
    }
}
