//! `lifeline checkpoint ...`: parses, calls `commands::checkpoint`, renders.

use std::path::Path;

use clap::Subcommand;

use super::Output;
use crate::ci::Env;
use crate::error::Result;
use crate::workspace::Workspace;

#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// (being built: issue 3)
    List,
}

pub(crate) fn run(
    _ws: &Workspace,
    _cwd: &Path,
    _env: &dyn Env,
    _out: &Output,
    _cmd: CheckpointCommand,
) -> Result<i32> {
    Ok(0)
}
