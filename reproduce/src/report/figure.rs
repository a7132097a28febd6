//! A [`Figure`] of per-line styles with dashed reference lines, on a linear or log axis
//! ([`draw`]): the report's plots. A PNG through plotters' bitmap backend, its text drawn
//! with an embedded DejaVu Sans through ab_glyph (no system font or fontconfig needed),
//! written atomically.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;
use rnn_train::base::atomic;
use rnn_train::report::plot::{Chart, min_max, register_fonts};

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
    /// The x axis's name (`epoch`, `training steps`).
    pub x_label: String,
    pub y_label: String,
    pub log_y: bool,
    pub lines: Vec<Line>,
    pub hlines: Vec<HLine>,
}

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
    // Whole numbers; thousands and millions shortened (`250k`, `1.5M`) for step counts.
    let integer_x = |x: &f64| match x.abs() {
        a if a >= 1e6 => format!("{:.1}M", x / 1e6),
        a if a >= 1e4 => format!("{:.0}k", x / 1e3),
        _ => format!("{x:.0}"),
    };
    if figure.log_y {
        // A fifth of a decade below, a decade above (room for the legend).
        let (lo, hi) = (y0 / 10f64.powf(0.2), y1 * 10.0);
        let mut chart = builder.build_cartesian_2d(x0..x1, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc(&figure.x_label)
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
            .x_desc(&figure.x_label)
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
    // The first reference line in long black dashes, any further one in short grey dashes,
    // so that two of them (a baseline and a threshold) stay apart in the legend.
    for (i, h) in figure.hlines.iter().enumerate() {
        let (style, dash_len, gap) = if i == 0 {
            (BLACK.stroke_width(2), 10, 6)
        } else {
            (RGBColor(110, 110, 110).stroke_width(2), 4, 4)
        };
        chart
            .draw_series(DashedLineSeries::new(
                [(x0, h.y), (x1, h.y)],
                dash_len,
                gap,
                style,
            ))?
            .label(h.label.as_str())
            .legend(move |(x, y)| {
                let dash = |a: i32, b: i32| PathElement::new(vec![(a, 0), (b, 0)], style);
                let (len, step) = (dash_len, dash_len + gap);
                let piece = |k: i32| dash((k * step).min(22), (k * step + len).min(22));
                EmptyElement::at((x, y)) + piece(0) + piece(1) + piece(2)
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
