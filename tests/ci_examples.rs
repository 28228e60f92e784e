//! The CI examples under `examples/ci/` cannot rot: each is parsed, no script lets the runner
//! substitute an expression into code, every azprotect command line in them parses, and their
//! scripts run in bash against the sandbox in the environment a runner gives them (OIDC from a
//! local token issuer, `gh` and `curl` stubbed) — a pull request's plan on a fresh estate,
//! the apply on merge, the next pull request's empty plan, and a blocked plan failing the job.

#[path = "ci_examples/runner.rs"]
mod runner;
mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use runner::{Context, Job, JobRun, Runner, System};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::estate::{quickstart, repo, Estate};

const MARKER: &str = "<!-- azprotect-plan -->";

/// Every example pipeline (each `*.yml` of the two directories: a new one cannot be missed).
fn examples() -> Vec<(System, PathBuf)> {
    let mut out = Vec::new();
    for (dir, system) in [
        ("github-actions", System::GitHub),
        ("azure-pipelines", System::AzurePipelines),
    ] {
        let dir = repo().join("examples/ci").join(dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yml"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (system, f)));
    }
    assert!(out.len() >= 6, "{out:?}");
    out
}

fn scripts(system: System, doc: &Value) -> Vec<String> {
    runner::jobs(system, doc)
        .into_iter()
        .flat_map(|j| j.steps)
        .filter_map(|s| s.script)
        .collect()
}

#[test]
fn no_example_script_lets_the_runner_substitute_an_expression_into_code() {
    for (system, path) in examples() {
        let doc = runner::load(&path);
        let scripts = scripts(system, &doc);
        assert!(scripts.len() >= 2, "{}: scripts found", path.display());
        for script in scripts {
            let found = runner::substituted_expressions(system, &script);
            assert!(
                found.is_empty(),
                "{}: pass {found:?} through env:, not into the script:\n{script}",
                path.display()
            );
        }
    }
}

#[test]
fn every_azprotect_command_line_in_the_examples_parses() {
    let mut checked = 0;
    for (system, path) in examples() {
        for script in scripts(system, &runner::load(&path)) {
            for mut args in runner::azprotect_commands(&script) {
                // A value the runner fills in stands as VALUE; a flag that checks its value's
                // form gets a well-formed one.
                for i in 1..args.len() {
                    if args[i - 1] == "--shard" && args[i] == "VALUE" {
                        args[i] = "1/4".into();
                    }
                }
                // Parsing stops at the first bad argument; `--help` at the end prints help only
                // when everything before it parsed.
                let out = assert_cmd::Command::cargo_bin("azprotect")
                    .expect("binary")
                    .args(&args)
                    .arg("--help")
                    .env_remove("GITHUB_ACTIONS")
                    .output()
                    .expect("runs");
                assert!(
                    out.status.success(),
                    "{}: `azprotect {}` does not parse:\n{}",
                    path.display(),
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} azprotect command lines found"
    );
}

/// A JWT as an identity provider issues it (header, claims, signature), for the sandbox's
/// token endpoint, which reads its audience and expiry.
fn jwt(subject: &str) -> String {
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    format!(
        "{}.{}.c2ln",
        part(json!({"alg": "RS256", "typ": "JWT"})),
        part(
            json!({"aud": "api://AzureADTokenExchange", "iss": "https://token.actions.githubusercontent.com", "sub": subject, "exp": exp})
        )
    )
}

/// GitHub's ID-token endpoint for a job with `id-token: write`: answers
/// `GET …&audience=api://AzureADTokenExchange` with `Authorization: bearer <request token>`.
struct TokenIssuer {
    url: String,
    requests: Arc<AtomicUsize>,
}

const REQUEST_TOKEN: &str = "gh-request-token";

impl TokenIssuer {
    fn start() -> TokenIssuer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/_apis/idtoken?api-version=2.0",
            listener.local_addr().unwrap()
        );
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut request = String::new();
                let mut authorized = false;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    if request.is_empty() {
                        request = line.clone();
                    }
                    authorized |= line
                        .to_ascii_lowercase()
                        .starts_with(&format!("authorization: bearer {REQUEST_TOKEN}"));
                    line.clear();
                }
                let audience = request.contains("audience=api%3A%2F%2FAzureADTokenExchange")
                    || request.contains("audience=api://AzureADTokenExchange");
                let (status, body) = if authorized && audience {
                    count.fetch_add(1, Ordering::SeqCst);
                    ("200 OK", json!({"value": jwt("repo:o/r:pull_request")}))
                } else {
                    (
                        "403 Forbidden",
                        json!({"message": "bad request token or audience"}),
                    )
                };
                let body = body.to_string();
                let _ = write!(
                    &stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenIssuer { url, requests }
    }
}

/// A runner's machine: a workspace with the repository's `azprotect.yaml`, a PATH with the
/// built binary and the stubs, and the sandbox reached as a real identity would reach Azure.
struct Machine {
    _dir: tempfile::TempDir,
    runner: Runner,
}

fn machine(estate: &Estate, system: System, issuer: &TokenIssuer) -> Machine {
    let dir = tempfile::tempdir().expect("temp dir");
    let workspace = dir.path().join("work");
    let stub_dir = dir.path().join("stubs");
    let bin = dir.path().join("bin");
    for d in [&workspace, &stub_dir, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::copy(quickstart(), workspace.join("azprotect.yaml")).unwrap();
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin("azprotect"),
        bin.join("azprotect"),
    )
    .unwrap();
    for (name, text) in [
        ("gh", runner::GH_STUB),
        ("curl", runner::CURL_STUB),
        ("az", runner::AZ_STUB),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        let mut perms = std::fs::metadata(&p).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&p, perms).unwrap();
    }
    let sandbox: BTreeMap<String, String> = estate.env().iter().cloned().collect();
    let mut env = BTreeMap::new();
    // Where "Azure" is and how to trust it: what `sandbox serve --env-file` gives a pipeline.
    for k in [
        "AZURE_AUTHORITY_HOST",
        "AZPROTECT_ARM_ENDPOINT",
        "AZPROTECT_CA_CERT",
        "AZPROTECT_POLL_INTERVAL_MS",
    ] {
        env.insert(k.to_string(), sandbox[k].clone());
    }
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    env.insert("PATH".into(), path);
    env.insert("HOME".into(), dir.path().display().to_string());
    env.insert("STUB_DIR".into(), stub_dir.display().to_string());
    env.insert("NO_COLOR".into(), "1".into());
    let summary = dir.path().join("step-summary.md");
    let mut context = Context::default();
    let creds = estate.sandbox.credentials();
    match system {
        System::GitHub => {
            env.insert("GITHUB_ACTIONS".into(), "true".into());
            env.insert("GITHUB_REPOSITORY".into(), "o/r".into());
            env.insert("GITHUB_STEP_SUMMARY".into(), summary.display().to_string());
            env.insert("ACTIONS_ID_TOKEN_REQUEST_URL".into(), issuer.url.clone());
            env.insert(
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
                REQUEST_TOKEN.into(),
            );
            for (k, v) in [
                ("vars.AZURE_CLIENT_ID", creds.client_id.clone()),
                ("vars.AZURE_TENANT_ID", creds.tenant_id.clone()),
                ("vars.AZURE_SUBSCRIPTION_ID", creds.subscription_id.clone()),
                ("github.token", "gh-job-token".into()),
                ("github.event.pull_request.number", "7".into()),
                ("runner.os", "Linux".into()),
                ("env.AZPROTECT_REV", "v0.1.0".into()),
                ("steps.reviewed.outputs.plan", String::new()),
            ] {
                context.values.insert(k.into(), v);
            }
        }
        System::AzurePipelines => {
            let agent_tmp = dir.path().join("agent-tmp");
            let pipeline = dir.path().join("pipeline");
            std::fs::create_dir_all(&agent_tmp).unwrap();
            std::fs::create_dir_all(&pipeline).unwrap();
            let token = jwt("sc://org/proj/azprotect-wif");
            for (k, v) in [
                ("TF_BUILD", "True".to_string()),
                ("AGENT_TEMPDIRECTORY", agent_tmp.display().to_string()),
                ("PIPELINE_WORKSPACE", pipeline.display().to_string()),
                ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/org/".into()),
                ("SYSTEM_TEAMPROJECTID", "4f1c2d3e-proj".into()),
                ("BUILD_REPOSITORY_PROVIDER", "TfsGit".into()),
                ("BUILD_REPOSITORY_ID", "repo-id".into()),
                ("SYSTEM_PULLREQUEST_PULLREQUESTID", "7".into()),
                ("BUILD_REASON", "PullRequest".into()),
                ("STUB_ADO_TOKEN", "ado-job-token".into()),
                // What AzureCLI@2 puts in its script's environment (addSpnToEnvironment).
                ("servicePrincipalId", creds.client_id.clone()),
                ("tenantId", creds.tenant_id.clone()),
                ("idToken", token),
                // The subscription of the service connection AzureCLI@2 signed in with.
                ("STUB_AZ_SUBSCRIPTION", creds.subscription_id.clone()),
            ] {
                env.insert(k.into(), v);
            }
            context
                .values
                .insert("System.AccessToken".into(), "ado-job-token".into());
        }
    }
    Machine {
        _dir: dir,
        runner: Runner {
            system,
            workspace,
            stub_dir,
            env,
            context,
        },
    }
}

