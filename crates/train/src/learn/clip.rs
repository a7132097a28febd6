//! Gradient clipping by the norm over a group of parameters: if `g` is the concatenation of
//! the group's gradients and `‖g‖₂ > max_norm`, each of them is multiplied by
//! `max_norm / ‖g‖₂`, so the group's direction is kept and its norm becomes exactly
//! `max_norm`.
//!
//! * [`clip_global_norm`]: one group of all parameters, as PyTorch's `clip_grad_norm_` and
//!   TensorFlow's `clip_by_global_norm` do;
//! * [`clip_per_group`]: each layer on its own, as NeoML's `CDnnSolver::Train` does with
//!   `max_gradient_norm` (it clips inside its loop over layers, each layer's weights and
//!   free terms together).
//!
//! Burn's `GradientClippingConfig::Norm` clips each parameter tensor by its own norm, which
//! changes the direction of the update and lets the total norm reach `max_norm · sqrt(#tensors)`.
//!
//! The scale factor stays on the device (no read-back), so clipping does not synchronise a GPU.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// Collects the float parameter ids of a module, with their ranks.
pub(crate) struct Ids(pub(crate) Vec<(ParamId, usize)>);

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

/// The float parameter ids of `module`, with their ranks, in visiting order.
pub(crate) fn param_ids<M: Module>(module: &M) -> Vec<(ParamId, usize)> {
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    ids.0
}

/// The global L2 norm of `grads` over `module`'s float parameters, as a one-element tensor on
/// the gradients' device; `None` when no parameter has a gradient.
pub fn global_norm<M: Module>(module: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    group_norm(&param_ids(module), grads)
}

/// The L2 norm of the gradients of the parameters in `ids`.
fn group_norm(ids: &[(ParamId, usize)], grads: &GradientsParams) -> Option<Tensor<1>> {
    let mut total: Option<Tensor<1>> = None;
    for &(id, rank) in ids {
        let part = match rank {
            1 => sum_squares::<1>(grads, id),
            2 => sum_squares::<2>(grads, id),
            3 => sum_squares::<3>(grads, id),
            4 => sum_squares::<4>(grads, id),
            5 => sum_squares::<5>(grads, id),
            6 => sum_squares::<6>(grads, id),
            // The project's models have parameters of rank 1 to 3 only.
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
    grads: GradientsParams,
    max_norm: f64,
) -> (GradientsParams, Option<Tensor<1>>) {
    clip_group(&param_ids(module), grads, max_norm)
}

/// Scales the gradients of each group of `groups` so that the group's own L2 norm is at most
/// `max_norm` (NeoML's per-layer clipping). Parameters in no group are left alone.
pub fn clip_per_group(
    groups: &[Vec<(ParamId, usize)>],
    mut grads: GradientsParams,
    max_norm: f64,
) -> GradientsParams {
    for group in groups {
        grads = clip_group(group, grads, max_norm).0;
    }
    grads
}

fn clip_group(
    ids: &[(ParamId, usize)],
    mut grads: GradientsParams,
    max_norm: f64,
) -> (GradientsParams, Option<Tensor<1>>) {
    let Some(norm) = group_norm(ids, &grads) else {
        return (grads, None);
    };
    // min(1, max_norm / norm); a zero norm gives +inf -> 1 (nothing to clip).
    let scale = norm.clone().recip().mul_scalar(max_norm).clamp_max(1.0);
    for &(id, rank) in ids {
        match rank {
            1 => rescale::<1>(&mut grads, id, &scale),
            2 => rescale::<2>(&mut grads, id, &scale),
            3 => rescale::<3>(&mut grads, id, &scale),
            4 => rescale::<4>(&mut grads, id, &scale),
            5 => rescale::<5>(&mut grads, id, &scale),
            6 => rescale::<6>(&mut grads, id, &scale),
            // group_norm, called first on the same ids, has already refused other ranks.
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
    fn per_group_clipping_bounds_each_group_by_itself() {
        let (model, grads) = setup(100.0);
        let a = param_ids(&model.a);
        let b = param_ids(&model.b);
        let norm = |g: &GradientsParams, ids: &[(ParamId, usize)]| {
            group_norm(ids, g).unwrap().into_scalar::<f64>()
        };
        let (na, nb) = (norm(&grads, &a), norm(&grads, &b));
        assert!(
            na > 2.0 && nb > 2.0,
            "test needs large gradients: {na} {nb}"
        );
        let wb = grads.get::<2>(model.b.weight.id).unwrap();
        let clipped = clip_per_group(&[a.clone(), b.clone()], grads, 1.0);
        assert!((norm(&clipped, &a) - 1.0).abs() < 1e-5);
        assert!((norm(&clipped, &b) - 1.0).abs() < 1e-5);
        // Each group keeps its direction, scaled by its own factor.
        let cb = clipped.get::<2>(model.b.weight.id).unwrap();
        let diff = (cb - wb.div_scalar(nb)).abs().max().into_scalar::<f64>();
        assert!(
            diff < 1e-6,
            "max deviation from the group's rescaling: {diff}"
        );
        // Not the same as clipping globally: the total is sqrt(2), not 1.
        assert!((norm_of(&model, &clipped) - 2f64.sqrt()).abs() < 1e-4);
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
