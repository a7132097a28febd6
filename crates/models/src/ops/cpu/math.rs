//! `exp`, `tanh` and the logistic function for the gate loops, written as plain arithmetic.
//!
//! The standard library's versions call into libm, which stops the compiler from
//! vectorising the loops over a step's gates; these compile to straight-line vector code,
//! within 1e-6 relative error of the standard library's (checked by the test below).

/// `e^x` for `f32` without a libm call, so loops over it vectorise: range reduction to
/// `2^n e^r` with `|r| <= ln2 / 2` and a degree-6 polynomial (the Cephes `expf`
/// coefficients); relative error ~1e-7 over the range that does not overflow.
///
/// Plain multiply-adds on purpose: `f32::mul_add` and `f32::round` become calls into libm
/// wherever the code is compiled without FMA/SSE4.1 (the default x86-64 target), which
/// stops vectorisation and cost more than half of the LSTM step.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds x log2(e) to the nearest integer n (|n| < 2^22), which then
    // sits in the low mantissa bits: the bits of `shifted` are ROUND's bits plus n. Reading
    // n from there avoids an `as i32` cast, whose saturating semantics compile to a
    // per-lane scalar sequence (it was 40% of the LSTM forward's gate loop).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.7);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let n_int = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.0e-1;
    let e = p * (r * r) + r + 1.0;
    e * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// `tanh` through [`exp`]: `(1 - e) / (1 + e)` with `e = e^{-2|x|}`, and the Taylor series
/// near zero where that difference would cancel.
#[inline(always)]
pub(super) fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let e = exp(-2.0 * a);
    let big = (1.0 - e) / (1.0 + e);
    let x2 = a * a;
    let small = a * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0)));
    let t = if a < 0.0625 { small } else { big };
    t.copysign(x)
}

/// The logistic function through [`exp`].
#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::{within, worst_error};

    #[test]
    fn fast_exp_tanh_sigmoid_are_accurate() {
        let xs: Vec<f32> = (-20000..=20000).map(|i| i as f32 * 1e-3).collect();
        let worst = |f: fn(f32) -> f32, reference: fn(f32) -> f32| {
            let got: Vec<f32> = xs.iter().map(|&x| f(x)).collect();
            let want: Vec<f32> = xs.iter().map(|&x| reference(x)).collect();
            worst_error(&got, &want, |a, b| (a - b).abs() / b.abs().max(1e-30))
        };
        let errors = [
            worst(exp, f32::exp),
            worst(tanh, f32::tanh),
            worst(sigmoid, |x| 1.0 / (1.0 + (-x).exp())),
        ];
        assert!(errors.iter().all(|&e| within(e, 1e-6)), "{errors:?}");
        assert_eq!(tanh(0.0), 0.0);
        assert!(tanh(50.0) == 1.0 && tanh(-50.0) == -1.0);
    }
}
