//! `lifeline health` against the fake GitHub on loopback.

use crate::common;

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
        ..Run::default()
    }
}

/// A run of a fork's pull request: its branch may well be called `main`.
fn fork_run(id: u64, workflow: &str, conclusion: &str, minutes_ago: i64, branch: &str) -> Run {
    Run {
        event: "pull_request".into(),
        head_repository: "mallory/plan".into(),
        branch: branch.into(),
        ..run(id, workflow, conclusion, minutes_ago)
    }
}

/// The body of the issue whose state line names `fingerprint`.
fn alert_body(fake: &FakeGitHub, fingerprint: &str) -> String {
    let marker = format!("fingerprint={fingerprint}");
    fake.with(|s| {
        s.issues
            .iter()
            .find(|i| {
                i["body"]
                    .as_str()
                    .unwrap()
                    .lines()
                    .next()
                    .unwrap()
                    .contains(&marker)
            })
            .map(|i| i["body"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no alert for {fingerprint}: {:?}", s.issues))
    })
}

/// Moves lifeline's last word on issue `index` back `minutes`, as if that
/// much time had passed since it opened or reminded.
fn age_alert(fake: &FakeGitHub, index: usize, minutes: i64) {
    fake.with(|s| {
        let body = s.issues[index]["body"].as_str().unwrap().to_string();
        let (first, rest) = body.split_once('\n').unwrap();
        let first: String = first
            .split(' ')
            .map(|w| {
                if w.starts_with("notified=") {
                    format!("notified={}", ago(minutes))
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        s.issues[index]["body"] = serde_json::json!(format!("{first}\n{rest}"));
    });
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
    let out = health(&repo, &fake).assert().code(0).stderr("");
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
        .code(1);
    let text = stdout(&out);
    assert!(
        text.contains("P3  rate-limit  GitHub API rate limit exhausted"),
        "{text}"
    );
    assert!(text.starts_with("unknown: acme/plan:"), "{text}");
    assert!(text.contains("not checked: workflow runs"), "{text}");
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
    age_alert(&fake, 0, 5 * 60);
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
        "healthy=false\nstatus=unhealthy\nworst_severity=P1\nfindings=2\n"
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

// ---- Health never fails open ----

#[test]
fn a_check_that_cannot_run_is_unknown_and_says_what_was_not_checked() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    // The repository endpoint (the default branch) answers 404 once.
    fake.with(|s| s.failures.push_back(Failure::NotFound));
    let out = health(&repo, &fake).assert().code(1);
    let text = stdout(&out);
    assert!(text.starts_with("unknown: acme/plan:"), "{text}");
    assert!(
        text.contains("not checked: workflow runs (GitHub answered 404"),
        "{text}"
    );
    assert!(!text.contains("workflow-failure"), "{text}");
    // Configurable: the report still says it, the exit code does not.
    fake.with(|s| s.failures.push_back(Failure::NotFound));
    let out = health(&repo, &fake)
        .args(["--on-unknown", "pass", "--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["status"], "unknown");
    assert_eq!(doc["healthy"], false);
    assert_eq!(doc["unchecked"][0]["check"], "workflow runs");
    // The alert says what could not be checked.
    fake.with(|s| s.failures.push_back(Failure::NotFound));
    health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    let body = alert_body(&fake, "github-api:not-found");
    assert!(body.contains("not checked: workflow runs"), "{body}");
    // In a workflow: the annotations end with the verdict and the gap.
    fake.with(|s| s.failures.push_back(Failure::NotFound));
    let summary = repo.join("summary.md");
    let out = health(&repo, &fake)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", repo.join("outputs.txt"))
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains("\nunknown: acme/plan:"), "{text}");
    assert!(text.contains("\nnot checked: workflow runs"), "{text}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("unknown: not every check ran"),
        "{summary}"
    );
    assert!(
        summary.contains("- not checked: workflow runs"),
        "{summary}"
    );
}

#[test]
fn failed_runs_are_reported_when_their_jobs_are_gone() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    fake.with(|s| s.jobs_gone = true);
    let out = health(&repo, &fake)
        .args(["--format", "json"])
        .assert()
        .code(1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["status"], "unhealthy");
    let f = &doc["findings"][0];
    assert_eq!(f["fingerprint"], "workflow-failure:task-sync.yml");
    assert_eq!(f["severity"], "P1");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("the jobs of run 31 could not be read"),
        "{evidence}"
    );
    assert!(evidence.contains("run 32 failure"), "{evidence}");
    // When the failure started, for time to detect: the oldest failing run.
    let oldest = fake.with(|s| s.runs[1].created_at.clone());
    assert_eq!(f["failed_at"], serde_json::json!(oldest));
}

#[test]
fn an_api_that_never_answers_ends_in_a_finding_not_a_hang() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.hang = true);
    let out = health(&repo, &fake)
        .args(["--timeout", "1s"])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.starts_with("unknown: acme/plan:"), "{text}");
    assert!(
        text.contains("P2  unknown  GitHub did not answer in time"),
        "{text}"
    );
    assert!(text.contains("not checked: labels"), "{text}");
}

#[test]
fn an_api_that_paginates_forever_ends_in_a_finding() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.paginate_forever = true);
    let out = health(&repo, &fake).assert().code(1);
    let text = stdout(&out);
    assert!(text.contains("a GitHub list did not end"), "{text}");
    assert!(text.contains("after 50 pages"), "{text}");
    assert!(fake.log().len() < 200, "{} requests", fake.log().len());
}

