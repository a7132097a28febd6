//! Burn's default device for the process, chosen through the one environment variable Burn
//! reads for it (`BURN_DEVICE`).

use std::sync::Mutex;

use crate::device::backend_choice::BackendChoice;

/// Makes `backend` Burn's default device for this process. Burn puts some state on
/// `Device::default()` (the optimiser's state loaded from a checkpoint on `--resume`), and
/// with wgpu compiled in that default is the GPU whatever `--backend` says; Burn reads the
/// choice from `BURN_DEVICE` only.
pub(crate) fn make_default_device(backend: BackendChoice) {
    const VAR: &str = "BURN_DEVICE";
    static WRITE: Mutex<()> = Mutex::new(());
    let _one_writer = WRITE.lock().unwrap_or_else(|p| p.into_inner());
    if std::env::var(VAR).ok().as_deref() != Some(backend.name()) {
        // `set_var` is unsound only while another thread reads the environment. This runs
        // before any device of the run exists (`open` creates them, starting the backend's threads):
        // in an experiment binary no other thread exists yet. Test processes run experiments
        // on parallel threads and set BURN_DEVICE to the tested backend beforehand (`just
        // test` sets `flex`), so this branch does not write there; the mutex keeps two
        // sessions of one process from writing at once.
        // SAFETY: no other thread reads the environment at this point (see above).
        unsafe { std::env::set_var(VAR, backend.name()) };
    }
}
