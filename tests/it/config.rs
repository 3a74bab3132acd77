//! `lifeline config show` and `lifeline init`.

use crate::common;

use common::{Repo, stderr, stdout};

#[test]
fn show_prints_the_defaults_without_a_file() {
    let repo = Repo::sample();
    let out = repo.lifeline().args(["config", "show"]).assert().code(0);
    let text = stdout(&out);
    assert!(
        text.starts_with("# effective configuration: defaults"),
        "{text}"
    );
    assert!(text.contains("path = \"planning/TASK.md\""), "{text}");
    assert!(text.contains("validator = \"task-md\""), "{text}");
    let out = repo
        .lifeline()
        .args(["config", "show", "--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["found"], false);
    assert_eq!(
        doc["config"]["protect"][3]["path"],
        "docs/sprint-archives/**"
    );
    assert_eq!(doc["config"]["severity"]["P1"]["response"], "2h");
}

#[test]
fn an_unknown_key_names_the_key_and_line() {
    let repo = Repo::sample();
    repo.write(
        "lifeline.toml",
        "[audit]\ndir = \"docs/audit\"\nretension_years = 3\n",
    );
    let out = repo.lifeline().args(["config", "show"]).assert().code(2);
    let err = stderr(&out);
    assert!(err.contains("lifeline.toml:3:1"), "{err}");
    assert!(err.contains("retension_years"), "{err}");
    // Every command reads the configuration.
    repo.lifeline().arg("validate").assert().code(2);
}

#[test]
fn a_wrong_type_names_the_key_path() {
    let repo = Repo::sample();
    repo.write("lifeline.toml", "[health]\nfailure_threshold = \"two\"\n");
    let out = repo.lifeline().args(["config", "show"]).assert().code(2);
    let err = stderr(&out);
    assert!(err.contains("lifeline.toml:2:"), "{err}");
    assert!(err.contains("health.failure_threshold"), "{err}");
}

#[test]
fn configured_protected_set_is_used() {
    let repo = Repo::sample();
    repo.write(
        "lifeline.toml",
        "[[protect]]\npath = \"planning/*.md\"\nvalidator = \"task-md\"\n",
    );
    repo.corrupt("TASK.cycle.md", "planning/OTHER.md");
    let out = repo.lifeline().arg("validate").assert().code(1);
    let text = stdout(&out);
    assert!(text.contains("--> planning/OTHER.md:24:127"), "{text}");
    assert!(text.ends_with("validated 2 files: 1 error\n"), "{text}");
}

/// A full commit SHA for `init --action` (a build from source needs one).
const ACTION: &str = "acme/lifeline@3d3c42e5aac5ba805825da76410c181273ba90b1";

#[test]
fn init_writes_a_commented_config_once() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args(["init", "--action", ACTION])
        .assert()
        .code(0);
    assert_eq!(
        stdout(&out),
        "    created  lifeline.toml\n    created  .github/workflows/lifeline-health.yml\n    \
         created  .github/workflows/lifeline-emergency-recovery.yml\n    created  .gitattributes\n"
    );
    let written = repo.read("lifeline.toml");
    assert!(written.starts_with("# lifeline.toml"));
    // Re-running changes nothing.
    let out = repo
        .lifeline()
        .args(["init", "--action", ACTION])
        .assert()
        .code(0);
    assert_eq!(
        stdout(&out),
        "  unchanged  lifeline.toml\n  unchanged  .github/workflows/lifeline-health.yml\n  \
         unchanged  .github/workflows/lifeline-emergency-recovery.yml\n  unchanged  .gitattributes\n"
    );
    // A file that differs is left alone without --force.
    repo.write("lifeline.toml", "[audit]\nretention_years = 8\n");
    let out = repo
        .lifeline()
        .args(["init", "--action", ACTION])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("pass --force"), "{}", stderr(&out));
    assert_eq!(repo.read("lifeline.toml"), "[audit]\nretention_years = 8\n");
    repo.lifeline()
        .args(["init", "--action", ACTION, "--dry-run", "--force"])
        .assert()
        .code(0);
    assert_eq!(repo.read("lifeline.toml"), "[audit]\nretention_years = 8\n");
    let out = repo
        .lifeline()
        .args(["init", "--action", ACTION, "--force"])
        .assert()
        .code(0);
    assert_eq!(
        stdout(&out),
        "  overwrote  lifeline.toml\n  unchanged  .github/workflows/lifeline-health.yml\n  \
         unchanged  .github/workflows/lifeline-emergency-recovery.yml\n  unchanged  .gitattributes\n"
    );
    // The written file is the defaults.
    let shown = repo
        .lifeline()
        .args(["config", "show", "--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(doc["found"], true);
}
