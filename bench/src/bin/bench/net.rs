//! The network a shape trains: one of the project's recurrent stacks, then a linear head.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use rnn_models::{
    Biases, ElmanStack, ElmanStackConfig, GruStack, GruStackConfig, LstmStack, LstmStackConfig,
    Recurrence, RecurrentInit,
};

use super::shapes::{Network, Shape, Task};
use super::source::TaskSizes;

/// One of the cells, then a linear head.
#[derive(Module, Debug)]
pub struct Net {
    elman: Option<ElmanStack>,
    lstm: Option<LstmStack>,
    gru: Option<GruStack>,
    pub head: Linear,
    all_steps: bool,
}

impl Net {
    /// The network of shape `s`, its time loop run by `path`.
    pub fn new(s: &Shape, sizes: TaskSizes, path: Recurrence, device: &Device) -> Self {
        let TaskSizes {
            d_in,
            steps,
            outputs,
        } = sizes;
        let (h, l) = (s.hidden, s.layers);
        // The adding problem's networks are MinPy's (one bias, the GRU's candidate apart);
        // the MNIST ones PyTorch's.
        let minpy = matches!(s.task, Task::Adding(_));
        let (init, biases) = if minpy {
            (RecurrentInit::MinPyXavier, Biases::One)
        } else {
            (RecurrentInit::PyTorchUniform, Biases::Two)
        };
        let (mut elman, mut lstm, mut gru) = (None, None, None);
        match s.cell {
            Network::Irnn => elman = Some(ElmanStackConfig::irnn(d_in, h).init(device)),
            Network::Tanh => {
                elman = Some(
                    ElmanStackConfig::new(d_in, h)
                        .with_num_layers(l)
                        .with_biases(biases)
                        .with_init(init)
                        .init(device),
                )
            }
            Network::Lstm => {
                lstm = Some(
                    LstmStackConfig::new(d_in, h)
                        .with_num_layers(l)
                        .with_biases(biases)
                        .with_init(init)
                        .init(device),
                )
            }
            Network::Gru => {
                gru = Some(
                    GruStackConfig::new(d_in, h)
                        .with_num_layers(l)
                        .with_reset_after(false)
                        .with_biases(biases)
                        .with_split_candidate(minpy)
                        .with_init(init)
                        .init(device),
                )
            }
        }
        let head_in = if s.all_steps { h * steps } else { h };
        Net {
            elman: elman.map(|m| m.with_recurrence(path)),
            lstm: lstm.map(|m| m.with_recurrence(path)),
            gru: gru.map(|m| m.with_recurrence(path)),
            head: LinearConfig::new(head_in, outputs).init(device),
            all_steps: s.all_steps,
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let features = if self.all_steps {
            let out = match (&self.elman, &self.lstm, &self.gru) {
                (Some(m), _, _) => m.forward(x, None).output,
                (_, Some(m), _) => m.forward(x, None).output,
                (_, _, Some(m)) => m.forward(x, None).output,
                // Net::new sets exactly one of the three cells.
                _ => unreachable!("one cell is set"),
            };
            let [b, t, h] = out.dims();
            out.reshape([b, t * h])
        } else {
            match (&self.elman, &self.lstm, &self.gru) {
                (Some(m), _, _) => m.forward_last(x, None).last(),
                (_, Some(m), _) => m.forward_last(x, None).last(),
                (_, _, Some(m)) => m.forward_last(x, None).last(),
                // Net::new sets exactly one of the three cells.
                _ => unreachable!("one cell is set"),
            }
        };
        self.head.forward(features)
    }
}
