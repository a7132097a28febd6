//! The one way the tests compare computed numbers with expected ones, included by the cell
//! crate's unit tests, its PyTorch test and the workspace's cross-crate tests: every error
//! it measures is `+inf` when any value on either side is NaN or infinite, so no tolerance
//! passes it.
//!
//! `f64::max` returns its other argument when one is NaN, so a worst error folded with it
//! scores an all-NaN output as 0; everything here uses [`worst`] instead.

// Each including crate uses its own subset.
#![allow(dead_code)]

/// The largest of `errors`; `+inf` when any of them is NaN or infinite, 0 when there are
/// none.
pub fn worst(errors: impl IntoIterator<Item = f64>) -> f64 {
    let mut w = 0.0f64;
    for e in errors {
        if !e.is_finite() {
            return f64::INFINITY;
        }
        if e > w {
            w = e;
        }
    }
    w
}

/// The largest magnitude among `values` (0 when empty); `+inf` when any is not finite.
pub fn largest_magnitude(values: impl IntoIterator<Item = f64>) -> f64 {
    worst(values.into_iter().map(f64::abs))
}

/// The worst of `error(actual_i, expected_i)` over two equally long sides; `+inf` when any
/// value on either side (or any error) is NaN or infinite.
///
/// # Panics
///
/// When the sides differ in length.
pub fn worst_error<A, E>(actual: &[A], expected: &[E], error: impl Fn(f64, f64) -> f64) -> f64
where
    A: Copy + Into<f64>,
    E: Copy + Into<f64>,
{
    assert_eq!(actual.len(), expected.len(), "element count");
    worst(actual.iter().zip(expected).map(|(&a, &e)| {
        let (a, e) = (a.into(), e.into());
        if a.is_finite() && e.is_finite() {
            error(a, e)
        } else {
            f64::INFINITY
        }
    }))
}

/// Whether a measured error passes `tolerance`: false for NaN and infinity.
pub fn within(error: f64, tolerance: f64) -> bool {
    error.is_finite() && error <= tolerance
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-3;

    fn abs_err(actual: &[f32], expected: &[f64]) -> f64 {
        worst_error(actual, expected, |a, e| (a - e).abs())
    }

    #[test]
    fn equal_sides_pass_and_a_difference_is_measured() {
        assert_eq!(abs_err(&[1.0, -2.0], &[1.0, -2.0]), 0.0);
        assert!(within(abs_err(&[1.0, -2.0], &[1.0, -2.0]), TOL));
        assert_eq!(abs_err(&[1.0, -2.5], &[1.0, -2.0]), 0.5);
        assert!(!within(0.5, TOL));
        assert_eq!(worst([]), 0.0);
        assert_eq!(largest_magnitude([1.0, -3.0, 2.0]), 3.0);
    }

    #[test]
    fn every_non_finite_value_fails() {
        let expected = [0.5f64, 1.0, -1.0];
        let nan = f32::NAN;
        let cases: [(&str, [f32; 3], [f64; 3]); 5] = [
            ("all NaN", [nan; 3], expected),
            ("one NaN", [0.5, nan, -1.0], expected),
            ("+inf", [0.5, f32::INFINITY, -1.0], expected),
            ("-inf", [0.5, 1.0, f32::NEG_INFINITY], expected),
            ("NaN expected", [0.5, 1.0, -1.0], [0.5, f64::NAN, -1.0]),
        ];
        for (what, actual, expected) in cases {
            let e = abs_err(&actual, &expected);
            assert_eq!(e, f64::INFINITY, "{what}");
            assert!(!within(e, TOL), "{what} passed");
            assert!(
                !within(e, f64::INFINITY),
                "{what} passed an infinite tolerance"
            );
        }
        // An error function that itself yields NaN (0/0) fails too.
        assert_eq!(
            worst_error(&[0.0f32], &[0.0f64], |_, _| f64::NAN),
            f64::INFINITY
        );
        assert_eq!(largest_magnitude([1.0, f64::NAN]), f64::INFINITY);
        assert_eq!(worst([0.1, f64::NAN, 0.2]), f64::INFINITY);
        assert!(!within(f64::NAN, TOL));
    }
}
