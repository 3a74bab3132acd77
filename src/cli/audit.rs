//! `lifeline audit ...`: parses, calls [`crate::commands::audit`],
//! renders.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::Output;
use super::output::{Format, TEXT_JSON, formats};
use crate::audit::{self, Outcome, query, verify};
use crate::ci::Env;
use crate::commands::audit::{self as cmd, Shown};
use crate::error::Result;
use crate::workspace::Workspace;

mod tlog;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum AuditCommand {
    /// Append one entry to the audit trail
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline audit log --component task-sync --operation workflow_start \\\n",
        "      --detail trigger=schedule --detail ref=refs/heads/main\n",
        "  lifeline audit log --component task-sync --operation workflow_complete \\\n",
        "      --file planning/TASK.md --details-json '{\"changes_count\": 3}'\n",
        "  lifeline audit log --component task-sync --operation sync --result failure \\\n",
        "      --error 'API rate limit exceeded' --recovery-action 'retry with backoff'\n\n",
        "Prints the new entry's audit_id (and sets the step output `audit_id` in GitHub Actions).\n\n",
        "Exit codes:\n",
        "  0  written and fsynced\n",
        "  2  usage error (bad --detail, invalid --details-json, a path outside the repository) or I/O error"
    ))]
    Log(LogArgs),
    /// Check the hash chain: modified, deleted, reordered or inserted lines
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline audit verify\n",
        "  lifeline audit verify --format json\n",
        "  lifeline audit verify --expect-head 3f1c...e9   # a head recorded earlier: detects truncation\n",
        "  lifeline audit verify --public-key audit.pub    # check recorded checkpoints (and old signed heads)\n",
        "  lifeline audit verify --checkpoint kept.txt --public-key audit.pub   # the log extends a kept checkpoint\n\n",
        "Parallel branches from merging two clones are reported as forks, not errors;\n",
        "`lifeline audit seal` joins them.\n\n",
        "Exit codes:\n",
        "  0  intact (forks allowed)\n",
        "  1  a finding: each is printed with its file and line\n",
        "  2  usage or I/O error"
    ))]
    Verify(VerifyArgs),
    /// Append an entry that joins every head (after a merge); with LIFELINE_AUDIT_KEY, sign a checkpoint
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline audit seal\n",
        "  LIFELINE_AUDIT_KEY=$(cat audit.key) lifeline audit seal   # also sign a checkpoint\n\n",
        "Exit codes:\n",
        "  0  sealed\n",
        "  1  sealed, but the log is damaged and got no checkpoint\n",
        "  2  usage, key or I/O error"
    ))]
    Seal(FormatArgs),
    /// Find entries by ID, component, operation, result, actor, file or time
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline audit query --component task-sync --result failure\n",
        "  lifeline audit query --file planning/TASK.md --since 2026-11-01\n",
        "  lifeline audit query --actor github-actions[bot] --format jsonl\n\n",
        "Exit codes:\n",
        "  0  printed (possibly no entries)\n",
        "  2  usage or I/O error"
    ))]
    Query(QueryArgs),
    /// Print one entry by its audit_id
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline audit show AUD-019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6071\n",
        "  lifeline audit show AUD-019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6071 --format json\n\n",
        "Exit codes:\n",
        "  0  found, and its hash matches its content\n",
        "  1  not found, or found but modified\n",
        "  2  not an audit ID, or an I/O error"
    ))]
    Show(ShowArgs),
    /// Compress months older than the retention period (never anything younger)
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline audit retention --dry-run\n",
        "  lifeline audit retention\n\n",
        "Months past [audit] retention_years (default 7) become audit-YYYY-MM.jsonl.gz with the\n",
        "same lines; verify and query read them. Nothing is deleted.\n\n",
        "Exit codes:\n",
        "  0  done (or, with --dry-run, planned)\n",
        "  2  configuration or I/O error"
    ))]
    Retention(RetentionArgs),
    /// End lines torn by an interrupted write, with an audited repair entry
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline audit repair          # lists the torn lines it would take out\n",
        "  lifeline audit repair --yes\n\n",
        "Only lines cut short by an interrupted write (verify reports them as `torn`) are\n",
        "taken out; their bytes, length and SHA-256 go into an audit/repair entry first.\n\n",
        "Exit codes:\n",
        "  0  repaired, or nothing to repair\n",
        "  2  torn lines found but --yes not given, or a usage or I/O error"
    ))]
    Repair(RepairArgs),
    /// Print the ed25519 public key of LIFELINE_AUDIT_KEY (for verify --public-key)
    #[command(after_help = concat!(
        "Examples:\n",
        "  openssl rand -hex 32 > audit.key      # the private key: keep it in a secret\n",
        "  LIFELINE_AUDIT_KEY=$(cat audit.key) lifeline audit public-key > audit.pub\n\n",
        "Exit codes:\n",
        "  0  printed\n",
        "  2  LIFELINE_AUDIT_KEY is unset or not 64 hex digits"
    ))]
    PublicKey,
    /// Sign and record a checkpoint of the whole log (a C2SP signed note) and print it
    #[command(after_help = concat!(
        "Examples:\n",
        "  LIFELINE_AUDIT_KEY=$(cat audit.key) lifeline audit checkpoint > checkpoint.txt\n",
        "  lifeline audit checkpoint --origin lifeline/acme/planning\n\n",
        "Appends to checkpoints.jsonl in the audit directory; reads only the entries written\n",
        "since the previous checkpoint. The log must be intact and sealed (one head).\n\n",
        "Exit codes:\n",
        "  0  printed (a new checkpoint, or the newest one when nothing was appended)\n",
        "  1  refused: the log is damaged, forked, or not an extension of the previous checkpoint\n",
        "  2  LIFELINE_AUDIT_KEY unset or invalid, no origin, or an I/O error"
    ))]
    Checkpoint(tlog::CheckpointArgs),
    /// Prove an entry is in the newest checkpoint, or that an older tree is a prefix of it
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline audit prove AUD-019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6071 --format json > proof.json\n",
        "  lifeline audit prove --consistency 1200 --format json > proof.json\n",
        "  lifeline audit prove --consistency 1200 --to 1500 --format json\n\n",
        "Proofs follow RFC 9162 §2.1; `lifeline audit verify-proof` or\n",
        "scripts/verify_audit.py --proof checks them without the repository.\n\n",
        "Exit codes:\n",
        "  0  printed\n",
        "  1  no such entry, or the log no longer matches the checkpoint\n",
        "  2  no checkpoint yet, the entry is newer than it, or an I/O error"
    ))]
    Prove(tlog::ProveArgs),
    /// Check an inclusion or consistency proof offline
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline audit verify-proof proof.json --public-key audit.pub\n",
        "  lifeline audit verify-proof proof.json --public-key audit.pub --old-checkpoint kept.txt\n\n",
        "Exit codes:\n",
        "  0  valid\n",
        "  1  invalid (a wrong path, root, size or signature)\n",
        "  2  unusable input (not a proof, a missing field, an unreadable file)"
    ))]
    VerifyProof(tlog::VerifyProofArgs),
    /// As a witness, add a cosignature to the newest checkpoint after checking it extends the last one cosigned
    #[command(after_help = concat!(
        "Examples:\n",
        "  LIFELINE_COSIGN_KEY=$(cat witness.key) lifeline audit cosign \\\n",
        "      --name compliance.example/witness --public-key audit.pub --state witness-state.txt\n\n",
        "Signs as C2SP tlog-cosignature (cosignature/v1), records the cosigned note in\n",
        "checkpoints.jsonl and in --state.\n\n",
        "Exit codes:\n",
        "  0  cosigned and printed\n",
        "  1  refused: not signed by the log's key, rolled back, or inconsistent with --state\n",
        "  2  LIFELINE_COSIGN_KEY unset or invalid, a bad --state, or an I/O error"
    ))]
    Cosign(tlog::CosignArgs),
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Output format
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Take the torn lines out (without it, only list them)
    #[arg(long)]
    pub yes: bool,
    /// Output format
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// The component acting (task-sync, lifeline, ...)
    #[arg(long)]
    pub component: String,
    /// What it did (workflow_start, restore, ...)
    #[arg(long)]
    pub operation: String,
    /// The outcome [default: failure with --error, else success]
    #[arg(long, value_enum)]
    pub result: Option<Outcome>,
    /// A detail, KEY=VALUE (repeatable); VALUE is kept as a string
    #[arg(long = "detail", value_name = "KEY=VALUE")]
    pub details: Vec<String>,
    /// Details as a JSON object, merged under the --detail ones
    #[arg(long, value_name = "JSON")]
    pub details_json: Option<String>,
    /// A file the operation touched (repeatable); its SHA-256 is recorded
    #[arg(long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// The error message of a failed operation
    #[arg(long, value_name = "TEXT")]
    pub error: Option<String>,
    /// What was or should be done to recover
    #[arg(long, value_name = "TEXT")]
    pub recovery_action: Option<String>,
    /// Output format
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A head hash recorded earlier; it must still be in the log (repeatable)
    #[arg(long, value_name = "HASH")]
    pub expect_head: Vec<String>,
    /// Check the signed heads in signed-heads.jsonl with this ed25519 public key
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// A checkpoint kept from earlier: the log must extend it (repeatable; needs --public-key)
    #[arg(long, value_name = "NOTE_FILE", requires = "public_key")]
    pub checkpoint: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[arg(long, value_name = "AUDIT_ID")]
    pub id: Option<String>,
    #[arg(long)]
    pub component: Option<String>,
    #[arg(long)]
    pub operation: Option<String>,
    #[arg(long, value_enum)]
    pub result: Option<Outcome>,
    /// The actor, with or without its github:/git:/user: prefix
    #[arg(long)]
    pub actor: Option<String>,
    /// A repo-relative path in files_affected
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// From this time or date (RFC 3339, or YYYY-MM-DD), inclusive
    #[arg(long, value_name = "TIME", value_parser = audit::query::parse_bound)]
    pub since: Option<String>,
    /// Up to this time or date, inclusive
    #[arg(long, value_name = "TIME", value_parser = audit::query::parse_bound)]
    pub until: Option<String>,
    /// Output format
    #[arg(long, value_parser = formats(&[Format::Text, Format::Json, Format::Jsonl]), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The entry's audit_id (AUD-...)
    pub audit_id: String,
    /// Output format
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Show what would be compressed; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Output format
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn run(
    ws: &Workspace,
    cwd: &Path,
    env: &dyn Env,
    out: &Output,
    cmd: AuditCommand,
) -> Result<i32> {
    match cmd {
        AuditCommand::Log(args) => log(ws, cwd, env, out, args),
        AuditCommand::Verify(args) => verify_cmd(ws, out, args),
        AuditCommand::Seal(args) => seal(ws, env, out, args),
        AuditCommand::Query(args) => query_cmd(ws, out, args),
        AuditCommand::Show(args) => show(ws, out, args),
        AuditCommand::Retention(args) => retention_cmd(ws, env, out, args),
        AuditCommand::Repair(args) => repair_cmd(ws, env, out, args),
        AuditCommand::Checkpoint(args) => tlog::checkpoint(ws, env, out, args),
        AuditCommand::Prove(args) => tlog::prove(ws, out, args),
        AuditCommand::VerifyProof(args) => tlog::verify_proof(out, args),
        AuditCommand::Cosign(args) => tlog::cosign(ws, env, out, args),
        AuditCommand::PublicKey => {
            let public = cmd::public_key(env)?;
            out.print(|w| writeln!(w, "{public}"))?;
            Ok(0)
        }
    }
}

