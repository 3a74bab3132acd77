//! The end of a runbook: commit exactly what it changed plus the incident
//! record, push (a rejected push is retried after fetching and rebasing;
//! a real conflict stops with the manual steps), and the post-incident
//! follow-up issue.

use std::process::Command;

use serde_json::json;

use super::Session;
use crate::error::{Error, Result};

/// Push attempts before giving up on a remote that keeps moving.
const PUSH_ATTEMPTS: usize = 3;

fn git(session: &Session<'_>, args: &[&str]) -> std::result::Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(&session.ws.root).args(args);
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_EDITOR", "true");
    // A runner has no identity configured; commit as the operator.
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
        cmd.env("GIT_AUTHOR_NAME", &name)
            .env("GIT_COMMITTER_NAME", &name)
            .env("GIT_AUTHOR_EMAIL", "lifeline@users.noreply.github.com")
            .env("GIT_COMMITTER_EMAIL", "lifeline@users.noreply.github.com");
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(crate::redact::redact(
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .trim(),
        )
        .into_owned())
    }
}

/// Commits the runbook's changes and the incident record, nothing else.
/// Returns the commit SHA.
pub fn commit(session: &mut Session<'_>) -> Result<Option<String>> {
    if session.ws.git.is_none() {
        session.step("not a git repository: nothing committed")?;
        return Ok(None);
    }
    let incident = session.incident.as_ref().expect("not a dry run");
    let mut paths = incident.changed.clone();
    paths.push(incident.rel_path());
    // The audit entries of every step belong with the change they record.
    let audit_dir = session
        .ws
        .config
        .audit
        .dir
        .trim_end_matches('/')
        .to_string();
    if session.ws.root.join(&audit_dir).is_dir() {
        paths.push(audit_dir);
    }
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
    // step first.
    session.step(format!("committing {}", paths.join(", ")))?;
    let mut add = vec!["add", "-A", "--"];
    add.extend(paths.iter().map(String::as_str));
    git(session, &add).map_err(|e| Error::Git {
        command: "add".into(),
        message: e,
    })?;
    let mut commit = vec!["commit", "--no-verify", "-m", &message, "--"];
    commit.extend(paths.iter().map(String::as_str));
    git(session, &commit).map_err(|e| Error::Git {
        command: "commit".into(),
        message: e,
    })?;
    let sha = git(session, &["rev-parse", "HEAD"]).unwrap_or_default();
    Ok(Some(sha))
}

/// Pushes HEAD to the remote; a rejected push is retried after
/// `pull --rebase`. Returns false when a conflict needs a person.
pub fn push(session: &mut Session<'_>) -> Result<bool> {
    let remote = session.ws.config.checkpoint.remote.clone();
    let branch =
        git(session, &["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_else(|_| "HEAD".into());
    for attempt in 1..=PUSH_ATTEMPTS {
        match git(session, &["push", &remote, &format!("HEAD:{branch}")]) {
            Ok(_) => {
                session.step(format!("pushed to {remote}/{branch}"))?;
                return Ok(true);
            }
            Err(e) if rejected(&e) && attempt < PUSH_ATTEMPTS => {
                session.step(format!(
                    "push rejected ({remote}/{branch} moved on); fetching and rebasing (attempt {attempt})"
                ))?;
                if let Err(conflict) = git(
                    session,
                    &["pull", "--rebase", "--autostash", &remote, &branch],
                ) {
                    let _ = git(session, &["rebase", "--abort"]);
                    session.step(format!(
                        "rebase onto {remote}/{branch} conflicts; stopped without pushing. Manual steps: `git pull --rebase {remote} {branch}`, resolve the conflicts (keep the restored planning files, check them with `lifeline validate`), `git rebase --continue`, `git push {remote} HEAD:{branch}`. Git said: {}",
                        first_line(&conflict)
                    ))?;
                    return Ok(false);
                }
            }
            Err(e) => {
                session.step(format!("push to {remote} failed: {}", first_line(&e)))?;
                return Ok(false);
            }
        }
    }
    Ok(false)
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
pub fn follow_up_issue(session: &mut Session<'_>, outcome: &str) -> Result<Option<u64>> {
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
