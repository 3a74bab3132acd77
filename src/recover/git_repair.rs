//! `git-history-corruption`: find missing or corrupt objects and broken
//! refs with `git fsck`, repair what can be repaired without losing
//! anything (objects fetched again from the remote), and stop before
//! anything destructive (moving a ref back to its last good reflog entry)
//! unless `--yes`. What could not be recovered is reported, not hidden.

use super::Session;
use crate::error::{Error, Result};
use crate::git::Git;

/// One problem `git fsck` reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// An object that is referenced but absent (or unreadable).
    Missing(String),
    /// A ref that points at a missing object.
    BrokenRef(String),
    /// Any other line fsck flagged.
    Other(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing(o) => write!(f, "missing or corrupt object {o}"),
            Problem::BrokenRef(r) => write!(f, "ref {r} points at a missing object"),
            Problem::Other(l) => f.write_str(l),
        }
    }
}

/// Runs `git fsck` and parses what it reports.
pub(crate) fn fsck(root: &std::path::Path) -> Result<Vec<Problem>> {
    let (succeeded, text) =
        Git::new(root).run_lossy(["fsck", "--full", "--no-dangling", "--no-progress"])?;
    Ok(parse(&text, succeeded))
}

/// Parses fsck's report (stdout and stderr together).
pub(crate) fn parse(text: &str, succeeded: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |p: Problem| {
        if !problems.contains(&p) {
            problems.push(p);
        }
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("missing ") && words.len() >= 3 {
            push(Problem::Missing(words[2].to_string()));
        } else if line.starts_with("error: ") && line.contains("invalid sha1 pointer") {
            let name = line["error: ".len()..]
                .split(':')
                .next()
                .unwrap_or_default();
            push(Problem::BrokenRef(name.to_string()));
        } else if line.contains("invalid reflog entry") {
            push(Problem::Other(line.to_string()));
        } else if let Some(rest) = line.strip_prefix("error: refs/") {
            push(Problem::BrokenRef(format!(
                "refs/{}",
                rest.split(':').next().unwrap_or_default()
            )));
        } else if line.contains("object corrupt or missing") || line.starts_with("bad sha1 file") {
            let object = words
                .iter()
                .find(|w| {
                    w.trim_end_matches(':').len() == 40
                        && w.trim_end_matches(':')
                            .bytes()
                            .all(|b| b.is_ascii_hexdigit())
                })
                .map(|w| w.trim_end_matches(':').to_string());
            push(match object {
                Some(o) => Problem::Missing(o),
                None => Problem::Other(line.to_string()),
            });
        } else if line.starts_with("error") || line.starts_with("fatal") {
            // `broken link` lines are followed by the `missing` line that
            // names the object; they add nothing.
            push(Problem::Other(line.to_string()));
        }
    }
    if !succeeded && problems.is_empty() {
        problems.push(Problem::Other("git fsck failed without saying why".into()));
    }
    problems
}

fn git(root: &std::path::Path, args: &[&str]) -> std::result::Result<String, String> {
    Git::new(root).run(args).map_err(|e| match e {
        Error::Git { message, .. } => message,
        other => other.to_string(),
    })
}

/// Fetches every object again from `remote`. The `--` keeps a remote name
/// from ever being read as an option (`--upload-pack=…` runs a command),
/// whatever checked it before.
fn refetch(root: &std::path::Path, remote: &str) -> std::result::Result<String, String> {
    git(
        root,
        &["fetch", "--refetch", "--no-write-fetch-head", "--", remote],
    )
}

