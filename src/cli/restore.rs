//! `azprotect restore ADDRESS --point … (--as-new-vm NAME | --disks-only | --replace-disks |
//! --files … | --as-new-disk NAME) [--secondary-region]`: prepare (check everything), say what
//! it will create, confirm, run, render the result (`--files`: `cli::restore_files`).

use super::args::RestoreArgs;
use super::confirm;
use super::printer::Printer;
use super::progress::terminal;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::ops::restore::{self as op, Destination, Input};
use crate::render::restore as render;
use miette::{miette, Result};

fn need(v: &Option<String>, flag: &str, mode: &str) -> Result<String> {
    v.clone().ok_or_else(|| miette!("{mode} needs {flag}"))
}

fn input(a: &RestoreArgs) -> Result<Input> {
    let destination = if let Some(name) = &a.as_new_disk {
        Destination::NewDisk {
            name: name.clone(),
            resource_group: need(&a.resource_group, "--resource-group", "--as-new-disk")?,
        }
    } else if let Some(name) = &a.as_new_vm {
        Destination::NewVm {
            name: name.clone(),
            resource_group: need(&a.resource_group, "--resource-group", "--as-new-vm")?,
            subnet: need(&a.subnet, "--subnet", "--as-new-vm")?,
            staging: need(
                &a.staging_storage_account,
                "--staging-storage-account",
                "--as-new-vm",
            )?,
        }
    } else if a.disks_only {
        Destination::Disks {
            resource_group: need(&a.resource_group, "--resource-group", "--disks-only")?,
            staging: need(
                &a.staging_storage_account,
                "--staging-storage-account",
                "--disks-only",
            )?,
        }
    } else {
        Destination::ReplaceDisks {
            allow_overwrite: a.allow_overwrite,
            staging: need(
                &a.staging_storage_account,
                "--staging-storage-account",
                "--replace-disks",
            )?,
        }
    };
    Ok(Input {
        address: a.address.clone(),
        files: a.files.clone(),
        point: a.point.clone().unwrap_or(op::PointChoice::Latest),
        destination,
        disks: a.disks.clone(),
        secondary_region: a.secondary_region,
    })
}

pub async fn restore(
    args: RestoreArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    if args.file_recovery {
        return super::restore_files::restore_files(args, settings, printer).await;
    }
    let input = input(&args)?;
    Session::with(settings, async |s| {
        let sub = s.default_subscription.as_deref();
        let prepared = op::prepare(&s.client, sub, &input).await?;
        let ask = confirm::Ask {
            subject: "a restore",
            unattended: "restore",
            steps: &prepared.will,
            question: "Do you want to restore? Only 'yes' is accepted:",
        };
        let replacing = matches!(input.destination, Destination::ReplaceDisks { .. });
        let agreed = if args.auto_approve {
            true
        } else if replacing {
            let vm = prepared.source_vm.name().to_string();
            let question =
                format!("This overwrites the disks of {vm}. Type the VM's name to go on:");
            confirm::confirm_typed(
                printer,
                confirm::Ask {
                    question: &question,
                    ..ask
                },
                &vm,
            )?
        } else {
            confirm::confirm(printer, ask)?
        };
        if !agreed {
            printer.line("Restore cancelled.");
            return Ok(ExitStatus::Failure);
        }
        let progress = terminal(printer);
        let restored = op::run(&s.client, &prepared, progress.as_ref()).await?;
        printer.report(
            args.format,
            &restored,
            [render::text, render::markdown, render::json],
        )?;
        Ok(if restored.status.succeeded() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    })
    .await
}
