//! The terminal's [`Progress`]: indicatif spinners on a TTY (at most [`VISIBLE`] at once, the
//! rest counted on one line), Terraform-style lines on stderr otherwise ([`Lines`], for CI logs). Every command that
//! runs long work (apply, failover, drill, snapshot, waits) reports through this one.

use super::ci::Ci;
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
        Arc::new(Lines::new(Ci::detect(), move |line| printer.note(line)))
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

/// A duration as Terraform prints it: `4s`, `1m20s`, `2h3m`.
fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// A running task's status line is repeated at most this often when it does not change.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// The last line shown for a running task: its status, and when (the task's elapsed time).
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    status: String,
    at: Duration,
}

/// Whether a running task's `status` at `now` is news after `last`: a changed status, or the
/// same one [`HEARTBEAT`] after it was last shown.
fn is_news(last: Option<&Shown>, status: &str, now: Duration) -> bool {
    match last {
        None => true,
        Some(l) => l.status != status || now.saturating_sub(l.at) >= HEARTBEAT,
    }
}

/// "still creating…" for a task labelled "creating …", "still running…" otherwise.
fn still(label: &str) -> String {
    match label.split_whitespace().next() {
        Some(verb) if verb.ends_with("ing") => format!("still {verb}…"),
        _ => "still running…".into(),
    }
}

/// A running task's status, the part of its CI line that is news ("" before Azure says one).
fn status_of(event: &Event<'_>) -> Option<String> {
    match event {
        Event::Progressed { status, percent } => Some(status_line(status, *percent)),
        Event::WaitedFor { what } => Some(format!("waiting for {what}")),
        _ => None,
    }
}

/// Without a terminal (a CI log): Terraform-style lines, one when a task starts, when its
/// status changes (or every [`HEARTBEAT`] at most while it runs), and when it ends —
/// `creating protected_vm.v/rg/vm…`, `…: InProgress [1s elapsed]`, `…: still creating… [11s elapsed]`,
/// `…: done after 4s`, `…: FAILED after 3s: <error>`. Under GitHub Actions a failure is also an
/// `::error title=…::` annotation.
pub(crate) struct Lines {
    out: Box<dyn Fn(&str) + Send + Sync>,
    ci: Ci,
    shown: Mutex<HashMap<String, Shown>>,
}

impl Lines {
    pub(crate) fn new(ci: Ci, out: impl Fn(&str) + Send + Sync + 'static) -> Lines {
        Lines {
            out: Box::new(out),
            ci,
            shown: Mutex::new(HashMap::new()),
        }
    }

    /// The lines for `event` of a task that has run for `took`.
    fn lines(&self, task: &Task, event: &Event<'_>, took: Duration) -> Vec<String> {
        let label = &task.label;
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Started => {
                shown.remove(&task.key);
                vec![format!("{label}…")]
            }
            Event::Progressed { .. } | Event::WaitedFor { .. } => {
                let status = status_of(event).unwrap_or_default();
                let last = shown.get(&task.key);
                if !is_news(last, &status, took) {
                    return vec![];
                }
                // A new status is shown as such; the same one again is a heartbeat.
                let said = match last {
                    Some(l) if l.status == status => still(label),
                    _ => status.clone(),
                };
                shown.insert(task.key.clone(), Shown { status, at: took });
                vec![format!("{label}: {said} [{} elapsed]", elapsed(took))]
            }
            Event::Finished => {
                shown.remove(&task.key);
                vec![format!("{label}: done after {}", elapsed(took))]
            }
            Event::Skipped { because } => {
                shown.remove(&task.key);
                vec![format!("{label}: skipped ({because})")]
            }
            Event::Failed { error } => {
                shown.remove(&task.key);
                let mut v = vec![format!("{label}: FAILED after {}: {error}", elapsed(took))];
                v.extend(self.ci.error(Some(&format!("{label} failed")), error));
                v
            }
        }
    }
}

impl Progress for Lines {
    fn event(&self, task: &Task, event: Event<'_>) {
        for line in self.lines(task, &event, task.elapsed()) {
            (self.out)(&line);
        }
    }
    fn note(&self, line: &str) {
        (self.out)(line);
    }
}

/// Another progress, and how long each task took to finish or fail (by its key), for a
/// result that reports durations (`apply --format json`).
pub struct Timed {
    inner: Arc<dyn Progress>,
    took: Mutex<HashMap<String, Duration>>,
}

