//! A small stand-in for a CI runner: reads a workflow or pipeline file (serde-saphyr →
//! `serde_json::Value`), finds its script steps, and runs them in bash in the environment the
//! runner would give them — the built binary on PATH, the sandbox's ARM endpoint and CA, the
//! runner's variables — with `gh`, `curl` and `az` replaced by stubs that fake GitHub's and Azure
//! DevOps' REST APIs and the Azure CLI's signed-in account in a state directory and log every
//! call. Azure Pipelines' `##vso[task.setvariable]` and `eq(variables['…'], '…')` conditions are
//! followed as the agent does.
//!
//! It understands what the examples use and fails on anything else, so an example that grows a
//! construct the runner does not know fails the test instead of being skipped.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which CI system a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    GitHub,
    AzurePipelines,
}

/// One step of a job.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    /// The script (`run:`, `bash:`, `script:`, an AzureCLI task's `inlineScript:`), if any.
    pub script: Option<String>,
    /// The step's own `env:` (unresolved).
    pub env: BTreeMap<String, String>,
    /// `if:` / `condition:`.
    pub condition: Option<String>,
    pub id: Option<String>,
    /// The whole step, for `uses:`/`task:`/`publish:`/`download:` steps.
    pub raw: Value,
}

/// A job: its `env:` and steps (Azure Pipelines: every job and deployment job, in order).
#[derive(Debug, Clone)]
pub struct Job {
    pub env: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

pub fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn step(system: System, v: &Value) -> Step {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let script = match system {
        System::GitHub => s("run"),
        System::AzurePipelines => s("bash").or_else(|| s("script")).or_else(|| {
            v.pointer("/inputs/inlineScript")
                .and_then(Value::as_str)
                .map(str::to_string)
        }),
    };
    Step {
        name: s("name")
            .or_else(|| s("displayName"))
            .or_else(|| s("uses"))
            .or_else(|| s("task"))
            .unwrap_or_else(|| v.to_string()),
        script,
        env: string_map(v.get("env").unwrap_or(&Value::Null)),
        condition: s("if").or_else(|| s("condition")),
        id: s("id"),
        raw: v.clone(),
    }
}

/// Every `steps:` list under `v`, in document order, with the nearest `env:` above it.
fn collect_jobs(system: System, v: &Value, env: &BTreeMap<String, String>, out: &mut Vec<Job>) {
    match v {
        Value::Object(m) => {
            let mut env = env.clone();
            if let Some(e) = m.get("env") {
                env.extend(string_map(e));
            }
            if let Some(Value::Array(steps)) = m.get("steps") {
                out.push(Job {
                    env: env.clone(),
                    steps: steps.iter().map(|s| step(system, s)).collect(),
                });
            }
            for (k, child) in m {
                if k != "steps" && k != "env" {
                    collect_jobs(system, child, &env, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_jobs(system, c, env, out)),
        _ => {}
    }
}

/// The jobs of a workflow or pipeline; workflow-level `env:` (GitHub) or `variables:` (Azure
/// Pipelines) included in each job's environment.
pub fn jobs(system: System, doc: &Value) -> Vec<Job> {
    let mut top = BTreeMap::new();
    if let Some(e) = doc.get("env") {
        top.extend(string_map(e));
    }
    if let Some(v) = doc.get("variables") {
        top.extend(string_map(v));
    }
    let mut out = Vec::new();
    collect_jobs(system, doc, &top, &mut out);
    out
}

/// What a runner would substitute into a script before bash sees it: `${{ … }}` (GitHub and
/// Azure Pipelines templates), `$[ … ]` (runtime expressions) and `$(Name.Of.Variable)` macros
/// (Azure Pipelines; bash's own `$(command …)` has a space, or is not a bare name).
pub fn substituted_expressions(system: System, script: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in script.match_indices("${{") {
        found.push(script[i..].chars().take(40).collect());
    }
    if system == System::AzurePipelines {
        for (i, _) in script.match_indices("$[") {
            found.push(script[i..].chars().take(40).collect());
        }
        for (i, _) in script.match_indices("$(") {
            let rest = &script[i + 2..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            if !name.is_empty() && rest[name.len()..].starts_with(')') {
                found.push(format!("$({name})"));
            }
        }
    }
    found
}

/// The azprotect command lines of a script (continuation lines joined), from `azprotect` up to
/// the first `|`, `>`, `;`, `&&`, `||` or `)` outside quotes, as argument lists; a quoted or
/// bare `$VAR` argument becomes `VALUE`.
pub fn azprotect_commands(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("azprotect ") {
            let before = rest[..i].chars().last();
            // Not inside a string ("### azprotect apply") nor part of a word.
            let quoted = line[..line.len() - rest.len() + i].matches('"').count() % 2 == 1;
            let is_command =
                !quoted && matches!(before, None | Some(' ' | '(' | '!' | ';' | '|' | '&'));
            let after = &rest[i + "azprotect ".len()..];
            if is_command && !after.trim_start().starts_with(">/dev/null") {
                let words = shell_words(after);
                if !words.is_empty() {
                    out.push(words);
                }
            }
            rest = after;
        }
    }
    out
}

fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    let flush = |cur: &mut String, words: &mut Vec<String>| {
        if !cur.is_empty() {
            let w = if cur.starts_with('$') {
                "VALUE".to_string()
            } else {
                cur.clone()
            };
            words.push(w);
            cur.clear();
        }
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, ' ' | '\t') => flush(&mut cur, &mut words),
            (None, '|' | '>' | ';' | ')') => break,
            (None, '&') if chars.peek() == Some(&'&') => break,
            (None, c) => cur.push(c),
        }
    }
    flush(&mut cur, &mut words);
    words
}

/// A runner's answers to `${{ … }}` (GitHub) and `$(…)` (Azure Pipelines) in `env:`, `with:`
/// and `if:` values, which the runner substitutes before the step runs.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub values: BTreeMap<String, String>,
}

