//! `lifeline config show`: the effective configuration, defaults filled in,
//! and what is never protected whatever the globs say.

use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::config::protected::Records;
use crate::workspace::Workspace;

/// What `config show` prints, in every format.
#[derive(Debug, Serialize)]
pub struct Effective<'a> {
    /// The file the configuration was read from (or would be).
    pub path: &'a Path,
    /// False when that file does not exist and the defaults apply.
    pub found: bool,
    pub config: &'a Config,
    /// lifeline's own records and git's, never in the protected set.
    #[serde(rename = "excluded_from_protection")]
    pub excluded: Vec<String>,
}

/// The configuration the workspace runs with.
pub fn show(ws: &Workspace) -> Effective<'_> {
    Effective {
        path: &ws.config_path,
        found: ws.config_found,
        config: &ws.config,
        excluded: Records::new(&ws.config).describe(),
    }
}
