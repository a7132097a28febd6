//! The per-epoch table the tutorial's Chainer trainer prints (its `PrintReport` extension),
//! printed in plain mode beside the usual lines so a run reads like the tutorial's log.

use crate::truncated_bptt::{EpochTable, SplitFigures};

/// The header: Chainer's `PrintReport` column names.
pub const TABLE_HEADER: &str = "epoch       main/loss   validation/main/loss  main/accuracy  validation/main/accuracy  elapsed_time";

/// The tutorial's report. Its rows hold the same figures as metrics.csv: loss and accuracy
/// over every token of the epoch's windows (Chainer's `main/*` columns keep only the last
/// step of each update, which is why the tutorial's training accuracy moves in steps of
/// 1/23), and the seconds of training so far.
pub struct ChainerReport;

impl EpochTable for ChainerReport {
    fn header(&self) -> String {
        TABLE_HEADER.to_string()
    }

    fn row(&self, epoch: usize, train: SplitFigures, valid: SplitFigures, elapsed: f64) -> String {
        format!(
            "{:<11} {:<11.6} {:<21.6} {:<14.6} {:<25.6} {:.3}",
            epoch, train.loss, valid.loss, train.accuracy, valid.accuracy, elapsed
        )
    }
}
