//! `simple-sequence generate RUN_DIR`: loads a trained model, reads a prompt, and prints the
//! tokens it predicts next, each fed back as the next input (greedy decoding, the hidden state
//! carried throughout). When the prompt is a stretch of the counting cycle, it also says how
//! far the continuation follows the sequence.

use std::path::PathBuf;

use burn::prelude::*;
use burn::tensor::TensorData;
use clap::Args;
use rnn_data::counting_sequence;
use rnn_train::cli::value_parsers::count_up_to;
use rnn_train::device::open::open;
use rnn_train::{BackendChoice, Console, RunDir, RunError, trained_model};

use crate::config::{NAME, SimpleSequenceConfig};
use crate::model::LanguageModel;

/// `simple-sequence generate` flags.
#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Run directory of a simple-sequence run (uses its model.bpk, or its last checkpoint if
    /// the run stopped early).
    #[arg(value_name = "RUN_DIR")]
    pub run: PathBuf,

    /// Tokens to start from, separated by spaces or commas.
    #[arg(long, value_name = "TOKENS", default_value = "1 2 2 3 3 3")]
    pub prompt: String,

    /// How many tokens to generate [default: one cycle of the counting sequence, 45 tokens
    /// for the tutorial's vocabulary of 10].
    #[arg(long, short = 'n', value_name = "N", value_parser = count_up_to(1_000_000))]
    pub count: Option<usize>,

    /// Backend to run the model on.
    #[arg(long, value_enum, default_value_t = BackendChoice::Flex)]
    pub backend: BackendChoice,
}

/// Where a prompt stands in the counting sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// The prompt occurs in the cycle, and every place it occurs continues with these tokens.
    Continuation(Vec<u32>),
    /// The prompt occurs at places that continue differently (e.g. `9 9`).
    Ambiguous,
    /// The prompt never occurs in the sequence.
    Absent,
}

/// What `generate` produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// The prompt's tokens.
    pub prompt: Vec<u32>,
    /// The generated tokens.
    pub tokens: Vec<u32>,
    /// What the counting sequence has after the prompt.
    pub expected: Expected,
}

impl Generated {
    /// How many leading generated tokens follow the counting sequence (when the prompt fixes
    /// what follows).
    pub fn correct_prefix(&self) -> Option<usize> {
        let Expected::Continuation(expected) = &self.expected else {
            return None;
        };
        Some(
            self.tokens
                .iter()
                .zip(expected)
                .take_while(|(a, b)| a == b)
                .count(),
        )
    }
}

/// `count` tokens after `prompt`, greedily: each step feeds the most likely token back in.
pub fn continue_prompt(
    model: &LanguageModel,
    prompt: &[u32],
    count: usize,
    device: &Device,
) -> Vec<u32> {
    let as_tensor = |tokens: &[u32]| {
        let data: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        Tensor::<2, Int>::from_data(TensorData::new(data, [1, tokens.len()]), device)
    };
    let most_likely = |scores: Tensor<3>| -> u32 {
        let [_, t, v] = scores.dims();
        let last = scores.slice([0..1, t - 1..t, 0..v]).reshape([v]);
        last.argmax(0).into_scalar::<i64>() as u32
    };
    let (scores, mut state) = model.forward(as_tensor(prompt), None);
    let mut next = most_likely(scores);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(next);
        let (scores, after) = model.forward(as_tensor(&[next]), Some(state));
        state = after;
        next = most_likely(scores);
    }
    out
}

/// The `count` tokens that follow `prompt` in the counting sequence of `n_vocab`.
pub fn expected_continuation(prompt: &[u32], n_vocab: u32, count: usize) -> Expected {
    let cycle = counting_sequence(n_vocab, 1);
    let n = cycle.len();
    let mut continuations = (0..n)
        .filter(|&offset| {
            prompt
                .iter()
                .enumerate()
                .all(|(i, &t)| cycle[(offset + i) % n] == t)
        })
        .map(|offset| {
            (0..count)
                .map(|i| cycle[(offset + prompt.len() + i) % n])
                .collect::<Vec<_>>()
        });
    match continuations.next() {
        None => Expected::Absent,
        Some(first) if continuations.all(|c| c == first) => Expected::Continuation(first),
        Some(_) => Expected::Ambiguous,
    }
}

/// Parses `1 2 2 3` or `1,2,2,3` into tokens below `n_vocab`.
pub fn parse_prompt(text: &str, n_vocab: usize) -> Result<Vec<u32>, RunError> {
    let tokens = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u32>()
                .ok()
                .filter(|&t| (t as usize) < n_vocab)
                .ok_or_else(|| {
                    RunError::usage(
                        format!("--prompt: {s:?} is not a token of the vocabulary 0..={}", n_vocab - 1),
                        Some("give the prompt as numbers separated by spaces, e.g. --prompt \"1 2 2 3 3 3\"".into()),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if tokens.is_empty() {
        return Err(RunError::usage(
            "--prompt is empty",
            Some("e.g. --prompt \"1 2 2 3 3 3\"".to_string()),
        ));
    }
    Ok(tokens)
}

/// Loads the run's model and prints its continuation of the prompt.
pub fn generate(args: &GenerateArgs, console: &Console) -> Result<(), RunError> {
    let generated = run_generate(args)?;
    let show = |tokens: &[u32]| {
        tokens
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    console.line(format!("prompt:    {}", show(&generated.prompt)));
    console.line(format!("generated: {}", show(&generated.tokens)));
    let n = generated.tokens.len();
    let verdict = match (&generated.expected, generated.correct_prefix()) {
        (_, Some(k)) if k == n => {
            format!("all {n} generated tokens continue the counting sequence correctly")
        }
        (Expected::Continuation(expected), Some(k)) => format!(
            "the first {k} of {n} generated tokens continue the counting sequence; token {} is \
             {}, the sequence has {}",
            k + 1,
            generated.tokens[k],
            expected[k]
        ),
        (Expected::Ambiguous, _) => {
            "(the prompt occurs at several places of the counting cycle that continue \
             differently: nothing to check against)"
                .into()
        }
        _ => {
            "(the prompt does not occur in the counting sequence: nothing to check against)".into()
        }
    };
    console.line(verdict);
    Ok(())
}

/// Loads the run's model and continues the prompt.
pub fn run_generate(args: &GenerateArgs) -> Result<Generated, RunError> {
    let run = RunDir::open(&args.run, NAME)?;
    let config: SimpleSequenceConfig = run.read_config()?;
    let n_vocab = config.model.n_vocab;
    let prompt = parse_prompt(&args.prompt, n_vocab)?;
    let count = args
        .count
        .unwrap_or_else(|| counting_sequence(n_vocab as u32, 1).len().max(1));
    let device = open(args.backend, 1)?.main().clone();
    let model = config.model.init(&device);
    let (model, _) = trained_model(&run, model, NAME, "generate")?;
    let tokens = continue_prompt(&model, &prompt, count, &device);
    let expected = expected_continuation(&prompt, n_vocab as u32, count);
    Ok(Generated {
        prompt,
        tokens,
        expected,
    })
}
