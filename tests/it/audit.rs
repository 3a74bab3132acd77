//! `lifeline audit`: writing entries, the plan's failure logging,
//! redaction, every tamper case `verify` must catch (with file and line),
//! concurrent writers, merged clones, queries, retention and signed heads.
//! The standalone Python verifier from docs/audit-format.md is run against
//! the same logs.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{NoGit, Repo, stderr, stdout};
use lifeline::audit::{Event, Log, canonical, entry};
use serde_json::Value;

const MONTH_DIR: &str = "docs/audit";

fn log_file(repo: &Repo) -> String {
    let dir = repo.join(MONTH_DIR);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("audit-") && n.ends_with(".jsonl"))
        .collect();
    names.sort();
    format!("{MONTH_DIR}/{}", names.last().expect("a month file"))
}

fn lines(repo: &Repo, rel: &str) -> Vec<String> {
    repo.read(rel).lines().map(str::to_string).collect()
}

fn write_lines(repo: &Repo, rel: &str, lines: &[String]) {
    repo.write(rel, lines.join("\n") + "\n");
}

fn entries(repo: &Repo, rel: &str) -> Vec<Value> {
    lines(repo, rel)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `lifeline audit log` with the given extra args; returns the audit_id.
fn log(repo: &Repo, operation: &str) -> String {
    let out = repo
        .lifeline()
        .args([
            "audit",
            "log",
            "--component",
            "task-sync",
            "--operation",
            operation,
        ])
        .assert()
        .code(0);
    stdout(&out).trim().to_string()
}

fn python_verify(repo: &Repo, extra: &[&str]) -> (i32, String) {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify_audit.py"))
        .arg(repo.join(MONTH_DIR))
        .args(extra)
        .output()
        .expect("python3 runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn verify_json(repo: &Repo, extra: &[&str]) -> (i32, Value) {
    let out = repo
        .lifeline()
        .args(["audit", "verify", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code().unwrap(), doc)
}

/// A sample repo with `n` entries from `lifeline audit log`.
fn repo_with(n: usize) -> Repo {
    let repo = Repo::sample();
    for i in 0..n {
        log(&repo, &format!("op{i}"));
    }
    repo
}

#[test]
fn log_writes_the_plans_fields_and_a_valid_chain() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args([
            "audit",
            "log",
            "--component",
            "task-sync",
            "--operation",
            "workflow_start",
            "--detail",
            "trigger=schedule",
            "--details-json",
            r#"{"changes_count": 3}"#,
            "--file",
            "planning/TASK.md",
            "--file",
            "planning/gone.md",
        ])
        .env("GITHUB_ACTOR", "octobot")
        .env("GITHUB_RUN_ID", "77")
        .assert()
        .code(0);
    let id = stdout(&out).trim().to_string();
    assert!(id.starts_with("AUD-"), "{id}");
    let second = log(&repo, "workflow_complete");
    assert!(second > id, "IDs sort by time: {id} {second}");
    let file = log_file(&repo);
    let all = entries(&repo, &file);
    assert_eq!(all.len(), 2);
    let e = &all[0];
    assert_eq!(e["audit_id"], id);
    assert_eq!(e["schema"], 1);
    assert_eq!(e["seq"], 1);
    assert_eq!(e["prev"], Value::Null);
    assert_eq!(e["component"], "task-sync");
    assert_eq!(e["operation"], "workflow_start");
    assert_eq!(e["result"], "success");
    assert_eq!(e["details"]["trigger"], "schedule");
    assert_eq!(e["details"]["changes_count"], 3);
    assert_eq!(e["files_affected"][0], "planning/TASK.md");
    let task = std::fs::read(repo.join("planning/TASK.md")).unwrap();
    use sha2::Digest;
    assert_eq!(
        e["file_checksums"]["planning/TASK.md"],
        hex::encode(sha2::Sha256::digest(&task))
    );
    assert_eq!(e["file_checksums"]["planning/gone.md"], Value::Null);
    assert_eq!(e["environment"]["actor"], "github:octobot");
    assert_eq!(e["environment"]["workflow_run"]["run_id"], "77");
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert_eq!(e["environment"]["git_commit"], head.trim());
    assert!(e["session_id"].as_str().unwrap().starts_with("gh-77-"));
    assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(e["hash"], canonical::entry_hash(e.as_object().unwrap()));
    assert_eq!(all[1]["prev"], e["hash"]);
    assert_eq!(all[1]["seq"], 2);

    let out = repo.lifeline().args(["audit", "verify"]).assert().code(0);
    let text = stdout(&out);
    assert!(
        text.contains("audit trail valid: 2 entries in 1 files"),
        "{text}"
    );
    assert!(
        text.contains(&format!("head: {}", all[1]["hash"].as_str().unwrap())),
        "{text}"
    );
    let (code, text) = python_verify(&repo, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("valid: 2 entries"), "{text}");
}

#[test]
fn failures_record_error_context_and_recovery_action() {
    let repo = Repo::sample();
    repo.git(&["config", "user.name", "Test Writer"]);
    repo.lifeline()
        .args([
            "audit",
            "log",
            "--component",
            "task-sync",
            "--operation",
            "sync",
            "--error",
            "API rate limit exceeded",
            "--recovery-action",
            "retry with backoff",
            "--detail",
            "attempt=3",
        ])
        .assert()
        .code(0);
    let e = &entries(&repo, &log_file(&repo))[0];
    assert_eq!(e["environment"]["actor"], "git:Test Writer");
    assert_eq!(e["result"], "failure");
    assert_eq!(e["details"]["error_message"], "API rate limit exceeded");
    assert_eq!(e["details"]["recovery_action"], "retry with backoff");
    assert_eq!(e["details"]["context"]["attempt"], "3");
    assert_eq!(e["metadata"]["requires_investigation"], true);
    let out = repo
        .lifeline()
        .args([
            "audit",
            "log",
            "--component",
            "c",
            "--operation",
            "o",
            "--result",
            "success",
            "--error",
            "x",
        ])
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains("cannot go with --result success"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_input_is_a_usage_error_naming_the_flag() {
    let repo = Repo::sample();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--detail", "novalue"],
            "--detail \"novalue\" is not KEY=VALUE",
        ),
        (
            &["--details-json", "{oops"],
            "--details-json is not valid JSON",
        ),
        (
            &["--details-json", "[1]"],
            "--details-json must be a JSON object",
        ),
        (
            &["--details-json", r#"{"n": 18446744073709551615}"#],
            "cannot be recorded exactly",
        ),
        (&["--file", "../outside.md"], "outside the repository"),
    ];
    for (args, message) in cases {
        let out = repo
            .lifeline()
            .args(["audit", "log", "--component", "c", "--operation", "o"])
            .args(args)
            .assert()
            .code(2);
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    assert!(
        !repo.join(MONTH_DIR).exists(),
        "nothing written on bad input"
    );
}

#[test]
fn secrets_are_redacted_before_anything_is_written() {
    let repo = Repo::sample();
    repo.write("lifeline.toml", "[audit]\nsecret_env = [\"DEPLOY_KEY\"]\n");
    let token = "ghp_0123456789abcdefghijABCDEFGHIJ";
    let pat = "github_pat_11ABCDEFG0123456789_abcdefghijklmnop";
    let out = repo
        .lifeline()
        .args([
            "audit",
            "log",
            "--component",
            "c",
            "--operation",
            "push",
            "--detail",
            &format!("url=https://x:{token}@github.com/a/b"),
            "--detail",
            &format!("note=used {pat}"),
            "--detail",
            "header=Authorization: Bearer abc.def.ghi",
            "--detail",
            "deploy=key is s3cr3t-deploy-value here",
            "--detail",
            "env_token=from-env-value-123",
            "--detail",
            "api_token=plain",
            "--error",
            "gho_0123456789abcdefghijABCDEFGHIJ rejected",
        ])
        .env("DEPLOY_KEY", "s3cr3t-deploy-value")
        .env("GITHUB_TOKEN", "from-env-value-123")
        .assert()
        .code(0);
    let written = repo.read(&log_file(&repo));
    for secret in [
        token,
        pat,
        "abc.def.ghi",
        "s3cr3t-deploy-value",
        "from-env-value-123",
        "gho_0123",
        "plain",
    ] {
        assert!(!written.contains(secret), "{secret} leaked: {written}");
        assert!(!stdout(&out).contains(secret));
    }
    let e = &entries(&repo, &log_file(&repo))[0];
    let ctx = &e["details"]["context"];
    assert_eq!(ctx["url"], "https://x:[REDACTED]@github.com/a/b");
    assert_eq!(ctx["header"], "Authorization: [REDACTED]");
    assert_eq!(ctx["deploy"], "key is [REDACTED] here");
    assert_eq!(ctx["env_token"], "[REDACTED]");
    assert_eq!(ctx["api_token"], "[REDACTED]");
    // Redaction happens before hashing: the chain is valid.
    repo.lifeline().args(["audit", "verify"]).assert().code(0);
}

/// Runs verify (lifeline and Python) on a tampered log and checks both
/// name `location` and that lifeline's finding has `kind`.
fn assert_caught(repo: &Repo, kind: &str, location: &str, extra: &[&str]) {
    let out = repo
        .lifeline()
        .args(["audit", "verify"])
        .args(extra)
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("error[{kind}]: {location}")),
        "want error[{kind}]: {location}\n{text}"
    );
    assert!(text.contains("audit trail invalid"), "{text}");
    let (code, py) = python_verify(repo, extra);
    assert_eq!(code, 1, "python verifier passed a tampered log:\n{py}");
    assert!(
        py.contains(&location.replace(MONTH_DIR, &repo.join(MONTH_DIR).display().to_string())),
        "python: want {location}\n{py}"
    );
}

#[test]
fn a_modified_byte_is_caught_at_its_line() {
    let repo = repo_with(4);
    let file = log_file(&repo);
    let mut l = lines(&repo, &file);
    l[2] = l[2].replacen("op2", "op9", 1);
    write_lines(&repo, &file, &l);
    assert_caught(&repo, "modified", &format!("{file}:3"), &[]);
    // A byte that breaks the JSON is caught too.
    let mut l = lines(&repo, &file);
    l[2] = l[2].replacen('{', "[", 1);
    write_lines(&repo, &file, &l);
    assert_caught(&repo, "malformed", &format!("{file}:3"), &[]);
}

#[test]
fn a_deleted_line_is_caught_at_the_line_after_it() {
    let repo = repo_with(4);
    let file = log_file(&repo);
    let mut l = lines(&repo, &file);
    l.remove(1);
    write_lines(&repo, &file, &l);
    assert_caught(&repo, "missing-predecessor", &format!("{file}:2"), &[]);
}

#[test]
fn reordered_lines_are_caught() {
    let repo = repo_with(4);
    let file = log_file(&repo);
    let mut l = lines(&repo, &file);
    l.swap(1, 2);
    write_lines(&repo, &file, &l);
    assert_caught(&repo, "reordered", &format!("{file}:2"), &[]);
}

#[test]
fn an_inserted_forged_line_is_caught() {
    let repo = repo_with(4);
    let file = log_file(&repo);
    let (_, report) = verify_json(&repo, &[]);
    let recorded_head = report["heads"][0]["hash"].as_str().unwrap().to_string();
    let original = lines(&repo, &file);

    // A copy of a real line with one field changed: its hash gives it away.
    let mut l = original.clone();
    l.insert(2, l[1].replacen("op1", "op1-forged", 1));
    write_lines(&repo, &file, &l);
    assert_caught(&repo, "modified", &format!("{file}:3"), &[]);

    // A forger who knows the format copies a line, changes it and
    // recomputes the hash: the copied audit_id gives it away.
    let mut forged: Value = serde_json::from_str(&original[1]).unwrap();
    forged["operation"] = "op1-forged".into();
    let hash = canonical::entry_hash(forged.as_object().unwrap());
    forged["hash"] = hash.into();
    let mut l = original.clone();
    l.insert(2, canonical::to_string(&forged));
    write_lines(&repo, &file, &l);
    assert_caught(&repo, "duplicate-id", &format!("{file}:3"), &[]);

    // With a fresh ID too, the line is a self-consistent branch: verify
    // shows it as a fork, and the head recorded earlier proves it was
    // not there before.
    forged["audit_id"] = entry::new_audit_id().into();
    let hash = canonical::entry_hash(forged.as_object().unwrap());
    forged["hash"] = hash.into();
    let mut l = original.clone();
    l.insert(2, canonical::to_string(&forged));
    write_lines(&repo, &file, &l);
    let out = repo.lifeline().args(["audit", "verify"]).assert().code(0);
    assert!(
        stdout(&out).contains(&format!(
            "warning[fork]: {file}:1: parallel branches start at {file}:2, {file}:3"
        )),
        "{}",
        stdout(&out)
    );
    assert_caught(
        &repo,
        "not-in-chain",
        &format!("{file}:3"),
        &["--expect-head", &recorded_head],
    );
}

#[test]
fn truncation_at_the_end_is_caught_given_the_recorded_head() {
    let repo = repo_with(3);
    let file = log_file(&repo);
    let (code, report) = verify_json(&repo, &[]);
    assert_eq!(code, 0);
    let head = report["heads"][0]["hash"].as_str().unwrap().to_string();
    repo.lifeline()
        .args(["audit", "verify", "--expect-head", &head])
        .assert()
        .code(0);
    let mut l = lines(&repo, &file);
    l.pop();
    write_lines(&repo, &file, &l);
    assert_caught(
        &repo,
        "truncated",
        &format!("{file}:2"),
        &["--expect-head", &head],
    );
}

/// Writes a log spanning `months` (one entry each, in order) with the
/// library, the way a long-lived repository accumulates them.
fn write_months(repo: &Repo, months: &[&str]) {
    let log = Log::at(repo.join(MONTH_DIR));
    let ctx = entry::Context::new("SES-test", "user:test");
    for month in months {
        let at: jiff::Timestamp = format!("{month}-15T12:00:00Z").parse().unwrap();
        let event = Event::new("task-sync", "sync").detail("month", *month);
        let mut body = entry::body(repo.path(), &ctx, &event, at).unwrap();
        body.insert("audit_id".into(), entry::audit_id_at(at).into());
        log.append(vec![body], None).unwrap();
    }
}

#[test]
fn a_month_file_removed_between_others_is_caught() {
    let repo = Repo::sample();
    write_months(&repo, &["2026-08", "2026-09", "2026-10"]);
    repo.lifeline().args(["audit", "verify"]).assert().code(0);
    let entries = entries(&repo, "docs/audit/audit-2026-09.jsonl");
    assert_eq!(entries.len(), 1);
    let first_of_oct = &self::entries(&repo, "docs/audit/audit-2026-10.jsonl")[0];
    assert_eq!(
        first_of_oct["prev"], entries[0]["hash"],
        "a month links to the one before"
    );
    std::fs::remove_file(repo.join("docs/audit/audit-2026-09.jsonl")).unwrap();
    assert_caught(
        &repo,
        "missing-predecessor",
        "docs/audit/audit-2026-10.jsonl:1",
        &[],
    );
}

#[test]
fn signed_heads_catch_truncation_and_a_rewritten_signature() {
    let repo = repo_with(3);
    let key = "11".repeat(32);
    let out = repo
        .lifeline()
        .args(["audit", "public-key"])
        .env("LIFELINE_AUDIT_KEY", &key)
        .assert()
        .code(0);
    repo.write("audit.pub", stdout(&out));
    let out = repo
        .lifeline()
        .args(["audit", "seal"])
        .env("LIFELINE_AUDIT_KEY", &key)
        .assert()
        .code(0);
    assert!(
        stdout(&out).contains("signed a checkpoint of 4 entries in docs/audit/checkpoints.jsonl"),
        "{}",
        stdout(&out)
    );
    // Older releases signed the head instead; those statements still count.
    let (_, report) = verify_json(&repo, &[]);
    let head = lifeline::audit::Appended {
        audit_id: report["heads"][0]["audit_id"].as_str().unwrap().to_string(),
        hash: report["heads"][0]["hash"].as_str().unwrap().to_string(),
        seq: report["heads"][0]["seq"].as_u64().unwrap(),
        file: String::new(),
    };
    let signing_key = lifeline::audit::signing::SigningKey::from_bytes(&[0x11; 32]);
    lifeline::audit::signing::sign_heads(&Log::at(repo.join(MONTH_DIR)), &signing_key, &head, 4)
        .unwrap();
    let sigs = repo.read("docs/audit/signed-heads.jsonl");
    assert!(
        !sigs.contains(&key) && !stdout(&out).contains(&key),
        "the private key leaked"
    );
    repo.lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(0);

    // Cut the seal and the entry before it off the end.
    let file = log_file(&repo);
    let mut l = lines(&repo, &file);
    l.truncate(2);
    write_lines(&repo, &file, &l);
    let out = repo.lifeline().args(["audit", "verify"]).assert().code(0);
    assert!(
        stdout(&out).contains("audit trail valid"),
        "without the key, truncation is invisible"
    );
    let out = repo
        .lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains(&format!("error[truncated]: {file}:2")),
        "{}",
        stdout(&out)
    );

    // Re-signing with another key does not help the forger.
    repo.write(
        "docs/audit/signed-heads.jsonl",
        sigs.replace("\"seq\":4", "\"seq\":2"),
    );
    let out = repo
        .lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("error[bad-signature]: docs/audit/signed-heads.jsonl:1"),
        "{}",
        stdout(&out)
    );
    let out = repo
        .lifeline()
        .args(["audit", "seal"])
        .env("LIFELINE_AUDIT_KEY", "not-a-key")
        .assert()
        .code(2);
    assert!(!stderr(&out).contains("not-a-key"));
}

