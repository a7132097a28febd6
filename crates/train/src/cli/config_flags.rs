//! Flags that set fields of an experiment's configuration, each declared once: the flag's id
//! and the field it writes. Everything else follows from that declaration and from the
//! configuration's own defaults (the tutorial's values, written once in the experiment's
//! `config.rs`): the default `--help` shows, what an absent flag means, and how a typed value
//! reaches its field. A flag's default can therefore never drift from the configuration's.
//!
//! The clap structs leave these flags without a default; [`ConfigFlags::fill`] sets each one
//! from the configuration before parsing, and [`ConfigFlags::apply`] writes the flags the user
//! typed onto a starting configuration (the tutorial's, or a preset's), so that a preset's
//! values stay in force for every flag that was not typed.

use std::collections::BTreeSet;
use std::rc::Rc;

use clap::{ArgMatches, Command};

pub use crate::cli::flag_value::FlagValue;
use crate::config::optimizer::{EpsilonForm, OptimizerConfig};
use crate::config::training::TrainingConfig;

/// Where a flag is, and whether `--help` shows the configuration's value as its default.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// The experiment declares the flag: it must be on its command line.
    Always,
    /// A shared flag, applied where the experiment's command line has it.
    WherePresent,
    /// The experiment declares it, without a default (it differs between runs).
    Never,
}

/// A flag's default as a user types it, read from a configuration.
type Spell<C> = Box<dyn Fn(&C) -> Option<String>>;
/// Writes a typed flag's value into a configuration.
type Setter<C> = Box<dyn Fn(&mut C, &ArgMatches)>;

struct Flag<C> {
    id: &'static str,
    /// The configuration field it writes, by name (a resumed run checks typed flags by the
    /// fields they write).
    field: &'static str,
    /// Only in the experiments whose command line has it (the shared training flags).
    where_present: bool,
    /// Whether `--help` shows the configuration's value as the flag's default.
    shows_default: bool,
    spell: Spell<C>,
    set: Setter<C>,
    /// Whether a configuration has the field (Adam's flags: only where the optimiser is Adam).
    applies: Box<dyn Fn(&C) -> bool>,
}

/// The flags of one experiment that set fields of its configuration `C` (see the module
/// docs).
pub struct ConfigFlags<C> {
    flags: Vec<Flag<C>>,
}

impl<C: Clone + 'static> Default for ConfigFlags<C> {
    fn default() -> Self {
        ConfigFlags { flags: vec![] }
    }
}

