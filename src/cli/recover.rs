//! `lifeline recover` and `lifeline incident`: parse, call
//! `commands::recover` / `commands::incident`, render.

use std::fmt::Write as _;
use std::io::IsTerminal;

use clap::{Args, Subcommand};

use super::Output;
use super::output::{Format, TEXT_JSON, formats};
use crate::ci::Env;
use crate::commands::{incident as incident_cmd, recover as cmd};
use crate::config::Severity;
use crate::error::Result;
use crate::recover::incident::{self, Incident};
use crate::recover::{RecoverOptions, RecoverOutcome, RecoveryType};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
#[command(
    override_usage = "lifeline recover <TYPE> --severity <P0-P3> [--checkpoint <ID>] [--commit [--push]] [--follow-up-issue] [--dry-run] [--yes] [--wait <DURATION>]\n       lifeline recover resume <INC-ID> [--yes]"
)]
pub struct RecoverArgs {
    /// The runbook: task-file-corruption, sprint-config-corruption,
    /// sync-failure-cascade, git-history-corruption,
    /// complete-automation-failure; or `resume` to re-enable what an
    /// incident disabled
    #[arg(value_name = "TYPE")]
    pub kind: String,
    /// With `resume`: the incident ID (its file name without .md)
    #[arg(value_name = "INC-ID")]
    pub incident: Option<String>,
    /// The incident's severity (P0-P3; `P1-High` accepted)
    #[arg(long)]
    pub severity: Option<Severity>,
    /// Restore this checkpoint (ID, prefix, latest, latest-valid)
    #[arg(long, value_name = "ID")]
    pub checkpoint: Option<String>,
    /// Commit exactly the files the runbook changed, plus the incident record
    #[arg(long)]
    pub commit: bool,
    /// Push the commit; a rejected push is retried after rebasing
    #[arg(long, requires = "commit")]
    pub push: bool,
    /// Open the post-incident follow-up issue
    #[arg(long)]
    pub follow_up_issue: bool,
    /// Say what would be done; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask (required without a terminal); also allows destructive
    /// repairs (moving a broken ref back)
    #[arg(long, visible_alias = "force")]
    pub yes: bool,
    /// How long to wait for a guarded step (`lifeline run`) running in
    /// this repository to finish
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub wait: crate::config::HumanDuration,
    /// Repository `owner/name` for API calls
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// Output format
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum IncidentCommand {
    /// List incident records, oldest first
    #[command(
        after_help = "Examples:\n  lifeline incident list\n  lifeline incident list --format json\n\nExit codes:\n  0  listed\n  2  an I/O error"
    )]
    List {
        #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
        format: Format,
    },
    /// Print one incident record
    #[command(
        after_help = "Examples:\n  lifeline incident show INC-20261125T120700Z-7f3a\n  lifeline incident show INC-2026 --format json\n\nExit codes:\n  0  shown\n  2  no such incident"
    )]
    Show {
        id: String,
        #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
        format: Format,
    },
    /// Add a note to an incident's record
    #[command(
        after_help = "Examples:\n  lifeline incident note INC-20261125T120700Z-7f3a \"root cause: expired token\"\n\nExit codes:\n  0  noted\n  2  no such incident"
    )]
    Note { id: String, text: String },
    /// Mark an incident resolved
    #[command(
        after_help = "Examples:\n  lifeline incident resolve INC-20261125T120700Z-7f3a --note \"automation re-enabled\"\n\nExit codes:\n  0  resolved\n  2  no such incident"
    )]
    Resolve {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
}

/// Like `restore`: a run that changes the repository needs `--yes` or a
/// person at a terminal who says yes; without either nothing changes and
/// the exit code is 2.
fn confirm(args: &RecoverArgs) -> Result<bool> {
    if args.dry_run || args.yes {
        return Ok(true);
    }
    let what = if args.kind == "resume" {
        format!(
            "recover resume re-enables what incident {} disabled",
            args.incident.as_deref().unwrap_or("?")
        )
    } else {
        format!("recover {} changes the repository (and GitHub)", args.kind)
    };
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(crate::Error::usage(
            format!("{what} and there is no terminal to confirm: pass --yes (or --force)"),
            Some("`--dry-run` shows the plan without changing anything".into()),
        ));
    }
    super::restore::ask(&format!("{what}. Go ahead? [y/N] "))
}

