//! The end of a runbook: commit exactly what it changed, the incident
//! record and the audit records it wrote; push (a rejected push is retried
//! after fetching and rebasing, and the result validated again before it
//! is pushed; a conflict or invalid files stop with the manual steps); and
//! the post-incident follow-up issue.

use std::collections::BTreeMap;

use serde_json::json;

use super::Session;
use crate::error::{Error, Result};
use crate::git::Git;

/// Push attempts before giving up on a remote that keeps moving.
const PUSH_ATTEMPTS: usize = 3;

/// lifeline's own records in the audit directory (month files and the
/// signed-heads file) with their size and modification time: taken before
/// a runbook starts, so the commit takes exactly the records it wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Records(BTreeMap<String, (u64, Option<std::time::SystemTime>)>);

impl Records {
    /// The records as they are now. Only regular files with the names
    /// lifeline gives its records count; anything else someone left in
    /// the audit directory is never looked at, let alone committed.
    pub(crate) fn snapshot(ws: &crate::workspace::Workspace) -> Records {
        let dir_rel = ws.config.audit.dir.trim_end_matches('/');
        let mut files = BTreeMap::new();
        let Ok(dir) = crate::fs::paths::safe_join(&ws.root, dir_rel) else {
            return Records(files);
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Records(files);
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let ours = crate::audit::store::parse_name(&name).is_some()
                || name == crate::audit::signing::FILE_NAME;
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if ours && meta.file_type().is_file() {
                files.insert(
                    format!("{dir_rel}/{name}"),
                    (meta.len(), meta.modified().ok()),
                );
            }
        }
        Records(files)
    }

    /// The records that are new or changed since `before`.
    pub(crate) fn written_since(&self, before: &Records) -> Vec<String> {
        self.0
            .iter()
            .filter(|(path, now)| before.0.get(*path) != Some(now))
            .map(|(path, _)| path.clone())
            .collect()
    }
}

/// The repository, with an identity for commits when the runner has none,
/// and pathspecs taken literally (a file name such as `:(glob)**` names
/// that one file, never a pattern).
fn repo(session: &Session<'_>) -> Git {
    let mut git = Git::new(&session.ws.root).with_env("GIT_LITERAL_PATHSPECS", "1");
    let has_identity = session
        .ws
        .git
        .as_ref()
        .and_then(|g| g.config_value("user.email"))
        .is_some();
    if !has_identity {
        let name = session
            .incident
            .as_ref()
            .map_or("lifeline".to_string(), |i| i.operator.clone());
        git = git
            .with_env("GIT_AUTHOR_NAME", name.clone())
            .with_env("GIT_COMMITTER_NAME", name)
            .with_env("GIT_AUTHOR_EMAIL", "lifeline@users.noreply.github.com")
            .with_env("GIT_COMMITTER_EMAIL", "lifeline@users.noreply.github.com");
    }
    git
}

fn git(session: &Session<'_>, args: &[&str]) -> std::result::Result<String, String> {
    run(&repo(session), args)
}

fn run(git: &Git, args: &[&str]) -> std::result::Result<String, String> {
    git.run(args)
        .map(|s| s.trim().to_string())
        .map_err(|e| match e {
            Error::Git { message, .. } => message,
            other => other.to_string(),
        })
}

