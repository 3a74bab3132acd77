//! `lifeline restore` and `lifeline undo`: parse, confirm, call
//! [`crate::commands::restore::restore`], render.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use super::Output;
use super::output::{Format, TEXT_JSON, formats};
use crate::ci::Env;
use crate::commands::restore as cmd;
use crate::config::HumanDuration;
use crate::error::{Error, Result};
use crate::restore::{self, Action, Plan, Report, Status, Target};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A checkpoint ID, a unique prefix, `latest` or `latest-valid`
    pub id: String,
    /// Restore only this path (or directory); repeatable
    #[arg(long, value_name = "PATH")]
    pub only: Vec<PathBuf>,
    /// Print the plan; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask (required without a terminal)
    #[arg(long, visible_alias = "force")]
    pub yes: bool,
    /// Commit exactly the restored files, naming the checkpoint
    #[arg(long)]
    pub commit: bool,
    /// Keep the restored files even if they do not validate
    #[arg(long)]
    pub no_validate: bool,
    /// With a signing key set, restore a checkpoint from the remote that
    /// is unsigned or signed by another key
    #[arg(long)]
    pub allow_unsigned: bool,
    /// How long to wait for a guarded step (`lifeline run`) running in
    /// this repository to finish
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub wait: HumanDuration,
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// Print the plan; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask (required without a terminal)
    #[arg(long, visible_alias = "force")]
    pub yes: bool,
    /// How long to wait for a guarded step (`lifeline run`) running in
    /// this repository to finish
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub wait: HumanDuration,
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn restore(
    ws: &Workspace,
    cwd: &Path,
    env: &dyn Env,
    out: &Output,
    args: RestoreArgs,
) -> Result<i32> {
    let mut options = restore::Options::new(Target::Spec(args.id));
    for path in &args.only {
        let rel = ws.relative(cwd, path).ok_or_else(|| {
            Error::usage(
                format!("--only {}: not inside the repository", path.display()),
                None,
            )
        })?;
        options.only.push(rel);
    }
    options.dry_run = args.dry_run;
    options.commit = args.commit;
    options.validate = !args.no_validate;
    options.allow_unsigned = args.allow_unsigned;
    options.wait = Some(args.wait.as_duration());
    transaction(ws, env, out, &options, args.yes, args.format)
}

pub(crate) fn undo(ws: &Workspace, env: &dyn Env, out: &Output, args: UndoArgs) -> Result<i32> {
    let options = cmd::undo_options(args.dry_run, args.wait.as_duration());
    transaction(ws, env, out, &options, args.yes, args.format)
}

fn transaction(
    ws: &Workspace,
    env: &dyn Env,
    out: &Output,
    options: &restore::Options,
    yes: bool,
    format: Format,
) -> Result<i32> {
    let text = format == Format::Text;
    let mut confirm = |plan: &Plan| -> Result<bool> {
        if text {
            out.print(|w| write_plan(w, plan))?;
        }
        warn_uncommitted(out, plan);
        if yes {
            return Ok(true);
        }
        let n = plan.touched().count();
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::usage(
                format!(
                    "restore would change {n} file{} and there is no terminal to confirm: pass --yes (or --force)",
                    plural(n)
                ),
                Some("`--dry-run` shows the plan without changing anything".to_string()),
            ));
        }
        ask(&format!(
            "Restore {n} file{} from {}? [y/N] ",
            plural(n),
            plan.checkpoint
        ))
    };
    let report = cmd::restore(ws, env, options, &mut confirm, &mut |busy| {
        eprintln!("lifeline: {busy}")
    })?;
    if !text {
        let json = serde_json::to_string_pretty(&report).expect("reports serialize") + "\n";
        out.print(|w| w.write_all(json.as_bytes()))?;
        return Ok(report.exit_code());
    }
    let printed_plan = !matches!(
        report.status,
        Status::DryRun | Status::Unchanged | Status::Refused
    );
    out.print(|w| write_report(w, &report, printed_plan))?;
    if report.status == Status::DryRun
        && let Some(plan) = &report.plan
    {
        warn_uncommitted(out, plan);
    }
    Ok(report.exit_code())
}

