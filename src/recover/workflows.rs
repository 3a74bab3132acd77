//! The runbooks that stop automation: `sync-failure-cascade` and
//! `complete-automation-failure`, and their undo (`recover resume`).
//!
//! A workflow is disabled through the API (`PUT …/disable`) when a token
//! and the repository are known — nothing in the repository changes — and
//! otherwise renamed to `*.yml.disabled`, as the plan does. The incident
//! records which, so resume undoes exactly that.

use super::Session;
use crate::ci::Env;
use crate::error::{Error, Result};
use crate::github::{self, Client, ClientOptions, RepoName};
use crate::recover::incident::Disabled;
use crate::workspace::Workspace;

/// The workflows directory.
const WORKFLOWS: &str = ".github/workflows";

/// A client and the repository, when a token is available.
pub(crate) fn api(ws: &Workspace, env: &dyn Env, repo: Option<&str>) -> Option<(Client, RepoName)> {
    let token = github::token(env)?;
    let repo =
        RepoName::resolve(repo, env, ws.config.github.repo.as_deref(), ws.git.as_ref()).ok()?;
    let client = Client::new(ClientOptions {
        api_url: github::api_url(env, ws.config.github.api_url.as_deref()),
        token: Some(token),
        ..ClientOptions::default()
    });
    Some((client, repo))
}

pub(crate) fn sync_failure_cascade(session: &mut Session<'_>) -> Result<String> {
    let targets = session.ws.config.recover.sync_workflows.clone();
    session.step(format!(
        "sync failure cascade: stopping the sync workflows ({})",
        targets.join(", ")
    ))?;
    disable_all(session, &targets)?;
    let outcome = match session.options.checkpoint.clone() {
        Some(checkpoint) => super::files::restore_checkpoint(session, &checkpoint, &[])?,
        None => "recovered".into(),
    };
    resume_hint(session)?;
    Ok(outcome)
}

pub(crate) fn complete_automation_failure(session: &mut Session<'_>) -> Result<String> {
    let keep = session.ws.config.recover.emergency_workflow.clone();
    let dir = session.ws.root.join(WORKFLOWS);
    let mut targets: Vec<String> = crate::fs::paths::list_dir(&session.ws.root, WORKFLOWS)?
        .ok_or_else(|| Error::io(&dir, std::io::ErrorKind::NotFound.into()))?
        .into_iter()
        .map(|(name, _, _)| name)
        .filter(|n| (n.ends_with(".yml") || n.ends_with(".yaml")) && *n != keep)
        .collect();
    targets.sort();
    session.step(format!(
        "complete automation failure: stopping every workflow except {keep} ({})",
        targets.join(", ")
    ))?;
    disable_all(session, &targets)?;
    let rel = "docs/manual-recovery-instructions.md";
    let id = session
        .incident
        .as_ref()
        .map_or("(dry run)".to_string(), |i| i.id.clone());
    let text = format!(
        "# Manual recovery instructions — {id}\n\n\
         Written by `lifeline recover complete-automation-failure` at {}.\n\n\
         ## Immediate steps\n\
         1. All automation workflows are disabled (see the incident record `docs/incidents/{id}.md`).\n\
         2. Manage tasks by hand in `planning/TASK.md`; check every edit with `lifeline validate`.\n\
         3. Contact the DevOps lead for the restore plan; `lifeline checkpoint list` shows what can be restored.\n\n\
         ## To re-enable automation\n\
         1. Verify the planning files validate: `lifeline validate`.\n\
         2. Run `lifeline recover resume {id}`: it re-enables exactly the workflows this incident disabled.\n\
         3. Watch the next run of each workflow (`lifeline health`).\n",
        jiff::Timestamp::now()
    );
    if session.options.dry_run {
        session.step(format!("would write {rel}"))?;
    } else {
        crate::fs::atomic::write_in(&session.ws.root, rel, text.as_bytes(), None)?;
        session.changed(rel)?;
        session.step(format!("wrote {rel}"))?;
    }
    resume_hint(session)?;
    Ok("recovered".into())
}

