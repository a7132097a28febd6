//! Every experiment's flags take their defaults from its configuration, and from nowhere
//! else: `--help` shows the configuration's values, no flags give the tutorial's
//! configuration, and typing a shown default changes nothing
//! ([`rnn_train::cli::defaults_check`]).

use rnn_train::cli::defaults_check::check_defaults;

/// The arguments whose defaults say how a run happens rather than what it is: written once,
/// in the shared flags, and not saved with a run.
const RUN_ONLY: [&str; 2] = ["recurrence", "devices"];

fn check<T>(own: &[&str])
where
    T: rnn_train::ExperimentCli,
    T::Config: serde::Serialize,
{
    let others = check_defaults::<T>().unwrap_or_else(|faults| panic!("{faults}"));
    let expected: Vec<&str> = RUN_ONLY.iter().chain(own).copied().collect();
    for id in &others {
        assert!(
            expected.contains(&id.as_str()),
            "--{id} has a default that is not its configuration's"
        );
    }
}

#[test]
fn irnn_mnist() {
    // The permutation's seed only matters with --permuted, which writes it into the view;
    // --preset chooses the configuration the other flags start from.
    check::<irnn_mnist::Cli>(&["permutation_seed", "preset"]);
}

#[test]
fn elman_mnist() {
    check::<elman_mnist::Cli>(&[]);
}

#[test]
fn lstm_mnist() {
    check::<lstm_mnist::Cli>(&[]);
}

#[test]
fn adding_problem() {
    // --preset chooses the configuration the other flags start from; it is not a field of it.
    check::<adding_problem::Cli>(&["preset"]);
}

#[test]
fn simple_sequence() {
    check::<simple_sequence::Cli>(&[]);
}

/// The check finds a default written twice: a clap struct whose flag keeps a default of its
/// own beside the configuration's.
#[test]
fn a_second_copy_of_a_default_is_reported() {
    use clap::Parser;
    use rnn_train::{CommonArgs, ConfigFlags, ExperimentCli, TrainingConfig};

    #[derive(Parser, Debug)]
    #[command(name = "twice")]
    struct Twice {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long, default_value_t = 20)]
        hidden: usize,
    }
    #[derive(Clone, serde::Serialize)]
    struct Config {
        hidden: usize,
        training: TrainingConfig,
    }
    impl ExperimentCli for Twice {
        type Config = Config;
        fn tutorial() -> Config {
            Config {
                hidden: 20,
                training: TrainingConfig::new(1, 1, 0.1),
            }
        }
        fn config_flags() -> ConfigFlags<Config> {
            ConfigFlags::new()
                .training(|c: &mut Config| &mut c.training)
                .flag("hidden", |c: &mut Config| &mut c.hidden)
        }
        fn common(&self) -> &CommonArgs {
            &self.common
        }
    }
    let faults = check_defaults::<Twice>().expect_err("a default of its own");
    assert!(
        faults.contains("--hidden has a default of its own"),
        "{faults}"
    );
}