impl<C: Clone + 'static> ConfigFlags<C> {
    /// No flags yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `--<id>` (clap's id: the clap struct's field name) writes the field `field` returns.
    /// The id is also the configuration field's name, which a resumed run's check of typed
    /// flags relies on.
    pub fn flag<T: FlagValue>(
        self,
        id: &'static str,
        field: impl Fn(&mut C) -> &mut T + 'static,
    ) -> Self {
        self.push(id, Shown::Always, field)
    }

    /// `--<id>` for a field whose default differs between the runs one command starts (the
    /// hidden size of each network a comparison trains): the flag shows no default, and its
    /// help says where the defaults come from.
    pub fn flag_without_default<T: FlagValue>(
        self,
        id: &'static str,
        field: impl Fn(&mut C) -> &mut T + 'static,
    ) -> Self {
        self.push(id, Shown::Never, field)
    }

    /// `--<id>`, a switch: when typed, `action` rewrites the configuration (reading any other
    /// flag it needs from the parsed matches), and the field named `field` counts as typed.
    pub fn switch(
        self,
        id: &'static str,
        field: &'static str,
        action: impl Fn(&mut C, &ArgMatches) + 'static,
    ) -> Self {
        self.push_switch(id, field, false, action)
    }

    fn push_switch(
        mut self,
        id: &'static str,
        field: &'static str,
        where_present: bool,
        action: impl Fn(&mut C, &ArgMatches) + 'static,
    ) -> Self {
        self.flags.push(Flag {
            id,
            field,
            where_present,
            shows_default: false,
            spell: Box::new(|_: &C| None),
            set: Box::new(action),
            applies: Box::new(|_: &C| true),
        });
        self
    }

    fn push<T: FlagValue>(
        mut self,
        id: &'static str,
        shown: Shown,
        field: impl Fn(&mut C) -> &mut T + 'static,
    ) -> Self {
        let field = Rc::new(field);
        let read = field.clone();
        self.flags.push(Flag {
            id,
            field: id,
            where_present: shown == Shown::WherePresent,
            shows_default: shown != Shown::Never,
            spell: Box::new(move |config: &C| read(&mut config.clone()).spell()),
            set: Box::new(move |config: &mut C, matches: &ArgMatches| {
                match matches.try_get_one::<T::Parsed>(id) {
                    Ok(Some(value)) => *field(config) = T::from_parsed(value.clone()),
                    Ok(None) => {}
                    // The clap field's type differs from the configuration field's: a
                    // declaration error, which the experiment's defaults test reports.
                    Err(e) => panic!("--{id} does not fit its configuration field: {e}"),
                }
            }),
            applies: Box::new(|_: &C| true),
        });
        self
    }

    /// As [`ConfigFlags::push`], for a field that only some configurations have (`field`
    /// returns `None` for the others): there the flag has no default, and a typed value is
    /// not applied ([`ConfigFlags::inapplicable`] names it, for the experiment to refuse).
    fn push_where<T: FlagValue>(
        mut self,
        id: &'static str,
        field: impl Fn(&mut C) -> Option<&mut T> + 'static,
    ) -> Self {
        let field = Rc::new(field);
        let (read, has) = (field.clone(), field.clone());
        self.flags.push(Flag {
            id,
            field: id,
            where_present: false,
            shows_default: true,
            spell: Box::new(move |config: &C| read(&mut config.clone())?.spell()),
            set: Box::new(move |config: &mut C, matches: &ArgMatches| {
                if let (Ok(Some(value)), Some(slot)) =
                    (matches.try_get_one::<T::Parsed>(id), field(config))
                {
                    *slot = T::from_parsed(value.clone());
                }
            }),
            applies: Box::new(move |config: &C| has(&mut config.clone()).is_some()),
        });
        self
    }

    /// The typed flags (clap ids in `typed`) that set a field `config` does not have, such as
    /// Adam's `--beta1` for a run that trains with SGD, as `--flag` names.
    pub fn inapplicable(&self, config: &C, typed: &BTreeSet<String>) -> Vec<String> {
        self.flags
            .iter()
            .filter(|f| typed.contains(f.id) && !(f.applies)(config))
            .map(|f| format!("--{}", f.id.replace('_', "-")))
            .collect()
    }

    /// The training loop's flags ([`crate::CommonArgs`], [`crate::ShuffleArgs`],
    /// [`crate::ClipArgs`], [`crate::NoClipArgs`], `--clip-scope`, `--reshuffle`), for the
    /// fields of the [`TrainingConfig`] that `training` returns; each applies where the
    /// experiment's command line has it.
    pub fn training(self, training: impl Fn(&mut C) -> &mut TrainingConfig + 'static) -> Self {
        let t: Outer<C, TrainingConfig> = Rc::new(training);
        self.push("epochs", Shown::WherePresent, within(&t, |t| &mut t.epochs))
            .push(
                "batch_size",
                Shown::WherePresent,
                within(&t, |t| &mut t.batch_size),
            )
            .push("lr", Shown::WherePresent, within(&t, |t| &mut t.lr))
            .push(
                "backend",
                Shown::WherePresent,
                within(&t, |t| &mut t.backend),
            )
            .push("seed", Shown::WherePresent, within(&t, |t| &mut t.seed))
            .push(
                "shuffle",
                Shown::WherePresent,
                within(&t, |t| &mut t.shuffle),
            )
            .push(
                "reshuffle",
                Shown::WherePresent,
                within(&t, |t| &mut t.reshuffle),
            )
            .push(
                "limit_train",
                Shown::WherePresent,
                within(&t, |t| &mut t.limit_train),
            )
            .push(
                "limit_test",
                Shown::WherePresent,
                within(&t, |t| &mut t.limit_test),
            )
            .push(
                "clip_norm",
                Shown::WherePresent,
                within(&t, |t| &mut t.clip_norm),
            )
            .push(
                "clip_scope",
                Shown::WherePresent,
                within(&t, |t| &mut t.clip_scope),
            )
            .push_switch("no_clip", "clip_norm", true, move |c, _| {
                t(c).clip_norm = None
            })
    }

    /// Adam's flags ([`crate::AdamArgs`]) for the [`OptimizerConfig::Adam`] that `optimizer`
    /// returns.
    ///
    /// A configuration whose optimiser is not Adam has none of these fields: the flags show
    /// no default for it and are not applied to it ([`ConfigFlags::inapplicable`]).
    pub fn adam(self, optimizer: impl Fn(&mut C) -> &mut OptimizerConfig + 'static) -> Self {
        let o: Outer<C, OptimizerConfig> = Rc::new(optimizer);
        let (a, b, c, d) = (o.clone(), o.clone(), o.clone(), o);
        self.push_where("beta1", move |cfg: &mut C| adam(a(cfg)).map(|f| f.0))
            .push_where("beta2", move |cfg: &mut C| adam(b(cfg)).map(|f| f.1))
            .push_where("epsilon", move |cfg: &mut C| adam(c(cfg)).map(|f| f.2))
            .push_where("epsilon_form", move |cfg: &mut C| adam(d(cfg)).map(|f| f.3))
    }

    /// SGD's `--momentum` for the [`OptimizerConfig::Sgd`] that `optimizer` returns (as
    /// [`ConfigFlags::adam`] for a configuration whose optimiser is not SGD).
    pub fn sgd(self, optimizer: impl Fn(&mut C) -> &mut OptimizerConfig + 'static) -> Self {
        self.push_where("momentum", move |cfg: &mut C| sgd(optimizer(cfg)))
    }

    /// The ids of the flags that `command` has.
    fn present<'a>(&'a self, command: &'a Command) -> impl Iterator<Item = &'a Flag<C>> + 'a {
        self.flags.iter().filter(move |f| {
            !f.where_present || command.get_arguments().any(|a| a.get_id() == f.id)
        })
    }

    /// `command` with each of these flags' defaults taken from `config`; a flag whose field is
    /// unset keeps none.
    ///
    /// # Panics
    /// When an experiment's own flag is not an argument of `command` (a declaration error,
    /// which the experiment's defaults test reports).
    pub fn fill(&self, command: Command, config: &C) -> Command {
        let defaults: Vec<(&'static str, Option<String>)> = self
            .present(&command)
            .map(|f| (f.id, f.shows_default.then(|| (f.spell)(config)).flatten()))
            .collect();
        let mut command = command;
        for (id, default) in defaults {
            command = command.mut_arg(id, |arg| match default {
                Some(value) => arg.default_value(leak(value)).required(false),
                None => arg.required(false),
            });
        }
        command
    }

    /// The default `fill` gives `--<id>` for `config`: the field's value as a user types it.
    pub fn default_of(&self, id: &str, config: &C) -> Option<String> {
        let flag = self.flags.iter().find(|f| f.id == id && f.shows_default)?;
        (flag.spell)(config)
    }

    /// The flags that turn `from` into `to`, as a user would type them (`--seq-len 150`):
    /// what a preset sets, for its help text.
    pub fn differences(&self, from: &C, to: &C) -> Vec<String> {
        self.flags
            .iter()
            .filter_map(|f| {
                let (a, b) = ((f.spell)(from), (f.spell)(to));
                let flag = format!("--{}", f.id.replace('_', "-"));
                match (a == b, b) {
                    (true, _) => None,
                    (false, Some(value)) => Some(format!("{flag} {value}")),
                    (false, None) => Some(format!("{flag} (unset)")),
                }
            })
            .collect()
    }

    /// The ids of the flags `command` has, in declaration order.
    pub fn ids(&self, command: &Command) -> Vec<&'static str> {
        self.present(command).map(|f| f.id).collect()
    }

    /// The configuration fields that the flags in `typed` (the ids the user typed) write,
    /// added to `typed`: a switch counts as the field it rewrites.
    pub fn typed_fields(&self, mut typed: BTreeSet<String>) -> BTreeSet<String> {
        for flag in &self.flags {
            if typed.contains(flag.id) {
                typed.insert(flag.field.to_string());
            }
        }
        typed
    }

    /// `config` with every flag in `typed` (the ids the user typed) written into its field
    /// from `matches`, in declaration order; untyped flags leave their fields as they are.
    pub fn apply(&self, mut config: C, matches: &ArgMatches, typed: &BTreeSet<String>) -> C {
        for flag in &self.flags {
            if typed.contains(flag.id) {
                (flag.set)(&mut config, matches);
            }
        }
        config
    }
}

