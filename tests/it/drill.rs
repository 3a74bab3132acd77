//! `lifeline drill` on the sample repository.

use crate::common;

use common::{Repo, stdout};
use serde_json::Value;

fn drill(repo: &Repo, args: &[&str], code: i32) -> Value {
    let out = repo
        .lifeline()
        .args(["drill", "--format", "json"])
        .args(args)
        .assert()
        .code(code);
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn scenario<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scenario {name} in {doc}"))
}

#[test]
fn every_scenario_is_detected_by_its_detector_and_recovered_on_the_sample() {
    let repo = Repo::sample();
    let doc = drill(&repo, &[], 0);
    let scenarios = doc["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 10);
    for s in scenarios {
        assert_eq!(s["detected"], true, "{s}");
        assert!(!s["detected_by"].as_str().unwrap().is_empty(), "{s}");
        assert_eq!(s["bytes_lost"], 0, "{s}");
        if s["name"] == "token-expiry" {
            // Renewing a token is a person's job: detected, not "recovered".
            assert_eq!(s["recovery"], "manual", "{s}");
            assert_eq!(s["verdict"], "manual-recovery-required", "{s}");
            assert_eq!(s["recovered"], false, "{s}");
            assert!(s["recover_ms"].is_null(), "{s}");
        } else {
            assert_eq!(s["verdict"], "passed", "{s}");
            assert_eq!(s["recovered"], true, "{s}");
            // Every automated recovery reports when it was done.
            assert!(s["recover_ms"].is_u64(), "{s}");
        }
    }
    // run-wrapped scenarios take their instants from `run` itself.
    for name in ["sync-step-fails-mid-write", "rejected-push"] {
        let s = scenario(&doc, name);
        assert!(s["detect_ms"].is_u64(), "{s}");
        assert!(s["expected_detector"].as_str().unwrap().starts_with("run:"));
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
fn text_output_says_what_passed_and_what_a_person_must_do() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args([
            "drill",
            "--scenario",
            "merge-conflict-markers",
            "--scenario",
            "token-expiry",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(
        text.contains(
            "1/2 scenarios passed (detected by the expected detector, recovered by lifeline, no data lost); 1 detected, manual recovery required"
        ),
        "{text}"
    );
    assert!(
        text.contains("detected, manual recovery required"),
        "{text}"
    );
}

#[test]
fn a_broken_store_fails_every_scenario_that_restores_and_keeps_the_detector() {
    let repo = Repo::sample();
    let doc = drill(
        &repo,
        &[
            "--break",
            "store",
            "--scenario",
            "truncated-task-md",
            "--scenario",
            "sprint-config-corruption",
            "--scenario",
            "sync-step-fails-mid-write",
            "--scenario",
            "api-rate-limit",
        ],
        1,
    );
    assert_eq!(doc["broken"], serde_json::json!(["store"]));
    for (name, detector) in [
        ("truncated-task-md", "validate:TASK006"),
        ("sprint-config-corruption", "validate:SPRINT001"),
    ] {
        let s = scenario(&doc, name);
        assert_eq!(s["verdict"], "failed", "{s}");
        assert_eq!(s["recovered"], false, "{s}");
        // The fault was still found, and the failure says by what.
        assert_eq!(s["detected"], true, "{s}");
        assert!(s["reason"].as_str().unwrap().contains(detector), "{s}");
    }
    // `run` refuses to run a step it cannot checkpoint: the scenario fails
    // and says why, naming the detector it expected.
    let s = scenario(&doc, "sync-step-fails-mid-write");
    assert_eq!(s["verdict"], "failed", "{s}");
    let reason = s["reason"].as_str().unwrap();
    assert!(reason.contains("run:parse-error"), "{reason}");
    assert!(reason.contains("did not run the step"), "{reason}");
    // A retry needs no checkpoint.
    assert_eq!(scenario(&doc, "api-rate-limit")["verdict"], "passed");
    // The legacy spelling still works.
    let legacy = drill(
        &repo,
        &["--break-store", "--scenario", "corrupted-bytes"],
        1,
    );
    assert_eq!(scenario(&legacy, "corrupted-bytes")["verdict"], "failed");
}

#[test]
fn with_detection_disabled_no_scenario_passes() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args([
            "drill",
            "--break",
            "detection",
            "--scenario",
            "merge-conflict-markers",
            "--scenario",
            "rejected-push",
            "--scenario",
            "token-expiry",
        ])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains("0/3 scenarios passed"), "{text}");
    assert!(text.contains("3 FAILED"), "{text}");
    assert!(
        text.contains("the expected detector `validate:FILE004` did not report the fault"),
        "{text}"
    );
    // Recovery still ran and the bytes are back: not enough to pass.
    assert!(!text.contains("manual recovery required\n"), "{text}");
}

#[test]
fn an_unknown_scenario_or_fault_is_a_usage_error() {
    let repo = Repo::sample();
    repo.lifeline()
        .args(["drill", "--scenario", "meteor-strike"])
        .assert()
        .code(2);
    repo.lifeline()
        .args(["drill", "--break", "everything"])
        .assert()
        .code(2);
}