/// The child half of the concurrency test: appends `LIFELINE_TEST_APPENDS`
/// entries through the library when `LIFELINE_TEST_ROOT` is set, printing
/// each audit_id. Without it (a normal test run) it does nothing.
#[test]
fn concurrent_writer_child() {
    let Ok(root) = std::env::var("LIFELINE_TEST_ROOT") else {
        return;
    };
    let n: usize = std::env::var("LIFELINE_TEST_APPENDS")
        .unwrap()
        .parse()
        .unwrap();
    let ws =
        lifeline::workspace::Workspace::discover(Path::new(&root), Some(Path::new(&root)), None)
            .unwrap();
    let env = lifeline::ci::ProcessEnv;
    let mut ids = String::new();
    for i in 0..n {
        let event = Event::new("load", "append").detail("i", i);
        ids.push_str(&lifeline::audit::record(&ws, &env, &event).unwrap());
        ids.push('\n');
    }
    std::fs::write(std::env::var("LIFELINE_TEST_IDS").unwrap(), ids).unwrap();
}

#[test]
fn sixteen_processes_append_8000_entries_and_the_chain_holds() {
    const PROCESSES: usize = 16;
    const APPENDS: usize = 500;
    let repo = Repo::sample();
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "audit::concurrent_writer_child",
                    "--test-threads",
                    "1",
                ])
                .env("LIFELINE_TEST_ROOT", repo.path())
                .env("LIFELINE_TEST_APPENDS", APPENDS.to_string())
                .env("LIFELINE_TEST_IDS", repo.join(&format!("ids-{p}.txt")))
                .env("GITHUB_ACTOR", format!("writer-{p}"))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut returned: Vec<String> = (0..PROCESSES)
        .flat_map(|p| {
            repo.read(&format!("ids-{p}.txt"))
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(returned.len(), PROCESSES * APPENDS);
    let mut written: Vec<String> = Vec::new();
    for f in std::fs::read_dir(repo.join(MONTH_DIR)).unwrap() {
        let name = f.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".jsonl") {
            for e in entries(&repo, &format!("{MONTH_DIR}/{name}")) {
                written.push(e["audit_id"].as_str().unwrap().to_string());
            }
        }
    }
    returned.sort();
    written.sort();
    assert_eq!(
        written, returned,
        "every returned ID is written exactly once"
    );
    written.dedup();
    assert_eq!(written.len(), PROCESSES * APPENDS, "IDs are unique");
    let (code, report) = verify_json(&repo, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["integrity_status"], "valid");
    assert_eq!(report["total_entries"], PROCESSES * APPENDS);
    assert_eq!(report["heads"].as_array().unwrap().len(), 1);
    assert_eq!(report["heads"][0]["seq"], PROCESSES * APPENDS);
    let (code, py) = python_verify(&repo, &[]);
    assert_eq!(code, 0, "{py}");
}

