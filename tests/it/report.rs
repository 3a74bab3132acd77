//! `lifeline report` against hand-built records and against real drills
//! and guarded runs.

use crate::common;

use common::{Repo, stdout};
use serde_json::Value;

#[allow(clippy::too_many_arguments)]
fn incident(
    repo: &Repo,
    id: &str,
    severity: &str,
    operator: &str,
    detected: Option<&str>,
    started: &str,
    resolved: Option<&str>,
    outcome: &str,
) {
    let q = |v: Option<&str>| v.map_or("null".to_string(), |r| format!("\"{r}\""));
    let status = if resolved.is_some() {
        "resolved"
    } else {
        "open"
    };
    repo.write(
        &format!("docs/incidents/{id}.md"),
        format!(
            "---\nid: \"{id}\"\nstatus: \"{status}\"\nseverity: \"{severity}\"\ntype: \"task-file-corruption\"\nrunbook: \"task-file-corruption\"\noperator: \"{operator}\"\ncheckpoint: null\ndetected_at: {}\nstarted_at: \"{started}\"\nresolved_at: {}\noutcome: \"{outcome}\"\ndisabled:\nchanged:\n---\n\n# Incident {id}\n\n## Timeline\n\n",
            q(detected),
            q(resolved)
        ),
    );
}

fn log(repo: &Repo, session: &str, component: &str, operation: &str, details: &str) {
    repo.lifeline()
        .env("LIFELINE_SESSION_ID", session)
        .args([
            "audit",
            "log",
            "--component",
            component,
            "--operation",
            operation,
            "--details-json",
            details,
        ])
        .assert()
        .code(0);
}

