//! Where lifeline runs: the repository root, its configuration, and the git
//! repository when there is one.

use std::path::{Path, PathBuf};

use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::git::Git;

/// The repository lifeline works on.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The repository root; every protected path is relative to it.
    pub root: PathBuf,
    /// The effective configuration.
    pub config: Config,
    /// The configuration file read, or the one that would be.
    pub config_path: PathBuf,
    /// True when `config_path` exists (otherwise `config` is the defaults).
    pub config_found: bool,
    /// The git repository whose top level is `root`, if any.
    pub git: Option<Git>,
}

impl Workspace {
    /// Finds the root (`root`, else the git top level of `cwd`) and loads
    /// the configuration (`config`, else `lifeline.toml` at the root). An
    /// explicit `config` that does not exist is an error; a missing default
    /// one means the plan's defaults.
    pub fn discover(cwd: &Path, root: Option<&Path>, config: Option<&Path>) -> Result<Workspace> {
        // The git top level of the working directory is a git root by
        // definition; only a --root needs asking (one git process less).
        let (root, git) = match root {
            Some(dir) => {
                let dir = cwd.join(dir);
                if !dir.is_dir() {
                    return Err(Error::usage(
                        format!("--root {}: no such directory", dir.display()),
                        Some("pass the directory of the repository lifeline should protect".into()),
                    ));
                }
                let git = Git::containing(&dir)
                    .filter(|git| same_dir(git.work_tree(), &dir))
                    .map(|git| git.addressed_as(&dir));
                (dir, git)
            }
            None => {
                let git = Git::containing(cwd).ok_or_else(|| {
                    Error::environment(
                        format!("{} is not inside a git repository", cwd.display()),
                        Some("run lifeline inside the repository, or pass --root DIR".into()),
                    )
                })?;
                (git.work_tree().to_path_buf(), Some(git))
            }
        };
        let (config_path, explicit) = match config {
            Some(path) => (cwd.join(path), true),
            None => (root.join(config::FILE_NAME), false),
        };
        let loaded = Config::load(&config_path)?;
        if explicit && loaded.is_none() {
            return Err(Error::usage(
                format!("--config {}: no such file", config_path.display()),
                Some("`lifeline init` writes a commented lifeline.toml".into()),
            ));
        }
        Ok(Workspace {
            root,
            config_found: loaded.is_some(),
            config: loaded.unwrap_or_default(),
            config_path,
            git,
        })
    }

    /// The repo-relative form of `path` (relative to `cwd` or absolute),
    /// or `None` when it lies outside the root.
    pub fn relative(&self, cwd: &Path, path: &Path) -> Option<String> {
        let abs = normalize(&cwd.join(path));
        let root = normalize(&self.root);
        crate::fs::paths::relative_to(&root, &abs).or_else(|| {
            // Symlinked temp dirs (macOS /var → /private/var) and the like.
            let abs = abs.canonicalize().ok()?;
            let root = root.canonicalize().ok()?;
            crate::fs::paths::relative_to(&root, &abs)
        })
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Removes `.` and resolves `..` lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