fn resume_hint(session: &mut Session<'_>) -> Result<()> {
    if let Some(id) = session.incident.as_ref().map(|i| i.id.clone()) {
        session.step(format!(
            "to re-enable automation: `lifeline recover resume {id}`"
        ))?;
    }
    Ok(())
}

fn disable_all(session: &mut Session<'_>, targets: &[String]) -> Result<()> {
    let api = api(session.ws, session.env, session.options.repo.as_deref());
    for file in targets {
        if session.options.dry_run {
            let how = if api.is_some() {
                "through the API"
            } else {
                "by renaming it"
            };
            session.step(format!("would disable {file} {how}"))?;
            continue;
        }
        let how = match &api {
            Some((client, repo)) => match client.send(
                "PUT",
                &format!(
                    "{}/actions/workflows/{}/disable",
                    repo.api_path(),
                    crate::github::encode_component(file)
                ),
                None,
            ) {
                Ok(_) => "api",
                Err(e) => {
                    session.step(format!(
                        "could not disable {file} through the API ({e}); renaming it instead"
                    ))?;
                    rename(session, file)?;
                    "rename"
                }
            },
            None => {
                rename(session, file)?;
                "rename"
            }
        };
        if let Some(incident) = session.incident.as_mut() {
            incident.disabled.push(Disabled {
                workflow: file.clone(),
                how: how.into(),
            });
        }
        let text = match how {
            "api" => format!("disabled {file} through the GitHub API"),
            _ => format!("disabled {file} by renaming it to {file}.disabled"),
        };
        session.step(text)?;
    }
    Ok(())
}

fn rename(session: &mut Session<'_>, file: &str) -> Result<()> {
    let from_rel = format!("{WORKFLOWS}/{file}");
    let to_rel = format!("{from_rel}.disabled");
    let root = &session.ws.root;
    if crate::fs::paths::inspect(root, &from_rel)? == crate::fs::paths::Inspect::Missing {
        return Err(Error::usage(
            format!("{from_rel} does not exist, so it cannot be disabled"),
            Some("check [recover] sync_workflows in lifeline.toml".into()),
        ));
    }
    crate::fs::atomic::rename_in(root, &from_rel, &to_rel)?;
    session.changed(&from_rel)?;
    session.changed(&to_rel)?;
    Ok(())
}

/// Undoes one disabling; returns the timeline text.
pub(crate) fn enable(
    ws: &Workspace,
    api: Option<&(Client, RepoName)>,
    d: &Disabled,
) -> Result<String> {
    match d.how.as_str() {
        "api" => {
            let (client, repo) = api.ok_or_else(|| {
                Error::environment(
                    format!(
                        "{} was disabled through the API; re-enabling it needs GITHUB_TOKEN",
                        d.workflow
                    ),
                    Some("set GITHUB_TOKEN (or run `gh workflow enable` by hand)".into()),
                )
            })?;
            client
                .send(
                    "PUT",
                    &format!(
                        "{}/actions/workflows/{}/enable",
                        repo.api_path(),
                        crate::github::encode_component(&d.workflow)
                    ),
                    None,
                )
                .map_err(|e| Error::environment(e.to_string(), None))?;
            Ok(format!("re-enabled {} through the GitHub API", d.workflow))
        }
        _ => {
            let to_rel = format!("{WORKFLOWS}/{}", d.workflow);
            let from_rel = format!("{to_rel}.disabled");
            if crate::fs::paths::inspect(&ws.root, &to_rel)? != crate::fs::paths::Inspect::Missing {
                return Err(Error::usage(
                    format!("{to_rel} exists already; not overwriting it with {from_rel}"),
                    Some("compare the two and remove one by hand".into()),
                ));
            }
            crate::fs::atomic::rename_in(&ws.root, &from_rel, &to_rel)?;
            Ok(format!(
                "re-enabled {} by renaming {from_rel} back",
                d.workflow
            ))
        }
    }
}
