//! Hostile checkpoints: refs crafted with git plumbing (hash-object,
//! mktree, commit-tree, update-ref) in a bare "origin", brought in by
//! `checkpoint fetch`. Anyone who can push can do this, so a checkpoint is
//! data: each case asserts that nothing outside the paths a restore may
//! touch changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Repo, stderr, stdout};

/// The protected set of these cases: TASK.md (validated) and the sprint
/// archives (any file).
const CONFIG: &str = r#"[[protect]]
path = "planning/TASK.md"
validator = "task-md"

[[protect]]
path = "docs/sprint-archives/**"
"#;

/// The victim's clone and the bare origin the attacker pushes to.
struct Setup {
    victim: Repo,
    origin: tempfile::TempDir,
}

fn setup() -> Setup {
    let victim = Repo::sample();
    victim.write("lifeline.toml", CONFIG);
    victim.git(&["add", "lifeline.toml"]);
    victim.git(&["commit", "-q", "-m", "lifeline config"]);
    let origin = tempfile::tempdir().unwrap();
    git_in(origin.path(), &["init", "-q", "--bare"], None, &[]);
    let url = origin.path().to_str().unwrap().to_string();
    victim.git(&["remote", "add", "origin", &url]);
    victim.git(&["push", "-q", "origin", "main"]);
    Setup { victim, origin }
}

fn git_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Mallory")
        .env("GIT_AUTHOR_EMAIL", "m@example.com")
        .env("GIT_COMMITTER_NAME", "Mallory")
        .env("GIT_COMMITTER_EMAIL", "m@example.com")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("git runs");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            input.write_all(bytes).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// One file of a crafted checkpoint: its path in the tree and manifest,
/// its bytes, the mode the manifest claims and the tree mode.
struct File {
    path: &'static str,
    bytes: Vec<u8>,
    manifest_mode: &'static str,
    tree_mode: &'static str,
}

fn file(path: &'static str, bytes: &[u8]) -> File {
    File {
        path,
        bytes: bytes.to_vec(),
        manifest_mode: "0644",
        tree_mode: "100644",
    }
}

/// A manifest for `files`, consistent with them.
fn manifest(id: &str, created: &str, files: &[File]) -> Value {
    let kind = id.rsplitn(3, '-').nth(2).unwrap();
    let mut entries: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "path": f.path,
                "sha256": hex::encode(Sha256::digest(&f.bytes)),
                "size": f.bytes.len(),
                "mode": f.manifest_mode,
                "validator": "none",
                "valid": true,
                "errors": 0,
                "warnings": 0,
            })
        })
        .collect();
    entries.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    json!({
        "schema": 1,
        "id": id,
        "type": kind,
        "operation": "hostile",
        "created_at": created,
        "completed_at": created,
        "actor": "user:mallory",
        "valid": true,
        "files": entries,
        "absent": [],
        "lifeline_version": "0.1.0",
    })
}

/// The summary lifeline writes in the commit message, from a manifest.
fn summary_of(m: &Value) -> Value {
    json!({
        "id": m["id"],
        "type": m["type"],
        "operation": m["operation"],
        "created_at": m["created_at"],
        "actor": m["actor"],
        "files": m["files"].as_array().unwrap().len(),
        "absent": m["absent"].as_array().unwrap().len(),
        "valid": m["valid"],
    })
}

/// Writes a checkpoint ref into the bare origin with plumbing: `files` in
/// the tree, `manifest` as manifest.json, `summary` in the message.
fn craft(origin: &Path, manifest: &Value, summary: &Value, files: &[File]) -> String {
    craft_with_parent(origin, manifest, summary, files, None)
}