#[test]
fn merged_clones_verify_as_a_fork_and_seal_joins_them() {
    let origin = repo_with(2);
    origin.write(".gitattributes", "docs/audit/*.jsonl merge=union\n");
    origin.git(&["add", "-A"]);
    origin.git(&["commit", "-q", "-m", "audit so far"]);
    let clone = Repo::bare_dir();
    clone.git(&["clone", "-q", origin.path().to_str().unwrap(), "."]);
    log(&origin, "on-main-1");
    log(&origin, "on-main-2");
    log(&clone, "on-clone-1");
    origin.git(&["commit", "-q", "-am", "main appends"]);
    clone.git(&["commit", "-q", "-am", "clone appends"]);
    origin.git(&[
        "pull",
        "-q",
        "--no-rebase",
        "--no-edit",
        clone.path().to_str().unwrap(),
        "main",
    ]);
    let file = log_file(&origin);
    assert_eq!(
        lines(&origin, &file).len(),
        5,
        "union merge keeps both sides"
    );

    let out = origin.lifeline().args(["audit", "verify"]).assert().code(0);
    let text = stdout(&out);
    assert!(text.contains("audit trail forked: 5 entries"), "{text}");
    assert!(
        text.contains(&format!(
            "warning[fork]: {file}:2: parallel branches start at {file}:3, {file}:5"
        )),
        "{text}"
    );
    let (code, py) = python_verify(&origin, &[]);
    assert_eq!(code, 0, "{py}");
    assert!(py.starts_with("forked"), "{py}");

    let out = origin.lifeline().args(["audit", "seal"]).assert().code(0);
    assert!(
        stdout(&out).contains("joins 1 other head(s)"),
        "{}",
        stdout(&out)
    );
    let (code, report) = verify_json(&origin, &[]);
    assert_eq!(code, 0);
    assert_eq!(report["integrity_status"], "valid");
    assert_eq!(report["heads"].as_array().unwrap().len(), 1);
    assert_eq!(report["forks"][0]["joined"], true);
    // Appending after the seal keeps a single chain.
    log(&origin, "after-seal");
    let (_, report) = verify_json(&origin, &[]);
    assert_eq!(report["integrity_status"], "valid");
    let (code, py) = python_verify(&origin, &[]);
    assert_eq!(code, 0, "{py}");
    assert!(py.starts_with("valid: 7 entries"), "{py}");
}

