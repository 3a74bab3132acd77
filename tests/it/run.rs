//! `lifeline run -- CMD`: a guarded step through the real binary, with
//! shell one-liners standing in for bots that succeed, fail, break files,
//! hit a rate limit, or are cancelled.

#![cfg(unix)]

use crate::common;

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
    // The step reports the response it got, as `curl -D` writes it.
    let script = format!(
        "n=$(cat {dir}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > {dir}/n
         grep -q 'partial' planning/TASK.md && exit 99
         if [ $n -lt 3 ]; then
           echo '<!-- partial -->' >> planning/TASK.md
           printf 'HTTP/2 429\r\nretry-after: 0\r\n' > \"$LIFELINE_STEP_STATUS\"
           exit 1
         fi
         echo fine",
        dir = counter.path().display()
    );
    let retry = ["--retries", "3", "--idempotent", "--backoff", "0s"];
    let report = run_json(&repo, &retry, &script, 0);
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
    let retry = ["--retries", "1", "--idempotent", "--backoff", "0s"];
    let report = run_json(&repo, &retry, &script, 1);
    assert_eq!(report["attempts"], 2);
    assert_eq!(report["classification"], "rate-limit");
    assert_eq!(report["reported"], "rate-limit");
    assert_eq!(report["severity"], "P3");
    assert_eq!(repo.read("planning/TASK.md"), before);
}

#[test]
fn retries_need_the_idempotent_opt_in() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args(["run", "--retries", "3", "--", "sh", "-c", "touch ran"])
        .assert()
        .code(2);
    assert!(common::stderr(&out).contains("--idempotent"));
    assert!(!repo.join("ran").exists(), "the step must not run");
}

