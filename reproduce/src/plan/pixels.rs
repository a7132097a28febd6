//! Pixel-by-pixel MNIST's sweeps over networks, the IRNN paper's section 4.2
//! ([`SMNIST_PAPER`], [`PSMNIST_PAPER`], [`SMNIST_MODERN`], [`PSMNIST_MODERN`]): one run of
//! `irnn-mnist --preset P --model N [--permuted]` per network and seed, the final test
//! accuracies the paper reports, and the measured time of a training step.

use super::sweeps::{Reference, Reported, Sweep, Task};

/// The sequence length of pixel MNIST: one pixel per step.
pub const PIXELS: usize = 784;

/// Le, Jaitly & Hinton (2015), Fig. 3, on sequential pixels. The IRNN's and the tanh RNN's
/// final test accuracies are those Cooijmans et al. (2016), Table 1, quote from the paper; the
/// LSTM's and the ReLU RNN's were not read, so they carry no number.
static SEQUENTIAL_REFERENCE: [Reference; 4] = [
    not_read("lstm"),
    Reference {
        seq_len: PIXELS,
        network: "rnn",
        outcome: Reported::Accuracy(Some(0.35)),
        note: "35.0 % (“RNN + tanh”)",
    },
    not_read("relu"),
    Reference {
        seq_len: PIXELS,
        network: "irnn",
        outcome: Reported::Accuracy(Some(0.97)),
        note: "97.0 %",
    },
];

/// Le, Jaitly & Hinton (2015), Fig. 3, on permuted pixels, as [`SEQUENTIAL_REFERENCE`].
static PERMUTED_REFERENCE: [Reference; 4] = [
    not_read("lstm"),
    Reference {
        seq_len: PIXELS,
        network: "rnn",
        outcome: Reported::Accuracy(Some(0.35)),
        note: "35.0 % (“RNN + tanh”)",
    },
    not_read("relu"),
    Reference {
        seq_len: PIXELS,
        network: "irnn",
        outcome: Reported::Accuracy(Some(0.82)),
        note: "82.0 %",
    },
];

/// A network whose number in the paper's figure was not read.
const fn not_read(network: &'static str) -> Reference {
    Reference {
        seq_len: PIXELS,
        network,
        outcome: Reported::Accuracy(None),
        note: "not read",
    }
}

const PAPER_SOURCE: &str = "Le et al. (2015), Fig. 3: the IRNN's and the tanh RNN's final test \
    accuracies as Cooijmans et al. (2016), Table 1, quote them; the LSTM's and the ReLU RNN's \
    were not read";
const MODERN_SOURCE: &str = "the paper's numbers, Le et al. (2015), Fig. 3 (the IRNN's and the \
    tanh RNN's as Cooijmans et al. (2016), Table 1, quote them; the LSTM's and the ReLU RNN's \
    were not read): Keller et al. (2024)'s Adam setting is held to them, the goal being the \
    modern IRNN at or above the paper's";

/// Sequential pixel MNIST as the paper trains it (`--preset paper`, 10⁶ steps of SGD).
pub static SMNIST_PAPER: Sweep = Sweep {
    task: Task::Pixels { permuted: false },
    preset: "paper",
    lengths: &[PIXELS],
    quick_lengths: &[PIXELS],
    quick_networks: &["irnn"],
    source: PAPER_SOURCE,
    reference: &SEQUENTIAL_REFERENCE,
    seconds_per_step_and_t: &PAPER_SECONDS,
    machine: PIXEL_MACHINE,
};

/// Permuted pixel MNIST as the paper trains it (`--preset paper --permuted`).
pub static PSMNIST_PAPER: Sweep = Sweep {
    task: Task::Pixels { permuted: true },
    preset: "paper",
    lengths: &[PIXELS],
    quick_lengths: &[PIXELS],
    quick_networks: &["rnn"],
    source: PAPER_SOURCE,
    reference: &PERMUTED_REFERENCE,
    seconds_per_step_and_t: &PAPER_SECONDS,
    machine: PIXEL_MACHINE,
};

/// Sequential pixel MNIST with Adam (`--preset modern`, 120 epochs).
pub static SMNIST_MODERN: Sweep = Sweep {
    task: Task::Pixels { permuted: false },
    preset: "modern",
    lengths: &[PIXELS],
    quick_lengths: &[PIXELS],
    quick_networks: &["lstm"],
    source: MODERN_SOURCE,
    reference: &SEQUENTIAL_REFERENCE,
    seconds_per_step_and_t: &MODERN_SECONDS,
    machine: PIXEL_MACHINE,
};

/// Permuted pixel MNIST with Adam (`--preset modern --permuted`, 250 epochs).
pub static PSMNIST_MODERN: Sweep = Sweep {
    task: Task::Pixels { permuted: true },
    preset: "modern",
    lengths: &[PIXELS],
    quick_lengths: &[PIXELS],
    quick_networks: &["relu"],
    source: MODERN_SOURCE,
    reference: &PERMUTED_REFERENCE,
    seconds_per_step_and_t: &MODERN_SECONDS,
    machine: PIXEL_MACHINE,
};

/// The CPU the pixel sweeps' step times were measured on (2 cores, the flex backend, one run
/// at a time).
pub const PIXEL_MACHINE: &str = "AMD EPYC";

/// `--preset paper` (batch 16): seconds per training step per sequence step (T = 784), the
/// LSTM and the Elman networks (the IRNN, tanh and ReLU RNNs: 5.7 ms per step).
pub const PAPER_PIXEL_STEP_SECONDS: [f64; 2] = [LSTM_PAPER_MS * 1e-3 / 784.0, 5.7e-3 / 784.0];
/// `--preset modern` (batch 128), as [`PAPER_PIXEL_STEP_SECONDS`] (the Elman networks: 42 ms
/// per step).
pub const MODERN_PIXEL_STEP_SECONDS: [f64; 2] = [LSTM_MODERN_MS * 1e-3 / 784.0, 42e-3 / 784.0];

/// The LSTM's milliseconds per step with `--preset paper`: 4.95 times the IRNN's 5.7. On the
/// same 2-core AMD EPYC, beside another training run (so both slower than alone), one epoch of
/// 100 steps (`--limit-train 1600`) took 48.8 to 53.9 ms per step for the LSTM and 10.2 to
/// 10.9 ms for the IRNN, three runs of each taken in turn: a ratio of 4.8 to 5.1.
const LSTM_PAPER_MS: f64 = 28.0;
/// The LSTM's milliseconds per step with `--preset modern`: 5.7 times the IRNN's 42. Measured
/// as [`LSTM_PAPER_MS`], 30 steps (`--limit-train 3840`): 469 to 495 ms per step for the
/// LSTM, 84 to 85 ms for the IRNN (ratio 5.6 to 5.8).
const LSTM_MODERN_MS: f64 = 240.0;

static PAPER_SECONDS: [(&str, f64); 4] = [
    ("lstm", PAPER_PIXEL_STEP_SECONDS[0]),
    ("rnn", PAPER_PIXEL_STEP_SECONDS[1]),
    ("relu", PAPER_PIXEL_STEP_SECONDS[1]),
    ("irnn", PAPER_PIXEL_STEP_SECONDS[1]),
];

static MODERN_SECONDS: [(&str, f64); 4] = [
    ("lstm", MODERN_PIXEL_STEP_SECONDS[0]),
    ("rnn", MODERN_PIXEL_STEP_SECONDS[1]),
    ("relu", MODERN_PIXEL_STEP_SECONDS[1]),
    ("irnn", MODERN_PIXEL_STEP_SECONDS[1]),
];