impl Context {
    /// `value` with every expression replaced; an expression the context does not know fails.
    pub fn resolve(&self, value: &str) -> String {
        let mut out = value.to_string();
        for (open, close) in [("${{", "}}"), ("$(", ")")] {
            while let Some(i) = out.find(open) {
                let j = out[i..]
                    .find(close)
                    .unwrap_or_else(|| panic!("unclosed {open} in {value}"));
                let expr = out[i + open.len()..i + j].trim().to_string();
                let v = self.values.get(&expr).unwrap_or_else(|| {
                    panic!("the runner stand-in does not know `{expr}` ({value})")
                });
                out.replace_range(i..i + j + close.len(), v);
            }
        }
        out
    }
}

/// A job's run: whether it succeeded, each step's log.
#[derive(Debug, Default)]
pub struct JobRun {
    pub succeeded: bool,
    pub log: String,
    /// `GITHUB_OUTPUT` per step id.
    pub outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// Azure Pipelines variables set by `##vso[task.setvariable variable=NAME]value`, by their
    /// environment name: later steps see them in their environment and conditions.
    pub variables: BTreeMap<String, String>,
}

/// A pipeline variable's name in a script's environment: upper case, `.` → `_`.
fn env_name(variable: &str) -> String {
    variable.to_uppercase().replace('.', "_")
}

/// Where a job runs: its workspace, the stubs' state, the runner's own variables.
pub struct Runner {
    pub system: System,
    pub workspace: PathBuf,
    /// The stubs' state and log (`STUB_DIR`).
    pub stub_dir: PathBuf,
    /// The variables every step sees (sandbox, runner, PATH).
    pub env: BTreeMap<String, String>,
    pub context: Context,
}