fn expiring_in(fake: &FakeGitHub, hours: i64) {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours);
    fake.with(|s| s.token_expiration = Some(at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()));
}

#[test]
fn token_expiry_is_reported_warned_and_alerted() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    expiring_in(&fake, 30 * 24);
    let out = health(&repo, &fake).assert();
    let text = stdout(&out);
    assert!(text.contains("the GitHub token expires at "), "{text}");
    assert!(!text.contains("token-expiry"), "{text}");
    expiring_in(&fake, 3 * 24);
    let out = health(&repo, &fake).assert().code(0);
    assert!(
        stdout(&out).contains("P2  auth  the GitHub token expires in 7"),
        "{}",
        stdout(&out)
    );
    expiring_in(&fake, 5);
    let out = health(&repo, &fake).assert().code(1);
    assert!(
        stdout(&out).contains("P1  auth  the GitHub token expires in 4h"),
        "{}",
        stdout(&out)
    );
}

// ---- Reading GitHub: fork pull requests ----

#[test]
fn failed_fork_runs_do_not_open_an_alert() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| {
        s.runs = vec![
            fork_run(41, "task-sync.yml", "failure", 3, "main"),
            fork_run(42, "task-sync.yml", "failure", 4, "patch-1"),
            Run {
                event: "pull_request_target".into(),
                ..run(43, "task-sync.yml", "failure", 5)
            },
            run(44, "task-sync.yml", "success", 60),
        ]
    });
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(!text.contains("workflow-failure"), "{text}");
    assert!(
        fake.with(|s| s
            .issues
            .iter()
            .all(|i| !i["body"].as_str().unwrap().contains("workflow-failure"))),
        "no workflow alert"
    );
    assert!(
        fake.log()
            .iter()
            .any(|l| l.url.contains("/runs?branch=main&")),
        "asks for the default branch's runs: {:?}",
        fake.log()
    );
}

#[test]
fn successful_fork_runs_do_not_push_real_failures_off_the_page() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    fake.with(|s| s.max_page_size = 10);
    health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    // 30 successful fork runs, newer than the failures, some on a fork
    // branch named like the default one.
    fake.with(|s| {
        for k in 0..30 {
            let branch = if k % 2 == 0 { "main" } else { "feature" };
            s.runs
                .push(fork_run(100 + k, "task-sync.yml", "success", 1, branch));
        }
    });
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(
        text.contains("#1 already open for workflow-failure:task-sync.yml"),
        "{text}"
    );
    assert!(!text.contains("closed #1"), "{text}");
    assert_eq!(fake.with(|s| s.issues[0]["state"].clone()), "open");
}

// ---- Reading GitHub: what lifeline writes ----

#[test]
fn outside_text_in_alerts_cannot_mention_link_or_forge_state() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    let hostile = "@acme/admins ping @octocat <img src=x onerror=alert(1)> ![p](https://evil.example/p.png) [click](https://evil.example) `` ` ``\n<!-- lifeline:alert fingerprint=missing-labels escalated -->";
    fake.with(|s| {
        for r in &mut s.runs {
            r.failed_jobs = vec![hostile.into()];
        }
    });
    health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    let body = alert_body(&fake, "workflow-failure:task-sync.yml");
    for gone in [
        "@acme",
        "@octocat",
        "https://evil",
        "<!-- lifeline:alert fingerprint=missing-labels",
    ] {
        assert!(!body.contains(gone), "{gone:?} in {body}");
    }
    // In the evidence and remediation no character that could open HTML,
    // a link, an image or a code span is left unescaped.
    let below = body.split_once("### Evidence").unwrap().1;
    let below = below.split("\n_Opened by").next().unwrap();
    for active in ['<', '[', ']', '!', '`'] {
        assert!(
            below
                .match_indices(active)
                .all(|(i, _)| below[..i].ends_with('\\')),
            "{active:?} unescaped in {below}"
        );
    }
    assert_eq!(body.matches("<!--").count(), 1, "{body}");
    // A second cycle still sees exactly the two alerts it opened.
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("#1 already open"), "{}", stdout(&out));
    assert!(stdout(&out).contains("#2 already open"), "{}", stdout(&out));
    assert_eq!(fake.with(|s| s.issues.len()), 2);
}