/// [`craft`], with a parent commit (lifeline's checkpoint commits have
/// none, so a diff against a parent could hide files from a tree check).
fn craft_with_parent(
    origin: &Path,
    manifest: &Value,
    summary: &Value,
    files: &[File],
    parent: Option<&str>,
) -> String {
    let id = manifest["id"].as_str().unwrap().to_string();
    let mut json_bytes = serde_json::to_vec_pretty(manifest).unwrap();
    json_bytes.push(b'\n');
    let mut entries: Vec<(Vec<String>, String, String)> = files
        .iter()
        .map(|f| {
            let oid = git_in(
                origin,
                &["hash-object", "-w", "--stdin"],
                Some(&f.bytes),
                &[],
            );
            let parts = f.path.split('/').map(str::to_string).collect();
            (parts, f.tree_mode.to_string(), oid)
        })
        .collect();
    let oid = git_in(
        origin,
        &["hash-object", "-w", "--stdin"],
        Some(&json_bytes),
        &[],
    );
    entries.push((vec!["manifest.json".into()], "100644".into(), oid));
    let tree = mktree(origin, &entries);
    let message = format!("lifeline checkpoint {id}\n\n{summary}\n");
    let secs = jiff::Timestamp::now().as_second().to_string();
    let date = format!("{secs} +0000");
    let mut args = vec!["commit-tree", tree.as_str(), "-m", message.as_str()];
    if let Some(parent) = parent {
        args.extend(["-p", parent]);
    }
    let commit = git_in(
        origin,
        &args,
        None,
        &[("GIT_COMMITTER_DATE", &date), ("GIT_AUTHOR_DATE", &date)],
    );
    git_in(
        origin,
        &[
            "update-ref",
            &format!("refs/lifeline/checkpoints/{id}"),
            &commit,
        ],
        None,
        &[],
    );
    id
}

/// Builds nested trees bottom-up with `git mktree`.
fn mktree(origin: &Path, entries: &[(Vec<String>, String, String)]) -> String {
    let mut here: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut below: BTreeMap<String, Vec<(Vec<String>, String, String)>> = BTreeMap::new();
    for (parts, mode, oid) in entries {
        if parts.len() == 1 {
            here.insert(parts[0].clone(), (mode.clone(), oid.clone()));
        } else {
            below.entry(parts[0].clone()).or_default().push((
                parts[1..].to_vec(),
                mode.clone(),
                oid.clone(),
            ));
        }
    }
    for (dir, children) in below {
        let oid = mktree(origin, &children);
        here.insert(dir, ("040000".into(), oid));
    }
    let mut input = Vec::new();
    for (name, (mode, oid)) in here {
        let kind = if mode == "040000" { "tree" } else { "blob" };
        input.extend_from_slice(format!("{mode} {kind} {oid}\t{name}").as_bytes());
        input.push(0);
    }
    git_in(origin, &["mktree", "-z"], Some(&input), &[])
}

/// Every file and symlink under `root`, `.git` included, with its bytes
/// and mode — except what lifeline may legitimately change while it reads
/// checkpoints: the object database, refs, its own caches in `.git/lifeline`
/// and its audit log.
fn snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let skip = [
        ".git/objects",
        ".git/refs",
        ".git/logs",
        ".git/lifeline",
        ".git/packed-refs",
        ".git/FETCH_HEAD",
        ".git/index",
        "docs/audit",
    ];
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if skip.iter().any(|s| rel.starts_with(s)) || entry.file_type().is_dir() {
            continue;
        }
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        let bytes = if meta.file_type().is_symlink() {
            std::fs::read_link(entry.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
                .into_bytes()
        } else {
            std::fs::read(entry.path()).unwrap()
        };
        out.insert(rel, (bytes, meta.permissions().mode()));
    }
    out
}

/// Asserts that only `allowed` paths differ between two snapshots.
fn assert_only_changed(
    before: &BTreeMap<String, (Vec<u8>, u32)>,
    after: &BTreeMap<String, (Vec<u8>, u32)>,
    allowed: &[&str],
) {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        if before.get(key) != after.get(key) {
            assert!(
                allowed.contains(&key.as_str()),
                "`{key}` changed, and a restore may not touch it"
            );
        }
    }
}

fn fetch(victim: &Repo) {
    victim
        .lifeline()
        .args(["checkpoint", "fetch", "--remote", "origin"])
        .assert()
        .code(0);
}

