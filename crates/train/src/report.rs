//! What a run shows and leaves behind while it trains:
//!
//! * [`plain_renderer`]: one line per epoch and split instead of the dashboard;
//! * [`epoch_record`]: one row of `metrics.csv` per epoch, and the plots drawn from them,
//!   kept up to date during training by [`metrics_recorder`];
//! * [`plot`]: the PNG plots;
//! * [`parameter_list`]: the model's parameter tensors, printed and in `summary.json`.

pub mod epoch_record;
pub mod metrics_recorder;
pub mod parameter_list;
pub mod plain_renderer;
pub mod plot;
