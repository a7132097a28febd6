//! The check that an experiment's flags take every default from its configuration: what a
//! test of each experiment runs, since a second copy of a default is a faithfulness bug
//! waiting to happen (the two drift, and `--help` states one value while a run uses another).

use serde::Serialize;

use crate::cli::entry::{ExperimentCli, command, parse_from};

/// Checks `T`'s command line against its configuration:
///
/// * no configuration flag carries a default of its own in the clap struct;
/// * no flags at all give the tutorial's configuration;
/// * `--help` shows each configuration flag's default as the configuration holds it, and
///   typing that value changes nothing.
///
/// Returns the ids of the other arguments that have a default (flags about how a run happens,
/// not what it is), for the caller to compare with the ones it expects; `Err` lists every
/// fault found.
pub fn check_defaults<T>() -> Result<Vec<String>, String>
where
    T: ExperimentCli,
    T::Config: Serialize,
{
    let json = |c: &T::Config| serde_json::to_value(c).map_err(|e| e.to_string());
    let tutorial = json(&T::tutorial())?;
    let flags = T::config_flags();
    let mut faults = vec![];

    let bare = T::command();
    let ids = flags.ids(&bare);
    for arg in bare.get_arguments() {
        let id = arg.get_id().as_str();
        if ids.contains(&id) && !arg.get_default_values().is_empty() {
            faults.push(format!(
                "--{id} has a default of its own ({:?}); the configuration's must be the only one",
                arg.get_default_values()
            ));
        }
    }

    let full = command::<T>();
    let name = full.get_name().to_string();
    let parse = |extra: &[&str]| {
        let argv = std::iter::once(name.as_str()).chain(extra.iter().copied());
        parse_from::<T, _, _>(argv)
            .map_err(|e| e.to_string())
            .and_then(|p| json(&p.config()))
    };
    match parse(&[]) {
        Ok(config) if config == tutorial => {}
        Ok(config) => faults.push(format!(
            "no flags give {config}, not the tutorial's {tutorial}"
        )),
        Err(e) => faults.push(format!("no flags: {e}")),
    }

    let help = full.clone().render_long_help().to_string();
    for id in &ids {
        let Some(value) = flags.default_of(id, &T::tutorial()) else {
            continue;
        };
        let shown = format!("[default: {value}]");
        if !help.contains(&shown) {
            faults.push(format!("--help does not show --{id}'s {shown}"));
        }
        let flag = format!("--{}", id.replace('_', "-"));
        match parse(&[&flag, &value]) {
            Ok(config) if config == tutorial => {}
            Ok(config) => faults.push(format!(
                "{flag} {value} changes the configuration: {config}"
            )),
            Err(e) => faults.push(format!("{flag} {value}: {e}")),
        }
    }

    let others = full
        .get_arguments()
        .filter(|a| !a.get_default_values().is_empty())
        .map(|a| a.get_id().as_str())
        .filter(|id| !ids.contains(id))
        .map(str::to_string)
        .collect();
    if faults.is_empty() {
        Ok(others)
    } else {
        Err(faults.join("\n"))
    }
}
