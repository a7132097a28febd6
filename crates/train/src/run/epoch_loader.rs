//! A data loader whose shuffle order is a pure function of `(seed, epoch)`.
//!
//! Burn's `DataLoaderBuilder::shuffle(seed)` advances one generator from epoch to epoch, so a
//! run resumed at epoch `k` would see epoch 1's order again. Here epoch `e` is ordered by
//! ChaCha8 keyed with the seed in domain `2^32 + e` ([`rnn_data::rng`]), so a resumed run sees
//! exactly the batches the uninterrupted run would have, on every machine. Batches are built on
//! the training thread (the batchers are table look-ups; no worker threads are needed).
//!
//! A loader can also read a stream ([`EpochLoader::windowed`]): epoch `e` serves its own
//! window of the data set, so that every epoch trains on samples no earlier epoch saw (fresh
//! sequences for every step, drawn from a generator that is indexed, not stateful).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::Device;

/// Domain offset of the per-epoch shuffles in [`rnn_data::rng::chacha`] (the data crate uses
/// small domains).
pub const EPOCH_DOMAIN_BASE: u64 = 1 << 32;

/// The sample order of `epoch` (1-based) for `n` samples.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = rnn_data::rng::chacha(seed, EPOCH_DOMAIN_BASE + epoch as u64);
    rnn_data::rng::shuffle(&mut order, &mut rng);
    order
}

/// Batches of a data set, optionally limited to its first `limit` samples and reshuffled
/// every epoch from `(seed, epoch)`.
pub struct EpochLoader<I, O> {
    dataset: Arc<dyn Dataset<I>>,
    batcher: Arc<dyn Batcher<I, O>>,
    batch_size: usize,
    len: usize,
    offset: usize,
    shuffle: Option<u64>,
    /// Whether each epoch gets its own order (`false`: every epoch reuses epoch 1's).
    reshuffle: bool,
    /// Samples per epoch when each epoch reads its own window of the data set (epoch `e`
    /// starts at sample `(e - 1) * window`); `None`: every epoch reads the same samples.
    window: Option<usize>,
    /// The epoch the next `iter()` serves (1-based); shared with copies made by `to_device`.
    next_epoch: Arc<AtomicUsize>,
    device: Device,
}

impl<I, O> EpochLoader<I, O>
where
    I: Send + Sync + 'static,
    O: Send + 'static,
{
    /// A loader over `dataset` (truncated to `limit` samples) in batches of `batch_size`
    /// (the last one may be smaller), shuffled per epoch when `shuffle` is a seed.
    pub fn new(
        dataset: impl Dataset<I> + 'static,
        batcher: impl Batcher<I, O> + 'static,
        batch_size: usize,
        limit: Option<usize>,
        shuffle: Option<u64>,
        device: &Device,
    ) -> Self {
        // --batch-size and config.json are checked ≥ 1 before a loader is built.
        assert!(batch_size > 0, "batch size must be at least 1");
        let len = limit.map_or(dataset.len(), |l| l.min(dataset.len()));
        EpochLoader {
            dataset: Arc::new(dataset),
            batcher: Arc::new(batcher),
            batch_size,
            len,
            offset: 0,
            shuffle,
            reshuffle: true,
            window: None,
            next_epoch: Arc::new(AtomicUsize::new(1)),
            device: device.clone(),
        }
    }

    /// Each epoch reads its own `per_epoch` samples: epoch `e` the samples `(e - 1) *
    /// per_epoch ..  e * per_epoch` of the data set (shuffled within the window when the
    /// loader shuffles), which must hold `epochs * per_epoch` of them.
    pub fn windowed(mut self, per_epoch: usize) -> Self {
        assert!(per_epoch > 0, "an epoch needs at least one sample");
        self.len = per_epoch;
        self.window = Some(per_epoch);
        self
    }

    /// With `false`, the shuffled order is drawn once (epoch 1's) and every epoch walks it, as
    /// MinPy's `NDArrayIter(shuffle=True)` does (it shuffles in its constructor only).
    pub fn reshuffled(mut self, reshuffle: bool) -> Self {
        self.reshuffle = reshuffle;
        self
    }

    /// Makes the next `iter()` serve `epoch` (1-based): a run resumed after epoch `k` starts
    /// at `k + 1`.
    pub fn starting_at_epoch(self, epoch: usize) -> Self {
        self.next_epoch.store(epoch.max(1), Ordering::SeqCst);
        self
    }

    /// As a shared trait object, what Burn's Learner takes.
    pub fn into_arc(self) -> Arc<dyn DataLoader<O>> {
        Arc::new(self)
    }

    fn copy(&self) -> Self {
        EpochLoader {
            dataset: self.dataset.clone(),
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            len: self.len,
            offset: self.offset,
            shuffle: self.shuffle,
            reshuffle: self.reshuffle,
            window: self.window,
            next_epoch: self.next_epoch.clone(),
            device: self.device.clone(),
        }
    }
}

