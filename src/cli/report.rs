//! `lifeline report`: parses, calls `commands::report`, renders the
//! typed report.

use clap::Args;

use super::Output;
use super::output::{Format, formats};
use crate::ci::{self, Env};
use crate::error::Result;
use crate::report::{self, Links};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only records newer than this, e.g. 30d, 12h (open incidents and
    /// alerts are listed however old)
    #[arg(long, value_name = "DURATION")]
    pub since: Option<crate::config::HumanDuration>,
    /// Output format; `html` is one self-contained page with charts that
    /// loads nothing from the network
    #[arg(long, value_parser = formats(&[Format::Text, Format::Json, Format::Markdown, Format::Html]), default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn run(ws: &Workspace, env: &dyn Env, out: &Output, args: ReportArgs) -> Result<i32> {
    let report = crate::commands::report::run(ws, args.since, &Links::from_env(env))?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report).expect("serializes") + "\n",
        Format::Markdown => report::markdown(&report),
        Format::Html => report::html::page(&report),
        _ => report::text(&report),
    };
    out.print(|w| w.write_all(text.as_bytes()))?;
    if ci::in_github_actions(env) {
        ci::append_step_summary(env, &report::markdown(&report))?;
    }
    Ok(0)
}
