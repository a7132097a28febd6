//! MNIST read as sequences, the way the recurrent-network tutorials feed it: one pixel per
//! step (784 steps), one pixel per step in a fixed scrambled order, or one row per step (28
//! steps of 28 values).
//!
//! The data set ([`MnistSequences`]) only selects and orders images of a shared [`Mnist`]; the
//! batcher ([`MnistSequenceBatcher`]) turns a batch of them into one `[batch, time, features]`
//! float tensor in a single allocation, because the IRNN experiment builds thousands of
//! 40 x 784 batches and per-item tensors would dominate its data time.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::data::dataset::DatasetError;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::idx::{PIXELS, SIDE};
use crate::mnist::Mnist;
use crate::rng;

/// How an image becomes a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SequenceView {
    /// 784 steps of 1 value, row-major (sequential MNIST).
    Pixel,
    /// 784 steps of 1 value in the order of the permutation `seed` stands for
    /// ([`rng::permutation`]); the same seed gives the same order on every machine.
    PermutedPixel {
        /// Seed of the permutation.
        seed: u64,
    },
    /// 28 steps of 28 values (one row per step).
    Row,
}

impl SequenceView {
    /// Time steps per image.
    pub fn steps(self) -> usize {
        match self {
            SequenceView::Pixel | SequenceView::PermutedPixel { .. } => PIXELS,
            SequenceView::Row => SIDE,
        }
    }

    /// Values per time step.
    pub fn features(self) -> usize {
        match self {
            SequenceView::Pixel | SequenceView::PermutedPixel { .. } => 1,
            SequenceView::Row => SIDE,
        }
    }

    /// The pixel read at each position of the flattened sequence (`step * features + f`), or
    /// `None` for the identity order.
    pub fn pixel_order(self) -> Option<Vec<usize>> {
        match self {
            SequenceView::PermutedPixel { seed } => Some(rng::permutation(PIXELS, seed)),
            SequenceView::Pixel | SequenceView::Row => None,
        }
    }
}

impl fmt::Display for SequenceView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SequenceView::Pixel => f.write_str("pixel"),
            SequenceView::PermutedPixel { seed } => write!(f, "permuted-pixel:{seed}"),
            SequenceView::Row => f.write_str("row"),
        }
    }
}

impl FromStr for SequenceView {
    type Err = ConfigError;

    /// `pixel`, `row`, `permuted-pixel` (seed 0) or `permuted-pixel:SEED`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || ConfigError::Unknown {
            what: "sequence view",
            value: s.to_string(),
            expected: "pixel, row, permuted-pixel, permuted-pixel:SEED",
        };
        let lower = s.trim().to_ascii_lowercase();
        let (name, seed) = match lower.split_once(':') {
            Some((name, seed)) => (name, Some(seed.parse::<u64>().map_err(|_| unknown())?)),
            None => (lower.as_str(), None),
        };
        match (name, seed) {
            ("pixel", None) => Ok(SequenceView::Pixel),
            ("row", None) => Ok(SequenceView::Row),
            ("permuted-pixel" | "permuted", seed) => Ok(SequenceView::PermutedPixel {
                seed: seed.unwrap_or(0),
            }),
            _ => Err(unknown()),
        }
    }
}

/// How a byte becomes a float; the tutorials disagree, and the choice changes what an
/// untrained network sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalisation {
    /// `(255 - x) * 2 / 255 - 1`: background 1, ink -1 (the irnn-mnist tutorial).
    #[default]
    IrnnTutorial,
    /// `x / 255`: background 0, ink 1 (the PyTorch tutorials).
    UnitRange,
}

impl Normalisation {
    /// The float for pixel value `x`.
    pub fn apply(self, x: u8) -> f32 {
        let x = x as f32;
        match self {
            Normalisation::IrnnTutorial => (255.0 - x) * 2.0 / 255.0 - 1.0,
            Normalisation::UnitRange => x / 255.0,
        }
    }

    /// [`Normalisation::apply`] for all 256 byte values, so batching is a table look-up.
    pub fn table(self) -> [f32; 256] {
        std::array::from_fn(|x| self.apply(x as u8))
    }
}

impl fmt::Display for Normalisation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Normalisation::IrnnTutorial => "irnn-tutorial",
            Normalisation::UnitRange => "unit-range",
        })
    }
}

impl FromStr for Normalisation {
    type Err = ConfigError;

