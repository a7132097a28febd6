//! A model's parameter tensors by name, shape and count: printed at the start of every run and
//! written into `summary.json`, so that a run shows the network it trained and the tests can
//! compare it with the tutorial framework's, tensor for tensor.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// One parameter tensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamTensor {
    /// Its path in the module tree, e.g. `lstm.layers.0.w_ih`.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its number of scalars.
    pub count: usize,
}

/// Every float parameter of `module`, in the module's field order.
pub fn parameter_tensors<M: Module>(module: &M) -> Vec<ParamTensor> {
    struct Collect {
        path: Vec<String>,
        out: Vec<ParamTensor>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let shape = param.dims().to_vec();
            self.out.push(ParamTensor {
                name: self.path.join("."),
                count: shape.iter().product(),
                shape,
            });
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
        out: Vec::new(),
    };
    module.visit(&mut collect);
    collect.out
}

/// The lines a run prints: one per tensor, then the total.
pub fn parameter_table(tensors: &[ParamTensor]) -> Vec<String> {
    let width = tensors.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut lines = vec!["parameters:".to_string()];
    for t in tensors {
        let shape = format!("{:?}", t.shape);
        lines.push(format!(
            "  {:<width$}  {shape:<12} {:>9}",
            t.name,
            group_digits(t.count)
        ));
    }
    let total: usize = tensors.iter().map(|t| t.count).sum();
    lines.push(format!(
        "  total: {} parameters in {} tensors",
        group_digits(total),
        tensors.len()
    ));
    lines
}

/// `1234567` -> `1,234,567`.
pub fn group_digits(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};

    use super::*;

    #[derive(Module, Debug)]
    struct Net {
        first: Linear,
        rest: Vec<Linear>,
        head: Option<Linear>,
    }

    #[test]
    fn names_shapes_and_counts_follow_the_module_tree() {
        let device = Device::flex();
        let net = Net {
            first: LinearConfig::new(3, 4).init(&device),
            rest: vec![LinearConfig::new(4, 2).with_bias(false).init(&device)],
            head: Some(LinearConfig::new(2, 1).init(&device)),
        };
        let got: Vec<(String, Vec<usize>, usize)> = parameter_tensors(&net)
            .into_iter()
            .map(|t| (t.name, t.shape, t.count))
            .collect();
        let want = vec![
            ("first.weight".to_string(), vec![3, 4], 12),
            ("first.bias".into(), vec![4], 4),
            ("rest.0.weight".into(), vec![4, 2], 8),
            ("head.weight".into(), vec![2, 1], 2),
            ("head.bias".into(), vec![1], 1),
        ];
        assert_eq!(got, want);
        assert_eq!(net.num_params(), 27);
        let table = parameter_table(&parameter_tensors(&net));
        assert_eq!(table.last().unwrap(), "  total: 27 parameters in 5 tensors");
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(group_digits(999), "999");
    }
}
