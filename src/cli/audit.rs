//! `lifeline audit ...`: parses, calls [`crate::audit`], renders.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value};

use super::Output;
use crate::audit::{self, Event, Outcome, query, retention, signing, verify};
use crate::ci::{self, Env};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

mod tlog;

#[derive(Debug, Subcommand)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Take the torn lines out (without it, only list them)
    #[arg(long)]
    pub yes: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResultArg {
    Success,
    Failure,
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
    pub result: Option<ResultArg>,
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
    #[arg(long, value_enum, default_value_t = Format::Text)]
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
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Text,
    /// one JSON array
    Json,
    /// the matching lines, as stored
    Jsonl,
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
    pub result: Option<ResultArg>,
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
    #[arg(long, value_enum, default_value_t = QueryFormat::Text)]
    pub format: QueryFormat,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The entry's audit_id (AUD-...)
    pub audit_id: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Show what would be compressed; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
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
            let key = signing::key_from_env(env)?.ok_or_else(|| {
                Error::environment(
                    format!("{} is not set", signing::KEY_ENV),
                    Some(
                        "set it to the 64-hex-digit private key (`openssl rand -hex 32`)"
                            .to_string(),
                    ),
                )
            })?;
            let public = hex::encode(key.verifying_key().as_bytes());
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
    let mut event = Event::new(&args.component, &args.operation);
    if let Some(text) = &args.details_json {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => event.details = map,
            Ok(_) => {
                return Err(Error::usage(
                    "--details-json must be a JSON object",
                    Some("for example --details-json '{\"changes_count\": 3}'".to_string()),
                ));
            }
            Err(e) => {
                return Err(Error::usage(
                    format!("--details-json is not valid JSON: {e}"),
                    Some(
                        "quote it for the shell: --details-json '{\"key\": \"value\"}'".to_string(),
                    ),
                ));
            }
        }
    }
    for kv in &args.details {
        let (key, value) = kv
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| {
                Error::usage(
                    format!("--detail {kv:?} is not KEY=VALUE"),
                    Some("for example --detail trigger=schedule".to_string()),
                )
            })?;
        event
            .details
            .insert(key.to_string(), Value::String(value.to_string()));
    }
    for path in &args.files {
        let rel = ws.relative(cwd, path).ok_or_else(|| {
            Error::usage(
                format!("--file {}: outside the repository", path.display()),
                Some("record files inside the repository root".to_string()),
            )
        })?;
        event.files.push(rel);
    }
    event.result = match (args.result, &args.error) {
        (Some(ResultArg::Success), Some(_)) => {
            return Err(Error::usage(
                "--error describes a failure; it cannot go with --result success",
                Some("drop --result, or pass --result failure".to_string()),
            ));
        }
        (Some(ResultArg::Failure), _) | (None, Some(_)) => Outcome::Failure,
        _ => Outcome::Success,
    };
    event.error = args.error;
    event.recovery_action = args.recovery_action;
    let appended = audit::record_all(ws, env, &[event])?
        .pop()
        .expect("one entry appended");
    if ci::in_github_actions(env) {
        ci::set_outputs(env, &[("audit_id", appended.audit_id.clone())])?;
    }
    out.print(|w| match args.format {
        Format::Text => writeln!(w, "{}", appended.audit_id),
        Format::Json => json_line(
            w,
            &serde_json::json!({
                "audit_id": appended.audit_id,
                "hash": appended.hash,
                "seq": appended.seq,
                "file": appended.file,
            }),
        ),
    })?;
    Ok(0)
}

