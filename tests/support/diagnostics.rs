//! The file's diagnostics as a user reads them (no colour, 100 columns), for the stories of its
//! static rules (`tests/config_validation.rs`, `tests/config_stamps.rs`).

use azprotect::config::{self, ConfigError};
use miette::{GraphicalReportHandler, GraphicalTheme};

/// miette's renderer as the stories snapshot it.
pub fn handler() -> GraphicalReportHandler {
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100)
}

/// Every diagnostic of `err`, each followed by a blank line.
pub fn render_error(err: &ConfigError) -> String {
    let handler = handler();
    let mut out = String::new();
    for d in &err.diagnostics {
        handler.render_report(&mut out, d.as_ref()).unwrap();
        out.push('\n');
    }
    out
}

/// Load one file named `azprotect.yaml` and render its diagnostics; panics if it is valid.
pub fn diagnose(yaml: &str) -> String {
    match config::load_sources(vec![("azprotect.yaml".into(), yaml.into())]) {
        Ok(_) => panic!("expected diagnostics for:\n{yaml}"),
        Err(e) => render_error(&e),
    }
}

/// Whether one file named `azprotect.yaml` loads.
pub fn loads(yaml: &str) -> bool {
    config::load_sources(vec![("azprotect.yaml".into(), yaml.into())]).is_ok()
}

/// The warnings of a file that loads, rendered.
pub fn warnings(yaml: &str) -> String {
    let loaded = config::load_sources(vec![("azprotect.yaml".into(), yaml.into())])
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let handler = handler();
    let mut out = String::new();
    for w in loaded.warnings() {
        handler.render_report(&mut out, w.as_ref()).unwrap();
    }
    out
}
