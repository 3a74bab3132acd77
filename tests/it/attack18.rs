//! Attacks on the in-process git writer and reader: a create killed while
//! it merges small packs, what a create killed between its renames leaves
//! behind, a symlinked pack directory met with a warm stat cache, and a
//! committed directory that git takes for a repository.

#![cfg(unix)]

use crate::common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::{Repo, stdout};

const SAMPLE_FILES: &[&str] = &[
    "planning/TASK.md",
    "planning/sprint.config.json",
    ".github/labels.yml",
];

/// How many packs the small-pack list names that are still there.
fn listed_small_packs(repo: &Repo) -> usize {
    std::fs::read_to_string(repo.join(".git/lifeline/small-packs"))
        .unwrap_or_default()
        .lines()
        .filter(|stem| {
            repo.join(&format!(".git/objects/pack/pack-{stem}.idx"))
                .exists()
        })
        .count()
}

/// Every checkpoint whole and listed undamaged, `git fsck` clean.
fn assert_whole(repo: &Repo) {
    repo.git(&["fsck", "--strict", "--full", "--no-dangling"]);
    let out = repo
        .lifeline()
        .args(["checkpoint", "list", "--format", "json"])
        .assert()
        .code(0);
    let listing: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listing["damaged"], serde_json::json!([]), "{listing}");
    repo.lifeline()
        .args(["checkpoint", "verify", "--all"])
        .assert()
        .code(0);
}

/// Every create here merges (the list names eight packs when it starts);
/// each is killed a little later than the one before, until creates
/// finish. Whatever instruction the kill hits, the merged packs are gone
/// only once their objects are durable in the new one.
#[test]
fn sigkill_while_small_packs_are_merged_loses_no_object() {
    let repo = Repo::sample();
    let (mut killed, mut finished, mut in_a_row) = (0, 0, 0);
    let mut polls: u64 = 0;
    for round in 0..300 {
        if in_a_row >= 3 {
            break;
        }
        let mut primed = 0;
        while listed_small_packs(&repo) < 8 {
            repo.checkpoint("task-sync", "prime");
            primed += 1;
            assert!(primed <= 8, "creates stopped listing their packs");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .current_dir(repo.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["checkpoint", "create", "--type", "task-sync"])
            .args(["--operation", "merge under fire", "--quiet"])
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
            Some(status) => status,
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
            finished += 1;
            in_a_row += 1;
        } else {
            assert!(
                status.code().is_none(),
                "an unkilled create must succeed: {status}"
            );
            killed += 1;
            in_a_row = 0;
        }
        polls = polls + 1 + polls / 4;
    }
    eprintln!("merging creates: {killed} killed, {finished} finished");
    assert!(killed > 0 && finished > 0);
    assert_whole(&repo);
    // git collects what the kills left, and everything still holds.
    repo.git(&["gc", "-q", "--prune=now"]);
    assert_whole(&repo);
    repo.checkpoint("manual", "after");
    assert_whole(&repo);
}