impl Runner {
    /// Whether a step runs after `failed` earlier steps: a condition that asks for it
    /// (`always()`, `!cancelled()`, `not(canceled())`), whose `hashFiles('x')` files exist and
    /// whose `eq(variables['Name'], 'value')` hold.
    fn should_run(
        &self,
        condition: Option<&str>,
        failed: bool,
        variables: &BTreeMap<String, String>,
    ) -> bool {
        let Some(c) = condition else {
            return !failed;
        };
        let keeps_going = ["always()", "!cancelled()", "not(canceled())"]
            .iter()
            .any(|k| c.contains(k));
        if failed && !keeps_going {
            return false;
        }
        let mut rest = c;
        while let Some(i) = rest.find("hashFiles('") {
            let tail = &rest[i + "hashFiles('".len()..];
            let file = &tail[..tail.find('\'').expect("hashFiles(…) closes")];
            if matching(&self.workspace, file).is_empty() {
                return false;
            }
            rest = tail;
        }
        // Azure Pipelines: every `eq(variables['Name'], 'value')` of the (and-ed) condition,
        // against the variable's environment form (`Build.Reason` → `BUILD_REASON`).
        let mut rest = c;
        while let Some(i) = rest.find("eq(variables['") {
            let tail = &rest[i + "eq(variables['".len()..];
            let name = &tail[..tail.find('\'').expect("variables['…'] closes")];
            let after = &tail[name.len()..];
            let open = after.find(", '").expect("eq(variables['…'], '…')") + 3;
            let want = &after[open..open + after[open..].find('\'').expect("'…' closes")];
            let have = variables
                .get(&env_name(name))
                .or_else(|| self.env.get(&env_name(name)))
                .map_or("", String::as_str);
            if !have.eq_ignore_ascii_case(want) {
                return false;
            }
            rest = &after[open..];
        }
        true
    }

    /// Run `job`'s steps in order, as the runner would.
    pub fn run(&self, job: &Job) -> JobRun {
        let mut run = JobRun {
            succeeded: true,
            ..JobRun::default()
        };
        let mut context = self.context.clone();
        for step in &job.steps {
            if !self.should_run(step.condition.as_deref(), !run.succeeded, &run.variables) {
                run.log.push_str(&format!("--- skipped: {}\n", step.name));
                continue;
            }
            let ok = match &step.script {
                Some(script) => self.script(job, step, script, &context, &mut run),
                None => self.action(step, &context),
            };
            run.log.push_str(&format!(
                "--- {}: {}\n",
                step.name,
                if ok { "ok" } else { "FAILED" }
            ));
            if !ok {
                run.succeeded = false;
            }
            if let Some(id) = &step.id {
                for (k, v) in run.outputs.get(id).cloned().unwrap_or_default() {
                    context.values.insert(format!("steps.{id}.outputs.{k}"), v);
                }
            }
        }
        run
    }

