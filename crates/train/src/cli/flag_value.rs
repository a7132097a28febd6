//! A configuration field's type as the value of the flag that writes it: what clap's value
//! parser produces for it, and how a value is spelled on the command line, so that a
//! configuration's default can be shown as the flag's default and parsed back unchanged.

use clap::ValueEnum;
use rnn_data::{MarkPlacement, Normalisation, SequenceView};

use crate::config::optimizer::EpsilonForm;
use crate::config::training::ClipScope;
use crate::device::backend_choice::BackendChoice;

/// A configuration field's type as a flag's value: what clap's value parser produces for it,
/// and how its value is spelled on the command line (the inverse of that parser).
pub trait FlagValue: Sized + 'static {
    /// The type clap stores for the flag (its value parser's output).
    type Parsed: Clone + Send + Sync + 'static;
    /// The value as a user would type it; `None` for an optional field that is unset (the
    /// flag then has no default).
    fn spell(&self) -> Option<String>;
    /// The field's value for a parsed flag value.
    fn from_parsed(parsed: Self::Parsed) -> Self;
}

macro_rules! plain_flag_value {
    ($($t:ty),*) => {$(
        impl FlagValue for $t {
            type Parsed = $t;
            fn spell(&self) -> Option<String> {
                Some(self.to_string())
            }
            fn from_parsed(parsed: $t) -> Self {
                parsed
            }
        }
    )*};
}
plain_flag_value!(usize, u64, bool, SequenceView, Normalisation, BackendChoice);

macro_rules! float_flag_value {
    ($($t:ty),*) => {$(
        impl FlagValue for $t {
            type Parsed = $t;
            /// Small and large values in exponent form (`1e-6`, not `0.000001`); both forms
            /// are the shortest that parse back to the same number.
            fn spell(&self) -> Option<String> {
                let a = self.abs();
                Some(if a != 0.0 && !(1e-3..1e6).contains(&a) {
                    format!("{self:e}")
                } else {
                    format!("{self}")
                })
            }
            fn from_parsed(parsed: $t) -> Self {
                parsed
            }
        }
    )*};
}
float_flag_value!(f32, f64);

macro_rules! enum_flag_value {
    ($($t:ty),*) => {$(
        impl FlagValue for $t {
            type Parsed = $t;
            fn spell(&self) -> Option<String> {
                self.to_possible_value().map(|v| v.get_name().to_string())
            }
            fn from_parsed(parsed: $t) -> Self {
                parsed
            }
        }
    )*};
}
enum_flag_value!(ClipScope, EpsilonForm, MarkPlacement);

/// An optional field: the flag has a default only when the field is set, and a typed value
/// sets it.
impl<T: FlagValue> FlagValue for Option<T> {
    type Parsed = T::Parsed;
    fn spell(&self) -> Option<String> {
        self.as_ref().and_then(T::spell)
    }
    fn from_parsed(parsed: T::Parsed) -> Self {
        Some(T::from_parsed(parsed))
    }
}

/// Implements [`FlagValue`] for an experiment's own `clap::ValueEnum` type (a model kind, a
/// cell), spelled as its possible value.
#[macro_export]
macro_rules! value_enum_flag {
    ($t:ty) => {
        impl $crate::cli::flag_value::FlagValue for $t {
            type Parsed = $t;
            fn spell(&self) -> Option<String> {
                clap::ValueEnum::to_possible_value(self).map(|v| v.get_name().to_string())
            }
            fn from_parsed(parsed: $t) -> Self {
                parsed
            }
        }
    };
}
