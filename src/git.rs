//! A thin wrapper around the `git` command line.
//!
//! lifeline uses the git CLI rather than a library: it is on every runner,
//! it is the reference implementation of push and fetch (which gix does not
//! yet do), and it keeps lifeline's cold build small.
//!
//! Every git process lifeline starts goes through [`base_command`], which
//! holds the rules for all of them:
//!
//! - no hook runs (`core.hooksPath=/dev/null`), for lifeline's own commits
//!   and pushes as well as for the commands that only read: a hook is code
//!   someone put in the repository, and lifeline runs with a token;
//! - no file-system monitor runs (`core.fsmonitor=false`), for the same
//!   reason;
//! - optional locks are off (`GIT_OPTIONAL_LOCKS=0`): a command that only
//!   reads never takes `.git/index.lock` to refresh the index, so a
//!   lifeline killed at any instruction leaves no lock behind. Commands
//!   that write still take the locks they need; the variable only turns
//!   off the opportunistic ones;
//! - git never waits for a password or an editor.
//!
//! A remote is only ever a configured remote's name ([`Git::checked_remote`]),
//! and the callers put `--` before it.
//!
//! What only needs reading — the top level of the work tree, the commit
//! HEAD names, a config value — is read in-process by [`files`] when the
//! repository's layout is one it models exactly (an audit entry needs all
//! three, and a git process costs more than the entry), and asked of git
//! otherwise. A checkpoint's objects and ref are written in-process by
//! [`odb`] on the same terms (`git fast-import` writes them otherwise).
//! No other module starts git or reads `.git` itself; the
//! git directory that holds lifeline's private files (the audit index, the
//! leaf cache) is found by [`checked_git_dir_of`], which refuses a `.git`
//! that is a FIFO, socket or device without opening it.

mod files;
pub(crate) mod odb;

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
    /// The layout [`files::discover`] found, looked up once per handle:
    /// an audit entry asks for HEAD and config values of the same
    /// repository several times.
    layout: std::sync::OnceLock<Option<files::Layout>>,
}

impl Git {
    /// A handle on the repository whose work tree is `work_tree`.
    pub fn new(work_tree: impl Into<PathBuf>) -> Self {
        Git {
            work_tree: work_tree.into(),
            env: Vec::new(),
            layout: std::sync::OnceLock::new(),
        }
    }