#[test]
fn query_filters_and_show_finds_by_id() {
    let repo = Repo::sample();
    let a = log(&repo, "sync");
    repo.lifeline()
        .args([
            "audit",
            "log",
            "--component",
            "restore",
            "--operation",
            "apply",
            "--file",
            "planning/TASK.md",
        ])
        .env("GITHUB_ACTOR", "alice")
        .assert()
        .code(0);
    repo.lifeline()
        .args([
            "audit",
            "log",
            "--component",
            "task-sync",
            "--operation",
            "sync",
            "--error",
            "boom",
        ])
        .assert()
        .code(0);
    let ids = |args: &[&str]| -> Vec<String> {
        let out = repo
            .lifeline()
            .args(["audit", "query", "--format", "json"])
            .args(args)
            .assert()
            .code(0);
        let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
        doc.as_array()
            .unwrap()
            .iter()
            .map(|e| e["operation"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&["--component", "task-sync"]), ["sync", "sync"]);
    assert_eq!(ids(&["--result", "failure"]), ["sync"]);
    assert_eq!(ids(&["--actor", "alice"]), ["apply"]);
    assert_eq!(ids(&["--actor", "github:alice"]), ["apply"]);
    assert_eq!(ids(&["--file", "planning/TASK.md"]), ["apply"]);
    assert_eq!(
        ids(&["--since", "2000-01-01", "--until", "2999-01-01"]).len(),
        3
    );
    assert!(ids(&["--until", "2000-01-01"]).is_empty());
    assert_eq!(ids(&["--id", &a]), ["sync"]);
    let out = repo
        .lifeline()
        .args([
            "audit",
            "query",
            "--format",
            "jsonl",
            "--operation",
            "apply",
        ])
        .assert()
        .code(0);
    assert_eq!(stdout(&out).lines().count(), 1);

    let out = repo
        .lifeline()
        .args(["audit", "show", &a, "--format", "json"])
        .assert()
        .code(0);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["entry"]["audit_id"], a);
    assert_eq!(doc["hash_ok"], true);
    let missing = entry::new_audit_id();
    let out = repo
        .lifeline()
        .args(["audit", "show", &missing])
        .assert()
        .code(1);
    assert!(stderr(&out).contains(&format!("no entry {missing}")));
    repo.lifeline()
        .args(["audit", "show", "AUD-nope"])
        .assert()
        .code(2);
}