fn repair_cmd(ws: &Workspace, env: &dyn Env, out: &Output, args: RepairArgs) -> Result<i32> {
    if !args.yes {
        let torn = audit::repair::find(&audit::Log::of(ws)?)?;
        if torn.is_empty() {
            out.print(|w| match args.format {
                Format::Json => json_line(w, &serde_json::json!({"torn": [], "repaired": false})),
                Format::Text => writeln!(w, "no torn lines: nothing to repair"),
            })?;
            return Ok(0);
        }
        let list: Vec<String> = torn
            .iter()
            .map(|t| format!("{}:{} ({} bytes)", t.file, t.line, t.bytes))
            .collect();
        return Err(Error::usage(
            format!("torn lines to take out: {}", list.join(", ")),
            Some("run `lifeline audit repair --yes` to take them out and record their bytes in an audit/repair entry".to_string()),
        ));
    }
    audit::preflight(ws)?;
    let repaired = audit::repair::repair(ws, env)?;
    out.print(|w| match args.format {
        Format::Json => json_line(
            w,
            &serde_json::json!({
                "torn": repaired.torn,
                "repaired": repaired.appended.is_some(),
                "audit_id": repaired.appended.as_ref().map(|a| a.audit_id.clone()),
            }),
        ),
        Format::Text => match &repaired.appended {
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
    let log = audit::Log::of(ws)?;
    let mut options = verify::Options {
        expect_heads: args.expect_head.clone(),
        ..verify::Options::default()
    };
    let mut signed = Vec::new();
    let mut signature_findings = Vec::new();
    if let Some(path) = &args.public_key {
        let key = signing::read_public_key(path)?;
        signature_findings.extend(tlog::check_kept(&log, &key, &args.checkpoint)?);
        signature_findings.extend(tlog::check_records(&log, &key)?);
    }
    let has_heads = log.dir.join(signing::FILE_NAME).exists();
    let has_checkpoints = log.dir.join(crate::audit::tlog::CHECKPOINTS_FILE).exists();
    if let Some(path) = args
        .public_key
        .as_ref()
        .filter(|_| has_heads || !has_checkpoints && args.checkpoint.is_empty())
    {
        let key = signing::read_public_key(path)?;
        let (heads, findings) = signing::check(&log, &key)?;
        // Every signed head must still be there; the newest also proves
        // nothing was inserted before it.
        if let Some(last) = heads.last() {
            options.expect_heads.push(last.hash.clone());
        }
        options.known_heads = heads.iter().map(|h| h.hash.clone()).collect();
        signed = heads;
        signature_findings.extend(findings);
    }
    let mut report = verify::verify(&log, &options)?;
    if !signature_findings.is_empty() {
        report.findings.extend(signature_findings);
        report.status = "invalid";
    }
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
        Format::Text => render_verify(w, &report),
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
        let kind = kind.as_ref().and_then(Value::as_str).unwrap_or("finding");
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
    let key = signing::key_from_env(env)?;
    let origin = match &key {
        Some(_) => Some(tlog::origin_of(ws, env, None)?),
        None => None,
    };
    let outcome = audit::seal(ws, env)?;
    // With a key, the sealed log gets a signed checkpoint (what lifeline
    // signs now, instead of a signed head).
    let made = match (&key, &origin) {
        (Some(key), Some(origin)) => Some(crate::audit::tlog::checkpoint(
            &audit::Log::of(ws)?,
            origin,
            key,
        )?),
        _ => None,
    };
    let (checkpoint, refused) = match made {
        Some(crate::audit::tlog::Made::New(r) | crate::audit::tlog::Made::Unchanged(r)) => {
            (Some(r), None)
        }
        Some(crate::audit::tlog::Made::Refused(why)) => (None, Some(why)),
        None => (None, None),
    };
    let checkpoints_file = audit::Log::of(ws)?.display(crate::audit::tlog::CHECKPOINTS_FILE);
    out.print(|w| match args.format {
        Format::Json => json_line(
            w,
            &serde_json::json!({
                "audit_id": outcome.appended.audit_id,
                "head": outcome.appended.hash,
                "joined": outcome.joined,
                "checkpoint": checkpoint.as_ref().map(|r| &r.note),
                "findings": outcome.findings,
            }),
        ),
        Format::Text => {
            writeln!(
                w,
                "sealed: {} joins {} other head(s); new head {}",
                outcome.appended.audit_id,
                outcome.joined.len(),
                outcome.appended.hash
            )?;
            if let Some(r) = &checkpoint {
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
    if let Some(why) = refused {
        if !out.quiet {
            eprintln!("error: sealed, but no checkpoint: {why}");
        }
        return Ok(1);
    }
    Ok(0)
}

fn result_str(r: ResultArg) -> String {
    match r {
        ResultArg::Success => "success".into(),
        ResultArg::Failure => "failure".into(),
    }
}

fn query_cmd(ws: &Workspace, out: &Output, args: QueryArgs) -> Result<i32> {
    let log = audit::Log::of(ws)?;
    let filter = query::Filter {
        id: args.id,
        component: args.component,
        operation: args.operation,
        result: args.result.map(result_str),
        actor: args.actor,
        file: args.file,
        since: args.since,
        until: args.until,
    };
    let index_dir = query::index_dir(&ws.root, &log);
    let found = query::query(&log, Some(&index_dir), &filter)?;
    out.print(|w| {
        match args.format {
            QueryFormat::Jsonl => {
                for f in &found {
                    writeln!(w, "{}", f.raw)?;
                }
            }
            QueryFormat::Json => {
                let all: Vec<&Value> = found.iter().map(|f| &f.entry).collect();
                json_line(w, &all)?;
            }
            QueryFormat::Text => {
                for f in &found {
                    writeln!(w, "{}", summary(&f.entry))?;
                }
                writeln!(w, "{} entries", found.len())?;
            }
        }
        Ok(())
    })?;
    Ok(0)
}

fn summary(e: &Value) -> String {
    let s = |p: &str| e.pointer(p).and_then(Value::as_str).unwrap_or("-");
    format!(
        "{}  {}  {}/{}  {}  {}",
        s("/timestamp"),
        s("/audit_id"),
        s("/component"),
        s("/operation"),
        s("/result"),
        s("/environment/actor")
    )
}

fn show(ws: &Workspace, out: &Output, args: ShowArgs) -> Result<i32> {
    let log = audit::Log::of(ws)?;
    let index_dir = query::index_dir(&ws.root, &log);
    let Some(found) = query::find_by_id(&log, Some(&index_dir), &args.audit_id)? else {
        if !out.quiet {
            super::eprint_line(format_args!(
                "error: no entry {} in {}",
                args.audit_id, log.rel_dir
            ));
        }
        return Ok(1);
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
        Format::Text => {
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
    let log = audit::Log::of(ws)?;
    let years = ws.config.audit.retention_years;
    let result = retention::run(&log, years, jiff::Timestamp::now(), args.dry_run);
    if !args.dry_run {
        let event = match &result {
            Ok(report) => {
                let done: Vec<Value> = report
                    .months
                    .iter()
                    .filter(|m| m.action == "compressed")
                    .map(|m| Value::String(m.file.clone()))
                    .collect();
                let mut details = Map::new();
                details.insert("compressed".into(), Value::Array(done));
                details.insert("retention_years".into(), years.into());
                let mut e = Event::new("audit", "retention");
                e.details = details;
                e
            }
            Err(err) => Event::new("audit", "retention").failure(err.to_string()),
        };
        let recorded = audit::record(ws, env, &event);
        if result.is_ok() {
            recorded?;
        }
    }
    let report = result?;
    out.print(|w| match args.format {
        Format::Json => json_line(w, &report),
        Format::Text => {
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