impl Timed {
    pub fn new(inner: Arc<dyn Progress>) -> Timed {
        Timed {
            inner,
            took: Mutex::new(HashMap::new()),
        }
    }

    /// How long the task `key` ran, once it finished or failed.
    pub fn took(&self, key: &str) -> Option<Duration> {
        self.took
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }
}

impl Progress for Timed {
    fn event(&self, task: &Task, event: Event<'_>) {
        if matches!(event, Event::Finished | Event::Failed { .. }) {
            self.took
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(task.key.clone(), task.elapsed());
        }
        self.inner.event(task, event);
    }
    fn note(&self, line: &str) {
        self.inner.note(line);
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
            // A change counted instead of shown still leaves its line, as a shown one does.
            bars.hidden.remove(&task.key);
            self.count(&bars);
            let _ = self.multi.println(line);
        }
    }
    fn note(&self, line: &str) {
        let _ = self.multi.println(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(ci: Ci) -> (Lines, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let l = Lines::new(ci, move |line| sink.lock().unwrap().push(line.to_string()));
        (l, seen)
    }

    fn at(l: &Lines, task: &Task, event: Event<'_>, secs: u64) -> Vec<String> {
        l.lines(task, &event, Duration::from_secs(secs))
    }

    #[test]
    fn a_change_in_a_ci_log_reads_like_terraform() {
        let (l, _) = lines(Ci::Plain);
        let t = Task::new("protected_vm.rsv/rg/vm", "creating protected_vm.rsv/rg/vm");
        let status = |s| Event::Progressed {
            status: s,
            percent: None,
        };
        let mut log = at(&l, &t, Event::Started, 0);
        log.extend(at(&l, &t, status("InProgress"), 1));
        log.extend(at(&l, &t, status("InProgress"), 5));
        log.extend(at(&l, &t, status("InProgress"), 11));
        log.extend(at(&l, &t, status("Completed"), 12));
        log.extend(at(&l, &t, Event::Finished, 84));
        assert_eq!(
            log,
            [
                "creating protected_vm.rsv/rg/vm…",
                "creating protected_vm.rsv/rg/vm: in progress [1s elapsed]",
                "creating protected_vm.rsv/rg/vm: still creating… [11s elapsed]",
                "creating protected_vm.rsv/rg/vm: completed [12s elapsed]",
                "creating protected_vm.rsv/rg/vm: done after 1m24s",
            ]
        );
    }

    #[test]
    fn a_failure_is_a_line_and_under_github_actions_an_annotation_naming_the_change() {
        let t = Task::new("protected_vm.rsv/rg/vm", "creating protected_vm.rsv/rg/vm");
        let failed = || Event::Failed {
            error: "Conflict: busy\nretry",
        };
        let (plain, _) = lines(Ci::Plain);
        assert_eq!(
            at(&plain, &t, failed(), 3),
            ["creating protected_vm.rsv/rg/vm: FAILED after 3s: Conflict: busy\nretry"]
        );
        let (gh, seen) = lines(Ci::GitHub);
        gh.event(&t, failed());
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen.last().map(String::as_str),
            Some("::error title=creating protected_vm.rsv/rg/vm failed::Conflict: busy%0Aretry")
        );
    }

    #[test]
    fn other_tasks_say_still_running_and_what_they_wait_for() {
        let (l, _) = lines(Ci::Plain);
        let t = Task::named("test failover");
        assert_eq!(
            at(&l, &t, Event::WaitedFor { what: "the job" }, 70),
            ["test failover: waiting for the job [1m10s elapsed]"]
        );
        assert_eq!(
            at(&l, &t, Event::WaitedFor { what: "the job" }, 80),
            ["test failover: still running… [1m20s elapsed]"]
        );
        assert_eq!(
            at(
                &l,
                &t,
                Event::Skipped {
                    because: "x did not apply"
                },
                71
            ),
            ["test failover: skipped (x did not apply)"]
        );
    }

    #[test]
    fn durations_read_as_terraform_prints_them() {
        assert_eq!(elapsed(Duration::from_millis(400)), "0s");
        assert_eq!(elapsed(Duration::from_secs(59)), "59s");
        assert_eq!(elapsed(Duration::from_secs(3600 + 180)), "1h3m");
    }
}
