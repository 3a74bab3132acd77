//! `lifeline health` against the fake GitHub on loopback.

mod common;

use common::{Repo, stdout};
use lifeline::github::fake::{Failure, FakeGitHub, Run};

const TOKEN: &str = "ghs_0123456789abcdefghijABCDEFGHIJ0123";

fn ago(minutes: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes))
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string()
}

fn run(id: u64, workflow: &str, conclusion: &str, minutes_ago: i64) -> Run {
    Run {
        id,
        workflow: workflow.into(),
        status: "completed".into(),
        conclusion: conclusion.into(),
        created_at: ago(minutes_ago),
        head_sha: format!("{id:040x}"),
        failed_jobs: if conclusion == "failure" {
            vec!["sync-tasks".into()]
        } else {
            vec![]
        },
    }
}

/// A sample repository with a fresh checkpoint, so only what a test
/// breaks is found.
fn sample() -> Repo {
    let repo = Repo::sample();
    repo.checkpoint("manual", "baseline");
    repo
}

fn health(repo: &Repo, fake: &FakeGitHub) -> assert_cmd::Command {
    let mut cmd = repo.lifeline();
    cmd.arg("health")
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/plan");
    cmd
}

#[test]
fn a_healthy_repository_costs_few_requests_and_nothing_when_unchanged() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| {
        s.runs = vec![
            run(1, "task-sync.yml", "success", 10),
            run(2, "task-archive.yml", "success", 50),
        ];
        s.labels.extend(
            [
                "priority/medium",
                "priority/low",
                "type/feature",
                "status/not-started",
                "status/in-progress",
                "status/review",
                "sprint/Sprint-07-2025",
            ]
            .iter()
            .map(|n| (n.to_string(), "ffffff".into(), String::new())),
        );
    });
    let out = health(&repo, &fake).assert().code(0);
    assert!(
        stdout(&out).starts_with("healthy: acme/plan: no findings\n"),
        "{}",
        stdout(&out)
    );
    let cold = fake.counted();
    assert!(
        cold <= 6,
        "cold cycle made {cold} requests: {:?}",
        fake.log()
    );
    let out = health(&repo, &fake).assert().code(0);
    assert_eq!(
        fake.counted(),
        cold,
        "warm cycle must be all 304s: {:?}",
        fake.log()
    );
    assert!(stdout(&out).contains("answered 304"));
    assert!(fake.log().iter().all(|l| l.authorized));
}

#[test]
fn repeated_workflow_failures_are_p1_with_jobs_and_links() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| {
        s.runs = vec![
            run(11, "task-sync.yml", "failure", 5),
            run(12, "task-sync.yml", "cancelled", 15),
            run(13, "task-sync.yml", "timed_out", 30),
            run(14, "task-sync.yml", "failure", 600),
        ];
    });
    let out = health(&repo, &fake)
        .args(["--format", "json"])
        .assert()
        .code(1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fingerprint"] == "workflow-failure:task-sync.yml")
        .expect("workflow finding");
    assert_eq!(f["severity"], "P1");
    assert_eq!(f["title"], "task-sync.yml: 2 failed runs in the last 1h");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("failing jobs in run 11: sync-tasks"),
        "{evidence}"
    );
    assert!(
        f["links"][0]
            .as_str()
            .unwrap()
            .ends_with("/acme/plan/actions/runs/11")
    );
    assert_eq!(doc["healthy"], false);
}

#[test]
fn a_single_latest_failure_is_p2_and_cancelled_runs_are_not_failures() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| {
        s.runs = vec![
            run(21, "task-archive.yml", "failure", 5),
            run(22, "task-sync.yml", "cancelled", 5),
            run(23, "task-sync.yml", "cancelled", 6),
        ];
    });
    let out = health(&repo, &fake).assert().code(0);
    let text = stdout(&out);
    assert!(
        text.contains("P2  workflow-failure  task-archive.yml: the latest run failed"),
        "{text}"
    );
    assert!(!text.contains("task-sync.yml"), "{text}");
    health(&repo, &fake)
        .args(["--fail-on", "P2"])
        .assert()
        .code(1);
}

#[test]
fn missing_labels_are_found_across_pages_case_insensitively() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| {
        s.max_page_size = 30;
        s.labels = (0..100)
            .map(|i| (format!("filler-{i}"), "ffffff".into(), String::new()))
            .collect();
        // labels.yml's names, in another case, on the last page.
        for name in [
            "PRIORITY/CRITICAL",
            "priority/high",
            "priority/medium",
            "priority/low",
            "type/feature",
            "status/not-started",
            "status/in-progress",
            "status/blocked",
            "status/review",
            "sprint/Sprint-07-2025",
        ] {
            s.labels.push((name.into(), "ffffff".into(), String::new()));
        }
    });
    let out = health(&repo, &fake)
        .args(["--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["fingerprint"], "missing-labels");
    assert_eq!(
        findings[0]["evidence"],
        serde_json::json!(["missing label `type/bug`"])
    );
}

#[test]
fn invalid_protected_files_are_reported_not_fatal() {
    let repo = sample();
    repo.corrupt("TASK.conflict.md", "planning/TASK.md");
    let out = repo
        .lifeline()
        .args(["health", "--offline"])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(
        text.contains("P2  merge-conflict  planning/TASK.md is invalid (1 error)"),
        "{text}"
    );
    assert!(text.contains("FILE004 planning/TASK.md:26:1"), "{text}");
    repo.corrupt("TASK.truncated.md", "planning/TASK.md");
    let out = repo
        .lifeline()
        .args(["health", "--offline"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("P0  corruption"), "{}", stdout(&out));
}

#[test]
fn an_expired_token_is_an_auth_finding() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.token_expired = true);
    let out = health(&repo, &fake).assert().code(1);
    let text = stdout(&out);
    assert!(
        text.contains("P1  auth  GitHub token expired or invalid"),
        "{text}"
    );
    assert!(!text.contains(TOKEN) && !text.contains("ghs_"), "{text}");
    assert_eq!(
        fake.log().len(),
        1,
        "no retries, no further requests after a 401"
    );
}

