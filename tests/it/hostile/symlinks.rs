//! Symlinks committed or planted anywhere in the tree — pointing outside
//! the root, or inside it at `.git/` — never redirect a read or a write:
//! lifeline refuses the path (or reports it, for `validate`), and nothing
//! outside the paths it may touch changes.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::common::{Repo, all_output, stderr, stdout};

const SECRET: &str = "TOPSECRET-outside-content-7f3a";

/// Everything under `dir`, without following links: each path with its
/// bytes, or the link's target.
pub fn snapshot(dir: &Path, skip: &[&str]) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            let rel = e.path().strip_prefix(dir).unwrap();
            !skip.iter().any(|s| rel.starts_with(s))
        });
    for entry in walk {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(dir).unwrap().to_path_buf();
        let bytes = if entry.path_is_symlink() {
            let target = std::fs::read_link(entry.path()).unwrap();
            format!("-> {}", target.display()).into_bytes()
        } else if entry.file_type().is_file() {
            std::fs::read(entry.path()).unwrap()
        } else {
            b"<dir>".to_vec()
        };
        out.insert(rel, bytes);
    }
    out
}

/// `.git/` less what lifeline and git may legitimately change while a
/// command runs (objects, refs, the index, lifeline's own caches and the
/// guarded-step lock a restore takes).
pub fn git_snapshot(repo: &Repo) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot(
        &repo.join(".git"),
        &[
            "objects",
            "refs",
            "logs",
            "lifeline",
            "lifeline-run.lock",
            "index",
            "packed-refs",
        ],
    )
}

/// An outside directory holding a secret TASK.md and sprint config.
fn outside() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("TASK.md"), format!("# {SECRET}\n")).unwrap();
    std::fs::write(
        dir.path().join("sprint.config.json"),
        format!("{{\"x\":\"{SECRET}\"}}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("pre-commit"), "#!/bin/sh\nexit 0\n").unwrap();
    dir
}

#[test]
fn a_link_inside_the_root_to_git_hooks_is_never_restored_through() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before the link");
    std::fs::remove_dir_all(repo.join("docs/sprint-archives")).unwrap();
    symlink("../.git/hooks", repo.join("docs/sprint-archives")).unwrap();
    let git_before = git_snapshot(&repo);

    let out = repo.lifeline().args(["restore", &id, "--yes"]).assert();
    let text = all_output(&out);
    assert_ne!(out.get_output().status.code(), Some(0), "{text}");
    assert!(text.contains("docs/sprint-archives"), "{text}");
    assert_eq!(git_snapshot(&repo), git_before);
    assert!(repo.join("docs/sprint-archives").is_symlink());

    // validate names the link and reads nothing below it.
    let out = repo.lifeline().arg("validate").assert().code(1);
    let text = all_output(&out);
    assert!(text.contains("FILE006"), "{text}");
    assert!(!text.contains("pre-commit.sample"), "{text}");

    // A checkpoint taken now holds nothing from .git/hooks.
    let id = repo.checkpoint("manual", "with the link");
    let shown = stdout(&repo.lifeline().args(["checkpoint", "show", &id]).assert());
    assert!(!shown.contains("sample"), "{shown}");
    assert_eq!(git_snapshot(&repo), git_before);
}

#[test]
fn a_directory_linked_outside_the_root_is_neither_read_nor_written() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before the link");
    let outside = outside();
    let before = snapshot(outside.path(), &[]);
    std::fs::remove_dir_all(repo.join("planning")).unwrap();
    symlink(outside.path(), repo.join("planning")).unwrap();
    let git_before = git_snapshot(&repo);

    let out = repo.lifeline().arg("validate").assert().code(1);
    let text = all_output(&out);
    assert!(text.contains("FILE006"), "{text}");
    assert!(!text.contains(SECRET), "{text}");

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
        .assert()
        .code(0);
    // A finding for that path alone: the rest of the set is captured.
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));

    let out = repo.lifeline().args(["restore", &id, "--yes"]).assert();
    assert_ne!(
        out.get_output().status.code(),
        Some(0),
        "{}",
        all_output(&out)
    );
    assert!(!all_output(&out).contains(SECRET));

    assert_eq!(snapshot(outside.path(), &[]), before);
    assert_eq!(git_snapshot(&repo), git_before);
}

