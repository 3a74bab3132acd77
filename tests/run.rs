//! `lifeline run -- CMD`: a guarded step through the real binary, with
//! shell one-liners standing in for bots that succeed, fail, break files,
//! hit a rate limit, or are cancelled.

#![cfg(unix)]

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};

use common::{Repo, stdout};

fn run_json(repo: &Repo, args: &[&str], script: &str, code: i32) -> serde_json::Value {
    let out = repo
        .lifeline()
        .args(["run", "--format", "json"])
        .args(args)
        .args(["--", "sh", "-c", script])
        .assert()
        .code(code);
    let text = stdout(&out);
    let json = &text[text.find("{\n").expect("an outcome object")..];
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn audit_operations(repo: &Repo) -> Vec<String> {
    let out = repo
        .lifeline()
        .args(["audit", "query", "--format", "json"])
        .assert()
        .code(0);
    let text = stdout(&out);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = value
        .as_array()
        .or_else(|| value["entries"].as_array())
        .cloned()
        .unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["component"].as_str().unwrap(),
                e["operation"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_successful_step_keeps_its_changes_and_passes_stdout_through() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args(["run", "--type", "task-sync", "--", "sh", "-c"])
        .arg("echo '<!-- synced -->' >> planning/TASK.md; echo from-the-step")
        .assert()
        .code(0);
    assert_eq!(stdout(&out), "from-the-step\n");
    assert!(repo.read("planning/TASK.md").ends_with("<!-- synced -->\n"));
    let ops = audit_operations(&repo);
    assert!(ops.contains(&"run/start".to_string()), "{ops:?}");
    assert!(ops.contains(&"run/outcome".to_string()), "{ops:?}");
}

#[test]
fn a_failing_step_is_rolled_back_and_exits_with_its_code() {
    let repo = Repo::sample();
    let before = repo.read("planning/TASK.md");
    let report = run_json(
        &repo,
        &[],
        "echo garbage > planning/TASK.md; echo 'error: failed to parse TASK.md' >&2; exit 3",
        3,
    );
    assert_eq!(repo.read("planning/TASK.md"), before);
    assert_eq!(report["exit_code"], 3);
    assert_eq!(report["classification"], "parse-error");
    assert_eq!(report["severity"], "P2");
    assert_eq!(report["rollback"], "rolled-back");
    assert_eq!(
        report["invalid_files"],
        serde_json::json!(["planning/TASK.md"])
    );
    // What the step left is kept in a pre-restore checkpoint.
    let failed = report["failed_state"].as_str().unwrap();
    assert!(failed.starts_with("pre-restore-"), "{report}");
    let ops = audit_operations(&repo);
    assert!(ops.contains(&"restore/rollback".to_string()), "{ops:?}");
}

#[test]
fn a_zero_exit_that_leaves_invalid_files_exits_1() {
    let repo = Repo::sample();
    let conflict = std::fs::read(format!("{}/corrupt/TASK.conflict.md", common::FIXTURES)).unwrap();
    std::fs::write(repo.join("conflict.md"), conflict).unwrap();
    let before = repo.read("planning/TASK.md");
    let report = run_json(&repo, &[], "cp conflict.md planning/TASK.md", 1);
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["classification"], "merge-conflict");
    assert_eq!(repo.read("planning/TASK.md"), before);

    // --on-failure keep leaves the damage for a person to look at.
    let report = run_json(
        &repo,
        &["--on-failure", "keep"],
        "cp conflict.md planning/TASK.md",
        1,
    );
    assert_eq!(report["rollback"], "kept");
    assert_ne!(repo.read("planning/TASK.md"), before);
}

#[test]
fn rate_limits_are_retried_after_a_rollback_honouring_retry_after() {
    let repo = Repo::sample();
    let counter = tempfile::tempdir().unwrap();
    let script = format!(
        "n=$(cat {dir}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > {dir}/n
         grep -q 'T-001' planning/TASK.md || exit 99
         if [ $n -lt 3 ]; then
           echo broken > planning/TASK.md
           echo 'API rate limit exceeded for installation' >&2
           echo 'Retry-After: 0' >&2
           exit 1
         fi
         echo fine",
        dir = counter.path().display()
    );
    let report = run_json(&repo, &["--retries", "3", "--backoff", "0s"], &script, 0);
    assert_eq!(report["attempts"], 3, "{report}");
    assert_eq!(report["success"], true);
    let ops = audit_operations(&repo);
    assert_eq!(
        ops.iter().filter(|o| *o == "run/retry").count(),
        2,
        "{ops:?}"
    );

    // Out of retries: the command's code, classified and rolled back.
    std::fs::write(counter.path().join("n"), "-10").unwrap();
    let before = repo.read("planning/TASK.md");
    let report = run_json(&repo, &["--retries", "1", "--backoff", "0s"], &script, 1);
    assert_eq!(report["attempts"], 2);
    assert_eq!(report["classification"], "rate-limit");
    assert_eq!(report["severity"], "P3");
    assert_eq!(repo.read("planning/TASK.md"), before);
}

#[test]
fn other_failures_are_not_retried_and_severity_follows_the_policy() {
    let repo = Repo::sample();
    repo.write("lifeline.toml", "[patterns]\nauth = \"P0\"\n");
    let report = run_json(
        &repo,
        &["--retries", "5", "--backoff", "0s"],
        "echo 'gh: Bad credentials (HTTP 401)' >&2; exit 4",
        4,
    );
    assert_eq!(report["attempts"], 1);
    assert_eq!(report["classification"], "auth");
    assert_eq!(report["severity"], "P0");
    assert_eq!(report["rollback"], "unchanged");
}

#[test]
fn sigterm_is_forwarded_and_the_step_is_still_rolled_back() {
    let repo = Repo::sample();
    let before = repo.read("planning/TASK.md");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .current_dir(repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["run", "--format", "json", "--", "sh", "-c"])
        .arg(
            "trap 'kill $p 2>/dev/null; exit 42' TERM
             echo half-written > planning/TASK.md
             sleep 1000 & p=$!
             echo ready
             wait $p",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(42), "{rest:?}");
    let report: serde_json::Value = serde_json::from_str(&rest.join("\n")).unwrap();
    assert_eq!(report["rollback"], "rolled-back");
    assert_eq!(repo.read("planning/TASK.md"), before);
}

#[test]
fn a_command_that_cannot_start_is_a_usage_error() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args(["run", "--", "./no-such-script.sh"])
        .assert()
        .code(2);
    assert!(common::stderr(&out).contains("cannot run `./no-such-script.sh`"));
}

#[test]
fn in_github_actions_the_step_gets_outputs() {
    let repo = Repo::sample();
    let outputs = repo.join("github-output.txt");
    repo.lifeline()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "echo 'HTTP 429 Too Many Requests' >&2; exit 2",
        ])
        .assert()
        .code(2);
    let text = std::fs::read_to_string(outputs).unwrap();
    for line in [
        "success=false",
        "classification=rate-limit",
        "severity=P3",
        "rolled_back=false",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
}