    fn script(
        &self,
        job: &Job,
        step: &Step,
        script: &str,
        context: &Context,
        run: &mut JobRun,
    ) -> bool {
        let file = self.stub_dir.join("step.sh");
        std::fs::write(&file, script).expect("write the step's script");
        let output = self.stub_dir.join("step-output");
        std::fs::write(&output, "").expect("GITHUB_OUTPUT");
        let mut cmd = std::process::Command::new("bash");
        cmd.arg("--noprofile").arg("--norc");
        if self.system == System::GitHub {
            // GitHub's default `bash -e {0}`.
            cmd.arg("-e");
        }
        cmd.arg(&file)
            .current_dir(&self.workspace)
            .env_clear()
            .envs(&self.env)
            .env("GITHUB_OUTPUT", &output);
        for (k, v) in job.env.iter().chain(&step.env) {
            cmd.env(k, context.resolve(v));
        }
        if self.system == System::AzurePipelines {
            // Pipeline variables reach scripts as upper-case environment variables.
            for (k, v) in &job.env {
                cmd.env(env_name(k), context.resolve(v));
            }
            cmd.envs(&run.variables);
        }
        let out = cmd.output().expect("bash runs");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(rest) = line.strip_prefix("##vso[task.setvariable variable=") {
                if let Some((name, value)) = rest.split_once(']') {
                    let name = name.split(';').next().unwrap_or(name);
                    run.variables.insert(env_name(name), value.to_string());
                }
            }
        }
        run.log.push_str(&format!(
            "--- {} (exit {:?})\n{}{}",
            step.name,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
        if let Some(id) = &step.id {
            let text = std::fs::read_to_string(&output).unwrap_or_default();
            let map = run.outputs.entry(id.clone()).or_default();
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    map.insert(k.to_string(), v.to_string());
                }
            }
        }
        out.status.success()
    }

    /// A step that is not a script: what the examples use, emulated; anything else fails.
    fn action(&self, step: &Step, context: &Context) -> bool {
        let r = &step.raw;
        let text = |k: &str| r.get(k).and_then(Value::as_str);
        if let Some(uses) = text("uses") {
            let with = |k: &str| {
                r.pointer(&format!("/with/{k}"))
                    .and_then(Value::as_str)
                    .map(|v| context.resolve(v))
            };
            if uses.starts_with("actions/checkout@") || uses.starts_with("actions/cache@") {
                if let Some(key) = with("key") {
                    assert!(!key.is_empty());
                }
                return true;
            }
            if uses.starts_with("actions/download-artifact@") {
                // `pattern: prefix*` with `merge-multiple: true`: every matching artifact's
                // files, side by side in the workspace.
                let pattern = with("pattern").expect("download-artifact: a pattern");
                assert_eq!(
                    with("merge-multiple").as_deref(),
                    None,
                    "a boolean, not a string"
                );
                assert_eq!(r.pointer("/with/merge-multiple"), Some(&Value::Bool(true)));
                for dir in matching(&self.stub_dir.join("artifacts"), &pattern) {
                    copy_dir(&dir, &self.workspace);
                }
                return true;
            }
            if uses.starts_with("actions/upload-artifact@") {
                let name = with("name").expect("an artifact's name");
                let paths = with("path").expect("an artifact's path");
                self.publish(
                    &name,
                    paths.lines().map(str::trim).filter(|p| !p.is_empty()),
                );
                return true;
            }
            panic!("the runner stand-in does not know the action {uses}");
        }
        if let Some(task) = text("task") {
            assert!(task.starts_with("Cache@"), "unknown task {task}");
            return true;
        }
        if text("checkout").is_some() {
            return true;
        }
        if let Some(file) = text("publish") {
            let name = text("artifact").expect("publish: names its artifact");
            self.publish(name, [file]);
            return true;
        }
        if text("download") == Some("current") {
            let name = text("artifact").expect("download: names its artifact");
            let to = PathBuf::from(&self.env["PIPELINE_WORKSPACE"]).join(name);
            copy_dir(&self.stub_dir.join("artifacts").join(name), &to);
            return true;
        }
        panic!("the runner stand-in does not know the step {r}");
    }

    /// Keep `paths` as the artifact `name`, and list it for `GET …/actions/artifacts?name=`.
    fn publish<'a>(&self, name: &str, paths: impl IntoIterator<Item = &'a str>) {
        let dir = self.stub_dir.join("artifacts").join(name);
        std::fs::create_dir_all(&dir).expect("artifact dir");
        for p in paths {
            let found = matching(&self.workspace, p);
            assert!(!found.is_empty(), "artifact {name}: nothing matches {p}");
            for from in found {
                let file = from.file_name().expect("a file");
                std::fs::copy(&from, dir.join(file))
                    .unwrap_or_else(|e| panic!("artifact {name}: {}: {e}", from.display()));
            }
        }
        let repo = self
            .env
            .get("GITHUB_REPOSITORY")
            .cloned()
            .unwrap_or_default();
        self.answer_get(
            &format!("repos/{repo}/actions/artifacts?name={name}"),
            &serde_json::json!({"total_count": 1, "artifacts": [{"name": name, "workflow_run": {"id": 4242}}]}),
        );
    }

    /// What the `gh` stub answers to `gh api PATH` (a GET).
    pub fn answer_get(&self, path: &str, body: &Value) {
        let key: String = path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = self.stub_dir.join("get");
        std::fs::create_dir_all(&dir).expect("stub dir");
        std::fs::write(dir.join(format!("{key}.json")), body.to_string()).expect("stub answer");
    }

    pub fn stub_file(&self, name: &str) -> String {
        std::fs::read_to_string(self.stub_dir.join(name)).unwrap_or_default()
    }
}

/// The entries of `dir` that `pattern` names: a name, or one `*` standing for any part of it
/// (as the examples' `hashFiles`, artifact paths and artifact patterns use).
fn matching(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let Some((head, tail)) = pattern.split_once('*') else {
        let p = dir.join(pattern);
        return if p.exists() { vec![p] } else { vec![] };
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    found.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name.len() >= head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail)
    });
    found.sort();
    found
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