/// A create killed after renaming its pack but before its index (the
/// index still under its temporary name), and one killed holding another
/// ID's ref lock: the next create, `verify`, `git gc` and `git fsck` all
/// cope, as with git's own packs (git renames in the same order).
#[test]
fn what_a_create_killed_between_its_renames_leaves_is_harmless() {
    let repo = Repo::sample();
    let kept = repo.checkpoint("task-sync", "kept");
    repo.write("planning/notes.md", "only in the lost checkpoint\n");
    let lost = repo.checkpoint("task-sync", "lost");
    let newest = std::fs::read_dir(repo.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .unwrap();
    repo.git(&[
        "update-ref",
        "-d",
        &format!("refs/lifeline/checkpoints/{lost}"),
    ]);
    std::fs::rename(&newest, repo.join(".git/objects/pack/tmp_idx_killed")).unwrap();
    std::fs::write(
        repo.join(".git/refs/lifeline/checkpoints/task-sync-20261130T000000Z-dead.lock"),
        "",
    )
    .unwrap();
    let after = repo.checkpoint("task-sync", "after");
    assert_whole(&repo);
    repo.git(&["gc", "-q", "--prune=now"]);
    assert_whole(&repo);
    let listed = repo.git(&[
        "for-each-ref",
        "--format=%(refname:lstrip=3)",
        "refs/lifeline/",
    ]);
    let mut names: Vec<&str> = listed.lines().collect();
    names.sort_unstable();
    let mut expected = vec![kept.as_str(), after.as_str()];
    expected.sort_unstable();
    assert_eq!(names, expected);
}

/// With a warm stat cache the create looks up the objects it reuses: a
/// symlinked `objects/pack` is refused there too (it used to send the
/// write to `git fast-import`, which follows the link), and nothing is
/// written through it.
#[test]
fn a_symlinked_pack_directory_is_refused_with_a_warm_cache_too() {
    let repo = Repo::sample();
    repo.age(SAMPLE_FILES);
    let first = repo.checkpoint("task-sync", "first");
    repo.forge_stat_cache(&first, SAMPLE_FILES, |_, _| {});
    let outside = tempfile::tempdir().unwrap();
    let pack = outside.path().join("pack");
    std::fs::rename(repo.join(".git/objects/pack"), &pack).unwrap();
    std::os::unix::fs::symlink(&pack, repo.join(".git/objects/pack")).unwrap();
    let before = std::fs::read_dir(&pack).unwrap().count();
    let loose_before = repo.git(&["count-objects"]);
    let out = repo
        .lifeline()
        .args(["checkpoint", "create", "--type", "task-sync"])
        .args(["--operation", "warm"])
        .assert()
        .code(2);
    assert!(
        common::stderr(&out).contains("objects/pack"),
        "{}",
        common::stderr(&out)
    );
    assert_eq!(std::fs::read_dir(&pack).unwrap().count(), before);
    assert_eq!(repo.git(&["count-objects"]), loose_before);
    let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/lifeline/"]);
    assert_eq!(refs.lines().count(), 1, "{refs}");
}

/// A committed directory with a `HEAD` and a `commondir` (or a symlinked
/// `objects`) is a repository to git: run inside it, lifeline answers as
/// git does (no work tree here) instead of walking past it to the
/// repository above.
#[test]
fn a_committed_directory_git_takes_for_a_repository_is_not_walked_past() {
    let repo = Repo::sample();
    repo.write("fixtures/common/HEAD", "ref: refs/heads/main\n")
        .write("fixtures/common/commondir", "../../.git\n")
        .write("fixtures/common/sub/README.md", "inside\n");
    repo.git(&["add", "fixtures"]);
    repo.git(&["commit", "-q", "-m", "fixture"]);
    let inside = repo.join("fixtures/common/sub");
    let git = Command::new("git")
        .current_dir(&inside)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .unwrap();
    assert!(!git.status.success(), "git finds no work tree there");
    let out = repo
        .lifeline()
        .current_dir(&inside)
        .args(["checkpoint", "list"])
        .assert()
        .code(2);
    assert!(
        common::all_output(&out).contains("not inside a git repository"),
        "{}",
        common::all_output(&out)
    );
}

/// Two `checkpoint create` processes at once, again and again, through
/// merges of the small packs (no lock serialises them): both succeed each
/// time, and every checkpoint is whole.
#[test]
fn creates_racing_through_merges_all_succeed_and_stay_whole() {
    let repo = Repo::sample();
    let spawn = |kind: &str| {
        Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .current_dir(repo.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["checkpoint", "create", "--type", kind])
            .args(["--operation", "race", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for round in 0..12 {
        // A kind each: the two IDs can never be the same.
        let children = [spawn("task-sync"), spawn("manual")];
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/lifeline/"]);
    assert_eq!(refs.lines().count(), 24, "{refs}");
    let packs = std::fs::read_dir(repo.join(".git/objects/pack"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "idx")
        })
        .count();
    assert!(packs < 24, "no pack was merged: {packs}");
    assert_whole(&repo);
}