    /// The same repository with an extra environment variable on every
    /// command (for example `GIT_INDEX_FILE` for a private index).
    pub fn with_env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_string(), value.into()));
        // The variable may change what git reads: look again.
        self.layout = std::sync::OnceLock::new();
        self
    }

    /// The same repository addressed by `work_tree` (the same directory
    /// under another name, as the user gave it), keeping what was found.
    pub(crate) fn addressed_as(mut self, work_tree: &Path) -> Git {
        self.work_tree = work_tree.to_path_buf();
        self
    }

    /// The work tree this handle runs in.
    pub fn work_tree(&self) -> &Path {
        &self.work_tree
    }

    /// A handle on the repository containing `dir`, addressed by its top
    /// level, or `None` outside a repository. The layout found on the way
    /// is kept, so the handle's first HEAD or config read does not look
    /// the repository up again.
    pub fn containing(dir: &Path) -> Option<Git> {
        if files::environment_is_plain(&[])
            && let Some(found) = files::search(dir)
        {
            // Outside any repository, git would only say so.
            let layout = found?;
            let git = Git::new(&layout.work_tree);
            let _ = git.layout.set(Some(layout));
            return Some(git);
        }
        let text = Git::new(dir).run(["rev-parse", "--show-toplevel"]).ok()?;
        let top = text.trim_end_matches(['\n', '\r']);
        (!top.is_empty()).then(|| Git::new(top))
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = base_command(&self.work_tree);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.args(args);
        cmd
    }

    /// Runs git and returns stdout and stderr together, whatever the exit
    /// status (for reports such as `git fsck`'s), with whether it succeeded.
    pub fn run_lossy<I, S>(&self, args: I) -> Result<(bool, String)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self
            .command(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Git {
                command: describe(&args),
                message: format!("could not start git: {e}"),
            })?;
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out.status.success(), text))
    }

    /// Checks that `name` is a remote configured in this repository that
    /// lifeline may fetch from and push to, and returns it. Refused: a
    /// value that is not a plain remote name (a path, a URL, anything
    /// starting with `-`, which git would read as an option such as
    /// `--upload-pack=…`), a name with no `remote.<name>.url`, and a remote
    /// any of whose addresses is a directory inside this work tree (a bare
    /// repository committed to the tree runs its own hooks when pushed
    /// to): every `url` (git pushes to each) and `pushurl`, as git resolves
    /// them (`insteadOf` applied).
    pub fn checked_remote<'a>(&self, name: &'a str) -> Result<&'a str> {
        if let Some(problem) = remote_name_problem(name) {
            return Err(Error::environment(
                format!("remote `{name}` refused: {problem}"),
                Some(REMOTE_HELP.into()),
            ));
        }
        let Some(url) = self.config_value(&format!("remote.{name}.url")) else {
            return Err(Error::environment(
                format!("remote `{name}` is not configured in this repository"),
                Some(REMOTE_HELP.into()),
            ));
        };
        let mut urls = vec![url];
        for push in [&[][..], &["--push"][..]] {
            let mut args = vec!["remote", "get-url", "--all"];
            args.extend_from_slice(push);
            args.push(name);
            // Unlisted addresses would go unchecked: a failure is an error.
            urls.extend(self.run(&args)?.lines().map(str::to_string));
        }
        for url in &urls {
            self.refuse_inside_the_tree(name, url)?;
        }
        Ok(name)
    }

    /// An error when `url` (an address of remote `name`) is a directory
    /// inside this work tree.
    fn refuse_inside_the_tree(&self, name: &str, url: &str) -> Result<()> {
        if let Some(dir) = local_path(url) {
            let dir = if dir.is_absolute() {
                dir
            } else {
                self.work_tree.join(dir)
            };
            if let (Ok(dir), Ok(top)) = (dir.canonicalize(), self.work_tree.canonicalize())
                && dir.starts_with(&top)
            {
                return Err(Error::environment(
                    format!(
                        "remote `{name}` points inside the working tree ({url}): lifeline never pushes to or fetches from a repository committed to the tree"
                    ),
                    Some(REMOTE_HELP.into()),
                ));
            }
        }
        Ok(())
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

    /// A value from git config (the last one set, as `git config --get`
    /// prints it, trimmed), or `None` when unset or empty.
    pub fn config_value(&self, key: &str) -> Option<String> {
        let value = match self.layout().and_then(|l| files::config_value(l, key)) {
            Some(found) => found,
            None => self.run(["config", "--get", key]).ok(),
        };
        value
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// The commit HEAD names, or `None` on an unborn branch (or outside a
    /// repository).
    pub fn head_commit(&self) -> Option<String> {
        match self.layout().and_then(files::head) {
            Some(found) => found,
            None => self.resolve_commit("HEAD"),
        }
    }

    /// The repository's objects and refs, for writing in-process, or `None`
    /// when git must write them (see [`odb`]).
    pub(crate) fn odb(&self) -> Option<odb::Odb> {
        let layout = self.layout()?;
        files::objects_are_plain(layout, &self.env)?.then(|| odb::Odb::new(&layout.common_dir))
    }

    /// The repository's layout read in-process, or `None` when git must
    /// be asked (see [`files`]).
    fn layout(&self) -> Option<&files::Layout> {
        self.layout
            .get_or_init(|| {
                files::environment_is_plain(&self.env)
                    .then(|| files::discover(&self.work_tree))
                    .flatten()
            })
            .as_ref()
    }
}

/// The git directory of the work tree `root` as its `.git` names it (the
/// directory, or where a `gitdir:` file points), without starting git;
/// `None` when `root` has no `.git`.
pub(crate) fn git_dir_of(root: &Path) -> Option<PathBuf> {
    files::git_dir_of(root)
}

/// [`git_dir_of`] for a caller that will keep files there, checked first:
/// a `.git` that is a FIFO, socket or device (itself, or where a link
/// points) is refused with an error naming it, and is never opened, so
/// nothing waits on it. A linked `.git` directory is git's own (tooling
/// makes them) and is accepted, as [`crate::fs::atomic::private_anchor`]
/// does.
pub(crate) fn checked_git_dir_of(root: &Path) -> Result<Option<PathBuf>> {
    let dot_git = root.join(".git");
    match std::fs::metadata(&dot_git) {
        Ok(meta) if !meta.is_dir() && !meta.is_file() => Err(Error::environment(
            format!(
                "{}: neither a git directory nor a `gitdir:` file (a FIFO, socket or device)",
                dot_git.display()
            ),
            Some("remove it, or put the repository's git directory there".to_string()),
        )),
        _ => Ok(git_dir_of(root)),
    }
}

/// What to do about a refused remote.
const REMOTE_HELP: &str = "name a remote listed by `git remote -v` (`[checkpoint] remote` in lifeline.toml, or --remote); add one with `git remote add NAME URL`";

/// A `git` command for `dir` with the rules every git process lifeline
/// starts follows (see the module documentation).
fn base_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.args([
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "core.fsmonitor=false",
    ]);
    cmd.arg("-C").arg(dir);
    cmd.env("GIT_OPTIONAL_LOCKS", "0");
    // Never let git wait for a password or an editor: lifeline runs in CI.
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd.env("GIT_EDITOR", "true");
    cmd
}

