//! The fast paths of create and restore keep their guarantees: fast-import
//! creating the checkpoint ref itself still never replaces one, a file the
//! stat cache knows is still never reached through a symlink, and the
//! checksums a restore's audit entry takes from the manifest are those of
//! the files on disk.

use crate::common;

use common::Repo;
use lifeline::checkpoint::{self, store::Content, store::Written};
use lifeline::workspace::Workspace;
use sha2::Digest;

fn workspace(repo: &Repo) -> Workspace {
    Workspace::discover(repo.path(), Some(repo.path()), None).unwrap()
}

#[test]
fn a_taken_id_is_refused_and_the_existing_checkpoint_is_untouched() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "first");
    let refname = format!("refs/lifeline/checkpoints/{id}");
    let before = repo.git(&["rev-parse", &refname]);
    let ws = workspace(&repo);
    let store = checkpoint::open(&ws).unwrap();
    let mut manifest = store.manifest(&id.parse().unwrap()).unwrap();
    let contents: Vec<Content> = manifest
        .files
        .iter()
        .map(|f| Content::Bytes(checkpoint::read_file(store.as_ref(), &manifest, &f.path).unwrap()))
        .collect();
    manifest.operation = "impostor".into();
    let written = store.write(&manifest, &contents, None).unwrap();
    assert!(matches!(written, Written::IdTaken), "{written:?}");
    assert_eq!(repo.git(&["rev-parse", &refname]), before);
    // No other ref was made on the way (no temporary ref to clean up).
    let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/lifeline/"]);
    assert_eq!(refs.trim(), refname);
    repo.lifeline()
        .args(["checkpoint", "verify", &id])
        .assert()
        .code(0);
}

#[test]
fn a_cached_file_behind_a_directory_turned_symlink_is_not_captured() {
    let repo = Repo::sample();
    let cached = repo.checkpoint("manual", "cached");
    repo.forge_stat_cache(
        &cached,
        &["planning/TASK.md", "planning/sprint.config.json"],
        |_, _| {},
    );
    // The same inodes, same times: only the way to them changed.
    std::fs::rename(repo.join("planning"), repo.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink("elsewhere", repo.join("planning")).unwrap();
    let id = repo.checkpoint("manual", "after the swap");
    let ws = workspace(&repo);
    let store = checkpoint::open(&ws).unwrap();
    let manifest = store.manifest(&id.parse().unwrap()).unwrap();
    assert!(
        manifest
            .files
            .iter()
            .all(|f| !f.path.starts_with("planning/")),
        "{:?}",
        manifest.files
    );
    let skipped: Vec<&str> = manifest.skipped.iter().map(|s| s.path.as_str()).collect();
    assert!(skipped.contains(&"planning/TASK.md"), "{skipped:?}");
}

#[test]
fn a_restore_audits_the_checksums_of_the_files_it_wrote() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "good");
    let good = std::fs::read(repo.join("planning/TASK.md")).unwrap();
    repo.write("planning/TASK.md", "broken\n");
    std::fs::remove_file(repo.join("planning/sprint.config.json")).unwrap();
    repo.lifeline()
        .args(["restore", &id, "--yes", "--quiet"])
        .assert()
        .code(0);
    assert_eq!(std::fs::read(repo.join("planning/TASK.md")).unwrap(), good);
    let audit = std::fs::read_dir(repo.join("docs/audit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl") && !p.ends_with("checkpoints.jsonl"))
        .unwrap();
    let entry: serde_json::Value = std::fs::read_to_string(audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .rfind(|e| e["component"] == "restore")
        .unwrap();
    let sums = &entry["file_checksums"];
    for path in ["planning/TASK.md", "planning/sprint.config.json"] {
        let bytes = std::fs::read(repo.join(path)).unwrap();
        assert_eq!(
            sums[path],
            hex::encode(sha2::Sha256::digest(&bytes)),
            "{path}: {entry}"
        );
    }
}
