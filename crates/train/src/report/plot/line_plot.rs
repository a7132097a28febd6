//! One run's per-epoch curves ([`line_plot`]): loss and accuracy of the training and test
//! passes, the plots every run directory holds.

use std::path::Path;

use plotters::prelude::*;

use super::{COLORS, min_max, register_fonts};
use crate::base::atomic;

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