/// Why `name` cannot be a remote name lifeline uses, or `None`. Only plain
/// names are accepted: letters, digits, `.`, `_` and `-`, not starting
/// with `-` or `.`.
pub(crate) fn remote_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.starts_with('-') {
        return Some("it starts with `-`, so git would read it as an option");
    }
    if name.contains(':') {
        return Some("it is a URL, not a remote name");
    }
    if name.starts_with('.') || name.contains(['/', '\\']) {
        return Some("it is a path, not a remote name");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Some("a remote name holds only letters, digits, `.`, `_` and `-`");
    }
    None
}

/// True for a branch name lifeline may put into a refspec: what `git
/// check-ref-format --branch` accepts, minus anything git could read as an
/// option or a second refspec.
pub(crate) fn branch_name_ok(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['-', '+', '.', '/'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && !name
            .chars()
            .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
}

/// The directory a remote URL names on this machine, or `None` for a
/// network URL.
fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if url.contains("://") {
        return None;
    }
    // scp-like `host:path`: a colon before any slash.
    match (url.find(':'), url.find('/')) {
        (Some(colon), Some(slash)) if colon < slash => None,
        (Some(_), None) => None,
        _ => Some(PathBuf::from(url)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_remote_names_pass() {
        for ok in ["origin", "backup", "up-stream_2", "vault.git"] {
            assert_eq!(remote_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "-u",
            "--upload-pack=touch x",
            "../x",
            ".hidden",
            "a/b",
            "a\\b",
            "file:///x",
            "git@host:x",
            "a b",
            "a\nb",
        ] {
            assert!(remote_name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn local_remote_urls_are_told_from_network_ones() {
        assert_eq!(
            local_path("file:///srv/x.git"),
            Some(PathBuf::from("/srv/x.git"))
        );
        assert_eq!(
            local_path("./vault.git"),
            Some(PathBuf::from("./vault.git"))
        );
        assert_eq!(local_path("/srv/x.git"), Some(PathBuf::from("/srv/x.git")));
        assert_eq!(local_path("https://github.com/a/b"), None);
        assert_eq!(local_path("git@github.com:a/b.git"), None);
        assert_eq!(local_path("host:repo"), None);
    }

    #[test]
    fn branch_names_that_could_be_options_or_refspecs_are_refused() {
        for ok in ["main", "release/1.2", "feature-x"] {
            assert!(branch_name_ok(ok), "{ok}");
        }
        for bad in [
            "", "-f", "a:b", "a..b", "+main", "a b", "x.lock", "a^", "@{-1}",
        ] {
            assert!(!branch_name_ok(bad), "{bad}");
        }
    }

    #[test]
    fn every_git_process_runs_without_hooks_fsmonitor_or_optional_locks() {
        let cmd = base_command(Path::new("/nowhere"));
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args[..4],
            [
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "core.fsmonitor=false"
            ]
        );
        let locks = cmd
            .get_envs()
            .find(|(k, _)| *k == "GIT_OPTIONAL_LOCKS")
            .and_then(|(_, v)| v);
        assert_eq!(locks, Some(std::ffi::OsStr::new("0")));
    }
}