/// A manifest naming a path in `.git/`, lifeline's records, or outside the
/// root is damaged: verify says so (exit 1), latest and latest-valid never
/// pick it, restore refuses it whole, and nothing changes.
#[test]
fn a_pushed_ref_naming_git_records_or_outside_paths_is_refused_whole() {
    let s = setup();
    let good = s.victim.checkpoint("manual", "known good");
    let hostile_paths = [
        ".git/hooks/post-checkout",
        "docs/sprint-archives/.git/hooks/pre-commit",
        "docs/audit/audit-2026-11.jsonl",
        "docs/incidents/INC-20261123T000000Z-aaaa.md",
        ".lifeline/store/checkpoints/x.json",
        "../lifeline-hostile-escape",
    ];
    let mut ids = Vec::new();
    for (i, path) in hostile_paths.iter().enumerate() {
        let id = format!("manual-2099010{}T000000Z-bad{i}", i + 1);
        let files = [
            file("docs/sprint-archives/README.md", b"owned\n"),
            File {
                tree_mode: "100755",
                manifest_mode: "0755",
                ..file(path, b"#!/bin/sh\ntouch /tmp/pwned\n")
            },
        ];
        let m = manifest(&id, "2099-01-01T00:00:00Z", &files);
        // `..` cannot be a tree entry: that one's tree holds a plain name.
        let tree_files: Vec<File> = files
            .into_iter()
            .map(|f| {
                if f.path.starts_with("..") {
                    File {
                        path: "escape",
                        ..f
                    }
                } else {
                    f
                }
            })
            .collect();
        ids.push(craft(s.origin.path(), &m, &summary_of(&m), &tree_files));
    }
    fetch(&s.victim);
    let before = snapshot(s.victim.path());

    let verify = s
        .victim
        .lifeline()
        .args(["checkpoint", "verify", "--all"])
        .assert()
        .code(1);
    let report = stdout(&verify) + &stderr(&verify);
    for id in &ids {
        assert!(report.contains(id.as_str()), "{id} not reported:\n{report}");
    }
    for spec in ["latest", "latest-valid"] {
        let out = s
            .victim
            .lifeline()
            .args(["restore", spec, "--dry-run"])
            .assert()
            .code(0);
        assert!(stdout(&out).contains(&good), "{spec} did not pick {good}");
    }
    for id in &ids {
        let out = s
            .victim
            .lifeline()
            .args(["restore", id, "--yes"])
            .assert()
            .code(1);
        assert!(stdout(&out).contains("refused"), "{}", stdout(&out));
    }
    assert_only_changed(&before, &snapshot(s.victim.path()), &[]);
    assert!(!s.victim.path().join("../lifeline-hostile-escape").exists());
}

/// A tracked file outside the protected set is left alone, and so is a
/// path the configuration stopped protecting: the plan lists both as
/// skipped, and only protected files change.
#[test]
fn paths_outside_the_protected_set_are_skipped_and_said_so() {
    let s = setup();
    s.victim.write("README.md", "the victim's readme\n");
    s.victim.git(&["add", "README.md"]);
    s.victim.git(&["commit", "-q", "-m", "readme"]);
    let id = "manual-20261123T000000Z-0a01";
    let files = [
        file("README.md", b"replaced by the attacker\n"),
        file("lifeline.toml", b"[[protect]]\npath = \"**\"\n"),
        file("docs/sprint-archives/README.md", b"archived by the ref\n"),
    ];
    let m = manifest(id, "2026-11-23T00:00:00Z", &files);
    craft(s.origin.path(), &m, &summary_of(&m), &files);
    fetch(&s.victim);
    let before = snapshot(s.victim.path());
    let out = s
        .victim
        .lifeline()
        .args(["restore", id, "--yes", "--no-validate"])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(text.contains("skipped    README.md"), "{text}");
    assert!(text.contains("skipped    lifeline.toml"), "{text}");
    assert_eq!(s.victim.read("README.md"), "the victim's readme\n");
    assert_eq!(
        s.victim.read("docs/sprint-archives/README.md"),
        "archived by the ref\n"
    );
    assert_only_changed(
        &before,
        &snapshot(s.victim.path()),
        &[
            "docs/sprint-archives/README.md",
            // The ref did not hold it: a protected file added since goes.
            "docs/sprint-archives/Sprint-06-2025/TASK-v1.0.0.md",
            "planning/TASK.md",
        ],
    );
}

/// Modes from a manifest are reduced to what git stores: whatever the
/// manifest claims, a restored file is 0644 or 0755 less the umask.
#[test]
fn modes_from_a_manifest_are_reduced_to_what_git_stores() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup();
    let id = "manual-20261123T000000Z-0de0";
    let files = [
        File {
            manifest_mode: "6777",
            tree_mode: "100755",
            ..file("docs/sprint-archives/setuid.sh", b"#!/bin/sh\n")
        },
        File {
            manifest_mode: "1666",
            ..file("docs/sprint-archives/world.md", b"w\n")
        },
    ];
    let m = manifest(id, "2026-11-23T00:00:00Z", &files);
    craft(s.origin.path(), &m, &summary_of(&m), &files);
    fetch(&s.victim);
    s.victim
        .lifeline()
        .args(["restore", id, "--yes", "--no-validate"])
        .assert()
        .code(0);
    let mode = |p: &str| {
        std::fs::metadata(s.victim.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("docs/sprint-archives/setuid.sh"), 0o755);
    assert_eq!(mode("docs/sprint-archives/world.md"), 0o644);
}

