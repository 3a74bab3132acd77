//! `lifeline recover` runbooks and `lifeline incident`, end to end in temp
//! repositories with a bare origin and the fake GitHub.

use crate::common;

use std::path::Path;

use common::{Repo, stderr, stdout};
use lifeline::github::fake::FakeGitHub;

const TOKEN: &str = "ghs_0123456789abcdefghijABCDEFGHIJ0123";

/// The sample repository with a bare origin it has pushed to, and the
/// plan's workflows.
fn with_origin() -> (Repo, tempfile::TempDir) {
    let repo = Repo::sample();
    for w in [
        "task-archive.yml",
        "auto-update-metadata.yml",
        "lifeline-emergency-recovery.yml",
    ] {
        repo.write(
            &format!(".github/workflows/{w}"),
            "on: workflow_dispatch\njobs: {}\n",
        );
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "workflows"]);
    let origin = tempfile::tempdir().unwrap();
    run_git(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    repo.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    (repo, origin)
}

fn run_git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Other")
        .env("GIT_AUTHOR_EMAIL", "other@example.com")
        .env("GIT_COMMITTER_NAME", "Other")
        .env("GIT_COMMITTER_EMAIL", "other@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn incident_id(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("INC-"))
        .unwrap()
        .trim_end_matches(':')
        .to_string()
}

#[test]
fn sync_cascade_disables_through_the_api_and_resume_re_enables() {
    let (repo, _origin) = with_origin();
    let fake = FakeGitHub::start().unwrap();
    let api = |cmd: &mut assert_cmd::Command| {
        cmd.env("GITHUB_API_URL", fake.url())
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_REPOSITORY", "acme/plan")
            .env("GITHUB_ACTOR", "oncall");
    };
    let mut cmd = repo.lifeline();
    api(&mut cmd);
    let out = cmd
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P1",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(
        text.contains("disabled task-sync.yml through the GitHub API"),
        "{text}"
    );
    assert!(stderr(&out).contains("warning: no authority is configured for P1"));
    assert_eq!(fake.with(|s| s.workflows[0].1.clone()), "disabled_manually");
    // The repository's files are untouched; the record says how to undo.
    assert!(repo.join(".github/workflows/task-sync.yml").exists());
    let id = incident_id(&text);
    let record = repo.read(&format!("docs/incidents/{id}.md"));
    assert!(record.contains("**Severity**: P1"), "{record}");
    assert!(record.contains("**Operator**: github:oncall"), "{record}");
    assert!(
        record.contains(&format!("lifeline recover resume {id}")),
        "{record}"
    );
    let mut cmd = repo.lifeline();
    api(&mut cmd);
    let out = cmd
        .args(["recover", "--yes", "resume", &id])
        .assert()
        .code(0);
    assert!(stdout(&out).contains("re-enabled task-sync.yml through the GitHub API"));
    assert_eq!(fake.with(|s| s.workflows[0].1.clone()), "active");
}

#[test]
fn without_a_token_workflows_are_renamed_and_renamed_back() {
    let (repo, _origin) = with_origin();
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P2",
        ])
        .assert()
        .code(0);
    let id = incident_id(&stdout(&out));
    assert!(!repo.join(".github/workflows/task-sync.yml").exists());
    assert!(
        repo.join(".github/workflows/task-sync.yml.disabled")
            .exists()
    );
    repo.lifeline()
        .args(["recover", "--yes", "resume", &id])
        .assert()
        .code(0);
    assert!(repo.join(".github/workflows/task-sync.yml").exists());
    assert!(
        !repo
            .join(".github/workflows/task-sync.yml.disabled")
            .exists()
    );
}

#[test]
fn complete_failure_commits_exactly_what_it_changed() {
    let (repo, _origin) = with_origin();
    repo.write("unrelated.txt", "work in progress\n");
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "complete-automation-failure",
            "--severity",
            "P1",
            "--commit",
        ])
        .assert()
        .code(0);
    let id = incident_id(&stdout(&out));
    assert!(
        repo.join(".github/workflows/lifeline-emergency-recovery.yml")
            .exists()
    );
    let files = repo.git(&["show", "--name-status", "--format=%B", "HEAD"]);
    assert!(
        files.starts_with("emergency: recovery from complete-automation-failure"),
        "{files}"
    );
    assert!(files.contains(&format!("Incident: {id}")), "{files}");
    assert!(
        files.contains("docs/manual-recovery-instructions.md"),
        "{files}"
    );
    assert!(
        files.contains(&format!("docs/incidents/{id}.md")),
        "{files}"
    );
    assert!(files.contains("task-sync.yml.disabled"), "{files}");
    assert!(!files.contains("unrelated.txt"), "{files}");
    assert!(
        !files.contains("lifeline-emergency-recovery.yml"),
        "{files}"
    );
    assert!(
        repo.git(&["status", "--porcelain"])
            .contains("unrelated.txt")
    );
}