#[test]
fn the_index_is_never_trusted_over_the_log() {
    let repo = repo_with(3);
    let file = log_file(&repo);
    let all = entries(&repo, &file);
    let id = |i: usize| all[i]["audit_id"].as_str().unwrap().to_string();
    // Builds the index.
    repo.lifeline()
        .args(["audit", "show", &id(1)])
        .assert()
        .code(0);
    let index_dir = repo.join(".git/lifeline/audit-index");
    let index = std::fs::read_dir(&index_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // Point every record at offset 0: the first line, the wrong entry.
    let mut bytes = std::fs::read(&index).unwrap();
    for record in bytes[16..].chunks_exact_mut(24) {
        record[16..].fill(0);
    }
    std::fs::write(&index, bytes).unwrap();
    let out = repo
        .lifeline()
        .args(["audit", "show", &id(2), "--format", "json"])
        .assert()
        .code(0);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["entry"]["audit_id"], id(2));
    // Entries appended after the index was built are found (it extends).
    let later = log(&repo, "later");
    repo.lifeline()
        .args(["audit", "show", &later])
        .assert()
        .code(0);
    // A modified entry is shown, flagged, exit 1.
    let mut l = lines(&repo, &file);
    l[0] = l[0].replacen("op0", "opX", 1);
    write_lines(&repo, &file, &l);
    let out = repo
        .lifeline()
        .args(["audit", "show", &id(0)])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("does not match its hash"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn retention_compresses_only_old_months_and_the_chain_still_verifies() {
    let repo = Repo::sample();
    let now = jiff::Timestamp::now();
    let recent = now
        .checked_sub(jiff::SignedDuration::from_hours(24 * 60))
        .unwrap()
        .strftime("%Y-%m")
        .to_string();
    write_months(&repo, &["2015-03", "2018-01", &recent]);
    let young_before = repo.read(&format!("docs/audit/audit-{recent}.jsonl"));
    let out = repo
        .lifeline()
        .args(["audit", "retention", "--dry-run"])
        .assert()
        .code(0);
    assert!(
        stdout(&out).contains("  compress  docs/audit/audit-2015-03.jsonl"),
        "{}",
        stdout(&out)
    );
    assert!(repo.join("docs/audit/audit-2015-03.jsonl").exists());
    repo.lifeline()
        .args(["audit", "retention"])
        .assert()
        .code(0);
    assert!(repo.join("docs/audit/audit-2015-03.jsonl.gz").exists());
    assert!(repo.join("docs/audit/audit-2018-01.jsonl.gz").exists());
    assert!(!repo.join("docs/audit/audit-2015-03.jsonl").exists());
    // The young month is untouched except for retention's own entry.
    let young_after = repo.read(&format!("docs/audit/audit-{recent}.jsonl"));
    let current = log_file(&repo);
    if current.ends_with(&format!("{recent}.jsonl")) {
        assert!(young_after.starts_with(&young_before));
    } else {
        assert_eq!(young_after, young_before);
    }
    let out = repo.lifeline().args(["audit", "verify"]).assert().code(0);
    assert!(
        stdout(&out).contains("audit trail valid: 4 entries"),
        "{}",
        stdout(&out)
    );
    let (code, py) = python_verify(&repo, &[]);
    assert_eq!(code, 0, "{py}");
    let old = entries(&repo, &current).pop().unwrap();
    assert_eq!(old["operation"], "retention");
    let out = repo
        .lifeline()
        .args([
            "audit",
            "query",
            "--since",
            "2015-03-01",
            "--until",
            "2015-03-31",
        ])
        .assert()
        .code(0);
    assert!(stdout(&out).ends_with("1 entries\n"), "{}", stdout(&out));
}

#[test]
fn every_audit_command_documents_examples_and_exit_codes() {
    let repo = Repo::bare_dir();
    for cmd in [
        "log",
        "verify",
        "seal",
        "query",
        "show",
        "retention",
        "public-key",
    ] {
        let out = repo
            .lifeline()
            .args(["audit", cmd, "--help"])
            .assert()
            .code(0);
        let text = stdout(&out);
        assert!(
            text.contains("Examples:") && text.contains("Exit codes:"),
            "{cmd}: {text}"
        );
    }
}

#[test]
fn init_adds_the_union_merge_line_once_and_is_audited() {
    let repo = Repo::sample();
    repo.write(".gitattributes", "*.png binary\n");
    let init = [
        "init",
        "--action",
        "acme/lifeline@3d3c42e5aac5ba805825da76410c181273ba90b1",
    ];
    let out = repo.lifeline().args(init).arg("--dry-run").assert().code(0);
    assert!(
        stdout(&out).contains("would write  .gitattributes"),
        "{}",
        stdout(&out)
    );
    assert_eq!(repo.read(".gitattributes"), "*.png binary\n");
    assert!(!repo.join(MONTH_DIR).exists(), "a dry run records nothing");
    repo.lifeline().args(init).assert().code(0);
    repo.lifeline().args(init).assert().code(0);
    assert_eq!(
        repo.read(".gitattributes"),
        "*.png binary\ndocs/audit/*.jsonl merge=union\n"
    );
    // The rerun changed nothing and is not recorded.
    let all = entries(&repo, &log_file(&repo));
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["component"], "lifeline");
    assert_eq!(all[0]["operation"], "init");
    assert_eq!(
        all[0]["files_affected"],
        serde_json::json!([
            "lifeline.toml",
            ".github/workflows/lifeline-health.yml",
            ".github/workflows/lifeline-emergency-recovery.yml",
            ".gitattributes"
        ])
    );
    // A refused init is recorded as a failure.
    repo.write("lifeline.toml", "[audit]\nretention_years = 8\n");
    repo.lifeline().args(init).assert().code(2);
    let last = entries(&repo, &log_file(&repo)).pop().unwrap();
    assert_eq!(last["result"], "failure");
    assert!(
        last["details"]["error_message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
}

// ---- Trust II: secrets at every sink -------------------------------------

const PLAIN_SECRET: &str = "plain-looking-secret-42";
const ENCODED_TOKEN: &str = "x-access-token%3Aghp_0123456789abcdefghijABCDEFGHIJ%40github.com";

fn assert_no_secret(what: &str, text: &str) {
    for leak in [PLAIN_SECRET, "ghp_0123456789", "s3cr3t-configured"] {
        assert!(!text.contains(leak), "{leak} leaked into {what}:\n{text}");
    }
}

#[test]
fn secrets_never_reach_manifests_ref_messages_stdout_or_the_step_summary() {
    let repo = Repo::sample();
    repo.write("lifeline.toml", "[audit]\nsecret_env = [\"DEPLOY_KEY\"]\n");
    repo.git(&["add", "-A"]);
    repo.git(&[
        "commit",
        "-q",
        "-m",
        &format!("deploy {PLAIN_SECRET} via https://{ENCODED_TOKEN} s3cr3t-configured"),
    ]);
    let secrets = [
        ("GITHUB_TOKEN", PLAIN_SECRET),
        ("DEPLOY_KEY", "s3cr3t-configured"),
    ];
    let mut create = repo.lifeline();
    create.args([
        "checkpoint",
        "create",
        "--type",
        "manual",
        "--operation",
        &format!("before {PLAIN_SECRET}"),
        "--format",
        "json",
    ]);
    for (k, v) in secrets {
        create.env(k, v);
    }
    let out = create.assert().code(0);
    assert_no_secret("checkpoint create stdout", &stdout(&out));
    let created: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    // The manifest and the commit message of the checkpoint ref.
    let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/lifeline/"]);
    let reference = refs.lines().next().expect("a checkpoint ref");
    let message = repo.git(&["log", "-1", "--format=%B", reference]);
    assert_no_secret("the ref message", &message);
    let manifest = repo.git(&["show", &format!("{reference}:manifest.json")]);
    assert_no_secret("the manifest", &manifest);
    assert!(
        manifest.contains("[REDACTED]"),
        "the commit subject is in the manifest, redacted:\n{manifest}"
    );
    // What `checkpoint show` prints.
    let mut show = repo.lifeline();
    show.args(["checkpoint", "show", &id, "--format", "json"]);
    for (k, v) in secrets {
        show.env(k, v);
    }
    assert_no_secret("checkpoint show", &stdout(&show.assert().code(0)));
    // validate: every format, and the step summary in GitHub Actions.
    let task = repo.read("planning/TASK.md").replace(
        "| T-004 | Label audit | Check labels.yml against repo | Medium |",
        &format!("| T-004 | Label {PLAIN_SECRET} {ENCODED_TOKEN} | Check | Urgent |"),
    );
    repo.write("planning/TASK.md", task);
    let summary = repo.join("summary.md");
    for format in ["text", "json", "github", "sarif"] {
        let mut validate = repo.lifeline();
        validate
            .args(["validate", "--format", format])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary);
        for (k, v) in secrets {
            validate.env(k, v);
        }
        let out = validate.assert().code(1);
        if format == "text" {
            assert!(
                stdout(&out).contains("[REDACTED]"),
                "the snippet shows the line, redacted:\n{}",
                stdout(&out)
            );
        }
        assert_no_secret(&format!("validate --format {format}"), &stdout(&out));
    }
    assert_no_secret(
        "the step summary",
        &std::fs::read_to_string(&summary).unwrap(),
    );
    // Errors on stderr.
    let out = repo
        .lifeline()
        .args(["audit", "log", "--component", "c", "--operation", "o"])
        .args(["--file", &format!("/{PLAIN_SECRET}")])
        .env("GITHUB_TOKEN", PLAIN_SECRET)
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains("--file /[REDACTED]"),
        "{}",
        stderr(&out)
    );
    assert_no_secret("stderr", &stderr(&out));
}

// ---- Trust II: the audit trail survives bad days --------------------------

/// Runs `lifeline args...` with a file size limit of `limit` bytes, so a
/// write past it fails in the kernel (EFBIG) the way a full disk does —
/// no root privileges or special file system needed.
#[cfg(unix)]
fn lifeline_with_file_limit(
    repo: &Repo,
    limit: u64,
    args: &[String],
) -> assert_cmd::assert::Assert {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lifeline"));
    cmd.current_dir(repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    assert_cmd::Command::from_std(cmd).assert()
}

#[cfg(unix)]
#[test]
fn an_append_that_runs_out_of_room_leaves_the_file_as_it_was() {
    let repo = repo_with(2);
    let file = log_file(&repo);
    let before = std::fs::read(repo.join(&file)).unwrap();
    // Room for part of the new line, not all of it: the write is short.
    let args: Vec<String> = ["audit", "log", "--component", "c", "--operation", "too-big"]
        .into_iter()
        .map(String::from)
        .chain(["--detail".into(), format!("pad={}", "x".repeat(4000))])
        .collect();
    let out = lifeline_with_file_limit(&repo, before.len() as u64 + 100, &args).code(2);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("could not append to {file}")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "truncated back to its previous {} bytes: nothing was recorded",
            before.len()
        )),
        "{err}"
    );
    assert_eq!(
        std::fs::read(repo.join(&file)).unwrap(),
        before,
        "not one byte of the failed entry stays"
    );
    repo.lifeline().args(["audit", "verify"]).assert().code(0);
    log(&repo, "after");
    repo.lifeline().args(["audit", "verify"]).assert().code(0);
}

