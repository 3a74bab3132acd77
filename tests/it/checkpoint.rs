//! `lifeline checkpoint ...` end to end: real git repositories (with a bare
//! origin and a second clone), the directory store, damage, retention, and
//! the real binary.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{Repo, stderr, stdout};
use lifeline::checkpoint::{self, CheckpointId};
use lifeline::workspace::Workspace;

fn list_json(repo: &Repo) -> serde_json::Value {
    let out = repo
        .lifeline()
        .args(["checkpoint", "list", "--format", "json"])
        .assert()
        .code(0);
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn listed_ids(repo: &Repo) -> Vec<String> {
    list_json(repo)["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// The sample planning files in a directory that is not a git repository.
fn sample_outside_git() -> Repo {
    let repo = Repo::bare_dir();
    let from = Path::new(common::FIXTURES).join("sample-repo");
    for entry in walkdir::WalkDir::new(&from) {
        let entry = entry.unwrap();
        let dest = repo.path().join(entry.path().strip_prefix(&from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
    repo
}

/// Turns every pack into loose objects, so a test can damage one object.
fn explode_packs(repo: &Repo) {
    let pack_dir = repo.join(".git/objects/pack");
    for entry in std::fs::read_dir(&pack_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pack") {
            let data = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            std::fs::remove_file(path.with_extension("idx")).unwrap();
            let _ = std::fs::remove_file(path.with_extension("rev"));
            let mut child = Command::new("git")
                .current_dir(repo.path())
                .args(["unpack-objects", "-q"])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&data).unwrap();
            assert!(child.wait().unwrap().success());
        }
    }
}

fn workspace(repo: &Repo) -> Workspace {
    Workspace::discover(repo.path(), Some(repo.path()), None).unwrap()
}

#[test]
fn create_prints_the_id_and_stores_a_commit_under_refs_lifeline() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "task-sync",
            "--operation",
            "nightly sync",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    let id = text.lines().next().unwrap();
    let parsed: CheckpointId = id.parse().unwrap();
    assert_eq!(parsed.kind(), "task-sync");
    assert!(
        text.contains("(all valid), 0 absent; stored in refs/lifeline/checkpoints/"),
        "{text}"
    );
    let tree = repo.git(&[
        "ls-tree",
        "-r",
        "--name-only",
        &format!("refs/lifeline/checkpoints/{id}"),
    ]);
    assert_eq!(
        tree.lines().collect::<Vec<_>>(),
        [
            ".github/labels.yml",
            "docs/sprint-archives/README.md",
            "docs/sprint-archives/Sprint-06-2025/TASK-v1.0.0.md",
            "manifest.json",
            "planning/TASK.md",
            "planning/sprint.config.json",
        ]
    );
    // Invisible to branches: the work tree and HEAD are untouched.
    assert_eq!(repo.git(&["branch", "--list"]).trim(), "* main");
}

#[test]
fn manifest_records_the_working_tree_git_state_run_and_absent_files() {
    let repo = Repo::sample();
    repo.write(
        "lifeline.toml",
        "[[protect]]\npath = \"planning/TASK.md\"\nvalidator = \"task-md\"\n\n\
         [[protect]]\npath = \"planning/sprint.config.json\"\nvalidator = \"sprint-config\"\n\n\
         [[protect]]\npath = \".github/labels.yml\"\nvalidator = \"labels\"\n\n\
         [[protect]]\npath = \"docs/**/README.md\"\nvalidator = \"none\"\n",
    );
    repo.write("docs/a/b/c/README.md", "deep\n");
    std::fs::remove_file(repo.join(".github/labels.yml")).unwrap();
    repo.corrupt("TASK.duplicate-id.md", "planning/TASK.md");
    let out = repo
        .lifeline()
        .env("GITHUB_ACTOR", "sync-bot")
        .env("GITHUB_RUN_ID", "42")
        .env("GITHUB_RUN_ATTEMPT", "2")
        .env("GITHUB_WORKFLOW", "Task sync")
        .env("GITHUB_JOB", "sync")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/plan")
        .args([
            "checkpoint",
            "create",
            "--type",
            "task-sync",
            "--operation",
            "sync ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "--format",
            "json",
        ])
        .assert()
        .code(0);
    let created: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let m = &created["manifest"];
    assert_eq!(m["schema"], 1);
    assert_eq!(m["type"], "task-sync");
    assert_eq!(m["actor"], "github:sync-bot");
    assert!(
        !m["operation"].as_str().unwrap().contains("ghp_"),
        "token redacted: {m}"
    );
    assert_eq!(
        m["run"]["url"],
        "https://github.com/acme/plan/actions/runs/42"
    );
    assert_eq!(m["run"]["run_attempt"], "2");
    assert_eq!(m["git"]["branch"], "main");
    assert_eq!(
        m["git"]["head"].as_str().unwrap(),
        repo.git(&["rev-parse", "HEAD"]).trim()
    );
    assert_eq!(m["git"]["recent_commits"][0]["summary"], "sample");
    let dirty: Vec<&str> = m["git"]["dirty"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(dirty.contains(&"planning/TASK.md"), "{dirty:?}");
    assert!(dirty.contains(&".github/labels.yml"), "{dirty:?}");
    assert_eq!(m["valid"], false);
    assert_eq!(
        m["absent"],
        serde_json::json!([{ "path": ".github/labels.yml", "validator": "labels" }])
    );
    let files = m["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    // Two files named README.md at different depths keep their paths.
    assert_eq!(
        paths,
        [
            "docs/a/b/c/README.md",
            "docs/sprint-archives/README.md",
            "planning/TASK.md",
            "planning/sprint.config.json"
        ]
    );
    let task = &files[2];
    assert_eq!(
        task["valid"], false,
        "the working tree's broken TASK.md, not HEAD's"
    );
    assert_eq!(task["validator"], "task-md");
    assert_eq!(
        task["size"],
        std::fs::metadata(repo.join("planning/TASK.md"))
            .unwrap()
            .len()
    );
    assert!(task["mode"].as_str().unwrap().starts_with('0'));
    assert_eq!(
        files[0]["sha256"],
        lifeline::checkpoint::store::dir::sha256_hex(b"deep\n")
    );
}

#[test]
fn quiet_prints_the_id_alone_and_unknown_types_exit_2() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before a hand edit");
    assert!(id.starts_with("manual-") && !id.contains(' '), "{id}");
    let out = repo
        .lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "nightly",
            "--operation",
            "x",
        ])
        .assert()
        .code(2);
    assert_eq!(
        stderr(&out),
        "error: unknown checkpoint type `nightly`\n  help: use one of: task-sync, sprint-archive, emergency, manual, pre-restore (or add it to [checkpoint] types in lifeline.toml)\n"
    );
    repo.write("lifeline.toml", "[checkpoint]\ntypes = [\"nightly\"]\n");
    assert!(repo.checkpoint("nightly", "x").starts_with("nightly-"));
}

#[test]
fn fifty_processes_in_one_second_get_fifty_ids() {
    let repo = Repo::sample();
    let children: Vec<_> = (0..50)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_lifeline"))
                .current_dir(repo.path())
                .args([
                    "checkpoint",
                    "create",
                    "--type",
                    "task-sync",
                    "--operation",
                    "race",
                    "--quiet",
                ])
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids = BTreeSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ids.insert(String::from_utf8(out.stdout).unwrap().trim().to_string());
    }
    assert_eq!(ids.len(), 50);
    assert_eq!(listed_ids(&repo).into_iter().collect::<BTreeSet<_>>(), ids);
    repo.lifeline()
        .args(["checkpoint", "verify", "--all"])
        .assert()
        .code(0);
}

#[test]
fn ids_resolve_by_prefix_latest_and_latest_valid() {
    let repo = Repo::sample();
    let good = repo.checkpoint("task-sync", "good");
    repo.write("planning/sprint.config.json", "{ broken");
    let bad = repo.checkpoint("manual", "bad");
    let _safety = repo.checkpoint("pre-restore", "safety");
    let show = |spec: &str| {
        let out = repo
            .lifeline()
            .args(["checkpoint", "show", spec, "--format", "json"])
            .assert()
            .code(0);
        let m: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        m["id"].as_str().unwrap().to_string()
    };
    assert_eq!(show("latest"), bad, "latest skips pre-restore");
    assert_eq!(show("latest-valid"), good);
    assert_eq!(show("task-sync"), good, "a unique prefix");
    assert_eq!(show(&bad), bad);
    let out = repo
        .lifeline()
        .args(["checkpoint", "show", "nope"])
        .assert()
        .code(2);
    assert!(
        stderr(&out).starts_with("error: no checkpoint matches `nope`\n"),
        "{}",
        stderr(&out)
    );
    let list = stdout(
        &repo
            .lifeline()
            .args(["checkpoint", "list"])
            .assert()
            .code(0),
    );
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("ID "), "{list}");
    assert!(lines[1].starts_with("pre-restore-"), "newest first: {list}");
    assert!(
        lines[2].contains(" no ") && lines[2].ends_with("bad"),
        "{list}"
    );
}

