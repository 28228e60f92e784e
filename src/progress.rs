//! Progress: how long-running work tells the user where it stands — one trait for apply,
//! failover, drills, snapshots and waits.
//!
//! Owns: [`Progress`] (the events: started, progressed, waited-for, finished, skipped, failed),
//! [`Task`] (what an event is about), [`Recorder`] (the implementation tests assert on) and
//! [`Silent`]. The terminal implementation (indicatif spinners, plain lines without a terminal)
//! lives in `cli::progress`.
//!
//! Must not import: `apply`, `azure`, `cli`, `config`, `drill`, `failover`, `graph`, `live`,
//! `model`, `ops`, `plan`, `render`, `request`, `sandbox` (every layer that works reports
//! through it).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One piece of work that progress is reported about: a change, a failover step, a wait.
#[derive(Debug, Clone)]
pub struct Task {
    /// Unique among the tasks running at once (an address, a step name).
    pub key: String,
    /// What the user reads: "creating protected_vm.v/rg/vm", "test failover".
    pub label: String,
    started: Instant,
}

impl Task {
    pub fn new(key: impl Into<String>, label: impl Into<String>) -> Task {
        Task {
            key: key.into(),
            label: label.into(),
            started: Instant::now(),
        }
    }

    /// A task whose key is its label.
    pub fn named(label: impl Into<String>) -> Task {
        let label = label.into();
        Task::new(label.clone(), label)
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// What happened to a task.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    Started,
    /// Azure reported a status (and perhaps a percentage) while the task runs.
    Progressed {
        status: &'a str,
        percent: Option<f64>,
    },
    /// The task waits for something outside it (initial replication, a role to propagate).
    WaitedFor {
        what: &'a str,
    },
    Finished,
    /// Not attempted; `because` says why ("protected_vm.… did not apply").
    Skipped {
        because: &'a str,
    },
    Failed {
        error: &'a str,
    },
}

/// Where progress goes. Implementations must be cheap: events arrive from many tasks at once.
pub trait Progress: Send + Sync {
    fn event(&self, task: &Task, event: Event<'_>);
    /// A line that belongs to no task (a warning, what is being read).
    fn note(&self, line: &str);
}

/// Hears nothing.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Task, _: Event<'_>) {}
    fn note(&self, _: &str) {}
}

/// An event as [`Recorder`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Started(String),
    Progressed(String, String),
    WaitedFor(String, String),
    Finished(String),
    Skipped(String, String),
    Failed(String, String),
    Note(String),
}

/// Keeps every event, in order, for tests to assert on.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<Recorded>>,
}

impl Recorder {
    pub fn events(&self) -> Vec<Recorded> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Progress for Recorder {
    fn event(&self, task: &Task, event: Event<'_>) {
        let key = task.key.clone();
        let recorded = match event {
            Event::Started => Recorded::Started(key),
            Event::Progressed { status, .. } => Recorded::Progressed(key, status.into()),
            Event::WaitedFor { what } => Recorded::WaitedFor(key, what.into()),
            Event::Finished => Recorded::Finished(key),
            Event::Skipped { because } => Recorded::Skipped(key, because.into()),
            Event::Failed { error } => Recorded::Failed(key, error.into()),
        };
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(recorded);
    }
    fn note(&self, line: &str) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Recorded::Note(line.into()));
    }
}

/// Run `work` as `task`: started, then finished or failed with the error it returns.
pub async fn track<T, E: std::fmt::Display>(
    progress: &dyn Progress,
    task: &Task,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    progress.event(task, Event::Started);
    let result = work.await;
    match &result {
        Ok(_) => progress.event(task, Event::Finished),
        Err(e) => progress.event(
            task,
            Event::Failed {
                error: &e.to_string(),
            },
        ),
    }
    result
}

/// A status and percentage as one phrase a person reads: "in progress 40%", "initial
/// replication 45%" (Azure's `CamelCase` status names become words).
pub fn status_line(status: &str, percent: Option<f64>) -> String {
    let status = plain_words(status);
    match percent {
        Some(p) => format!("{status} {p:.0}%"),
        None => status,
    }
}

/// Azure's `CamelCase` names as lower-case words ("InProgress" → "in progress"); anything
/// already in words (with a space) or not a plain name is kept as it is.
pub fn plain_words(name: &str) -> String {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return name.to_string();
    }
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorder_keeps_events_in_order_by_task() {
        let r = Recorder::default();
        let t = Task::new("a", "creating a");
        r.event(&t, Event::Started);
        r.event(
            &t,
            Event::Progressed {
                status: "InProgress",
                percent: Some(40.0),
            },
        );
        r.note("reading");
        r.event(&t, Event::Failed { error: "boom" });
        assert_eq!(
            r.events(),
            vec![
                Recorded::Started("a".into()),
                Recorded::Progressed("a".into(), "InProgress".into()),
                Recorded::Note("reading".into()),
                Recorded::Failed("a".into(), "boom".into()),
            ]
        );
    }

    #[tokio::test]
    async fn tracked_work_is_started_then_finished_or_failed() {
        let r = Recorder::default();
        let ok: Result<u8, String> = track(&r, &Task::named("a"), async { Ok(1) }).await;
        let bad: Result<u8, String> =
            track(&r, &Task::named("b"), async { Err("refused".to_string()) }).await;
        assert_eq!((ok, bad), (Ok(1), Err("refused".to_string())));
        assert_eq!(
            r.events(),
            vec![
                Recorded::Started("a".into()),
                Recorded::Finished("a".into()),
                Recorded::Started("b".into()),
                Recorded::Failed("b".into(), "refused".into()),
            ]
        );
    }

    #[test]
    fn a_status_line_shows_the_percentage_only_when_known() {
        assert_eq!(status_line("InProgress", Some(39.6)), "in progress 40%");
        assert_eq!(status_line("Succeeded", None), "succeeded");
        assert_eq!(
            status_line("initial replication", Some(45.0)),
            "initial replication 45%"
        );
        assert_eq!(
            plain_words("UnprotectedStatesBegin"),
            "unprotected states begin"
        );
        assert_eq!(plain_words("Enabling protection"), "Enabling protection");
        assert_eq!(status_line("Running", None), "running");
    }
}