fn json_line(w: &mut dyn Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    writeln!(w, "{text}")
}

fn log(ws: &Workspace, cwd: &Path, env: &dyn Env, out: &Output, args: LogArgs) -> Result<i32> {
    let options = cmd::LogOptions {
        component: args.component,
        operation: args.operation,
        result: args.result,
        details: args.details,
        details_json: args.details_json,
        files: args.files,
        error: args.error,
        recovery_action: args.recovery_action,
    };
    let appended = cmd::log(ws, cwd, env, &options)?;
    out.print(|w| match args.format {
        Format::Json => json_line(
            w,
            &serde_json::json!({
                "audit_id": appended.audit_id,
                "hash": appended.hash,
                "seq": appended.seq,
                "file": appended.file,
            }),
        ),
        _ => writeln!(w, "{}", appended.audit_id),
    })?;
    Ok(0)
}

fn repair_cmd(ws: &Workspace, env: &dyn Env, out: &Output, args: RepairArgs) -> Result<i32> {
    let repaired = cmd::repair(ws, env, args.yes)?;
    if !args.yes {
        // Only reached with nothing to repair (torn lines without --yes
        // are a usage error).
        out.print(|w| match args.format {
            Format::Json => json_line(w, &serde_json::json!({"torn": [], "repaired": false})),
            _ => writeln!(w, "no torn lines: nothing to repair"),
        })?;
        return Ok(0);
    }
    out.print(|w| match args.format {
        Format::Json => json_line(
            w,
            &serde_json::json!({
                "torn": repaired.torn,
                "repaired": repaired.appended.is_some(),
                "audit_id": repaired.appended.as_ref().map(|a| a.audit_id.clone()),
            }),
        ),
        _ => match &repaired.appended {
            None => writeln!(w, "no torn lines: nothing to repair"),
            Some(a) => {
                for t in &repaired.torn {
                    writeln!(
                        w,
                        "took out {}:{} ({} bytes, sha256 {})",
                        t.file,
                        t.line,
                        t.bytes,
                        verify::short(&t.sha256)
                    )?;
                }
                writeln!(w, "recorded in {} ({})", a.audit_id, a.file)
            }
        },
    })?;
    Ok(0)
}

