//! Weights from PyTorch: the parameters of `nn.RNN` (tanh or ReLU), `nn.LSTM` and `nn.GRU`,
//! any number of layers, with or without biases, one or two directions, from a `state_dict`
//! saved as safetensors (`safetensors.torch.save_file(model.state_dict(), path)`).
//!
//! PyTorch stores layer `l`'s weights as `weight_ih_l{l}` `[G, in]` and `weight_hh_l{l}`
//! `[G, H]`, and its biases as `bias_ih_l{l}`, `bias_hh_l{l}` `[G]` (the reverse direction
//! with the suffix `_reverse`), gates packed in the order this crate uses (LSTM i, f, g, o;
//! GRU r, z, n). This crate applies weights as `x · w`, so each weight is transposed on
//! the way in. PyTorch's GRU is the reset-after form: a GRU loads only with
//! `reset_after = true`.
//!
//! The module must be built with PyTorch's shapes: the same sizes and layers, and biases
//! exactly when PyTorch had them (`Biases::Two` or `Biases::None` for the stacks, `bias` for
//! the single-layer modules). The nonlinearity of an `nn.RNN` is not in its `state_dict`:
//! the module's must match. Every mismatch is an error naming the tensor.
//!
//! The way back, a trained stack written as PyTorch's `state_dict`, is [`StateDict`].

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use burn::module::Param;
use burn::prelude::*;
use safetensors::{Dtype, SafeTensors};

use crate::layer::{RecurrentLayer, replace_value};
use crate::nn::{BiGru, BiLstm, BiRnn, Gru, Lstm, Rnn};
use crate::{ElmanStack, GruStack, LstmStack};

mod export;

pub use export::StateDict;

/// Why weights could not be loaded.
#[derive(Debug)]
pub enum PyTorchError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The bytes are not a safetensors file.
    Format(String),
    /// A tensor the module needs is not in the file.
    Missing(String),
    /// A tensor has another shape than the module's.
    Shape {
        /// The tensor's name in the file.
        name: String,
        /// The shape the module needs (PyTorch's layout).
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor is neither `f32` nor `f64`.
    Dtype {
        /// The tensor's name in the file.
        name: String,
        /// Its element type.
        dtype: String,
    },
    /// The file has a tensor the module has no place for (a bias for a bias-free module).
    Unexpected(String),
    /// The module's form differs from PyTorch's in a way weights cannot carry.
    Unsupported(String),
}