#[test]
fn a_torn_tail_is_a_finding_and_repair_ends_it_with_an_audited_entry() {
    let repo = repo_with(3);
    let file = log_file(&repo);
    let mut l = lines(&repo, &file);
    // A crash mid-write: the fourth line stops halfway, no newline.
    let whole = l.pop().unwrap();
    let torn = whole[..whole.len() / 2].to_string();
    repo.write(&file, l.join("\n") + "\n" + &whole + "\n" + &torn);
    let out = repo.lifeline().args(["audit", "verify"]).assert().code(1);
    let text = stdout(&out);
    assert!(text.contains(&format!("error[torn]: {file}:4:")), "{text}");
    assert!(text.contains("lifeline audit repair --yes"), "{text}");
    let (code, py) = python_verify(&repo, &[]);
    assert_eq!(code, 1, "{py}");
    assert!(py.contains("torn"), "{py}");
    // The next entry starts on a line of its own; the torn one stays a finding.
    log(&repo, "after-crash");
    let out = repo.lifeline().args(["audit", "verify"]).assert().code(1);
    assert!(stdout(&out).contains(&format!("error[torn]: {file}:4:")));
    // Without --yes repair only lists what it would take out.
    let out = repo.lifeline().args(["audit", "repair"]).assert().code(2);
    assert!(
        stderr(&out).contains(&format!("{file}:4")),
        "{}",
        stderr(&out)
    );
    assert!(lines(&repo, &file).contains(&torn), "nothing taken out yet");
    repo.lifeline()
        .args(["audit", "repair", "--yes"])
        .assert()
        .code(0);
    repo.lifeline().args(["audit", "verify"]).assert().code(0);
    assert_eq!(python_verify(&repo, &[]).0, 0);
    let all = entries(&repo, &file);
    assert_eq!(all.len(), 5, "3 + after-crash + the repair entry");
    let repair = all.last().unwrap();
    assert_eq!(
        (repair["component"].as_str(), repair["operation"].as_str()),
        (Some("audit"), Some("repair"))
    );
    let removed = &repair["details"]["removed"][0];
    assert_eq!(removed["file"], file.as_str());
    assert_eq!(removed["line"], 4);
    assert_eq!(removed["bytes"], torn.len());
    assert_eq!(
        removed["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(torn.as_bytes()))
    );
    assert_eq!(
        removed["text"],
        torn.as_str(),
        "the bytes are kept, not lost"
    );
    // Nothing left to repair.
    repo.lifeline()
        .args(["audit", "repair", "--yes"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("nothing to repair"));
}

#[test]
fn an_entry_in_the_wrong_month_file_is_caught() {
    // A renamed month file.
    let repo = Repo::sample();
    write_months(&repo, &["2026-08", "2026-09"]);
    std::fs::rename(
        repo.join("docs/audit/audit-2026-09.jsonl"),
        repo.join("docs/audit/audit-2026-10.jsonl"),
    )
    .unwrap();
    assert_caught(
        &repo,
        "wrong-month",
        "docs/audit/audit-2026-10.jsonl:1",
        &[],
    );
    // An entry moved into the month file before it.
    let repo = Repo::sample();
    write_months(&repo, &["2026-08", "2026-09"]);
    let sep = repo.read("docs/audit/audit-2026-09.jsonl");
    let aug = repo.read("docs/audit/audit-2026-08.jsonl");
    repo.write("docs/audit/audit-2026-08.jsonl", aug + &sep);
    std::fs::remove_file(repo.join("docs/audit/audit-2026-09.jsonl")).unwrap();
    assert_caught(
        &repo,
        "wrong-month",
        "docs/audit/audit-2026-08.jsonl:2",
        &[],
    );
}

#[test]
fn a_clock_behind_the_newest_month_is_refused_not_misfiled() {
    let repo = Repo::sample();
    write_months(&repo, &["2026-09"]);
    let log = Log::at(repo.join(MONTH_DIR));
    let ctx = entry::Context::new("SES-test", "user:test");
    let at: jiff::Timestamp = "2026-08-31T23:59:00Z".parse().unwrap();
    let body = entry::body(repo.path(), &ctx, &Event::new("c", "o"), at).unwrap();
    let err = log.append(vec![body], None).unwrap_err().to_string();
    assert!(err.contains("the clock says 2026-08"), "{err}");
    assert_eq!(
        self::entries(&repo, "docs/audit/audit-2026-09.jsonl").len(),
        1
    );
    assert!(log.preflight(at).is_err());
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn no_nesting_crashes_verify_and_log_refuses_what_verify_would_not_accept() {
    let repo = repo_with(2);
    let file = log_file(&repo);
    // Deeper than any parser's stack: a finding, not a crash.
    let mut l = lines(&repo, &file);
    l.push(format!(
        "{{\"a\":{},\"hash\":\"{}\"}}",
        nested(300_000),
        "0".repeat(64)
    ));
    write_lines(&repo, &file, &l);
    let out = repo.lifeline().args(["audit", "verify"]).assert().code(1);
    assert!(
        stdout(&out).contains(&format!("error[malformed]: {file}:3")),
        "{}",
        stdout(&out)
    );
    let (code, py) = python_verify(&repo, &[]);
    assert_eq!(code, 1, "{py}");
    assert!(
        py.contains(&format!("{}:3: malformed", repo.join(&file).display())),
        "{py}"
    );
    // Reading paths skip it; none crashes.
    repo.lifeline()
        .args(["audit", "query", "--format", "jsonl"])
        .assert()
        .code(0);
    repo.lifeline()
        .args(["audit", "show", "AUD-019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6071"])
        .assert()
        .code(1);
    // Within serde's limit but past MAX_DEPTH: refused by log and by verify.
    l.pop();
    write_lines(&repo, &file, &l);
    let too_deep = format!("{{\"x\":{}}}", nested(canonical::MAX_DEPTH));
    repo.lifeline()
        .args(["audit", "log", "--component", "c", "--operation", "o"])
        .args(["--details-json", &too_deep])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("levels deep"));
    let ok = format!("{{\"x\":{}}}", nested(canonical::MAX_DEPTH - 3));
    repo.lifeline()
        .args(["audit", "log", "--component", "c", "--operation", "o"])
        .args(["--details-json", &ok])
        .assert()
        .code(0);
    repo.lifeline().args(["audit", "verify"]).assert().code(0);
    assert_eq!(python_verify(&repo, &[]).0, 0);
}

type Damage = dyn Fn(&Repo);

#[test]
fn damaged_files_are_findings_for_both_verifiers_never_a_traceback() {
    let damage: [(&str, &Damage); 4] = [
        ("a bad .gz", &|r: &Repo| {
            r.write(
                "docs/audit/audit-2019-01.jsonl.gz",
                b"\x1f\x8b\x08\x00garbage",
            );
        }),
        ("a directory named like a month file", &|r: &Repo| {
            std::fs::create_dir_all(r.join("docs/audit/audit-2019-02.jsonl")).unwrap();
        }),
        ("bad UTF-8 in a line", &|r: &Repo| {
            let file = log_file(r);
            let mut bytes = std::fs::read(r.join(&file)).unwrap();
            bytes.extend_from_slice(b"{\"a\":\"\xff\xfe\",\"hash\":\"x\"}\n");
            std::fs::write(r.join(&file), bytes).unwrap();
        }),
        ("deep JSON", &|r: &Repo| {
            let file = log_file(r);
            let mut text = r.read(&file);
            text.push_str(&nested(50_000));
            text.push('\n');
            r.write(&file, text);
        }),
    ];
    for (what, damage) in damage {
        let repo = repo_with(2);
        damage(&repo);
        let out = repo.lifeline().args(["audit", "verify"]).assert().code(1);
        assert!(stdout(&out).contains("audit trail invalid"), "{what}");
        let out = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify_audit.py"))
            .arg(repo.join(MONTH_DIR))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(!err.contains("Traceback"), "{what}: {err}");
    }
}

#[test]
fn query_since_and_until_must_be_dates_or_times() {
    let repo = repo_with(1);
    for bad in ["yesterday", "2026-13-01", "2026-11-01x", ""] {
        repo.lifeline()
            .args(["audit", "query", "--since", bad])
            .assert()
            .code(2);
        repo.lifeline()
            .args(["audit", "query", "--until", bad])
            .assert()
            .code(2);
    }
    let out = repo
        .lifeline()
        .args([
            "audit",
            "query",
            "--since",
            "2000-01-01",
            "--format",
            "jsonl",
        ])
        .assert()
        .code(0);
    assert_eq!(stdout(&out).lines().count(), 1);
    // A time with an offset is compared in UTC.
    let out = repo
        .lifeline()
        .args(["audit", "query", "--until", "2000-01-01T00:00:00+01:00"])
        .args(["--format", "jsonl"])
        .assert()
        .code(0);
    assert_eq!(stdout(&out).lines().count(), 0);
}

fn read_number_table(name: &str) -> Vec<(f64, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/numbers")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let (bits, want) = l.split_once(' ').unwrap();
            let x = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
            (x, want.to_string())
        })
        .collect()
}