#[test]
fn a_protected_file_linked_outside_is_reported_and_never_written_through() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before the link");
    let outside = outside();
    let before = snapshot(outside.path(), &[]);
    std::fs::remove_file(repo.join("planning/TASK.md")).unwrap();
    symlink(
        outside.path().join("TASK.md"),
        repo.join("planning/TASK.md"),
    )
    .unwrap();

    let out = repo.lifeline().arg("validate").assert().code(1);
    let text = all_output(&out);
    assert!(text.contains("FILE006"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    let out = repo
        .lifeline()
        .args(["validate", "planning/TASK.md"])
        .assert()
        .code(1);
    assert!(!all_output(&out).contains(SECRET));

    let out = repo.lifeline().args(["restore", &id, "--yes"]).assert();
    assert_ne!(
        out.get_output().status.code(),
        Some(0),
        "{}",
        all_output(&out)
    );
    assert!(repo.join("planning/TASK.md").is_symlink());
    assert_eq!(snapshot(outside.path(), &[]), before);
}

#[test]
fn the_audit_directory_and_its_month_files_are_never_written_through_a_link() {
    let outside = outside();
    let before = snapshot(outside.path(), &[]);

    // The whole audit directory is a link.
    let repo = Repo::sample();
    std::fs::create_dir_all(repo.join("docs")).unwrap();
    symlink(outside.path(), repo.join("docs/audit")).unwrap();
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
        .assert();
    assert_ne!(
        out.get_output().status.code(),
        Some(0),
        "{}",
        all_output(&out)
    );
    assert_eq!(snapshot(outside.path(), &[]), before);

    // A month file and signed-heads.jsonl are links into .git/.
    let repo = Repo::sample();
    repo.checkpoint("manual", "creates the audit directory");
    let month = std::fs::read_dir(repo.join("docs/audit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a month file");
    std::fs::remove_file(&month).unwrap();
    symlink("../../.git/config", &month).unwrap();
    symlink(
        "../../.git/description",
        repo.join("docs/audit/signed-heads.jsonl"),
    )
    .unwrap();
    let git_before = git_snapshot(&repo);
    let out = repo
        .lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "y",
        ])
        .assert();
    let text = all_output(&out);
    assert_ne!(out.get_output().status.code(), Some(0), "{text}");
    assert!(text.contains("symlink"), "{text}");
    assert_eq!(git_snapshot(&repo), git_before);
}

#[test]
fn init_refuses_a_linked_workflows_directory_before_writing_anything() {
    let repo = Repo::sample();
    std::fs::remove_dir_all(repo.join(".github/workflows")).unwrap();
    symlink("../.git/hooks", repo.join(".github/workflows")).unwrap();
    let git_before = git_snapshot(&repo);
    let out = repo
        .lifeline()
        .args([
            "init",
            "--action",
            &format!("acme/lifeline@{}", "0".repeat(40)),
        ])
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains(".github/workflows"),
        "{}",
        stderr(&out)
    );
    assert!(
        !repo.join("lifeline.toml").exists(),
        "init wrote before refusing"
    );
    assert!(
        !repo.join(".gitattributes").exists(),
        "init wrote before refusing"
    );
    assert_eq!(git_snapshot(&repo), git_before);
}

#[test]
fn the_directory_store_is_never_written_through_a_link() {
    let repo = Repo::bare_dir();
    repo.write(
        "planning/TASK.md",
        std::fs::read(Path::new(crate::common::FIXTURES).join("sample-repo/planning/TASK.md"))
            .unwrap(),
    );
    let outside = tempfile::tempdir().unwrap();
    symlink(outside.path(), repo.join(".lifeline")).unwrap();
    let out = repo
        .lifeline()
        .args([
            "--root",
            ".",
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "x",
        ])
        .assert();
    let text = all_output(&out);
    assert_ne!(out.get_output().status.code(), Some(0), "{text}");
    assert!(text.contains(".lifeline"), "{text}");
    // Restore takes its lock and reads its cache from there too.
    let out = repo
        .lifeline()
        .args(["--root", ".", "restore", "latest", "--yes"])
        .assert();
    assert_ne!(
        out.get_output().status.code(),
        Some(0),
        "{}",
        all_output(&out)
    );
    assert_eq!(
        snapshot(outside.path(), &[]).len(),
        1,
        "only the root entry"
    );
}

