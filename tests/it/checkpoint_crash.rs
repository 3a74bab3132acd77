//! Crash safety: `checkpoint create` killed with SIGKILL at many points
//! never leaves a half-made checkpoint behind. A checkpoint becomes visible
//! in one atomic step (the ref update, the manifest link), so afterwards
//! `list` and `verify --all` are clean.
//!
//! The kill points are spread without clocks: each round lets the process
//! run a little longer (more polls of `try_wait` before the kill) until
//! creates finish before they can be killed, so the rounds cover the whole
//! run from start-up to the last step.

#![cfg(unix)]

use crate::common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::{Repo, stdout};

/// Kills `checkpoint create` at ever later points; returns (killed,
/// finished) counts.
fn crash_repeatedly(dir: &std::path::Path, root_flag: bool) -> (usize, usize) {
    let mut killed = 0;
    let mut finished = 0;
    let mut finished_in_a_row = 0;
    let mut polls: u64 = 0;
    for round in 0..400 {
        if finished_in_a_row >= 3 {
            break;
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lifeline"));
        cmd.current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if root_flag {
            cmd.arg("--root").arg(dir);
        }
        cmd.args([
            "checkpoint",
            "create",
            "--type",
            "task-sync",
            "--operation",
            "crash test",
        ]);
        let mut child = cmd.spawn().unwrap();
        let mut exited = None;
        for _ in 0..polls {
            if let Some(status) = child.try_wait().unwrap() {
                exited = Some(status);
                break;
            }
            std::thread::yield_now();
        }
        match exited {
            Some(status) => {
                assert!(status.success(), "an unkilled create must succeed");
                finished += 1;
                finished_in_a_row += 1;
            }
            None => {
                // Odd rounds kill only lifeline (its git children run on,
                // orphaned); even rounds kill the whole process group, as a
                // runner that dies takes everything with it.
                let target = if round % 2 == 0 {
                    format!("-{}", child.id())
                } else {
                    child.id().to_string()
                };
                let _ = Command::new("kill").args(["-KILL", "--", &target]).status();
                let status = child.wait().unwrap();
                if status.success() {
                    finished += 1;
                    finished_in_a_row += 1;
                } else {
                    killed += 1;
                    finished_in_a_row = 0;
                }
            }
        }
        polls = polls + 1 + polls / 4;
    }
    (killed, finished)
}

fn assert_clean(repo: &Repo, root: Option<&std::path::Path>) -> usize {
    let with_root = |args: &[&str]| {
        let mut cmd = repo.lifeline();
        if let Some(root) = root {
            cmd.arg("--root").arg(root);
        }
        cmd.args(args);
        cmd
    };
    let out = with_root(&["checkpoint", "list", "--format", "json"])
        .assert()
        .code(0);
    let listing: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listing["damaged"], serde_json::json!([]), "{listing}");
    let out = with_root(&["checkpoint", "verify", "--all"])
        .assert()
        .code(0);
    assert!(stdout(&out).contains("all intact") || stdout(&out).contains("no checkpoints"));
    // And the store still takes new checkpoints.
    with_root(&[
        "checkpoint",
        "create",
        "--type",
        "manual",
        "--operation",
        "after",
        "--quiet",
    ])
    .assert()
    .code(0);
    with_root(&["checkpoint", "verify", "latest"])
        .assert()
        .code(0);
    listing["checkpoints"].as_array().unwrap().len()
}

#[test]
fn sigkill_during_create_in_a_git_repository_leaves_nothing_half_made() {
    let repo = Repo::sample();
    let (killed, finished) = crash_repeatedly(repo.path(), false);
    eprintln!("git store: {killed} creates killed, {finished} finished");
    assert!(killed > 0, "no create was killed");
    let listed = assert_clean(&repo, None);
    assert!(listed >= finished && listed <= finished + killed);
    let fsck = Command::new("git")
        .current_dir(repo.path())
        .args(["fsck", "--no-dangling", "--connectivity-only"])
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
}

#[test]
fn sigkill_during_create_in_the_directory_store_leaves_nothing_half_made() {
    let repo = Repo::bare_dir();
    let from = std::path::Path::new(common::FIXTURES).join("sample-repo");
    for entry in walkdir::WalkDir::new(&from) {
        let entry = entry.unwrap();
        let dest = repo.path().join(entry.path().strip_prefix(&from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
    let (killed, finished) = crash_repeatedly(repo.path(), true);
    eprintln!("directory store: {killed} creates killed, {finished} finished");
    assert!(killed > 0, "no create was killed");
    let listed = assert_clean(&repo, Some(repo.path()));
    assert!(listed >= finished && listed <= finished + killed);
}