/// A part of the configuration that holds several flags' fields.
type Outer<C, A> = Rc<dyn Fn(&mut C) -> &mut A>;

/// The field `inner` picks inside the part `outer` picks.
fn within<C, A: 'static, T: 'static>(
    outer: &Outer<C, A>,
    inner: fn(&mut A) -> &mut T,
) -> impl Fn(&mut C) -> &mut T + 'static
where
    C: 'static,
{
    let outer = outer.clone();
    move |c| inner(outer(c))
}

/// A default for clap, which keeps `&'static str`s: a few bytes per flag, once per process.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The momentum of an SGD configuration.
fn sgd(optimizer: &mut OptimizerConfig) -> Option<&mut Option<f64>> {
    match optimizer {
        OptimizerConfig::Sgd { momentum } => Some(momentum),
        _ => None,
    }
}

/// The four fields of an Adam configuration.
type AdamFields<'a> = (&'a mut f32, &'a mut f32, &'a mut f32, &'a mut EpsilonForm);

/// The fields of an Adam configuration.
fn adam(optimizer: &mut OptimizerConfig) -> Option<AdamFields<'_>> {
    match optimizer {
        OptimizerConfig::Adam {
            beta1,
            beta2,
            epsilon,
            epsilon_form,
        } => Some((beta1, beta2, epsilon, epsilon_form)),
        _ => None,
    }
}
