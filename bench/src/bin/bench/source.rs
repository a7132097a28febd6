//! A shape's batches, built by the data crate's batchers, and the sizes its task sets for
//! the network.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use rnn_data::{AddingBatcher, AddingProblem, Mnist, MnistSequenceBatcher, MnistSequences};

use super::shapes::Task;

/// Batches for one shape, built by the data crate's batchers on each call.
pub enum Source {
    // Boxed: the MNIST batcher carries a 1 KiB pixel table, the adding problem's a few words.
    Mnist(MnistSequences, Box<MnistSequenceBatcher>),
    Adding(AddingProblem, AddingBatcher),
}

pub enum Target {
    Class(Tensor<1, Int>),
    Value(Tensor<2>),
}

/// The sizes a task sets for its network.
#[derive(Clone, Copy, Debug)]
pub struct TaskSizes {
    /// Input features per time step.
    pub d_in: usize,
    /// Time steps per sequence.
    pub steps: usize,
    /// The head's outputs: 10 digits, or the adding problem's one sum.
    pub outputs: usize,
}

impl Source {
    /// The batches of `task` and the sizes it sets for the network. `mnist` is the training
    /// set, loaded whenever a selected shape has an MNIST task.
    pub fn for_task(task: Task, mnist: Option<&Arc<Mnist>>) -> (Self, TaskSizes) {
        match task {
            Task::Mnist(view, norm) => {
                let mnist = mnist.expect("MNIST is loaded whenever a shape has an MNIST task");
                let data = MnistSequences::new(Arc::clone(mnist));
                let sizes = TaskSizes {
                    d_in: view.features(),
                    steps: view.steps(),
                    outputs: 10,
                };
                let batcher = Box::new(MnistSequenceBatcher::new(view, norm));
                (Source::Mnist(data, batcher), sizes)
            }
            Task::Adding(t) => {
                // The bench's adding-problem lengths are fixed constants (≥ 2 steps).
                let data = AddingProblem::new(10_000, t, 0).expect("valid adding problem");
                let sizes = TaskSizes {
                    d_in: 2,
                    steps: t,
                    outputs: 1,
                };
                (Source::Adding(data, AddingBatcher), sizes)
            }
        }
    }

    pub fn batch(&self, step: usize, size: usize, device: &Device) -> (Tensor<3>, Target) {
        match self {
            Source::Mnist(data, batcher) => {
                let items = (0..size)
                    // The index is reduced modulo the dataset's length, and the datasets hold items.
                    .map(|i| data.get((step * size + i) % data.len()).unwrap())
                    .collect();
                let b = batcher.batch(items, device);
                (b.inputs, Target::Class(b.targets))
            }
            Source::Adding(data, batcher) => {
                let items = (0..size)
                    // The index is reduced modulo the dataset's length, and the datasets hold items.
                    .map(|i| data.get((step * size + i) % data.len()).unwrap())
                    .collect();
                let b = batcher.batch(items, device);
                (b.inputs, Target::Value(b.targets))
            }
        }
    }
}