#[test]
fn numbers_print_exactly_as_javascript_prints_them() {
    let sample = read_number_table("es-doubles.txt");
    assert!(sample.len() > 19_000);
    let appendix_b = read_number_table("rfc8785-appendix-b.txt");
    for (x, want) in sample.iter().chain(&appendix_b) {
        assert_eq!(&canonical::es_number(*x), want, "{:016x}", x.to_bits());
        // What a verifier reads back is the same double.
        assert_eq!(want.parse::<f64>().unwrap().to_bits(), (*x + 0.0).to_bits());
        let read: f64 = serde_json::from_str(want).unwrap();
        assert_eq!(
            read.to_bits(),
            (*x + 0.0).to_bits(),
            "serde_json reads {want}"
        );
        let v = Value::from(*x);
        assert_eq!(&canonical::to_string(&v), want);
    }
    // The tie from the issue, end to end: lifeline and the Python verifier agree.
    let repo = Repo::sample();
    repo.lifeline()
        .args(["audit", "log", "--component", "c", "--operation", "o"])
        .args(["--details-json", "{\"x\":1882383255828106.25}"])
        .assert()
        .code(0);
    assert!(
        repo.read(&log_file(&repo))
            .contains("\"x\":1882383255828106.2}")
    );
    repo.lifeline().args(["audit", "verify"]).assert().code(0);
    assert_eq!(python_verify(&repo, &[]).0, 0);
}

#[test]
fn a_command_refuses_before_changing_files_when_its_entry_could_not_be_written() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "good state");
    repo.corrupt("TASK.truncated.md", "planning/TASK.md");
    let broken = repo.read("planning/TASK.md");
    // The audit directory cannot be created: a file is in its place.
    let _ = std::fs::remove_dir_all(repo.join("docs/audit"));
    repo.write("docs/audit", "not a directory");
    let out = repo
        .lifeline()
        .args(["restore", &id, "--yes"])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("docs/audit"), "{}", stderr(&out));
    assert_eq!(repo.read("planning/TASK.md"), broken, "nothing was changed");
    let refs = repo.git(&["for-each-ref", "refs/lifeline/"]);
    assert_eq!(
        refs.lines().count(),
        1,
        "not even a safety checkpoint:\n{refs}"
    );
}

#[cfg(unix)]
#[test]
fn when_the_entry_fails_after_the_change_the_error_names_the_files_and_the_checkpoint() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "good state");
    repo.corrupt("TASK.truncated.md", "planning/TASK.md");
    // A month file already past the file size limit: preflight passes
    // (the file opens, the disk has room), the append itself fails.
    let log = Log::at(repo.join(MONTH_DIR));
    let ctx = entry::Context::new("SES-test", "user:test");
    let event = Event::new("c", "o").detail("pad", "x".repeat(300_000));
    let body = entry::body(repo.path(), &ctx, &event, jiff::Timestamp::now()).unwrap();
    log.append(vec![body], None).unwrap();
    let args: Vec<String> = vec!["restore".into(), id.clone(), "--yes".into()];
    let out = lifeline_with_file_limit(&repo, 200_000, &args).code(2);
    let err = stderr(&out);
    assert!(err.contains("changed planning/TASK.md"), "{err}");
    assert!(
        err.contains("its audit entry could not be written"),
        "{err}"
    );
    let safety = repo.git(&[
        "for-each-ref",
        "--format=%(refname:short)",
        "refs/lifeline/",
    ]);
    let safety_id = safety
        .lines()
        .map(|r| r.rsplit('/').next().unwrap().to_string())
        .find(|r| *r != id)
        .expect("a safety checkpoint");
    assert!(
        err.contains(&format!("safety checkpoint {safety_id}")),
        "{err}"
    );
}

