//! `lifeline checkpoint ...`: parses, calls `commands::checkpoint`, renders.

use std::io::Write;
use std::path::Path;

use clap::{Args, Subcommand};

use super::Output;
use super::output::{Format, TEXT_JSON, formats};
use crate::checkpoint::prune::Policy;
use crate::ci::Env;
use crate::commands::checkpoint::{self as cmd, VerifyTarget};
use crate::config::HumanDuration;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum CheckpointCommand {
    /// Snapshot the protected set (working tree), the git state, actor and run
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline checkpoint create                 # --type manual\n",
        "  lifeline checkpoint create --type task-sync --operation \"nightly TASK.md sync\"\n",
        "  ID=$(lifeline checkpoint create --type manual --operation \"hand edit\" --quiet)\n",
        "  lifeline checkpoint create --type sprint-archive --operation rotate --push\n\n",
        "Types: task-sync, sprint-archive, emergency, manual, pre-restore, and\n",
        "[checkpoint] types in lifeline.toml.\n\n",
        "Exit codes:\n",
        "  0  created (even when some files are invalid: the manifest records it)\n",
        "  2  unknown type, unreadable file, git or push failure"
    ))]
    Create(CreateArgs),
    /// List checkpoints, newest first
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline checkpoint list\n",
        "  lifeline checkpoint list --format json | jq '.checkpoints[0].id'\n\n",
        "Exit codes:\n",
        "  0  listed\n",
        "  2  configuration, git or I/O error"
    ))]
    List(ListArgs),
    /// Show one checkpoint's manifest
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline checkpoint show latest\n",
        "  lifeline checkpoint show task-sync-20261123      # a unique prefix\n",
        "  lifeline checkpoint show latest-valid --format json\n\n",
        "Exit codes:\n",
        "  0  shown\n",
        "  2  no such checkpoint, an ambiguous prefix, or a corrupt manifest"
    ))]
    Show(ShowArgs),
    /// Read back and rehash every file against the manifest
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline checkpoint verify                 # the latest checkpoint\n",
        "  lifeline checkpoint verify latest-valid\n",
        "  lifeline checkpoint verify --all --format json\n\n",
        "Exit codes:\n",
        "  0  every file matches its manifest\n",
        "  1  a file or manifest is damaged or missing (each is reported with its path)\n",
        "  2  no such checkpoint, or a git or I/O error"
    ))]
    Verify(VerifyArgs),
    /// Remove old checkpoints by retention policy
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline checkpoint prune --keep-last 20 --dry-run\n",
        "  lifeline checkpoint prune --keep-within 7d --keep-daily 30 --keep-weekly 12 --yes\n\n",
        "Never removed: the newest valid checkpoint, the newest pre-restore one\n",
        "(undo needs it), and any an open incident refers to. --keep-within counts\n",
        "back from the newest checkpoint. In the git store, `git gc` reclaims the\n",
        "space later; pushed copies on the remote are not touched.\n\n",
        "Exit codes:\n",
        "  0  pruned (or, with --dry-run, planned)\n",
        "  2  no policy given, --yes missing, or a git or I/O error"
    ))]
    Prune(PruneArgs),
    /// Push checkpoints to the remote
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline checkpoint push\n",
        "  lifeline checkpoint push --remote backup\n\n",
        "Exit codes:\n",
        "  0  pushed (or already there)\n",
        "  2  the push failed, or the directory store (no remote)"
    ))]
    Push(RemoteArgs),
    /// Fetch checkpoints other runs pushed
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline checkpoint fetch && lifeline checkpoint list\n",
        "  lifeline checkpoint fetch --remote backup\n\n",
        "Exit codes:\n",
        "  0  fetched (or nothing new)\n",
        "  2  the fetch failed, or the directory store (no remote)"
    ))]
    Fetch(RemoteArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Checkpoint type
    #[arg(long = "type", value_name = "TYPE", default_value = "manual")]
    pub kind: String,
    /// What the checkpoint is taken before
    #[arg(long, value_name = "TEXT", default_value = "manual checkpoint")]
    pub operation: String,
    /// Push the checkpoint to the remote at once
    #[arg(long)]
    pub push: bool,
    /// Remote for --push [default: [checkpoint] remote, else origin]
    #[arg(long, value_name = "NAME", requires = "push")]
    pub remote: Option<String>,
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A checkpoint ID, a unique prefix, `latest` or `latest-valid`
    pub id: String,
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A checkpoint ID, a unique prefix, `latest` or `latest-valid` [default: latest]
    #[arg(conflicts_with = "all")]
    pub id: Option<String>,
    /// Verify every checkpoint
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Keep the N newest checkpoints
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// Keep checkpoints this close to the newest one (`36h`, `7d`)
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<HumanDuration>,
    /// Keep the newest checkpoint of each of the last N days (UTC)
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<usize>,
    /// Keep the newest checkpoint of each of the last N ISO weeks
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<usize>,
    /// Show what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Remove without asking (required: lifeline never prompts)
    #[arg(long, visible_alias = "force")]
    pub yes: bool,
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// The git remote [default: [checkpoint] remote, else origin]
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn run(
    ws: &Workspace,
    _cwd: &Path,
    env: &dyn Env,
    out: &Output,
    command: CheckpointCommand,
) -> Result<i32> {
    match command {
        CheckpointCommand::Create(args) => create(ws, env, out, args),
        CheckpointCommand::List(args) => list(ws, out, args),
        CheckpointCommand::Show(args) => show(ws, out, args),
        CheckpointCommand::Verify(args) => verify(ws, out, args),
        CheckpointCommand::Prune(args) => prune(ws, env, out, args),
        CheckpointCommand::Push(args) => {
            let remote = remote(ws, args.remote);
            let report = cmd::push(ws, env, &remote)?;
            print_sync(out, args.format, "pushed", "to", &report)
        }
        CheckpointCommand::Fetch(args) => {
            let remote = remote(ws, args.remote);
            let report = cmd::fetch(ws, env, &remote)?;
            print_sync(out, args.format, "fetched", "from", &report)
        }
    }
}

fn remote(ws: &Workspace, given: Option<String>) -> String {
    given.unwrap_or_else(|| ws.config.checkpoint.remote.clone())
}

fn json(out: &Output, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("results serialize") + "\n";
    out.print(|w| w.write_all(text.as_bytes()))
}

fn create(ws: &Workspace, env: &dyn Env, out: &Output, args: CreateArgs) -> Result<i32> {
    let options = cmd::CreateOptions {
        kind: args.kind,
        operation: args.operation,
        push: args.push.then(|| remote(ws, args.remote)),
    };
    let created = cmd::create(ws, env, &options)?;
    for odd in &created.manifest.skipped {
        if !out.quiet {
            eprintln!(
                "warning: `{}` was not captured: {} (the rest of the protected set is in the checkpoint)",
                odd.path, odd.reason
            );
        }
    }
    if out.quiet {
        // The one thing --quiet prints: the ID, for `ID=$(...)`.
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", created.id);
        return Ok(0);
    }
    if args.format == Format::Json {
        json(out, &created)?;
        return Ok(0);
    }
    let m = &created.manifest;
    let invalid = m.files.iter().filter(|f| !f.valid).count();
    let verdict = if m.valid {
        "all valid".to_string()
    } else if invalid > 0 {
        format!("{invalid} invalid")
    } else {
        "a protected file is missing".to_string()
    };
    out.print(|w| {
        writeln!(w, "{}", created.id)?;
        writeln!(
            w,
            "  {} files ({verdict}), {} absent; stored in {}",
            m.files.len(),
            m.absent.len(),
            created.location
        )?;
        if let Some(pushed) = &created.pushed {
            writeln!(w, "  pushed to {}", pushed.remote)?;
        }
        Ok(())
    })?;
    Ok(0)
}

fn list(ws: &Workspace, out: &Output, args: ListArgs) -> Result<i32> {
    let listing = cmd::list(ws)?;
    if args.format == Format::Json {
        json(out, &listing)?;
        return Ok(0);
    }
    for d in &listing.damaged {
        if !out.quiet {
            super::eprint_line(format_args!("warning: {} is damaged: {}", d.name, d.reason));
        }
    }
    for c in listing.checkpoints.iter().filter(|c| c.dated_in_future()) {
        if !out.quiet {
            eprintln!(
                "warning: {} is dated {}, later than lifeline first saw it; it is ordered by {} (first seen)",
                c.id,
                c.created_at,
                c.order_time()
            );
        }
    }
    let now = jiff::Timestamp::now();
    out.print(|w| {
        if listing.checkpoints.is_empty() {
            return writeln!(w, "no checkpoints");
        }
        let id_width = listing
            .checkpoints
            .iter()
            .map(|c| c.id.as_str().len())
            .max()
            .unwrap_or(2);
        let type_width = listing
            .checkpoints
            .iter()
            .map(|c| c.kind.len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            w,
            "{:id_width$}  {:type_width$}  {:>5}  {:>5}  {:5}  OPERATION",
            "ID", "TYPE", "AGE", "FILES", "VALID"
        )?;
        for c in &listing.checkpoints {
            writeln!(
                w,
                "{:id_width$}  {:type_width$}  {:>5}  {:>5}  {:5}  {}",
                c.id.as_str(),
                c.kind,
                age(now, c.order_time()),
                c.files,
                if c.valid { "yes" } else { "no" },
                one_line(&c.operation)
            )?;
        }
        Ok(())
    })?;
    Ok(0)
}

fn show(ws: &Workspace, out: &Output, args: ShowArgs) -> Result<i32> {
    let m = cmd::show(ws, &args.id)?;
    if args.format == Format::Json {
        json(out, &m)?;
        return Ok(0);
    }
    out.print(|w| {
        writeln!(w, "checkpoint  {}", m.id)?;
        writeln!(w, "type        {}", m.kind)?;
        writeln!(w, "operation   {}", one_line(&m.operation))?;
        writeln!(w, "created     {}", m.created_at)?;
        writeln!(w, "actor       {}", one_line(&m.actor))?;
        if let Some(run) = &m.run {
            let what = run
                .url
                .clone()
                .or_else(|| run.run_id.clone())
                .unwrap_or_default();
            writeln!(w, "run         {what}")?;
        }
        if let Some(git) = &m.git {
            writeln!(
                w,
                "git         {} on {} ({} dirty)",
                git.head.as_deref().unwrap_or("(no commit)"),
                git.branch.as_deref().unwrap_or("(detached)"),
                git.dirty.len()
            )?;
        }
        writeln!(w, "valid       {}", if m.valid { "yes" } else { "no" })?;
        writeln!(w, "files:")?;
        for f in &m.files {
            writeln!(
                w,
                "  {:7}  {:>9}  {:04o}  {}  {:13}  {}",
                if f.valid { "valid" } else { "INVALID" },
                f.size,
                f.mode,
                &f.sha256[..12],
                f.validator.as_str(),
                f.path
            )?;
        }
        for a in &m.absent {
            writeln!(
                w,
                "  absent   {:>9}  {:4}  {:12}  {:13}  {}",
                "-",
                "-",
                "-",
                a.validator.as_str(),
                a.path
            )?;
        }
        Ok(())
    })?;
    Ok(0)
}

fn verify(ws: &Workspace, out: &Output, args: VerifyArgs) -> Result<i32> {
    let target = if args.all {
        VerifyTarget::All
    } else {
        VerifyTarget::One(args.id.unwrap_or_else(|| "latest".into()))
    };
    let reports = cmd::verify(ws, &target)?;
    let failed = reports.iter().filter(|r| !r.ok()).count();
    if args.format == Format::Json {
        json(
            out,
            &serde_json::json!({ "ok": failed == 0, "checkpoints": reports }),
        )?;
    } else {
        out.print(|w| {
            for r in &reports {
                if r.ok() {
                    writeln!(w, "ok      {} ({} files)", r.checkpoint, r.files)?;
                } else {
                    writeln!(w, "DAMAGED {}", r.checkpoint)?;
                    for p in &r.problems {
                        writeln!(w, "  {}: {}", p.path, p.message)?;
                    }
                }
            }
            match (reports.len(), failed) {
                (0, _) => writeln!(w, "no checkpoints to verify"),
                (n, 0) => writeln!(w, "verified {n} checkpoint{}: all intact", plural(n)),
                (n, f) => writeln!(w, "verified {n} checkpoint{}: {f} damaged", plural(n)),
            }
        })?;
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

fn prune(ws: &Workspace, env: &dyn Env, out: &Output, args: PruneArgs) -> Result<i32> {
    if !args.dry_run && !args.yes {
        return Err(Error::usage(
            "checkpoint prune removes checkpoints: pass --yes (or --force), or --dry-run to see the plan",
            None,
        ));
    }
    let options = cmd::PruneOptions {
        policy: Policy {
            keep_last: args.keep_last,
            keep_within: args.keep_within.map(HumanDuration::as_duration),
            keep_daily: args.keep_daily,
            keep_weekly: args.keep_weekly,
        },
        dry_run: args.dry_run,
    };
    let pruned = cmd::prune(ws, env, &options)?;
    if args.format == Format::Json {
        json(out, &pruned)?;
        return Ok(0);
    }
    let drop_word = if pruned.dry_run {
        "would remove"
    } else {
        "removed"
    };
    out.print(|w| {
        for d in &pruned.decisions {
            if d.keep {
                writeln!(
                    w,
                    "keep          {}  ({})",
                    d.checkpoint.id,
                    d.reasons.join(", ")
                )?;
            } else {
                writeln!(w, "{drop_word:13} {}", d.checkpoint.id)?;
            }
        }
        let gone = pruned.decisions.iter().filter(|d| !d.keep).count();
        let kept = pruned.decisions.len() - gone;
        if pruned.dry_run {
            writeln!(
                w,
                "{kept} kept, {gone} to remove (dry run: nothing removed)"
            )
        } else {
            writeln!(w, "{kept} kept, {gone} removed")
        }
    })?;
    Ok(0)
}

fn print_sync(
    out: &Output,
    format: Format,
    verb: &str,
    preposition: &str,
    report: &crate::checkpoint::store::SyncReport,
) -> Result<i32> {
    if format == Format::Json {
        json(out, report)?;
        return Ok(0);
    }
    let n = report.transferred.len();
    out.print(|w| {
        writeln!(
            w,
            "{verb} {n} checkpoint{} {preposition} {} ({} already there)",
            plural(n),
            report.remote,
            report.up_to_date
        )?;
        for id in &report.transferred {
            writeln!(w, "  {id}")?;
        }
        Ok(())
    })?;
    Ok(0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn one_line(text: &str) -> String {
    super::output::untrusted_line(text)
}

/// `45s`, `12m`, `3h`, `9d`.
fn age(now: jiff::Timestamp, then: jiff::Timestamp) -> String {
    let secs = now.duration_since(then).as_secs().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
