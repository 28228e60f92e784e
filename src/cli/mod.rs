//! Command-line wiring: clap types (`args`), settings resolution (`settings`), one file per
//! command, and the single place where outcomes become exit codes.
//!
//! The only wiring layer: it may import every other module; nothing imports it but `main`.

mod apply;
mod args;
mod ci;
mod completions;
mod confirm;
mod drill;
mod export;
mod failover;
mod graph;
mod man;
mod plan;
mod printer;
mod progress;
mod recovery_points;
mod restore;
mod restore_drill;
mod restore_files;
mod sandbox;
mod schema;
mod settings;
mod show;
mod snapshot;
mod status;
mod validate;

use args::{Cli, Command};
use clap::Parser;
use printer::Printer;
use settings::GlobalSettings;
use std::process::ExitCode;

/// Exit codes: 0 success / no changes, 2 changes present (`--detailed-exitcode`), 1 error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    Changes,
    /// `plan --detailed-exitcode`: changes, some of which apply would refuse (blocked).
    Blocked,
    Failure,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        match s {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Changes => ExitCode::from(2),
            ExitStatus::Blocked => ExitCode::from(3),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = GlobalSettings::resolve(&cli);
    install_handlers(&settings);
    let printer = Printer {
        color: settings.color,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli.command, &settings, printer));
    match result {
        Ok(status) => status.into(),
        Err(report) => {
            eprintln!("{report:?}");
            // The error, its causes, and the errors it gathers (each a line of the annotation).
            let mut message: Vec<String> = vec![report
                .chain()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(": ")];
            if let Some(related) = report.related() {
                message.extend(related.map(ToString::to_string));
            }
            if let Some(line) = ci::Ci::detect().error(None, &message.join("\n")) {
                eprintln!("{line}");
            }
            ExitCode::from(1)
        }
    }
}

async fn run(
    command: Command,
    settings: &GlobalSettings,
    printer: Printer,
) -> miette::Result<ExitStatus> {
    match command {
        Command::Validate(files) => validate::validate(files, settings, printer),
        Command::Plan(args) => plan::plan(args, settings, printer).await,
        Command::Apply(args) => apply::apply(args, settings, printer).await,
        Command::Show(args) => show::show(args, printer),
        Command::Graph(args) => graph::graph(args, settings, printer),
        Command::Schema => schema::schema(printer),
        Command::Drill(args) => drill::drill(args, settings, printer).await,
        Command::Failover(args) => failover::failover(args, settings, printer).await,
        Command::Commit(args) => {
            failover::run(args, failover::Kind::Commit, settings, printer).await
        }
        Command::Reprotect(args) => {
            failover::run(args, failover::Kind::Reprotect, settings, printer).await
        }
        Command::Failback(args) => {
            failover::run(args, failover::Kind::Failback, settings, printer).await
        }
        Command::RecoveryPoints(args) => {
            recovery_points::recovery_points(args, settings, printer).await
        }
        Command::Restore(args) => restore::restore(args, settings, printer).await,
        Command::RestoreDrill(args) => restore_drill::restore_drill(args, settings, printer).await,
        Command::Status(args) => status::status(args, settings, printer).await,
        Command::Export(args) => export::export(args, settings, printer).await,
        Command::Snapshot(cmd) => snapshot::snapshot(cmd, settings, printer).await,
        Command::Sandbox(cmd) => sandbox::sandbox(cmd, printer).await,
        Command::Completions(args) => completions::completions(args, printer),
        Command::Man(args) => man::man(args, printer),
    }
}

/// miette's report style (colour follows `--color` / `NO_COLOR` on stderr) and tracing logs
/// (`AZPROTECT_LOG=debug`).
fn install_handlers(settings: &GlobalSettings) {
    use is_terminal::IsTerminal;
    let color = settings.color
        || (std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal());
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .width(100)
                .build(),
        )
    }));
    let filter = tracing_subscriber::EnvFilter::try_from_env("AZPROTECT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // CI logs get plain text, as for the diagnostics.
        .with_ansi(color && is_terminal::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
