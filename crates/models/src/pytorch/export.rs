//! Weights to PyTorch: a [`StateDict`] holds tensors under the names a PyTorch `state_dict`
//! gives them and writes them as safetensors (`safetensors.torch.load_file(path)` reads them
//! back), the inverse of [`PyTorchWeights`](super::PyTorchWeights). The stacks write their
//! layers as `nn.RNN`, `nn.LSTM` and `nn.GRU` name them ([`ElmanStack::to_pytorch`] and the
//! like): `{prefix}weight_ih_l{l}` `[G, in]`, `{prefix}weight_hh_l{l}` `[G, H]` (this crate's
//! weights transposed) and `{prefix}bias_ih_l{l}`, `{prefix}bias_hh_l{l}` `[G]`. PyTorch's
//! layers have two biases or none: a layer with one bias writes it as `bias_ih` and zeros as
//! `bias_hh`, which computes the same.

use std::collections::{BTreeMap, HashMap};

use burn::prelude::*;
use safetensors::{Dtype, tensor::TensorView};

use super::PyTorchError;
use crate::layer::RecurrentLayer;
use crate::{ElmanStack, GruStack, LstmStack};

/// Tensors named as in a PyTorch `state_dict`, with string metadata, written as safetensors.
#[derive(Debug, Clone, Default)]
pub struct StateDict {
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    metadata: HashMap<String, String>,
}

impl StateDict {
    /// An empty `state_dict`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `tensor` (read back from its device as `f32`) under `name`, replacing a tensor of
    /// that name.
    pub fn insert<const D: usize>(&mut self, name: impl Into<String>, tensor: Tensor<D>) {
        let shape = tensor.dims().to_vec();
        let values = tensor.into_data().iter::<f32>().collect();
        self.tensors.insert(name.into(), (shape, values));
    }

    /// Adds a metadata entry (safetensors keeps string pairs beside the tensors; PyTorch's
    /// `safe_open(path, "pt").metadata()` reads them).
    pub fn insert_metadata(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.metadata.insert(key.into(), value.into());
    }

    /// The tensors' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The safetensors bytes: every tensor as little-endian `f32`, and the metadata.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PyTorchError> {
        let bytes: Vec<(&String, &Vec<usize>, Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(name, (shape, values))| {
                let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                (name, shape, raw)
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(name, shape, raw)| {
                TensorView::new(Dtype::F32, shape.to_vec(), raw)
                    .map(|view| (name.as_str(), view))
                    .map_err(|e| PyTorchError::Format(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metadata = (!self.metadata.is_empty()).then(|| self.metadata.clone());
        safetensors::serialize(views, metadata).map_err(|e| PyTorchError::Format(e.to_string()))
    }
}

/// Writes layer `l` of a stack under `prefix`.
fn export_layer(
    state: &mut StateDict,
    layer: &RecurrentLayer,
    prefix: &str,
    l: usize,
) -> Result<(), PyTorchError> {
    if layer.split.is_some() {
        return Err(PyTorchError::Unsupported(
            "a layer whose last gate group is stored apart has no PyTorch counterpart".into(),
        ));
    }
    let name = |kind: &str| format!("{prefix}{kind}_l{l}");
    state.insert(name("weight_ih"), layer.w_ih.val().transpose());
    state.insert(name("weight_hh"), layer.w_hh.val().transpose());
    let (b_ih, b_hh) = (
        layer.b_ih.as_ref().map(|b| b.val()),
        layer.b_hh.as_ref().map(|b| b.val()),
    );
    let (b_ih, b_hh) = match (b_ih, b_hh) {
        (Some(i), Some(h)) => (i, h),
        (Some(one), None) | (None, Some(one)) => {
            let zeros = one.zeros_like();
            (one, zeros)
        }
        (None, None) => return Ok(()),
    };
    state.insert(name("bias_ih"), b_ih);
    state.insert(name("bias_hh"), b_hh);
    Ok(())
}

/// `to_pytorch` for a stack: every layer `l` as `{prefix}weight_ih_l{l}` and so on.
macro_rules! stack_exporter {
    ($stack:ty, $torch:literal, $check:expr) => {
        impl $stack {
            #[doc = concat!(
                "Writes this stack into `state` as a PyTorch `", $torch, "` names its ",
                "`state_dict` entries, under `prefix` (`\"\"` for the module's own ",
                "`state_dict`, `\"rnn.\"` for a field `rnn` of a larger model). The inverse of ",
                "`load_pytorch` (a layer with one bias is loaded back into one with two)."
            )]
            pub fn to_pytorch(&self, state: &mut StateDict, prefix: &str) -> Result<(), PyTorchError> {
                $check(self)?;
                for (l, layer) in self.layers.iter().enumerate() {
                    export_layer(state, layer, prefix, l)?;
                }
                Ok(())
            }
        }
    };
}

fn any<T>(_: &T) -> Result<(), PyTorchError> {
    Ok(())
}

stack_exporter!(ElmanStack, "nn.RNN", any);
stack_exporter!(LstmStack, "nn.LSTM", any);
stack_exporter!(GruStack, "nn.GRU", |m: &GruStack| super::reset_after_only(
    m.reset_after
));