pub(crate) fn run(session: &mut Session<'_>) -> Result<String> {
    let root = session.ws.root.clone();
    if session.ws.git.is_none() {
        return Err(Error::environment(
            format!("{} is not a git repository", root.display()),
            Some("run the runbook at the top of the repository's work tree".into()),
        ));
    }
    let mut problems = fsck(&root)?;
    if problems.is_empty() {
        session.step("git fsck --full: no missing or corrupt objects, no broken refs")?;
        return Ok("recovered".into());
    }
    session.step(format!(
        "git fsck --full found {} problem(s): {}",
        problems.len(),
        problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    ))?;
    // 1. Objects: fetch everything again from the remote. This only adds
    //    objects and remote-tracking refs; nothing local is lost.
    let remote = session.ws.config.checkpoint.remote.clone();
    if problems.iter().any(|p| matches!(p, Problem::Missing(_))) {
        if session.options.dry_run {
            session.step(format!(
                "would fetch every object again from {remote} (git fetch --refetch)"
            ))?;
        } else {
            let fetched = Git::new(&root)
                .checked_remote(&remote)
                .map_err(|e| e.to_string())
                .and_then(|remote| refetch(&root, remote));
            match fetched {
                Ok(_) => session.step(format!(
                    "fetched every object again from {remote} (git fetch --refetch)"
                ))?,
                Err(e) => session.step(format!("could not fetch from {remote}: {e}"))?,
            }
            problems = fsck(&root)?;
        }
    }
    // 2. Broken refs: the newest reflog entry whose commit exists. Moving a
    //    ref is destructive (commits after it become unreachable), so it
    //    needs --yes.
    let mut stopped = false;
    let mut moved = false;
    let head_is_symbolic = git(&root, &["symbolic-ref", "-q", "HEAD"]).is_ok();
    for problem in problems.clone() {
        let Problem::BrokenRef(name) = problem else {
            continue;
        };
        // HEAD names a branch: repairing the branch repairs HEAD.
        if name == "HEAD" && head_is_symbolic {
            continue;
        }
        let log = git(&root, &["reflog", "show", "--format=%H", &name]).unwrap_or_default();
        let intact =
            |sha: &str| git(&root, &["cat-file", "-e", &format!("{sha}^{{commit}}")]).is_ok();
        let from_reflog = log
            .lines()
            .find(|sha| intact(sha))
            .map(|s| (s.to_string(), "its newest intact reflog entry"));
        // Else the HEAD a checkpoint recorded while on this branch.
        let good = from_reflog.or_else(|| {
            checkpoint_head(session, &name)
                .filter(|sha| intact(sha))
                .map(|s| (s, "the HEAD its newest checkpoint recorded"))
        });
        let good = good.as_ref().map(|(sha, why)| (sha.as_str(), *why));
        match good {
            Some((sha, why)) if session.options.yes && !session.options.dry_run => {
                match git(&root, &["update-ref", &name, sha]) {
                    Ok(_) => {
                        moved = true;
                        session.step(format!("moved {name} back to {sha}, {why}"))?
                    }
                    Err(e) => session.step(format!("could not move {name}: {e}"))?,
                }
            }
            Some((sha, why)) => {
                stopped = true;
                session.step(format!(
                    "would move {name} back to {sha} ({why}); this is destructive: rerun with --yes"
                ))?;
            }
            None => session.step(format!(
                "no intact reflog entry for {name}; restore it from the remote (`git fetch {remote}` then `git update-ref {name} {remote}/…`) or a checkpoint"
            ))?,
        }
    }
    if session.options.dry_run {
        return Ok("planned".into());
    }
    if moved {
        // The reflogs still name the missing objects the refs pointed at;
        // drop exactly those entries (--stale-fix) and keep every other.
        let expire = [
            "reflog",
            "expire",
            "--stale-fix",
            "--expire=never",
            "--expire-unreachable=never",
            "--all",
        ];
        match git(&root, &expire) {
            Ok(_) => session.step(
                "removed reflog entries that name missing objects (git reflog expire --stale-fix)",
            )?,
            Err(e) => session.step(format!("could not clean the reflogs: {e}"))?,
        }
    }
    let left = fsck(&root)?;
    if left.is_empty() {
        session.step("git fsck --full is clean again")?;
        Ok("recovered".into())
    } else {
        session.step(format!(
            "could not recover: {}",
            left.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))?;
        Ok(if stopped {
            "stopped".into()
        } else {
            "failed".into()
        })
    }
}

/// The HEAD commit the newest checkpoint taken on branch `refname`
/// (`refs/heads/<branch>`) recorded.
fn checkpoint_head(session: &Session<'_>, refname: &str) -> Option<String> {
    let branch = refname.strip_prefix("refs/heads/")?;
    let store = crate::checkpoint::open(session.ws).ok()?;
    let mut listing = store.list().ok()?.checkpoints;
    crate::checkpoint::manifest::sort_newest_first(&mut listing);
    listing.iter().find_map(|summary| {
        let manifest = store.manifest(&summary.id).ok()?;
        let git = manifest.git?;
        (git.branch.as_deref() == Some(branch))
            .then_some(git.head)
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_read_as_remote, hostile_remote, repo_with_origin};

    #[test]
    fn refetching_reads_an_option_as_a_remote_name() {
        // The remote-name check in front refuses this name; only `--`
        // keeps git from fetching origin through `touch`.
        let (tmp, work) = repo_with_origin();
        let (remote, marker) = hostile_remote(tmp.path(), "upload-pack");
        let e = refetch(&work, &remote).unwrap_err();
        assert_read_as_remote(&e, &remote, &marker);
    }

    #[test]
    fn parses_fsck_reports() {
        let text = "broken link from    tree 1111111111111111111111111111111111111111\n              to    blob 2222222222222222222222222222222222222222\nmissing blob 2222222222222222222222222222222222222222\nerror: refs/heads/main: invalid sha1 pointer 3333333333333333333333333333333333333333\nerror: 4444444444444444444444444444444444444444: object corrupt or missing: .git/objects/44/44\n";
        assert_eq!(
            parse(text, false),
            [
                Problem::Missing("2222222222222222222222222222222222222222".into()),
                Problem::BrokenRef("refs/heads/main".into()),
                Problem::Missing("4444444444444444444444444444444444444444".into()),
            ]
        );
        assert!(parse("", true).is_empty());
        assert_eq!(parse("", false).len(), 1);
    }
}
