//! Who may run recovery at a severity (the plan's authority column):
//! `[severity.P1] authority = ["@lead", "@acme/devops"]`. Empty means
//! anyone, with a warning. Teams are checked through the GitHub API.
//!
//! Two rules keep the policy out of reach of the people it restrains:
//!
//! - the policy is read from `lifeline.toml` on the remote's default
//!   branch, never from the checked-out ref: a workflow dispatched on a
//!   branch whose `lifeline.toml` says `authority = []` must not let
//!   anyone run a P0 recovery;
//! - who acted is both `GITHUB_ACTOR` and `GITHUB_TRIGGERING_ACTOR` (a
//!   re-run by someone else is that someone): each must be allowed.

use std::path::Path;

use super::RecoverOptions;
use crate::ci::Env;
use crate::config::{Config, SeverityPolicy};
use crate::error::{Error, Result};
use crate::git::Git;
use crate::workspace::Workspace;

/// `Ok` when every actor behind `operator` may run `options`' severity;
/// pushes a warning when no authority is configured.
pub(crate) fn check(
    ws: &Workspace,
    env: &dyn Env,
    options: &RecoverOptions,
    operator: &str,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let (policy, source) = policy(ws, env, warnings)?;
    let level = policy.level(options.severity);
    if level.authority.is_empty() {
        warnings.push(format!(
            "no authority is configured for {} in {source}: anyone may run this recovery (set [severity.{}] authority in lifeline.toml on the default branch)",
            options.severity, options.severity
        ));
        return Ok(());
    }
    let allowed = |login: &str| -> bool {
        level.authority.iter().any(|entry| {
            let entry = entry.trim_start_matches('@');
            match entry.split_once('/') {
                None => entry.eq_ignore_ascii_case(login),
                Some((org, team)) => {
                    team_member(ws, env, options.repo.as_deref(), org, team, login)
                }
            }
        })
    };
    let actors = actors(env, operator);
    let refused = match actors.as_slice() {
        [] => Some(operator.to_string()),
        all => all
            .iter()
            .find(|login| !allowed(login))
            .map(|login| format!("github:{login}")),
    };
    let Some(who) = refused else {
        return Ok(());
    };
    Err(Error::usage(
        format!(
            "{who} may not run {} recovery: the severity policy in {source} allows {}",
            options.severity,
            level.authority.join(", ")
        ),
        Some(format!(
            "ask one of them to run it (a re-run counts as the person who re-ran it), or lower the severity if the policy allows (`[severity.{}] authority` in lifeline.toml on the default branch)",
            options.severity
        )),
    ))
}

/// The GitHub logins behind this run: `GITHUB_ACTOR` and, when it differs,
/// `GITHUB_TRIGGERING_ACTOR`. Empty outside GitHub (`operator` is then a
/// git or system name, which no authority entry names).
fn actors(env: &dyn Env, operator: &str) -> Vec<String> {
    let mut logins: Vec<String> = ["GITHUB_ACTOR", "GITHUB_TRIGGERING_ACTOR"]
        .iter()
        .filter_map(|k| env.var(k))
        .collect();
    logins.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    if logins.is_empty()
        && let Some(login) = operator.strip_prefix("github:")
    {
        logins.push(login.to_string());
    }
    logins
}

/// The severity policy and where it was read. From the remote's default
/// branch when there is a remote; the local `lifeline.toml` only for a
/// repository without one, outside GitHub Actions. Inside Actions a policy
/// that cannot be read from the default branch is an error: running with
/// the dispatched ref's policy is exactly what must not happen.
fn policy(
    ws: &Workspace,
    env: &dyn Env,
    warnings: &mut Vec<String>,
) -> Result<(SeverityPolicy, String)> {
    let from_default = ws
        .git
        .as_ref()
        .ok_or_else(|| "this is not a git repository".to_string())
        .and_then(|git| default_branch_policy(git, env, &ws.config.checkpoint.remote));
    match from_default {
        Ok(found) => Ok(found),
        Err(why) if crate::ci::in_github_actions(env) => Err(Error::environment(
            format!("cannot read the authority policy from the default branch: {why}"),
            Some(
                "check out the repository with its remote (actions/checkout does), so lifeline can read lifeline.toml on the default branch".into(),
            ),
        )),
        Err(why) => {
            warnings.push(format!(
                "the authority policy comes from the local lifeline.toml: {why}"
            ));
            Ok((ws.config.severity.clone(), "the local lifeline.toml".into()))
        }
    }
}

