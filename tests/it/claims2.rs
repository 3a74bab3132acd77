//! Claims of `docs/security.md` ("Who can influence lifeline", the
//! checkpoint and restore sections, the file system, reading git) that had
//! no test able to fail: each test names the sentence it holds and runs the
//! real binary in a real repository.

use crate::common::{Repo, stderr, stdout};

/// "Checkpoints and restore": `checkpoint create` refuses before making a
/// checkpoint whose audit entry could not be written, as `restore` does,
/// so a failed create never leaves a checkpoint behind unannounced.
#[test]
fn a_create_whose_entry_cannot_be_written_makes_no_checkpoint() {
    let repo = Repo::sample();
    let _ = std::fs::remove_dir_all(repo.join("docs/audit"));
    repo.write("docs/audit", "not a directory");
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
        .code(2);
    assert!(stderr(&out).contains("docs/audit"), "{}", stderr(&out));
    assert_eq!(
        repo.git(&["for-each-ref", "refs/lifeline/"]),
        "",
        "a checkpoint was made: {}",
        stdout(&out)
    );
}

/// "Checkpoints and restore": the keys and the GitHub token are redacted
/// from the operation text a checkpoint carries (its commit message and
/// manifest, on the remote too) and from its audit entry, whatever the
/// values look like.
#[test]
fn secrets_in_the_operation_text_reach_neither_the_ref_nor_the_audit_entry() {
    let repo = Repo::sample();
    let origin = tempfile::tempdir().unwrap();
    git_in(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    repo.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    let key = "c3".repeat(32);
    let secrets = [
        ("GITHUB_TOKEN", "plain-token-value-1"),
        ("GH_TOKEN", "plain-token-value-2"),
        ("LIFELINE_CHECKPOINT_KEY", key.as_str()),
    ];
    let operation: String = secrets.iter().map(|(_, v)| format!("{v} ")).collect();
    let mut cmd = repo.lifeline();
    for (k, v) in secrets {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["checkpoint", "create", "--type", "manual", "--quiet"])
        .args(["--operation", &operation, "--push"])
        .assert()
        .code(0);
    let id = stdout(&out).trim().to_string();
    let name = format!("refs/lifeline/checkpoints/{id}");
    let mut stored = git_in(origin.path(), &["log", "-1", "--format=%B", &name]);
    stored += &git_in(origin.path(), &["show", &format!("{name}:manifest.json")]);
    stored += &git_in(repo.path(), &["log", "-1", "--format=%B", &name]);
    for e in std::fs::read_dir(repo.join("docs/audit")).unwrap() {
        stored += &std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
    }
    assert!(stored.contains("[REDACTED]"), "{stored}");
    for (k, v) in secrets {
        assert!(!stored.contains(v), "{k}'s value was stored: {stored}");
    }
}

fn git_in(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// "The file system": `restore` refuses a plan whose target is a
/// directory before writing anything, so the other files it would have
/// put back stay as they are.
#[test]
fn a_directory_at_a_restore_target_refuses_the_plan_before_any_write() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before");
    repo.write("planning/sprint.config.json", "{}\n");
    std::fs::remove_file(repo.join("planning/TASK.md")).unwrap();
    std::fs::create_dir(repo.join("planning/TASK.md")).unwrap();
    let out = repo.lifeline().args(["restore", &id, "--yes"]).assert();
    assert_ne!(out.get_output().status.code(), Some(0));
    let err = crate::common::all_output(&out);
    assert!(
        err.contains("planning/TASK.md") && err.contains("directory"),
        "{err}"
    );
    assert_eq!(repo.read("planning/sprint.config.json"), "{}\n");
    assert!(repo.join("planning/TASK.md").is_dir());
}

/// "The file system": `lifeline.toml` is bounded at 1 MiB, a limit no
/// key raises: the error names the file and says to shrink it, not to
/// raise a key that does not exist.
#[test]
fn a_lifeline_toml_over_one_mib_is_refused_and_the_help_names_no_false_key() {
    let repo = Repo::sample();
    repo.write("lifeline.toml", "#".repeat((1 << 20) + 1));
    let out = repo.lifeline().args(["config", "show"]).assert().code(2);
    let err = stderr(&out);
    assert!(
        err.contains("lifeline.toml") && err.contains("1048576"),
        "{err}"
    );
    assert!(err.contains("shrink"), "{err}");
    assert!(!err.contains("[validate] max_file_size"), "{err}");
}

/// The environment of the entry `audit log` writes.
fn logged(repo: &Repo) -> serde_json::Value {
    let out = repo
        .lifeline()
        .args(["audit", "log", "--component", "c", "--operation", "o"])
        .assert()
        .code(0);
    logged_entry(repo, stdout(&out).trim())["environment"].clone()
}

/// What `audit log` starts when `git` is one that records being started
/// and fails (an entry without what git would have said, or an error).
fn started_by_audit_log(repo: &Repo) -> String {
    let no_git = crate::common::NoGit::new();
    let _ = repo
        .lifeline()
        .env("PATH", no_git.dir.path())
        .args(["audit", "log", "--component", "c", "--operation", "o"])
        .output()
        .unwrap();
    no_git.started()
}

/// "Reading git without starting it": a symbolic ref below HEAD,
/// `core.worktree`, and a config file over 1 MiB or not UTF-8, are left to
/// git, which answers as
/// it always does (the in-process reader never answers differently).
#[test]
fn a_symbolic_ref_below_head_and_an_odd_config_are_asked_of_git() {
    let repo = Repo::sample();
    repo.git(&["config", "user.name", "Ada"]);
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_string();

    repo.git(&["symbolic-ref", "refs/heads/alias", "refs/heads/main"]);
    repo.git(&["symbolic-ref", "HEAD", "refs/heads/alias"]);
    assert_eq!(logged(&repo)["git_commit"], head.as_str());
    let started = started_by_audit_log(&repo);
    assert!(started.contains("rev-parse"), "{started}");
    repo.git(&["symbolic-ref", "HEAD", "refs/heads/main"]);

    // core.worktree (here naming the work tree it already has).
    repo.git(&["config", "core.worktree", repo.path().to_str().unwrap()]);
    assert_eq!(logged(&repo)["git_commit"], head.as_str());
    let started = started_by_audit_log(&repo);
    assert!(started.contains("rev-parse"), "{started}");
    repo.git(&["config", "--unset", "core.worktree"]);

    let config = repo.join(".git/config");
    let plain = std::fs::read(&config).unwrap();
    let big = [
        plain.clone(),
        format!("# {}\n", "x".repeat(1 << 20)).into_bytes(),
    ]
    .concat();
    let latin1 = [plain.clone(), b"# caf\xe9\n".to_vec()].concat();
    for odd in [big, latin1] {
        std::fs::write(&config, &odd).unwrap();
        assert_eq!(logged(&repo)["actor"], "git:Ada");
        let started = started_by_audit_log(&repo);
        assert!(
            started.contains("user.name") || started.contains("rev-parse"),
            "{started}"
        );
    }
    std::fs::write(&config, &plain).unwrap();
    assert_eq!(started_by_audit_log(&repo), "", "git was started");
}

/// "Checkpoints and restore": a name that is not UTF-8 or holds a
/// backslash, a FIFO and a symlink under a protected glob are each a
/// finding for that path alone — named in the manifest's `skipped` list
/// and the audit entry's `not_captured` — and a restore of a checkpoint
/// taken before they existed deletes the new regular file but none of
/// them.
#[test]
fn what_is_not_captured_is_in_the_audit_entry_and_never_deleted_by_a_restore() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before");
    let dir = repo.join("docs/sprint-archives");
    std::fs::write(dir.join("new.md"), "new\n").unwrap();
    std::fs::write(dir.join("a\\b.md"), "odd\n").unwrap();
    let latin1 = dir.join(std::ffi::OsStr::from_bytes(b"caf\xe9.md"));
    std::fs::write(&latin1, "odd\n").unwrap();
    crate::common::mkfifo(&dir.join("pipe.md"));
    std::os::unix::fs::symlink("/etc/passwd", dir.join("link.md")).unwrap();
    let odd = ["a\\\\b.md", "caf\\xe9.md", "link.md", "pipe.md"];

    let created = repo.checkpoint("manual", "with odd names");
    let shown = stdout(
        &repo
            .lifeline()
            .args(["checkpoint", "show", &created, "--format", "json"])
            .assert()
            .code(0),
    );
    let manifest: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let skipped: Vec<&str> = manifest["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    let entry = logged_entry(&repo, &created);
    let not_captured: Vec<&str> = entry["details"]["not_captured"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let odd: Vec<String> = odd
        .iter()
        .map(|n| format!("docs/sprint-archives/{n}"))
        .collect();
    assert_eq!(skipped, odd);
    assert_eq!(not_captured, odd);
    assert_eq!(manifest["absent"], serde_json::json!([]));

    repo.lifeline()
        .args(["restore", &id, "--yes"])
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(0);
    assert!(!dir.join("new.md").exists(), "the new regular file stays");
    assert_eq!(std::fs::read(dir.join("a\\b.md")).unwrap(), b"odd\n");
    assert_eq!(std::fs::read(&latin1).unwrap(), b"odd\n");
    assert!(dir.join("link.md").is_symlink());
    let pipe = std::fs::symlink_metadata(dir.join("pipe.md")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&pipe.file_type()));
}

/// The audit entry whose details name `id`.
fn logged_entry(repo: &Repo, id: &str) -> serde_json::Value {
    let mut found = None;
    for e in std::fs::read_dir(repo.join("docs/audit")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
        for line in text.lines().filter(|l| l.contains(id)) {
            found = Some(serde_json::from_str::<serde_json::Value>(line).unwrap());
        }
    }
    found.expect("the entry")
}

/// "Checkpoints and restore": a ref whose tree gives a file another mode
/// than its manifest (executable, or a symlink entry over the same bytes)
/// is damaged: `verify` reports it, `restore` refuses it, `latest-valid`
/// passes it by.
#[test]
fn a_tree_mode_that_disagrees_with_the_manifest_makes_the_ref_damaged() {
    let repo = Repo::sample();
    let good = repo.checkpoint("manual", "good");
    for (i, mode) in ["100755", "120000"].into_iter().enumerate() {
        let id = repo.checkpoint("manual", &format!("to tamper {i}"));
        let name = format!("refs/lifeline/checkpoints/{id}");
        let index = repo.join(".git/tamper-index");
        let with_index = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .current_dir(repo.path())
                .env("GIT_INDEX_FILE", &index)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}");
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        with_index(&["read-tree", &name]);
        let blob = repo
            .git(&["rev-parse", &format!("{name}:planning/TASK.md")])
            .trim()
            .to_string();
        with_index(&[
            "update-index",
            "--cacheinfo",
            &format!("{mode},{blob},planning/TASK.md"),
        ]);
        let tree = with_index(&["write-tree"]);
        std::fs::remove_file(&index).unwrap();
        let message = repo.git(&["log", "-1", "--format=%B", &name]);
        let commit = repo
            .git(&["commit-tree", &tree, "-m", message.trim_end()])
            .trim()
            .to_string();
        repo.git(&["update-ref", &name, &commit]);

        let out = repo
            .lifeline()
            .args(["checkpoint", "verify", &id])
            .assert()
            .code(1);
        assert!(
            crate::common::all_output(&out).contains("mode"),
            "{mode}: {}",
            crate::common::all_output(&out)
        );
        repo.write("planning/TASK.md", "changed\n");
        let out = repo
            .lifeline()
            .args(["restore", &id, "--yes", "--no-validate"])
            .assert()
            .code(1);
        assert!(stdout(&out).contains("is damaged"), "{}", stdout(&out));
        assert_eq!(repo.read("planning/TASK.md"), "changed\n");
        let out = repo
            .lifeline()
            .args(["restore", "latest-valid", "--dry-run"])
            .assert()
            .code(0);
        assert!(stdout(&out).contains(&good), "{mode}: {}", stdout(&out));
        repo.git(&["checkout", "--", "planning/TASK.md"]);
    }
}