/// The commit message is never believed: a ref whose message summary,
/// tree or manifest disagree is damaged, never picked by `latest-valid`,
/// and prune keeps the verified checkpoint rather than the damaged one.
#[test]
fn a_ref_whose_message_tree_and_manifest_disagree_is_damaged() {
    let s = setup();
    let good = s.victim.checkpoint("manual", "known good");
    // The message claims a valid checkpoint; the manifest says invalid.
    let files = [file("docs/sprint-archives/README.md", b"lies\n")];
    let mut m = manifest(
        "manual-20991231T000000Z-1e55",
        "2099-12-31T00:00:00Z",
        &files,
    );
    let mut claimed = summary_of(&m);
    m["valid"] = false.into();
    claimed["valid"] = true.into();
    let lying = craft(s.origin.path(), &m, &claimed, &files);
    // The tree holds a file the manifest does not list.
    let m = manifest(
        "manual-20991231T000000Z-7eee",
        "2099-12-31T00:00:00Z",
        &files[..1],
    );
    let extra = [
        file("docs/sprint-archives/README.md", b"lies\n"),
        file("docs/sprint-archives/extra.md", b"hidden\n"),
    ];
    let tree = craft(s.origin.path(), &m, &summary_of(&m), &extra);
    // A consistent tree, but a commit with a parent.
    let parent = git_in(
        s.origin.path(),
        &["rev-parse", &format!("refs/lifeline/checkpoints/{tree}")],
        None,
        &[],
    );
    let m = manifest(
        "manual-20991231T000000Z-9a7e",
        "2099-12-31T00:00:00Z",
        &files,
    );
    let child = craft_with_parent(s.origin.path(), &m, &summary_of(&m), &files, Some(&parent));
    fetch(&s.victim);

    let list = s
        .victim
        .lifeline()
        .args(["checkpoint", "list"])
        .assert()
        .code(0);
    let warnings = stderr(&list);
    assert!(
        warnings.contains(&lying) && warnings.contains("disagrees"),
        "{warnings}"
    );
    assert!(
        warnings.contains(&tree) && warnings.contains("does not list"),
        "{warnings}"
    );
    assert!(
        warnings.contains(&child) && warnings.contains("has a parent"),
        "{warnings}"
    );
    assert!(!stdout(&list).contains(&lying) && !stdout(&list).contains(&tree));
    let out = s
        .victim
        .lifeline()
        .args(["restore", "latest-valid", "--dry-run"])
        .assert()
        .code(0);
    assert!(stdout(&out).contains(&good), "{}", stdout(&out));
    for id in [&lying, &tree, &child] {
        let out = s
            .victim
            .lifeline()
            .args(["restore", id, "--yes", "--no-validate"])
            .assert()
            .code(1);
        assert!(stdout(&out).contains("is damaged"), "{}", stdout(&out));
        // Its files rehash fine; verify still reports the disagreement.
        s.victim
            .lifeline()
            .args(["checkpoint", "verify", id])
            .assert()
            .code(1);
    }
    s.victim
        .lifeline()
        .args(["checkpoint", "prune", "--keep-last", "1", "--yes"])
        .assert()
        .code(0);
    let refs = s
        .victim
        .git(&["for-each-ref", "refs/lifeline/checkpoints/"]);
    assert!(
        refs.contains(&good),
        "prune removed the verified checkpoint:\n{refs}"
    );
}

/// A checkpoint dated in the future is ordered by when lifeline first
/// saw it: a checkpoint taken after that wins `latest`, and `list` says
/// why.
#[test]
fn a_checkpoint_dated_in_the_future_does_not_win_latest() {
    let s = setup();
    let files = [file("docs/sprint-archives/README.md", b"from the future\n")];
    let m = manifest(
        "manual-20991231T000000Z-f00d",
        "2099-12-31T00:00:00Z",
        &files,
    );
    let future = craft(s.origin.path(), &m, &summary_of(&m), &files);
    fetch(&s.victim);
    let list = s
        .victim
        .lifeline()
        .args(["checkpoint", "list"])
        .assert()
        .code(0);
    assert!(stderr(&list).contains("first seen"), "{}", stderr(&list));
    let mine = s.victim.checkpoint("manual", "after the fetch");
    for spec in ["latest", "latest-valid"] {
        let out = s
            .victim
            .lifeline()
            .args(["restore", spec, "--dry-run"])
            .assert()
            .code(0);
        let text = stdout(&out);
        assert!(
            text.contains(&mine) && !text.contains(&future),
            "{spec}: {text}"
        );
    }
}

const KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";

/// With a signing key configured, an unsigned checkpoint from the remote
/// is refused unless `--allow-unsigned`; local ones are signed and restore.
#[test]
fn with_a_key_unsigned_remote_checkpoints_need_allow_unsigned() {
    let s = setup();
    let files = [file("docs/sprint-archives/README.md", b"unsigned\n")];
    let m = manifest(
        "manual-20261123T000000Z-5167",
        "2026-11-23T00:00:00Z",
        &files,
    );
    let unsigned = craft(s.origin.path(), &m, &summary_of(&m), &files);
    fetch(&s.victim);
    let before = snapshot(s.victim.path());
    let out = s
        .victim
        .lifeline()
        .env("LIFELINE_CHECKPOINT_KEY", KEY)
        .args(["restore", &unsigned, "--yes", "--no-validate"])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("--allow-unsigned"),
        "{}",
        stdout(&out)
    );
    assert_only_changed(&before, &snapshot(s.victim.path()), &[]);

    // A checkpoint taken here is signed, and restores.
    let out = s
        .victim
        .lifeline()
        .env("LIFELINE_CHECKPOINT_KEY", KEY)
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            &format!("signed {KEY}"),
            "--quiet",
        ])
        .assert()
        .code(0);
    let signed = stdout(&out).trim().to_string();
    let message = s.victim.git(&[
        "log",
        "-1",
        "--format=%B",
        &format!("refs/lifeline/checkpoints/{signed}"),
    ]);
    assert!(message.contains("signature: ed25519 "), "{message}");
    // The key never reaches the ref (which goes to the remote) or the log.
    assert!(!message.contains(KEY), "{message}");
    for entry in std::fs::read_dir(s.victim.join("docs/audit")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(KEY), "the key is in the audit log");
    }
    s.victim
        .write("docs/sprint-archives/README.md", "changed\n");
    s.victim
        .lifeline()
        .env("LIFELINE_CHECKPOINT_KEY", KEY)
        .args(["restore", &signed, "--yes"])
        .assert()
        .code(0);

    s.victim
        .lifeline()
        .env("LIFELINE_CHECKPOINT_KEY", KEY)
        .args([
            "restore",
            &unsigned,
            "--yes",
            "--no-validate",
            "--allow-unsigned",
        ])
        .assert()
        .code(0);
    assert_eq!(
        s.victim.read("docs/sprint-archives/README.md"),
        "unsigned\n"
    );
}

/// A checkpoint signed with another key is refused too, and a seal that
/// does not match its manifest makes the ref damaged.
#[test]
fn with_a_key_foreign_signed_checkpoints_are_refused() {
    let s = setup();
    let other = "0202020202020202020202020202020202020202020202020202020202020202";
    // Sign one in a scratch clone with another key and push it.
    let scratch = Repo::sample();
    scratch.write("lifeline.toml", CONFIG);
    scratch.write("docs/sprint-archives/README.md", "foreign\n");
    let out = scratch
        .lifeline()
        .env("LIFELINE_CHECKPOINT_KEY", other)
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "foreign",
            "--quiet",
        ])
        .assert()
        .code(0);
    let foreign = stdout(&out).trim().to_string();
    let url = s.origin.path().to_str().unwrap().to_string();
    scratch.git(&[
        "push",
        "-q",
        &url,
        "refs/lifeline/checkpoints/*:refs/lifeline/checkpoints/*",
    ]);
    fetch(&s.victim);
    let before = snapshot(s.victim.path());
    let out = s
        .victim
        .lifeline()
        .env("LIFELINE_CHECKPOINT_KEY", KEY)
        .args(["restore", &foreign, "--yes", "--no-validate"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("another key"), "{}", stdout(&out));
    assert_only_changed(&before, &snapshot(s.victim.path()), &[]);
}