/// The policy in `lifeline.toml` on `remote`'s default branch (the plan's
/// defaults when that branch has no `lifeline.toml`), fetching the branch
/// when it is not here yet.
fn default_branch_policy(
    git: &Git,
    env: &dyn Env,
    remote: &str,
) -> std::result::Result<(SeverityPolicy, String), String> {
    let remote = git.checked_remote(remote).map_err(|e| e.to_string())?;
    let branch = default_branch(git, env, remote)
        .ok_or_else(|| format!("the default branch of `{remote}` is unknown"))?;
    let tracking = format!("refs/remotes/{remote}/{branch}");
    if git.resolve_commit(&tracking).is_none() {
        let mut fetch = vec!["fetch", "--quiet", "--no-tags"];
        if git
            .run(["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|s| s.trim() == "true")
        {
            fetch.push("--depth=1");
        }
        fetch_branch(git, &fetch, remote, branch.as_str(), &tracking)
            .map_err(|e| format!("could not fetch {remote}/{branch}: {e}"))?;
    }
    let source = format!("{remote}/{branch}:{}", crate::config::FILE_NAME);
    let spec = format!("{tracking}:{}", crate::config::FILE_NAME);
    if !git.succeeds(["cat-file", "-e", &spec]) {
        return Ok((SeverityPolicy::default(), source));
    }
    let bytes = git
        .run_bytes(["cat-file", "blob", &spec], None)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{source} is not UTF-8"))?;
    let config = Config::parse(&text, Path::new(&source)).map_err(|e| e.to_string())?;
    Ok((config.severity, source))
}

/// `remote`'s default branch: its `refs/remotes/<remote>/HEAD`, else what
/// the remote says its HEAD is, else what GitHub wrote in the workflow
/// run's event (`repository.default_branch` in `$GITHUB_EVENT_PATH`).
fn default_branch(git: &Git, env: &dyn Env, remote: &str) -> Option<String> {
    let prefix = format!("refs/remotes/{remote}/");
    let local = git
        .run(["symbolic-ref", "--quiet", &format!("{prefix}HEAD")])
        .ok()
        .and_then(|s| s.trim().strip_prefix(&prefix).map(str::to_string));
    let branch = local.or_else(|| {
        let out = remote_head(git, remote).ok()?;
        out.lines().find_map(|l| {
            l.strip_prefix("ref: refs/heads/")?
                .split_once('\t')
                .filter(|(_, name)| *name == "HEAD")
                .map(|(b, _)| b.to_string())
        })
    });
    let branch = branch.or_else(|| {
        let event = std::fs::read(env.var("GITHUB_EVENT_PATH")?).ok()?;
        let event: serde_json::Value = serde_json::from_slice(&event).ok()?;
        event["repository"]["default_branch"]
            .as_str()
            .map(str::to_string)
    })?;
    crate::git::branch_name_ok(&branch).then_some(branch)
}

/// Runs `fetch` (git fetch and its options) for `branch` of `remote` into
/// `tracking`. The `--` keeps a remote name from ever being read as an
/// option (`--upload-pack=…` runs a command), whatever checked it before.
fn fetch_branch(
    git: &Git,
    fetch: &[&str],
    remote: &str,
    branch: &str,
    tracking: &str,
) -> Result<()> {
    let refspec = format!("+refs/heads/{branch}:{tracking}");
    let mut args = fetch.to_vec();
    args.extend(["--", remote, &refspec]);
    git.run(&args).map(drop)
}

/// What `remote` says its HEAD is (`git ls-remote --symref`); `--` as in
/// [`fetch_branch`].
fn remote_head(git: &Git, remote: &str) -> Result<String> {
    git.run(["ls-remote", "--symref", "--", remote, "HEAD"])
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_read_as_remote, hostile_remote, repo_with_origin};

    // The remote-name check in front refuses these names; each test calls
    // the function behind it directly, so only its `--` stands in the way.

    #[test]
    fn fetching_the_default_branch_reads_an_option_as_a_remote_name() {
        let (tmp, work) = repo_with_origin();
        let (remote, marker) = hostile_remote(tmp.path(), "upload-pack");
        let e = fetch_branch(
            &Git::new(&work),
            &["fetch", "--quiet", "--no-tags"],
            &remote,
            "main",
            "refs/remotes/x/main",
        )
        .unwrap_err();
        assert_read_as_remote(&e.to_string(), &remote, &marker);
    }

    #[test]
    fn asking_the_remote_head_reads_an_option_as_a_remote_name() {
        let (tmp, work) = repo_with_origin();
        let (remote, marker) = hostile_remote(tmp.path(), "upload-pack");
        let e = remote_head(&Git::new(&work), &remote).unwrap_err();
        assert_read_as_remote(&e.to_string(), &remote, &marker);
    }
}
