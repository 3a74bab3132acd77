//! `lifeline report`: parses, calls `commands::report`, renders the
//! typed report.

use clap::{Args, ValueEnum};

use super::Output;
use crate::ci::{self, Env};
use crate::error::Result;
use crate::report::{self, Links};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only records newer than this, e.g. 30d, 12h (open incidents and
    /// alerts are listed however old)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<crate::config::HumanDuration>,
    /// Output format; `html` is one self-contained page with charts that
    /// loads nothing from the network
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
    Html,
}

fn parse_duration(s: &str) -> std::result::Result<crate::config::HumanDuration, String> {
    s.parse()
}

pub(crate) fn run(ws: &Workspace, env: &dyn Env, out: &Output, args: ReportArgs) -> Result<i32> {
    let report = crate::commands::report::run(ws, args.since, &Links::from_env(env))?;
    let text = match args.format {
        ReportFormat::Text => report::text(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report).expect("serializes") + "\n",
        ReportFormat::Markdown => report::markdown(&report),
        ReportFormat::Html => report::html::page(&report),
    };
    out.print(|w| w.write_all(text.as_bytes()))?;
    if ci::in_github_actions(env) {
        ci::append_step_summary(env, &report::markdown(&report))?;
    }
    Ok(0)
}