fn report(repo: &Repo) -> Value {
    let out = repo
        .lifeline()
        .args(["report", "--format", "json"])
        .assert()
        .code(0);
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn metrics_match_the_records() {
    let repo = Repo::sample();
    // P1, detected 10 min before a person started the runbook; recovered
    // 1 h and 3 h after detection (the plan's target: 2 h).
    incident(
        &repo,
        "INC-20261101T100000Z-aaaa",
        "P1",
        "user:test",
        Some("2026-11-01T09:50:00Z"),
        "2026-11-01T10:00:00Z",
        Some("2026-11-01T10:50:00Z"),
        "recovered",
    );
    incident(
        &repo,
        "INC-20261102T100000Z-bbbb",
        "P1",
        "user:test",
        Some("2026-11-02T09:50:00Z"),
        "2026-11-02T10:00:00Z",
        Some("2026-11-02T12:50:00Z"),
        "recovered",
    );
    // P1 with no recorded detection: neither acknowledgement nor recovery
    // can be measured, and the report says so.
    incident(
        &repo,
        "INC-20261102T110000Z-eeee",
        "P1",
        "user:test",
        None,
        "2026-11-02T11:00:00Z",
        Some("2026-11-02T11:30:00Z"),
        "recovered",
    );
    // P2 recovered by automation; P3 failed in automation; P2 a person ran.
    incident(
        &repo,
        "INC-20261103T100000Z-cccc",
        "P2",
        "github:github-actions[bot]",
        Some("2026-11-03T09:59:00Z"),
        "2026-11-03T10:00:00Z",
        Some("2026-11-03T10:30:00Z"),
        "recovered",
    );
    incident(
        &repo,
        "INC-20261104T100000Z-dddd",
        "P3",
        "github:github-actions[bot]",
        None,
        "2026-11-04T10:00:00Z",
        None,
        "failed",
    );
    incident(
        &repo,
        "INC-20261105T100000Z-ffff",
        "P2",
        "user:test",
        None,
        "2026-11-05T10:00:00Z",
        Some("2026-11-05T11:00:00Z"),
        "recovered",
    );
    // Guarded steps: one with start and outcome, one with a start only.
    log(&repo, "s1", "run", "start", "{}");
    log(&repo, "s1", "run", "outcome", "{}");
    log(&repo, "s2", "run", "start", "{}");

    let r = report(&repo);
    let p1 = &r["severities"][1];
    assert_eq!(p1["severity"], "P1");
    assert_eq!(p1["incidents"], 3);
    // The true median of 1 h and 3 h is 2 h, within the 2 h target.
    assert_eq!(p1["recover"]["median_secs"], 7200.0);
    assert_eq!(p1["recover"]["target_secs"], 7200);
    assert_eq!(p1["recover"]["measured"], 2);
    assert_eq!(p1["recover"]["within_target"], 1);
    assert_eq!(p1["recover"]["unknown"], 1);
    // Acknowledged 10 min after detection; the response target is 2 h.
    assert_eq!(p1["acknowledge"]["median_secs"], 600.0);
    assert_eq!(p1["acknowledge"]["within_target"], 2);
    assert_eq!(p1["acknowledge"]["unknown"], 1);
    // P2/P3: the automation's recovery counts; its failure and the
    // incident a person handled count against.
    let auto = &r["automated_recovery_p2_p3"];
    assert_eq!(auto["incidents"]["total"], 3);
    assert_eq!(auto["incidents"]["succeeded"], 1);
    assert_eq!(auto["rate"]["total"], 3);
    assert_eq!(r["audit"]["coverage"]["total"], 2);
    assert_eq!(r["audit"]["coverage"]["succeeded"], 1);
    assert_eq!(r["audit"]["uncovered"][0]["session_id"], "s2");
    assert_eq!(r["audit"]["integrity"], "valid");
    assert_eq!(r["audit"]["entries"], 3);
    assert!(r["audit"]["retrieval_ms"].as_f64().is_some());

    let md = repo
        .lifeline()
        .args(["report", "--format", "markdown"])
        .assert()
        .code(0);
    let md = stdout(&md);
    assert!(
        md.contains("| Automated recovery, P2/P3 | 33.3% (1/3) | > 95% |"),
        "{md}"
    );
    assert!(md.contains("2.0 h (n=2), 1/2 ≤ 2.0 h, 1 unknown"), "{md}");
}

#[test]
fn a_drill_with_failures_shows_its_failures_in_the_report() {
    let repo = Repo::sample();
    let scenarios = [
        "--scenario",
        "merge-conflict-markers",
        "--scenario",
        "rejected-push",
        "--scenario",
        "api-rate-limit",
    ];
    repo.lifeline()
        .arg("drill")
        .args(scenarios)
        .assert()
        .code(0);
    let before = report(&repo);
    assert_eq!(before["automated_recovery_p2_p3"]["drills"]["total"], 3);
    assert_eq!(before["automated_recovery_p2_p3"]["drills"]["succeeded"], 3);

    repo.lifeline()
        .args(["drill", "--break", "store"])
        .args(scenarios)
        .assert()
        .code(1);
    let after = report(&repo);
    let auto = &after["automated_recovery_p2_p3"];
    // The two scenarios that restore a checkpoint failed; the retry did not.
    assert_eq!(auto["drills"]["total"], 6);
    assert_eq!(auto["drills"]["succeeded"], 4);
    assert_eq!(after["drills"]["failed"], 2);
    assert_eq!(
        after["drills"]["failed_scenarios"],
        serde_json::json!(["merge-conflict-markers", "rejected-push"])
    );
    let p2 = &after["severities"][2];
    assert_eq!(p2["drill"]["scenarios"], 4);
    assert_eq!(p2["drill"]["passed"], 2);
    let text = stdout(&repo.lifeline().arg("report").assert().code(0));
    assert!(
        text.contains("| Automated recovery, P2/P3 | 66.7% (4/6) | > 95% |"),
        "{text}"
    );
    assert!(
        text.contains("4/6 passed, 2 failed (merge-conflict-markers, rejected-push)"),
        "{text}"
    );
}

#[test]
fn coverage_counts_each_operation_inside_one_actions_run() {
    let repo = Repo::sample();
    let step = |operation: &str| {
        repo.lifeline()
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("GITHUB_WORKFLOW", "task-sync")
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
    };
    // Step 1 logs its start and its outcome; step 2 only its start.
    step("workflow_start");
    step("workflow_complete");
    step("workflow_start");
    let r = report(&repo);
    assert_eq!(r["audit"]["coverage"]["total"], 2, "{r}");
    assert_eq!(r["audit"]["coverage"]["succeeded"], 1, "{r}");
    let missing = &r["audit"]["uncovered"][0];
    assert_eq!(missing["session_id"], "gh-4242-1");
    assert_eq!(missing["component"], "task-sync");
}

#[test]
fn a_run_that_rolled_back_is_an_automated_recovery_and_a_kept_one_is_not() {
    let repo = Repo::sample();
    let break_it = "printf 'not a task file\\n' > planning/TASK.md";
    repo.lifeline()
        .args(["run", "--", "sh", "-c", break_it])
        .assert()
        .code(1);
    let r = report(&repo);
    let runs = &r["automated_recovery_p2_p3"]["run_rollbacks"];
    assert_eq!(runs["total"], 1, "{r}");
    assert_eq!(runs["succeeded"], 1, "{r}");
    // `run` recorded when it saw the failure and when the rollback was done.
    let p2 = &r["severities"][2];
    assert_eq!(p2["detect"]["measured"], 1, "{p2}");
    assert_eq!(p2["recover"]["measured"], 1, "{p2}");
    // Every run logged its start and its outcome.
    assert_eq!(
        r["audit"]["coverage"]["total"],
        r["audit"]["coverage"]["succeeded"]
    );

    repo.lifeline()
        .args(["run", "--on-failure", "keep", "--", "sh", "-c", break_it])
        .assert()
        .code(1);
    let r = report(&repo);
    let runs = &r["automated_recovery_p2_p3"]["run_rollbacks"];
    assert_eq!(runs["total"], 2, "{r}");
    assert_eq!(runs["succeeded"], 1, "{r}");
}

#[test]
fn an_old_record_whose_detection_is_its_runbook_start_is_unknown() {
    let repo = Repo::sample();
    incident(
        &repo,
        "INC-20261101T100000Z-aaaa",
        "P1",
        "user:test",
        Some("2026-11-01T10:00:00Z"),
        "2026-11-01T10:00:00Z",
        Some("2026-11-01T11:00:00Z"),
        "recovered",
    );
    let r = report(&repo);
    let p1 = &r["severities"][1];
    assert_eq!(p1["recover"]["measured"], 0);
    assert_eq!(p1["recover"]["unknown"], 1);
    assert!(p1["recover"]["median_secs"].is_null());
}

#[test]
fn a_runbook_records_the_detection_time_it_is_given_and_refuses_a_bad_one() {
    let repo = Repo::sample();
    let detected = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
    repo.lifeline()
        .env("LIFELINE_DETECTED_AT", detected.to_string())
        .args([
            "recover",
            "sync-failure-cascade",
            "--severity",
            "P2",
            "--yes",
        ])
        .assert()
        .code(0);
    let r = report(&repo);
    let p2 = &r["severities"][2];
    assert_eq!(p2["incidents"], 1);
    // A person started the runbook ten minutes after the detection.
    assert_eq!(p2["acknowledge"]["measured"], 1, "{p2}");
    let ack = p2["acknowledge"]["median_secs"].as_f64().unwrap();
    assert!((600.0..3600.0).contains(&ack), "{p2}");
    // Not resolved yet (the workflows are still disabled): unknown.
    assert_eq!(p2["recover"]["unknown"], 1, "{p2}");
    // A person ran it: a P2 failure that needed a person.
    assert_eq!(r["automated_recovery_p2_p3"]["incidents"]["total"], 1);
    assert_eq!(r["automated_recovery_p2_p3"]["incidents"]["succeeded"], 0);

    let bad = repo
        .lifeline()
        .env("LIFELINE_DETECTED_AT", "yesterday-ish")
        .args([
            "recover",
            "sync-failure-cascade",
            "--severity",
            "P2",
            "--yes",
        ])
        .assert()
        .code(2);
    assert!(
        common::stderr(&bad).contains("LIFELINE_DETECTED_AT=yesterday-ish: not an RFC 3339 time")
    );
}

fn minutes_ago(minutes: i64) -> jiff::Timestamp {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes))
        .round(jiff::Unit::Second)
        .unwrap()
}