#[test]
fn incident_files_and_github_request_bodies_are_redacted() {
    lifeline::redact::register_secrets(["registered-value-77".to_string()]);
    let token = "ghp_0123456789abcdefghijABCDEFGHIJ";
    let repo = Repo::sample();
    let ws = lifeline::workspace::Workspace::discover(repo.path(), None, None).unwrap();
    let incident = lifeline::recover::incident::Incident::open(
        &ws,
        lifeline::config::Severity::P1,
        "rollback",
        &format!("oncall registered-value-77 %3A{token}"),
        None,
    )
    .unwrap();
    let record = repo.read(&incident.rel_path());
    assert!(
        record.contains("oncall [REDACTED] %3A[REDACTED]"),
        "{record}"
    );
    let fake = lifeline::github::fake::FakeGitHub::start().unwrap();
    let client = lifeline::github::Client::new(lifeline::github::ClientOptions {
        api_url: fake.url().to_string(),
        ..lifeline::github::ClientOptions::default()
    });
    let body = serde_json::json!({
        "title": "Alert",
        "body": format!("push failed: https://x-access-token%3A{token}@github.com registered-value-77"),
    });
    client
        .send("POST", "repos/acme/plan/issues", Some(&body))
        .unwrap();
    let sent = fake.with(|s| s.issues[0]["body"].clone());
    assert_eq!(
        sent,
        "push failed: https://x-access-token%3A[REDACTED]@github.com [REDACTED]"
    );
}

/// `lifeline audit log` run in `dir` with `HOME` at `home` and, given
/// `no_git`, only that fake `git` on PATH; the entry it wrote (the log of
/// the work tree `root`).
fn log_in(repo: &Repo, dir: &Path, root: &Path, home: &Path, no_git: Option<&NoGit>) -> Value {
    let mut cmd = repo.lifeline();
    cmd.current_dir(dir)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .args(["audit", "log", "--component", "c", "--operation", "o"]);
    if let Some(no_git) = no_git {
        cmd.env("PATH", no_git.dir.path());
    }
    let out = cmd.assert();
    assert_eq!(out.get_output().status.code(), Some(0), "{}", stderr(&out));
    let dir = root.join(MONTH_DIR);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let text = std::fs::read_to_string(files.last().unwrap()).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn head_of(repo: &Repo, dir: &Path) -> String {
    let dir = dir.to_str().unwrap();
    repo.git(&["-C", dir, "rev-parse", "HEAD"])
        .trim()
        .to_string()
}

#[test]
fn an_entry_reads_head_and_user_name_without_starting_git() {
    let repo = Repo::sample();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".gitconfig"),
        "[user]\n\tname = Global Name\n",
    )
    .unwrap();
    repo.git(&["config", "user.name", "Ada Lovelace"]);
    let no_git = NoGit::new();
    let sub = repo.join("planning");
    let at = |no_git| log_in(&repo, &sub, repo.path(), home.path(), no_git);

    // From a subdirectory: the top level, HEAD through a loose ref, and
    // the repository's user.name over the global one.
    let e = at(Some(&no_git));
    assert_eq!(e["environment"]["actor"], "git:Ada Lovelace");
    assert_eq!(e["environment"]["git_commit"], head_of(&repo, repo.path()));
    // HEAD through packed-refs, then a detached HEAD.
    repo.git(&["pack-refs", "--all"]);
    assert!(!repo.join(".git/refs/heads/main").exists());
    let e = at(Some(&no_git));
    assert_eq!(e["environment"]["git_commit"], head_of(&repo, repo.path()));
    repo.git(&["commit", "-q", "--allow-empty", "-m", "second"]);
    repo.git(&["checkout", "-q", "--detach"]);
    let e = at(Some(&no_git));
    assert_eq!(e["environment"]["git_commit"], head_of(&repo, repo.path()));
    // The global user.name once the repository has none; a quoted value
    // with a comment after it, read as git reads it.
    repo.git(&["config", "--unset", "user.name"]);
    assert_eq!(at(Some(&no_git))["environment"]["actor"], "git:Global Name");
    std::fs::write(
        home.path().join(".gitconfig"),
        "[user]\n\tname = \"Ada  L.\" ; who\n",
    )
    .unwrap();
    assert_eq!(at(Some(&no_git))["environment"]["actor"], "git:Ada  L.");
    assert_eq!(at(None)["environment"]["actor"], "git:Ada  L.");
    assert_eq!(no_git.started(), "", "git was started");
}

#[test]
fn a_linked_worktree_and_an_unborn_branch_are_read_without_git() {
    let repo = Repo::sample();
    let home = tempfile::tempdir().unwrap();
    let no_git = NoGit::new();
    let wt_parent = tempfile::tempdir().unwrap();
    let wt = wt_parent.path().join("side");
    repo.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    repo.git(&[
        "-C",
        wt.to_str().unwrap(),
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "side",
    ]);
    let e = log_in(&repo, &wt, &wt, home.path(), Some(&no_git));
    assert_eq!(e["environment"]["git_commit"], head_of(&repo, &wt));
    assert_ne!(e["environment"]["git_commit"], head_of(&repo, repo.path()));

    repo.git(&["checkout", "-q", "--orphan", "fresh"]);
    let e = log_in(&repo, repo.path(), repo.path(), home.path(), Some(&no_git));
    assert_eq!(e["environment"]["git_commit"], Value::Null);
    assert_eq!(no_git.started(), "", "git was started");
}

#[test]
fn what_the_reader_does_not_model_is_asked_of_git() {
    let repo = Repo::sample();
    let home = tempfile::tempdir().unwrap();
    // An include: git follows it, the in-process reader does not.
    std::fs::write(
        home.path().join(".gitconfig"),
        "[include]\n\tpath = extra.config\n",
    )
    .unwrap();
    std::fs::write(
        home.path().join("extra.config"),
        "[user]\n\tname = Included\n",
    )
    .unwrap();
    let e = log_in(&repo, repo.path(), repo.path(), home.path(), None);
    assert_eq!(e["environment"]["actor"], "git:Included");
    let no_git = NoGit::new();
    log_in(&repo, repo.path(), repo.path(), home.path(), Some(&no_git));
    assert!(
        no_git.started().contains("config --get user.name"),
        "{}",
        no_git.started()
    );

    // GIT_DIR changes where git looks: git is asked to find the root.
    let no_git = NoGit::new();
    repo.lifeline()
        .env("PATH", no_git.dir.path())
        .env("GIT_DIR", repo.join(".git"))
        .args(["audit", "log", "--component", "c", "--operation", "o"])
        .assert()
        .code(2);
    assert!(
        no_git.started().contains("rev-parse --show-toplevel"),
        "{}",
        no_git.started()
    );
}

/// A FIFO named `.git` (a hostile checkout) is refused by the commands
/// that keep their index in the git directory: exit 2 with an error
/// naming it, never a hang (the timeout only turns a regression into a
/// failure). Writing entries, which needs no index, still works.
#[cfg(unix)]
#[test]
fn a_fifo_named_dot_git_is_a_clear_error_not_a_hang() {
    let repo = Repo::bare_dir();
    common::mkfifo(&repo.join(".git"));
    let root = repo.path().to_str().unwrap();
    let out = repo
        .lifeline()
        .args(["--root", root, "audit", "log", "--component", "c"])
        .args(["--operation", "sync"])
        .assert()
        .code(0);
    let id = stdout(&out).trim().to_string();
    for args in [vec!["audit", "query"], vec!["audit", "show", id.as_str()]] {
        let out = repo
            .lifeline()
            .args(["--root", root])
            .args(&args)
            .timeout(std::time::Duration::from_secs(120))
            .assert()
            .code(2);
        let err = stderr(&out);
        assert!(
            err.contains(".git") && err.contains("FIFO"),
            "{args:?}: {err}"
        );
    }
}