/// Commits the runbook's changes, the incident record and the audit
/// records this run wrote — nothing else. Returns the commit SHA.
pub(crate) fn commit(session: &mut Session<'_>) -> Result<Option<String>> {
    if session.ws.git.is_none() {
        session.step("not a git repository: nothing committed")?;
        return Ok(None);
    }
    let incident = session.incident.as_ref().expect("not a dry run");
    let mut paths = incident.changed.clone();
    paths.push(incident.rel_path());
    let message = format!(
        "emergency: recovery from {}\n\nIncident: {}\nSeverity: {}\nOperator: {}\nCheckpoint: {}\n\nRecovery completed: {}\n",
        incident.kind,
        incident.id,
        incident.severity,
        incident.operator,
        incident.checkpoint.as_deref().unwrap_or("None"),
        jiff::Timestamp::now()
    );
    // The record must be in the commit with its final line, so write that
    // step first; its audit entry is among the records written.
    let mut named = paths.clone();
    named.push(format!(
        "the audit records this run wrote ({})",
        session.ws.config.audit.dir.trim_end_matches('/')
    ));
    session.step(format!("committing {}", named.join(", ")))?;
    paths.extend(Records::snapshot(session.ws).written_since(&session.records_before));
    // A path the runbook created and removed again (a workflow renamed
    // away that was never committed) is neither here nor in the index:
    // naming it would make git refuse the whole commit.
    let mut ls = vec!["ls-files", "-z", "--"];
    ls.extend(paths.iter().map(String::as_str));
    let tracked = git(session, &ls).unwrap_or_default();
    let tracked: Vec<&str> = tracked.split('\0').collect();
    paths.retain(|p| {
        tracked.contains(&p.as_str()) || std::fs::symlink_metadata(session.ws.root.join(p)).is_ok()
    });
    let mut add = vec!["add", "-A", "--"];
    add.extend(paths.iter().map(String::as_str));
    git(session, &add).map_err(|e| Error::Git {
        command: "add".into(),
        message: e,
    })?;
    let mut commit = vec!["commit", "--no-verify", "-q", "-m", &message, "--"];
    commit.extend(paths.iter().map(String::as_str));
    git(session, &commit).map_err(|e| Error::Git {
        command: "commit".into(),
        message: e,
    })?;
    let sha = Git::new(&session.ws.root).head_commit().unwrap_or_default();
    Ok(Some(sha))
}

/// Pushes HEAD to its branch on the remote. A rejected push is retried
/// after fetching and rebasing onto the remote — and the result is
/// validated after every rebase: what others pushed meanwhile may be
/// broken, and lifeline never pushes files that do not validate. Returns
/// false when a person must finish (a conflict, invalid files, a remote
/// that keeps moving, a push that failed).
pub(crate) fn push(session: &mut Session<'_>) -> Result<bool> {
    let configured = session.ws.config.checkpoint.remote.clone();
    let remote = match Git::new(&session.ws.root).checked_remote(&configured) {
        Ok(r) => r.to_string(),
        Err(e) => {
            session.step(format!("not pushed: {e}"))?;
            return Ok(false);
        }
    };
    let Ok(branch) = git(session, &["symbolic-ref", "--quiet", "--short", "HEAD"]) else {
        session.step(
            "not pushed: HEAD is detached, so there is no branch to push to; push the commit by hand (`git push REMOTE HEAD:BRANCH`)",
        )?;
        return Ok(false);
    };
    let tracking = format!("refs/remotes/{remote}/{branch}");
    for attempt in 1..=PUSH_ATTEMPTS {
        let e = match push_head(&repo(session), &remote, &branch) {
            Ok(_) => {
                session.step(format!("pushed to {remote}/{branch}"))?;
                return Ok(true);
            }
            Err(e) => e,
        };
        if !rejected(&e) {
            session.step(format!("push to {remote} failed: {}", first_line(&e)))?;
            return Ok(false);
        }
        if attempt == PUSH_ATTEMPTS {
            session.step(format!(
                "push rejected {PUSH_ATTEMPTS} times ({remote}/{branch} keeps moving); stopped without pushing. Run `git pull --rebase {remote} {branch}`, `lifeline validate`, then `git push {remote} HEAD:{branch}`"
            ))?;
            return Ok(false);
        }
        session.step(format!(
            "push rejected ({remote}/{branch} moved on); fetching and rebasing (attempt {attempt})"
        ))?;
        let fetched = fetch_branch(&repo(session), &remote, &branch, &tracking);
        if let Err(e) = fetched {
            session.step(format!(
                "could not fetch {remote}/{branch}: {}; stopped without pushing",
                first_line(&e)
            ))?;
            return Ok(false);
        }
        if let Err(conflict) = git(session, &["rebase", "--autostash", "--quiet", &tracking]) {
            let _ = git(session, &["rebase", "--abort"]);
            session.step(format!(
                "rebase onto {remote}/{branch} conflicts; stopped without pushing. Manual steps: `git pull --rebase {remote} {branch}`, resolve the conflicts (keep the restored planning files, check them with `lifeline validate`), `git rebase --continue`, `git push {remote} HEAD:{branch}`. Git said: {}",
                first_line(&conflict)
            ))?;
            return Ok(false);
        }
        let after =
            super::validate_all(session, &format!("after rebasing onto {remote}/{branch}"))?;
        if !after {
            let sha = git(session, &["rev-parse", "--short", "HEAD"]).unwrap_or_default();
            session.step(format!(
                "not pushed: what {remote}/{branch} received meanwhile leaves the protected files invalid once the recovery is rebased onto it. The rebased commit {sha} stays local. Run `lifeline validate` to see the findings, repair them (rerun this runbook, or `lifeline restore latest-valid`), commit, then `git push {remote} HEAD:{branch}`"
            ))?;
            return Ok(false);
        }
    }
    Ok(false)
}