/// bash and jq, which the examples' scripts (and the stubs) use, as every hosted runner has them:
/// a printed notice without them, a failure in CI.
fn runner_tools(test: &str) -> bool {
    let has = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = has("bash") && has("jq");
    if !ok {
        support::skip_or_fail_in_ci(test, "bash and jq (on every hosted runner)");
    }
    ok
}

fn job(system: System, dir: &str, name: &str) -> Vec<Job> {
    let path = repo().join("examples/ci").join(dir).join(name);
    runner::jobs(system, &runner::load(&path))
}

fn comments(m: &Machine) -> Vec<Value> {
    serde_json::from_str(&m.runner.stub_file("comments.json")).unwrap_or_default()
}

/// The one sticky comment's body.
fn the_comment(m: &Machine) -> String {
    let c = comments(m);
    assert_eq!(c.len(), 1, "one sticky comment: {c:?}");
    c[0]["body"].as_str().unwrap().to_string()
}

fn fresh_workspace_files(m: &Machine) {
    for f in ["plan.json", "plan.md", "merged.json", "result.json"] {
        let _ = std::fs::remove_file(m.runner.workspace.join(f));
    }
}

fn pr_plan(m: &mut Machine, head: &str) -> JobRun {
    fresh_workspace_files(m);
    m.runner.context.values.insert(
        "github.event.pull_request.head.sha".into(),
        head.to_string(),
    );
    m.runner
        .env
        .insert("GITHUB_SHA".into(), format!("merge-of-{head}"));
    let jobs = job(System::GitHub, "github-actions", "plan.yml");
    assert_eq!(jobs.len(), 1);
    m.runner.run(&jobs[0])
}

