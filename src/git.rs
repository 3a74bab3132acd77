//! A thin wrapper around the `git` command line.
//!
//! lifeline uses the git CLI rather than a library: it is on every runner,
//! it is the reference implementation of push and fetch (which gix does not
//! yet do), and it keeps lifeline's cold build small.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// A git repository, addressed by its work tree.
#[derive(Debug, Clone)]
pub struct Git {
    work_tree: PathBuf,
    env: Vec<(String, String)>,
}

impl Git {
    /// A handle on the repository whose work tree is `work_tree`.
    pub fn new(work_tree: impl Into<PathBuf>) -> Self {
        Git {
            work_tree: work_tree.into(),
            env: Vec::new(),
        }
    }

    /// The same repository with an extra environment variable on every
    /// command (for example `GIT_INDEX_FILE` for a private index).
    pub fn with_env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// The work tree this handle runs in.
    pub fn work_tree(&self) -> &Path {
        &self.work_tree
    }

    /// The git top level containing `dir`, or `None` outside a repository.
    pub fn toplevel_of(dir: &Path) -> Option<PathBuf> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "--show-toplevel"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8(out.stdout).ok()?;
        let top = text.trim_end_matches(['\n', '\r']);
        (!top.is_empty()).then(|| PathBuf::from(top))
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.work_tree);
        // Never let git wait for a password or an editor: lifeline runs in CI.
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        cmd.env("GIT_EDITOR", "true");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.args(args);
        cmd
    }

    /// Runs git and returns its stdout; a non-zero exit is an error carrying
    /// git's stderr.
    pub fn run<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let bytes = self.run_bytes(args, None)?;
        String::from_utf8(bytes).map_err(|e| Error::Git {
            command: "output".into(),
            message: format!("not UTF-8: {e}"),
        })
    }

    /// Runs git with `stdin` fed in, returning raw stdout.
    pub fn run_bytes<I, S>(&self, args: I, stdin: Option<&[u8]>) -> Result<Vec<u8>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let mut cmd = self.command(&args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let name = describe(&args);
        let mut child = cmd.spawn().map_err(|e| Error::Git {
            command: name.clone(),
            message: format!("could not start git: {e}"),
        })?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            let input = input.to_vec();
            // Feed stdin from a thread so a large output cannot deadlock us.
            let feeder = std::thread::spawn(move || pipe.write_all(&input));
            let out = child.wait_with_output().map_err(|e| Error::Git {
                command: name.clone(),
                message: e.to_string(),
            })?;
            let _ = feeder.join();
            return finish(name, out);
        }
        let out = child.wait_with_output().map_err(|e| Error::Git {
            command: name.clone(),
            message: e.to_string(),
        })?;
        finish(name, out)
    }

    /// Runs git and reports only whether it succeeded.
    pub fn succeeds<I, S>(&self, args: I) -> bool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// `git rev-parse --verify --quiet REV^{commit}`, or `None`.
    pub fn resolve_commit(&self, rev: &str) -> Option<String> {
        self.run([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
    }

    /// A value from git config, or `None` when unset.
    pub fn config_value(&self, key: &str) -> Option<String> {
        self.run(["config", "--get", key])
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

fn describe(args: &[std::ffi::OsString]) -> String {
    args.iter()
        .take(2)
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn finish(name: String, out: std::process::Output) -> Result<Vec<u8>> {
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(Error::Git {
            command: name,
            message: crate::redact::redact(stderr.trim()).into_owned(),
        })
    }
}
