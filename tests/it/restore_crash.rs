//! Crash safety: `lifeline restore` killed with SIGKILL at many points
//! leaves every protected file wholly old or wholly new (never a mix, never
//! empty), and running the restore again converges on the checkpoint with
//! no temporary files left behind.
//!
//! As in `checkpoint_crash.rs`, the kill points are spread without clocks:
//! each round polls `try_wait` a few more times before the kill, until
//! restores finish before they can be killed.

#![cfg(unix)]

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::{Repo, stdout};

const FILES: usize = 40;

fn archive(i: usize) -> String {
    format!("docs/sprint-archives/S-{:02}/TASK.md", i % 8) + &format!(".{i}")
}

fn write_state(repo: &Repo, tag: &str) -> BTreeMap<String, Vec<u8>> {
    let mut state = BTreeMap::new();
    for i in 0..FILES {
        // Different sizes per version, so a torn write cannot pass for either.
        let line = format!("{tag} archive {i}\n");
        let bytes = line.repeat(200 + i * 37 + tag.len() * 11).into_bytes();
        repo.write(&archive(i), &bytes);
        state.insert(archive(i), bytes);
    }
    let task = repo.read("planning/TASK.md");
    state.insert("planning/TASK.md".into(), task.into_bytes());
    state
}

fn current(repo: &Repo) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut keys: Vec<String> = (0..FILES).map(archive).collect();
    keys.push("planning/TASK.md".into());
    keys.into_iter()
        .map(|k| {
            let bytes = std::fs::read(repo.join(&k)).ok();
            (k, bytes)
        })
        .collect()
}

fn temporaries(repo: &Repo) -> Vec<String> {
    walkdir::WalkDir::new(repo.path())
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".lifeline-tmp-")
        })
        .filter(|e| !e.path().starts_with(repo.join(".git")))
        .map(|e| e.path().display().to_string())
        .collect()
}

#[test]
fn sigkill_during_restore_leaves_each_file_wholly_old_or_new_and_a_rerun_converges() {
    let repo = Repo::sample();
    let old_state = write_state(&repo, "checkpointed");
    let id = stdout(
        &repo
            .lifeline()
            .args([
                "checkpoint",
                "create",
                "--type",
                "manual",
                "--operation",
                "crash",
                "--quiet",
            ])
            .assert()
            .code(0),
    )
    .trim()
    .to_string();
    let mut killed = 0;
    let mut finished_in_a_row = 0;
    let mut polls: u64 = 0;
    for round in 0..400 {
        if finished_in_a_row >= 3 {
            break;
        }
        let new_state = write_state(&repo, "bot-rewritten");
        repo.write("planning/TASK.md", "bot rewrote this\n");
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .current_dir(repo.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["restore", &id, "--yes", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut exited = None;
        for _ in 0..polls {
            if let Some(status) = child.try_wait().unwrap() {
                exited = Some(status);
                break;
            }
            std::thread::yield_now();
        }
        let status = match exited {
            Some(s) => s,
            None => {
                let target = if round % 2 == 0 {
                    format!("-{}", child.id())
                } else {
                    child.id().to_string()
                };
                let _ = Command::new("kill").args(["-KILL", "--", &target]).status();
                child.wait().unwrap()
            }
        };
        if status.success() {
            finished_in_a_row += 1;
        } else {
            killed += 1;
            finished_in_a_row = 0;
        }
        for (path, bytes) in current(&repo) {
            let bytes = bytes.unwrap_or_else(|| panic!("round {round}: {path} is missing"));
            let old = &old_state[&path];
            let new = if path == "planning/TASK.md" {
                b"bot rewrote this\n".to_vec()
            } else {
                new_state[&path].clone()
            };
            assert!(
                bytes == *old || bytes == new,
                "round {round}: {path} is neither the old nor the new version ({} bytes)",
                bytes.len()
            );
        }
        // A rerun finishes the job and clears what the killed one staged.
        repo.lifeline()
            .args(["restore", &id, "--yes", "--quiet"])
            .assert()
            .code(0);
        let now: BTreeMap<String, Vec<u8>> = current(&repo)
            .into_iter()
            .map(|(k, v)| (k, v.unwrap()))
            .collect();
        assert!(
            now == old_state,
            "round {round}: the rerun did not converge"
        );
        assert_eq!(temporaries(&repo), Vec::<String>::new(), "round {round}");
        polls = polls + 1 + polls / 4;
    }
    eprintln!("{killed} restores killed");
    assert!(killed > 0, "no restore was killed");
    repo.lifeline()
        .args(["checkpoint", "verify", "--all"])
        .assert()
        .code(0);
}
