//! Shared end-to-end harness: a sandbox over real HTTPS in this process, and the real
//! `azprotect` binary pointed at it through the ordinary (non-sandbox) environment variables —
//! the same path a user's CI takes against `azprotect sandbox serve`.
#![allow(dead_code)]

use azprotect::azure::{ArmClient, AuthChoice, ClientSettings, EnvCredentials};
use azprotect::sandbox::{Sandbox, SandboxOptions};
use std::path::PathBuf;
use std::process::Output;

pub struct Estate {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// The repository root (examples live there).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Estate {
    /// A fresh sandbox seeded with the demo inventory (matches examples/quickstart.yaml).
    pub async fn start() -> Estate {
        Estate::start_with(SandboxOptions::default()).await
    }

    pub async fn start_with(opts: SandboxOptions) -> Estate {
        Estate::start_in(opts, tempfile::tempdir().expect("temp dir")).await
    }

    /// A fresh sandbox seeded with the inventory `text`, started with `opts` (the inventory
    /// seeds the state when the sandbox starts; its file is not read again).
    pub async fn with_inventory(text: &str, opts: SandboxOptions) -> Estate {
        let dir = tempfile::tempdir().expect("temp dir");
        let inv = dir.path().join("inventory.yaml");
        std::fs::write(&inv, text).expect("write the inventory");
        Estate::start_with(SandboxOptions {
            inventory: Some(inv),
            ..opts
        })
        .await
    }

    /// The same estate — its state, files and directory — on a sandbox started anew with
    /// `opts` (e.g. with faults that were not there when it was applied).
    pub async fn restart(self, opts: SandboxOptions) -> Estate {
        let Estate { sandbox, dir, .. } = self;
        sandbox.shutdown().await;
        Estate::start_in(opts, dir).await
    }

    async fn start_in(mut opts: SandboxOptions, dir: tempfile::TempDir) -> Estate {
        opts.state = Some(dir.path().join("state.json"));
        let sandbox = Sandbox::start(opts).await.expect("sandbox starts");
        let ca = dir.path().join("sandbox-ca.pem");
        std::fs::write(&ca, sandbox.ca_cert_pem()).expect("write CA");
        let c = sandbox.credentials();
        let env = vec![
            ("AZURE_TENANT_ID".into(), c.tenant_id.clone()),
            ("AZURE_CLIENT_ID".into(), c.client_id.clone()),
            ("AZURE_CLIENT_SECRET".into(), c.client_secret.clone()),
            ("AZURE_AUTHORITY_HOST".into(), sandbox.endpoint()),
            ("AZURE_SUBSCRIPTION_ID".into(), c.subscription_id.clone()),
            ("AZPROTECT_ARM_ENDPOINT".into(), sandbox.endpoint()),
            ("AZPROTECT_CA_CERT".into(), ca.display().to_string()),
            (
                "AZPROTECT_POLL_INTERVAL_MS".into(),
                sandbox.poll_interval().as_millis().to_string(),
            ),
        ];
        Estate { sandbox, dir, env }
    }

    /// Run the real binary against this sandbox.
    pub async fn run(&self, args: &[&str]) -> Run {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        run_binary(&env, args).await
    }

    /// `plan -f file --detailed-exitcode` exits 0: Azure matches the file (an apply converged).
    pub async fn expect_no_changes(&self, file: &str) {
        self.run(&["plan", "-f", file, "--detailed-exitcode"])
            .await
            .expect_code(0);
    }

    /// Run the real binary, which must fail (exit 1): its error, line wrapping undone
    /// ([`flat`]).
    pub async fn refused(&self, args: &[&str]) -> String {
        let run = self.run(args).await;
        run.expect_code(1);
        flat(&run.stderr)
    }

    /// `plan -f file <extra…> --format json` (the run: its exit code, and `json()`).
    pub async fn plan_json(&self, file: &str, extra: &[&str]) -> Run {
        let mut args = vec!["plan", "-f", file];
        args.extend_from_slice(extra);
        args.extend(["--format", "json"]);
        self.run(&args).await
    }

    /// Run the real binary against this sandbox with `extra` variables on top
    /// (`GITHUB_ACTIONS=true`).
    pub async fn run_env(&self, extra: &[(&str, &str)], args: &[&str]) -> Run {
        let mut env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.extend_from_slice(extra);
        run_binary(&env, args).await
    }

    /// The variables that point the binary at this sandbox (endpoint, CA, credentials).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// An ARM client of our own, for changes made "behind azprotect's back".
    pub async fn client(&self) -> ArmClient {
        let c = self.sandbox.credentials();
        ArmClient::new(ClientSettings {
            arm_endpoint: Some(self.sandbox.endpoint()),
            authority_host: Some(self.sandbox.endpoint()),
            ca_cert_pem: Some(self.sandbox.ca_cert_pem().into_bytes()),
            auth: AuthChoice::ClientSecret,
            lro: azprotect::azure::LroPolicy::default().polling_every(self.sandbox.poll_interval()),
            credentials: EnvCredentials {
                tenant_id: Some(c.tenant_id),
                client_id: Some(c.client_id),
                client_secret: Some(c.client_secret),
                ..EnvCredentials::default()
            },
            ..ClientSettings::default()
        })
        .await
        .expect("client")
    }