#[test]
fn time_to_detect_runs_from_the_failure_to_the_finding_that_reported_it() {
    use lifeline::github::fake::{FakeGitHub, Run};
    let repo = Repo::sample();
    // A bot committed a broken TASK.md 40 minutes ago.
    let broke = minutes_ago(40);
    repo.write("planning/TASK.md", "# Tasks\n\nnot a task table any more\n");
    let out = std::process::Command::new("git")
        .current_dir(repo.path())
        .args(["commit", "-q", "-am", "sync: rewrite tasks"])
        .env("GIT_AUTHOR_NAME", "bot")
        .env("GIT_AUTHOR_EMAIL", "bot@example.com")
        .env("GIT_COMMITTER_NAME", "bot")
        .env("GIT_COMMITTER_EMAIL", "bot@example.com")
        .env("GIT_COMMITTER_DATE", broke.to_string())
        .output()
        .unwrap();
    assert!(out.status.success());
    // And the sync workflow has failed three times, the first 30 min ago.
    let first_failure = minutes_ago(30);
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| {
        for (id, minutes) in [(1u64, 10i64), (2, 20), (3, 30)] {
            s.runs.push(Run {
                id,
                workflow: "task-sync.yml".into(),
                status: "completed".into(),
                conclusion: "failure".into(),
                created_at: (first_failure + jiff::SignedDuration::from_mins(30 - minutes))
                    .to_string(),
                head_sha: format!("{id:040x}"),
                failed_jobs: vec!["sync".into()],
                ..Run::default()
            });
        }
    });
    let out = repo
        .lifeline()
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_TOKEN", "ghs_0123456789abcdefghijABCDEFGHIJ0123")
        .env("GITHUB_REPOSITORY", "acme/plan")
        .args(["health", "--alert", "github", "--format", "json"])
        .assert()
        .code(1);
    let health: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let finding = |prefix: &str| {
        health["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["fingerprint"].as_str().unwrap().starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| panic!("no {prefix} finding in {health}"))
    };
    assert_eq!(
        finding("invalid-file:planning/TASK.md")["failed_at"],
        broke.to_string()
    );
    assert_eq!(
        finding("workflow-failure:task-sync.yml")["failed_at"],
        first_failure.to_string()
    );

    // The alert issue says when the failure began, and how to hand the
    // detection time to a runbook.
    let issues = fake.with(|s| s.issues.clone());
    let issue = issues
        .iter()
        .find(|i| i["title"].as_str().unwrap().contains("task-sync.yml"))
        .unwrap();
    let body = issue["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("**Failure began**: {first_failure}")),
        "{body}"
    );
    assert!(body.contains("LIFELINE_DETECTED_AT="), "{body}");

    let r = report(&repo);
    let p1 = &r["severities"][1];
    // 30 minutes from the first failing run to the finding: over the
    // plan's 15 minutes.
    assert_eq!(p1["detect"]["measured"], 1, "{p1}");
    assert_eq!(p1["detect"]["within_target"], 0, "{p1}");
    let secs = p1["detect"]["median_secs"].as_f64().unwrap();
    assert!((1700.0..2400.0).contains(&secs), "{p1}");
    // Every finding's detection is on record; the missing-labels one
    // cannot tell when its failure began.
    let unknown: u64 = r["severities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["detect"]["unknown"].as_u64().unwrap())
        .sum();
    assert!(unknown >= 1, "{r}");
}

#[test]
fn a_run_whose_rollback_fails_counts_against_the_rate() {
    let repo = Repo::sample();
    // The step breaks TASK.md and takes the checkpoint refs with it.
    let out = repo
        .lifeline()
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "rm -rf .git/refs/lifeline && printf 'not a task file\\n' > planning/TASK.md",
        ])
        .assert();
    assert_ne!(out.get_output().status.code(), Some(0));
    let r = report(&repo);
    let runs = &r["automated_recovery_p2_p3"]["run_rollbacks"];
    assert_eq!(runs["total"], 1, "{r}");
    assert_eq!(runs["succeeded"], 0, "{r}");
    // Its start has an outcome: the failed rollback.
    assert_eq!(
        r["audit"]["coverage"]["total"], r["audit"]["coverage"]["succeeded"],
        "{r}"
    );
}
