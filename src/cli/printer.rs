//! Where output goes: stdout for results, stderr for progress and notes.

use std::io::{self, Write};

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub color: bool,
}

impl Printer {
    pub fn stdout(&self) -> io::StdoutLock<'static> {
        io::stdout().lock()
    }

    /// A line on stderr (notes, progress without a TTY).
    pub fn note(&self, line: impl AsRef<str>) {
        let _ = writeln!(io::stderr(), "{}", line.as_ref());
    }

    /// A line on stdout.
    pub fn line(&self, line: impl AsRef<str>) {
        let _ = writeln!(io::stdout(), "{}", line.as_ref());
    }
}