impl fmt::Display for PyTorchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read the weights: {e}"),
            Self::Format(e) => write!(f, "not a safetensors file: {e}"),
            Self::Missing(name) => write!(f, "the weights have no tensor '{name}'"),
            Self::Shape {
                name,
                expected,
                found,
            } => write!(
                f,
                "'{name}' has shape {found:?}, the module needs {expected:?}"
            ),
            Self::Dtype { name, dtype } => {
                write!(f, "'{name}' holds {dtype}; f32 and f64 can be loaded")
            }
            Self::Unexpected(name) => write!(
                f,
                "the weights have '{name}', which the module has no place for \
                 (build it with biases to load them)"
            ),
            Self::Unsupported(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for PyTorchError {}

/// The tensors of a safetensors file, as `f32` values with their shapes.
#[derive(Debug, Clone, Default)]
pub struct PyTorchWeights {
    tensors: HashMap<String, Entry>,
}

/// One tensor of the file.
#[derive(Debug, Clone)]
enum Entry {
    /// An `f32` or `f64` tensor, as `f32` values and its shape.
    Values(Vec<f32>, Vec<usize>),
    /// A tensor of another element type, refused when a module asks for it.
    Unsupported(String),
}

impl PyTorchWeights {
    /// Reads a safetensors file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PyTorchError> {
        let bytes = std::fs::read(path).map_err(PyTorchError::Io)?;
        Self::from_bytes(&bytes)
    }

    /// Parses the bytes of a safetensors file. `f32` and `f64` tensors are kept (as `f32`);
    /// a tensor of another type is refused only when a module asks for it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PyTorchError> {
        let file =
            SafeTensors::deserialize(bytes).map_err(|e| PyTorchError::Format(e.to_string()))?;
        let mut tensors = HashMap::new();
        for name in file.names() {
            let view = file
                .tensor(name)
                .map_err(|e| PyTorchError::Format(e.to_string()))?;
            let values = |width: usize, read: fn(&[u8]) -> f32| {
                view.data()
                    .chunks_exact(width)
                    .map(read)
                    .collect::<Vec<f32>>()
            };
            let entry = match view.dtype() {
                Dtype::F32 => values(4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                Dtype::F64 => values(8, |b| {
                    f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                }),
                other => {
                    tensors.insert(name.to_string(), Entry::Unsupported(format!("{other:?}")));
                    continue;
                }
            };
            tensors.insert(
                name.to_string(),
                Entry::Values(entry, view.shape().to_vec()),
            );
        }
        Ok(Self { tensors })
    }

    /// The names of the tensors in the file.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(|k| k.as_str())
    }

    /// The tensor `name` as a Burn tensor on `device`, if the file has it with `D` dimensions.
    pub fn tensor<const D: usize>(
        &self,
        name: &str,
        device: &Device,
    ) -> Result<Tensor<D>, PyTorchError> {
        let (values, shape) = self.get(name)?;
        if shape.len() != D {
            return Err(PyTorchError::Unsupported(format!(
                "'{name}' has {} dimensions ({shape:?}), not {D}",
                shape.len()
            )));
        }
        Ok(Tensor::from_data(
            TensorData::new(values.clone(), shape.clone()),
            device,
        ))
    }

    fn get(&self, name: &str) -> Result<(&Vec<f32>, &Vec<usize>), PyTorchError> {
        match self.tensors.get(name) {
            Some(Entry::Values(values, shape)) => Ok((values, shape)),
            Some(Entry::Unsupported(dtype)) => Err(PyTorchError::Dtype {
                name: name.to_string(),
                dtype: dtype.clone(),
            }),
            None => Err(PyTorchError::Missing(name.to_string())),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// `name` with the shape `expected`, as a tensor on `device`.
    fn checked<const D: usize>(
        &self,
        name: &str,
        expected: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>, PyTorchError> {
        let (_, shape) = self.get(name)?;
        if shape[..] != expected[..] {
            return Err(PyTorchError::Shape {
                name: name.to_string(),
                expected: expected.to_vec(),
                found: shape.clone(),
            });
        }
        self.tensor(name, device)
    }
}

/// Loads layer `l` of one direction (`suffix` `""` or `"_reverse"`) into `layer`.
fn load_layer(
    layer: RecurrentLayer,
    weights: &PyTorchWeights,
    prefix: &str,
    l: usize,
    suffix: &str,
) -> Result<RecurrentLayer, PyTorchError> {
    if layer.split.is_some() {
        return Err(PyTorchError::Unsupported(
            "a layer whose last gate group is stored apart has no PyTorch counterpart".into(),
        ));
    }
    let name = |kind: &str| format!("{prefix}{kind}_l{l}{suffix}");
    let device = layer.w_ih.val().device();
    let [d_in, g] = layer.w_ih.dims();
    let h = layer.hidden_size();
    let w_ih = weights.checked::<2>(&name("weight_ih"), [g, d_in], &device)?;
    let w_hh = weights.checked::<2>(&name("weight_hh"), [g, h], &device)?;
    let bias = |param: Option<Param<Tensor<1>>>, kind: &str| match param {
        Some(p) => Ok(Some(replace_value(
            p,
            weights.checked::<1>(&name(kind), [g], &device)?,
        ))),
        None if weights.has(&name(kind)) => Err(PyTorchError::Unexpected(name(kind))),
        None => Ok(None),
    };
    let b_ih = bias(layer.b_ih, "bias_ih")?;
    let b_hh = bias(layer.b_hh, "bias_hh")?;
    if b_ih.is_some() != b_hh.is_some() {
        return Err(PyTorchError::Unsupported(
            "PyTorch's layers have both biases or none; this layer has one".into(),
        ));
    }
    Ok(RecurrentLayer {
        w_ih: replace_value(layer.w_ih, w_ih.transpose()),
        w_hh: replace_value(layer.w_hh, w_hh.transpose()),
        b_ih,
        b_hh,
        split: None,
    })
}

fn load_stack(
    layers: Vec<RecurrentLayer>,
    weights: &PyTorchWeights,
    prefix: &str,
) -> Result<Vec<RecurrentLayer>, PyTorchError> {
    layers
        .into_iter()
        .enumerate()
        .map(|(l, layer)| load_layer(layer, weights, prefix, l, ""))
        .collect()
}

fn reset_after_only(reset_after: bool) -> Result<(), PyTorchError> {
    if reset_after {
        Ok(())
    } else {
        Err(PyTorchError::Unsupported(
            "PyTorch's GRU applies the reset gate after the recurrent product: build the GRU \
             with reset_after = true"
                .into(),
        ))
    }
}

/// `load_pytorch` for a stack: every layer `l` from `{prefix}weight_ih_l{l}` and so on.
macro_rules! stack_loader {
    ($stack:ty, $torch:literal, $check:expr) => {
        impl $stack {
            #[doc = concat!(
                "This stack with the weights of a PyTorch `", $torch, "` whose `state_dict` ",
                "entries are named `{prefix}weight_ih_l0` and so on (`prefix` `\"\"` for the ",
                "module's own `state_dict`, `\"rnn.\"` for a field `rnn` of a larger model)."
            )]
            pub fn load_pytorch(
                mut self,
                weights: &PyTorchWeights,
                prefix: &str,
            ) -> Result<Self, PyTorchError> {
                $check(&self)?;
                self.layers = load_stack(self.layers, weights, prefix)?;
                Ok(self)
            }
        }
    };
}