    /// `irnn-tutorial` (or `irnn`) and `unit-range` (or `unit`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "irnn-tutorial" | "irnn" | "irnntutorial" => Ok(Normalisation::IrnnTutorial),
            "unit-range" | "unit" | "unitrange" => Ok(Normalisation::UnitRange),
            _ => Err(ConfigError::Unknown {
                what: "normalisation",
                value: s.to_string(),
                expected: "irnn-tutorial, unit-range",
            }),
        }
    }
}

/// One image as the data loader passes it to the batcher: its raw pixels and label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistSequenceItem {
    /// 784 pixels, row-major.
    pub pixels: Vec<u8>,
    /// The digit.
    pub label: u8,
}

/// A selection of images from a shared [`Mnist`], in a chosen order. Taking the first `n` or
/// shuffling only rewrites the index list; the pixels are never copied.
#[derive(Debug, Clone)]
pub struct MnistSequences {
    mnist: Arc<Mnist>,
    indices: Vec<u32>,
}

impl MnistSequences {
    /// Every image, in file order.
    pub fn new(mnist: Arc<Mnist>) -> Self {
        let indices = (0..mnist.len() as u32).collect();
        MnistSequences { mnist, indices }
    }

    /// The first `n` samples of this selection (all of them if there are fewer), for quick
    /// runs and tests.
    pub fn first(mut self, n: usize) -> Self {
        self.indices.truncate(n);
        self
    }

    /// This selection in the order `seed` stands for ([`rng::shuffled`]): the same on every
    /// machine, unlike the data loader's own per-epoch shuffle.
    pub fn shuffled(mut self, seed: u64) -> Self {
        self.indices = rng::shuffled(&self.indices, seed);
        self
    }

    /// Positions in the underlying [`Mnist`] of this selection's samples, in order.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// The underlying data set.
    pub fn mnist(&self) -> &Arc<Mnist> {
        &self.mnist
    }
}

impl Dataset<MnistSequenceItem> for MnistSequences {
    fn get(&self, index: usize) -> Result<MnistSequenceItem, DatasetError> {
        let i = self.indices[index] as usize;
        Ok(MnistSequenceItem {
            pixels: self.mnist.image(i).to_vec(),
            label: self.mnist.label(i),
        })
    }

    fn len(&self) -> usize {
        self.indices.len()
    }
}

/// A batch of sequences ready for a recurrent network.
#[derive(Debug, Clone)]
pub struct MnistBatch {
    /// `[batch, steps, features]`.
    pub inputs: Tensor<3>,
    /// `[batch]`, the digits.
    pub targets: Tensor<1, Int>,
}

/// Builds [`MnistBatch`]es for one [`SequenceView`] and [`Normalisation`].
#[derive(Debug, Clone)]
pub struct MnistSequenceBatcher {
    view: SequenceView,
    normalisation: Normalisation,
    table: [f32; 256],
    order: Option<Arc<[u16]>>,
}

impl MnistSequenceBatcher {
    /// A batcher for `view` with `normalisation` (computes the permutation once).
    pub fn new(view: SequenceView, normalisation: Normalisation) -> Self {
        let order = view
            .pixel_order()
            .map(|o| o.into_iter().map(|p| p as u16).collect::<Arc<[u16]>>());
        MnistSequenceBatcher {
            view,
            normalisation,
            table: normalisation.table(),
            order,
        }
    }

    /// The view this batcher produces.
    pub fn view(&self) -> SequenceView {
        self.view
    }

    /// The normalisation this batcher applies.
    pub fn normalisation(&self) -> Normalisation {
        self.normalisation
    }

    /// The batch's inputs as one flat `[batch, steps, features]` row-major buffer (what
    /// [`Batcher::batch`] uploads).
    pub fn inputs(&self, items: &[MnistSequenceItem]) -> Vec<f32> {
        let mut out = Vec::with_capacity(items.len() * PIXELS);
        for item in items {
            let pixels = &item.pixels[..PIXELS];
            match &self.order {
                None => out.extend(pixels.iter().map(|&p| self.table[p as usize])),
                Some(order) => out.extend(
                    order
                        .iter()
                        .map(|&from| self.table[pixels[from as usize] as usize]),
                ),
            }
        }
        out
    }
}

