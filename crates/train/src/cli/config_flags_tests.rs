//! [`ConfigFlags`] on a toy configuration: defaults from the configuration, typed flags
//! writing their fields, and every spelled default parsing back to itself.

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, Parser};

use crate::cli::config_flags::{ConfigFlags, FlagValue};
use crate::config::optimizer::{EpsilonForm, OptimizerConfig};

#[derive(Clone, Debug, PartialEq)]
struct Toy {
    hidden: usize,
    scale: f64,
    limit: Option<usize>,
    optimizer: OptimizerConfig,
}

fn tutorial() -> Toy {
    Toy {
        hidden: 20,
        scale: 1e-6,
        limit: None,
        optimizer: OptimizerConfig::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            epsilon_form: EpsilonForm::Uncorrected,
        },
    }
}

#[derive(Args, Debug, Clone)]
struct ToyAdam {
    #[arg(long)]
    beta1: f32,
    #[arg(long)]
    beta2: f32,
    #[arg(long)]
    epsilon: f32,
    #[arg(long, value_enum)]
    epsilon_form: EpsilonForm,
}

#[derive(Parser, Debug)]
struct ToyCli {
    #[arg(long)]
    hidden: usize,
    #[arg(long)]
    scale: f64,
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    adam: ToyAdam,
}

fn flags() -> ConfigFlags<Toy> {
    ConfigFlags::new()
        .flag("hidden", |c: &mut Toy| &mut c.hidden)
        .flag("scale", |c: &mut Toy| &mut c.scale)
        .flag("limit", |c: &mut Toy| &mut c.limit)
        .adam(|c: &mut Toy| &mut c.optimizer)
}

/// The toy's configuration for `argv`, starting from `base`.
fn parse(argv: &[&str], base: Toy) -> Toy {
    let mut command = flags().fill(ToyCli::command(), &tutorial());
    let matches = command.try_get_matches_from_mut(argv).expect("valid flags");
    let typed = command
        .get_arguments()
        .map(|a| a.get_id().as_str().to_string())
        .filter(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .collect();
    flags().apply(base, &matches, &typed)
}

#[test]
fn defaults_come_from_the_configuration_and_show_in_help() {
    assert_eq!(parse(&["toy"], tutorial()), tutorial());
    let help = flags()
        .fill(ToyCli::command(), &tutorial())
        .render_long_help()
        .to_string();
    for shown in [
        "[default: 20]",
        "[default: 1e-6]",
        "[default: 1e-8]",
        "[default: uncorrected]",
    ] {
        assert!(help.contains(shown), "{shown} missing from:\n{help}");
    }
    assert_eq!(flags().default_of("limit", &tutorial()), None);
}

#[test]
fn typed_flags_write_their_fields_and_only_those() {
    let mut base = tutorial();
    base.hidden = 7; // a preset's value
    let got = parse(
        &["toy", "--scale", "0.5", "--limit", "3", "--beta2", "0.9"],
        base,
    );
    assert_eq!(got.hidden, 7, "an untyped flag keeps the starting value");
    assert_eq!(got.scale, 0.5);
    assert_eq!(got.limit, Some(3));
    let OptimizerConfig::Adam { beta1, beta2, .. } = got.optimizer else {
        panic!("Adam")
    };
    assert_eq!((beta1, beta2), (0.9, 0.9));
}

#[test]
fn every_spelled_default_parses_back_to_itself() {
    let config = tutorial();
    for id in flags().ids(&ToyCli::command()) {
        let Some(value) = flags().default_of(id, &config) else {
            continue;
        };
        let flag = format!("--{}", id.replace('_', "-"));
        assert_eq!(
            parse(&["toy", &flag, &value], config.clone()),
            config,
            "{flag} {value}"
        );
    }
    for v in [1e-6f64, 0.1, 3.0, 1e7, 123.456, 5e-324] {
        let spelled = FlagValue::spell(&v).unwrap();
        assert_eq!(spelled.parse::<f64>().unwrap(), v, "{spelled}");
    }
}
