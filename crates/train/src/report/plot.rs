//! PNG line plots (plotters' bitmap backend; text drawn with an embedded DejaVu Sans
//! through ab_glyph, so no system font or fontconfig is needed): one run's per-epoch curves
//! ([`line_plot`]), several runs' curves against a baseline on a log axis
//! ([`comparison_plot`]), and a [`Figure`] of per-line styles with dashed reference lines
//! on a linear or log axis ([`draw`]: the seed plots of `reproduce`). Every plot is written
//! atomically ([`crate::run::atomic`]).

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;

use crate::run::atomic;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// One named curve: `(epoch, value)` points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points in x order; non-finite values are skipped.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A curve from `(x, y)` pairs.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points: points
                .into_iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect(),
        }
    }
}

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are DejaVu Sans, a valid TrueType font: registration cannot fail.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

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

/// Draws `series` against the epoch into a 900 x 560 PNG at `path`. Does nothing (and
/// returns `Ok`) when no series has a point.
pub fn line_plot(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), Box<dyn std::error::Error>> {
    line_plot_with_legend(
        path,
        title,
        y_label,
        series,
        SeriesLabelPosition::UpperRight,
    )
}

/// [`line_plot`] with the legend at `legend` (e.g. lower right for rising curves).
pub fn line_plot_with_legend(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[Series],
    legend: SeriesLabelPosition,
) -> Result<(), Box<dyn std::error::Error>> {
    atomic::produce(path, |at| line_plot_at(at, title, y_label, series, legend))
}

fn line_plot_at(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[Series],
    legend: SeriesLabelPosition,
) -> Result<(), Box<dyn std::error::Error>> {
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    register_fonts();
    let (mut x0, mut x1) = min_max(all.iter().map(|p| p.0));
    let (mut y0, mut y1) = min_max(all.iter().map(|p| p.1));
    if x1 - x0 < 1.0 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    let pad = ((y1 - y0) * 0.08).max(y1.abs().max(1e-3) * 0.02);
    y0 -= pad;
    y1 += pad;

    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(46)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let integer_epochs = all.iter().all(|p| p.0.fract() == 0.0);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .x_labels(if integer_epochs {
            ((x1 - x0) as usize + 1).min(12)
        } else {
            10
        })
        .x_label_formatter(&|x| {
            if integer_epochs {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        })
        .y_label_formatter(&|y| format_tick(*y))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(s.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2))
            });
        chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(legend)
        .draw()?;
    root.present()?;
    Ok(())
}

/// How a curve is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurveStyle {
    /// A thin, pale line without markers (per-iteration values).
    Faint,
    /// A thick line with a marker at each point (per-epoch values).
    Bold,
}

/// One named curve.
#[derive(Clone, Debug)]
pub struct Curve {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points in x order; non-finite and non-positive y values are dropped (log axis).
    pub points: Vec<(f64, f64)>,
    /// Index into the palette; curves of one run share it.
    pub color: usize,
    /// Line style.
    pub style: CurveStyle,
}

impl Curve {
    /// A curve from `(x, y)` pairs.
    pub fn new(
        label: impl Into<String>,
        points: Vec<(f64, f64)>,
        color: usize,
        style: CurveStyle,
    ) -> Self {
        Curve {
            label: label.into(),
            points: points
                .into_iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
                .collect(),
            color,
            style,
        }
    }
}

/// A horizontal line across the plot (a baseline), with its legend label.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Legend label.
    pub label: String,
    /// Its y value.
    pub y: f64,
}

/// Draws `curves` and `reference` into a 1000 x 620 PNG at `path`, y on a log scale. Does
/// nothing (and returns `Ok`) when there is no point to draw.
pub fn comparison_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[Curve],
    reference: Option<&Reference>,
) -> Result<(), Box<dyn std::error::Error>> {
    atomic::produce(path, |at| {
        comparison_plot_at(at, title, x_label, y_label, curves, reference)
    })
}

