//! `lifeline drill`: parses, runs the scenarios, renders the table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::Output;
use crate::ci::{self, Env};
use crate::drill::{self, DrillReport};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Repository whose files the drill copies [default: the repository root]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Run only this scenario (repeatable) [default: all]
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = DrillFormat::Text)]
    pub format: DrillFormat,
    /// Self-test of the drill: remove the baseline checkpoints so recovery must fail
    #[arg(long, hide = true)]
    pub break_store: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DrillFormat {
    Text,
    Json,
    Markdown,
}

pub(crate) fn run(
    ws: &Workspace,
    cwd: &Path,
    env: &dyn Env,
    out: &Output,
    args: DrillArgs,
) -> Result<i32> {
    let source = match &args.repo {
        Some(p) => cwd.join(p),
        None => ws.root.clone(),
    };
    if !source.is_dir() {
        return Err(Error::usage(
            format!("--repo {}: no such directory", source.display()),
            None,
        ));
    }
    let report = drill::run(ws, env, &source, &args.scenarios, args.break_store)?;
    let text = match args.format {
        DrillFormat::Text => text(&report),
        DrillFormat::Json => serde_json::to_string_pretty(&report).expect("serializes") + "\n",
        DrillFormat::Markdown => markdown(&report),
    };
    out.print(|w| w.write_all(text.as_bytes()))?;
    if ci::in_github_actions(env) {
        ci::append_step_summary(env, &markdown(&report))?;
    }
    Ok(if report.passed() { 0 } else { 1 })
}

fn text(r: &DrillReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<28} {:<52} {:>9} {:>10} {:>9} {:>10}",
        "scenario", "detected by", "detect ms", "recover ms", "recovered", "bytes lost"
    );
    for sc in &r.scenarios {
        let _ = writeln!(
            s,
            "{:<28} {:<52} {:>9} {:>10} {:>9} {:>10}",
            sc.name,
            if sc.detected_by.is_empty() {
                "-"
            } else {
                &sc.detected_by
            },
            sc.detect_ms,
            sc.recover_ms,
            if sc.recovered { "yes" } else { "NO" },
            sc.bytes_lost
        );
        if let Some(reason) = &sc.reason {
            let _ = writeln!(s, "    ^ {reason}");
        }
    }
    let ok = r
        .scenarios
        .iter()
        .filter(|s| s.recovered && s.bytes_lost == 0)
        .count();
    let _ = writeln!(
        s,
        "\n{ok}/{} scenarios recovered with no data lost{}",
        r.scenarios.len(),
        if r.passed() {
            ""
        } else {
            " — the drill FAILED"
        }
    );
    s
}

fn markdown(r: &DrillReport) -> String {
    let mut s = String::from(
        "## lifeline drill\n\n| Scenario | Detected by | Detect ms | Recover ms | Recovered | Bytes lost |\n|---|---|---:|---:|---|---:|\n",
    );
    for sc in &r.scenarios {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            sc.name,
            sc.detected_by.replace('|', "\\|"),
            sc.detect_ms,
            sc.recover_ms,
            if sc.recovered { "✅" } else { "❌" },
            sc.bytes_lost
        );
    }
    s.push('\n');
    s
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only records newer than this, e.g. 30d, 12h
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<crate::config::HumanDuration>,
    /// Output format
    #[arg(long, value_enum, default_value_t = DrillFormat::Text)]
    pub format: DrillFormat,
}

fn parse_duration(s: &str) -> std::result::Result<crate::config::HumanDuration, String> {
    s.parse()
}

pub(crate) fn report(ws: &Workspace, env: &dyn Env, out: &Output, args: ReportArgs) -> Result<i32> {
    let since = args.since.and_then(|d| {
        jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(d.as_secs() as i64))
            .ok()
    });
    let report = crate::report::build(ws, since)?;
    let text = match args.format {
        DrillFormat::Text => crate::report::text(&report),
        DrillFormat::Json => serde_json::to_string_pretty(&report).expect("serializes") + "\n",
        DrillFormat::Markdown => crate::report::markdown(&report),
    };
    out.print(|w| w.write_all(text.as_bytes()))?;
    if ci::in_github_actions(env) {
        ci::append_step_summary(env, &crate::report::markdown(&report))?;
    }
    Ok(0)
}