/// Pushes HEAD to `branch` on `remote`. The `--` keeps a remote name from
/// ever being read as an option (`--receive-pack=…` runs a command),
/// whatever checked it before.
fn push_head(git: &Git, remote: &str, branch: &str) -> std::result::Result<String, String> {
    run(
        git,
        &["push", "--", remote, &format!("HEAD:refs/heads/{branch}")],
    )
}

/// Fetches `branch` of `remote` into `tracking`; `--` as in [`push_head`].
fn fetch_branch(
    git: &Git,
    remote: &str,
    branch: &str,
    tracking: &str,
) -> std::result::Result<String, String> {
    run(
        git,
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--",
            remote,
            &format!("+refs/heads/{branch}:{tracking}"),
        ],
    )
}

fn rejected(message: &str) -> bool {
    [
        "rejected",
        "non-fast-forward",
        "fetch first",
        "failed to push some refs",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s)
}

/// Opens the plan's post-incident issue.
pub(crate) fn follow_up_issue(session: &mut Session<'_>, outcome: &str) -> Result<Option<u64>> {
    let Some((client, repo)) =
        super::workflows::api(session.ws, session.env, session.options.repo.as_deref())
    else {
        session.step("no GITHUB_TOKEN or repository: the follow-up issue was not opened")?;
        return Err(Error::environment(
            "--follow-up-issue needs GITHUB_TOKEN and the repository",
            Some("set GITHUB_TOKEN (issues: write) and GITHUB_REPOSITORY or --repo".into()),
        ));
    };
    let incident = session.incident.as_ref().expect("not a dry run").clone();
    let body = format!(
        "## Post-incident follow-up\n\n\
         **Original incident**: {id}\n\
         **Recovery type**: {kind}\n\
         **Severity**: {sev}\n\
         **Outcome**: {outcome}\n\
         **Completed**: {now}\n\n\
         ## Required actions\n\
         - [ ] Root cause analysis within 48 hours\n\
         - [ ] Update runbooks based on lessons learned (`docs/runbooks.md`)\n\
         - [ ] Test all automation functionality (`lifeline drill`)\n\
         - [ ] Review and update recovery procedures\n\
         - [ ] Schedule team retrospective\n\n\
         ## Documentation\n\
         - Incident record: `{record}`\n",
        id = incident.id,
        kind = incident.kind,
        sev = incident.severity,
        now = jiff::Timestamp::now(),
        record = incident.rel_path(),
    );
    let answer = client
        .send(
            "POST",
            &format!("{}/issues", repo.api_path()),
            Some(&json!({
                "title": format!("[POST-INCIDENT] Follow-up for {}", incident.id),
                "body": crate::redact::redact(&body),
                "labels": ["incident", "post-recovery", incident.severity.priority_label()],
                "assignees": session.ws.config.recover.follow_up_assignees,
            })),
        )
        .map_err(|e| Error::environment(e.to_string(), None))?;
    let number = answer.body["number"].as_u64();
    if let Some(n) = number {
        session.step(format!("opened follow-up issue #{n}"))?;
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_read_as_remote, hostile_remote, repo_with_origin};

    // The remote-name check in front refuses these names; each test calls
    // the function behind it directly, so only its `--` stands in the way.
    // ssh is `false`: a name misread as `host:path` never reaches a network.

    #[test]
    fn pushing_reads_an_option_as_a_remote_name() {
        let (tmp, work) = repo_with_origin();
        let (remote, marker) = hostile_remote(tmp.path(), "receive-pack");
        let git = Git::new(&work).with_env("GIT_SSH_COMMAND", "false");
        let e = push_head(&git, &remote, "main").unwrap_err();
        assert_read_as_remote(&e, &remote, &marker);
    }

    #[test]
    fn fetching_after_a_rejected_push_reads_an_option_as_a_remote_name() {
        let (tmp, work) = repo_with_origin();
        let (remote, marker) = hostile_remote(tmp.path(), "upload-pack");
        let git = Git::new(&work).with_env("GIT_SSH_COMMAND", "false");
        let e = fetch_branch(&git, &remote, "main", "refs/remotes/x/main").unwrap_err();
        assert_read_as_remote(&e, &remote, &marker);
    }
}