/// `undo` after a restore removes every file the restore created and
/// brings back every file it deleted, byte for byte.
#[test]
fn undo_removes_what_a_restore_created_and_brings_back_what_it_deleted() {
    let s = setup();
    s.victim.write("docs/sprint-archives/old.md", "old\n");
    let checkpoint = s.victim.checkpoint("manual", "with old.md");
    std::fs::remove_file(s.victim.join("docs/sprint-archives/old.md")).unwrap();
    s.victim
        .write("docs/sprint-archives/new.md", b"new\x00\xffbytes\n");
    let before = snapshot(s.victim.path());
    s.victim
        .lifeline()
        .args(["restore", &checkpoint, "--yes"])
        .assert()
        .code(0);
    assert!(s.victim.join("docs/sprint-archives/old.md").exists());
    assert!(!s.victim.join("docs/sprint-archives/new.md").exists());
    s.victim.lifeline().args(["undo", "--yes"]).assert().code(0);
    assert_only_changed(&before, &snapshot(s.victim.path()), &[]);
}

/// lifeline's records under a `docs/**` glob are neither captured nor
/// rolled back, and `config show` says so.
#[test]
fn a_docs_glob_does_not_roll_back_the_audit_log_or_incidents() {
    let s = setup();
    s.victim
        .write("lifeline.toml", "[[protect]]\npath = \"docs/**\"\n");
    s.victim
        .write("docs/incidents/INC-20261123T000000Z-aaaa.md", "incident\n");
    let id = s.victim.checkpoint("manual", "docs");
    let show = s
        .victim
        .lifeline()
        .args(["checkpoint", "show", &id, "--format", "json"])
        .assert()
        .code(0);
    let manifest: Value = serde_json::from_str(&stdout(&show)).unwrap();
    let paths: Vec<&str> = ["files", "absent"]
        .iter()
        .flat_map(|k| manifest[*k].as_array().unwrap())
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"docs/sprint-archives/README.md"),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .all(|p| !p.starts_with("docs/audit/") && !p.starts_with("docs/incidents/")),
        "{paths:?}"
    );
    s.victim
        .write("docs/incidents/INC-20261123T000000Z-bbbb.md", "second\n");
    let audit_before = std::fs::read_dir(s.victim.join("docs/audit"))
        .unwrap()
        .count();
    s.victim
        .lifeline()
        .args(["restore", &id, "--yes"])
        .assert()
        .code(0);
    assert!(
        s.victim
            .join("docs/incidents/INC-20261123T000000Z-bbbb.md")
            .exists()
    );
    assert_eq!(
        std::fs::read_dir(s.victim.join("docs/audit"))
            .unwrap()
            .count(),
        audit_before
    );
    let show = s
        .victim
        .lifeline()
        .args(["config", "show"])
        .assert()
        .code(0);
    assert!(
        stdout(&show).contains("never protected"),
        "{}",
        stdout(&show)
    );
    assert!(
        stdout(&show).contains("docs/audit/, docs/incidents/"),
        "{}",
        stdout(&show)
    );
}

/// A protected file whose name is not UTF-8 or holds a backslash is a
/// finding for that file alone: the rest is captured and restored, and the
/// odd file is never deleted as "absent".
#[test]
fn odd_names_are_findings_for_that_file_alone() {
    use std::os::unix::ffi::OsStrExt;
    let s = setup();
    let odd: PathBuf = s
        .victim
        .join("docs/sprint-archives")
        .join(std::ffi::OsStr::from_bytes(b"bad\xff.md"));
    std::fs::write(&odd, "odd\n").unwrap();
    s.victim
        .write("docs/sprint-archives/back\\slash.md", "slash\n");
    let out = s
        .victim
        .lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "odd",
        ])
        .assert()
        .code(0);
    let warnings = stderr(&out);
    assert!(
        warnings.contains("bad\\xff.md") && warnings.contains("back\\\\slash.md"),
        "{warnings}"
    );
    let id = stdout(&out).lines().next().unwrap().trim().to_string();
    s.victim
        .write("docs/sprint-archives/README.md", "changed\n");
    s.victim
        .lifeline()
        .args(["restore", &id, "--yes"])
        .assert()
        .code(0);
    assert_ne!(s.victim.read("docs/sprint-archives/README.md"), "changed\n");
    assert_eq!(std::fs::read(&odd).unwrap(), b"odd\n");
    assert_eq!(
        s.victim.read("docs/sprint-archives/back\\slash.md"),
        "slash\n"
    );
}

