//! `azprotect sandbox init|serve`.

use super::args::{SandboxCommand, ThrottleArg};
use super::printer::Printer;
use super::ExitStatus;
use crate::sandbox::{self, Sandbox, SandboxOptions};
use miette::{IntoDiagnostic, Result};

pub async fn sandbox(cmd: SandboxCommand, printer: Printer) -> Result<ExitStatus> {
    match cmd {
        SandboxCommand::Init { inventory, state } => {
            sandbox::init(&inventory, &state)?;
            printer.line(format!(
                "Sandbox state {} created from {}.",
                state.display(),
                inventory.display()
            ));
        }
        SandboxCommand::Serve(a) => {
            // The client secret goes to a file only its owner reads, never to stdout (CI logs).
            let env_file = a.env_file.clone().unwrap_or_else(|| {
                let beside = a.state.with_extension("env");
                // Never the state itself (a state file named `*.env`).
                if beside == a.state {
                    a.state.with_extension("client.env")
                } else {
                    beside
                }
            });
            // Printed as a path that works from any directory.
            let env_file = std::path::absolute(&env_file).unwrap_or(env_file);
            let sb = Sandbox::start(SandboxOptions {
                state: Some(a.state),
                inventory: a.inventory,
                listen: a.listen,
                latency: a.latency,
                faults: a.faults,
                time_scale: a.time_scale,
                throttle: a.throttle == ThrottleArg::Arm,
                access_log: a.access_log,
                env_file: Some(env_file.clone()),
                strict_api_versions: a.strict_api_versions,
                ..SandboxOptions::default()
            })
            .await?;
            printer.line(format!("Sandbox listening on {}", sb.endpoint()));
            for (k, v) in sb.env_vars() {
                if k != "AZURE_CLIENT_SECRET" {
                    printer.line(format!("{k}={v}"));
                }
            }
            printer.line(format!(
                "AZURE_CLIENT_SECRET and the rest: {} (set -a; . {}; set +a)",
                env_file.display(),
                env_file.display()
            ));
            printer.note("Press Ctrl-C to stop.");
            stop_signal().await?;
            sb.shutdown().await;
        }
    }
    Ok(ExitStatus::Success)
}

/// Ctrl-C, or (Unix) SIGTERM as CI runners send: either way the state is written before exit.
async fn stop_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).into_diagnostic()?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.into_diagnostic(),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.into_diagnostic()
    }
}