impl Batcher<MnistSequenceItem, MnistBatch> for MnistSequenceBatcher {
    fn batch(&self, items: Vec<MnistSequenceItem>, device: &Device) -> MnistBatch {
        let shape = [items.len(), self.view.steps(), self.view.features()];
        let inputs = Tensor::<3>::from_data(TensorData::new(self.inputs(&items), shape), device);
        let labels: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [items.len()]), device);
        MnistBatch { inputs, targets }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three synthetic images whose pixel p of image i is (i * 31 + p) % 256.
    fn tiny() -> Arc<Mnist> {
        let images = (0..3 * PIXELS)
            .map(|k| ((k / PIXELS) * 31 + k % PIXELS) as u8)
            .collect();
        Arc::new(Mnist::from_raw(images, vec![7, 0, 9]).unwrap())
    }

    #[test]
    fn normalisations_map_the_byte_range_as_the_tutorials_do() {
        assert_eq!(Normalisation::IrnnTutorial.apply(0), 1.0);
        assert_eq!(Normalisation::IrnnTutorial.apply(255), -1.0);
        assert_eq!(Normalisation::UnitRange.apply(0), 0.0);
        assert_eq!(Normalisation::UnitRange.apply(255), 1.0);
        assert!((Normalisation::UnitRange.apply(51) - 0.2).abs() < 1e-7);
    }

    #[test]
    fn views_and_normalisations_parse_and_print() {
        for view in [
            SequenceView::Pixel,
            SequenceView::Row,
            SequenceView::PermutedPixel { seed: 42 },
        ] {
            assert_eq!(view.to_string().parse::<SequenceView>().unwrap(), view);
        }
        assert_eq!(
            "permuted-pixel".parse::<SequenceView>().unwrap(),
            SequenceView::PermutedPixel { seed: 0 }
        );
        assert!("diagonal".parse::<SequenceView>().is_err());
        assert!("pixel:3".parse::<SequenceView>().is_err());
        for n in [Normalisation::IrnnTutorial, Normalisation::UnitRange] {
            assert_eq!(n.to_string().parse::<Normalisation>().unwrap(), n);
        }
        assert_eq!(
            "unit".parse::<Normalisation>().unwrap(),
            Normalisation::UnitRange
        );
        let err = "zscore".parse::<Normalisation>().unwrap_err();
        assert!(
            err.to_string().contains("irnn-tutorial, unit-range"),
            "{err}"
        );
        let json = serde_json::to_string(&SequenceView::PermutedPixel { seed: 5 }).unwrap();
        assert_eq!(
            serde_json::from_str::<SequenceView>(&json).unwrap(),
            SequenceView::PermutedPixel { seed: 5 }
        );
    }

    #[test]
    fn first_and_shuffled_select_without_copying() {
        let data = MnistSequences::new(tiny());
        assert_eq!(data.len(), 3);
        assert_eq!(data.clone().first(2).indices(), &[0, 1]);
        assert_eq!(data.clone().first(10).len(), 3);
        let a = data.clone().shuffled(1);
        assert_eq!(a.indices(), data.clone().shuffled(1).indices());
        let mut sorted = a.indices().to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2]);
        assert!(Arc::ptr_eq(a.mnist(), data.mnist()));
        let item = a.get(0).unwrap();
        let i = a.indices()[0] as usize;
        assert_eq!(item.pixels, data.mnist().image(i));
        assert_eq!(item.label, data.mnist().label(i));
    }

    #[test]
    fn batches_have_the_view_shape_and_values() {
        let device = Device::flex();
        let data = MnistSequences::new(tiny());
        let items: Vec<_> = (0..3).map(|i| data.get(i).unwrap()).collect();

        let pixel = MnistSequenceBatcher::new(SequenceView::Pixel, Normalisation::UnitRange)
            .batch(items.clone(), &device);
        assert_eq!(pixel.inputs.dims(), [3, 784, 1]);
        let values = pixel.inputs.to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(values[784 + 5], (31 + 5) as f32 / 255.0);
        let labels = pixel
            .targets
            .to_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(labels, vec![7, 0, 9]);

        let row = MnistSequenceBatcher::new(SequenceView::Row, Normalisation::UnitRange)
            .batch(items.clone(), &device);
        assert_eq!(row.inputs.dims(), [3, 28, 28]);
        assert_eq!(row.inputs.to_data().try_to_vec::<f32>().unwrap(), values);

        let seed = 9;
        let batcher = MnistSequenceBatcher::new(
            SequenceView::PermutedPixel { seed },
            Normalisation::IrnnTutorial,
        );
        let permuted = batcher.batch(items.clone(), &device);
        assert_eq!(permuted.inputs.dims(), [3, 784, 1]);
        let got = permuted.inputs.to_data().try_to_vec::<f32>().unwrap();
        let order = rng::permutation(PIXELS, seed);
        for (t, &p) in order.iter().enumerate() {
            assert_eq!(
                got[2 * PIXELS + t],
                Normalisation::IrnnTutorial.apply(items[2].pixels[p])
            );
        }
    }
}
