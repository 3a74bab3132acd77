//! FIFOs, sockets and huge files at protected paths: `validate` reports
//! them (`FILE007`, `FILE008`) without opening or reading them, capture
//! and restore refuse them, and nothing hangs or runs out of memory.

use std::time::Duration;

use super::symlinks::git_snapshot;
use crate::common::{Repo, all_output, mkfifo, stderr, stdout};

/// Generous: a hang (a FIFO opened for reading blocks forever) fails the
/// test instead of stalling the suite. Not a timing assertion.
const HANG: Duration = Duration::from_secs(120);

#[test]
fn a_fifo_at_a_protected_path_is_a_finding_and_nothing_hangs() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before the fifo");
    std::fs::remove_file(repo.join("planning/TASK.md")).unwrap();
    mkfifo(&repo.join("planning/TASK.md"));
    let git_before = git_snapshot(&repo);

    let out = repo
        .lifeline()
        .arg("validate")
        .timeout(HANG)
        .assert()
        .code(1);
    let text = all_output(&out);
    assert!(text.contains("FILE007") && text.contains("FIFO"), "{text}");

    let out = repo
        .lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "x",
        ])
        .timeout(HANG)
        .assert()
        .code(0);
    // A finding for that path alone: the rest of the set is captured.
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));

    let out = repo
        .lifeline()
        .args(["restore", &id, "--yes"])
        .timeout(HANG)
        .assert();
    assert_ne!(
        out.get_output().status.code(),
        Some(0),
        "{}",
        all_output(&out)
    );
    let kind = std::fs::symlink_metadata(repo.join("planning/TASK.md")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind.file_type()));
    assert_eq!(git_snapshot(&repo), git_before);
}

#[test]
fn a_fifo_under_a_glob_is_reported_and_left_alone() {
    let repo = Repo::sample();
    mkfifo(&repo.join("docs/sprint-archives/pipe.md"));
    let out = repo
        .lifeline()
        .arg("validate")
        .timeout(HANG)
        .assert()
        .code(1);
    let text = all_output(&out);
    assert!(
        text.contains("FILE007") && text.contains("pipe.md"),
        "{text}"
    );
    // Capture skips it: the rest of the set is still checkpointed.
    let id = repo.checkpoint("manual", "with a fifo in the archive");
    let shown = stdout(&repo.lifeline().args(["checkpoint", "show", &id]).assert());
    assert!(shown.contains("planning/TASK.md"), "{shown}");
    assert!(!shown.contains("pipe.md"), "{shown}");
}

#[test]
fn a_socket_at_a_protected_path_is_a_finding() {
    let repo = Repo::sample();
    std::fs::remove_file(repo.join(".github/labels.yml")).unwrap();
    let _listener =
        std::os::unix::net::UnixListener::bind(repo.join(".github/labels.yml")).unwrap();
    let out = repo
        .lifeline()
        .arg("validate")
        .timeout(HANG)
        .assert()
        .code(1);
    let text = all_output(&out);
    assert!(
        text.contains("FILE007") && text.contains("socket"),
        "{text}"
    );
}

#[test]
fn a_huge_sparse_protected_file_is_a_finding_not_an_out_of_memory() {
    let repo = Repo::sample();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(repo.join("planning/sprint.config.json"))
        .unwrap();
    file.set_len(300 * 1024 * 1024).unwrap();
    drop(file);
    let out = repo
        .lifeline()
        .arg("validate")
        .timeout(HANG)
        .assert()
        .code(1);
    let text = all_output(&out);
    assert!(text.contains("FILE008"), "{text}");
    assert!(text.contains("planning/sprint.config.json"), "{text}");
    let out = repo
        .lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "x",
        ])
        .timeout(HANG)
        .assert()
        .code(2);
    assert!(stderr(&out).contains("max_file_size"), "{}", stderr(&out));
}

#[test]
fn the_size_limit_is_a_configuration_key() {
    let repo = Repo::sample();
    repo.write("lifeline.toml", "[limits]\nmax_file_size = 64\n");
    let out = repo.lifeline().arg("validate").assert().code(1);
    let text = all_output(&out);
    assert!(
        text.contains("FILE008") && text.contains("planning/TASK.md"),
        "{text}"
    );
    let shown = stdout(&repo.lifeline().args(["config", "show"]).assert().code(0));
    assert!(shown.contains("max_file_size = 64"), "{shown}");
}

#[test]
fn a_fifo_or_a_link_as_lifeline_toml_is_refused_not_opened() {
    let repo = Repo::sample();
    mkfifo(&repo.join("lifeline.toml"));
    let out = repo
        .lifeline()
        .arg("validate")
        .timeout(HANG)
        .assert()
        .code(2);
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));

    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("lifeline.toml");
    std::fs::write(&secret, "TOPSECRET = [\n").unwrap();
    std::fs::remove_file(repo.join("lifeline.toml")).unwrap();
    std::os::unix::fs::symlink(&secret, repo.join("lifeline.toml")).unwrap();
    let out = repo
        .lifeline()
        .arg("validate")
        .timeout(HANG)
        .assert()
        .code(2);
    let text = all_output(&out);
    assert!(
        text.contains("symlink") && !text.contains("TOPSECRET"),
        "{text}"
    );
}

#[test]
fn what_a_glob_matches_that_is_not_a_regular_file_is_named_as_not_captured() {
    let repo = Repo::sample();
    mkfifo(&repo.join("docs/sprint-archives/pipe.md"));
    std::os::unix::fs::symlink(
        "../../planning/TASK.md",
        repo.join("docs/sprint-archives/link.md"),
    )
    .unwrap();
    let out = repo
        .lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "x",
        ])
        .timeout(HANG)
        .assert()
        .code(0);
    let err = stderr(&out);
    assert!(
        err.contains("`docs/sprint-archives/pipe.md` was not captured: it is a FIFO"),
        "{err}"
    );
    assert!(
        err.contains("`docs/sprint-archives/link.md` was not captured: it is a symlink"),
        "{err}"
    );
    // The manifest says so too; a restore leaves both alone.
    let id = stdout(&out)
        .split_whitespace()
        .find(|w| w.starts_with("manual-"))
        .unwrap()
        .to_string();
    let shown = stdout(
        &repo
            .lifeline()
            .args(["checkpoint", "show", &id, "--format", "json"])
            .assert()
            .code(0),
    );
    assert!(shown.contains("docs/sprint-archives/pipe.md"), "{shown}");
    repo.lifeline()
        .args(["restore", &id, "--yes"])
        .timeout(HANG)
        .assert()
        .code(0);
    assert!(repo.join("docs/sprint-archives/link.md").is_symlink());
}