#[test]
fn a_rejected_push_is_retried_after_rebasing() {
    let (repo, origin) = with_origin();
    // Someone else pushes first.
    let other = tempfile::tempdir().unwrap();
    run_git(
        other.path(),
        &["clone", "-q", origin.path().to_str().unwrap(), "."],
    );
    std::fs::write(other.path().join("NOTES.md"), "elsewhere\n").unwrap();
    run_git(other.path(), &["add", "NOTES.md"]);
    run_git(other.path(), &["commit", "-q", "-m", "other"]);
    run_git(other.path(), &["push", "-q", "origin", "main"]);
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P2",
            "--commit",
            "--push",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(text.contains("push rejected"), "{text}");
    assert!(text.contains("pushed to origin/main"), "{text}");
    let log = run_git(origin.path(), &["log", "--format=%s", "main"]);
    assert!(
        log.starts_with("emergency: recovery from sync-failure-cascade\nother\n"),
        "{log}"
    );
}

#[test]
fn a_deleted_object_is_recovered_from_origin() {
    let (repo, _origin) = with_origin();
    let blob = repo
        .git(&["rev-parse", "HEAD:planning/TASK.md"])
        .trim()
        .to_string();
    let object = repo.join(&format!(".git/objects/{}/{}", &blob[..2], &blob[2..]));
    assert!(object.exists(), "loose object expected");
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::remove_file(&object).unwrap();
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "git-history-corruption",
            "--severity",
            "P0",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("missing or corrupt object {blob}")),
        "{text}"
    );
    assert!(text.contains("git fsck --full is clean again"), "{text}");
    repo.git(&["cat-file", "-e", &blob]);
}

#[test]
fn an_actor_without_authority_is_refused_and_audited() {
    let (repo, _origin) = with_origin();
    repo.write("lifeline.toml", "[severity.P1]\nauthority = [\"@lead\"]\n");
    repo.git(&["add", "lifeline.toml"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    repo.git(&["push", "-q", "origin", "main"]);
    let out = repo
        .lifeline()
        .env("GITHUB_ACTOR", "intruder")
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P1",
        ])
        .assert()
        .code(2);
    assert!(
        stderr(&out)
            .contains("github:intruder may not run P1 recovery: the severity policy in origin/main:lifeline.toml allows @lead"),
        "{}",
        stderr(&out)
    );
    assert!(
        repo.join(".github/workflows/task-sync.yml").exists(),
        "nothing done"
    );
    let audit = repo
        .lifeline()
        .args([
            "audit",
            "query",
            "--component",
            "recover",
            "--format",
            "json",
        ])
        .assert()
        .code(0);
    let text = stdout(&audit);
    assert!(
        text.contains("intruder") && text.contains("failure"),
        "{text}"
    );
    repo.lifeline()
        .env("GITHUB_ACTOR", "lead")
        .args([
            "recover",
            "sync-failure-cascade",
            "--severity",
            "P1",
            "--dry-run",
        ])
        .assert()
        .code(0);
}