#[test]
fn words_in_the_output_do_not_classify_a_failure() {
    let repo = Repo::sample();
    // An issue title echoed by the step is not a rate limit, and the
    // emptied TASK.md is corruption (P0), never a milder class; it is not
    // retried either, though retries were allowed.
    let report = run_json(
        &repo,
        &["--retries", "3", "--idempotent", "--backoff", "0s"],
        ": > planning/TASK.md
         echo 'syncing #4290: API rate limit exceeded (HTTP 429), merge conflict' >&2
         exit 1",
        1,
    );
    assert_eq!(report["attempts"], 1, "{report}");
    assert_eq!(report["classification"], "corruption", "{report}");
    assert_eq!(report["severity"], "P0");

    // With the files valid, words alone say nothing.
    let report = run_json(
        &repo,
        &[],
        "echo 'CONFLICT: Bad credentials (HTTP 401), rate limit' >&2; exit 1",
        1,
    );
    assert_eq!(report["classification"], "unknown", "{report}");

    // A step that says it was rate limited but left TASK.md invalid is
    // classified by the findings.
    let report = run_json(
        &repo,
        &[],
        "echo garbage > planning/TASK.md; echo 'status: 429' > \"$LIFELINE_STEP_STATUS\"; exit 1",
        1,
    );
    assert_eq!(report["reported"], "rate-limit");
    assert_ne!(report["classification"], "rate-limit", "{report}");
    assert_ne!(report["severity"], "P3", "{report}");
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
            "echo 'status: 429' > \"$LIFELINE_STEP_STATUS\"; exit 2",
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

/// The audit entries, oldest first.
fn audit_entries(repo: &Repo) -> Vec<serde_json::Value> {
    let out = repo
        .lifeline()
        .args(["audit", "query", "--format", "json"])
        .assert()
        .code(0);
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    value
        .as_array()
        .or_else(|| value["entries"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// A detail of an entry (a failure keeps them under `context`).
fn detail<'a>(entry: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    let details = &entry["details"];
    if details[key].is_null() {
        &details["context"][key]
    } else {
        &details[key]
    }
}

fn last_outcome(repo: &Repo) -> serde_json::Value {
    audit_entries(repo)
        .into_iter()
        .rfind(|e| e["component"] == "run" && e["operation"] == "outcome")
        .expect("a run/outcome entry")
}

/// `lifeline run` as a real process with its stdout and stderr piped.
fn spawn(repo: &Repo, args: &[&str], script: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .current_dir(repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .arg("run")
        .args(args)
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn term(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_step_that_leaves_an_invalid_file_says_which_findings() {
    let repo = Repo::sample();
    let conflict = std::fs::read(format!("{}/corrupt/TASK.conflict.md", common::FIXTURES)).unwrap();
    std::fs::write(repo.join("conflict.md"), conflict).unwrap();
    let out = repo
        .lifeline()
        .args(["run", "--", "sh", "-c", "cp conflict.md planning/TASK.md"])
        .assert()
        .code(1);
    let text = common::stderr(&out);
    assert!(
        text.contains("the step exited 0 but left planning/TASK.md invalid"),
        "{text}"
    );
    assert!(!text.contains("failed: it exited 0"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("planning/TASK.md:") && l.contains("FILE004")),
        "a file:line and rule code: {text}"
    );
    let entry = last_outcome(&repo);
    let findings = detail(&entry, "findings").as_array().expect("findings");
    assert!(
        findings.iter().any(|f| f["code"] == "FILE004"
            && f["path"] == "planning/TASK.md"
            && f["line"].is_u64()),
        "{entry}"
    );
    assert_eq!(
        entry["files_affected"],
        serde_json::json!(["planning/TASK.md"]),
        "{entry}"
    );

    // Many findings: the first 50 are kept, and the rest are counted.
    let out = repo
        .lifeline()
        .args(["run", "--", "sh", "-c"])
        .arg(
            "for i in $(seq 100 170); do echo \"| T-$i | x |\"; done > rows.txt
             sed -i '/^| T-007/r rows.txt' planning/TASK.md",
        )
        .assert()
        .code(1);
    let text = common::stderr(&out);
    let entry = last_outcome(&repo);
    assert_eq!(detail(&entry, "findings").as_array().unwrap().len(), 50);
    let total = detail(&entry, "findings_total").as_u64().unwrap();
    assert!(total >= 71, "one finding per broken row at least: {entry}");
    assert!(
        text.contains(&format!("… and {} more", total - 50)),
        "{text}"
    );
}

#[test]
fn the_steps_output_is_passed_through_redacted() {
    let repo = Repo::sample();
    let shape = format!("ghp_{}", "Z9".repeat(18));
    let script = format!(
        "printf 'token %s\\n' \"$GITHUB_TOKEN\"; printf 'bin\\377\\376\\000 {shape}\\n'; echo \"err $GITHUB_TOKEN\" >&2"
    );
    let out = repo
        .lifeline()
        .env("GITHUB_TOKEN", "plain-looking-secret-42")
        .args(["run", "--", "sh", "-c", &script])
        .assert()
        .code(0);
    let output = out.get_output();
    assert_eq!(
        output.stdout,
        b"token [REDACTED]\nbin\xff\xfe\x00 [REDACTED]\n".to_vec()
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("err [REDACTED]"), "{err}");
    assert!(!err.contains("plain-looking-secret-42"), "{err}");

    // --raw-output is the opt-out for a step whose bytes must stay as is.
    let out = repo
        .lifeline()
        .env("GITHUB_TOKEN", "plain-looking-secret-42")
        .args(["run", "--raw-output", "--", "sh", "-c", &script])
        .assert()
        .code(0);
    let raw = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(raw.contains("token plain-looking-secret-42"), "{raw}");
}

#[test]
fn sigterm_during_a_retry_wait_stops_at_once_and_records_the_outcome() {
    let repo = Repo::sample();
    let before = repo.read("planning/TASK.md");
    let mut child = spawn(
        &repo,
        &[
            "--retries",
            "1",
            "--idempotent",
            "--max-backoff",
            "1m",
            "--format",
            "json",
        ],
        "echo '<!-- partial -->' >> planning/TASK.md
         printf 'status: 429\\nretry-after: 60\\n' > \"$LIFELINE_STEP_STATUS\"
         exit 1",
    );
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert_ne!(err.read_line(&mut line).unwrap(), 0, "no retry announced");
        if line.contains("retrying in") {
            break;
        }
    }
    term(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(128 + 15));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["attempts"], 1, "{report}");
    assert_eq!(report["stopped_by"], 15, "{report}");
    assert_eq!(repo.read("planning/TASK.md"), before);
    let entry = last_outcome(&repo);
    assert_eq!(detail(&entry, "stopped_by"), 15, "{entry}");
}

#[test]
fn signals_reach_the_steps_whole_process_group() {
    let repo = Repo::sample();
    let scratch = tempfile::tempdir().unwrap();
    let record = scratch.path().join("sleep.txt");
    // The step waits for a child of its own; only a signal sent to the
    // whole group ends that child early (exit 143 instead of 0).
    let script = format!(
        "trap 'wait $g; echo \"sleep ended: $?\" > {record}; exit 7' TERM
         sleep 30 & g=$!
         echo ready
         wait $g",
        record = record.display()
    );
    let mut child = spawn(&repo, &[], &script);
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    term(&child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7));
    assert_eq!(
        std::fs::read_to_string(&record).unwrap(),
        "sleep ended: 143\n"
    );
}
