//! Gradient clipping by the global norm over all parameters, as PyTorch's
//! `clip_grad_norm_`, TensorFlow's `clip_by_global_norm` and NeoML's `max_gradient_norm` do:
//! if `g` is the concatenation of every parameter's gradient and `‖g‖₂ > max_norm`, every
//! gradient is multiplied by `max_norm / ‖g‖₂`, so the direction is kept and the global norm
//! becomes exactly `max_norm`.
//!
//! Burn's `GradientClippingConfig::Norm` clips each parameter tensor by its own norm, which
//! changes the direction of the update and lets the total norm reach `max_norm · sqrt(#tensors)`.
//!
//! The scale factor stays on the device (no read-back), so clipping does not synchronise a GPU.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// Collects the float parameter ids of a module, with their ranks.
struct Ids(Vec<(ParamId, usize)>);

impl ModuleVisitor for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, D));
    }
}

/// The squared gradient norm accumulated per rank (`GradientsParams::get` is rank-generic).
fn sum_squares<const D: usize>(grads: &GradientsParams, id: ParamId) -> Option<Tensor<1>> {
    grads.get::<D>(id).map(|g| g.square().sum())
}

fn rescale<const D: usize>(grads: &mut GradientsParams, id: ParamId, scale: &Tensor<1>) {
    if let Some(g) = grads.remove::<D>(id) {
        let scale = scale.clone().reshape([1; D]);
        grads.register::<D>(id, g.mul(scale));
    }
}

/// The global L2 norm of `grads` over `module`'s float parameters, as a one-element tensor on
/// the gradients' device; `None` when no parameter has a gradient.
pub fn global_norm<M: Module>(module: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    let mut total: Option<Tensor<1>> = None;
    for (id, rank) in ids.0 {
        let part = match rank {
            1 => sum_squares::<1>(grads, id),
            2 => sum_squares::<2>(grads, id),
            3 => sum_squares::<3>(grads, id),
            4 => sum_squares::<4>(grads, id),
            5 => sum_squares::<5>(grads, id),
            6 => sum_squares::<6>(grads, id),
            other => panic!("global_norm: parameters of rank {other} are not supported"),
        };
        if let Some(part) = part {
            total = Some(match total {
                Some(t) => t + part,
                None => part,
            });
        }
    }
    total.map(|t| t.sqrt())
}

/// Scales `grads` so that their global L2 norm is at most `max_norm` (see the module docs).
/// Returns the gradients and the norm before clipping (a one-element tensor, for logging).
pub fn clip_global_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    max_norm: f64,
) -> (GradientsParams, Option<Tensor<1>>) {
    let Some(norm) = global_norm(module, &grads) else {
        return (grads, None);
    };
    // min(1, max_norm / norm); a zero norm gives +inf -> 1 (nothing to clip).
    let scale = norm.clone().recip().mul_scalar(max_norm).clamp_max(1.0);
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    for (id, rank) in ids.0 {
        match rank {
            1 => rescale::<1>(&mut grads, id, &scale),
            2 => rescale::<2>(&mut grads, id, &scale),
            3 => rescale::<3>(&mut grads, id, &scale),
            4 => rescale::<4>(&mut grads, id, &scale),
            5 => rescale::<5>(&mut grads, id, &scale),
            6 => rescale::<6>(&mut grads, id, &scale),
            _ => unreachable!("rejected by global_norm"),
        }
    }
    (grads, Some(norm))
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};

    use super::*;

    #[derive(Module, Debug)]
    struct Two {
        a: Linear,
        b: Linear,
    }

    fn norm_of(model: &Two, grads: &GradientsParams) -> f64 {
        global_norm(model, grads).unwrap().into_scalar::<f64>()
    }

    /// A model, a loss with a large gradient, and its gradients.
    fn setup(scale: f32) -> (Two, GradientsParams) {
        let device = Device::flex().autodiff();
        device.seed(7);
        let model = Two {
            a: LinearConfig::new(5, 4).init(&device),
            b: LinearConfig::new(4, 3).init(&device),
        };
        let x = Tensor::<2>::random([8, 5], burn::tensor::Distribution::Default, &device);
        let y = model.b.forward(model.a.forward(x).tanh());
        let loss = y.sum().mul_scalar(scale);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        (model, grads)
    }

    #[test]
    fn clipped_gradient_has_exactly_the_requested_global_norm() {
        let (model, grads) = setup(100.0);
        let before = norm_of(&model, &grads);
        assert!(before > 10.0, "test needs a large gradient, got {before}");

        // The global norm computed by hand from every parameter's gradient.
        let mut by_hand = 0.0;
        for g in [
            grads.get::<2>(model.a.weight.id).unwrap(),
            grads.get::<2>(model.b.weight.id).unwrap(),
        ] {
            by_hand += g.square().sum().into_scalar::<f64>();
        }
        for p in [&model.a.bias, &model.b.bias] {
            let g = grads.get::<1>(p.as_ref().unwrap().id).unwrap();
            by_hand += g.square().sum().into_scalar::<f64>();
        }
        assert!((by_hand.sqrt() - before).abs() < 1e-4 * before);

        let wa = grads.get::<2>(model.a.weight.id).unwrap();
        let (clipped, reported) = clip_global_norm(&model, grads, 1.0);
        assert!((reported.unwrap().into_scalar::<f64>() - before).abs() < 1e-9 * before);
        let after = norm_of(&model, &clipped);
        assert!(
            (after - 1.0).abs() < 1e-5,
            "global norm after clipping: {after}"
        );

        // Direction kept: every tensor scaled by the same factor 1 / before.
        let ca = clipped.get::<2>(model.a.weight.id).unwrap();
        let expected = wa.div_scalar(before);
        let diff = (ca - expected).abs().max().into_scalar::<f64>();
        assert!(diff < 1e-6, "max deviation from uniform rescaling: {diff}");
    }

    #[test]
    fn small_gradients_are_left_alone() {
        let (model, grads) = setup(1e-3);
        let before = norm_of(&model, &grads);
        assert!(before < 1.0);
        let (clipped, _) = clip_global_norm(&model, grads, 1.0);
        assert!((norm_of(&model, &clipped) - before).abs() < 1e-9);
    }
}
