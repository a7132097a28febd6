//! The shared flags parsed through a toy experiment's command: defaults, explicit flags, bad
//! values and run errors, as a user sees them.

use clap::Parser;
use rnn_models::Recurrence;

use crate::base::console::Console;
use crate::base::error::RunError;
use crate::cli::args::{AdamArgs, ClipArgs, CommonArgs, NoClipArgs};
use crate::cli::config_flags::ConfigFlags;
use crate::cli::entry::{ExperimentCli, cli_main, command, parse_from};
use crate::cli::value_parsers::count_up_to;
use crate::config::optimizer::OptimizerConfig;
use crate::config::training::TrainingConfig;

#[derive(Parser, Debug)]
#[command(name = "toy")]
struct Toy {
    #[command(flatten)]
    common: CommonArgs,
    /// Hidden units.
    #[arg(long, value_parser = count_up_to(4096))]
    hidden: usize,
    #[command(flatten)]
    adam: AdamArgs,
    #[command(flatten)]
    clip: ClipArgs,
    #[command(flatten)]
    no_clip: NoClipArgs,
}

#[derive(Clone, Debug, serde::Serialize)]
struct ToyConfig {
    hidden: usize,
    optimizer: OptimizerConfig,
    training: TrainingConfig,
}

impl ExperimentCli for Toy {
    type Config = ToyConfig;
    fn tutorial() -> ToyConfig {
        ToyConfig {
            hidden: 20,
            optimizer: OptimizerConfig::adam(),
            training: TrainingConfig::new(10, 100, 0.1),
        }
    }
    fn config_flags() -> ConfigFlags<ToyConfig> {
        ConfigFlags::new()
            .training(|c: &mut ToyConfig| &mut c.training)
            .adam(|c: &mut ToyConfig| &mut c.optimizer)
            .flag("hidden", |c: &mut ToyConfig| &mut c.hidden)
    }
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

#[test]
fn defaults_are_the_experiments_and_explicit_flags_are_recorded() {
    let p = parse_from::<Toy, _, _>(["toy", "--lr", "0.5", "--hidden", "7"]).unwrap();
    assert_eq!(p.args.common.epochs, 10);
    assert_eq!(p.args.common.batch_size, 100);
    assert_eq!(p.args.common.seed, 42);
    assert_eq!(p.args.common.lr, 0.5);
    assert_eq!(p.args.hidden, 7);
    assert_eq!(
        p.explicit,
        ["hidden", "lr"].iter().map(|s| s.to_string()).collect()
    );
    let config = p.config();
    assert_eq!((config.hidden, config.training.lr), (7, 0.5));
    assert_eq!(config.training.epochs, 10);
    let help = command::<Toy>().render_long_help().to_string();
    for shown in [
        "[default: 10]",
        "[default: 100]",
        "[default: 42]",
        "[default: 1e-8]",
    ] {
        assert!(help.contains(shown), "{shown} missing from {help}");
    }
    assert!(help.contains("Exit codes"), "{help}");
}

#[test]
fn no_clip_clears_the_clipping_and_counts_as_typed_clip_norm() {
    let clipped = || {
        let mut base = Toy::tutorial();
        base.training.clip_norm = Some(1.0);
        base
    };
    let p = parse_from::<Toy, _, _>(["toy"]).unwrap();
    assert_eq!(p.config_from(clipped()).training.clip_norm, Some(1.0));
    assert!(!p.explicit.contains("clip_norm"));
    let p = parse_from::<Toy, _, _>(["toy", "--no-clip"]).unwrap();
    assert_eq!(p.config_from(clipped()).training.clip_norm, None);
    assert!(p.explicit.contains("clip_norm"), "{:?}", p.explicit);
    let p = parse_from::<Toy, _, _>(["toy", "--clip-norm", "2"]).unwrap();
    assert_eq!(p.config().training.clip_norm, Some(2.0));
}

#[test]
fn recurrence_defaults_to_fused() {
    let p = parse_from::<Toy, _, _>(["toy"]).unwrap();
    assert_eq!(p.args.common.recurrence, Recurrence::Fused);
    let p = parse_from::<Toy, _, _>(["toy", "--recurrence", "generic"]).unwrap();
    assert_eq!(p.args.common.recurrence, Recurrence::Generic);
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
        let code = cli_main::<Toy, _, _>(argv.clone(), &console, |_, _| Ok(()));
        assert_eq!(code, 2, "{argv:?}");
        let err = captured.stderr();
        assert!(err.starts_with("error:"), "{argv:?}: {err}");
    }
    let (console, captured) = Console::buffer();
    cli_main::<Toy, _, _>(["toy", "--batch-size", "0"], &console, |_, _| Ok(()));
    assert!(captured.stderr().contains("must be at least 1"));
}

#[test]
fn run_errors_print_error_and_hint() {
    let (console, captured) = Console::buffer();
    let code = cli_main::<Toy, _, _>(["toy"], &console, |_, _| {
        Err(RunError::usage("bad thing", Some("do this".to_string())))
    });
    assert_eq!(code, 2);
    assert_eq!(captured.stderr(), "error: bad thing\nhint: do this\n");
}