/// `gh`, faking the REST calls the examples make: issue comments (list, create, update), issues
/// (the open ones with a label, create, update: `$STUB_DIR/issues.json`),
/// other GETs answered from `$STUB_DIR/get/`, `gh run download` from `$STUB_DIR/artifacts/`.
pub const GH_STUB: &str = r#"#!/usr/bin/env bash
set -euo pipefail
printf 'gh' >> "$STUB_DIR/calls.log"; printf ' %q' "$@" >> "$STUB_DIR/calls.log"; echo >> "$STUB_DIR/calls.log"
[ -n "${GH_TOKEN:-}" ] || { echo "gh stub: GH_TOKEN is not set" >&2; exit 4; }
if [ "$1" = run ] && [ "$2" = download ]; then
  shift 3; name=""; dir="."
  while [ $# -gt 0 ]; do case "$1" in --name|-n) name=$2; shift 2;; --dir|-D) dir=$2; shift 2;; *) shift;; esac; done
  mkdir -p "$dir"; cp -R "$STUB_DIR/artifacts/$name/." "$dir/"; exit 0
fi
[ "$1" = api ] || { echo "gh stub: unexpected: gh $*" >&2; exit 1; }
shift
method=GET; jqf=""; body=""; path=""; fields='{}'
while [ $# -gt 0 ]; do
  case "$1" in
    --method|-X) method=$2; shift 2;;
    --jq|-q) jqf=$2; shift 2;;
    --paginate) shift;;
    -F|-f|--field|--raw-field)
      k=${2%%=*}; v=${2#*=}; case "$v" in @*) v=$(cat "${v#@}");; esac
      [ "$k" = body ] && body=$v
      fields=$(jq --arg k "$k" --arg v "$v" 'if $k == "labels[]" then .labels += [$v] else . + {($k): $v} end' <<<"$fields")
      shift 2;;
    -*) echo "gh stub: unknown flag $1" >&2; exit 1;;
    *) path=$1; shift;;
  esac
done
comments="$STUB_DIR/comments.json"; [ -f "$comments" ] || echo '[]' > "$comments"
issues="$STUB_DIR/issues.json"; [ -f "$issues" ] || echo '[]' > "$issues"
case "$method $path" in
  "GET "*/issues\?*labels=*)
    label=${path#*labels=}; label=${label%%&*}
    out=$(jq --arg l "$label" '[.[] | select(.state == "open" and (.labels | index($l)))]' "$issues");;
  "POST "*/issues)
    n=$((1 + $(jq length "$issues")))
    jq --argjson f "$fields" --argjson n "$n" '. + [$f + {number: $n, state: "open"}]' "$issues" > "$issues.new"
    mv "$issues.new" "$issues"; out="{\"number\": $n}";;
  "PATCH "*/issues/[0-9]*)
    n=${path##*/}
    jq -e --argjson n "$n" 'any(.number == $n)' "$issues" >/dev/null || { echo "gh stub: no issue $n" >&2; exit 1; }
    jq --argjson f "$fields" --argjson n "$n" 'map(if .number == $n then . + $f else . end)' "$issues" > "$issues.new"
    mv "$issues.new" "$issues"; out="{\"number\": $n}";;
  "GET "*/issues/*/comments) out=$(cat "$comments");;
  "POST "*/issues/*/comments)
    id=$((1000 + $(jq length "$comments")))
    jq --arg b "$body" --argjson id "$id" '. + [{id: $id, body: $b}]' "$comments" > "$comments.new"
    mv "$comments.new" "$comments"; out="{\"id\": $id}";;
  "PATCH "*/issues/comments/*)
    id=${path##*/}
    jq -e --argjson id "$id" 'any(.id == $id)' "$comments" >/dev/null || { echo "gh stub: no comment $id" >&2; exit 1; }
    jq --arg b "$body" --argjson id "$id" 'map(if .id == $id then .body = $b else . end)' "$comments" > "$comments.new"
    mv "$comments.new" "$comments"; out="{\"id\": $id}";;
  "GET "*)
    key=$(printf '%s' "$path" | tr -c 'A-Za-z0-9' '_'); f="$STUB_DIR/get/$key.json"
    [ -f "$f" ] || { echo "gh stub: no answer for GET $path" >&2; exit 1; }
    out=$(cat "$f");;
  *) echo "gh stub: unexpected $method $path" >&2; exit 1;;
esac
if [ -n "$jqf" ]; then printf '%s' "$out" | jq -r "$jqf"; else printf '%s\n' "$out"; fi
"#;

