//! The tutorial's networks: an embedding of the current token, a recurrent stack, and a linear
//! layer to the scores of the next token.

use burn::module::{Initializer, Param};
use burn::nn::{Dropout, DropoutConfig, Embedding, Linear};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::train::ClassificationOutput;
use rnn_data::TbpttWindow;
use rnn_models::{
    Biases, ElmanStack, ElmanStackConfig, ElmanWeights, LstmStack, LstmStackConfig, LstmState,
    Nonlinearity, Recurrence, RecurrentInit,
};
use rnn_train::TaskModel;

use crate::truncated_bptt::{CarriedState, StatefulModel};
use serde::{Deserialize, Serialize};

/// The architecture (`--arch`): the tutorial's four networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// The tutorial's `RNN` (its default): embedding -> one tanh Elman layer (`l1` on the
    /// input, `r1` on the state, both `L.Linear` with a bias) -> linear.
    Rnn,
    /// The tutorial's `RNN2`: embedding -> three stacked `RecurrentBlock`s (each a tanh Elman
    /// layer of two biased `L.Linear`s) -> linear.
    Rnn2,
    /// The tutorial's `RNN3`: embedding -> three stacked `RecurrentConcatBlock`s
    /// ([`ConcatBlock`]) -> linear.
    Rnn3,
    /// The tutorial's `RNNForLM` (from Chainer's PTB example): embedding -> dropout -> two
    /// `L.LSTM` layers with dropout after each -> linear; every parameter ~ U(-0.1, 0.1).
    Lstm,
}

rnn_train::value_enum_flag!(Network);

/// A next-token model.
#[derive(Config, Debug)]
pub struct LanguageModelConfig {
    /// The architecture.
    #[config(default = "Network::Rnn")]
    pub arch: Network,
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
    /// The network, with Chainer's tensors and initialisation:
    /// * `rnn`, `rnn2`, `rnn3`: `L.EmbedID` ~ N(0, 1); every `L.Linear` weight LeCun-normal,
    ///   N(0, 1/fan_in), its bias zero ([`RecurrentInit::LeCunNormal`]).
    /// * `lstm`: `RNNForLM` overwrites every parameter with U(-0.1, 0.1); each `L.LSTM` has
    ///   one bias (its `upward` link's; the `lateral` link has none).
    pub fn init(&self, device: &Device) -> LanguageModel {
        let (v, u) = (self.n_vocab, self.units);
        let lecun = |fan_in: usize| Initializer::Normal {
            mean: 0.0,
            std: (1.0 / fan_in as f64).sqrt(),
        };
        let elman = |layers: usize| {
            ElmanStackConfig::new(u, u)
                .with_num_layers(layers)
                .with_init(RecurrentInit::LeCunNormal)
                .init(device)
        };
        let (embed_init, rnn, output_init, output_bias, dropout) = match self.arch {
            Network::Rnn | Network::Rnn2 | Network::Rnn3 => {
                let rnn = match self.arch {
                    Network::Rnn => Recurrent::Elman(elman(1)),
                    Network::Rnn2 => Recurrent::Elman(elman(3)),
                    _ => Recurrent::Concat((0..3).map(|_| ConcatBlock::new(u, device)).collect()),
                };
                let embed = Initializer::Normal {
                    mean: 0.0,
                    std: 1.0,
                };
                (embed, rnn, lecun(u), Initializer::Zeros, 0.0)
            }
            Network::Lstm => {
                let uniform = Initializer::Uniform {
                    min: -0.1,
                    max: 0.1,
                };
                let lstm = LstmStackConfig::new(u, u)
                    .with_num_layers(2)
                    .with_dropout(self.dropout)
                    .with_biases(Biases::One)
                    .with_init(RecurrentInit::Uniform { bound: 0.1 })
                    .init(device);
                let rnn = Recurrent::Lstm(lstm);
                (uniform.clone(), rnn, uniform.clone(), uniform, self.dropout)
            }
        };
        LanguageModel {
            embed: Embedding {
                weight: embed_init.init([v, u], device),
            },
            rnn,
            dropout: DropoutConfig::new(dropout).init(),
            output: Linear {
                weight: output_init.init([u, v], device),
                bias: Some(output_bias.init([v], device)),
            },
        }
    }
}

/// The recurrent stack of a [`LanguageModel`].
#[derive(Module, Debug)]
pub enum Recurrent {
    /// 1 or 3 tanh Elman layers.
    Elman(ElmanStack),
    /// Stacked [`ConcatBlock`]s.
    Concat(Vec<ConcatBlock>),
    /// A 2-layer LSTM.
    Lstm(LstmStack),
}