/// `load_pytorch` for a burn::nn drop-in: its one layer, or for a bidirectional module its
/// two directions (PyTorch's reverse direction has the suffix `_reverse`).
macro_rules! drop_in_loader {
    ($module:ty, $torch:literal, $check:expr, $($layer:ident).+ $(, $($reverse:ident).+)?) => {
        impl $module {
            #[doc = concat!(
                "This module with the weights of a one-layer PyTorch `", $torch, "` (see ",
                "[`ElmanStack::load_pytorch`] for `prefix`)."
            )]
            pub fn load_pytorch(
                mut self,
                weights: &PyTorchWeights,
                prefix: &str,
            ) -> Result<Self, PyTorchError> {
                $check(&self)?;
                self.$($layer).+ = load_layer(self.$($layer).+, weights, prefix, 0, "")?;
                $(self.$($reverse).+ =
                    load_layer(self.$($reverse).+, weights, prefix, 0, "_reverse")?;)?
                Ok(self)
            }
        }
    };
}

fn any<T>(_: &T) -> Result<(), PyTorchError> {
    Ok(())
}

stack_loader!(ElmanStack, "nn.RNN", any);
stack_loader!(LstmStack, "nn.LSTM", any);
stack_loader!(GruStack, "nn.GRU", |m: &GruStack| reset_after_only(
    m.reset_after
));
drop_in_loader!(Rnn, "nn.RNN", any, layer);
drop_in_loader!(Lstm, "nn.LSTM", any, layer);
drop_in_loader!(
    Gru,
    "nn.GRU",
    |m: &Gru| reset_after_only(m.reset_after),
    layer
);
drop_in_loader!(
    BiRnn,
    "nn.RNN(bidirectional=True)",
    any,
    forward.layer,
    reverse.layer
);
drop_in_loader!(
    BiLstm,
    "nn.LSTM(bidirectional=True)",
    any,
    forward.layer,
    reverse.layer
);
drop_in_loader!(
    BiGru,
    "nn.GRU(bidirectional=True)",
    |m: &BiGru| reset_after_only(m.forward.reset_after),
    forward.layer,
    reverse.layer
);
