//! A small harness: a real git repository in a temp dir with the sample
//! planning files, and the real `lifeline` binary run inside it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// A scratch repository.
pub struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    /// An empty directory, not a git repository.
    pub fn bare_dir() -> Repo {
        Repo {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A git repository holding a copy of the healthy sample repo,
    /// committed.
    pub fn sample() -> Repo {
        let repo = Repo::bare_dir();
        copy_dir(&Path::new(FIXTURES).join("sample-repo"), repo.path());
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "sample"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        self
    }

    /// Puts a fixture from `tests/fixtures/corrupt` at `rel`.
    pub fn corrupt(&self, fixture: &str, rel: &str) -> &Self {
        let bytes = std::fs::read(Path::new(FIXTURES).join("corrupt").join(fixture)).unwrap();
        self.write(rel, bytes)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel)).unwrap()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(self.path())
            .args(args)
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Takes a checkpoint through the CLI and returns its ID.
    pub fn checkpoint(&self, kind: &str, operation: &str) -> String {
        let out = self
            .lifeline()
            .args([
                "checkpoint",
                "create",
                "--type",
                kind,
                "--operation",
                operation,
                "--quiet",
            ])
            .assert()
            .code(0);
        stdout(&out).trim().to_string()
    }

    /// Dates `files` (repo-relative) an hour back, as files in a
    /// repository usually are. Their change time stays now, so a create's
    /// stat cache still does not trust them (see
    /// [`Repo::forge_stat_cache`]).
    pub fn age(&self, files: &[&str]) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for f in files {
            std::fs::File::options()
                .append(true)
                .open(self.join(f))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
    }

    /// Writes the stat cache a create would have left had it run two
    /// seconds after the files last changed: for each of `paths`, the file
    /// as it is on disk now, with the verdict checkpoint `id` recorded and
    /// the blob it stored (git store). A create trusts only files whose
    /// change time is two seconds old (`RACY_SECS` in
    /// src/checkpoint/cache.rs), which a test cannot wait for; an entry is
    /// then believed exactly as long as the file's stamp matches, which this
    /// one does. `edit` may change an entry (as JSON) before it is written,
    /// to make a reuse visible in the next manifest.
    pub fn forge_stat_cache(
        &self,
        id: &str,
        paths: &[&str],
        edit: impl Fn(&str, &mut serde_json::Value),
    ) {
        use std::os::unix::fs::MetadataExt;
        let manifest: serde_json::Value = serde_json::from_str(&self.git(&[
            "cat-file",
            "blob",
            &format!("refs/lifeline/checkpoints/{id}:manifest.json"),
        ]))
        .unwrap();
        let mut entries = serde_json::Map::new();
        for path in paths {
            let file = manifest["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["path"] == *path)
                .unwrap();
            let meta = std::fs::symlink_metadata(self.join(path)).unwrap();
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            let blob = self.git(&[
                "rev-parse",
                &format!("refs/lifeline/checkpoints/{id}:{path}"),
            ]);
            let mut entry = serde_json::json!({
                "stamp": {
                    "size": meta.size(),
                    "mtime_ns": ns(meta.mtime(), meta.mtime_nsec()),
                    "ctime_ns": ns(meta.ctime(), meta.ctime_nsec()),
                    "ino": meta.ino(),
                    "dev": meta.dev(),
                    "mode": meta.mode() & 0o7777,
                },
                "validator": file["validator"],
                "sha256": file["sha256"],
                "valid": file["valid"],
                "errors": file["errors"],
                "warnings": file["warnings"],
                "object": blob.trim(),
            });
            edit(path, &mut entry);
            entries.insert(path.to_string(), entry);
        }
        let cache = serde_json::json!({ "version": env!("CARGO_PKG_VERSION"), "entries": entries });
        std::fs::write(
            self.join(".git/lifeline/checkpoint-cache.json"),
            serde_json::to_vec(&cache).unwrap(),
        )
        .unwrap();
    }

    /// The `lifeline` binary, run in the repository, with a clean
    /// environment (no GitHub Actions variables, no colour).
    pub fn lifeline(&self) -> assert_cmd::Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lifeline"));
        cmd.current_dir(self.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("GITHUB_") || key == "GH_TOKEN" || key == "NO_COLOR" {
                cmd.env_remove(key);
            }
        }
        cmd.env("GIT_CONFIG_NOSYSTEM", "1");
        assert_cmd::Command::from_std(cmd)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Stdout of an assertion as a string.
pub fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

pub fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

/// Stdout then stderr, for assertions about everything a command said.
pub fn all_output(assert: &assert_cmd::assert::Assert) -> String {
    format!("{}{}", stdout(assert), stderr(assert))
}

/// Makes a FIFO at `path` (mkfifo(3), no process).
pub fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

/// A `git` that must never start: it notes its arguments and fails.
pub struct NoGit {
    pub dir: tempfile::TempDir,
}

impl NoGit {
    pub fn new() -> NoGit {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join("git");
        std::fs::write(
            &git,
            "#!/bin/sh\necho \"$*\" >> \"${0%/git}/started\"\nexit 97\n",
        )
        .unwrap();
        std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
        NoGit { dir }
    }

    /// What was started, one line per process.
    pub fn started(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("started")).unwrap_or_default()
    }
}