/// "Checkpoint and restore fast paths": with `refs/lifeline` or
/// `refs/lifeline/checkpoints` a symlink (git would follow it), `checkpoint
/// create` stops with exit 2 naming the link, and writes nothing through it.
#[test]
fn a_linked_ref_directory_stops_create_naming_the_link() {
    for link in ["refs/lifeline", "refs/lifeline/checkpoints"] {
        let repo = Repo::sample();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.join(".git/refs/lifeline")).unwrap();
        let at = repo.join(&format!(".git/{link}"));
        let _ = std::fs::remove_dir(&at);
        std::os::unix::fs::symlink(elsewhere.path(), &at).unwrap();
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
            .code(2);
        let err = stderr(&out);
        assert!(
            err.contains(link) && err.contains("symlink"),
            "{link}: {err}"
        );
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}

/// Makes `docs/audit` unusable (a file where the directory should be).
fn break_audit(repo: &Repo) {
    let _ = std::fs::remove_dir_all(repo.join("docs/audit"));
    repo.write("docs/audit", "not a directory");
}

/// "Checkpoints and restore", as for `create`: a guarded step, `prune`,
/// `push` and `fetch` whose entry cannot be written refuse before making,
/// removing or moving any checkpoint, so a command reported as failed
/// changed no checkpoint.
#[test]
fn checkpoint_changes_whose_entry_cannot_be_written_change_nothing() {
    let repo = Repo::sample();
    let origin = tempfile::tempdir().unwrap();
    git_in(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    repo.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    let first = repo.checkpoint("manual", "one");
    let second = repo.checkpoint("manual", "two");
    let other = Repo::sample();
    other.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    let theirs = other.checkpoint("manual", "theirs");
    other
        .lifeline()
        .args(["checkpoint", "push"])
        .assert()
        .code(0);
    let before = repo.git(&["for-each-ref", "refs/lifeline/"]);
    let origin_before = git_in(origin.path(), &["for-each-ref", "refs/lifeline/"]);
    assert!(origin_before.contains(&theirs) && before.contains(&first));

    break_audit(&repo);
    let attempts: [&[&str]; 4] = [
        &["run", "--", "true"],
        &["checkpoint", "prune", "--keep-last", "1", "--yes"],
        &["checkpoint", "push"],
        &["checkpoint", "fetch"],
    ];
    for args in attempts {
        let out = repo.lifeline().args(args).assert().code(2);
        assert!(
            stderr(&out).contains("docs/audit"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(
            repo.git(&["for-each-ref", "refs/lifeline/"]),
            before,
            "{args:?} changed the checkpoints"
        );
        assert_eq!(
            git_in(origin.path(), &["for-each-ref", "refs/lifeline/"]),
            origin_before,
            "{args:?} changed the remote's checkpoints"
        );
    }
    assert!(before.contains(&second));
}

/// "The file system": a component that is a regular file where a
/// directory belongs is refused by name, and the help says what is there
/// (not a symlink) and what to do.
#[test]
fn a_file_where_a_directory_belongs_is_named_with_help_that_fits() {
    let repo = Repo::sample();
    break_audit(&repo);
    let out = repo
        .lifeline()
        .args(["audit", "log", "--component", "c", "--operation", "o"])
        .assert()
        .code(2);
    let err = stderr(&out);
    assert!(
        err.contains("`docs/audit` exists and is a regular file"),
        "{err}"
    );
    assert!(err.contains("move `docs/audit` aside"), "{err}");
    assert!(!err.contains("replace the link"), "{err}");
}

/// "Reading git without starting it": reftable refs are left to git, which
/// reads HEAD's commit as it always does.
#[test]
fn a_reftable_repository_is_asked_of_git() {
    let repo = Repo::bare_dir();
    repo.git(&["init", "-q", "-b", "main", "--ref-format=reftable"]);
    repo.write("README.md", "x\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "one"]);
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    assert_eq!(logged(&repo)["git_commit"], head.as_str());
    let started = started_by_audit_log(&repo);
    assert!(!started.is_empty(), "git was not asked");
}

/// "Checkpoints and restore": a checkpoint is data, never an instruction,
/// and a ref is only ever created, never moved. A remote pusher who makes
/// a commit descending from a checkpoint this clone pushed cannot have
/// `checkpoint fetch` fast-forward the local ref to it (which would leave
/// the good checkpoint damaged: its commit would have a parent); new
/// checkpoints still arrive.
#[test]
fn fetch_never_moves_a_checkpoint_this_clone_has() {
    let repo = Repo::sample();
    let origin = tempfile::tempdir().unwrap();
    git_in(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    repo.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    let id = repo.checkpoint("manual", "good");
    repo.lifeline()
        .args(["checkpoint", "push"])
        .assert()
        .code(0);
    let name = format!("refs/lifeline/checkpoints/{id}");
    let good = repo.git(&["rev-parse", &name]).trim().to_string();
    let tree = git_in(origin.path(), &["rev-parse", &format!("{good}^{{tree}}")]);
    let message = git_in(origin.path(), &["log", "-1", "--format=%B", &good]);
    let child = std::process::Command::new("git")
        .current_dir(origin.path())
        .args([
            "commit-tree",
            tree.trim(),
            "-p",
            &good,
            "-m",
            message.trim_end(),
        ])
        .env("GIT_AUTHOR_NAME", "Mallory")
        .env("GIT_AUTHOR_EMAIL", "m@example.com")
        .env("GIT_COMMITTER_NAME", "Mallory")
        .env("GIT_COMMITTER_EMAIL", "m@example.com")
        .output()
        .unwrap();
    let child = String::from_utf8(child.stdout).unwrap().trim().to_string();
    git_in(origin.path(), &["update-ref", &name, &child]);
    let other = Repo::sample();
    other.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    let theirs = other.checkpoint("manual", "theirs");
    other
        .lifeline()
        .args(["checkpoint", "push"])
        .assert()
        .code(0);

    let out = repo
        .lifeline()
        .args(["checkpoint", "fetch"])
        .assert()
        .code(0);
    assert!(stdout(&out).contains(&theirs), "{}", stdout(&out));
    assert_eq!(repo.git(&["rev-parse", &name]).trim(), good);
    repo.lifeline()
        .args(["checkpoint", "verify", &id])
        .assert()
        .code(0);
}

/// "The file system: odd names": a name holding a control character (an
/// escape sequence, a line break) under a protected glob is a finding for
/// that path alone, shown escaped: it never reaches the terminal raw from
/// `checkpoint create` or a restore plan, where it could forge or hide
/// lines. A pushed manifest naming such a path is damaged, and the
/// warning saying so shows it escaped.
#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "before");
    let escape = "docs/sprint-archives/x\u{1b}]0;PWN\u{7}y.md";
    let newline = "docs/sprint-archives/a\n  unchanged  b.md";
    repo.write(escape, "hi\n");
    repo.write(newline, "hi\n");
    let raw = |out: &assert_cmd::assert::Assert| {
        let all = crate::common::all_output(out);
        assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
        assert!(!all.contains("\n  unchanged  b.md"), "{all:?}");
        all
    };
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
    let text = raw(&out);
    assert!(text.contains("control character"), "{text}");
    let out = repo
        .lifeline()
        .args(["restore", &id, "--yes", "--no-validate"])
        .assert()
        .code(0);
    raw(&out);
    assert!(repo.join(escape).exists() && repo.join(newline).exists());

    // A manifest naming such a path, as a pushed ref could.
    replace_manifest(&repo, &id, |m| {
        m.replace("planning/TASK.md", "planning/\\u001b[2J.md")
    });
    let out = repo
        .lifeline()
        .args(["checkpoint", "verify", &id])
        .assert()
        .code(1);
    let text = raw(&out);
    assert!(text.contains("control character"), "{text}");
    let out = repo
        .lifeline()
        .args(["checkpoint", "list"])
        .assert()
        .code(0);
    raw(&out);

    // A type the damaged warning quotes.
    let other = repo.checkpoint("manual", "other");
    replace_manifest(&repo, &other, |m| {
        m.replace("\"type\": \"manual\"", "\"type\": \"manual\\u001b[2J\"")
    });
    let out = repo
        .lifeline()
        .args(["checkpoint", "list"])
        .assert()
        .code(0);
    let text = raw(&out);
    assert!(
        text.contains(&other) && text.contains("does not match"),
        "{text}"
    );
    let out = repo
        .lifeline()
        .args(["restore", &other, "--yes", "--no-validate"])
        .assert()
        .code(1);
    raw(&out);
}

/// Rewrites the manifest of checkpoint `id` in place with `f`, as a pushed
/// ref could carry it (the tree and message are left as they were).
fn replace_manifest(repo: &Repo, id: &str, f: impl Fn(&str) -> String) {
    let name = format!("refs/lifeline/checkpoints/{id}");
    let manifest = repo.git(&["show", &format!("{name}:manifest.json")]);
    let hostile = f(&manifest);
    assert_ne!(hostile, manifest);
    std::fs::write(repo.join(".git/hostile.json"), &hostile).unwrap();
    let blob = repo
        .git(&["hash-object", "-w", ".git/hostile.json"])
        .trim()
        .to_string();
    let index = repo.join(".git/tamper-index");
    let with_index = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(repo.path())
            .env("GIT_INDEX_FILE", &index)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    with_index(&["read-tree", &name]);
    with_index(&[
        "update-index",
        "--cacheinfo",
        &format!("100644,{blob},manifest.json"),
    ]);
    let tree = with_index(&["write-tree"]);
    let message = repo.git(&["log", "-1", "--format=%B", &name]);
    let commit = repo
        .git(&["commit-tree", &tree, "-m", message.trim_end()])
        .trim()
        .to_string();
    repo.git(&["update-ref", &name, &commit]);
}

/// "Checkpoints and restore": a checkpoint is data, never an instruction —
/// to the terminal either. The operation text it carries (a pushed ref's
/// author's choice, or a bot's `--operation` built from a pull request's
/// title) is shown by `list`, `show` and a restore plan with its control
/// characters made visible, never sent raw.
#[test]
fn a_checkpoints_operation_text_never_reaches_the_terminal_raw() {
    let repo = Repo::sample();
    let id = repo.checkpoint("manual", "sync \u{1b}]0;PWN\u{7}\u{1b}[2J done");
    repo.write("planning/TASK.md", "changed\n");
    for args in [
        vec!["checkpoint", "list"],
        vec!["checkpoint", "show", &id],
        vec!["restore", &id, "--dry-run"],
    ] {
        let out = repo.lifeline().args(&args).assert().code(0);
        let all = crate::common::all_output(&out);
        assert!(
            all.contains("sync") && all.contains("done"),
            "{args:?}: {all:?}"
        );
        assert!(
            !all.contains('\u{1b}') && !all.contains('\u{7}'),
            "{args:?}: {all:?}"
        );
    }
}
