//! The command line's own checks: durations as Terraform writes them, and help for every
//! argument.

mod duration_tests {
    use super::super::parse_duration;
    use std::time::Duration;

    #[test]
    fn lock_timeouts_read_as_terraform_writes_them() {
        for (s, secs) in [
            ("0s", 0),
            ("90", 90),
            ("30s", 30),
            ("10m", 600),
            ("1h", 3600),
            ("1m30s", 90),
        ] {
            assert_eq!(parse_duration(s), Ok(Duration::from_secs(secs)), "{s}");
        }
        for bad in ["", "ten", "10x", "m", "5m3", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}

mod help_tests {
    use super::super::Cli;
    use clap::CommandFactory;

    /// Every argument of every command, nested ones included, says what it is for: a flag added
    /// without a `///` line fails here. clap's own `--help` and `--version` are exempt.
    #[test]
    fn every_argument_of_every_command_has_a_help_line() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let help = arg
                    .get_help()
                    .or(arg.get_long_help())
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if help.trim().is_empty() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() == "help" {
                    continue;
                }
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (the command itself)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&cmd, "azprotect", &mut missing);
        assert!(
            missing.is_empty(),
            "arguments without a help line:\n  {}",
            missing.join("\n  ")
        );
    }
}
