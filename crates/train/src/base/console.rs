//! Where a run's human-readable output goes: the terminal, or a buffer (tests run the
//! experiments in-process and read what a user would have seen).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// A shared, cloneable pair of output streams. The plain-text renderer writes its lines here
/// from Burn's event-processing thread, so it is `Send + Sync`.
#[derive(Clone)]
pub struct Console {
    out: Sink,
    err: Sink,
    terminal: bool,
}

#[derive(Clone)]
enum Sink {
    Stdout,
    Stderr,
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl Sink {
    fn write_line(&self, line: &str) {
        // Output errors (a closed pipe) must not abort training.
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Sink::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            Sink::Buffer(buf) => {
                let mut buf = buf.lock().unwrap_or_else(|p| p.into_inner());
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
            }
        }
    }
}

/// What a [`Console::buffer`] captured.
#[derive(Clone, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    /// Everything written to the console's standard output so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Everything written to the console's standard error so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Console {
    /// The process's stdout and stderr.
    pub fn stdio() -> Self {
        Console {
            out: Sink::Stdout,
            err: Sink::Stderr,
            terminal: std::io::stdout().is_terminal(),
        }
    }

    /// In-memory streams (never a terminal, so runs use the plain-text renderer).
    pub fn buffer() -> (Self, Captured) {
        let captured = Captured::default();
        let console = Console {
            out: Sink::Buffer(captured.out.clone()),
            err: Sink::Buffer(captured.err.clone()),
            terminal: false,
        };
        (console, captured)
    }

    /// Whether standard output is an interactive terminal (the TUI dashboard needs one).
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Whether this console writes to the real stdout/stderr.
    pub fn is_stdio(&self) -> bool {
        matches!(self.out, Sink::Stdout)
    }

    /// Writes one line to standard output.
    pub fn line(&self, line: impl AsRef<str>) {
        self.out.write_line(line.as_ref());
    }

    /// Writes one line to standard error.
    pub fn eline(&self, line: impl AsRef<str>) {
        self.err.write_line(line.as_ref());
    }
}