#[test]
fn dry_run_changes_nothing() {
    let (repo, _origin) = with_origin();
    let out = repo
        .lifeline()
        .args([
            "recover",
            "complete-automation-failure",
            "--severity",
            "P1",
            "--dry-run",
        ])
        .assert()
        .code(0);
    assert!(
        stdout(&out).starts_with("dry run: nothing changed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn incidents_are_listed_noted_resolved_and_followed_up() {
    let (repo, _origin) = with_origin();
    let fake = FakeGitHub::start().unwrap();
    let out = repo
        .lifeline()
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/plan")
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P2",
            "--follow-up-issue",
        ])
        .assert()
        .code(0);
    let id = incident_id(&stdout(&out));
    let issue = fake.with(|s| s.issues[0].clone());
    assert_eq!(
        issue["title"],
        format!("[POST-INCIDENT] Follow-up for {id}")
    );
    let labels: Vec<&str> = issue["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["incident", "post-recovery", "priority/medium"]);
    let list = repo.lifeline().args(["incident", "list"]).assert().code(0);
    assert!(stdout(&list).contains(&id));
    repo.lifeline()
        .args(["incident", "note", &id, "root cause: token expired"])
        .assert()
        .code(0);
    repo.lifeline()
        .args(["incident", "resolve", &id[..20]])
        .assert()
        .code(0);
    let shown = repo
        .lifeline()
        .args(["incident", "show", &id, "--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(doc["status"], "resolved");
    assert_eq!(doc["notes"][0]["text"], "root cause: token expired");
    assert!(doc["resolved_at"].is_string());
}

#[test]
fn task_file_corruption_walks_back_to_the_newest_valid_revision() {
    let (repo, _origin) = with_origin();
    let good = repo.read("planning/TASK.md");
    let good_commit =
        repo.git(&["log", "-1", "--format=%H", "--", "planning/TASK.md"])[..12].to_string();
    // The last three commits all broke TASK.md.
    for (fixture, message) in [
        ("TASK.duplicate-id.md", "sync: bad 1"),
        ("TASK.truncated.md", "sync: bad 2"),
        ("TASK.conflict.md", "sync: bad 3"),
    ] {
        repo.corrupt(fixture, "planning/TASK.md");
        repo.git(&["commit", "-q", "-am", message]);
    }
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "task-file-corruption",
            "--severity",
            "P2",
            "--commit",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(
        text.contains("skipped 3 newer revision(s) of planning/TASK.md"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "newest revision of planning/TASK.md that validates: {good_commit}"
        )),
        "{text}"
    );
    assert_eq!(repo.read("planning/TASK.md"), good);
    // The record says why each newer revision was passed over: the rule
    // and the line of its findings.
    let id = incident_id(&text);
    let record = repo.read(&format!("docs/incidents/{id}.md"));
    let skipped = record
        .lines()
        .find(|l| l.contains("skipped 3 newer revision(s)"))
        .unwrap_or_else(|| panic!("{record}"));
    assert!(
        skipped.matches("planning/TASK.md:").count() >= 3,
        "{skipped}"
    );
    assert!(skipped.contains("(TASK0"), "{skipped}");
    let committed = repo.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert!(committed.contains("planning/TASK.md"), "{committed}");
    // The broken state is kept for forensics.
    let list = repo
        .lifeline()
        .args(["checkpoint", "list"])
        .assert()
        .code(0);
    assert!(stdout(&list).contains("pre-restore"), "{}", stdout(&list));
}

#[test]
fn sprint_config_is_rebuilt_from_the_task_header_when_history_has_none() {
    let repo = Repo::sample();
    repo.corrupt("sprint.config.bad-json.json", "planning/sprint.config.json");
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "sprint-config-corruption",
            "--severity",
            "P1",
        ])
        .assert();
    let text = stdout(&out);
    // The sample's committed config is valid, so history wins here.
    assert!(
        text.contains("newest revision of planning/sprint.config.json that validates"),
        "{text}"
    );
    // A repository whose history has no valid config at all.
    let fresh = Repo::bare_dir();
    for f in ["planning/TASK.md", ".github/labels.yml"] {
        fresh.write(f, repo.read(f));
    }
    fresh.corrupt("sprint.config.bad-json.json", "planning/sprint.config.json");
    fresh.git(&["init", "-q"]);
    let out = fresh
        .lifeline()
        .args([
            "recover",
            "--yes",
            "sprint-config-corruption",
            "--severity",
            "P1",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(
        text.contains("rebuilt from planning/TASK.md's sprint header"),
        "{text}"
    );
    fresh.lifeline().args(["validate"]).assert().code(0);
}

#[test]
fn task_file_corruption_restores_a_given_checkpoint() {
    let (repo, _origin) = with_origin();
    let good = repo.read("planning/TASK.md");
    repo.checkpoint("task-sync", "before sync");
    repo.corrupt("TASK.cycle.md", "planning/TASK.md");
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "task-file-corruption",
            "--severity",
            "P2",
            "--checkpoint",
            "latest-valid",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(text.contains("restore of checkpoint task-sync-"), "{text}");
    assert_eq!(repo.read("planning/TASK.md"), good);
}

#[test]
fn sync_cascade_with_a_checkpoint_restores_it_too() {
    let (repo, _origin) = with_origin();
    let good = repo.read("planning/sprint.config.json");
    repo.checkpoint("task-sync", "before sync");
    repo.corrupt(
        "sprint.config.bad-dates.json",
        "planning/sprint.config.json",
    );
    repo.lifeline()
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P1",
            "--checkpoint",
            "latest",
        ])
        .assert()
        .code(0);
    assert_eq!(repo.read("planning/sprint.config.json"), good);
    assert!(
        repo.join(".github/workflows/task-sync.yml.disabled")
            .exists()
    );
}

