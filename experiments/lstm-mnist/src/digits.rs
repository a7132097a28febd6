//! MNIST digits drawn in a terminal with Unicode block characters: two pixel rows per text
//! line (`▀`, `▄`, `█`), so a 28 x 28 image takes 28 columns and 14 lines.

/// Pixels at or above this value (0-255) count as ink.
pub const INK: u8 = 96;

/// The lines of `pixels` (row-major, `side * side` bytes, 0 = background).
pub fn digit_lines(pixels: &[u8], side: usize) -> Vec<String> {
    let ink = |r: usize, c: usize| r < side && pixels[r * side + c] >= INK;
    (0..side.div_ceil(2))
        .map(|pair| {
            (0..side)
                .map(|c| match (ink(2 * pair, c), ink(2 * pair + 1, c)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                })
                .collect::<String>()
        })
        .collect()
}

/// Several digits side by side, each with a caption line under it.
pub fn side_by_side(digits: &[(Vec<String>, String)], gap: usize) -> String {
    let height = digits.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let width = |d: &(Vec<String>, String)| {
        d.0.iter()
            .map(|l| l.chars().count())
            .chain([d.1.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = String::new();
    let sep = " ".repeat(gap);
    for row in 0..=height {
        let line: Vec<String> = digits
            .iter()
            .map(|d| {
                let text = if row < height {
                    d.0.get(row).map(String::as_str).unwrap_or("")
                } else {
                    d.1.as_str()
                };
                pad(text, width(d))
            })
            .collect();
        out.push_str(line.join(&sep).trim_end());
        out.push('\n');
    }
    out
}