fn comparison_plot_at(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[Curve],
    reference: Option<&Reference>,
) -> Result<(), Box<dyn std::error::Error>> {
    let points: Vec<(f64, f64)> = curves
        .iter()
        .flat_map(|c| c.points.iter().copied())
        .collect();
    if points.is_empty() {
        return Ok(());
    }
    register_fonts();
    let (x0, x1) = min_max(points.iter().map(|p| p.0));
    let (mut y0, mut y1) = min_max(points.iter().map(|p| p.1).chain(reference.map(|r| r.y)));
    // A margin of a fifth of a decade above and below.
    y0 /= 10f64.powf(0.2);
    y1 *= 10f64.powf(0.2);
    let x1 = if x1 - x0 < 1.0 { x0 + 1.0 } else { x1 };

    let root = BitMapBackend::new(path, (1000, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(46)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .x_label_formatter(&|x| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        })
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .draw()?;

    // Faint curves first, so the bold ones stay on top.
    let mut order: Vec<&Curve> = curves.iter().collect();
    order.sort_by_key(|c| c.style == CurveStyle::Bold);
    for curve in order {
        if curve.points.is_empty() {
            continue;
        }
        let color = COLORS[curve.color % COLORS.len()];
        match curve.style {
            CurveStyle::Faint => {
                let style = color.mix(0.35).stroke_width(1);
                chart
                    .draw_series(LineSeries::new(curve.points.iter().copied(), style))?
                    .label(curve.label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
            }
            CurveStyle::Bold => {
                chart
                    .draw_series(LineSeries::new(
                        curve.points.iter().copied(),
                        color.stroke_width(3),
                    ))?
                    .label(curve.label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
                    });
                chart.draw_series(
                    curve
                        .points
                        .iter()
                        .map(|&p| Circle::new(p, 4, color.filled())),
                )?;
            }
        }
    }
    if let Some(reference) = reference {
        let style = BLACK.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(
                [(x0, reference.y), (x1, reference.y)],
                10,
                6,
                style,
            ))?
            .label(reference.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

fn format_tick(y: f64) -> String {
    let a = y.abs();
    if a != 0.0 && !(1e-3..1e4).contains(&a) {
        format!("{y:.1e}")
    } else if a >= 10.0 {
        format!("{y:.1}")
    } else if a >= 1.0 {
        format!("{y:.2}")
    } else {
        format!("{y:.3}")
    }
}

/// One curve of a [`Figure`].
pub struct Line {
    /// Its legend entry; `None` keeps it out of the legend (e.g. the second seed of a group).
    pub label: Option<String>,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// Bold with square markers (the tutorial's values) or thin with dots (a seed).
    pub bold: bool,
}

/// A horizontal dashed line across the plot.
pub struct HLine {
    pub label: String,
    pub y: f64,
}

/// What to draw.
pub struct Figure {
    pub title: String,
    pub y_label: String,
    pub log_y: bool,
    pub lines: Vec<Line>,
    pub hlines: Vec<HLine>,
}

type Chart<'a, 'b, Y> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;

/// Draws `figure` into a 1000 x 620 PNG at `path` (the file must end in `.png`). Does
/// nothing when there is no point to draw; on a log axis non-positive values are dropped.
pub fn draw(path: &Path, figure: &Figure) -> Result<(), Box<dyn Error>> {
    atomic::produce(path, |at| draw_at(at, figure))
}

fn draw_at(path: &Path, figure: &Figure) -> Result<(), Box<dyn Error>> {
    let keep = |y: f64| y.is_finite() && (!figure.log_y || y > 0.0);
    let points: Vec<(f64, f64)> = figure
        .lines
        .iter()
        .flat_map(|l| l.points.iter().copied())
        .filter(|&(x, y)| x.is_finite() && keep(y))
        .collect();
    if points.is_empty() {
        return Ok(());
    }
    register_fonts();
    let (x0, mut x1) = min_max(points.iter().map(|p| p.0));
    if x1 - x0 < 1.0 {
        x1 = x0 + 1.0;
    }
    let ys = points
        .iter()
        .map(|p| p.1)
        .chain(figure.hlines.iter().map(|h| h.y));
    let (y0, y1) = min_max(ys.filter(|&y| keep(y)));

    let root = BitMapBackend::new(path, (1000, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(&figure.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(46)
        .y_label_area_size(80);
    let integer_x = |x: &f64| format!("{x:.0}");
    if figure.log_y {
        // A fifth of a decade below, a decade above (room for the legend).
        let (lo, hi) = (y0 / 10f64.powf(0.2), y1 * 10.0);
        let mut chart = builder.build_cartesian_2d(x0..x1, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(&figure.y_label)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .x_labels(((x1 - x0) as usize + 1).min(12))
            .x_label_formatter(&integer_x)
            .y_label_formatter(&|y| format!("{y:.0e}"))
            .draw()?;
        draw_lines(
            &mut chart,
            figure,
            (x0, x1),
            SeriesLabelPosition::UpperRight,
        )?;
    } else {
        let pad = ((y1 - y0) * 0.06).max(0.5);
        let decimals = if y1 - y0 > 10.0 { 0 } else { 1 };
        let mut chart = builder.build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(&figure.y_label)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .x_labels(((x1 - x0) as usize + 1).min(12))
            .x_label_formatter(&integer_x)
            .y_label_formatter(&|y| format!("{y:.*}", decimals))
            .draw()?;
        draw_lines(
            &mut chart,
            figure,
            (x0, x1),
            SeriesLabelPosition::LowerRight,
        )?;
    }
    root.present()?;
    Ok(())
}

fn draw_lines<'a, 'b: 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, 'b, Y>,
    figure: &Figure,
    (x0, x1): (f64, f64),
    legend: SeriesLabelPosition,
) -> Result<(), Box<dyn Error>> {
    for h in &figure.hlines {
        let style = BLACK.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new([(x0, h.y), (x1, h.y)], 10, 6, style))?
            .label(h.label.as_str())
            .legend(move |(x, y)| {
                let dash = |a, b| PathElement::new(vec![(a, 0), (b, 0)], style);
                EmptyElement::at((x, y)) + dash(0, 8) + dash(14, 22)
            });
    }
    // Thin seed curves first, so the bold tutorial values stay on top.
    let mut order: Vec<&Line> = figure.lines.iter().collect();
    order.sort_by_key(|l| l.bold);
    for line in order {
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .copied()
            .filter(|&(x, y)| x.is_finite() && y.is_finite() && (!figure.log_y || y > 0.0))
            .collect();
        if points.is_empty() {
            continue;
        }
        let style = line.color.stroke_width(if line.bold { 3 } else { 2 });
        let series = chart.draw_series(LineSeries::new(points.iter().copied(), style))?;
        if let Some(label) = &line.label {
            series
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
        }
        let color = line.color;
        if line.bold {
            let square =
                |p| EmptyElement::at(p) + Rectangle::new([(-5, -5), (5, 5)], color.filled());
            chart.draw_series(points.iter().map(|&p| square(p)))?;
        } else {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(legend)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let train = Series::new("train", vec![(1.0, 2.3), (2.0, 1.2), (3.0, f64::NAN)]);
        let test = Series::new("test", vec![(0.0, 2.31), (1.0, 1.3), (2.0, 0.9)]);
        line_plot(&path, "Loss", "cross-entropy", &[train, test]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(bytes.len() > 5_000, "a plot with text, not an empty image");
        // Nothing to draw: no file, no error.
        let empty = dir.path().join("empty.png");
        line_plot(&empty, "x", "y", &[Series::new("a", vec![])]).unwrap();
        assert!(!empty.exists());
    }
}
