//! Diagnostics: the [`Diag`] builder used by loading and validation, and its rendering as a
//! miette [`Diagnostic`] with the file's source, a labelled span, help and related notes.

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceSpan};
use std::fmt;
use std::sync::Arc;

/// One source file: its display name and text.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: Arc<String>,
}

/// Where a diagnostic points: a file index (into the loaded sources) and a byte span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub file: usize,
    pub span: SourceSpan,
}

impl At {
    pub fn new(file: usize, span: SourceSpan) -> Self {
        At { file, span }
    }
}

/// A diagnostic under construction: `Diag::error(at, "message").label("…").help("…")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    pub severity: Severity,
    pub message: String,
    pub at: Option<At>,
    pub label: Option<String>,
    pub help: Option<String>,
    /// Other places that explain this one ("first defined here").
    pub notes: Vec<(At, String)>,
}

impl Diag {
    pub fn error(at: At, message: impl Into<String>) -> Self {
        Diag {
            severity: Severity::Error,
            message: message.into(),
            at: Some(at),
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    /// A diagnostic that points at no file (e.g. a bad `--subscription`).
    pub fn global(message: impl Into<String>) -> Self {
        Diag {
            at: None,
            ..Diag::error(At::new(0, (0..0).into()), message)
        }
    }

    pub fn warning(at: At, message: impl Into<String>) -> Self {
        Diag {
            severity: Severity::Warning,
            ..Diag::error(at, message)
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub fn note(mut self, at: At, label: impl Into<String>) -> Self {
        self.notes.push((at, label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The renderable diagnostic, with the text of the file(s) it points into.
    pub fn render(&self, sources: &[Source]) -> ConfigDiagnostic {
        let src = |at: &At| {
            sources
                .get(at.file)
                .map(|s| NamedSource::new(s.name.clone(), s.text.clone()).with_language("yaml"))
        };
        let primary_src = self.at.as_ref().and_then(src);
        let labels = match (&self.at, &primary_src) {
            (Some(at), Some(_)) => vec![LabeledSpan::new_primary_with_span(
                Some(self.label.clone().unwrap_or_else(|| "here".to_string())),
                at.span,
            )],
            _ => Vec::new(),
        };
        let related = self
            .notes
            .iter()
            .map(|(at, label)| ConfigDiagnostic {
                severity: Severity::Advice,
                message: label.clone(),
                src: src(at),
                labels: vec![LabeledSpan::new_primary_with_span(
                    Some(label.clone()),
                    at.span,
                )],
                help: None,
                related: Vec::new(),
            })
            .collect();
        ConfigDiagnostic {
            severity: self.severity,
            message: self.message.clone(),
            src: primary_src,
            labels,
            help: self.help.clone(),
            related,
        }
    }
}

/// A rendered diagnostic (what miette prints).
#[derive(Debug, Clone)]
pub struct ConfigDiagnostic {
    severity: Severity,
    message: String,
    src: Option<NamedSource<Arc<String>>>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    related: Vec<ConfigDiagnostic>,
}

impl fmt::Display for ConfigDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigDiagnostic {}

impl Diagnostic for ConfigDiagnostic {
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|d| d as &dyn Diagnostic)))
        }
    }
}

/// `did you mean `x`?` for a misspelt name among `candidates` (Jaro-Winkler / Levenshtein).
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let exact_ci = c.eq_ignore_ascii_case(input);
            let score = if exact_ci {
                1.0
            } else {
                strsim::jaro_winkler(&lower, &c.to_ascii_lowercase())
            };
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// A list of names as `` `a`, `b` or `c` ``.
pub fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// Collected diagnostics of a load or conversion.
#[derive(Debug, Default)]
pub struct Diags {
    pub list: Vec<Diag>,
}

impl Diags {
    pub fn push(&mut self, d: Diag) {
        self.list.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(Diag::is_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_close_names_and_ignore_far_ones() {
        assert_eq!(
            did_you_mean("retension", ["tier", "retention"]).as_deref(),
            Some("did you mean `retention`?")
        );
        assert_eq!(
            did_you_mean("sunday", ["Sunday", "Monday"]).as_deref(),
            Some("did you mean `Sunday`?")
        );
        assert_eq!(did_you_mean("zzz", ["retention", "schedule"]), None);
    }

    #[test]
    fn name_lists_read_as_prose() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }

    #[test]
    fn a_global_diagnostic_renders_without_a_source() {
        let d = Diag::global("no subscription").help("set one").render(&[]);
        assert!(d.source_code().is_none());
        assert!(d.labels().is_none());
        assert_eq!(d.to_string(), "no subscription");
    }
}
