//! Several runs' curves against a baseline, y on a log axis ([`comparison_plot`]): faint
//! per-iteration curves under bold per-epoch ones, and a dashed reference line.

use std::path::Path;

use plotters::prelude::*;

use rnn_train::base::atomic;
use rnn_train::report::plot::{COLORS, Chart, min_max, register_fonts};

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

    draw_curves(&mut chart, curves)?;
    if let Some(reference) = reference {
        draw_reference(&mut chart, reference, (x0, x1))?;
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

/// Draws `curves`, the faint ones under the bold ones.
fn draw_curves<Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'_, '_, Y>,
    curves: &[Curve],
) -> Result<(), Box<dyn std::error::Error>> {
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
    Ok(())
}

/// Draws `reference` as a dashed line across `x0..x1`.
fn draw_reference<Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'_, '_, Y>,
    reference: &Reference,
    (x0, x1): (f64, f64),
) -> Result<(), Box<dyn std::error::Error>> {
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
    Ok(())
}