fn verify_cmd(ws: &Workspace, out: &Output, args: VerifyArgs) -> Result<i32> {
    let options = cmd::VerifyOptions {
        expect_heads: args.expect_head,
        public_key: args.public_key,
        checkpoints: args.checkpoint,
    };
    let cmd::Verified { report, signed } = cmd::verify(ws, &options)?;
    let code = if report.is_valid() { 0 } else { 1 };
    out.print(|w| match args.format {
        Format::Json => json_line(
            w,
            &serde_json::json!({
                "report_timestamp": audit::entry::timestamp(jiff::Timestamp::now()),
                "integrity_status": report.status,
                "total_entries": report.entries,
                "audit_files_count": report.files.len(),
                "components": report.components,
                "date_range": report.date_range,
                "files": report.files,
                "heads": report.heads,
                "forks": report.forks,
                "signed_heads": signed,
                "findings": report.findings,
            }),
        ),
        _ => render_verify(w, &report),
    })?;
    Ok(code)
}

fn render_verify(w: &mut dyn Write, report: &verify::Report) -> std::io::Result<()> {
    for f in &report.findings {
        let at = match f.line {
            Some(line) => format!("{}:{line}", f.file),
            None => f.file.clone(),
        };
        let kind = serde_json::to_value(f.kind).ok();
        let kind = kind
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .unwrap_or("finding");
        writeln!(w, "error[{kind}]: {at}: {}", f.message)?;
    }
    for fork in report.forks.iter().filter(|f| !f.joined) {
        writeln!(
            w,
            "warning[fork]: {}:{}: parallel branches start at {} (two clones appended, then merged); `lifeline audit seal` joins them",
            fork.file,
            fork.line,
            fork.branches.join(", ")
        )?;
    }
    let range = match (&report.date_range.earliest, &report.date_range.latest) {
        (Some(a), Some(b)) => format!(", {a} to {b}"),
        _ => String::new(),
    };
    writeln!(
        w,
        "audit trail {}: {} entries in {} files{range}",
        report.status,
        report.entries,
        report.files.len()
    )?;
    for f in &report.files {
        writeln!(w, "  {:<7}  {}  ({} entries)", f.status, f.file, f.entries)?;
    }
    if !report.components.is_empty() {
        let parts: Vec<String> = report
            .components
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        writeln!(w, "components: {}", parts.join(", "))?;
    }
    for h in &report.heads {
        writeln!(
            w,
            "head: {}  ({}:{}, seq {})",
            h.hash, h.file, h.line, h.seq
        )?;
    }
    Ok(())
}

