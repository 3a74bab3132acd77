//! `lifeline init`: writes a commented `lifeline.toml` at the root and the
//! `.gitattributes` line that lets git merge two clones' audit logs.

use std::path::PathBuf;

use crate::audit::Event;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The commented configuration `init` writes; it parses to the defaults.
pub const CONFIG_TEMPLATE: &str = include_str!("../../templates/lifeline.toml");

/// What `init` did to each file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Overwritten,
    Unchanged,
    /// `--dry-run`: would be created or overwritten.
    WouldWrite,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct InitOutcome {
    pub path: PathBuf,
    pub action: Action,
}

/// Writes `lifeline.toml` (an existing file with other content is left
/// alone, an error, unless `force`) and adds the audit log's
/// `merge=union` line to `.gitattributes`. Records an audit entry unless
/// `dry_run`, for a failure too.
pub fn run(ws: &Workspace, force: bool, dry_run: bool) -> Result<Vec<InitOutcome>> {
    let result = write_config(ws, force, dry_run).and_then(|mut outcomes| {
        outcomes.push(write_gitattributes(ws, dry_run)?);
        Ok(outcomes)
    });
    if dry_run {
        return result;
    }
    let env = crate::ci::ProcessEnv;
    let event = match &result {
        Ok(outcomes) => {
            let mut event = Event::new("lifeline", "init").detail("force", force);
            for o in outcomes.iter().filter(|o| o.action != Action::Unchanged) {
                if let Some(rel) = crate::paths::relative_to(&ws.root, &o.path) {
                    event = event.file(rel);
                }
            }
            event
        }
        Err(e) => Event::new("lifeline", "init")
            .detail("force", force)
            .failure(e.to_string()),
    };
    let recorded = crate::audit::record(ws, &env, &event);
    let outcomes = result?;
    recorded?;
    Ok(outcomes)
}

/// The `.gitattributes` line for the configured audit directory.
pub fn gitattributes_line(ws: &Workspace) -> String {
    format!(
        "{}/*.jsonl merge=union",
        ws.config.audit.dir.trim_end_matches('/')
    )
}

/// Appends the audit line to `.gitattributes` unless a line already says
/// it; other lines are kept as they are.
fn write_gitattributes(ws: &Workspace, dry_run: bool) -> Result<InitOutcome> {
    let path = ws.root.join(".gitattributes");
    let line = gitattributes_line(ws);
    let (existing, mode) = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mode = std::fs::metadata(&path)
                .map(|m| crate::atomic::mode_of(&m))
                .unwrap_or(0o644);
            (Some(text), mode)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, 0o644),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let present = existing.as_deref().is_some_and(|text| {
        text.lines()
            .any(|l| l.split_whitespace().eq(line.split_whitespace()))
    });
    let action = match &existing {
        _ if present => Action::Unchanged,
        _ if dry_run => Action::WouldWrite,
        Some(_) => Action::Overwritten,
        None => Action::Created,
    };
    if matches!(action, Action::Created | Action::Overwritten) {
        let mut text = existing.unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        crate::atomic::write(&path, text.as_bytes(), Some(mode))?;
    }
    Ok(InitOutcome { path, action })
}

fn write_config(ws: &Workspace, force: bool, dry_run: bool) -> Result<Vec<InitOutcome>> {
    let path = ws.root.join(crate::config::FILE_NAME);
    let existing = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&path, e)),
    };
    let action = match &existing {
        Some(bytes) if bytes == CONFIG_TEMPLATE.as_bytes() => Action::Unchanged,
        Some(_) if !force => {
            return Err(Error::usage(
                format!(
                    "{} already exists and differs from the template",
                    path.display()
                ),
                Some("keep it, or pass --force to overwrite it".into()),
            ));
        }
        _ if dry_run => Action::WouldWrite,
        Some(_) => Action::Overwritten,
        None => Action::Created,
    };
    if matches!(action, Action::Created | Action::Overwritten) {
        crate::atomic::write(&path, CONFIG_TEMPLATE.as_bytes(), None)?;
    }
    Ok(vec![InitOutcome { path, action }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitattributes_line_is_added_once_and_keeps_other_lines() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::discover(dir.path(), Some(dir.path()), None).unwrap();
        let path = dir.path().join(".gitattributes");
        std::fs::write(&path, "*.png binary").unwrap();
        assert_eq!(
            write_gitattributes(&ws, true).unwrap().action,
            Action::WouldWrite
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "*.png binary");
        assert_eq!(
            write_gitattributes(&ws, false).unwrap().action,
            Action::Overwritten
        );
        assert_eq!(
            write_gitattributes(&ws, false).unwrap().action,
            Action::Unchanged
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "*.png binary\ndocs/audit/*.jsonl merge=union\n"
        );
    }

    #[test]
    fn template_parses_to_the_defaults() {
        let config =
            crate::config::Config::parse(CONFIG_TEMPLATE, std::path::Path::new("lifeline.toml"))
                .unwrap();
        assert_eq!(config, crate::config::Config::default());
    }
}