#[tokio::test(flavor = "multi_thread")]
async fn github_a_pull_requests_plan_is_applied_on_merge_and_a_blocked_plan_fails_the_job() {
    if !runner_tools(
        "github_a_pull_requests_plan_is_applied_on_merge_and_a_blocked_plan_fails_the_job",
    ) {
        return;
    }
    let estate = Estate::start().await;
    let issuer = TokenIssuer::start();
    let mut m = machine(&estate, System::GitHub, &issuer);

    // A pull request adds the quickstart: the job passes (changes are not a failure), the plan
    // is one comment with the marker and kept as an artifact named after the head commit.
    let run = pr_plan(&mut m, "aaa111");
    assert!(run.succeeded, "{}", run.log);
    assert!(
        issuer.requests.load(Ordering::SeqCst) >= 1,
        "authenticated through OIDC"
    );
    let body = the_comment(&m);
    assert!(body.starts_with(MARKER), "{body}");
    assert!(body.contains("8 to create"), "{body}");
    let artifact = m.runner.stub_dir.join("artifacts/azprotect-plan-aaa111");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(artifact.join("plan.json")).unwrap())
            .expect("the artifact is a saved plan");
    assert_eq!(saved["plan"]["changes"].as_array().map(Vec::len), Some(8));

    // Merged: apply.yml finds the pull request of the merge commit and applies its plan.
    let merge = "merge-of-aaa111";
    m.runner.env.insert("GITHUB_SHA".into(), merge.into());
    m.runner.answer_get(
        &format!("repos/o/r/commits/{merge}/pulls"),
        &json!([{"number": 7, "head": {"sha": "aaa111"}}]),
    );
    fresh_workspace_files(&m);
    let apply = job(System::GitHub, "github-actions", "apply.yml");
    let run = m.runner.run(&apply[0]);
    assert!(run.succeeded, "{}", run.log);
    assert!(
        m.runner
            .stub_file("calls.log")
            .contains("gh run download 4242 --name azprotect-plan-aaa111"),
        "the reviewed plan was downloaded:\n{}",
        m.runner.stub_file("calls.log")
    );
    let summary = std::fs::read_to_string(&m.runner.env["GITHUB_STEP_SUMMARY"]).unwrap();
    assert!(
        summary.contains("**8 succeeded, 0 failed, 0 skipped**"),
        "{summary}"
    );
    assert!(
        summary.contains("| `protected_vm.rsv-prod-weu/rg-app/app-01` | create | done |"),
        "{summary}"
    );
    estate.expect_no_changes(&quickstart()).await;

    // The next pull request plans no changes: the same comment, updated in place.
    let run = pr_plan(&mut m, "bbb222");
    assert!(run.succeeded, "{}", run.log);
    let body = the_comment(&m);
    assert!(
        body.starts_with(MARKER) && body.contains("No changes"),
        "{body}"
    );

    // Someone raised the silver policy's retention in the (immutable) vault: the file's
    // shorter one is blocked, and the pull request's job fails — with the comment saying why
    // and an annotation on the blocked change.
    raise_silver_retention(&estate).await;
    let run = pr_plan(&mut m, "ccc333");
    assert!(!run.succeeded, "a blocked plan fails the job:\n{}", run.log);
    assert!(
        run.log
            .contains("::error title=blocked%3A backup_policy.rsv-prod-weu/silver::"),
        "{}",
        run.log
    );
    let body = the_comment(&m);
    assert!(body.contains("Blocked"), "{body}");
}