/// `curl`, faking the Azure DevOps pull-request threads API (list, create, update a thread's
/// first comment); it insists on the build's bearer token.
pub const CURL_STUB: &str = r#"#!/usr/bin/env bash
set -euo pipefail
printf 'curl' >> "$STUB_DIR/calls.log"; printf ' %q' "$@" >> "$STUB_DIR/calls.log"; echo >> "$STUB_DIR/calls.log"
method=GET; data=""; url=""; auth=""
while [ $# -gt 0 ]; do
  case "$1" in
    -X|--request) method=$2; shift 2;;
    -H|--header) case "$2" in Authorization:*) auth=$2;; esac; shift 2;;
    --data|-d|--data-binary) if [ "$2" = "@-" ]; then data=$(cat); else data=$2; fi; shift 2;;
    -f|-s|-S|-fsS|-sS|-fS) shift;;
    http*) url=$1; shift;;
    *) echo "curl stub: unknown argument $1" >&2; exit 2;;
  esac
done
[ "$auth" = "Authorization: Bearer $STUB_ADO_TOKEN" ] || { echo "curl stub: 401 ($auth)" >&2; exit 22; }
threads="$STUB_DIR/threads.json"; [ -f "$threads" ] || echo '{"value": []}' > "$threads"
path=${url%%\?*}
case "$method $path" in
  "GET "*/pullRequests/*/threads) cat "$threads";;
  "POST "*/pullRequests/*/threads)
    id=$((1 + $(jq '.value | length' "$threads")))
    jq --argjson t "$data" --argjson id "$id" '.value += [$t + {id: $id, comments: [$t.comments[0] + {id: 1}]}]' "$threads" > "$threads.new"
    mv "$threads.new" "$threads"; echo "{\"id\": $id}";;
  "PATCH "*/pullRequests/*/threads/*/comments/1)
    rest=${path%/comments/1}; id=${rest##*/}
    jq -e --argjson id "$id" 'any(.value[]; .id == $id)' "$threads" >/dev/null || { echo "curl stub: 404 thread $id" >&2; exit 22; }
    jq --argjson c "$data" --argjson id "$id" '.value |= map(if .id == $id then .comments[0].content = $c.content else . end)' "$threads" > "$threads.new"
    mv "$threads.new" "$threads"; echo '{}';;
  *) echo "curl stub: unexpected $method $url" >&2; exit 22;;
esac
"#;

/// `az`, answering what the Azure Pipelines examples ask of the Azure CLI that AzureCLI@2 signed
/// in: the service connection's subscription (`$STUB_AZ_SUBSCRIPTION`; unset, `az` fails as it
/// does without a default subscription).
pub const AZ_STUB: &str = r#"#!/usr/bin/env bash
set -euo pipefail
printf 'az' >> "$STUB_DIR/calls.log"; printf ' %q' "$@" >> "$STUB_DIR/calls.log"; echo >> "$STUB_DIR/calls.log"
case "$*" in
  "account show --query id -o tsv")
    [ -n "${STUB_AZ_SUBSCRIPTION:-}" ] || { echo "ERROR: Please run 'az login' to setup account." >&2; exit 1; }
    echo "$STUB_AZ_SUBSCRIPTION";;
  *) echo "az stub: unexpected: az $*" >&2; exit 2;;
esac
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_substitutions_are_found_and_bash_command_substitution_is_not() {
        let gh = "id=$(gh api x)\necho ${{ github.event.issue.title }}";
        assert_eq!(substituted_expressions(System::GitHub, gh).len(), 1);
        let ado = "t=$(System.AccessToken)\nx=$(jq -r .a f)\ny=$[variables.a]";
        assert_eq!(
            substituted_expressions(System::AzurePipelines, ado),
            ["$[variables.a]", "$(System.AccessToken)"]
        );
    }

    #[test]
    fn azprotect_command_lines_are_read_as_arguments() {
        let script = "if ! command -v azprotect >/dev/null; then\n  cargo install azprotect\nfi\nazprotect --auth github-oidc plan \\\n  --out \"$OUT\" --detailed-exitcode | tee x\nx=$(azprotect show 'p q.json' --format json)";
        assert_eq!(
            azprotect_commands(script),
            [
                vec![
                    "--auth",
                    "github-oidc",
                    "plan",
                    "--out",
                    "VALUE",
                    "--detailed-exitcode"
                ],
                vec!["show", "p q.json", "--format", "json"],
            ]
        );
    }
}
