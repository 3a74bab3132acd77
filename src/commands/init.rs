//! `lifeline init`: writes a commented `lifeline.toml` at the root.

use std::path::PathBuf;

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

/// Writes `lifeline.toml`. An existing file with other content is left
/// alone (an error) unless `force`.
pub fn run(ws: &Workspace, force: bool, dry_run: bool) -> Result<Vec<InitOutcome>> {
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
                format!("{} already exists and differs from the template", path.display()),
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
    fn template_parses_to_the_defaults() {
        let config =
            crate::config::Config::parse(CONFIG_TEMPLATE, std::path::Path::new("lifeline.toml"))
                .unwrap();
        assert_eq!(config, crate::config::Config::default());
    }
}