/// The portal raised the silver policy's daily retention to 30 days.
async fn raise_silver_retention(estate: &Estate) {
    use azprotect::model::{ArmRequest, Method};
    let client = estate.client().await;
    let sub = estate.sandbox.credentials().subscription_id;
    let path = format!("/subscriptions/{sub}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupPolicies/silver?api-version=2026-01-01");
    let mut policy = client.get_optional(&path).await.unwrap().expect("policy");
    policy["properties"]["retentionPolicy"]["dailySchedule"]["retentionDuration"]["count"] =
        30.into();
    client
        .execute(&ArmRequest::new(Method::Put, path, Some(policy)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn github_a_push_without_a_pull_request_plans_afresh_and_applies() {
    if !runner_tools("github_a_push_without_a_pull_request_plans_afresh_and_applies") {
        return;
    }
    let estate = Estate::start().await;
    let issuer = TokenIssuer::start();
    let Machine {
        _dir,
        runner: mut r,
    } = machine(&estate, System::GitHub, &issuer);
    r.env.insert("GITHUB_SHA".into(), "direct-push".into());
    r.answer_get("repos/o/r/commits/direct-push/pulls", &json!([]));
    let apply = job(System::GitHub, "github-actions", "apply.yml");
    let run = r.run(&apply[0]);
    assert!(run.succeeded, "{}", run.log);
    assert!(run.log.contains("planning afresh"), "{}", run.log);
    let summary = std::fs::read_to_string(&r.env["GITHUB_STEP_SUMMARY"]).unwrap();
    assert!(summary.contains("**8 succeeded"), "{summary}");
    estate.expect_no_changes(&quickstart()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn github_a_reviewed_plan_that_main_no_longer_plans_is_not_applied() {
    if !runner_tools("github_a_reviewed_plan_that_main_no_longer_plans_is_not_applied") {
        return;
    }
    let estate = Estate::start().await;
    let issuer = TokenIssuer::start();
    let mut m = machine(&estate, System::GitHub, &issuer);
    let run = pr_plan(&mut m, "aaa111");
    assert!(run.succeeded, "{}", run.log);
    // Before the merge, someone applied the same file from elsewhere: the reviewed plan's eight
    // creations are not what main plans any more.
    estate
        .run(&["apply", "-f", &quickstart(), "--auto-approve"])
        .await
        .expect_code(0);
    let merge = "merge-of-aaa111";
    m.runner.env.insert("GITHUB_SHA".into(), merge.into());
    m.runner.answer_get(
        &format!("repos/o/r/commits/{merge}/pulls"),
        &json!([{"number": 7, "head": {"sha": "aaa111"}}]),
    );
    fresh_workspace_files(&m);
    let run = m
        .runner
        .run(&job(System::GitHub, "github-actions", "apply.yml")[0]);
    assert!(!run.succeeded, "{}", run.log);
    assert!(
        run.log
            .contains("::error::main plans other changes than the pull request's reviewed plan"),
        "{}",
        run.log
    );
    assert!(
        !m.runner.workspace.join("result.json").exists(),
        "nothing was applied"
    );
}

fn threads(m: &Machine) -> Vec<Value> {
    let t: Value = serde_json::from_str(&m.runner.stub_file("threads.json")).unwrap_or(json!({}));
    t["value"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_pipelines_plan_in_the_pull_request_then_apply_the_approved_plan() {
    if !runner_tools("azure_pipelines_plan_in_the_pull_request_then_apply_the_approved_plan") {
        return;
    }
    let estate = Estate::start().await;
    let issuer = TokenIssuer::start();
    let m = machine(&estate, System::AzurePipelines, &issuer);
    // A file that names no subscription: the service connection's is used.
    without_subscription(&m);

    let plan = job(System::AzurePipelines, "azure-pipelines", "plan.yml");
    assert_eq!(plan.len(), 1);
    let run = m.runner.run(&plan[0]);
    assert!(run.succeeded, "{}", run.log);
    let t = threads(&m);
    assert_eq!(t.len(), 1, "one thread: {t:?}");
    let content = t[0]["comments"][0]["content"].as_str().unwrap();
    assert!(
        content.starts_with(MARKER) && content.contains("8 to create"),
        "{content}"
    );
    assert!(
        m.runner
            .stub_dir
            .join("artifacts/azprotect-plan/plan.json")
            .exists(),
        "the plan is a pipeline artifact"
    );

    // On main: the plan stage, then (once approved) the deployment job applies that plan.
    let stages = job(System::AzurePipelines, "azure-pipelines", "apply.yml");
    assert_eq!(stages.len(), 2, "plan and apply jobs");
    let mut main = m.runner;
    main.env
        .insert("BUILD_REASON".into(), "IndividualCI".into());
    std::fs::remove_dir_all(main.stub_dir.join("artifacts")).unwrap();
    std::fs::remove_file(main.workspace.join("plan.json")).unwrap();
    for stage in &stages {
        let run = main.run(stage);
        assert!(run.succeeded, "{}", run.log);
    }
    let summary = std::fs::read_to_string(
        Path::new(&main.env["AGENT_TEMPDIRECTORY"]).join("azprotect-apply.md"),
    )
    .unwrap();
    assert!(
        summary.contains("**8 succeeded, 0 failed, 0 skipped**"),
        "{summary}"
    );
    estate.expect_no_changes(&quickstart()).await;

    // The next pull request: no changes, the same thread updated. The pipeline now defines
    // AZURE_SUBSCRIPTION_ID, which wins: the Azure CLI is not asked (it would fail).
    main.env.insert("BUILD_REASON".into(), "PullRequest".into());
    let sub = main.env.remove("STUB_AZ_SUBSCRIPTION").unwrap();
    main.env.insert("AZURE_SUBSCRIPTION_ID".into(), sub);
    let run = main.run(&plan[0]);
    assert!(run.succeeded, "{}", run.log);
    let m = Machine {
        _dir: m._dir,
        runner: main,
    };
    let t = threads(&m);
    assert_eq!(t.len(), 1, "still one thread: {t:?}");
    let content = t[0]["comments"][0]["content"].as_str().unwrap();
    assert!(content.contains("No changes"), "{content}");
    assert_eq!(
        issuer.requests.load(Ordering::SeqCst),
        0,
        "no GitHub OIDC here"
    );
}

/// Drop the workspace file's `subscription:` line (the pipeline must provide one).
fn without_subscription(m: &Machine) {
    let path = m.runner.workspace.join("azprotect.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("subscription:"))
        .collect();
    assert_eq!(
        kept.len() + 1,
        text.lines().count(),
        "one subscription line"
    );
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_pipelines_comment_only_on_azure_repos_and_never_after_a_failed_plan() {
    if !runner_tools("azure_pipelines_comment_only_on_azure_repos_and_never_after_a_failed_plan") {
        return;
    }
    let estate = Estate::start().await;
    let issuer = TokenIssuer::start();
    let mut m = machine(&estate, System::AzurePipelines, &issuer);
    let plan = job(System::AzurePipelines, "azure-pipelines", "plan.yml");

    // A GitHub repository built by Azure Pipelines: no Azure Repos thread, the plan is kept.
    m.runner
        .env
        .insert("BUILD_REPOSITORY_PROVIDER".into(), "GitHub".into());
    let run = m.runner.run(&plan[0]);
    assert!(run.succeeded, "{}", run.log);
    assert!(threads(&m).is_empty(), "no thread on a GitHub repository");
    assert!(run
        .log
        .contains("--- skipped: Comment the plan on the pull request"));
    let kept = m.runner.stub_dir.join("artifacts/azprotect-plan/plan.json");
    assert!(kept.exists(), "the plan is a pipeline artifact");

    // A plan that fails before writing one: the run fails on the plan, and neither comments
    // nor publishes (no second failure hiding the first).
    m.runner
        .env
        .insert("BUILD_REPOSITORY_PROVIDER".into(), "TfsGit".into());
    std::fs::remove_dir_all(m.runner.stub_dir.join("artifacts")).unwrap();
    std::fs::remove_file(m.runner.workspace.join("plan.json")).unwrap();
    std::fs::write(
        m.runner.workspace.join("azprotect.yaml"),
        "version: 1\nvaults: [\n",
    )
    .unwrap();
    let run = m.runner.run(&plan[0]);
    assert!(!run.succeeded, "{}", run.log);
    assert!(run.log.contains("--- Plan: FAILED"), "{}", run.log);
    for step in ["Comment the plan on the pull request", "Keep the plan"] {
        assert!(
            run.log.contains(&format!("--- skipped: {step}")),
            "{step}: {}",
            run.log
        );
    }
    assert!(threads(&m).is_empty());
    assert!(!kept.exists());
}

fn issues(m: &Machine) -> Vec<Value> {
    serde_json::from_str(&m.runner.stub_file("issues.json")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn github_the_morning_status_opens_one_issue_on_findings_and_closes_it_when_healthy() {
    if !runner_tools(
        "github_the_morning_status_opens_one_issue_on_findings_and_closes_it_when_healthy",
    ) {
        return;
    }
    let estate = Estate::start().await;
    estate
        .run(&["apply", "-f", &quickstart(), "--auto-approve"])
        .await
        .expect_code(0);
    // The first backups complete a simulated minute after protection (0.6 s here).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let issuer = TokenIssuer::start();
    let m = machine(&estate, System::GitHub, &issuer);
    let status = job(System::GitHub, "github-actions", "status.yml");
    assert_eq!(status.len(), 1);
    let file = m.runner.workspace.join("azprotect.yaml");
    let full = std::fs::read_to_string(&file).unwrap();

    // The file on main drops app-01, which Azure still protects: a finding (exit 2), not a
    // failed job; one issue opens with the markdown report, and the run's summary shows it.
    std::fs::write(&file, full.replace("          - rg-app/app-01\n", "")).unwrap();
    let run = m.runner.run(&status[0]);
    assert!(run.succeeded, "{}", run.log);
    let open = issues(&m);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["state"], "open");
    assert_eq!(open[0]["labels"], json!(["azprotect-status"]));
    let body = open[0]["body"].as_str().unwrap();
    assert!(body.contains("app-01"), "{body}");
    let summary = std::fs::read_to_string(&m.runner.env["GITHUB_STEP_SUMMARY"]).unwrap();
    assert!(summary.contains("app-01"), "{summary}");

    // The next morning still has the finding: the same issue is updated, no second one.
    let run = m.runner.run(&status[0]);
    assert!(run.succeeded, "{}", run.log);
    assert_eq!(issues(&m).len(), 1);

    // app-01 back in the file: healthy (exit 0), and the issue is closed.
    std::fs::write(&file, &full).unwrap();
    let run = m.runner.run(&status[0]);
    assert!(run.succeeded, "{}", run.log);
    let all = issues(&m);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["state"], "closed", "{all:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn github_four_runners_plan_a_quarter_each_and_one_comment_shows_the_whole_plan() {
    if !runner_tools("github_four_runners_plan_a_quarter_each_and_one_comment_shows_the_whole_plan")
    {
        return;
    }
    let estate = support::estate::multi_vault_estate().await;
    let issuer = TokenIssuer::start();
    let mut m = machine(&estate, System::GitHub, &issuer);
    let file = support::estate::multi_vault();
    std::fs::copy(&file, m.runner.workspace.join("azprotect.yaml")).unwrap();
    let jobs = job(System::GitHub, "github-actions", "plan-sharded.yml");
    assert_eq!(jobs.len(), 2, "the matrix job and the review job");

    // The matrix: each runner starts from a fresh checkout with its `matrix.shard`.
    for shard in 1..=4 {
        for f in ["plan-1.json", "plan-2.json", "plan-3.json", "plan-4.json"] {
            let _ = std::fs::remove_file(m.runner.workspace.join(f));
        }
        m.runner
            .context
            .values
            .insert("matrix.shard".into(), shard.to_string());
        let run = m.runner.run(&jobs[0]);
        assert!(run.succeeded, "shard {shard}: {}", run.log);
        let kept = m.runner.stub_dir.join(format!(
            "artifacts/azprotect-plan-shard-{shard}/plan-{shard}.json"
        ));
        assert!(kept.exists(), "shard {shard}'s plan is an artifact");
    }

    // The review job merges the four into the one comment: the whole plan's summary.
    let run = m.runner.run(&jobs[1]);
    assert!(run.succeeded, "{}", run.log);
    let body = the_comment(&m);
    assert!(body.starts_with(MARKER), "{body}");
    let whole = estate
        .run(&["plan", "-f", &file, "--format", "markdown"])
        .await;
    let summary = whole
        .stdout
        .lines()
        .find(|l| l.starts_with("**"))
        .expect("a summary line")
        .to_string();
    assert!(body.contains(&summary), "{summary}\n{body}");
    assert!(
        body.contains("subscriptions `00000000-0000-0000-0000-000000000001`, `00000000-0000-0000-0000-000000000002`"),
        "{body}"
    );
    assert!(!body.contains("no plan for shard"), "{body}");

    // A shard whose runner failed before keeping its plan: the comment says the plan is not
    // the whole estate's.
    std::fs::remove_dir_all(m.runner.stub_dir.join("artifacts/azprotect-plan-shard-3")).unwrap();
    for f in [
        "plan-1.json",
        "plan-2.json",
        "plan-3.json",
        "plan-4.json",
        "plan.md",
    ] {
        let _ = std::fs::remove_file(m.runner.workspace.join(f));
    }
    let run = m.runner.run(&jobs[1]);
    assert!(run.succeeded, "{}", run.log);
    let body = the_comment(&m);
    assert!(body.contains("no plan for shard(s) 3/4"), "{body}");
}
