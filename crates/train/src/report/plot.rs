//! PNG line plots (plotters' bitmap backend; text drawn with an embedded DejaVu Sans
//! through ab_glyph, so no system font or fontconfig is needed): one run's per-epoch curves
//! ([`line_plot`]). Every plot is written atomically ([`crate::base::atomic`]). The pieces
//! every plot is drawn with ([`COLORS`], [`Chart`], [`register_fonts`], [`min_max`]) are public
//! for the plots a program draws of its own (adding-problem's comparison, reproduce's seed
//! figures).

use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

mod line_plot;

pub use line_plot::{Series, line_plot, line_plot_with_legend};

/// Black, for a line that belongs to no run (a tutorial's values).
pub const BLACK_LINE: RGBColor = RGBColor(0, 0, 0);

/// The palette (one colour per run, seed or network).
pub const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// A chart with a linear x axis and the y axis `Y` (linear or log).
pub type Chart<'a, 'b, Y> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;

/// Makes the embedded font the one every plot's text uses (once per process).
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are DejaVu Sans, a valid TrueType font: registration cannot fail.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// The smallest and largest of `values` (infinite bounds when there are none).
pub fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}