fn seal(ws: &Workspace, env: &dyn Env, out: &Output, args: FormatArgs) -> Result<i32> {
    let sealed = cmd::seal(ws, env)?;
    let outcome = &sealed.outcome;
    let checkpoints_file = &sealed.checkpoints_file;
    out.print(|w| match args.format {
        Format::Json => json_line(
            w,
            &serde_json::json!({
                "audit_id": outcome.appended.audit_id,
                "head": outcome.appended.hash,
                "joined": outcome.joined,
                "checkpoint": sealed.checkpoint.as_ref().map(|r| &r.note),
                "findings": outcome.findings,
            }),
        ),
        _ => {
            writeln!(
                w,
                "sealed: {} joins {} other head(s); new head {}",
                outcome.appended.audit_id,
                outcome.joined.len(),
                outcome.appended.hash
            )?;
            if let Some(r) = &sealed.checkpoint {
                writeln!(
                    w,
                    "signed a checkpoint of {} entries in {checkpoints_file}",
                    r.size
                )?;
            }
            if outcome.findings > 0 {
                writeln!(
                    w,
                    "note: the log has {} integrity finding(s); run `lifeline audit verify`",
                    outcome.findings
                )?;
            }
            Ok(())
        }
    })?;
    if let Some(why) = &sealed.refused {
        if !out.quiet {
            eprintln!("error: sealed, but no checkpoint: {why}");
        }
        return Ok(1);
    }
    Ok(0)
}