pub(crate) fn run(ws: &Workspace, env: &dyn Env, out: &Output, args: RecoverArgs) -> Result<i32> {
    if !confirm(&args)? {
        out.print(|w| writeln!(w, "cancelled: nothing changed"))?;
        return Ok(1);
    }
    let outcome = if args.kind == "resume" {
        let id = args.incident.ok_or_else(|| {
            crate::Error::usage(
                "`recover resume` needs the incident ID",
                Some("`lifeline incident list` shows them".into()),
            )
        })?;
        cmd::resume(ws, env, &id, args.repo.as_deref())?
    } else {
        let kind: RecoveryType = args
            .kind
            .parse()
            .map_err(|m: String| crate::Error::usage(m, None))?;
        let severity = args.severity.ok_or_else(|| {
            crate::Error::usage(
                "--severity is required (P0, P1, P2 or P3)",
                Some("the severity decides who may run recovery and the response deadline".into()),
            )
        })?;
        let options = RecoverOptions {
            kind,
            severity,
            checkpoint: args.checkpoint,
            commit: args.commit,
            push: args.push,
            follow_up_issue: args.follow_up_issue,
            dry_run: args.dry_run,
            yes: args.yes,
            repo: args.repo,
            wait: args.wait.as_duration(),
        };
        cmd::run(ws, env, &options, &mut |busy| eprintln!("lifeline: {busy}"))?
    };
    if !out.quiet {
        for w in &outcome.warnings {
            super::eprint_line(format_args!("warning: {w}"));
        }
    }
    let text = if args.format == Format::Json {
        serde_json::to_string_pretty(&outcome).expect("outcome serializes") + "\n"
    } else {
        render(&outcome)
    };
    out.print(|w| w.write_all(text.as_bytes()))?;
    Ok(outcome.exit_code())
}

fn render(o: &RecoverOutcome) -> String {
    let mut s = String::new();
    match (&o.incident, o.outcome.as_str()) {
        (_, "planned") => {
            let _ = writeln!(s, "dry run: nothing changed; the runbook would:");
        }
        (Some(id), outcome) => {
            let _ = writeln!(s, "incident {id}: {outcome}");
        }
        (None, outcome) => {
            let _ = writeln!(s, "{outcome}");
        }
    }
    for step in &o.steps {
        let _ = writeln!(s, "  - {step}");
    }
    if let Some(plan) = &o.plan {
        let mut buf = Vec::new();
        let _ = super::restore::write_plan(&mut buf, plan);
        s.push_str(&String::from_utf8_lossy(&buf));
    }
    if let Some(record) = &o.record {
        let _ = writeln!(s, "record: {record}");
    }
    if let Some(sha) = &o.commit {
        let _ = writeln!(s, "commit: {sha}");
    }
    if let Some(n) = o.follow_up_issue {
        let _ = writeln!(s, "follow-up issue: #{n}");
    }
    s
}

pub(crate) fn incident(ws: &Workspace, out: &Output, cmd: IncidentCommand) -> Result<i32> {
    match cmd {
        IncidentCommand::List { format } => {
            let all: Vec<Incident> = incident_cmd::list(ws)?;
            let text = if format == Format::Json {
                serde_json::to_string_pretty(&all).expect("serializes") + "\n"
            } else if all.is_empty() {
                format!("no incidents in {}\n", incident::DIR)
            } else {
                let mut s = String::new();
                for i in &all {
                    let _ = writeln!(
                        s,
                        "{}  {}  {:<8}  {:<28}  {}",
                        i.id,
                        i.severity,
                        i.status,
                        i.kind,
                        i.outcome.as_deref().unwrap_or("running")
                    );
                }
                s
            };
            out.print(|w| w.write_all(text.as_bytes()))?;
        }
        IncidentCommand::Show { id, format } => {
            let i = incident_cmd::show(ws, &id)?;
            let text = if format == Format::Json {
                serde_json::to_string_pretty(&i).expect("serializes") + "\n"
            } else {
                i.render()
            };
            out.print(|w| w.write_all(text.as_bytes()))?;
        }
        IncidentCommand::Note { id, text } => {
            let i = incident_cmd::note(ws, &id, &text)?;
            out.print(|w| writeln!(w, "noted on {}", i.id))?;
        }
        IncidentCommand::Resolve { id, note } => {
            let i = incident_cmd::resolve(ws, &id, note.as_deref())?;
            out.print(|w| writeln!(w, "resolved {}", i.id))?;
        }
    }
    Ok(0)
}