#[test]
fn the_restore_lock_and_stat_cache_are_never_created_through_a_link() {
    let repo = Repo::bare_dir();
    repo.write(
        "planning/TASK.md",
        std::fs::read(Path::new(crate::common::FIXTURES).join("sample-repo/planning/TASK.md"))
            .unwrap(),
    );
    let id = stdout(
        &repo
            .lifeline()
            .args([
                "--root",
                ".",
                "checkpoint",
                "create",
                "--type",
                "manual",
                "--operation",
                "x",
                "--quiet",
            ])
            .assert()
            .code(0),
    )
    .trim()
    .to_string();
    let outside = tempfile::tempdir().unwrap();
    let store = repo.join(".lifeline/store");
    for name in ["restore.lock", "cache.json"] {
        let _ = std::fs::remove_file(store.join(name));
        symlink(outside.path().join(name), store.join(name)).unwrap();
    }
    let out = repo
        .lifeline()
        .args(["--root", ".", "restore", &id, "--yes"])
        .assert();
    let text = all_output(&out);
    assert_ne!(out.get_output().status.code(), Some(0), "{text}");
    assert!(text.contains("restore.lock"), "{text}");
    repo.lifeline()
        .args([
            "--root",
            ".",
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "y",
        ])
        .assert()
        .code(0);
    assert_eq!(
        snapshot(outside.path(), &[]).len(),
        1,
        "nothing created outside"
    );
}

#[test]
fn init_refuses_a_linked_workflow_or_gitattributes_before_writing_anything() {
    for (rel, target) in [
        (
            ".github/workflows/lifeline-health.yml",
            "../../.git/hooks/pre-commit",
        ),
        (".gitattributes", ".git/info/attributes"),
    ] {
        let repo = Repo::sample();
        std::fs::write(repo.join(".git/hooks/pre-commit"), "#!/bin/sh\n").unwrap();
        symlink(target, repo.join(rel)).unwrap();
        let git_before = git_snapshot(&repo);
        let out = repo
            .lifeline()
            .args([
                "init",
                "--action",
                &format!("acme/lifeline@{}", "0".repeat(40)),
            ])
            .assert()
            .code(2);
        let text = all_output(&out);
        assert!(text.contains(rel) && text.contains("symlink"), "{text}");
        assert!(
            !repo.join("lifeline.toml").exists(),
            "{rel}: init wrote before refusing"
        );
        assert!(repo.join(rel).is_symlink());
        assert_eq!(git_snapshot(&repo), git_before, "{rel}");
    }
}

#[test]
fn the_audit_index_outside_git_is_never_written_through_a_link() {
    let repo = Repo::bare_dir();
    repo.write(
        "planning/TASK.md",
        std::fs::read(Path::new(crate::common::FIXTURES).join("sample-repo/planning/TASK.md"))
            .unwrap(),
    );
    repo.lifeline()
        .args([
            "--root",
            ".",
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "x",
        ])
        .assert()
        .code(0);
    let month = std::fs::read_dir(repo.join("docs/audit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a month file");
    let text = std::fs::read_to_string(month).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let id = line["audit_id"].as_str().unwrap().to_string();
    let outside = tempfile::tempdir().unwrap();
    let _ = std::fs::remove_dir_all(repo.join("docs/audit/.index"));
    symlink(outside.path(), repo.join("docs/audit/.index")).unwrap();
    let out = repo
        .lifeline()
        .args(["--root", ".", "audit", "show", &id])
        .assert()
        .code(0);
    assert!(stdout(&out).contains(&id), "{}", stdout(&out));
    assert_eq!(
        snapshot(outside.path(), &[]).len(),
        1,
        "nothing written outside"
    );
}
