//! `lifeline init` setting a repository up: the workflows it writes, rerun
//! and `--force` semantics, `--print-example`, the generated `run:` steps
//! executed as Actions would run them, and the composite action's install
//! script against the fake GitHub's release downloads on loopback.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Repo, stderr, stdout};
use lifeline::github::fake::FakeGitHub;
use saphyr::{LoadableYamlNode, Yaml};

/// A real commit (actions/checkout v7.0.1); any full SHA does for tests.
const SHA: &str = "3d3c42e5aac5ba805825da76410c181273ba90b1";
const TOKEN: &str = "ghs_0123456789abcdefghijABCDEFGHIJ0123";
const HEALTH: &str = ".github/workflows/lifeline-health.yml";
/// What actions/upload-artifact answers for the uploaded report.
const ARTIFACT_URL: &str = "https://github.com/acme/plan/actions/runs/4242/artifacts/99";
const UPLOAD_ARTIFACT: &str = "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f";
const EMERGENCY: &str = ".github/workflows/lifeline-emergency-recovery.yml";

fn action() -> String {
    format!("acme/lifeline@{SHA}")
}

fn init(repo: &Repo, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = repo.lifeline();
    cmd.args(["init", "--action", &action()]).args(extra);
    cmd
}

#[test]
fn init_sets_a_repository_up_and_a_rerun_changes_nothing() {
    let repo = Repo::sample();
    let out = init(&repo, &[]).assert().code(0);
    assert_eq!(
        stdout(&out),
        "    created  lifeline.toml\n    created  .github/workflows/lifeline-health.yml\n    \
         created  .github/workflows/lifeline-emergency-recovery.yml\n    created  .gitattributes\n"
    );
    // The sample has task-sync.yml only; the other two defaults are named.
    assert!(
        stderr(&out).contains("task-archive.yml, auto-update-metadata.yml"),
        "{}",
        stderr(&out)
    );
    let health = repo.read(HEALTH);
    assert!(
        health.contains(
            "    workflows:\n      - \"Sync Tasks with GitHub Issues\"\n    types: [completed]\n"
        ),
        "{health}"
    );
    let uses = format!(
        "uses: acme/lifeline@{SHA} # v{}\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(health.contains(&uses), "{health}");
    assert!(repo.read(EMERGENCY).contains(&uses));
    // The repository the action downloads from is named, never guessed.
    let with = format!("{uses}        with:\n          repository: acme/lifeline\n");
    assert!(health.contains(&with), "{health}");
    assert!(repo.read(EMERGENCY).contains(&with));

    let before: Vec<String> = [HEALTH, EMERGENCY, "lifeline.toml", ".gitattributes"]
        .iter()
        .map(|p| repo.read(p))
        .collect();
    let out = init(&repo, &[]).assert().code(0);
    assert_eq!(
        stdout(&out),
        "  unchanged  lifeline.toml\n  unchanged  .github/workflows/lifeline-health.yml\n  \
         unchanged  .github/workflows/lifeline-emergency-recovery.yml\n  unchanged  .gitattributes\n"
    );
    let after: Vec<String> = [HEALTH, EMERGENCY, "lifeline.toml", ".gitattributes"]
        .iter()
        .map(|p| repo.read(p))
        .collect();
    assert_eq!(before, after);

    // The written configuration loads.
    let shown = repo
        .lifeline()
        .args(["config", "show", "--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(doc["found"], true);
}

#[test]
fn a_file_that_differs_is_kept_unless_force_and_the_others_are_written() {
    let repo = Repo::sample();
    init(&repo, &[]).assert().code(0);
    repo.write(HEALTH, "name: ours\n");
    std::fs::remove_file(repo.join(EMERGENCY)).unwrap();

    let out = init(&repo, &[]).assert().code(2);
    assert_eq!(
        stdout(&out),
        "  unchanged  lifeline.toml\n       kept  .github/workflows/lifeline-health.yml\n    \
         created  .github/workflows/lifeline-emergency-recovery.yml\n  unchanged  .gitattributes\n"
    );
    assert!(
        stderr(&out).contains(
            "error: .github/workflows/lifeline-health.yml already exists and differs from the template"
        ),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("pass --force"), "{}", stderr(&out));
    assert_eq!(repo.read(HEALTH), "name: ours\n");
    // The audit trail says what was written, and that the run failed.
    let month = std::fs::read_dir(repo.join("docs/audit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .unwrap();
    let last: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(month)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["result"], "failure", "{last}");
    assert_eq!(
        last["files_affected"],
        serde_json::json!([EMERGENCY]),
        "{last}"
    );

    let out = init(&repo, &["--dry-run", "--force"]).assert().code(0);
    assert!(
        stdout(&out).contains("would write  .github/workflows/lifeline-health.yml\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(repo.read(HEALTH), "name: ours\n");

    // Two files differ: both are named.
    repo.write("lifeline.toml", "[audit]\nretention_years = 8\n");
    let out = init(&repo, &[]).assert().code(2);
    let err = stderr(&out);
    assert!(
        err.contains("2 files already exist and differ")
            && err.contains("lifeline.toml, .github/workflows/lifeline-health.yml"),
        "{err}"
    );

    let out = init(&repo, &["--force"]).assert().code(0);
    assert_eq!(
        stdout(&out),
        "  overwrote  lifeline.toml\n  overwrote  .github/workflows/lifeline-health.yml\n  \
         unchanged  .github/workflows/lifeline-emergency-recovery.yml\n  unchanged  .gitattributes\n"
    );
    assert!(
        repo.read(HEALTH)
            .starts_with("# Written by `lifeline init`")
    );
}

#[test]
fn the_emergency_workflow_is_the_one_recover_keeps_enabled() {
    let repo = Repo::sample();
    repo.write(
        "lifeline.toml",
        "[recover]\nemergency_workflow = \"sos.yml\"\n\n[health]\nworkflows = [\"task-sync.yml\", \"sos.yml\"]\n",
    );
    // The customised lifeline.toml is kept (exit 2); the workflows are written.
    let out = init(&repo, &[]).assert().code(2);
    assert!(
        stdout(&out).contains("    created  .github/workflows/sos.yml\n"),
        "{}",
        stdout(&out)
    );
    assert!(!repo.join(EMERGENCY).exists());
    assert!(
        stderr(&out).contains("lifeline's own workflows are not watched: sos.yml"),
        "{}",
        stderr(&out)
    );
    assert!(!repo.read(HEALTH).contains("sos"));
}

/// A build from source does not know which release the workflows should
/// install: init writes the rest, exits 2 and names the one command that
/// finishes the job; that command does.
#[test]
fn a_build_from_source_without_action_exits_2_with_the_command_that_finishes() {
    if option_env!("LIFELINE_RELEASE_COMMIT").is_some() {
        return; // a release build knows its action
    }
    let repo = Repo::sample();
    let out = repo.lifeline().arg("init").assert().code(2);
    assert_eq!(
        stdout(&out),
        "    created  lifeline.toml\n    created  .gitattributes\n"
    );
    let err = stderr(&out);
    assert!(
        err.contains("error: the workflows were not written: this lifeline was built from source"),
        "{err}"
    );
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        err.contains(&format!(
            "finish with `lifeline init --action OWNER/lifeline@<full commit SHA of the v{version} tag>`"
        )),
        "{err}"
    );
    assert!(!repo.join(HEALTH).exists());
    // The command it names finishes the job.
    let out = init(&repo, &[]).assert().code(0);
    assert_eq!(
        stdout(&out),
        "  unchanged  lifeline.toml\n    created  .github/workflows/lifeline-health.yml\n    \
         created  .github/workflows/lifeline-emergency-recovery.yml\n  unchanged  .gitattributes\n"
    );
}

/// The README's adoption steps, verbatim in spirit: init, commit, and a
/// rerun that changes nothing leaves `git status` clean (no audit entry
/// for a run that changed nothing).
#[test]
fn a_rerun_that_changes_nothing_leaves_git_status_clean() {
    let repo = Repo::sample();
    init(&repo, &[]).assert().code(0);
    let audit = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        audit.contains("docs/audit/"),
        "the first run is recorded: {audit}"
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "Adopt lifeline"]);
    init(&repo, &[]).assert().code(0);
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    // A run that changes something is recorded.
    std::fs::remove_file(repo.join(HEALTH)).unwrap();
    init(&repo, &[]).assert().code(0);
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(status.contains("docs/audit/"), "{status}");
}

/// `init --starter` in a repository with no planning files writes valid
/// ones for the current sprint, and never touches existing ones.
#[test]
fn starter_writes_valid_planning_files_where_there_are_none() {
    let repo = Repo::bare_dir();
    repo.git(&["init", "-q", "-b", "main"]);
    let out = init(&repo, &["--starter"]).assert().code(0);
    let text = stdout(&out);
    for path in [
        "planning/TASK.md",
        "planning/sprint.config.json",
        ".github/labels.yml",
    ] {
        assert!(text.contains(&format!("    created  {path}\n")), "{text}");
    }
    let out = repo.lifeline().arg("validate").assert().code(0);
    assert_eq!(stdout(&out), "validated 3 files: all valid\n");
    let config: serde_json::Value =
        serde_json::from_str(&repo.read("planning/sprint.config.json")).unwrap();
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let (start, end) = (
        config["start_date"].as_str().unwrap(),
        config["end_date"].as_str().unwrap(),
    );
    assert!(
        start <= today.as_str() && today.as_str() < end,
        "{start}..{end} holds {today}"
    );
    // Existing planning files are never replaced, even with --force.
    repo.write("planning/TASK.md", "mine\n");
    let out = init(&repo, &["--starter", "--force"]).assert().code(0);
    assert_eq!(repo.read("planning/TASK.md"), "mine\n");
    assert!(
        stderr(&out).contains("skipped planning/TASK.md: exists; --starter only writes planning files where there are none"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_action_without_a_full_commit_sha_is_refused() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args(["init", "--action", "acme/lifeline@v1"])
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains("full 40-hex-digit commit SHA"),
        "{}",
        stderr(&out)
    );
    assert!(!repo.join("lifeline.toml").exists());
}

#[test]
fn print_example_needs_no_repository_and_shows_the_guarded_step() {
    let dir = Repo::bare_dir();
    let out = dir
        .lifeline()
        .args(["init", "--print-example", "--action", &action()])
        .assert()
        .code(0);
    let text = stdout(&out);
    for needle in [
        "lifeline checkpoint fetch",
        "lifeline run --type task-sync -- ",
        "lifeline checkpoint push",
        "--operation workflow_start",
        "--operation workflow_complete",
        &format!("uses: acme/lifeline@{SHA} # v"),
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    // The README shows the same pattern.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains("lifeline init --print-example"),
        "README documents the guarded step"
    );
}

/// One `run:` step of a generated workflow.
struct Step {
    name: String,
    run: String,
    env: BTreeMap<String, String>,
}

/// The steps of `job` in the workflow at `path`: `run:` steps with their
/// `env:`, expressions evaluated; `uses:` steps are checked
/// to be the pinned checkout, the lifeline action or the pinned artifact
/// upload, and skipped (the test has checked out and installed already;
/// the upload's `artifact-url` output is [`ARTIFACT_URL`]).
fn run_steps(path: &Path, job: &str, context: &[(&str, &str)]) -> Vec<Step> {
    let text = std::fs::read_to_string(path).unwrap();
    let docs = Yaml::load_from_str(&text).unwrap();
    let steps = docs[0]
        .as_mapping_get("jobs")
        .and_then(|j| j.as_mapping_get(job))
        .and_then(|j| j.as_mapping_get("steps"))
        .and_then(|s| s.as_sequence())
        .expect("the job has steps");
    let mut out = Vec::new();
    for step in steps {
        let name = step
            .as_mapping_get("name")
            .and_then(|n| n.as_str())
            .unwrap()
            .to_string();
        if let Some(uses) = step.as_mapping_get("uses").and_then(|u| u.as_str()) {
            assert!(
                uses.starts_with("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1")
                    || uses.starts_with(UPLOAD_ARTIFACT)
                    || uses == format!("acme/lifeline@{SHA}"),
                "{name}: {uses}"
            );
            continue;
        }
        let run = step
            .as_mapping_get("run")
            .and_then(|r| r.as_str())
            .unwrap()
            .to_string();
        assert!(!run.contains("${{"), "{name}: an expression inside run:");
        let mut env = BTreeMap::new();
        if let Some(map) = step.as_mapping_get("env").and_then(|e| e.as_mapping()) {
            for (k, v) in map {
                let key = k.as_str().unwrap().to_string();
                let value = v.as_str().unwrap();
                let value = match value
                    .strip_prefix("${{ ")
                    .and_then(|v| v.strip_suffix(" }}"))
                {
                    Some("github.token") => TOKEN.to_string(),
                    Some("steps.report.outputs.artifact-url") => ARTIFACT_URL.to_string(),
                    Some(expr) => context
                        .iter()
                        .find(|(k, _)| *k == expr)
                        .map(|(_, v)| v.to_string())
                        .unwrap_or_else(|| panic!("{name}: no value for {expr}")),
                    None => {
                        assert!(!value.contains("${{"), "{name}: {value}");
                        value.to_string()
                    }
                };
                env.insert(key, value);
            }
        }
        out.push(Step { name, run, env });
    }
    out
}

/// Runs one step the way the runner does (`bash --noprofile --norc -eo
/// pipefail`), with the variables GitHub Actions sets.
fn execute(repo: &Repo, fake: &FakeGitHub, step: &Step, event: &str) -> std::process::Output {
    let runner_temp = repo.join(".runner");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let script = runner_temp.join("step.sh");
    std::fs::write(&script, &step.run).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_lifeline")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script)
        .current_dir(repo.path());
    for (key, _) in std::env::vars() {
        if key.starts_with("GITHUB_") || key.starts_with("GIT_") || key == "GH_TOKEN" {
            cmd.env_remove(key);
        }
    }
    cmd.env("PATH", path)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_REPOSITORY", "acme/plan")
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_ACTOR", "octocat")
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_REF_NAME", "main")
        .env("GITHUB_WORKFLOW", "lifeline")
        .env("GITHUB_OUTPUT", runner_temp.join("output"))
        .env("GITHUB_STEP_SUMMARY", runner_temp.join("summary"))
        .env("RUNNER_TEMP", &runner_temp)
        .envs(&step.env);
    cmd.output().unwrap()
}

fn newest_checkpoint(repo: &Repo) -> String {
    let out = repo
        .lifeline()
        .args(["checkpoint", "list", "--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    doc["checkpoints"][0]["id"].as_str().unwrap().to_string()
}

/// The sample repository with a bare origin (so checkpoint fetch and push
/// and recover --push have somewhere to go), set up by init.
fn adopted() -> (Repo, tempfile::TempDir) {
    let repo = Repo::sample();
    init(&repo, &[]).assert().code(0);
    repo.write(".gitignore", ".runner/\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "lifeline init"]);
    let origin = tempfile::tempdir().unwrap();
    let out = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(origin.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    repo.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    (repo, origin)
}

#[test]
fn the_health_workflow_steps_run_against_the_fake_github() {
    let (repo, _origin) = adopted();
    // A checkpoint another run pushed: the fetch step brings it back.
    repo.lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "baseline",
            "--push",
        ])
        .assert()
        .code(0);
    let id = newest_checkpoint(&repo);
    repo.git(&[
        "update-ref",
        "-d",
        &format!("refs/lifeline/checkpoints/{id}"),
    ]);

    let fake = FakeGitHub::start().unwrap();
    let steps = run_steps(&repo.join(HEALTH), "health", &[]);
    assert_eq!(
        steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        [
            "Fetch checkpoints",
            "Check health and alert",
            "Write the recovery report",
            "Link the report from the step summary"
        ]
    );
    for step in &steps {
        let out = execute(&repo, &fake, step, "schedule");
        assert!(
            out.status.success(),
            "{}: {}\n{}",
            step.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(TOKEN)
                && !String::from_utf8_lossy(&out.stderr).contains(TOKEN)
        );
    }
    assert!(
        repo.git(&["for-each-ref", "refs/lifeline/checkpoints/"])
            .contains(&id)
    );
    // Health asked GitHub, with the token, and reported to the summary.
    assert!(!fake.log().is_empty());
    assert!(fake.log().iter().all(|l| l.authorized));
    let summary = std::fs::read_to_string(repo.join(".runner/summary")).unwrap();
    assert!(!summary.is_empty());
    assert_report_uploaded(&repo);
}

/// The recovery report the workflow wrote for the upload step, and the
/// step summary's link to the uploaded artifact.
fn assert_report_uploaded(repo: &Repo) {
    let page = std::fs::read_to_string(repo.join(".runner/lifeline-report.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("id=\"figure-automated\""), "{page}");
    let summary = std::fs::read_to_string(repo.join(".runner/summary")).unwrap();
    assert!(
        summary.contains(&format!(
            "[Recovery report (HTML, with charts)]({ARTIFACT_URL})"
        )),
        "{summary}"
    );
}

/// Runs the emergency workflow's step for task-file-corruption after a
/// bot pushed a broken TASK.md; `checkpoint` as the dispatch input.
/// Asserts the runbook restored, committed, pushed and opened the
/// follow-up issue; returns the pushed commit's message.
fn run_emergency(repo: &Repo, origin: &tempfile::TempDir, checkpoint: &str) -> String {
    repo.corrupt("TASK.duplicate-id.md", "planning/TASK.md");
    repo.git(&["commit", "-q", "-am", "bot: sync"]);
    repo.git(&["push", "-q", "origin", "main"]);

    let fake = FakeGitHub::start().unwrap();
    let steps = run_steps(
        &repo.join(EMERGENCY),
        "recover",
        &[
            ("inputs.recovery_type", "task-file-corruption"),
            ("inputs.checkpoint_id", checkpoint),
            ("inputs.severity", "P1"),
        ],
    );
    assert_eq!(steps.len(), 3);
    for step in &steps {
        let out = execute(repo, &fake, step, "workflow_dispatch");
        assert!(
            out.status.success(),
            "{}: {}\n{}",
            step.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_report_uploaded(repo);
    repo.lifeline().arg("validate").assert().code(0);
    assert_eq!(
        on_origin(origin, &["log", "-1", "--format=%an", "main"]).trim(),
        "github-actions[bot]"
    );
    let issues = fake.with(|s| s.issues.clone());
    assert_eq!(issues.len(), 1, "{issues:?}");
    on_origin(origin, &["log", "-1", "--format=%B", "main"])
}

#[test]
fn the_emergency_workflow_restores_a_checkpoint_another_run_pushed() {
    let (repo, origin) = adopted();
    repo.lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "baseline",
            "--push",
        ])
        .assert()
        .code(0);
    let id = newest_checkpoint(&repo);
    // Only the remote has it: the workflow's fetch must bring it.
    repo.git(&[
        "update-ref",
        "-d",
        &format!("refs/lifeline/checkpoints/{id}"),
    ]);
    let message = run_emergency(&repo, &origin, &id);
    assert!(message.contains(&id), "{message}");
}

#[test]
fn the_emergency_workflow_without_a_checkpoint_walks_back_the_history() {
    let (repo, origin) = adopted();
    run_emergency(&repo, &origin, "");
}

/// Runs the `--print-example` workflow's steps with `command` as the
/// team's own step, as the runner would: after a failed step only the
/// `!cancelled()` ones run. Returns the repository, its origin, and
/// whether the guarded step succeeded.
fn run_example(command: &str) -> (Repo, tempfile::TempDir, bool) {
    let (repo, origin) = adopted();
    let example = stdout(
        &repo
            .lifeline()
            .args(["init", "--print-example", "--action", &action()])
            .assert()
            .code(0),
    );
    assert!(example.contains("-- python scripts/sync_tasks.py\n"));
    let path = repo.join(".runner/example.yml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        example.replace("python scripts/sync_tasks.py", command),
    )
    .unwrap();
    let fake = FakeGitHub::start().unwrap();
    let mut outcome = "success";
    let mut names = Vec::new();
    for step in run_steps(&path, "sync", &[("steps.sync.outcome", "success")]) {
        let mut step = step;
        if let Some(v) = step.env.get_mut("OUTCOME") {
            *v = outcome.to_string();
        }
        let out = execute(&repo, &fake, &step, "schedule");
        names.push(step.name.clone());
        if step.name.starts_with("Sync tasks") {
            outcome = if out.status.success() {
                "success"
            } else {
                "failure"
            };
            continue;
        }
        assert!(
            out.status.success(),
            "{}: {}\n{}",
            step.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(names.len(), 6, "{names:?}");
    (repo, origin, outcome == "success")
}

fn on_origin(origin: &tempfile::TempDir, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(origin.path())
        .args(args)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// The audit trail as pushed: one commit touching only docs/audit.
fn pushed_audit(origin: &tempfile::TempDir) -> String {
    assert_eq!(
        on_origin(origin, &["log", "-1", "--format=%s", "main"]).trim(),
        "audit: task-sync run 4242"
    );
    let files = on_origin(origin, &["show", "--name-only", "--format=", "main"]);
    assert!(
        files.lines().all(|f| f.starts_with("docs/audit/")),
        "{files}"
    );
    on_origin(
        origin,
        &["show", &format!("main:{}", files.lines().next().unwrap())],
    )
}

#[test]
fn the_guarded_step_example_runs_end_to_end() {
    let (_repo, origin, succeeded) = run_example("git status --short");
    assert!(succeeded);
    // The guarded run's checkpoint reached the remote, and so did the
    // audit trail with the start and the completion.
    assert!(
        on_origin(&origin, &["for-each-ref", "refs/lifeline/checkpoints/"]).contains("task-sync-")
    );
    let audit = pushed_audit(&origin);
    assert!(audit.contains("workflow_start") && audit.contains("workflow_complete"));
    assert!(!audit.contains("\"failure\""), "{audit}");
}

#[test]
fn a_failing_guarded_step_is_rolled_back_and_recorded() {
    let (repo, origin, succeeded) = run_example("sh -c 'echo broken > planning/TASK.md; exit 3'");
    assert!(!succeeded);
    // lifeline run put TASK.md back; the failure is in the pushed trail.
    repo.lifeline().arg("validate").assert().code(0);
    let audit = pushed_audit(&origin);
    assert!(audit.contains("sync step: failure"), "{audit}");
}

/// The fake GitHub serving `assets` as the release `v<version>` of
/// acme/lifeline; the URL is the release's download base. The release is
/// served while the fake lives.
fn serve(assets: BTreeMap<String, Vec<u8>>) -> (FakeGitHub, String) {
    let fake = FakeGitHub::start().unwrap();
    let release = format!(
        "acme/lifeline/releases/download/v{}",
        env!("CARGO_PKG_VERSION")
    );
    let url = format!("{}/{release}", fake.url());
    fake.with(|s| {
        s.downloads = assets
            .into_iter()
            .map(|(name, bytes)| (format!("{release}/{name}"), bytes))
            .collect()
    });
    (fake, url)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The SHA-256 lines action.yml would carry for this version: `binary`'s
/// for the Linux x86_64 asset, another for aarch64.
fn committed_sums(binary: &[u8]) -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        "# BEGIN SHA256SUMS\n{}  lifeline-v{version}-aarch64-unknown-linux-musl\n{}  lifeline-v{version}-x86_64-unknown-linux-musl\n# END SHA256SUMS\n",
        sha256_hex(b"another binary"),
        sha256_hex(binary)
    )
}

/// Runs the composite action's install script against `url` as a Linux
/// x86_64 runner would, with `sums` committed in action.yml and a `gh`
/// whose `attestation verify` exits `gh_exit` (and logs its arguments to
/// `dir/gh.args`).
fn install(
    url: &str,
    dir: &Path,
    repository: &str,
    sums: &str,
    gh_exit: i32,
) -> std::process::Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-lifeline.sh");
    let fakebin = dir.join("fakebin");
    std::fs::create_dir_all(&fakebin).unwrap();
    let gh = fakebin.join("gh");
    std::fs::write(
        &gh,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n[ {gh_exit} = 0 ] || echo 'no attestation matched' >&2\nexit {gh_exit}\n",
            dir.join("gh.args").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&gh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fakebin.display(), std::env::var("PATH").unwrap());
    Command::new("bash")
        .arg(script)
        .env("PATH", path)
        .env("LIFELINE_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("LIFELINE_REPOSITORY", repository)
        .env("LIFELINE_SHA256SUMS", sums)
        .env("LIFELINE_DOWNLOAD_URL", url)
        .env("LIFELINE_INSTALL_DIR", dir.join("bin"))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", dir)
        .env("GITHUB_PATH", dir.join("path"))
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env_remove("LIFELINE_VERSION")
        .output()
        .unwrap()
}

/// A release serving `binary` as the Linux x86_64 asset, and a forged
/// SHA256SUMS beside it that the script must not read.
fn release(binary: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let asset = format!(
        "lifeline-v{}-x86_64-unknown-linux-musl",
        env!("CARGO_PKG_VERSION")
    );
    let forged = format!("{}  {asset}\n", sha256_hex(binary));
    BTreeMap::from([
        (asset, binary.to_vec()),
        ("SHA256SUMS".to_string(), forged.into_bytes()),
    ])
}

fn err(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_install_script_puts_a_verified_binary_on_path() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_lifeline")).unwrap();
    let (_release, url) = serve(release(&binary));
    let dir = tempfile::tempdir().unwrap();
    let out = install(
        &url,
        dir.path(),
        "acme/lifeline",
        &committed_sums(&binary),
        0,
    );
    assert!(out.status.success(), "{}", err(&out));
    let installed: PathBuf = dir.path().join("bin/lifeline");
    assert_eq!(std::fs::read(&installed).unwrap(), binary);
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("lifeline {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("path")).unwrap(),
        format!("{}\n", dir.path().join("bin").display())
    );
    let outputs = std::fs::read_to_string(dir.path().join("output")).unwrap();
    assert!(outputs.contains(&format!("path={}", installed.display())));
    // The attestation was checked against lifeline's release workflow and tag.
    let gh = std::fs::read_to_string(dir.path().join("gh.args")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(gh.starts_with("attestation verify "), "{gh}");
    assert!(
        gh.contains(&format!(
            "--repo acme/lifeline --signer-workflow acme/lifeline/.github/workflows/release.yml --source-ref refs/tags/v{version} --deny-self-hosted-runners"
        )),
        "{gh}"
    );
}

#[test]
fn the_install_script_refuses_a_tampered_binary() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_lifeline")).unwrap();
    let mut tampered = binary.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    // The release's own SHA256SUMS matches the tampered binary: only the
    // committed checksum catches it.
    let (_release, url) = serve(release(&tampered));
    let dir = tempfile::tempdir().unwrap();
    let out = install(
        &url,
        dir.path(),
        "acme/lifeline",
        &committed_sums(&binary),
        0,
    );
    assert!(!out.status.success());
    assert!(err(&out).contains("checksum mismatch"), "{}", err(&out));
    assert!(
        err(&out).contains("(committed in action.yml)"),
        "{}",
        err(&out)
    );
    assert!(!dir.path().join("bin/lifeline").exists());
    assert!(!dir.path().join("path").exists());
}

#[test]
fn the_install_script_needs_the_attestation_and_never_guesses_the_repository() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_lifeline")).unwrap();
    let (_release, url) = serve(release(&binary));
    // The checksum matches, the attestation does not verify: refused.
    let dir = tempfile::tempdir().unwrap();
    let out = install(
        &url,
        dir.path(),
        "acme/lifeline",
        &committed_sums(&binary),
        1,
    );
    assert!(!out.status.success());
    assert!(
        err(&out).contains("the build-provenance attestation of lifeline-v"),
        "{}",
        err(&out)
    );
    assert!(!dir.path().join("bin/lifeline").exists());
    // No committed checksum for this version: the attestation alone, said so.
    let dir = tempfile::tempdir().unwrap();
    let out = install(
        &url,
        dir.path(),
        "acme/lifeline",
        "# BEGIN SHA256SUMS\n# END SHA256SUMS\n",
        0,
    );
    assert!(out.status.success(), "{}", err(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no committed checksum"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = install(&url, dir.path(), "acme/lifeline", "", 1);
    assert!(!out.status.success());
    assert!(!dir.path().join("bin/lifeline").exists());
    // No repository, or not owner/name: refused before any download.
    for bad in ["", "acme", "../x", "acme/lifeline/extra", "/x"] {
        let dir = tempfile::tempdir().unwrap();
        let out = install(&url, dir.path(), bad, &committed_sums(&binary), 0);
        assert!(!out.status.success(), "{bad}");
        assert!(err(&out).contains("repository"), "{bad}: {}", err(&out));
        assert!(!dir.path().join("gh.args").exists(), "{bad}");
    }
    // Plain http beyond loopback is refused.
    let dir = tempfile::tempdir().unwrap();
    let out = install(
        "http://example.invalid/releases",
        dir.path(),
        "acme/lifeline",
        &committed_sums(&binary),
        0,
    );
    assert!(!out.status.success());
    assert!(err(&out).contains("https only"), "{}", err(&out));
}

/// `cargo binstall` and `taiki-e/install-action` read
/// `[package.metadata.binstall]`: its URL must name the asset the release
/// workflow publishes, and that workflow must attest it with a pinned
/// `actions/attest-build-provenance`.
#[test]
fn binstall_metadata_names_the_release_assets_and_the_release_attests_them() {
    let manifest: toml::Table =
        toml::from_str(include_str!("../../Cargo.toml")).expect("Cargo.toml parses");
    let binstall = &manifest["package"]["metadata"]["binstall"];
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("bin"));
    let expand = |template: &str, target: &str| {
        template
            .replace("{ repo }", "https://github.com/acme/lifeline")
            .replace("{ version }", "0.1.0")
            .replace("{ target }", target)
    };
    let url = |target: &str| {
        let table = binstall
            .get("overrides")
            .and_then(|o| o.get(target))
            .unwrap_or(binstall);
        expand(table["pkg-url"].as_str().unwrap(), target)
    };
    let base = "https://github.com/acme/lifeline/releases/download/v0.1.0";
    for (target, asset) in [
        ("x86_64-unknown-linux-musl", "x86_64-unknown-linux-musl"),
        ("aarch64-apple-darwin", "aarch64-apple-darwin"),
        ("x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"),
        ("aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"),
    ] {
        assert_eq!(
            url(target),
            format!("{base}/lifeline-v0.1.0-{asset}"),
            "{target}"
        );
    }
    let release = include_str!("../../.github/workflows/release.yml");
    // The asset name the workflow publishes: lifeline-$TAG-$TARGET, TAG = v0.1.0.
    assert!(release.contains("cp \"$bin\" \"dist/lifeline-$TAG-$TARGET\""));
    let attest = release
        .lines()
        .find(|l| l.contains("uses: actions/attest-build-provenance@"))
        .expect("the release attests build provenance");
    let sha = attest
        .split('@')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(
        sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{attest}"
    );
    assert!(release.contains("subject-path: dist/lifeline-*"));
    assert!(release.contains("id-token: write") && release.contains("attestations: write"));
}
