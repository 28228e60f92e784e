//! Where output goes: stdout for results, stderr for progress and notes.

use std::io::{self, Write};

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub color: bool,
}

/// One of a report's renderers (`render::…::{text, markdown, json}`).
pub type Render<T> = fn(&T, &mut io::StdoutLock<'static>) -> io::Result<()>;

impl Printer {
    pub fn stdout(&self) -> io::StdoutLock<'static> {
        io::stdout().lock()
    }

    /// A report on stdout in `format`, by its renderer's text, markdown and JSON functions.
    pub fn report<T>(
        &self,
        format: super::args::PlanFormat,
        value: &T,
        [text, markdown, json]: [Render<T>; 3],
    ) -> miette::Result<()> {
        use super::args::PlanFormat;
        let render = match format {
            PlanFormat::Text => text,
            PlanFormat::Markdown => markdown,
            PlanFormat::Json => json,
        };
        miette::IntoDiagnostic::into_diagnostic(render(value, &mut self.stdout()))
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
