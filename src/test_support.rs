//! Helpers for the library's unit tests: real git repositories in a
//! temporary directory, and workspaces without one.

use std::path::{Path, PathBuf};

/// A workspace rooted at `root` with the default configuration and no git
/// repository (the directory store).
pub(crate) fn plain_workspace(root: &Path) -> crate::workspace::Workspace {
    crate::workspace::Workspace {
        root: root.to_path_buf(),
        config: crate::config::Config::default(),
        config_path: root.join("lifeline.toml"),
        config_found: false,
        git: None,
    }
}

/// Runs git in `dir` with a fixed identity and no user or system
/// configuration; panics when it fails (a broken fixture). Through the
/// git module, like every git process lifeline starts.
pub(crate) fn git(dir: &Path, args: &[&str]) {
    let git = crate::git::Git::new(dir)
        .with_env("GIT_CONFIG_NOSYSTEM", "1")
        .with_env("GIT_CONFIG_GLOBAL", "/dev/null")
        .with_env("GIT_AUTHOR_NAME", "t")
        .with_env("GIT_AUTHOR_EMAIL", "t@example.com")
        .with_env("GIT_COMMITTER_NAME", "t")
        .with_env("GIT_COMMITTER_EMAIL", "t@example.com");
    if let Err(e) = git.run(args) {
        panic!("git {args:?}: {e}");
    }
}

/// A work tree at `<tmp>/work` with one commit on `main`, pushed to the
/// bare repository `<tmp>/origin.git` it knows as `origin`.
pub(crate) fn repo_with_origin() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let origin = tmp.path().join("origin.git");
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    git(
        tmp.path(),
        &["init", "-q", "--bare", "-b", "main", "origin.git"],
    );
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("README.md"), "hello\n").expect("write");
    git(&work, &["add", "README.md"]);
    git(&work, &["commit", "-q", "-m", "first"]);
    git(
        &work,
        &["remote", "add", "origin", &origin.to_string_lossy()],
    );
    git(&work, &["push", "-q", "origin", "main"]);
    (tmp, work)
}

/// A remote "name" that is a git option running `touch <marker>` when git
/// reads it as one (`--upload-pack` for fetch and ls-remote,
/// `--receive-pack` for push), and the marker's path.
pub(crate) fn hostile_remote(tmp: &Path, option: &str) -> (String, PathBuf) {
    let marker = tmp.join("ran");
    (format!("--{option}=touch {}", marker.display()), marker)
}

/// Asserts git took `remote` for the repository it was asked to reach
/// (it names it, quoted, in its refusal: "strange pathname '--…'
/// blocked") rather than an option, and that nothing ran.
pub(crate) fn assert_read_as_remote(error: &str, remote: &str, marker: &Path) {
    assert!(
        !marker.exists(),
        "git ran the option hidden in the remote name: {error}"
    );
    assert!(
        error.contains(&format!("'{remote}'")),
        "git did not read `{remote}` as a remote name: {error}"
    );
}