/// A FIFO or a symlink at a literal protected path is a finding for that
/// path alone: capture does not hang or follow it, and restore neither
/// reads nor deletes it.
#[test]
fn a_fifo_or_symlink_at_a_protected_path_is_a_finding_not_a_hang() {
    let s = setup();
    s.victim.write(
        "lifeline.toml",
        format!("{CONFIG}\n[[protect]]\npath = \"planning/pipe\"\n\n[[protect]]\npath = \"planning/link\"\n"),
    );
    let status = Command::new("mkfifo")
        .arg(s.victim.join("planning/pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink("/etc/passwd", s.victim.join("planning/link")).unwrap();
    let out = s
        .victim
        .lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "special",
        ])
        .assert()
        .code(0);
    let warnings = stderr(&out);
    assert!(
        warnings.contains("planning/pipe") && warnings.contains("FIFO"),
        "{warnings}"
    );
    assert!(
        warnings.contains("`planning/link` was not captured"),
        "{warnings}"
    );
    let id = stdout(&out).lines().next().unwrap().trim().to_string();
    let show = s
        .victim
        .lifeline()
        .args(["checkpoint", "show", &id, "--format", "json"])
        .assert()
        .code(0);
    assert!(!stdout(&show).contains("root:"), "the link was followed");
    s.victim
        .write("docs/sprint-archives/README.md", "changed\n");
    s.victim
        .lifeline()
        .args(["restore", &id, "--yes"])
        .assert()
        .code(0);
    assert_ne!(s.victim.read("docs/sprint-archives/README.md"), "changed\n");
    let pipe = std::fs::symlink_metadata(s.victim.join("planning/pipe")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&pipe.file_type()));
    assert!(
        std::fs::symlink_metadata(s.victim.join("planning/link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// A restore whose files do not validate undoes itself: every file it
/// created is removed and every file it deleted is back, byte for byte.
#[test]
fn a_restore_that_undoes_itself_leaves_no_file_it_created() {
    let s = setup();
    let good_task = s.victim.read("planning/TASK.md");
    s.victim.corrupt("TASK.conflict.md", "planning/TASK.md");
    s.victim.write(
        "docs/sprint-archives/created.md",
        "only in the checkpoint\n",
    );
    std::fs::remove_file(s.victim.join("docs/sprint-archives/README.md")).unwrap();
    let bad = s.victim.checkpoint("manual", "invalid TASK.md");
    s.victim.write("planning/TASK.md", &good_task);
    std::fs::remove_file(s.victim.join("docs/sprint-archives/created.md")).unwrap();
    s.victim
        .git(&["checkout", "--", "docs/sprint-archives/README.md"]);
    let before = snapshot(s.victim.path());
    let out = s
        .victim
        .lifeline()
        .args(["restore", &bad, "--yes"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("restore undone"), "{}", stdout(&out));
    assert_only_changed(&before, &snapshot(s.victim.path()), &[]);
}

/// A symlinked directory inside the root (`docs/sprint-archives ->
/// ../.git/hooks`) can carry no write into `.git/`: the glob does not
/// follow it, and a checkpoint holding files below it is refused.
#[test]
fn a_symlinked_directory_inside_the_root_cannot_reach_git() {
    let s = setup();
    let id = s.victim.checkpoint("manual", "archives as a directory");
    std::fs::rename(
        s.victim.join("docs/sprint-archives"),
        s.victim.join("docs/moved"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../.git/hooks", s.victim.join("docs/sprint-archives")).unwrap();
    let before = snapshot(s.victim.path());
    let create = s
        .victim
        .lifeline()
        .args([
            "checkpoint",
            "create",
            "--type",
            "manual",
            "--operation",
            "linked",
            "--format",
            "json",
        ])
        .assert()
        .code(0);
    let created: Value = serde_json::from_str(&stdout(&create)).unwrap();
    let files = created["manifest"]["files"].as_array().unwrap();
    assert!(
        files.iter().all(|f| !f["path"]
            .as_str()
            .unwrap()
            .starts_with("docs/sprint-archives/")),
        "the glob followed the link into .git/hooks: {files:?}"
    );
    let out = s
        .victim
        .lifeline()
        .args(["restore", &id, "--yes"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("is a symlink"), "{}", stdout(&out));
    assert_only_changed(&before, &snapshot(s.victim.path()), &[]);
}
