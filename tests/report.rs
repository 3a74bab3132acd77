//! `lifeline report` against a hand-built audit log and incidents.

mod common;

use common::{Repo, stdout};

fn incident(
    repo: &Repo,
    id: &str,
    severity: &str,
    started: &str,
    resolved: Option<&str>,
    outcome: &str,
) {
    let resolved_at = resolved.map_or("null".to_string(), |r| format!("\"{r}\""));
    let status = if resolved.is_some() {
        "resolved"
    } else {
        "open"
    };
    repo.write(
        &format!("docs/incidents/{id}.md"),
        format!(
            "---\nid: \"{id}\"\nstatus: \"{status}\"\nseverity: \"{severity}\"\ntype: \"task-file-corruption\"\nrunbook: \"task-file-corruption\"\noperator: \"user:test\"\ncheckpoint: null\ndetected_at: \"{started}\"\nstarted_at: \"{started}\"\nresolved_at: {resolved_at}\noutcome: \"{outcome}\"\ndisabled:\nchanged:\n---\n\n# Incident {id}\n\n## Timeline\n\n"
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

#[test]
fn metrics_match_the_records() {
    let repo = Repo::sample();
    // P1: resolved in 1 h (target 2 h) and in 3 h.
    incident(
        &repo,
        "INC-20261101T100000Z-aaaa",
        "P1",
        "2026-11-01T10:00:00Z",
        Some("2026-11-01T11:00:00Z"),
        "recovered",
    );
    incident(
        &repo,
        "INC-20261102T100000Z-bbbb",
        "P1",
        "2026-11-02T10:00:00Z",
        Some("2026-11-02T13:00:00Z"),
        "recovered",
    );
    // P2 recovered, P3 failed.
    incident(
        &repo,
        "INC-20261103T100000Z-cccc",
        "P2",
        "2026-11-03T10:00:00Z",
        Some("2026-11-03T10:30:00Z"),
        "recovered",
    );
    incident(
        &repo,
        "INC-20261104T100000Z-dddd",
        "P3",
        "2026-11-04T10:00:00Z",
        None,
        "failed",
    );
    // Drills: one P2 recovered, one P0 not.
    log(
        &repo,
        "d1",
        "drill",
        "rejected-push",
        r#"{"severity":"P2","recovered":true,"detect_ms":40,"recover_ms":0}"#,
    );
    log(
        &repo,
        "d1",
        "drill",
        "truncated-task-md",
        r#"{"severity":"P0","recovered":false,"detect_ms":2,"recover_ms":90}"#,
    );
    // Guarded steps: one with start and outcome, one with a start only.
    log(&repo, "s1", "run", "start", "{}");
    log(&repo, "s1", "run", "outcome", "{}");
    log(&repo, "s2", "run", "start", "{}");

    let out = repo
        .lifeline()
        .args(["report", "--format", "json"])
        .assert()
        .code(0);
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let p1 = &r["severities"][1];
    assert_eq!(p1["severity"], "P1");
    assert_eq!(p1["incidents"], 2);
    assert_eq!(p1["within_target"], 1);
    assert_eq!(p1["median_recover_secs"], 10800);
    let p0 = &r["severities"][0];
    assert_eq!(p0["drill_scenarios"], 1);
    assert_eq!(p0["drill_median_recover_ms"], 90);
    // P2/P3: incident P2 ok, incident P3 failed, drill P2 ok.
    assert_eq!(r["automated_recovery_p2_p3"]["total"], 3);
    assert_eq!(r["automated_recovery_p2_p3"]["succeeded"], 2);
    assert_eq!(r["audit"]["coverage"]["total"], 2);
    assert_eq!(r["audit"]["coverage"]["succeeded"], 1);
    assert_eq!(r["audit"]["integrity"], "valid");
    assert_eq!(r["audit"]["entries"], 5);
    assert!(r["audit"]["retrieval_ms"].as_f64().is_some());
    assert_eq!(r["drills"]["total"], 2);
    assert_eq!(r["drills"]["succeeded"], 1);
    assert!(r["last_drill"].is_string());

    let md = repo
        .lifeline()
        .args(["report", "--format", "markdown"])
        .assert()
        .code(0);
    assert!(
        stdout(&md).contains("| Automated recovery, P2/P3 | 66.7% (2/3) | > 95% |"),
        "{}",
        stdout(&md)
    );
}
