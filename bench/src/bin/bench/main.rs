//! Training throughput of every experiment's shape: forward, loss, backward and optimiser
//! step with the project's models, on batches built by the data crate's batchers.
//!
//! Prints a table (samples/s median, min and max over repeats, peak RSS) and one JSON line
//! per shape: `{"shape": ..., "backend": ..., "samples_per_second": median, ...}`.

mod lanes;
mod net;
mod report;
mod shapes;
mod source;

use std::fmt::Display;
use std::path::Path;
use std::sync::Arc;

use burn::prelude::*;
use clap::Parser;
use rnn_data::{Mnist, MnistSplit};
use rnn_models::Recurrence;
use rnn_train::BackendChoice;

use lanes::{Lane, Timing, time_lanes};
use report::{peak_rss_mib, print_header, report_shape};
use shapes::{Shape, Task, shape_names, shapes};
use source::Source;

rnn_train::use_mimalloc!();

#[derive(Parser, Debug)]
#[command(about = "Training throughput (samples/s) of each experiment's shape")]
struct Args {
    /// Backend to run on.
    #[arg(long, value_enum, default_value_t = BackendChoice::Flex)]
    backend: BackendChoice,
    /// Worker threads for the CPU backends (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Run only this shape (repeatable). Default: all of them.
    #[arg(long, value_parser = shape_names())]
    shape: Vec<String>,
    /// Untimed training steps before timing.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Training steps per timed repeat.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Timed repeats (median, min and max are reported).
    #[arg(long, default_value_t = 7)]
    repeats: usize,
    /// Which recurrence runs the time loop: fused, generic, or both (timed alternately, side
    /// by side, with their ratio). Default: both on wgpu and cuda, fused on the CPU backends.
    #[arg(long, value_name = "RECURRENCE", value_parser = ["fused", "generic", "both"])]
    recurrence: Option<String>,
    /// MNIST directory (default: MNIST_DIR, then the cache; see the data crate).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

impl Args {
    /// The recurrences to time, one lane each.
    fn recurrences(&self) -> Vec<Recurrence> {
        let gpu = matches!(self.backend, BackendChoice::Wgpu | BackendChoice::Cuda);
        match self.recurrence.as_deref() {
            Some("fused") => vec![Recurrence::Fused],
            Some("generic") => vec![Recurrence::Generic],
            Some(_) => vec![Recurrence::Fused, Recurrence::Generic],
            None if gpu => vec![Recurrence::Fused, Recurrence::Generic],
            None => vec![Recurrence::Fused],
        }
    }

    /// The shapes `--shape` names, in the order of [`shapes()`]; all of them without it.
    fn selected_shapes(&self) -> Vec<Shape> {
        shapes()
            .into_iter()
            .filter(|s| self.shape.is_empty() || self.shape.iter().any(|n| n == s.name))
            .collect()
    }

    /// The warm-up, steps and repeats of every shape's lanes.
    fn timing(&self) -> Timing {
        Timing {
            warmup: self.warmup,
            steps: self.steps,
            repeats: self.repeats,
        }
    }
}

/// Prints `error: {message}` and exits with `code`.
fn exit_with(message: impl Display, code: i32) -> ! {
    eprintln!("error: {message}");
    std::process::exit(code);
}

/// Sizes rayon's global pool to `--threads`; exits with 2 where it cannot be.
fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads
        && (n == 0
            || rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .is_err())
    {
        exit_with(format_args!("cannot use --threads {n}"), 2);
    }
}

/// The autodiff device of `backend`; exits with 2, the error and its hint where it cannot
/// be opened.
fn open_device(backend: BackendChoice) -> Device {
    match rnn_train::device::open::open(backend, 1) {
        Ok(devices) => devices.main().clone().autodiff(),
        Err(e) => {
            rnn_train::cli::entry::report(&rnn_train::Console::stdio(), &e);
            std::process::exit(2);
        }
    }
}

/// MNIST's training set, loaded only when a selected shape has an MNIST task (the adding
/// problem's shapes run without the files); exits with 1 where it cannot be loaded.
fn load_mnist_if_needed(selected: &[Shape], data_dir: Option<&Path>) -> Option<Arc<Mnist>> {
    if !selected.iter().any(|s| matches!(s.task, Task::Mnist(..))) {
        return None;
    }
    match Mnist::load(MnistSplit::Train, data_dir) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) => exit_with(e, 1),
    }
}

fn main() {
    let args = Args::parse();
    if args.steps == 0 || args.repeats == 0 {
        exit_with("--steps and --repeats must be at least 1", 2);
    }
    set_threads(args.threads);
    let device = open_device(args.backend);
    let recurrences = args.recurrences();
    let selected = args.selected_shapes();
    let mnist = load_mnist_if_needed(&selected, args.data_dir.as_deref());

    print_header(args.backend, args.timing());
    let mut json = vec![];
    for s in selected {
        let (source, sizes) = Source::for_task(s.task, mnist.as_ref());
        let mut lanes: Vec<Lane> = recurrences
            .iter()
            .map(|&path| Lane::new(&s, sizes, path, &device))
            .collect();
        time_lanes(&mut lanes, &s, &source, args.timing(), &device);
        let rss = peak_rss_mib();
        json.extend(report_shape(&s, args.backend, &mut lanes, rss));
    }
    for line in json {
        println!("{line}");
    }
}