#[test]
fn prune_keeps_checkpoints_an_open_incident_names() {
    let (repo, _origin) = with_origin();
    for op in ["one", "two", "three"] {
        repo.checkpoint("task-sync", op);
    }
    let list = repo
        .lifeline()
        .args(["checkpoint", "list", "--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    let oldest = doc["checkpoints"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P2",
            "--checkpoint",
            &oldest,
        ])
        .assert()
        .code(0);
    let id = incident_id(&stdout(&out));
    let prune = repo
        .lifeline()
        .args([
            "checkpoint",
            "prune",
            "--keep-last",
            "1",
            "--dry-run",
            "--format",
            "json",
        ])
        .assert()
        .code(0);
    let text = stdout(&prune);
    let pruned = serde_json::from_str::<serde_json::Value>(&text).unwrap();
    let decision = pruned["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["checkpoint"]["id"] == oldest.as_str())
        .unwrap()
        .clone();
    assert_eq!(decision["keep"], true, "{decision}");
    assert!(
        decision["reasons"].to_string().contains("incident"),
        "{decision}"
    );
    // Resolved, the incident no longer pins it.
    repo.lifeline()
        .args(["incident", "resolve", &id])
        .assert()
        .code(0);
    let prune = repo
        .lifeline()
        .args([
            "checkpoint",
            "prune",
            "--keep-last",
            "1",
            "--dry-run",
            "--format",
            "json",
        ])
        .assert()
        .code(0);
    assert!(!stdout(&prune).contains("incident"), "{}", stdout(&prune));
}

#[test]
fn a_broken_branch_is_moved_back_only_with_yes() {
    let (repo, _origin) = with_origin();
    repo.checkpoint("manual", "baseline");
    let good = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    // The branch now points at an object that does not exist, and its
    // reflog is gone: only the checkpoint remembers where it was.
    std::fs::write(
        repo.join(".git/refs/heads/main"),
        "1234567890123456789012345678901234567890\n",
    )
    .unwrap();
    let _ = std::fs::remove_file(repo.join(".git/logs/refs/heads/main"));
    let out = repo
        .lifeline()
        .args(["recover", "git-history-corruption", "--severity", "P0"])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(repo.join(".git/refs/heads/main")).unwrap(),
        "1234567890123456789012345678901234567890\n",
        "nothing changed without --yes"
    );
    let out = repo
        .lifeline()
        .args([
            "recover",
            "git-history-corruption",
            "--severity",
            "P0",
            "--dry-run",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "would move refs/heads/main back to {good} (the HEAD its newest checkpoint recorded)"
        )),
        "{text}"
    );
    let out = repo
        .lifeline()
        .args([
            "recover",
            "git-history-corruption",
            "--severity",
            "P0",
            "--yes",
        ])
        .assert()
        .code(0);
    assert!(
        stdout(&out).contains("git fsck --full is clean again"),
        "{}",
        stdout(&out)
    );
    assert_eq!(repo.git(&["rev-parse", "refs/heads/main"]).trim(), good);
}

