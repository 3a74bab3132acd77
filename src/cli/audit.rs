//! `lifeline audit ...`: parses, calls `commands::audit`, renders.

use std::path::Path;

use clap::Subcommand;

use super::Output;
use crate::ci::Env;
use crate::error::Result;
use crate::workspace::Workspace;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// (being built: issue 5)
    Verify,
}

pub(crate) fn run(
    _ws: &Workspace,
    _cwd: &Path,
    _env: &dyn Env,
    _out: &Output,
    _cmd: AuditCommand,
) -> Result<i32> {
    Ok(0)
}
