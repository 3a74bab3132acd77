//! `restore`, `undo` and `recover` take the guarded-step lock `lifeline
//! run` takes: while a step holds it they wait (`--wait`), past it they
//! change nothing and exit 2, and once it is released they go ahead.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::{Repo, stderr, stdout};

/// Holds the lock a guarded step holds, as that step would.
fn hold(repo: &Repo) -> File {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(repo.join(".git/lifeline-run.lock"))
        .unwrap();
    file.lock().unwrap();
    file
}

fn gave_up(out: &assert_cmd::assert::Assert, what: &str) {
    let err = stderr(out);
    assert!(
        err.contains(&format!("{what} waits up to 1s")),
        "says it waits: {err}"
    );
    assert!(err.contains("still holds"), "{err}");
    assert!(err.contains("--wait"), "{err}");
}

fn safety_checkpoints(repo: &Repo) -> usize {
    let out = repo
        .lifeline()
        .args(["checkpoint", "list", "--format", "json"])
        .assert()
        .code(0);
    stdout(&out).matches("pre-restore-").count()
}

#[test]
fn restore_undo_and_recover_wait_for_a_step_and_change_nothing_past_wait() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before");
    let broken = format!("{}\nbroken by a step\n", repo.read("planning/TASK.md"));
    repo.write("planning/TASK.md", &broken);
    // An undo needs a restore to undo: one made while nothing runs.
    repo.lifeline()
        .args(["restore", &id, "--yes"])
        .assert()
        .code(0);
    repo.write("planning/TASK.md", &broken);
    let safety = safety_checkpoints(&repo);

    let lock = hold(&repo);
    let out = repo
        .lifeline()
        .args(["restore", &id, "--yes", "--wait", "1s"])
        .assert()
        .code(2);
    gave_up(&out, "restore");
    let out = repo
        .lifeline()
        .args(["undo", "--yes", "--wait", "1s"])
        .assert()
        .code(2);
    gave_up(&out, "undo");
    let out = repo
        .lifeline()
        .args([
            "recover",
            "task-file-corruption",
            "--severity",
            "P2",
            "--checkpoint",
            &id,
            "--yes",
            "--wait",
            "1s",
        ])
        .assert()
        .code(2);
    gave_up(&out, "recover");
    assert_eq!(repo.read("planning/TASK.md"), broken);
    assert_eq!(safety_checkpoints(&repo), safety, "no safety checkpoint");
    assert!(
        !repo.join("docs/incidents").exists()
            || std::fs::read_dir(repo.join("docs/incidents"))
                .unwrap()
                .next()
                .is_none(),
        "no incident opened"
    );

    // A dry run changes nothing, so it does not wait.
    repo.lifeline()
        .args(["restore", &id, "--dry-run", "--wait", "0s"])
        .assert()
        .code(0);
    repo.lifeline()
        .args(["undo", "--dry-run", "--wait", "0s"])
        .assert()
        .code(0);
    repo.lifeline()
        .args([
            "recover",
            "task-file-corruption",
            "--severity",
            "P2",
            "--checkpoint",
            &id,
            "--dry-run",
            "--wait",
            "0s",
        ])
        .assert()
        .code(0);

    drop(lock);
    repo.lifeline()
        .args(["restore", &id, "--yes", "--wait", "0s"])
        .assert()
        .code(0);
    assert_ne!(repo.read("planning/TASK.md"), broken);
}

#[test]
fn a_waiting_restore_goes_ahead_once_the_step_finishes() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before");
    let good = repo.read("planning/TASK.md");
    repo.write("planning/TASK.md", format!("{good}\nbroken by a step\n"));
    let lock = hold(&repo);
    let mut restore = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .current_dir(repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["restore", &id, "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(restore.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("waits up to 10m") {
        line.clear();
        assert_ne!(err.read_line(&mut line).unwrap(), 0, "restore ended first");
    }
    assert_ne!(
        repo.read("planning/TASK.md"),
        good,
        "nothing before the lock"
    );
    drop(lock);
    assert_eq!(restore.wait().unwrap().code(), Some(0));
    assert_eq!(repo.read("planning/TASK.md"), good);
}
