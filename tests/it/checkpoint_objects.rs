//! `checkpoint create` writes its objects (one pack) and creates its ref
//! in-process in the repositories it models, and through `git
//! fast-import` in the others: either way git finds nothing to complain
//! about, restores and `git gc` keep working, and an object the stat cache
//! names that `git gc` has since removed is read again, not referenced.

use crate::common;

use common::Repo;

const SAMPLE_FILES: &[&str] = &[
    "planning/TASK.md",
    "planning/sprint.config.json",
    ".github/labels.yml",
];

fn fsck(repo: &Repo) {
    repo.git(&["fsck", "--strict", "--full", "--no-dangling"]);
}

fn verify_all(repo: &Repo) {
    repo.lifeline()
        .args(["checkpoint", "verify", "--all"])
        .assert()
        .code(0);
}

/// The object IDs a pack index lists.
fn pack_objects(repo: &Repo, idx: &std::path::Path) -> Vec<String> {
    let out = std::process::Command::new("git")
        .current_dir(repo.path())
        .arg("show-index")
        .stdin(std::fs::File::open(idx).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(1).map(str::to_string))
        .collect()
}

/// The pack files in the repository, newest last.
fn pack_indexes(repo: &Repo) -> Vec<std::path::PathBuf> {
    let mut idx: Vec<_> = std::fs::read_dir(repo.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    idx.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    idx
}

/// The blob of `path` in checkpoint `id`.
fn blob_of(repo: &Repo, id: &str, path: &str) -> String {
    repo.git(&[
        "rev-parse",
        &format!("refs/lifeline/checkpoints/{id}:{path}"),
    ])
    .trim()
    .to_string()
}

/// Whether the repository has object `oid`.
fn has_object(repo: &Repo, oid: &str) -> bool {
    std::process::Command::new("git")
        .current_dir(repo.path())
        .args(["cat-file", "-e", oid])
        .status()
        .unwrap()
        .success()
}

#[test]
fn checkpoints_are_one_pack_each_that_git_checks_restores_and_collects() {
    let repo = Repo::sample();
    repo.age(SAMPLE_FILES);
    let loose_before = repo.git(&["count-objects"]);
    let first = repo.checkpoint("task-sync", "first");
    let second = repo.checkpoint("task-sync", "second");
    // No loose object: each create wrote one pack (and its index).
    assert_eq!(repo.git(&["count-objects"]), loose_before);
    assert_eq!(pack_indexes(&repo).len(), 2);
    fsck(&repo);
    verify_all(&repo);
    let commit = repo.git(&[
        "cat-file",
        "-p",
        &format!("refs/lifeline/checkpoints/{second}"),
    ]);
    assert!(commit.starts_with("tree "), "{commit}");
    assert!(!commit.contains("\nparent "), "{commit}");
    assert!(
        commit.contains("\ncommitter lifeline <lifeline@localhost> "),
        "{commit}"
    );

    let good = repo.read("planning/TASK.md");
    repo.write("planning/TASK.md", "broken\n");
    repo.lifeline()
        .args(["restore", &first, "--yes", "--quiet"])
        .assert()
        .code(0);
    assert_eq!(repo.read("planning/TASK.md"), good);

    // gc packs everything into one pack and keeps every checkpoint.
    repo.git(&["gc", "-q", "--prune=now"]);
    fsck(&repo);
    verify_all(&repo);
    let listed = repo.git(&[
        "for-each-ref",
        "--format=%(refname:strip=3)",
        "refs/lifeline/checkpoints/",
    ]);
    for id in [&first, &second] {
        assert!(listed.contains(id.as_str()), "{listed}");
    }

    // A cached file's blob, now in gc's pack, is found there and reused:
    // the new pack holds no copy of it.
    repo.forge_stat_cache(&second, &["planning/sprint.config.json"], |_, _| {});
    let blob = blob_of(&repo, &second, "planning/sprint.config.json");
    let third = repo.checkpoint("task-sync", "after gc");
    assert_eq!(blob_of(&repo, &third, "planning/sprint.config.json"), blob);
    let newest = pack_indexes(&repo).pop().unwrap();
    let written = pack_objects(&repo, &newest);
    assert!(!written.contains(&blob), "{written:?}");
    assert!(
        written.contains(&blob_of(&repo, &third, "planning/TASK.md")),
        "{written:?}"
    );
    fsck(&repo);
    verify_all(&repo);
}

#[test]
fn a_reused_object_that_gc_removed_is_read_again() {
    let repo = Repo::sample();
    // Uncommitted bytes: only the checkpoints hold their blob.
    let task = repo.read("planning/TASK.md");
    repo.write("planning/TASK.md", format!("{task}\n"));
    let first = repo.checkpoint("task-sync", "first");
    let blob = blob_of(&repo, &first, "planning/TASK.md");
    // The cache is believed: the second checkpoint reuses the blob.
    repo.forge_stat_cache(&first, &["planning/TASK.md"], |_, _| {});
    let second = repo.checkpoint("task-sync", "second");
    assert_eq!(blob_of(&repo, &second, "planning/TASK.md"), blob);
    let newest = pack_indexes(&repo).pop().unwrap();
    assert!(!pack_objects(&repo, &newest).contains(&blob));
    // Both checkpoints pruned, the blob collected; the cache still names it.
    repo.forge_stat_cache(&second, &["planning/TASK.md"], |_, _| {});
    for id in [&first, &second] {
        repo.git(&[
            "update-ref",
            "-d",
            &format!("refs/lifeline/checkpoints/{id}"),
        ]);
    }
    repo.git(&["gc", "-q", "--prune=now"]);
    assert!(!has_object(&repo, &blob), "gc removed the blob");
    // Create notices, reads the file again and stores its blob anew.
    let third = repo.checkpoint("task-sync", "third");
    assert_eq!(blob_of(&repo, &third, "planning/TASK.md"), blob);
    assert!(has_object(&repo, &blob));
    fsck(&repo);
    verify_all(&repo);
}

#[test]
fn a_sha256_repository_is_written_by_git_fast_import() {
    let repo = Repo::bare_dir();
    std::fs::create_dir_all(repo.join("planning")).unwrap();
    let sample = std::path::Path::new(common::FIXTURES).join("sample-repo/planning");
    for name in ["TASK.md", "sprint.config.json"] {
        std::fs::copy(sample.join(name), repo.join(&format!("planning/{name}"))).unwrap();
    }
    repo.git(&["init", "-q", "-b", "main", "--object-format=sha256"]);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "sample"]);
    repo.age(&["planning/TASK.md", "planning/sprint.config.json"]);
    repo.checkpoint("task-sync", "first");
    let second = repo.checkpoint("task-sync", "cached");
    let commit = repo.git(&["rev-parse", &format!("refs/lifeline/checkpoints/{second}")]);
    assert_eq!(commit.trim().len(), 64, "{commit}");
    // fast-import explodes small imports into loose objects: no pack.
    assert_eq!(pack_indexes(&repo).len(), 0);
    fsck(&repo);
    verify_all(&repo);
}

#[test]
fn a_linked_worktree_writes_into_the_common_repository() {
    let repo = Repo::sample();
    let outside = tempfile::tempdir().unwrap();
    let linked = outside.path().join("linked");
    repo.git(&["worktree", "add", "-q", linked.to_str().unwrap()]);
    let out = repo
        .lifeline()
        .current_dir(&linked)
        .args([
            "checkpoint",
            "create",
            "--type",
            "task-sync",
            "--operation",
            "wt",
            "--quiet",
        ])
        .assert()
        .code(0);
    let id = common::stdout(&out).trim().to_string();
    let listed = repo.git(&["for-each-ref", "--format=%(refname)", "refs/lifeline/"]);
    assert_eq!(listed.trim(), format!("refs/lifeline/checkpoints/{id}"));
    assert_eq!(pack_indexes(&repo).len(), 1);
    fsck(&repo);
    verify_all(&repo);
}

#[test]
fn a_symlinked_ref_directory_is_never_written_through() {
    let repo = Repo::sample();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), repo.join(".git/refs/lifeline")).unwrap();
    repo.lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "task-sync",
            "--operation",
            "link",
        ])
        .assert()
        .code(2);
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}
