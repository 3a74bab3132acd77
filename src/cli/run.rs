//! `lifeline run -- CMD`: parse, call [`crate::commands::run::run`],
//! render. The command owns stdout; lifeline's own text goes to stderr,
//! and `--format json` prints the outcome object on stdout after it. In
//! GitHub Actions the step also gets the outputs `success`, `checkpoint`,
//! `classification`, `severity` and `rolled_back`.

use std::ffi::OsString;
use std::io::Write;

use clap::Args;

use super::Output;
use super::output::{Format, TEXT_JSON, formats};
use crate::ci::Env;
use crate::commands::run::{self as cmd, Progress};
use crate::config::HumanDuration;
use crate::error::Result;
use crate::run::{OnFailure, Rollback, RunOptions};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Checkpoint type
    #[arg(long = "type", value_name = "TYPE", default_value = "manual")]
    pub kind: String,
    /// What the step does [default: the command line]
    #[arg(long, value_name = "TEXT")]
    pub operation: Option<String>,
    /// What to do when the command fails or leaves invalid files
    #[arg(long, value_enum, default_value_t = OnFailure::Rollback)]
    pub on_failure: OnFailure,
    /// Retry a rate-limited command up to N times (rolled back before
    /// each); needs --idempotent
    #[arg(long, value_name = "N", default_value_t = 0, requires = "idempotent")]
    pub retries: u32,
    /// Running the command twice is safe (a rollback restores only the
    /// protected files, not what the command did elsewhere)
    #[arg(long)]
    pub idempotent: bool,
    /// The first retry's wait, doubled each time with jitter
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub backoff: HumanDuration,
    /// The longest wait between retries (a Retry-After included)
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub max_backoff: HumanDuration,
    /// How long to wait for another guarded step in this repository
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub wait: HumanDuration,
    /// Pass the command's stdout and stderr through byte for byte,
    /// without redacting secrets (for a step that writes binary data)
    #[arg(long)]
    pub raw_output: bool,
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

pub(crate) fn run(ws: &Workspace, env: &dyn Env, out: &Output, args: RunArgs) -> Result<i32> {
    let options = RunOptions {
        kind: args.kind,
        operation: args.operation,
        on_failure: args.on_failure,
        retries: args.retries,
        idempotent: args.idempotent,
        backoff: args.backoff.as_duration(),
        max_backoff: args.max_backoff.as_duration(),
        wait: args.wait.as_duration(),
        command: args.command,
        dir: None,
        quiet: false,
        raw_output: args.raw_output,
    };
    let report = cmd::run(ws, env, &options, &mut say)?;
    cmd::publish_to_actions(env, &report)?;
    if args.format == Format::Json {
        let json = serde_json::to_string_pretty(&report).expect("reports serialize") + "\n";
        out.print(|w| w.write_all(json.as_bytes()))?;
        return Ok(report.exit);
    }
    if out.quiet {
        return Ok(report.exit);
    }
    let mut e = std::io::stderr().lock();
    if report.success {
        let _ = writeln!(
            e,
            "lifeline: `{}` succeeded; protected files valid (checkpoint {})",
            report.command, report.checkpoint
        );
        return Ok(0);
    }
    let class = match (report.classification, report.severity) {
        (Some(p), Some(s)) => format!("; classified as {p} ({s})"),
        _ => String::new(),
    };
    let _ = writeln!(
        e,
        "lifeline: `{}`: {}{class}",
        report.command,
        report.what_happened()
    );
    for finding in &report.findings {
        let _ = writeln!(
            e,
            "  {}: {} {}",
            finding.location(),
            finding.code,
            finding.message
        );
    }
    if report.findings_total > report.findings.len() {
        let _ = writeln!(
            e,
            "  … and {} more",
            report.findings_total - report.findings.len()
        );
    }
    let _ = match report.rollback {
        Rollback::RolledBack => writeln!(
            e,
            "  rolled back to checkpoint {}; what the command left is in {}",
            report.checkpoint,
            report.failed_state.as_deref().unwrap_or("-")
        ),
        Rollback::Unchanged => writeln!(
            e,
            "  the protected files were unchanged (checkpoint {})",
            report.checkpoint
        ),
        Rollback::Kept => writeln!(
            e,
            "  kept as the command left them (--on-failure keep); `lifeline restore {}` rolls back",
            report.checkpoint
        ),
        Rollback::NotNeeded => Ok(()),
    };
    Ok(report.exit)
}

/// What the step's progress says on stderr, whatever `--format`.
fn say(progress: &Progress) {
    match progress {
        Progress::Waiting { holder, wait } => eprintln!(
            "lifeline: another guarded step{} is running in this repository; waiting up to {} for it to finish (--wait)",
            holder
                .as_deref()
                .map_or(String::new(), |pid| format!(" (pid {pid})")),
            HumanDuration::from_secs(wait.as_secs()),
        ),
        Progress::Retrying { attempt, of, wait } => eprintln!(
            "lifeline: rate limited (attempt {attempt} of {of}); retrying in {:.1}s",
            wait.as_secs_f64()
        ),
    }
}