#[test]
fn a_rebase_onto_files_broken_meanwhile_is_validated_and_not_pushed() {
    let (repo, origin) = with_origin();
    // A bot keeps writing during the incident and breaks TASK.md.
    let other = tempfile::tempdir().unwrap();
    run_git(
        other.path(),
        &["clone", "-q", origin.path().to_str().unwrap(), "."],
    );
    std::fs::copy(
        Path::new(common::FIXTURES).join("corrupt/TASK.duplicate-id.md"),
        other.path().join("planning/TASK.md"),
    )
    .unwrap();
    run_git(other.path(), &["commit", "-q", "-am", "bot: sync"]);
    run_git(other.path(), &["push", "-q", "origin", "main"]);
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P2",
            "--commit",
            "--push",
        ])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains("push rejected"), "{text}");
    assert!(
        text.contains("after rebasing onto origin/main validation FAILED: planning/TASK.md"),
        "{text}"
    );
    assert!(text.contains("planning/TASK.md:"), "findings named: {text}");
    assert!(text.contains("not pushed"), "{text}");
    assert!(!text.contains("pushed to origin"), "{text}");
    let log = run_git(origin.path(), &["log", "--format=%s", "main"]);
    assert!(log.starts_with("bot: sync\n"), "nothing pushed: {log}");
    let id = incident_id(&text);
    let record = repo.read(&format!("docs/incidents/{id}.md"));
    assert!(record.contains("not pushed"), "{record}");
}

#[test]
fn the_authority_policy_comes_from_the_default_branch_not_the_dispatched_ref() {
    let (repo, origin) = with_origin();
    repo.write("lifeline.toml", "[severity.P0]\nauthority = [\"@lead\"]\n");
    repo.git(&["add", "lifeline.toml"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    repo.git(&["push", "-q", "origin", "main"]);
    // A branch that lets anyone in, pushed and dispatched on: checked out
    // the way actions/checkout does it (shallow, that branch only).
    repo.git(&["checkout", "-q", "-b", "open-door"]);
    repo.write("lifeline.toml", "[severity.P0]\nauthority = []\n");
    repo.git(&["commit", "-q", "-am", "anyone may recover"]);
    repo.git(&["push", "-q", "origin", "open-door"]);
    let ci = tempfile::tempdir().unwrap();
    run_git(
        ci.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            "open-door",
            &format!("file://{}", origin.path().display()),
            ".",
        ],
    );
    let run = |actor: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lifeline"));
        cmd.current_dir(ci.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("GITHUB_") || key == "GH_TOKEN" {
                cmd.env_remove(key);
            }
        }
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTOR", actor)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args([
                "recover",
                "--yes",
                "git-history-corruption",
                "--severity",
                "P0",
                "--dry-run",
            ]);
        assert_cmd::Command::from_std(cmd).assert()
    };
    let out = run("intruder").code(2);
    assert!(
        stderr(&out).contains(
            "github:intruder may not run P0 recovery: the severity policy in origin/main:lifeline.toml allows @lead"
        ),
        "{}",
        stderr(&out)
    );
    run("lead").code(0);
}

#[test]
fn a_re_run_by_someone_else_needs_their_authority_too() {
    let (repo, _origin) = with_origin();
    repo.write("lifeline.toml", "[severity.P1]\nauthority = [\"@lead\"]\n");
    repo.git(&["add", "lifeline.toml"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    repo.git(&["push", "-q", "origin", "main"]);
    for (actor, triggering) in [("lead", "intruder"), ("intruder", "lead")] {
        let out = repo
            .lifeline()
            .env("GITHUB_ACTOR", actor)
            .env("GITHUB_TRIGGERING_ACTOR", triggering)
            .args([
                "recover",
                "--yes",
                "sync-failure-cascade",
                "--severity",
                "P1",
            ])
            .assert()
            .code(2);
        assert!(
            stderr(&out).contains("github:intruder may not run P1 recovery"),
            "{}",
            stderr(&out)
        );
        assert!(repo.join(".github/workflows/task-sync.yml").exists());
    }
    // Allowed both ways, the incident names who re-ran it.
    repo.write(
        "lifeline.toml",
        "[severity.P1]\nauthority = [\"@lead\", \"@second\"]\n",
    );
    repo.git(&["commit", "-q", "-am", "policy: two leads"]);
    repo.git(&["push", "-q", "origin", "main"]);
    let out = repo
        .lifeline()
        .env("GITHUB_ACTOR", "lead")
        .env("GITHUB_TRIGGERING_ACTOR", "second")
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P1",
        ])
        .assert()
        .code(0);
    let id = incident_id(&stdout(&out));
    let record = repo.read(&format!("docs/incidents/{id}.md"));
    assert!(record.contains("operator: \"github:second\""), "{record}");
    repo.lifeline()
        .env("GITHUB_ACTOR", "lead")
        .env("GITHUB_TRIGGERING_ACTOR", "lead")
        .args([
            "recover",
            "sync-failure-cascade",
            "--severity",
            "P1",
            "--dry-run",
        ])
        .assert()
        .code(0);
}

