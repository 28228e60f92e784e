//! The terminal's [`Progress`]: indicatif spinners on a TTY (at most [`VISIBLE`] at once, the
//! rest counted on one line), plain timestamped lines on stderr otherwise. Every command that
//! runs long work (apply, failover, drill, snapshot, waits) reports through this one.

use super::printer::Printer;
use crate::progress::{status_line, Event, Progress, Task};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use is_terminal::IsTerminal;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn terminal(printer: Printer) -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        let multi = MultiProgress::new();
        let more = multi.add(ProgressBar::new_spinner());
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            more.set_style(style);
        }
        Arc::new(Spinners {
            multi,
            state: Mutex::new(Bars::default()),
            more,
        })
    } else {
        Arc::new(Lines {
            printer,
            last: Mutex::new(HashMap::new()),
        })
    }
}

/// How a task ended, for the line that stays: "done (1.2s)", "FAILED: …".
fn ending(event: &Event<'_>, elapsed: Duration) -> Option<(&'static str, String)> {
    Some(match event {
        Event::Finished => ("✓", format!("done ({:.1}s)", elapsed.as_secs_f64())),
        Event::Skipped { because } => ("↷", format!("skipped ({because})")),
        Event::Failed { error } => ("✗", format!("FAILED: {error}")),
        _ => return None,
    })
}

/// What a running task's line says now.
fn running(task: &Task, event: &Event<'_>) -> String {
    let secs = task.elapsed().as_secs_f64();
    match event {
        Event::Progressed { status, percent } => {
            format!(
                "{}: {} ({secs:.0}s)",
                task.label,
                status_line(status, *percent)
            )
        }
        Event::WaitedFor { what } => format!("{}: waiting for {what} ({secs:.0}s)", task.label),
        _ => format!("{} …", task.label),
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Without a terminal: one timestamped line per event, repeated polls saying the same
/// status left out.
struct Lines {
    printer: Printer,
    last: Mutex<HashMap<String, String>>,
}

impl Progress for Lines {
    fn event(&self, task: &Task, event: Event<'_>) {
        let line = match ending(&event, task.elapsed()) {
            Some((_, how)) => format!("{}: {how}", task.label),
            None => running(task, &event),
        };
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        // The seconds change with every poll; the status is what is news.
        let news = line.rsplit_once(" (").map_or(line.as_str(), |(s, _)| s);
        if last.get(&task.key).map(String::as_str) == Some(news) {
            return;
        }
        last.insert(task.key.clone(), news.to_string());
        self.printer.note(format!("{}  {line}", now()));
    }
    fn note(&self, line: &str) {
        self.printer.note(format!("{}  {line}", now()));
    }
}

/// At most this many spinners at once; further tasks in flight are counted on one line.
const VISIBLE: usize = 8;

#[derive(Default)]
struct Bars {
    shown: HashMap<String, ProgressBar>,
    hidden: HashSet<String>,
}

struct Spinners {
    multi: MultiProgress,
    state: Mutex<Bars>,
    /// "… and N more in flight", below the spinners.
    more: ProgressBar,
}

impl Spinners {
    fn count(&self, bars: &Bars) {
        self.more.set_message(match bars.hidden.len() {
            0 => String::new(),
            n => format!("… and {n} more in flight"),
        });
    }

    /// The task's spinner, made on its first event; `None` when it is counted instead.
    fn bar(&self, bars: &mut Bars, task: &Task) -> Option<ProgressBar> {
        if let Some(bar) = bars.shown.get(&task.key) {
            return Some(bar.clone());
        }
        if bars.hidden.contains(&task.key) || bars.shown.len() >= VISIBLE {
            bars.hidden.insert(task.key.clone());
            self.count(bars);
            return None;
        }
        let bar = self
            .multi
            .insert_before(&self.more, ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bars.shown.insert(task.key.clone(), bar.clone());
        Some(bar)
    }
}

impl Progress for Spinners {
    fn event(&self, task: &Task, event: Event<'_>) {
        let mut bars = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some((mark, how)) = ending(&event, task.elapsed()) else {
            if let Some(bar) = self.bar(&mut bars, task) {
                bar.set_message(running(task, &event));
            }
            return;
        };
        let line = format!("{mark} {}: {how}", task.label);
        if let Some(bar) = bars.shown.remove(&task.key) {
            if let Ok(style) = ProgressStyle::with_template("{msg}") {
                bar.set_style(style);
            }
            bar.finish_with_message(line);
        } else {
            bars.hidden.remove(&task.key);
            self.count(&bars);
            if !matches!(event, Event::Finished) {
                let _ = self.multi.println(line);
            }
        }
    }
    fn note(&self, line: &str) {
        let _ = self.multi.println(line);
    }
}
