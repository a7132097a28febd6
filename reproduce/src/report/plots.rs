//! The report's plots: for each experiment every seed's per-epoch test curve against the
//! tutorial's values and final number (`<experiment>.png`), for an adding sweep one plot per
//! length of every seed's test MSE against training steps (`<experiment>-T<len>.png`), and
//! for a pixel sweep one of test accuracy (`super::pixels`).

use std::path::Path;

use rnn_train::report::plot::{BLACK_LINE, COLORS};

use super::figure::{Figure, HLine, Line, draw};
use super::pixels::plot_pixels;
use super::read::Entry;
use super::stats::show;
use crate::plan::{Metric, SOLVED_MSE, Task};

/// Draws one plot per length of a sweep, `<out>/<experiment>-T<len>.png`: every seed's test
/// curve against training steps, one colour per network, the baseline and the solved line.
fn plot_sweep(
    out: &Path,
    group: &[Entry],
    quick: bool,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let exp = group[0].exp;
    let mut lengths: Vec<usize> = group
        .iter()
        .filter_map(|e| e.setting.map(|s| s.0))
        .collect();
    lengths.dedup();
    let mut names = Vec::new();
    for t in lengths {
        let mut figure = Figure {
            title: format!(
                "{}: adding problem, T = {t}{}",
                exp.name,
                if quick { " (quick)" } else { "" }
            ),
            x_label: "training steps".into(),
            y_label: "test MSE".into(),
            log_y: true,
            lines: vec![],
            hlines: vec![
                HLine {
                    label: format!("predict-1 baseline {}", exp.baseline.unwrap_or(f64::NAN)),
                    y: exp.baseline.unwrap_or(f64::NAN),
                },
                HLine {
                    label: format!("solved: MSE {SOLVED_MSE}"),
                    y: SOLVED_MSE,
                },
            ],
        };
        for e in group.iter().filter(|e| e.setting.is_some_and(|s| s.0 == t)) {
            let network = e.setting.map_or("", |s| s.1);
            let color = exp.networks.iter().position(|n| *n == network).unwrap_or(0);
            for (i, c) in e.curves.iter().enumerate() {
                figure.lines.push(Line {
                    label: (i == 0).then(|| network.to_string()),
                    points: c.clone(),
                    color: COLORS[color % COLORS.len()],
                    bold: false,
                });
            }
        }
        if figure.lines.iter().all(|l| l.points.is_empty()) {
            continue;
        }
        let name = format!("{}-T{t}.png", exp.name);
        draw(&out.join(&name), &figure)?;
        names.push(name);
    }
    Ok(names)
}

/// Draws `<out>/<experiment>.png` for one group (an adding sweep: one per length); returns the
/// file names of what was drawn.
pub fn plot_group(
    out: &Path,
    group: &[Entry],
    quick: bool,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let exp = group[0].exp;
    match exp.sweep.map(|s| s.task) {
        Some(Task::Adding) => return plot_sweep(out, group, quick),
        Some(Task::Pixels { .. }) => return plot_pixels(out, group, quick),
        None => {}
    }
    let figure = epoch_figure(group, quick);
    if figure.lines.iter().all(|l| l.bold) {
        return Ok(vec![]);
    }
    let name = format!("{}.png", exp.name);
    let path = out.join(&name);
    draw(&path, &figure)?;
    Ok(vec![name])
}

/// One group's per-epoch test curves: every seed's ([`seed_lines`]), the tutorial's values,
/// and its final number or the predict-1 baseline as reference lines.
fn epoch_figure(group: &[Entry], quick: bool) -> Figure {
    let exp = group[0].exp;
    let n = group.iter().map(|e| e.values.len()).max().unwrap_or(0);
    let scale = if exp.metric == Metric::Accuracy {
        100.0
    } else {
        1.0
    };
    let mut figure = Figure {
        title: format!(
            "{}: per-epoch test curves, {n} seed{}{}",
            exp.name,
            if n == 1 { "" } else { "s" },
            if quick { " (quick)" } else { "" }
        ),
        x_label: "epoch".into(),
        y_label: match exp.metric {
            Metric::Accuracy => "test accuracy (%)".into(),
            Metric::Mse => "test MSE".into(),
        },
        log_y: exp.metric == Metric::Mse,
        lines: seed_lines(group, scale),
        hlines: vec![],
    };
    if !exp.tutorial_curve.is_empty() {
        let points = exp.tutorial_curve.iter().enumerate();
        let points = points
            .map(|(i, &y)| ((exp.curve_from + i) as f64, y * scale))
            .collect();
        figure.lines.push(Line {
            label: Some("tutorial".into()),
            points,
            color: BLACK_LINE,
            bold: true,
        });
    }
    if let Some(t) = exp.tutorial {
        figure.hlines.push(HLine {
            label: format!("tutorial final: {}", show(exp.metric, t)),
            y: t * scale,
        });
    }
    if let Some(b) = exp.baseline {
        figure.hlines.push(HLine {
            label: format!("predict-1 baseline {b}"),
            y: b,
        });
    }
    figure
}

/// Every seed's test curve, its values times `scale`: one colour per seed, or for a group of
/// several networks one colour per network, with one legend entry each.
fn seed_lines(group: &[Entry], scale: f64) -> Vec<Line> {
    let mut lines = Vec::new();
    for (g, e) in group.iter().enumerate() {
        for (i, (seed, c)) in e.seeds.iter().zip(&e.curves).enumerate() {
            let (color, label) = if group.len() > 1 {
                (
                    COLORS[g % COLORS.len()],
                    (i == 0).then(|| {
                        e.name.rsplit('/').next().unwrap_or("").to_string() + " (every seed)"
                    }),
                )
            } else {
                (COLORS[i % COLORS.len()], Some(format!("seed {seed}")))
            };
            let points = c.iter().map(|&(x, y)| (x, y * scale)).collect();
            lines.push(Line {
                label,
                points,
                color,
                bold: false,
            });
        }
    }
    lines
}