fn query_cmd(ws: &Workspace, out: &Output, args: QueryArgs) -> Result<i32> {
    let filter = query::Filter {
        id: args.id,
        component: args.component,
        operation: args.operation,
        result: args.result,
        actor: args.actor,
        file: args.file,
        since: args.since,
        until: args.until,
    };
    let found = cmd::query(ws, &filter)?;
    out.print(|w| {
        match args.format {
            Format::Jsonl => {
                for f in &found {
                    writeln!(w, "{}", f.raw)?;
                }
            }
            Format::Json => {
                let all: Vec<&serde_json::Value> = found.iter().map(|f| &f.entry).collect();
                json_line(w, &all)?;
            }
            _ => {
                for f in &found {
                    writeln!(w, "{}", summary(&f.view))?;
                }
                writeln!(w, "{} entries", found.len())?;
            }
        }
        Ok(())
    })?;
    Ok(0)
}

fn summary(e: &audit::EntryView) -> String {
    let s = |v: Option<&str>| v.unwrap_or("-").to_string();
    format!(
        "{}  {}  {}/{}  {}  {}",
        s(e.timestamp.as_deref()),
        s(e.audit_id.as_deref()),
        s(e.component.as_deref()),
        s(e.operation.as_deref()),
        s(e.result.map(Outcome::as_str)),
        s(e.environment.actor.as_deref())
    )
}

fn show(ws: &Workspace, out: &Output, args: ShowArgs) -> Result<i32> {
    let found = match cmd::show(ws, &args.audit_id)? {
        Shown::Found(found) => found,
        Shown::Missing { dir } => {
            if !out.quiet {
                super::eprint_line(format_args!("error: no entry {} in {dir}", args.audit_id));
            }
            return Ok(1);
        }
    };
    out.print(|w| match args.format {
        Format::Json => json_line(
            w,
            &serde_json::json!({
                "file": found.file,
                "line": found.line,
                "hash_ok": found.hash_ok,
                "entry": found.entry,
            }),
        ),
        _ => {
            writeln!(w, "# {}", found.file)?;
            json_line(w, &found.entry)
        }
    })?;
    if !found.hash_ok {
        if !out.quiet {
            super::eprint_line(format_args!(
                "error: entry {} in {} does not match its hash: it was modified; run `lifeline audit verify`",
                args.audit_id, found.file
            ));
        }
        return Ok(1);
    }
    Ok(0)
}

fn retention_cmd(ws: &Workspace, env: &dyn Env, out: &Output, args: RetentionArgs) -> Result<i32> {
    let report = cmd::retention(ws, env, args.dry_run)?;
    out.print(|w| match args.format {
        Format::Json => json_line(w, &report),
        _ => {
            for m in &report.months {
                writeln!(w, "{:>10}  {}  ({})", m.action, m.file, m.reason)?;
            }
            writeln!(
                w,
                "retention {} years: months ending on or before {} may be compressed",
                report.retention_years, report.cutoff
            )
        }
    })?;
    Ok(0)
}
