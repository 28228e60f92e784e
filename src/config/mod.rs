//! The desired-state file (v1): YAML types, loading with source spans, static validation of
//! Azure's rules, references and selectors, the JSON Schema, and the conversion to
//! [`crate::model::Desired`].
//!
//! Flow: [`load`] reads the files, parses each with serde-saphyr into [`types::ConfigFile`]
//! (every value wrapped in [`Sp`] with its byte span), validates each file and the files
//! together, and returns a [`Loaded`]; [`Loaded::desired`] builds the resources. Every problem
//! is a [`Diag`] pointing at file:line:column; [`ConfigError`] carries them all.
//!
//! Must not import: `azure`, `plan`, `apply`, `live`, `cli`, `sandbox`, `ops`.

mod blocks;
mod desired;
mod desired_disk_backup;
mod desired_site_recovery;
pub mod diag;
mod load;
mod locate;
mod schema;
pub mod spanned;
pub mod stamps;
pub mod types;
pub mod types_disk_backup;
pub mod types_site_recovery;
pub mod types_stamps;
pub mod validate;

pub use diag::{At, ConfigDiagnostic, Diag, Source};
pub use schema::json_schema_text;
pub use spanned::{Map, OneOrMany, Sp};
pub use types::ConfigFile;

use crate::model::Desired;
use diag::Diags;
use std::path::PathBuf;
use std::sync::Arc;

/// Parsed and validated files, ready to become a [`Desired`].
#[derive(Debug)]
pub struct Loaded {
    sources: Vec<Source>,
    files: Vec<ConfigFile>,
    warnings: Vec<Diag>,
}

/// One or many diagnostics, each pointing at file:line:column.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{}", self.heading())]
pub struct ConfigError {
    #[related]
    pub diagnostics: Vec<miette::Report>,
    /// No file was there to read: nothing is invalid, so the heading does not say so.
    missing: bool,
}

impl ConfigError {
    fn new(diags: &[Diag], sources: &[Source]) -> Self {
        let mut errors: Vec<&Diag> = diags.iter().filter(|d| d.is_error()).collect();
        // Reading order: by file, then position (global diagnostics first).
        errors.sort_by_key(|d| d.at.map(|a| (a.file, a.span.offset())));
        ConfigError {
            diagnostics: errors
                .into_iter()
                .map(|d| miette::Report::new(d.render(sources)))
                .collect(),
            missing: false,
        }
    }

    fn heading(&self) -> String {
        let n = self.diagnostics.len();
        if self.missing {
            return format!("no configuration file to read ({n} not found)");
        }
        format!(
            "invalid configuration ({n} error{})",
            if n == 1 { "" } else { "s" }
        )
    }
}

/// A file that is not there: which one, where it was looked for, and how to name another.
fn not_found(path: &std::path::Path) -> Diag {
    let looked = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Diag::global(format!(
        "{} does not exist (looked for {})",
        path.display(),
        looked.display()
    ))
    .help(
        "pass the configuration with -f FILE (repeatable), e.g. `-f examples/quickstart.yaml`; \
             without -f, azprotect reads azprotect.yaml in the current directory",
    )
}

/// Read, parse and validate the files (`-f` may repeat; maps merge, duplicates are errors).
pub fn load(paths: &[PathBuf]) -> Result<Loaded, ConfigError> {
    let mut sources = Vec::new();
    let mut diags = Vec::new();
    let missing: Vec<Diag> = paths
        .iter()
        .filter(|p| std::fs::metadata(p).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound))
        .map(|p| not_found(p))
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError {
            missing: true,
            ..ConfigError::new(&missing, &[])
        });
    }
    for p in paths {
        let name = p.display().to_string();
        match std::fs::read(p) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push((name, text)),
                Err(e) => diags.push(not_utf8(&name, e.as_bytes(), e.utf8_error().valid_up_to())),
            },
            Err(e) => diags.push(Diag::global(format!("cannot read {name}: {e}"))),
        }
    }
    if !diags.is_empty() {
        return Err(ConfigError::new(&diags, &[]));
    }
    load_sources(sources)
}

