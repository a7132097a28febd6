//! The shapes the bench times, each read off its experiment's default configuration.

use adding_problem::{AddingConfig, Network as AddingNetwork};
use elman_mnist::ElmanMnistConfig;
use irnn_mnist::IrnnMnistConfig;
use lstm_mnist::LstmMnistConfig;
use rnn_data::{Normalisation, SequenceView};
use rnn_train::OptimizerConfig;

/// The recurrent cell a shape's network runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Network {
    Irnn,
    Tanh,
    Lstm,
    Gru,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Task {
    /// MNIST with a sequence view and pixel scaling; classification into 10 digits.
    Mnist(SequenceView, Normalisation),
    /// The adding problem with T steps; regression.
    Adding(usize),
}

/// One timed configuration: an experiment's task, network, batch and optimiser.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub name: &'static str,
    pub task: Task,
    pub cell: Network,
    pub batch: usize,
    pub hidden: usize,
    pub layers: usize,
    /// The head reads every step's hidden state (elman-mnist) instead of the last one.
    pub all_steps: bool,
    pub sgd: bool,
    pub lr: f64,
}

/// The adding problem's shapes: each tutorial network at the tutorial's T = 6 and at
/// T = 100.
const ADDING: [(&str, usize, AddingNetwork); 6] = [
    ("adding6-rnn", 6, AddingNetwork::Rnn),
    ("adding6-lstm", 6, AddingNetwork::Lstm),
    ("adding6-gru", 6, AddingNetwork::Gru),
    ("adding100-rnn", 100, AddingNetwork::Rnn),
    ("adding100-lstm", 100, AddingNetwork::Lstm),
    ("adding100-gru", 100, AddingNetwork::Gru),
];

/// Every shape, each read off its experiment's default configuration (the model's sizes,
/// the batch size, the learning rate, the optimiser's kind, the sequence view).
pub fn shapes() -> Vec<Shape> {
    let sgd = |o: &OptimizerConfig| matches!(o, OptimizerConfig::Sgd { .. });
    let irnn = IrnnMnistConfig::new();
    let elman = ElmanMnistConfig::new();
    let lstm = LstmMnistConfig::new();
    let mut shapes = vec![
        Shape {
            name: irnn_mnist::NAME,
            task: Task::Mnist(irnn.view, irnn.normalisation),
            cell: Network::Irnn,
            batch: irnn.training.batch_size,
            hidden: irnn.model.hidden,
            layers: 1,
            all_steps: false,
            sgd: sgd(&irnn.optimizer),
            lr: irnn.training.lr,
        },
        Shape {
            name: elman_mnist::NAME,
            task: Task::Mnist(elman.view, elman.normalisation),
            cell: Network::Tanh,
            batch: elman.training.batch_size,
            hidden: elman.model.hidden,
            layers: elman.model.layers,
            all_steps: true,
            sgd: sgd(&elman.optimizer),
            lr: elman.training.lr,
        },
        Shape {
            name: lstm_mnist::NAME,
            task: Task::Mnist(lstm.view, lstm.normalisation),
            cell: Network::Lstm,
            batch: lstm.training.batch_size,
            hidden: lstm.model.hidden,
            layers: 1,
            all_steps: false,
            sgd: sgd(&lstm.optimizer),
            lr: lstm.training.lr,
        },
    ];
    for (name, t, cell) in ADDING {
        let config = AddingConfig::tutorial(cell);
        shapes.push(Shape {
            name,
            task: Task::Adding(t),
            cell: match cell {
                AddingNetwork::Lstm => Network::Lstm,
                AddingNetwork::Gru => Network::Gru,
                _ => Network::Tanh,
            },
            batch: config.training.batch_size,
            hidden: config.model.hidden,
            layers: 1,
            all_steps: false,
            sgd: sgd(&config.optimizer),
            lr: config.training.lr,
        });
    }
    shapes
}

/// `--shape`'s possible values, named without building every experiment's configuration.
pub fn shape_names() -> clap::builder::PossibleValuesParser {
    let adding = ADDING.map(|(name, _, _)| name);
    let mnist = [irnn_mnist::NAME, elman_mnist::NAME, lstm_mnist::NAME];
    clap::builder::PossibleValuesParser::new(mnist.into_iter().chain(adding))
}
