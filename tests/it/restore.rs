//! `lifeline restore` and `lifeline undo` through the real binary, in real
//! git repositories (and a directory store): round trips, confirmation
//! without a terminal, self-undoing restores, and hostile checkpoints.

use crate::common;

use std::process::{Command, Stdio};

use common::{Repo, stderr, stdout};

fn checkpoint(repo: &Repo, args: &[&str]) -> String {
    let mut cmd = repo.lifeline();
    cmd.args(args).args([
        "checkpoint",
        "create",
        "--type",
        "manual",
        "--operation",
        "test",
        "--quiet",
    ]);
    stdout(&cmd.assert().code(0)).trim().to_string()
}

/// Every file under the root except git's and lifeline's own, with bytes.
fn snapshot(repo: &Repo) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(repo.path()).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(repo.path()).unwrap();
        let rel = rel.to_string_lossy().into_owned();
        if rel.starts_with(".git") || rel.starts_with(".lifeline") || rel.starts_with("docs/audit")
        {
            continue;
        }
        if entry.file_type().is_file() {
            out.push((rel, std::fs::read(entry.path()).unwrap()));
        }
    }
    out
}

#[cfg(unix)]
fn mode(repo: &Repo, rel: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(repo.join(rel))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[cfg(unix)]
#[test]
fn nested_paths_and_same_base_names_round_trip_byte_for_byte() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::sample();
    repo.write(
        "docs/sprint-archives/A/deep/TASK.md",
        b"alpha\n\x00\xff raw bytes\n",
    )
    .write(
        "docs/sprint-archives/B/deep/TASK.md",
        "beta, same base name\n",
    );
    std::fs::set_permissions(
        repo.join("docs/sprint-archives/A/deep/TASK.md"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let id = checkpoint(&repo, &[]);
    let before = snapshot(&repo);

    repo.write("docs/sprint-archives/A/deep/TASK.md", "overwritten\n")
        .write(
            "docs/sprint-archives/new.md",
            "added after the checkpoint\n",
        )
        .write("planning/TASK.md", "truncated");
    std::fs::remove_dir_all(repo.join("docs/sprint-archives/B")).unwrap();
    std::fs::set_permissions(
        repo.join("docs/sprint-archives/A/deep/TASK.md"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let out = repo
        .lifeline()
        .args(["restore", &id[..20], "--dry-run"])
        .assert()
        .code(0);
    let plan = stdout(&out);
    assert!(
        plan.contains("restore    docs/sprint-archives/A/deep/TASK.md"),
        "{plan}"
    );
    assert!(
        plan.contains("create     docs/sprint-archives/B/deep/TASK.md"),
        "{plan}"
    );
    assert!(
        plan.contains("delete     docs/sprint-archives/new.md"),
        "{plan}"
    );
    assert!(plan.contains("dry run: nothing changed"), "{plan}");
    assert_eq!(repo.read("planning/TASK.md"), "truncated");

    let out = repo
        .lifeline()
        .args(["restore", &id, "--yes"])
        .assert()
        .code(0);
    assert!(
        stdout(&out).contains("restored 4 files"),
        "{}",
        stdout(&out)
    );
    assert_eq!(snapshot(&repo), before);
    assert_eq!(mode(&repo, "docs/sprint-archives/A/deep/TASK.md"), 0o755);
    assert_eq!(mode(&repo, "docs/sprint-archives/B/deep/TASK.md"), 0o644);

    // A second run converges: nothing left to do.
    let out = repo
        .lifeline()
        .args(["restore", &id, "--yes"])
        .assert()
        .code(0);
    assert!(
        stdout(&out).contains("nothing to restore"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn undo_puts_back_what_the_restore_replaced() {
    let repo = Repo::sample();
    let id = checkpoint(&repo, &[]);
    repo.write("planning/TASK.md", "hand edit, valid or not\n");
    let edited = snapshot(&repo);
    repo.lifeline()
        .args(["restore", &id, "--yes", "--no-validate"])
        .assert()
        .code(0);
    assert_ne!(snapshot(&repo), edited);
    let out = repo.lifeline().args(["undo", "--yes"]).assert().code(0);
    assert!(stdout(&out).contains("restored 1 file"), "{}", stdout(&out));
    assert_eq!(snapshot(&repo), edited);
}

#[test]
fn restore_latest_without_a_terminal_or_yes_exits_2_without_reading_stdin() {
    let repo = Repo::sample();
    checkpoint(&repo, &[]);
    repo.write("planning/TASK.md", "changed\n");
    let before = snapshot(&repo);
    // stdin is a pipe that stays open and silent: reading it would block.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .current_dir(repo.path())
        .args(["restore", "latest"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let pid = child.id();
    // A guard, not a timing assertion: kill a hung process so the test
    // fails instead of hanging.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let guard = std::thread::spawn(move || {
        if done_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .is_err()
        {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done_tx.send(());
    guard.join().unwrap();
    drop(stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("pass --yes (or --force)"), "{err}");
    assert_eq!(snapshot(&repo), before);
    let list = repo
        .lifeline()
        .args(["checkpoint", "list", "--format", "json"])
        .assert()
        .code(0);
    assert!(
        !stdout(&list).contains("pre-restore"),
        "no safety checkpoint taken"
    );
}

#[test]
fn restoring_an_invalid_checkpoint_undoes_itself() {
    let repo = Repo::sample();
    repo.corrupt("TASK.duplicate-id.md", "planning/TASK.md");
    let bad = checkpoint(&repo, &[]);
    repo.git(&["checkout", "--", "planning/TASK.md"]);
    let good = snapshot(&repo);
    let out = repo
        .lifeline()
        .args(["restore", &bad, "--yes"])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains("restore undone"), "{text}");
    assert!(text.contains("planning/TASK.md (1 error)"), "{text}");
    assert!(text.contains("TASK011"), "{text}");
    assert_eq!(snapshot(&repo), good);
    let log = repo
        .lifeline()
        .args(["audit", "query", "--format", "json"])
        .assert();
    let log = stdout(&log);
    assert!(log.contains("restored files are invalid"), "{log}");

    // --no-validate keeps them.
    repo.lifeline()
        .args(["restore", &bad, "--yes", "--no-validate"])
        .assert()
        .code(0);
    assert_ne!(snapshot(&repo), good);
}

#[test]
fn commit_records_exactly_the_restored_files() {
    let repo = Repo::sample();
    let id = checkpoint(&repo, &[]);
    repo.write("planning/TASK.md", "broken\n")
        .write("unrelated.txt", "staged but not restored\n");
    repo.git(&["add", "unrelated.txt"]);
    repo.git(&[
        "commit",
        "-q",
        "-m",
        "bot broke it",
        "--",
        "planning/TASK.md",
    ]);
    let out = repo
        .lifeline()
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .args(["restore", &id, "--yes", "--commit"])
        .assert()
        .code(0);
    assert!(stdout(&out).contains("committed "), "{}", stdout(&out));
    let files = repo.git(&["show", "--name-only", "--format=%s", "HEAD"]);
    assert_eq!(
        files.trim(),
        format!("lifeline: restore checkpoint {id}\n\nplanning/TASK.md")
    );
    let staged = repo.git(&["diff", "--cached", "--name-only"]);
    assert_eq!(
        staged.trim(),
        "unrelated.txt",
        "other staged work is left staged"
    );
}

#[test]
fn only_restores_the_named_paths() {
    let repo = Repo::sample();
    let id = checkpoint(&repo, &[]);
    repo.write("planning/TASK.md", "one\n")
        .write(".github/labels.yml", "two\n");
    repo.lifeline()
        .args([
            "restore",
            &id,
            "--yes",
            "--no-validate",
            "--only",
            "planning",
        ])
        .assert()
        .code(0);
    assert_ne!(repo.read("planning/TASK.md"), "one\n");
    assert_eq!(repo.read(".github/labels.yml"), "two\n");
    let out = repo
        .lifeline()
        .args(["restore", &id, "--yes", "--only", "nope.md"])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("--only nope.md"), "{}", stderr(&out));
}

/// A directory-store checkpoint whose manifest is rewritten by `edit`,
/// stored under a fresh ID; returns that ID.
fn crafted_dir_checkpoint(repo: &Repo, edit: impl Fn(&mut serde_json::Value)) -> String {
    let id = checkpoint(repo, &["--root", "."]);
    let dir = repo.join(".lifeline/store/checkpoints");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{id}.json"))).unwrap()).unwrap();
    let forged = "manual-20261125T000000Z-beef";
    manifest["id"] = forged.into();
    edit(&mut manifest);
    std::fs::write(dir.join(format!("{forged}.json")), manifest.to_string()).unwrap();
    forged.to_string()
}

fn assert_refused(repo: &Repo, root: &[&str], id: &str, why: &str) {
    let before = snapshot(repo);
    let out = repo
        .lifeline()
        .args(root)
        .args(["restore", id, "--yes"])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains("refused checkpoint"), "{text}");
    assert!(text.contains(why), "{text}");
    assert_eq!(snapshot(repo), before, "nothing written");
}

#[test]
fn hostile_manifests_in_the_directory_store_are_refused_whole() {
    let outside = tempfile::tempdir().unwrap();
    let repo = Repo::bare_dir();
    repo.write(
        "planning/TASK.md",
        std::fs::read(format!("{}/sample-repo/planning/TASK.md", common::FIXTURES)).unwrap(),
    );
    for (hostile, why) in [
        ("../../x".to_string(), "`..` is not allowed"),
        (
            format!("{}/x", outside.path().display()),
            "absolute paths are not allowed",
        ),
    ] {
        let id = crafted_dir_checkpoint(&repo, |m| {
            let mut extra = m["files"][0].clone();
            extra["path"] = hostile.clone().into();
            m["files"].as_array_mut().unwrap().insert(0, extra);
        });
        repo.write("planning/TASK.md", "changed\n");
        assert_refused(&repo, &["--root", "."], &id, why);
        std::fs::remove_file(repo.join(&format!(".lifeline/store/checkpoints/{id}.json"))).unwrap();
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn a_symlinked_directory_leading_outside_is_refused_whole() {
    let outside = tempfile::tempdir().unwrap();
    let repo = Repo::sample();
    repo.write("docs/sprint-archives/S/TASK.md", "archived\n");
    let id = checkpoint(&repo, &[]);
    repo.write("planning/TASK.md", "changed\n");
    std::fs::remove_dir_all(repo.join("docs/sprint-archives/S")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.join("docs/sprint-archives/S")).unwrap();
    assert_refused(&repo, &[], &id, "`docs/sprint-archives/S` is a symlink");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_hostile_manifest_in_the_git_store_is_refused_whole() {
    let repo = Repo::sample();
    let id = checkpoint(&repo, &[]);
    let refname = format!("refs/lifeline/checkpoints/{id}");
    let manifest = repo.git(&["cat-file", "blob", &format!("{refname}:manifest.json")]);
    let forged = "manual-20261125T000000Z-dead";
    let mut value: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    value["id"] = forged.into();
    value["files"][0]["path"] = "../../escape.md".into();
    let blob_file = repo.join("forged.json");
    std::fs::write(&blob_file, value.to_string()).unwrap();
    let blob = repo.git(&["hash-object", "-w", "forged.json"]);
    std::fs::remove_file(&blob_file).unwrap();
    let tree_listing = repo.git(&["ls-tree", &refname]);
    let tree_input: String = tree_listing
        .lines()
        .map(|l| {
            if l.ends_with("\tmanifest.json") {
                format!("100644 blob {}\tmanifest.json\n", blob.trim())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let mut mktree = Command::new("git")
        .current_dir(repo.path())
        .arg("mktree")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    mktree
        .stdin
        .take()
        .unwrap()
        .write_all(tree_input.as_bytes())
        .unwrap();
    let tree = String::from_utf8(mktree.wait_with_output().unwrap().stdout).unwrap();
    let body = repo
        .git(&["log", "-1", "--format=%b", &refname])
        .replace(&id, forged);
    let commit = repo.git(&[
        "commit-tree",
        tree.trim(),
        "-m",
        &format!("lifeline checkpoint {forged}\n\n{}", body.trim()),
    ]);
    repo.git(&[
        "update-ref",
        &format!("refs/lifeline/checkpoints/{forged}"),
        commit.trim(),
    ]);
    repo.write("planning/TASK.md", "changed\n");
    assert_refused(&repo, &[], forged, "`..` is not allowed");
    assert!(!repo.path().parent().unwrap().join("escape.md").exists());
}

#[test]
fn a_damaged_checkpoint_is_refused_with_nothing_touched() {
    let repo = Repo::bare_dir();
    repo.write(
        "planning/TASK.md",
        std::fs::read(format!("{}/sample-repo/planning/TASK.md", common::FIXTURES)).unwrap(),
    );
    let id = checkpoint(&repo, &["--root", "."]);
    for entry in walkdir::WalkDir::new(repo.join(".lifeline/store/objects")) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let mut bytes = std::fs::read(entry.path()).unwrap();
            bytes[0] ^= 1;
            std::fs::write(entry.path(), bytes).unwrap();
        }
    }
    repo.write("planning/TASK.md", "changed\n");
    assert_refused(&repo, &["--root", "."], &id, "is damaged");
}

/// A protected file that grew past `[limits] max_file_size` is never read
/// into memory to plan a restore: the restore stops, saying what to do,
/// and changes nothing.
#[test]
fn a_current_file_above_the_size_limit_is_never_read_to_plan() {
    let repo = Repo::sample();
    repo.write("lifeline.toml", "[limits]\nmax_file_size = 65536\n");
    let id = checkpoint(&repo, &[]);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(repo.join("planning/TASK.md"))
        .unwrap();
    file.set_len(1 << 20).unwrap();
    drop(file);
    let before = snapshot(&repo);
    for args in [vec!["--dry-run"], vec!["--yes"]] {
        let out = repo
            .lifeline()
            .args(["restore", &id])
            .args(&args)
            .assert()
            .code(2);
        let err = stderr(&out);
        assert!(
            err.contains("`planning/TASK.md` holds 1048576 bytes") && err.contains("max_file_size"),
            "{err}"
        );
        assert!(err.contains("move the file out of the way"), "{err}");
    }
    assert_eq!(snapshot(&repo), before);
}
