//! The timing: one lane per recurrence, each its own model and optimiser, timed alternately
//! on the same batches.

use std::time::Instant;

use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use rnn_models::Recurrence;

use super::net::Net;
use super::shapes::Shape;
use super::source::{Source, Target, TaskSizes};

/// How many training steps to take, untimed and timed.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Untimed steps per lane before timing.
    pub warmup: usize,
    /// Steps per timed repeat.
    pub steps: usize,
    /// Timed repeats per lane.
    pub repeats: usize,
}

/// One recurrence's model, optimiser and measured rates for a shape.
pub struct Lane {
    pub path: Recurrence,
    net: Option<Net>,
    optim: ModuleOptimizer,
    step_no: usize,
    /// Samples/s of each timed repeat.
    pub rates: Vec<f64>,
}

impl Lane {
    /// Shape `s`'s network with its time loop run by `path`, seeded alike for every lane, and
    /// the shape's optimiser.
    pub fn new(s: &Shape, sizes: TaskSizes, path: Recurrence, device: &Device) -> Self {
        device.seed(0);
        Lane {
            path,
            net: Some(Net::new(s, sizes, path, device)),
            optim: if s.sgd {
                SgdConfig::new().init()
            } else {
                AdamConfig::new().init()
            },
            step_no: 0,
            rates: vec![],
        }
    }

    /// One optimisation step: forward, loss, backward, update.
    fn train_step(&mut self, s: &Shape, source: &Source, device: &Device) {
        let (x, target) = source.batch(self.step_no, s.batch, device);
        self.step_no += 1;
        // `net` is only ever taken here, and put back two lines below.
        let net = self
            .net
            .take()
            .expect("the lane holds its model between steps");
        let out = net.forward(x);
        let loss = match target {
            Target::Class(y) => CrossEntropyLossConfig::new().init(device).forward(out, y),
            Target::Value(y) => MseLoss::new().forward(out, y, Reduction::Mean),
        };
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        self.net = Some(self.optim.step(s.lr, net, grads));
    }

    /// Waits for lazy work (GPU backends), so that it falls inside the timed region.
    fn finish(&self) {
        if let Some(net) = &self.net {
            let _: f32 = net.head.weight.val().sum().into_scalar();
        }
    }
}

/// Warms every lane up, then times them alternately (A, B, A, B, ...) so that both see the
/// same machine load; each repeat's rate goes to its lane's `rates`.
pub fn time_lanes(lanes: &mut [Lane], s: &Shape, source: &Source, timing: Timing, device: &Device) {
    for lane in lanes.iter_mut() {
        for _ in 0..timing.warmup {
            lane.train_step(s, source, device);
        }
    }
    for _ in 0..timing.repeats {
        for lane in lanes.iter_mut() {
            let start = Instant::now();
            for _ in 0..timing.steps {
                lane.train_step(s, source, device);
            }
            lane.finish();
            let rate = (timing.steps * s.batch) as f64 / start.elapsed().as_secs_f64();
            lane.rates.push(rate);
        }
    }
}