#[test]
fn a_long_rate_limit_is_a_finding_not_a_hang() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.failures.push_back(Failure::RateLimit { reset_in: 3600 }));
    let out = health(&repo, &fake)
        .args(["--max-wait", "5s"])
        .assert()
        .code(0);
    assert!(
        stdout(&out).contains("P3  rate-limit  GitHub API rate limit exhausted"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_disabled_workflow_is_reported() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.workflows[0].1 = "disabled_manually".into());
    let out = health(&repo, &fake).assert().code(0);
    assert!(
        stdout(&out).contains("P2  workflow-disabled  task-sync.yml is disabled"),
        "{}",
        stdout(&out)
    );
}

fn failing(fake: &FakeGitHub) {
    fake.with(|s| {
        s.runs = vec![
            run(31, "task-sync.yml", "failure", 3),
            run(32, "task-sync.yml", "failure", 4),
        ]
    });
}

#[test]
fn alerts_open_once_repeat_escalate_and_resolve() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    // First poll: one issue per finding (workflow failure, missing labels).
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("opened #1 for workflow-failure:task-sync.yml"),
        "{}",
        stdout(&out)
    );
    let issues = fake.with(|s| s.issues.clone());
    assert_eq!(issues.len(), 2);
    let issue = issues
        .iter()
        .find(|i| {
            i["body"]
                .as_str()
                .unwrap()
                .contains("fingerprint=workflow-failure:task-sync.yml")
        })
        .unwrap();
    let labels: Vec<&str> = issue["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["automation", "alert", "priority/high"]);
    assert!(issue["body"].as_str().unwrap().contains("**Respond by**"));
    // Second poll, right after: nothing new.
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("#1 already open for workflow-failure:task-sync.yml"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fake.with(|s| (s.issues.len(), s.comments.len())), (2, 0));
    // Quiet for longer than the repeat interval: one comment.
    fake.with(|s| s.issues[0]["updated_at"] = serde_json::json!(ago(5 * 60)));
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("commented on #1"), "{}", stdout(&out));
    assert_eq!(fake.with(|s| s.comments.len()), 1);
    // Open past the P1 deadline (2h): one escalation, then no more.
    fake.with(|s| s.issues[0]["created_at"] = serde_json::json!(ago(3 * 60)));
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("escalated #1"), "{}", stdout(&out));
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("#1 already open"), "{}", stdout(&out));
    assert_eq!(fake.with(|s| s.comments.len()), 2);
    // The problem clears: resolution comment and close.
    fake.with(|s| s.runs.push(run(33, "task-sync.yml", "success", 1)));
    fake.with(|s| {
        s.runs
            .iter_mut()
            .filter(|r| r.conclusion == "failure")
            .for_each(|r| r.created_at = ago(300))
    });
    let out = health(&repo, &fake).args(["--alert", "github"]).assert();
    assert!(
        stdout(&out).contains("closed #1 (workflow-failure:task-sync.yml cleared)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fake.with(|s| s.issues[0]["state"].clone()), "closed");
    assert_eq!(fake.with(|s| s.issues.len()), 2, "never a second issue");
}

#[test]
fn actions_outputs_and_summary() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    let summary = repo.join("summary.md");
    let outputs = repo.join("outputs.txt");
    let out = health(&repo, &fake)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .assert()
        .code(1);
    assert!(
        stdout(&out).starts_with("::error title=P1 workflow-failure::task-sync.yml: 2 failed runs"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&outputs).unwrap(),
        "healthy=false\nworst_severity=P1\nfindings=2\n"
    );
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("| P1 | `workflow-failure` |")
    );
}

#[test]
fn a_tampered_audit_trail_is_p0() {
    let repo = sample();
    for op in ["sync-start", "sync-complete"] {
        repo.lifeline()
            .args([
                "audit",
                "log",
                "--component",
                "task-sync",
                "--operation",
                op,
            ])
            .assert()
            .code(0);
    }
    repo.lifeline()
        .args(["health", "--offline"])
        .assert()
        .code(0);
    let dir = repo.join("docs/audit");
    let month = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&month).unwrap();
    std::fs::write(&month, text.replacen("sync-start", "sync-begin", 1)).unwrap();
    let out = repo
        .lifeline()
        .args(["health", "--offline"])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(
        text.contains("P0  audit-integrity  the audit trail fails verification"),
        "{text}"
    );
    assert!(text.contains(".jsonl:2: entry"), "names the line: {text}");
}

#[test]
fn no_recent_valid_checkpoint_is_p3() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args(["health", "--offline"])
        .assert()
        .code(0);
    assert!(
        stdout(&out).contains("P3  stale-checkpoint  no valid checkpoint to roll back to"),
        "{}",
        stdout(&out)
    );
    repo.checkpoint("manual", "baseline");
    let out = repo
        .lifeline()
        .args(["health", "--offline"])
        .assert()
        .code(0);
    assert_eq!(stdout(&out), "healthy: (local checks only): no findings\n");
}