#[test]
fn verify_reports_a_missing_object_and_a_flipped_bit_with_the_path() {
    let repo = Repo::sample();
    let id = repo.checkpoint("task-sync", "v");
    repo.lifeline()
        .args(["checkpoint", "verify", &id])
        .assert()
        .code(0);
    explode_packs(&repo);
    let blob = repo.git(&[
        "rev-parse",
        &format!("refs/lifeline/checkpoints/{id}:planning/TASK.md"),
    ]);
    let blob = blob.trim();
    let loose = repo.join(&format!(".git/objects/{}/{}", &blob[..2], &blob[2..]));
    // The sample commit already holds TASK.md, so change it for a fresh blob.
    assert!(loose.exists(), "loose object {blob}");
    std::fs::remove_file(&loose).unwrap();
    let out = repo
        .lifeline()
        .args(["checkpoint", "verify", "--all"])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains(&format!("DAMAGED {id}")), "{text}");
    assert!(text.contains("planning/TASK.md: object"), "{text}");
    assert!(
        text.ends_with("verified 1 checkpoint: 1 damaged\n"),
        "{text}"
    );
    // Reading it for a restore is an error naming the file.
    let ws = workspace(&repo);
    let store = checkpoint::open(&ws).unwrap();
    let m = store.manifest(&id.parse().unwrap()).unwrap();
    let err = checkpoint::read_file(store.as_ref(), &m, "planning/TASK.md").unwrap_err();
    assert!(
        err.to_string().contains("`planning/TASK.md` is damaged"),
        "{err}"
    );
    assert!(checkpoint::read_file(store.as_ref(), &m, ".github/labels.yml").is_ok());

    // A flipped bit in a stored object (a fresh blob, so a loose object).
    repo.write("planning/sprint.config.json", "{\"sprint_id\": \"flip\"}\n");
    let other = repo.checkpoint("manual", "flip");
    explode_packs(&repo);
    let blob = repo.git(&[
        "rev-parse",
        &format!("refs/lifeline/checkpoints/{other}:planning/sprint.config.json"),
    ]);
    let blob = blob.trim();
    let loose = repo.join(&format!(".git/objects/{}/{}", &blob[..2], &blob[2..]));
    let mut data = std::fs::read(&loose).unwrap();
    let last = data.len() - 3;
    data[last] ^= 0x10;
    std::fs::write(&loose, data).unwrap();
    let out = repo
        .lifeline()
        .args(["checkpoint", "verify", &other])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains(&format!("DAMAGED {other}")), "{text}");
    assert!(
        text.contains("planning/sprint.config.json: object"),
        "{text}"
    );
    assert!(!text.contains("TASK.md"), "only the damaged file: {text}");
}

