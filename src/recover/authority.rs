//! Who may run recovery at a severity (the plan's authority column):
//! `[severity.P1] authority = ["@lead", "@acme/devops"]`. Empty means
//! anyone, with a warning. Teams are checked through the GitHub API.

use super::RecoverOptions;
use crate::ci::Env;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// `Ok` when `operator` may run `options`' severity; pushes a warning when
/// no authority is configured.
pub fn check(
    ws: &Workspace,
    env: &dyn Env,
    options: &RecoverOptions,
    operator: &str,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let level = ws.config.severity.level(options.severity);
    if level.authority.is_empty() {
        warnings.push(format!(
            "no authority is configured for {}: anyone may run this recovery (set [severity.{}] authority in lifeline.toml)",
            options.severity, options.severity
        ));
        return Ok(());
    }
    let login = operator.strip_prefix("github:");
    let allowed = |entry: &str| -> bool {
        let Some(login) = login else { return false };
        let entry = entry.trim_start_matches('@');
        match entry.split_once('/') {
            None => entry.eq_ignore_ascii_case(login),
            Some((org, team)) => team_member(ws, env, options.repo.as_deref(), org, team, login),
        }
    };
    if level.authority.iter().any(|a| allowed(a)) {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "{operator} may not run {} recovery: the severity policy allows {}",
            options.severity,
            level.authority.join(", ")
        ),
        Some(format!(
            "ask one of them to run it, or lower the severity if the policy allows (`[severity.{}] authority` in lifeline.toml)",
            options.severity
        )),
    ))
}

/// Whether `login` is an active member of `org/team`, asked of GitHub.
fn team_member(
    ws: &Workspace,
    env: &dyn Env,
    repo: Option<&str>,
    org: &str,
    team: &str,
    login: &str,
) -> bool {
    let Some(client) = super::workflows::api(ws, env, repo) else {
        return false;
    };
    client
        .0
        .get(&format!("orgs/{org}/teams/{team}/memberships/{login}"))
        .is_ok_and(|a| a.body["state"] == "active")
}
