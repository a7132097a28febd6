//! The shared flags parsed through a toy experiment's command: defaults, explicit flags, bad
//! values and run errors, as a user sees them.

use clap::Parser;
use rnn_models::RecurrencePath;

use crate::cli::args::{AdamArgs, CommonArgs, TrainingDefaults};
use crate::cli::entry::{cli_main, command, parse_from};
use crate::cli::run_error::RunError;
use crate::cli::value_parsers::count_up_to;
use crate::report::console::Console;

#[derive(Parser, Debug)]
#[command(name = "toy")]
struct Toy {
    #[command(flatten)]
    common: CommonArgs,
    /// Hidden units.
    #[arg(long, default_value_t = 20, value_parser = count_up_to(4096))]
    hidden: usize,
    #[command(flatten)]
    adam: AdamArgs,
}

const D: TrainingDefaults = TrainingDefaults {
    epochs: 10,
    batch_size: 100,
    lr: 0.1,
    shuffle: true,
};

#[test]
fn defaults_are_the_experiments_and_explicit_flags_are_recorded() {
    let p = parse_from::<Toy, _, _>(["toy", "--lr", "0.5", "--hidden", "7"], &D).unwrap();
    assert_eq!(p.args.common.epochs, Some(10));
    assert_eq!(p.args.common.batch_size, Some(100));
    assert_eq!(p.args.common.lr, Some(0.5));
    assert_eq!(p.args.hidden, 7);
    assert_eq!(
        p.explicit,
        ["hidden", "lr"].iter().map(|s| s.to_string()).collect()
    );
    let help = command::<Toy>(&D).render_long_help().to_string();
    assert!(
        help.contains("tutorial: 10") && help.contains("[default: 100]"),
        "{help}"
    );
    assert!(help.contains("Exit codes"), "{help}");
}

#[test]
fn recurrence_defaults_to_fused() {
    let p = parse_from::<Toy, _, _>(["toy"], &D).unwrap();
    assert_eq!(p.args.common.recurrence, RecurrencePath::Fused);
    let p = parse_from::<Toy, _, _>(["toy", "--recurrence", "generic"], &D).unwrap();
    assert_eq!(p.args.common.recurrence, RecurrencePath::Generic);
}

#[test]
fn bad_values_are_clap_errors_with_exit_code_2() {
    for argv in [
        vec!["toy", "--batch-size", "0"],
        vec!["toy", "--backend", "nosuch"],
        vec!["toy", "--recurrence", "fast"],
        vec!["toy", "--lr", "-1"],
        vec!["toy", "--lr", "nan"],
        vec!["toy", "--lr", "inf"],
        vec!["toy", "--out", "a", "--resume", "b"],
        vec!["toy", "--epochs", "18446744073709551615"],
        vec!["toy", "--hidden", "4097"],
        vec!["toy", "--beta1", "1"],
        vec!["toy", "--beta2", "nan"],
        vec!["toy", "--beta2", "-0.1"],
        vec!["toy", "--epsilon", "0"],
        vec!["toy", "--epsilon", "1e-60"],
        vec!["toy", "--epsilon", "1e300"],
    ] {
        let (console, captured) = Console::buffer();
        let code = cli_main::<Toy, _, _>(argv.clone(), &D, &console, |_, _| Ok(()));
        assert_eq!(code, 2, "{argv:?}");
        let err = captured.stderr();
        assert!(err.starts_with("error:"), "{argv:?}: {err}");
    }
    let (console, captured) = Console::buffer();
    cli_main::<Toy, _, _>(["toy", "--batch-size", "0"], &D, &console, |_, _| Ok(()));
    assert!(captured.stderr().contains("must be at least 1"));
}

#[test]
fn run_errors_print_error_and_hint() {
    let (console, captured) = Console::buffer();
    let code = cli_main::<Toy, _, _>(["toy"], &D, &console, |_, _| {
        Err(RunError::usage("bad thing", Some("do this".to_string())))
    });
    assert_eq!(code, 2);
    assert_eq!(captured.stderr(), "error: bad thing\nhint: do this\n");
}
