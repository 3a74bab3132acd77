//! `lifeline drill` on the sample repository.

mod common;

use common::{Repo, stdout};

#[test]
fn every_scenario_recovers_on_the_sample() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args(["drill", "--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let scenarios = doc["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 10);
    for s in scenarios {
        assert_eq!(s["recovered"], true, "{s}");
        assert_eq!(s["bytes_lost"], 0, "{s}");
        assert!(!s["detected_by"].as_str().unwrap().is_empty(), "{s}");
        for key in [
            "name",
            "detected_by",
            "detect_ms",
            "recover_ms",
            "recovered",
            "bytes_lost",
        ] {
            assert!(s.get(key).is_some(), "{key} missing in {s}");
        }
    }
    // The user's working tree is untouched; the drill is in the audit log.
    let status = repo.git(&["status", "--porcelain", "--", "planning", ".github"]);
    assert_eq!(status, "");
    let audit = repo
        .lifeline()
        .args(["audit", "query", "--component", "drill", "--format", "json"])
        .assert()
        .code(0);
    assert_eq!(
        stdout(&audit).matches("\"component\": \"drill\"").count(),
        10,
        "{}",
        stdout(&audit)
    );
}

#[test]
fn a_broken_recovery_fails_its_scenario_with_a_reason() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args([
            "drill",
            "--break-store",
            "--scenario",
            "truncated-task-md",
            "--scenario",
            "token-expiry",
        ])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains("truncated-task-md"), "{text}");
    assert!(text.contains("NO"), "{text}");
    assert!(text.contains("^ "), "a reason is given: {text}");
    assert!(text.contains("1/2 scenarios recovered"), "{text}");
}

#[test]
fn an_unknown_scenario_is_a_usage_error() {
    let repo = Repo::sample();
    repo.lifeline()
        .args(["drill", "--scenario", "meteor-strike"])
        .assert()
        .code(2);
}