/// Asks on the terminal (never stdin); anything but y/yes declines.
pub(super) fn ask(question: &str) -> Result<bool> {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(question.as_bytes());
    let _ = stderr.flush();
    let tty = std::fs::File::open("/dev/tty").map_err(|e| Error::io("/dev/tty", e))?;
    let mut answer = String::new();
    std::io::BufReader::new(tty)
        .read_line(&mut answer)
        .map_err(|e| Error::io("/dev/tty", e))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn warn_uncommitted(out: &Output, plan: &Plan) {
    let dirty = plan.uncommitted();
    if out.quiet || dirty.is_empty() {
        return;
    }
    super::eprint_line(format_args!(
        "warning: uncommitted changes will be overwritten: {} (the pre-restore checkpoint keeps them; `lifeline undo` brings them back)",
        dirty.join(", ")
    ));
}

pub(super) fn write_plan(w: &mut dyn Write, plan: &Plan) -> std::io::Result<()> {
    writeln!(
        w,
        "checkpoint {} ({}, {}{}): {}",
        plan.checkpoint,
        plan.kind,
        plan.created_at,
        if plan.checkpoint_valid {
            ""
        } else {
            ", INVALID at capture"
        },
        super::output::untrusted_line(&plan.operation)
    )?;
    let width = plan.changes.iter().map(|c| c.path.len()).max().unwrap_or(0);
    for c in &plan.changes {
        let stat = match (c.action, c.binary) {
            (Action::Unchanged, _) => String::new(),
            (_, true) => format!(
                "| binary {} -> {} bytes",
                c.size_before.map_or("-".into(), |s| s.to_string()),
                c.size_after.map_or("-".into(), |s| s.to_string())
            ),
            _ => format!("| +{} -{}", c.added, c.removed),
        };
        let line = format!("  {:9}  {:width$}  {stat}", c.action.as_str(), c.path);
        writeln!(w, "{}", line.trim_end())?;
    }
    for skipped in &plan.skipped {
        writeln!(
            w,
            "  {:9}  {}  ({})",
            "skipped", skipped.path, skipped.reason
        )?;
    }
    let counts = [
        Action::Restore,
        Action::Create,
        Action::Delete,
        Action::Unchanged,
    ]
    .map(|a| format!("{} {}", plan.count(a), a.as_str()));
    let added: usize = plan.changes.iter().map(|c| c.added).sum();
    let removed: usize = plan.changes.iter().map(|c| c.removed).sum();
    writeln!(w, "  {}; +{added} -{removed} lines", counts.join(", "))
}

fn write_report(w: &mut dyn Write, report: &Report, printed_plan: bool) -> std::io::Result<()> {
    if !printed_plan && let Some(plan) = &report.plan {
        write_plan(w, plan)?;
    }
    let touched = report.plan.as_ref().map_or(0, |p| p.touched().count());
    match report.status {
        Status::Restored => {
            writeln!(
                w,
                "restored {touched} file{} from {}",
                plural(touched),
                report.checkpoint
            )?;
            if let Some(safety) = &report.safety_checkpoint {
                writeln!(
                    w,
                    "safety checkpoint {safety} holds the previous state (`lifeline undo`)"
                )?;
            }
            if let Some(sha) = &report.commit {
                writeln!(w, "committed {sha}")?;
            }
            Ok(())
        }
        Status::DryRun => writeln!(w, "dry run: nothing changed"),
        Status::Unchanged => writeln!(
            w,
            "nothing to restore: the files already match {}",
            report.checkpoint
        ),
        Status::Cancelled => writeln!(w, "cancelled: nothing changed"),
        Status::Undone => {
            writeln!(
                w,
                "restore undone: the restored files did not validate, so the previous state is back"
            )?;
            for f in &report.invalid {
                writeln!(w, "  {} ({} error{})", f.path, f.errors, plural(f.errors))?;
                for finding in &f.findings {
                    writeln!(w, "    {finding}")?;
                }
            }
            if let Some(safety) = &report.safety_checkpoint {
                writeln!(w, "put back from safety checkpoint {safety}")?;
            }
            writeln!(
                w,
                "help: restore `latest-valid`, or pass --no-validate to keep an invalid checkpoint's files"
            )
        }
        Status::Refused => {
            writeln!(
                w,
                "refused checkpoint {}: nothing changed",
                report.checkpoint
            )?;
            for p in &report.problems {
                writeln!(w, "  {p}")?;
            }
            writeln!(
                w,
                "help: `lifeline checkpoint verify --all` lists damaged checkpoints; restore another one"
            )
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
