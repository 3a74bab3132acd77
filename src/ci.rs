//! What lifeline knows about the environment it runs in: the actor, the
//! GitHub Actions workflow run, and the Actions files a step writes to
//! (`$GITHUB_STEP_SUMMARY`, `$GITHUB_OUTPUT`).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result};
use crate::git::Git;

/// Reads environment variables; tests substitute a map.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, key: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty())
    }
}

/// The GitHub Actions workflow run this process belongs to, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRun {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_attempt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl WorkflowRun {
    /// Reads `GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT`, `GITHUB_WORKFLOW`,
    /// `GITHUB_JOB`, and builds the run URL from `GITHUB_SERVER_URL` and
    /// `GITHUB_REPOSITORY`. `None` outside Actions.
    pub fn from_env(env: &dyn Env) -> Option<WorkflowRun> {
        let run_id = env.var("GITHUB_RUN_ID")?;
        let url = match (env.var("GITHUB_SERVER_URL"), env.var("GITHUB_REPOSITORY")) {
            (Some(server), Some(repo)) => Some(format!(
                "{}/{}/actions/runs/{}",
                server.trim_end_matches('/'),
                repo,
                run_id
            )),
            _ => None,
        };
        Some(WorkflowRun {
            run_id: Some(run_id),
            run_attempt: env.var("GITHUB_RUN_ATTEMPT"),
            workflow: env.var("GITHUB_WORKFLOW"),
            job: env.var("GITHUB_JOB"),
            url,
        })
    }
}

/// Who is acting: `GITHUB_ACTOR`, else git `user.name`, else `$USER`.
/// The prefix says where the name came from (`github:`, `git:`, `user:`).
pub fn actor(env: &dyn Env, git: Option<&Git>) -> String {
    if let Some(a) = env.var("GITHUB_ACTOR") {
        return format!("github:{a}");
    }
    if let Some(name) = git.and_then(|g| g.config_value("user.name")) {
        return format!("git:{name}");
    }
    if let Some(user) = env.var("USER").or_else(|| env.var("USERNAME")) {
        return format!("user:{user}");
    }
    "system:unknown".to_string()
}

/// True inside GitHub Actions.
pub fn in_github_actions(env: &dyn Env) -> bool {
    env.var("GITHUB_ACTIONS").as_deref() == Some("true")
}

/// Appends Markdown to `$GITHUB_STEP_SUMMARY` when it is set.
pub fn append_step_summary(env: &dyn Env, markdown: &str) -> Result<()> {
    if let Some(path) = env.var("GITHUB_STEP_SUMMARY") {
        append(Path::new(&path), crate::redact::redact(markdown).as_bytes())?;
    }
    Ok(())
}

/// Writes `name=value` outputs to `$GITHUB_OUTPUT` when it is set. Values
/// with newlines use the heredoc form with a delimiter that cannot occur in
/// the value.
pub fn set_outputs(env: &dyn Env, outputs: &[(&str, String)]) -> Result<()> {
    let Some(path) = env.var("GITHUB_OUTPUT") else {
        return Ok(());
    };
    let mut text = String::new();
    for (name, value) in outputs {
        if value.contains('\n') {
            let mut delim = String::from("LIFELINE_EOF");
            while value.contains(&delim) {
                delim.push('_');
            }
            text.push_str(&format!("{name}<<{delim}\n{value}\n{delim}\n"));
        } else {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
    append(Path::new(&path), crate::redact::redact(&text).as_bytes())
}

fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .at(path)?;
    f.write_all(bytes).at(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_run_builds_the_run_url() {
        let env = [
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_WORKFLOW", "Sync"),
            ("GITHUB_JOB", "sync-tasks"),
            ("GITHUB_SERVER_URL", "https://github.com/"),
            ("GITHUB_REPOSITORY", "acme/planning"),
        ];
        let run = WorkflowRun::from_env(&env).unwrap();
        assert_eq!(
            run.url.as_deref(),
            Some("https://github.com/acme/planning/actions/runs/42")
        );
        assert_eq!(run.run_attempt.as_deref(), Some("2"));
        assert!(WorkflowRun::from_env(&[("GITHUB_JOB", "x")]).is_none());
    }

    #[test]
    fn actor_prefers_github_then_user() {
        assert_eq!(
            actor(&[("GITHUB_ACTOR", "bot"), ("USER", "u")], None),
            "github:bot"
        );
        assert_eq!(actor(&[("USER", "u")], None), "user:u");
        assert_eq!(actor(&[("USER", "")], None), "system:unknown");
    }

    #[test]
    fn outputs_use_heredoc_for_multiline_values() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let p = out.to_str().unwrap();
        let env = [("GITHUB_OUTPUT", p)];
        set_outputs(&env, &[("healthy", "true".into()), ("text", "a\nb".into())]).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            text,
            "healthy=true\ntext<<LIFELINE_EOF\na\nb\nLIFELINE_EOF\n"
        );
    }
}
