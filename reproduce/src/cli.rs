//! The command line of `reproduce` ([`Cli`]): its flags, their help, and the checks of their
//! values.

use std::path::PathBuf;

use clap::Parser;

use crate::plan::{self, Experiment};

#[derive(Parser, Debug)]
#[command(
    name = "reproduce",
    version,
    about = "Runs the rnn-burn experiments over several seeds and reports them against the tutorials",
    long_about = "Runs the rnn-burn experiments over several seeds and reports them against the \
        tutorials' numbers. Each seed K of each experiment is one run of the experiment's binary \
        (found next to this program, in target/release), as `<experiment> --seed K --out \
        OUT/<experiment>/seed-K --plain`, its output in OUT/<experiment>/seed-K.log. Then OUT \
        receives report.md (a table of mean ± sample sd, range and per-seed values against the \
        tutorial, and a plot per experiment), report.json and <experiment>.png (every seed's \
        per-epoch test curve, the tutorial's values and final number).\n\n\
        Running it again with the same --out resumes: finished seeds are kept, interrupted ones \
        continue with the binary's --resume, a directory that holds no resumable run is \
        renamed seed-K.incomplete-N and started afresh. A failed run is reported with its log, \
        the report still covers the seeds that finished, and the exit code is then 1.\n\n\
        The long adding problem (adding-paper: Le et al. 2015, Fig. 2; adding-modern: Keller \
        et al. 2024) runs only when named: each length and network is a run of its own, in \
        OUT/<experiment>/T<len>-<network>/seed-K, and the report draws one panel per length \
        with a table against the paper's figure.\n\n\
        Pixel MNIST as the same paper trains it (section 4.2, Fig. 3) runs only when named too: \
        smnist-paper and psmnist-paper (--preset paper, sequential and --permuted pixels), \
        smnist-modern and psmnist-modern (--preset modern) train the LSTM, the tanh RNN, the \
        ReLU RNN and the IRNN of irnn-mnist, each network a run of its own in \
        OUT/<experiment>/<network>/seed-K (the binary's run directory itself: one started by \
        hand there, `irnn-mnist --preset P --model N [--permuted] --seed K --out DIR`, is \
        resumed or, when finished, kept); the report draws test accuracy against training \
        steps with the paper's final numbers.\n\n\
        To run on a scheduler instead, --emit-jobs FILE writes one shell command per run that \
        has not finished (GNU parallel, xargs -P or a Slurm array run them as they are; see \
        docs/adding-long.md), and --collect OUT writes the report from whatever has finished, \
        naming the runs still missing.\n\n\
        Exit codes: 0 every run finished; 1 a run failed or is missing, or the report could \
        not be written; 2 usage error (bad flag value, missing binary, unusable --out)."
)]
pub struct Cli {
    /// Seeds per experiment: runs seeds 1, 2, ..., N [default: 5; with --quick: 2]
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub seeds: Option<u64>,

    /// Experiments to run, comma-separated: irnn-mnist, elman-mnist, lstm-mnist,
    /// adding-problem, simple-sequence, adding-paper, adding-modern, smnist-paper,
    /// psmnist-paper, smnist-modern, psmnist-modern [default: the five tutorials but
    /// irnn-mnist, whose 200 epochs take 35 to 90 min per seed on 2 cores; with --quick: all
    /// but irnn-mnist]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = plan::experiment)]
    pub experiments: Vec<&'static Experiment>,

    /// The sequence lengths of adding-paper and adding-modern to run, comma-separated, e.g.
    /// 150,200 (the pixel-MNIST sweeps have one, 784) [default: all of each one's:
    /// 150,200,300,400 and 100,200,400]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = at_least_two)]
    pub lengths: Vec<usize>,

    /// Write one self-contained shell command per run that has not finished to FILE, one
    /// per line (each runs `reproduce --job` for its run), and exit without running them
    #[arg(long, value_name = "FILE", conflicts_with_all = ["collect", "job"])]
    pub emit_jobs: Option<PathBuf>,

    /// Write the report of the reproduction in DIR from the runs that have finished (the
    /// plan is the one DIR was made with, or the one --experiments, --seeds and --lengths
    /// name), naming those still missing
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "job"])]
    pub collect: Option<PathBuf>,

    /// Run (or resume, or skip when finished) one run of --out, named as its directory is:
    /// EXPERIMENT[/SETTING]/seed-K, e.g. adding-paper/T150-irnn/seed-1 or
    /// smnist-modern/irnn/seed-1; what --emit-jobs writes
    #[arg(long, value_name = "RUN", requires = "out")]
    pub job: Option<String>,

    /// Directory of the reproduction; give an earlier one to resume it (with its own
    /// experiments, seeds and lengths, unless these flags name others) [default:
    /// runs/reproduce/<UTC date-time>]
    // The angle brackets are --help text, not HTML.
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Tiny budgets, to check the machinery in CI: 2 epochs on the first 1000 to 10000
    /// MNIST training images, small synthetic sets, one step of one network per pixel-MNIST
    /// sweep, about a second per run (each run's log starts with its command line). The
    /// numbers are not comparable with the tutorials'; a quick --out cannot be reused for a
    /// full run
    #[arg(long)]
    pub quick: bool,
}

fn at_least_two(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 2 => Ok(n),
        _ => Err(format!(
            "expected a sequence length of at least 2, got {s:?}"
        )),
    }
}

fn at_least_one(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("expected a whole number of at least 1, got {s:?}")),
    }
}
