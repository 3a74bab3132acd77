//! Hostile records for `lifeline report`: forged or malformed drill,
//! run and health entries, and hostile incident records. The report must
//! neither crash nor count them as successes.

use crate::common::{Repo, stdout};
use serde_json::Value;

fn log(repo: &Repo, component: &str, operation: &str, details: &str) {
    repo.lifeline()
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
fn malformed_drill_and_run_entries_are_not_counted_as_recoveries() {
    let repo = Repo::sample();
    // The old, untyped layout that once made a report read 100%.
    log(
        &repo,
        "drill",
        "truncated-task-md",
        r#"{"severity":"P2","recovered":true}"#,
    );
    // Wrong types everywhere.
    log(
        &repo,
        "drill",
        "x",
        r#"{"name":7,"severity":"P9","verdict":"passed","recovered":"yes"}"#,
    );
    log(
        &repo,
        "run",
        "outcome",
        r#"{"severity":"P2","rollback":"rolled-back","detected_at":"not a time"}"#,
    );
    log(
        &repo,
        "health",
        "alert",
        r#"{"detections":[{"fingerprint":1},{"fingerprint":"x","severity":"P1","failed_at":"2999-01-01T00:00:00Z","detected_at":"2000-01-01T00:00:00Z"}]}"#,
    );
    let r = report(&repo);
    assert_eq!(r["drills"]["unreadable"], 2, "{r}");
    assert_eq!(r["drills"]["passed"], 0, "{r}");
    assert_eq!(r["automated_recovery_p2_p3"]["drills"]["total"], 0, "{r}");
    // A run outcome whose instants cannot be read is not a recovery.
    assert_eq!(
        r["automated_recovery_p2_p3"]["run_rollbacks"]["succeeded"], 0,
        "{r}"
    );
    // A detection before its failure is never a negative duration.
    for s in r["severities"].as_array().unwrap() {
        if let Some(m) = s["detect"]["median_secs"].as_f64() {
            assert!(m >= 0.0, "{s}");
        }
    }
}

#[test]
fn an_incident_with_a_hostile_detection_time_is_refused_or_unknown() {
    let repo = Repo::sample();
    repo.write(
        "docs/incidents/INC-20261101T100000Z-aaaa.md",
        "---\nid: \"INC-20261101T100000Z-aaaa\"\nstatus: \"resolved\"\nseverity: \"P2\"\ntype: \"x\"\nrunbook: \"x\"\noperator: \"user:a\"\ncheckpoint: null\ndetected_at: [1, 2]\nstarted_at: \"2026-11-01T10:00:00Z\"\nresolved_at: \"2026-11-01T11:00:00Z\"\noutcome: \"recovered\"\ndisabled:\nchanged:\n---\n",
    );
    let r = report(&repo);
    let p2 = &r["severities"][2];
    assert_eq!(p2["incidents"], 1);
    assert_eq!(p2["recover"]["unknown"], 1, "{p2}");
    // A runbook told the detection happened in the future refuses to start.
    let refused = repo
        .lifeline()
        .env("LIFELINE_DETECTED_AT", "2999-01-01T00:00:00Z")
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
        crate::common::stderr(&refused).contains("a detection cannot lie in the future"),
        "{}",
        crate::common::stderr(&refused)
    );
    assert!(
        !repo
            .join(".github/workflows/task-sync.yml.disabled")
            .exists()
    );
}