/// A file that is not UTF-8, said by line and column (of the valid text before the bad byte).
fn not_utf8(name: &str, bytes: &[u8], at: usize) -> Diag {
    let before = String::from_utf8_lossy(&bytes[..at]);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Diag::global(format!(
        "{name}:{line}:{column}: not UTF-8 text (byte 0x{:02x}); save the file as UTF-8",
        bytes[at]
    ))
}

/// Like [`load`], from in-memory `(name, text)` pairs (tests, stdin).
pub fn load_sources(sources: Vec<(String, String)>) -> Result<Loaded, ConfigError> {
    let sources: Vec<Source> = sources
        .into_iter()
        .map(|(name, text)| Source {
            name,
            text: Arc::new(text),
        })
        .collect();
    if sources.is_empty() {
        return Err(ConfigError::new(
            &[Diag::global("no configuration file given")],
            &[],
        ));
    }
    let (files, diags) = load::parse_and_validate(&sources);
    if diags.has_errors() {
        return Err(ConfigError::new(&diags.list, &sources));
    }
    let warnings = diags.list.into_iter().filter(|d| !d.is_error()).collect();
    Ok(Loaded {
        sources,
        files,
        warnings,
    })
}

impl Loaded {
    /// The desired resources. `default_subscription` is `--subscription` / `AZURE_SUBSCRIPTION_ID`
    /// and applies when the file sets none.
    pub fn desired(&self, default_subscription: Option<&str>) -> Result<Desired, ConfigError> {
        let mut diags = Diags::default();
        // Checked at load with no default subscription: check again now that there is one.
        let files_set_none = self.files.iter().all(|f| f.subscription.is_none());
        if let Some(default) = default_subscription.filter(|_| files_set_none) {
            validate::across_subscriptions(&self.files, Some(default), &mut diags);
        }
        match desired::build(&self.files, default_subscription, &mut diags) {
            Some(d) if !diags.has_errors() => Ok(d),
            _ => Err(ConfigError::new(&diags.list, &self.sources)),
        }
    }

    /// Warnings (e.g. an unknown time-zone name): valid, but worth a look. Print them with
    /// miette before planning.
    pub fn warnings(&self) -> Vec<miette::Report> {
        self.warnings
            .iter()
            .map(|d| miette::Report::new(d.render(&self.sources)))
            .collect()
    }

    /// A diagnostic pointing at the YAML that declared `address` (for rules checked later, at
    /// plan time), with an optional help line. Render it with miette like any other.
    pub fn report_at(
        &self,
        address: &crate::model::Address,
        message: &str,
        help: Option<&str>,
    ) -> miette::Report {
        let mut d = locate::error_at(&self.files, address, message);
        if let Some(h) = help {
            d = d.help(h);
        }
        miette::Report::new(d.render(&self.sources))
    }

    /// What the discovery read before a plan must gather for the files' stamps (`None`: the
    /// files have none, and nothing is read for them).
    /// How many stamps the files declare.
    pub fn stamp_count(&self) -> usize {
        stamps::stamps_of(&self.files).count()
    }

    pub fn stamps_wanted(&self) -> Option<stamps::Wanted> {
        stamps::wanted(&self.files)
    }

    /// The files with every stamp expanded against `facts` (see [`stamps`]) and validated again
    /// as written so, with what each expansion came from.
    pub fn expand_stamps(
        &self,
        facts: &crate::model::stamp::StampFacts,
    ) -> Result<(Loaded, Vec<stamps::Stamped>, stamps::Covered), ConfigError> {
        let mut diags = Diags::default();
        let (files, stamped, covered) = stamps::expand(&self.files, facts, &mut diags);
        if !diags.has_errors() {
            for (i, f) in files.iter().enumerate() {
                validate::file(
                    &mut validate::Cx {
                        file: i,
                        diags: &mut diags,
                    },
                    f,
                );
            }
            validate::across(&files, &mut diags);
        }
        if diags.has_errors() {
            return Err(ConfigError::new(&diags.list, &self.sources));
        }
        let expanded = Loaded {
            sources: self.sources.clone(),
            files,
            warnings: self.warnings.clone(),
        };
        Ok((expanded, stamped, covered))
    }

    /// The parsed files, in the order given.
    pub fn files(&self) -> &[ConfigFile] {
        &self.files
    }
}

/// The JSON Schema of the file format (`azprotect schema`).
pub fn json_schema() -> serde_json::Value {
    schema::json_schema()
}