struct EpochIter<'a, I, O> {
    loader: &'a EpochLoader<I, O>,
    /// The first sample of this epoch's window (0 for a loader that is not windowed).
    base: usize,
    order: Vec<usize>,
    position: usize,
}

impl<I, O> Iterator for EpochIter<'_, I, O> {
    type Item = Result<O, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.order.len() {
            return None;
        }
        let end = (self.position + self.loader.batch_size).min(self.order.len());
        let mut items = Vec::with_capacity(end - self.position);
        for &i in &self.order[self.position..end] {
            let index = self.base + self.loader.offset + i;
            if index >= self.loader.dataset.len() {
                self.position = self.order.len();
                return Some(Err(DatasetError::new(WindowPastEnd {
                    index,
                    len: self.loader.dataset.len(),
                })));
            }
            match self.loader.dataset.get(index) {
                Ok(item) => items.push(item),
                Err(e) => {
                    self.position = self.order.len();
                    return Some(Err(e));
                }
            }
        }
        self.position = end;
        Some(Ok(self.loader.batcher.batch(items, &self.loader.device)))
    }
}

/// A windowed loader asked for an epoch past the end of its data set.
#[derive(Debug)]
struct WindowPastEnd {
    index: usize,
    len: usize,
}

impl std::fmt::Display for WindowPastEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sample {} is past the end of a stream of {} (more epochs than the data set was made for)",
            self.index, self.len
        )
    }
}

impl std::error::Error for WindowPastEnd {}

impl<I, O> DataLoaderIterator<O> for EpochIter<'_, I, O> {
    fn progress(&self) -> Progress {
        Progress::new(self.position, self.order.len(), Some("items".to_string()))
    }
}