#[test]
fn only_issues_lifeline_opened_are_its_alerts() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    // Issues by someone else, carrying the alert label and state lines.
    fake.with(|s| {
        for (n, fp) in [
            (1, "workflow-failure:task-sync.yml"),
            (2, "stale-checkpoint"),
        ] {
            s.issues.push(serde_json::json!({
                "number": n,
                "user": {"login": "mallory"},
                "title": "x",
                "body": format!("<!-- lifeline:alert fingerprint={fp} -->\nplease close me"),
                "state": "open",
                "labels": [{"name": "alert"}],
                "created_at": ago(600),
                "updated_at": ago(600),
            }));
        }
    });
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(
        text.contains("opened #3 for workflow-failure:task-sync.yml"),
        "{text}"
    );
    assert!(!text.contains("closed"), "{text}");
    assert_eq!(fake.with(|s| s.comments.len()), 0);
    assert!(fake.with(|s| s.issues[..2].iter().all(|i| i["state"] == "open")));
}

#[test]
fn with_github_token_lifeline_is_the_actions_bot() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    fake.with(|s| s.app_token = true);
    health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    assert_eq!(
        fake.with(|s| s.issues[0]["user"]["login"].clone()),
        "github-actions[bot]"
    );
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("#1 already open"), "{}", stdout(&out));
    assert_eq!(fake.with(|s| s.issues.len()), 2);
}

#[test]
fn a_fingerprint_holding_a_comment_end_does_not_flap() {
    let repo = sample();
    repo.write(
        "lifeline.toml",
        "[health]\nworkflows = [\"evil -->.yml\"]\n",
    );
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| {
        s.workflows.push(("evil -->.yml".into(), "active".into()));
        s.runs = vec![
            run(51, "evil -->.yml", "failure", 3),
            run(52, "evil -->.yml", "failure", 4),
        ];
    });
    for _ in 0..3 {
        let out = health(&repo, &fake)
            .args(["--alert", "github"])
            .assert()
            .code(1);
        assert!(!stdout(&out).contains("closed"), "{}", stdout(&out));
    }
    assert_eq!(fake.with(|s| s.issues.len()), 2);
    assert!(fake.with(|s| s.issues.iter().all(|i| i["state"] == "open")));
}

#[test]
fn bodies_fit_and_a_refused_alert_does_not_stop_the_others() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    fake.with(|s| {
        for r in &mut s.runs {
            r.failed_jobs = vec!["x".repeat(70_000)];
        }
    });
    health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(1);
    let body = alert_body(&fake, "workflow-failure:task-sync.yml");
    assert!(body.chars().count() < 65_536, "{}", body.len());
    assert!(body.contains('…'));
    // GitHub refuses the first alert: the second is still delivered, and
    // health says so and fails.
    let fake = FakeGitHub::start().unwrap();
    failing(&fake);
    fake.with(|s| s.refuse = vec!["workflow-failure".into()]);
    let out = health(&repo, &fake)
        .args(["--alert", "github", "--fail-on", "P0"])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains("opened #1 for missing-labels"), "{text}");
    assert!(
        text.contains("NOT DELIVERED: workflow-failure:task-sync.yml: GitHub answered 422"),
        "{text}"
    );
}

#[test]
fn comments_by_others_do_not_silence_the_reminder() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(0);
    assert!(alert_body(&fake, "missing-labels").contains("type/feature"));
    // Five hours later, and someone commented a minute ago.
    age_alert(&fake, 0, 5 * 60);
    fake.with(|s| s.issues[0]["created_at"] = serde_json::json!(ago(5 * 60)));
    fake.comment_as(1, "alice", "looking into it");
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(0);
    assert!(stdout(&out).contains("commented on #1"), "{}", stdout(&out));
    // Right after the reminder, nothing more.
    let out = health(&repo, &fake)
        .args(["--alert", "github"])
        .assert()
        .code(0);
    assert!(stdout(&out).contains("#1 already open"), "{}", stdout(&out));
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let repo = sample();
    let fake = FakeGitHub::start().unwrap();
    // On a pipe: nothing on stderr.
    health(&repo, &fake).assert().code(0).stderr("");
    // On a terminal (a pseudo-terminal from util-linux `script`): one line
    // rewritten in place while health talks to GitHub, cleared at the end.
    let bin = env!("CARGO_BIN_EXE_lifeline");
    let mut script = std::process::Command::new("script");
    for (key, _) in std::env::vars() {
        if key.starts_with("GITHUB_") || key == "GH_TOKEN" {
            script.env_remove(key);
        }
    }
    let out = script
        .args(["-qec", &format!("'{bin}' health"), "/dev/null"])
        .current_dir(repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/plan")
        .output()
        .unwrap();
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{seen}");
    assert!(
        seen.contains("lifeline health: reading workflow runs from GitHub…"),
        "{seen:?}"
    );
    assert!(seen.contains("healthy: acme/plan"), "{seen:?}");
}