#[test]
fn directory_store_outside_git_round_trips_and_detects_damage() {
    let repo = sample_outside_git();
    let root = repo.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let mut cmd = repo.lifeline();
        cmd.arg("--root").arg(&root).args(args);
        cmd
    };
    let id = stdout(
        &run(&[
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
    assert!(
        repo.join(&format!(".lifeline/store/checkpoints/{id}.json"))
            .is_file()
    );
    let second = stdout(
        &run(&[
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "y",
            "--quiet",
        ])
        .assert()
        .code(0),
    )
    .trim()
    .to_string();
    run(&["checkpoint", "verify", "--all"]).assert().code(0);

    let ws = Workspace::discover(repo.path(), Some(repo.path()), None).unwrap();
    let store = checkpoint::open(&ws).unwrap();
    assert_eq!(store.name(), "directory");
    let m = store.manifest(&id.parse().unwrap()).unwrap();
    let bytes = checkpoint::read_file(store.as_ref(), &m, "planning/TASK.md").unwrap();
    assert_eq!(bytes, std::fs::read(repo.join("planning/TASK.md")).unwrap());

    // Flip one bit of the stored TASK.md.
    let sha = &m.file("planning/TASK.md").unwrap().sha256;
    let object = repo.join(&format!(".lifeline/store/objects/{}/{sha}", &sha[..2]));
    let mut data = std::fs::read(&object).unwrap();
    data[10] ^= 0x01;
    std::fs::write(&object, data).unwrap();
    let out = run(&["checkpoint", "verify", &second]).assert().code(1);
    let text = stdout(&out);
    assert!(text.contains("planning/TASK.md: SHA-256"), "{text}");

    // A corrupt manifest is a clear error naming it, never a panic.
    std::fs::write(
        repo.join(&format!(".lifeline/store/checkpoints/{id}.json")),
        "{ truncated",
    )
    .unwrap();
    let out = run(&["checkpoint", "show", &id]).assert().code(2);
    assert!(
        stderr(&out).contains(&format!(".lifeline/store/checkpoints/{id}.json is corrupt")),
        "{}",
        stderr(&out)
    );
    let out = run(&["checkpoint", "verify", "--all"]).assert().code(1);
    assert!(
        stdout(&out).contains(&format!("DAMAGED .lifeline/store/checkpoints/{id}.json")),
        "{}",
        stdout(&out)
    );
    run(&["checkpoint", "push"]).assert().code(2);
}

#[test]
fn prune_keeps_by_policy_and_never_the_newest_valid() {
    let repo = Repo::sample();
    let valid = repo.checkpoint("task-sync", "good");
    repo.write("planning/sprint.config.json", "{ broken");
    let broken: Vec<String> = (0..3)
        .map(|i| repo.checkpoint("task-sync", &format!("bad {i}")))
        .collect();
    let out = repo
        .lifeline()
        .args(["checkpoint", "prune", "--keep-last", "1"])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    repo.lifeline()
        .args(["checkpoint", "prune", "--yes"])
        .assert()
        .code(2);
    let out = repo
        .lifeline()
        .args(["checkpoint", "prune", "--keep-last", "1", "--dry-run"])
        .assert()
        .code(0);
    assert!(
        stdout(&out).ends_with("2 kept, 2 to remove (dry run: nothing removed)\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(listed_ids(&repo).len(), 4);
    let out = repo
        .lifeline()
        .args([
            "checkpoint",
            "prune",
            "--keep-last",
            "1",
            "--yes",
            "--format",
            "json",
        ])
        .assert()
        .code(0);
    let pruned: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(pruned["removed"].as_array().unwrap().len(), 2);
    let left: BTreeSet<String> = listed_ids(&repo).into_iter().collect();
    assert_eq!(left, [valid, broken[2].clone()].into_iter().collect());
    repo.lifeline()
        .args(["checkpoint", "verify", "--all"])
        .assert()
        .code(0);
}

/// A bare origin, clone A pushes, clone B fetches and reads the files back.
#[test]
fn push_and_fetch_carry_checkpoints_between_clones() {
    let first = Repo::sample();
    let origin = Repo::bare_dir();
    first.git(&["init", "-q", "--bare", origin.path().to_str().unwrap()]);
    first.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    first.git(&["push", "-q", "origin", "main"]);
    let pushed_now = stdout(
        &first
            .lifeline()
            .args([
                "checkpoint",
                "create",
                "--type",
                "task-sync",
                "--operation",
                "pushed",
                "--push",
                "--quiet",
            ])
            .assert()
            .code(0),
    )
    .trim()
    .to_string();
    let later = first.checkpoint("manual", "pushed later");
    let out = first
        .lifeline()
        .args(["checkpoint", "push"])
        .assert()
        .code(0);
    assert_eq!(
        stdout(&out),
        format!("pushed 1 checkpoint to origin (1 already there)\n  {later}\n")
    );

    let second = Repo::bare_dir();
    let clone_dir = second.path().join("clone");
    second.git(&[
        "clone",
        "-q",
        origin.path().to_str().unwrap(),
        clone_dir.to_str().unwrap(),
    ]);
    let clone = |args: &[&str]| {
        let mut cmd = second.lifeline();
        cmd.current_dir(&clone_dir).args(args);
        cmd
    };
    assert_eq!(
        stdout(&clone(&["checkpoint", "list"]).assert().code(0)),
        "no checkpoints\n"
    );
    let out = clone(&["checkpoint", "fetch", "--format", "json"])
        .assert()
        .code(0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["transferred"].as_array().unwrap().len(), 2);
    clone(&["checkpoint", "verify", "--all"]).assert().code(0);
    let out = clone(&["checkpoint", "fetch"]).assert().code(0);
    assert_eq!(
        stdout(&out),
        "fetched 0 checkpoints from origin (2 already there)\n"
    );

    let ws = Workspace::discover(&clone_dir, None, None).unwrap();
    let store = checkpoint::open(&ws).unwrap();
    let id = checkpoint::resolve(store.as_ref(), "task-sync").unwrap();
    assert_eq!(id.as_str(), pushed_now);
    let m = store.manifest(&id).unwrap();
    let files = checkpoint::read_files(store.as_ref(), &m).unwrap();
    assert_eq!(files.len(), 5);
    for (entry, bytes) in files {
        assert_eq!(
            bytes,
            std::fs::read(first.join(&entry.path)).unwrap(),
            "{}",
            entry.path
        );
    }
}

#[test]
fn push_to_a_missing_remote_is_exit_2_with_help() {
    let repo = Repo::sample();
    repo.checkpoint("manual", "x");
    let out = repo
        .lifeline()
        .args(["checkpoint", "push", "--remote", "nowhere"])
        .assert()
        .code(2);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: could not push to `nowhere`"),
        "{err}"
    );
    assert!(err.contains("help: check that the remote exists"), "{err}");
}

#[test]
fn unchanged_files_are_reused_from_the_stat_cache_and_changes_are_seen() {
    let repo = Repo::sample();
    let first = repo.checkpoint("manual", "one");
    // The cache as a create two seconds later would leave it, with a
    // warning count no validator gave: the manifest shows what was reused.
    let files = [
        "planning/TASK.md",
        "planning/sprint.config.json",
        ".github/labels.yml",
    ];
    repo.forge_stat_cache(&first, &files, |path, entry| {
        if path == "planning/TASK.md" {
            entry["warnings"] = 41.into();
        }
    });
    let second = repo.checkpoint("manual", "two");
    repo.write("planning/sprint.config.json", "{ broken");
    let third = repo.checkpoint("manual", "three");
    let ws = workspace(&repo);
    let store = checkpoint::open(&ws).unwrap();
    let m = |id: &str| store.manifest(&id.parse().unwrap()).unwrap();
    let task = |id: &str| {
        m(id)
            .files
            .into_iter()
            .find(|f| f.path == "planning/TASK.md")
            .unwrap()
    };
    assert_eq!(task(&second).warnings, 41, "reused from the cache");
    assert_eq!(task(&second).sha256, task(&first).sha256);
    let without_task = |id: &str| {
        let mut files = m(id).files;
        files.retain(|f| f.path != "planning/TASK.md");
        files
    };
    assert_eq!(without_task(&first), without_task(&second));
    assert!(m(&second).valid);
    // The rewritten file is read again, whatever the cache says.
    assert!(!m(&third).valid);
    assert_eq!(
        checkpoint::read_file(store.as_ref(), &m(&third), "planning/sprint.config.json").unwrap(),
        b"{ broken"
    );
    repo.lifeline()
        .args(["checkpoint", "verify", "--all"])
        .assert()
        .code(0);
}

#[test]
fn every_subcommand_documents_examples_and_exit_codes() {
    let repo = Repo::sample();
    for sub in ["create", "list", "show", "verify", "prune", "push", "fetch"] {
        let out = repo
            .lifeline()
            .args(["checkpoint", sub, "--help"])
            .assert()
            .code(0);
        let text = stdout(&out);
        assert!(
            text.contains("Examples:") && text.contains("Exit codes:"),
            "{sub}: {text}"
        );
    }
}
