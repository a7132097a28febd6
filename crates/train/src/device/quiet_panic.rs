//! Panics that are expected and caught, kept off the terminal: a device probe that fails by
//! panicking is reported as a [`crate::RunError`] instead ([`crate::device::open`]),
//! and the run log's panic hook ([`crate::run::run_log`]) leaves such a panic out too.

thread_local! {
    /// Whether a panic on this thread is expected and caught (see [`quietly`]).
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a panic on this thread now is one that [`quietly`] expects and catches.
pub(crate) fn quiet_panic() -> bool {
    QUIET.with(|q| q.get())
}

/// Runs `f`, catching a panic without printing its message: for probes whose failure is
/// reported as a [`RunError`](crate::RunError). The process's panic hook is wrapped once, on
/// first use, by one that stays silent only on a thread inside `quietly`; it is never swapped
/// back and forth, so runs on other threads (tests run experiments in parallel) keep their
/// messages.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> std::thread::Result<R> {
    static WRAP: std::sync::Once = std::sync::Once::new();
    WRAP.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info)
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let outcome = std::panic::catch_unwind(f);
    QUIET.with(|q| q.set(false));
    outcome
}