#[test]
fn without_a_terminal_or_yes_recover_changes_nothing_and_exits_2() {
    let (repo, _origin) = with_origin();
    let before = repo.git(&["status", "--porcelain", "--ignored"]);
    for args in [
        &["recover", "complete-automation-failure", "--severity", "P1"][..],
        &["recover", "resume", "INC-20261125T120700Z-7f3a"][..],
    ] {
        let out = repo.lifeline().args(args).assert().code(2);
        assert!(
            stderr(&out).contains("no terminal to confirm: pass --yes"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(repo.git(&["status", "--porcelain", "--ignored"]), before);
    assert!(!repo.join("docs/incidents").exists());
    let help = repo.lifeline().args(["recover", "--help"]).assert().code(0);
    assert!(
        stdout(&help).contains("Usage: lifeline recover <TYPE> --severity <P0-P3>"),
        "{}",
        stdout(&help)
    );
}

#[test]
fn dry_run_shows_the_plan_and_diffstat_restore_shows() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "baseline");
    repo.corrupt("TASK.truncated.md", "planning/TASK.md");
    repo.git(&["commit", "-q", "-am", "sync: truncated"]);
    let broken = repo.read("planning/TASK.md");
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    let restore = repo
        .lifeline()
        .args(["restore", &id, "--only", "planning/TASK.md", "--dry-run"])
        .assert()
        .code(0);
    let plan = stdout(&restore);
    let diffstat = plan
        .lines()
        .find(|l| l.trim_start().starts_with("restore ") && l.contains("planning/TASK.md"))
        .unwrap_or_else(|| panic!("{plan}"))
        .to_string();
    // With the checkpoint: the very plan restore prints.
    let out = repo
        .lifeline()
        .args([
            "recover",
            "task-file-corruption",
            "--severity",
            "P2",
            "--checkpoint",
            &id,
            "--dry-run",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(text.contains(&diffstat), "{diffstat}\n{text}");
    assert!(text.contains("1 restore, 0 create, 0 delete"), "{text}");
    // From history: the same form, naming the commit.
    let out = repo
        .lifeline()
        .args([
            "recover",
            "task-file-corruption",
            "--severity",
            "P2",
            "--dry-run",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(text.contains(&diffstat), "{diffstat}\n{text}");
    assert!(text.contains("(git history, "), "{text}");
    assert_eq!(repo.read("planning/TASK.md"), broken);
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        status
    );
}

#[test]
fn in_actions_the_default_branch_comes_from_the_event_or_the_run_stops() {
    let (repo, origin) = with_origin();
    repo.write("lifeline.toml", "[severity.P0]\nauthority = [\"@lead\"]\n");
    repo.git(&["add", "lifeline.toml"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    repo.git(&["push", "-q", "origin", "main"]);
    // The remote's HEAD names a branch that does not exist, and the
    // runner has no refs/remotes/origin/HEAD: only the event knows.
    run_git(origin.path(), &["symbolic-ref", "HEAD", "refs/heads/gone"]);
    repo.git(&["checkout", "-q", "-b", "open-door"]);
    repo.write("lifeline.toml", "[severity.P0]\nauthority = []\n");
    repo.git(&["commit", "-q", "-am", "anyone may recover"]);
    let args = [
        "recover",
        "--yes",
        "git-history-corruption",
        "--severity",
        "P0",
        "--dry-run",
    ];
    let out = repo
        .lifeline()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_ACTOR", "intruder")
        .args(args)
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains("cannot read the authority policy from the default branch"),
        "{}",
        stderr(&out)
    );
    let event = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        event.path(),
        r#"{"repository": {"default_branch": "main"}}"#,
    )
    .unwrap();
    let out = repo
        .lifeline()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_PATH", event.path())
        .env("GITHUB_ACTOR", "intruder")
        .args(args)
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains("the severity policy in origin/main:lifeline.toml allows @lead"),
        "{}",
        stderr(&out)
    );
    // Outside Actions, a person's run falls back to the local file and
    // says so.
    let out = repo
        .lifeline()
        .env("GITHUB_ACTOR", "intruder")
        .args(args)
        .assert()
        .code(0);
    assert!(
        stderr(&out).contains("the authority policy comes from the local lifeline.toml"),
        "{}",
        stderr(&out)
    );
}
