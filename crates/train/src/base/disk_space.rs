//! Free space on the disk a run writes to: checked before training starts and after every
//! epoch, so that a disk that is all but full ends the run with a clear error before the
//! next epoch's work is spent. Every run file is written atomically through the project's
//! own writers (Burn's panicking file logger is not used), so a disk that fills up during a
//! write ends the run just as cleanly, naming the file; this check only comes earlier.

use std::path::Path;

/// The least free space a run continues with: below it even the metrics and plots of the
/// next epoch may not fit.
pub const MIN_FREE_BYTES: u64 = 1 << 20;

/// Bytes available to this user on the file system holding `dir`, if it can be asked.
pub fn available_bytes(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// `Err` naming `dir` and the free space when it is below [`MIN_FREE_BYTES`].
pub fn check_free_space(dir: &Path) -> Result<(), String> {
    match available_bytes(dir) {
        Some(free) if free < MIN_FREE_BYTES => Err(format!(
            "the disk holding {} has {} KiB free (a run needs at least {} MiB to write \
             its checkpoints and logs)",
            dir.display(),
            free >> 10,
            MIN_FREE_BYTES >> 20
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_directory_has_room_and_a_missing_one_is_not_judged() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(available_bytes(tmp.path()).is_some_and(|b| b > 0));
        assert!(check_free_space(&tmp.path().join("missing")).is_ok());
    }
}
