//! Apply progress: indicatif spinners on a TTY, plain timestamped lines otherwise.

use super::printer::Printer;
use crate::apply::{Outcome, Reporter};
use crate::plan::{Action, Change};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use is_terminal::IsTerminal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn reporter(printer: Printer) -> Arc<dyn Reporter> {
    if std::io::stderr().is_terminal() {
        let multi = MultiProgress::new();
        let more = multi.add(ProgressBar::new_spinner());
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            more.set_style(style);
        }
        Arc::new(Spinners {
            multi,
            bars: Mutex::new(HashMap::new()),
            more,
            hidden: Mutex::new(0),
        })
    } else {
        Arc::new(Lines { _printer: printer })
    }
}

fn verb(c: &Change) -> &'static str {
    match (c.action, c.data) {
        (Action::Create, _) => "creating",
        (Action::Update, _) => "updating",
        (Action::Replace, _) => "replacing",
        (Action::Delete, Some(crate::plan::DataEffect::Retained)) => {
            "stopping protection (data retained)"
        }
        (Action::Delete, Some(crate::plan::DataEffect::Suspended)) => "suspending backups",
        (Action::Delete, _) => "deleting",
    }
}

fn describe(outcome: &Outcome, elapsed: Duration) -> String {
    match outcome {
        Outcome::Done => format!("done ({:.1}s)", elapsed.as_secs_f64()),
        Outcome::Failed(e) => format!("FAILED: {e}"),
        Outcome::Skipped { because } => format!("skipped ({because} did not apply)"),
    }
}

struct Lines {
    _printer: Printer,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Reporter for Lines {
    fn started(&self, c: &Change) {
        eprintln!("{}  {} {} …", now(), verb(c), c.address);
    }
    fn finished(&self, c: &Change, outcome: &Outcome, elapsed: Duration) {
        eprintln!(
            "{}  {} {}: {}",
            now(),
            verb(c),
            c.address,
            describe(outcome, elapsed)
        );
    }
}

/// At most this many spinners at once; further changes in flight are counted on one line.
const VISIBLE: usize = 8;

struct Spinners {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    /// "… and N more in flight", below the spinners.
    more: ProgressBar,
    hidden: Mutex<usize>,
}

impl Spinners {
    fn count_hidden(&self, delta: isize) {
        let mut h = self.hidden.lock().unwrap_or_else(|p| p.into_inner());
        *h = h.saturating_add_signed(delta);
        self.more.set_message(match *h {
            0 => String::new(),
            n => format!("… and {n} more in flight"),
        });
    }
}

impl Reporter for Spinners {
    fn started(&self, c: &Change) {
        if self.bars.lock().unwrap_or_else(|p| p.into_inner()).len() >= VISIBLE {
            self.count_hidden(1);
            return;
        }
        let bar = self
            .multi
            .insert_before(&self.more, ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("{} {}", verb(c), c.address));
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(c.address.to_string(), bar);
    }
    fn finished(&self, c: &Change, outcome: &Outcome, elapsed: Duration) {
        let bar = self
            .bars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&c.address.to_string());
        let mark = match outcome {
            Outcome::Done => "✓",
            Outcome::Failed(_) => "✗",
            Outcome::Skipped { .. } => "↷",
        };
        let line = format!(
            "{mark} {} {}: {}",
            verb(c),
            c.address,
            describe(outcome, elapsed)
        );
        match bar {
            Some(bar) => {
                if let Ok(style) = ProgressStyle::with_template("{msg}") {
                    bar.set_style(style);
                }
                bar.finish_with_message(line)
            }
            None => {
                self.count_hidden(-1);
                if !matches!(outcome, Outcome::Done) {
                    let _ = self.multi.println(line);
                }
            }
        }
    }
}
