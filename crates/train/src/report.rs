//! What a run shows and leaves behind: the console, the per-epoch records and their files,
//! plots, the parameter listing and the plain-text renderer.

pub mod console;
pub mod epoch_record;
pub mod metrics_recorder;
pub mod parameter_list;
pub mod plain_renderer;
pub mod plot;
pub mod summary;