/// Chainer's `RecurrentConcatBlock`: one `L.Linear(2u, 2u)` reads the input and the block's
/// state side by side; the first half of its output, through tanh, is what the block passes
/// on, the second half, through tanh, its next state. Per step, with `[W_o | W_s]` the two
/// column halves of `w`:
/// `y_t = tanh([x_t, s_{t-1}] · W_o + b_o)`, `s_t = tanh([x_t, s_{t-1}] · W_s + b_s)`.
/// The state is an Elman recurrence (run by the fused op); the output reads the previous
/// state, so it is one batched product over all steps.
#[derive(Module, Debug)]
pub struct ConcatBlock {
    /// `[2u, 2u]`, applied as `[x, s] · w` (Chainer's `W` transposed).
    pub w: Param<Tensor<2>>,
    /// `[2u]`.
    pub b: Param<Tensor<1>>,
    /// What runs the state's time loop.
    #[module(skip)]
    pub recurrence: Recurrence,
}

impl ConcatBlock {
    /// Chainer's `L.Linear(2u, 2u)` defaults: W LeCun-normal (fan-in 2u), b zero.
    fn new(u: usize, device: &Device) -> Self {
        let std = (1.0 / (2 * u) as f64).sqrt();
        ConcatBlock {
            w: Initializer::Normal { mean: 0.0, std }.init([2 * u, 2 * u], device),
            b: Initializer::Zeros.init([2 * u], device),
            recurrence: Recurrence::default(),
        }
    }

    /// Outputs `[B, T, u]` for inputs `[B, T, u]` from state `s0` `[B, u]`, and the last state.
    fn forward(&self, x: Tensor<3>, s0: Tensor<2>) -> (Tensor<3>, Tensor<2>) {
        let [b, t, u] = x.dims();
        let (w, bias) = (self.w.val(), self.b.val());
        let part = |rows: std::ops::Range<usize>, cols: std::ops::Range<usize>| {
            w.clone().slice([rows, cols])
        };
        let state = ElmanWeights {
            input: part(0..u, u..2 * u),
            recurrent: part(u..2 * u, u..2 * u),
            bias: bias.clone().slice([u..2 * u]),
            nonlinearity: Nonlinearity::Tanh,
        };
        let states = state.run(x.clone(), s0.clone(), self.recurrence);
        let last = states.clone().slice([0..b, t - 1..t, 0..u]).reshape([b, u]);
        let previous = if t == 1 {
            s0.unsqueeze_dim(1)
        } else {
            let earlier = states.slice([0..b, 0..t - 1, 0..u]);
            Tensor::cat(vec![s0.unsqueeze_dim(1), earlier], 1)
        };
        let flat = |z: Tensor<3>| z.reshape([b * t, u]);
        let y = flat(x).matmul(part(0..u, 0..u))
            + flat(previous).matmul(part(u..2 * u, 0..u))
            + bias.slice([0..u]).unsqueeze::<2>();
        (y.tanh().reshape([b, t, u]), last)
    }
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
    /// This model with `recurrence` running every recurrent layer's time loop.
    pub fn with_recurrence(mut self, recurrence: Recurrence) -> Self {
        self.rnn = match self.rnn {
            Recurrent::Elman(m) => Recurrent::Elman(m.with_recurrence(recurrence)),
            Recurrent::Lstm(m) => Recurrent::Lstm(m.with_recurrence(recurrence)),
            Recurrent::Concat(blocks) => Recurrent::Concat(
                blocks
                    .into_iter()
                    .map(|b| ConcatBlock { recurrence, ..b })
                    .collect(),
            ),
        };
        self
    }

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
            Recurrent::Concat(blocks) => {
                let [b, _, u] = x.dims();
                let device = x.device();
                let mut finals = Vec::with_capacity(blocks.len());
                let mut h = x;
                for (i, block) in blocks.iter().enumerate() {
                    let s0 = match &state {
                        Some(s) => s.tensor(0).slice([i..i + 1, 0..b, 0..u]).reshape([b, u]),
                        None => Tensor::zeros([b, u], &device),
                    };
                    let (out, last) = block.forward(h, s0);
                    finals.push(last.unsqueeze_dim(0));
                    h = out;
                }
                (h, CarriedState(vec![Tensor::cat(finals, 0)]))
            }
            Recurrent::Lstm(lstm) => {
                let state = state.map(|s| LstmState::new(s.tensor(1), s.tensor(0)));
                let out = lstm.forward(x, state);
                (
                    out.output,
                    CarriedState(vec![out.state.hidden, out.state.cell]),
                )
            }
        };
        (self.output.forward(self.dropout.forward(hidden)), state)
    }

    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        self.output.weight.dims()[1]
    }
}

/// The Learner's one-batch step (see [`StatefulModel`]): one window from a zero state.
impl TaskModel for LanguageModel {
    type Batch = TbpttWindow;
    type Output = ClassificationOutput;

    fn forward_step(&self, window: TbpttWindow) -> ClassificationOutput {
        let output = self.forward_window(window, None).0;
        ClassificationOutput::new(output.loss.mean(), output.output, output.targets)
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