impl<I, O> DataLoader<O> for EpochLoader<I, O>
where
    I: Send + Sync + 'static,
    O: Send + 'static,
{
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let epoch = self.next_epoch.fetch_add(1, Ordering::SeqCst);
        let order = match self.shuffle {
            Some(seed) => epoch_order(self.len, seed, if self.reshuffle { epoch } else { 1 }),
            None => (0..self.len).collect(),
        };
        Box::new(EpochIter {
            loader: self,
            base: self.window.map_or(0, |w| (epoch - 1) * w),
            order,
            position: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.len
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        let mut copy = self.copy();
        copy.device = device.clone();
        Arc::new(copy)
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        let mut copy = self.copy();
        let end = end.min(self.len);
        let start = start.min(end);
        copy.offset = self.offset + start;
        copy.len = end - start;
        copy.next_epoch = Arc::new(AtomicUsize::new(self.next_epoch.load(Ordering::SeqCst)));
        Arc::new(copy)
    }
}

#[cfg(test)]
mod tests {
    use burn::data::dataset::InMemDataset;
    use burn::prelude::*;

    use super::*;

    #[derive(Clone)]
    struct Ids;

    impl Batcher<usize, Vec<usize>> for Ids {
        fn batch(&self, items: Vec<usize>, _device: &Device) -> Vec<usize> {
            items
        }
    }

    fn epoch_items(loader: &dyn DataLoader<Vec<usize>>) -> Vec<usize> {
        loader.iter().flat_map(|b| b.unwrap()).collect()
    }

    #[test]
    fn order_depends_only_on_seed_and_epoch() {
        let device = Device::flex();
        let make = || {
            EpochLoader::new(
                InMemDataset::new((0..50).collect::<Vec<usize>>()),
                Ids,
                8,
                Some(20),
                Some(3),
                &device,
            )
        };
        let a = make();
        assert_eq!(a.num_items(), 20);
        let e1 = epoch_items(&a);
        let e2 = epoch_items(&a);
        assert_ne!(e1, e2, "each epoch is reshuffled");
        let mut sorted = e1.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0..20).collect::<Vec<_>>(),
            "limit keeps the first 20"
        );
        // A loader resumed at epoch 2 (and moved to a device, as the Learner does) serves the
        // same order as the uninterrupted one did in its second epoch.
        let resumed = make().starting_at_epoch(2).to_device(&device);
        assert_eq!(epoch_items(resumed.as_ref()), e2);
        let sizes: Vec<usize> = make().iter().map(|b| b.unwrap().len()).collect();
        assert_eq!(sizes, vec![8, 8, 4]);

        // Shuffled once: every epoch, resumed or not, walks epoch 1's order.
        let once = make().reshuffled(false);
        assert_eq!(epoch_items(&once), e1);
        assert_eq!(epoch_items(&once), e1);
        let resumed = make()
            .reshuffled(false)
            .starting_at_epoch(5)
            .to_device(&device);
        assert_eq!(epoch_items(resumed.as_ref()), e1);
    }

    #[test]
    fn a_windowed_loader_serves_each_epoch_its_own_samples() {
        let device = Device::flex();
        let make = |shuffle| {
            EpochLoader::new(
                InMemDataset::new((0..30).collect::<Vec<usize>>()),
                Ids,
                4,
                None,
                shuffle,
                &device,
            )
            .windowed(10)
        };
        let plain = make(None);
        assert_eq!(plain.num_items(), 10);
        assert_eq!(epoch_items(&plain), (0..10).collect::<Vec<_>>());
        assert_eq!(epoch_items(&plain), (10..20).collect::<Vec<_>>());
        // Shuffled within the window; a resumed loader (on another device, as the Learner
        // moves it) reads the window of its epoch in the same order.
        let shuffled = make(Some(5));
        let e1 = epoch_items(&shuffled);
        let e2 = epoch_items(&shuffled);
        let mut sorted = e2.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (10..20).collect::<Vec<_>>());
        assert_ne!(e1.iter().map(|i| i + 10).collect::<Vec<_>>(), e2);
        let resumed = make(Some(5)).starting_at_epoch(2).to_device(&device);
        assert_eq!(epoch_items(resumed.as_ref()), e2);
        // Past the end of the stream: an error, not a panic or a short epoch.
        let past = make(None).starting_at_epoch(4);
        let first = past.iter().next().unwrap();
        let err = first.expect_err("epoch 4 of a 3-epoch stream fails");
        assert!(err.to_string().contains("past the end"), "{err}");
    }

    #[test]
    fn unshuffled_loader_keeps_file_order() {
        let device = Device::flex();
        let l = EpochLoader::new(
            InMemDataset::new((0..5).collect::<Vec<usize>>()),
            Ids,
            2,
            None,
            None,
            &device,
        );
        assert_eq!(epoch_items(&l), vec![0, 1, 2, 3, 4]);
        assert_eq!(epoch_items(l.slice(1, 3).as_ref()), vec![1, 2]);
    }
}