    /// Write a configuration file into the temp dir and return its path.
    pub fn write(&self, name: &str, yaml: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, yaml).expect("write config");
        p.display().to_string()
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// Run the real binary against any sandbox through its environment (`env_vars`), with extra
/// variables on top.
pub async fn run_on(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Run {
    let vars = sb.env_vars();
    let mut all: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(env);
    run_binary(&all, args).await
}

/// The real binary with exactly `env` (no in-process sandbox, no colour).
async fn run_binary(env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("azprotect").expect("binary built");
    cmd.current_dir(repo())
        .env_remove("AZPROTECT_SANDBOX")
        // Our own CI may be GitHub Actions: workflow commands only where a test asks for them.
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .args(args)
        .write_stdin("");
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("binary runs"))
        .await
        .expect("join");
    Run::from(out)
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// `address action` of every change of a JSON plan.
    /// The JSON plan's change at `address`; panics with `why` when the plan has none.
    pub fn change(&self, address: &str, why: &str) -> serde_json::Value {
        self.json()["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .find(|c| c["address"] == address)
            .cloned()
            .unwrap_or_else(|| panic!("{why}: {}", self.stdout))
    }

    pub fn changes(&self) -> Vec<String> {
        self.json()["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["address"].as_str().unwrap(),
                    c["action"].as_str().unwrap()
                )
            })
            .collect()
    }
}

/// stderr with miette's line wrapping undone (a line broken after a hyphen joins without a
/// space).
pub fn flat(stderr: &str) -> String {
    let mut out = String::new();
    for l in stderr.lines() {
        let l = l.trim_start().trim_start_matches('│').trim();
        if !out.is_empty() && !out.ends_with('-') {
            out.push(' ');
        }
        out.push_str(l);
    }
    out
}

pub fn quickstart() -> String {
    repo()
        .join("examples/quickstart.yaml")
        .display()
        .to_string()
}

/// The text of `examples/<name>`.
/// `examples/multi-vault.yaml`: two regions, two subscriptions.
pub fn multi_vault() -> String {
    repo()
        .join("examples/multi-vault.yaml")
        .display()
        .to_string()
}

/// A sandbox holding the multi-vault example's estate (its inventory).
pub async fn multi_vault_estate() -> Estate {
    multi_vault_estate_with(SandboxOptions::default()).await
}

/// The multi-vault estate on a sandbox started with `options` (its inventory replaced).
pub async fn multi_vault_estate_with(options: SandboxOptions) -> Estate {
    example_estate("multi-vault.yaml", options).await
}

/// A sandbox seeded with `examples/inventories/<inventory>`, started with `options` (their
/// inventory replaced).
pub async fn example_estate(inventory: &str, options: SandboxOptions) -> Estate {
    Estate::start_with(SandboxOptions {
        inventory: Some(repo().join("examples/inventories").join(inventory)),
        ..options
    })
    .await
}

pub fn read_example(name: &str) -> String {
    let path = repo().join("examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn read_quickstart() -> String {
    read_example("quickstart.yaml")
}

/// A fresh sandbox started with `opts`, with `yaml` written to `name` and applied
/// (`apply -f <name> --auto-approve`, exit 0); the estate and the file's path.
pub async fn applied(opts: SandboxOptions, name: &str, yaml: &str) -> (Estate, String) {
    let estate = Estate::start_with(opts).await;
    let path = estate.write(name, yaml);
    estate
        .run(&["apply", "-f", &path, "--auto-approve"])
        .await
        .expect_code(0);
    (estate, path)
}

/// "Backup now" of a protected item, as the portal and `az backup protection backup-now` do.
pub async fn backup_now(client: &ArmClient, item: &str) {
    client
        .execute(&azprotect::request::ArmRequest::new(
            azprotect::request::Method::Post,
            format!("{item}/backup?api-version=2026-01-01"),
            Some(serde_json::json!({"properties": {"objectType": "IaasVMBackupRequest"}})),
        ))
        .await
        .expect("backup now");
}

/// A resource group in West Europe with these tags (the sandbox's story tags among them).
pub async fn tagged_group(client: &ArmClient, id: &str, tags: serde_json::Value) {
    client
        .execute(&azprotect::request::ArmRequest::new(
            azprotect::request::Method::Put,
            format!("{id}?api-version=2021-04-01"),
            Some(serde_json::json!({"location": "westeurope", "tags": tags})),
        ))
        .await
        .expect("the group is created");
}

/// The requests a sandbox logged to `log` so far (`SandboxOptions::access_log`), one JSON
/// object each.
pub fn logged(log: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(log).unwrap();
    (text.lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The paths of the requests in a sandbox's access log.
pub fn logged_paths(log: &std::path::Path) -> Vec<String> {
    (logged(log).iter())
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect()
}
