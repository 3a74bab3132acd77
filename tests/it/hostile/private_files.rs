//! lifeline's private files in the git directory (the checkpoint index,
//! the audit leaf cache): a symlink planted at one of them, or at the
//! directory holding them, never redirects a write outside.

use std::os::unix::fs::symlink;

use super::symlinks::snapshot;
use crate::common::{Repo, stderr, stdout};

const KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";

#[test]
fn a_linked_lifeline_directory_in_git_never_receives_the_checkpoint_index() {
    let repo = Repo::sample();
    let outside = tempfile::tempdir().unwrap();
    let _ = std::fs::remove_dir_all(repo.join(".git/lifeline"));
    symlink(outside.path(), repo.join(".git/lifeline")).unwrap();

    // The index is a cache: checkpoints are still made and listed.
    let id = repo.checkpoint("manual", "with a planted link");
    let out = repo
        .lifeline()
        .args(["checkpoint", "list", "--format", "json"])
        .assert()
        .code(0);
    assert!(stdout(&out).contains(&id), "{}", stdout(&out));

    assert_eq!(snapshot(outside.path(), &[]).len(), 1, "only the root");
    assert!(repo.join(".git/lifeline").is_symlink());
}

#[test]
fn a_linked_checkpoint_index_is_replaced_never_written_through() {
    let repo = Repo::sample();
    repo.checkpoint("manual", "makes the index");
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.json");
    std::fs::write(&victim, "keep me").unwrap();
    let index = repo.join(".git/lifeline/checkpoint-index.json");
    std::fs::remove_file(&index).unwrap();
    symlink(&victim, &index).unwrap();

    repo.checkpoint("manual", "with a planted link");

    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!index.is_symlink(), "the index was written in its place");
}

fn audit_checkpoint(repo: &Repo) -> String {
    let mut ids = Vec::new();
    for op in ["one", "two", "three"] {
        let out = repo
            .lifeline()
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
        ids.push(stdout(&out).trim().to_string());
    }
    repo.lifeline()
        .args(["audit", "checkpoint"])
        .env("LIFELINE_AUDIT_KEY", KEY)
        .env("GITHUB_REPOSITORY", "acme/planning")
        .assert()
        .code(0);
    ids.remove(0)
}

#[test]
fn a_linked_audit_leaf_cache_is_refused_never_truncated_or_written() {
    let repo = Repo::sample();
    let id = audit_checkpoint(&repo);
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.bin");
    std::fs::write(&victim, "keep me: a file the runner may write").unwrap();
    std::fs::create_dir_all(repo.join(".git/lifeline/audit-index")).unwrap();
    symlink(
        &victim,
        repo.join(".git/lifeline/audit-index/tlog-leaves.bin"),
    )
    .unwrap();

    let out = repo
        .lifeline()
        .args(["audit", "prove", &id])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "keep me: a file the runner may write"
    );
}

#[test]
fn a_linked_audit_index_directory_never_receives_the_leaf_cache() {
    let repo = Repo::sample();
    let id = audit_checkpoint(&repo);
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.join(".git/lifeline")).unwrap();
    let _ = std::fs::remove_dir_all(repo.join(".git/lifeline/audit-index"));
    symlink(outside.path(), repo.join(".git/lifeline/audit-index")).unwrap();

    let out = repo
        .lifeline()
        .args(["audit", "prove", &id])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    assert_eq!(snapshot(outside.path(), &[]).len(), 1, "only the root");
}
