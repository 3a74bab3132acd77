//! `lifeline audit ...`: the steps behind each subcommand, with typed
//! options and results. The entries these verbs write themselves (`audit
//! log`, `audit retention`, and what `seal` and `repair` record) are
//! composed here; the engines in [`crate::audit`] return typed results
//! and print nothing. The transparency verbs (`checkpoint`, `prove`,
//! `verify-proof`, `cosign`) are in [`tlog`].

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::audit::{
    self, Appended, Event, Log, Outcome, SealOutcome, query, repair, retention, signing, verify,
};
use crate::ci::{self, Env};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

pub mod tlog;

/// `audit log`: one entry as the flags describe it.
#[derive(Debug, Clone)]
pub struct LogOptions {
    pub component: String,
    pub operation: String,
    /// `None`: failure with `error`, else success.
    pub result: Option<Outcome>,
    /// `KEY=VALUE` details, kept as strings.
    pub details: Vec<String>,
    /// Details as a JSON object, merged under `details`.
    pub details_json: Option<String>,
    /// Files the operation touched (relative to `cwd`, or absolute).
    pub files: Vec<PathBuf>,
    pub error: Option<String>,
    pub recovery_action: Option<String>,
}

/// Appends the entry `options` describe; in GitHub Actions also sets the
/// step output `audit_id`.
pub fn log(ws: &Workspace, cwd: &Path, env: &dyn Env, options: &LogOptions) -> Result<Appended> {
    let mut event = Event::new(&options.component, &options.operation);
    if let Some(text) = &options.details_json {
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
    for kv in &options.details {
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
    for path in &options.files {
        let rel = ws.relative(cwd, path).ok_or_else(|| {
            Error::usage(
                format!("--file {}: outside the repository", path.display()),
                Some("record files inside the repository root".to_string()),
            )
        })?;
        event.files.push(rel);
    }
    event.result = match (options.result, &options.error) {
        (Some(Outcome::Success), Some(_)) => {
            return Err(Error::usage(
                "--error describes a failure; it cannot go with --result success",
                Some("drop --result, or pass --result failure".to_string()),
            ));
        }
        (Some(Outcome::Failure), _) | (None, Some(_)) => Outcome::Failure,
        _ => Outcome::Success,
    };
    event.error = options.error.clone();
    event.recovery_action = options.recovery_action.clone();
    let appended = audit::record_all(ws, env, &[event])?
        .pop()
        .expect("one entry appended");
    if ci::in_github_actions(env) {
        ci::set_outputs(env, &[("audit_id", appended.audit_id.clone())])?;
    }
    Ok(appended)
}

/// `audit repair`: with `yes`, takes the torn lines out and records them
/// in an `audit`/`repair` entry; without, refuses (exit 2) when there is
/// anything to take out.
pub fn repair(ws: &Workspace, env: &dyn Env, yes: bool) -> Result<repair::Repaired> {
    if !yes {
        let torn = repair::find(&Log::of(ws)?)?;
        if torn.is_empty() {
            return Ok(repair::Repaired {
                torn,
                appended: None,
            });
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
    repair::repair(ws, env, |torn| {
        let removed: Vec<Value> = torn
            .iter()
            .map(|t| {
                serde_json::json!({
                    "file": t.file,
                    "line": t.line,
                    "bytes": t.bytes,
                    "sha256": t.sha256,
                    "text": t.text,
                })
            })
            .collect();
        Event::new("audit", "repair")
            .detail("removed", removed)
            .detail(
                "reason",
                "lines cut short by an interrupted write, taken out of their month files",
            )
    })
}

/// `audit verify`.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Heads recorded earlier; each must still be in the log.
    pub expect_heads: Vec<String>,
    /// The ed25519 public key to check signed heads and checkpoints with.
    pub public_key: Option<PathBuf>,
    /// Checkpoints kept from earlier that the log must extend.
    pub checkpoints: Vec<PathBuf>,
}

/// What `audit verify` found.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The chain check, with the signature findings added.
    pub report: verify::Report,
    /// The signed heads of older releases that checked out.
    pub signed: Vec<signing::SignedHead>,
}

/// Checks the chain and, with a public key, the recorded checkpoints, the
/// kept ones and the signed heads of older releases.
pub fn verify(ws: &Workspace, options: &VerifyOptions) -> Result<Verified> {
    let log = Log::of(ws)?;
    let mut chain = verify::Options {
        expect_heads: options.expect_heads.clone(),
        ..verify::Options::default()
    };
    let mut signed = Vec::new();
    let mut signature_findings = Vec::new();
    if let Some(path) = &options.public_key {
        let key = signing::read_public_key(path)?;
        signature_findings.extend(tlog::check_kept(&log, &key, &options.checkpoints)?);
        signature_findings.extend(tlog::check_records(&log, &key)?);
    }
    let has_heads = log.dir.join(signing::FILE_NAME).exists();
    let has_checkpoints = log.dir.join(audit::tlog::CHECKPOINTS_FILE).exists();
    if let Some(path) = options
        .public_key
        .as_ref()
        .filter(|_| has_heads || !has_checkpoints && options.checkpoints.is_empty())
    {
        let key = signing::read_public_key(path)?;
        let (heads, findings) = signing::check(&log, &key)?;
        // Every signed head must still be there; the newest also proves
        // nothing was inserted before it.
        if let Some(last) = heads.last() {
            chain.expect_heads.push(last.hash.clone());
        }
        chain.known_heads = heads.iter().map(|h| h.hash.clone()).collect();
        signed = heads;
        signature_findings.extend(findings);
    }
    let mut report = verify::verify(&log, &chain)?;
    if !signature_findings.is_empty() {
        report.findings.extend(signature_findings);
        report.status = "invalid";
    }
    Ok(Verified { report, signed })
}

/// What `audit seal` did.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub outcome: SealOutcome,
    /// The checkpoint signed after sealing (with `LIFELINE_AUDIT_KEY`).
    pub checkpoint: Option<audit::tlog::Record>,
    /// Why no checkpoint could be signed (exit 1), though sealed.
    pub refused: Option<String>,
    /// `checkpoints.jsonl`, as messages show it.
    pub checkpoints_file: String,
}

/// Appends the `audit`/`seal` entry that joins every head; with
/// `LIFELINE_AUDIT_KEY`, signs a checkpoint of the sealed log.
pub fn seal(ws: &Workspace, env: &dyn Env) -> Result<Sealed> {
    let key = signing::key_from_env(env)?;
    let origin = match &key {
        Some(_) => Some(tlog::origin_of(ws, env, None)?),
        None => None,
    };
    let outcome = audit::seal(ws, env, |plan| {
        Event::new("audit", "seal")
            .detail("heads_joined", plan.heads_joined)
            .detail("entries", plan.entries)
    })?;
    // With a key, the sealed log gets a signed checkpoint (what lifeline
    // signs now, instead of a signed head).
    let log = Log::of(ws)?;
    let made = match (&key, &origin) {
        (Some(key), Some(origin)) => Some(audit::tlog::checkpoint(&log, origin, key)?),
        _ => None,
    };
    let (checkpoint, refused) = match made {
        Some(audit::tlog::Made::New(r) | audit::tlog::Made::Unchanged(r)) => (Some(r), None),
        Some(audit::tlog::Made::Refused(why)) => (None, Some(why)),
        None => (None, None),
    };
    Ok(Sealed {
        outcome,
        checkpoint,
        refused,
        checkpoints_file: log.display(audit::tlog::CHECKPOINTS_FILE),
    })
}

/// `audit query`: every entry matching `filter`, in log order.
pub fn query(ws: &Workspace, filter: &query::Filter) -> Result<Vec<query::Found>> {
    let log = Log::of(ws)?;
    let index_dir = query::index_dir(&ws.root, &log)?;
    query::query(&log, Some(&index_dir), filter)
}

/// What `audit show` found.
#[derive(Debug, Clone)]
pub enum Shown {
    Found(Box<query::Found>),
    /// No such entry in the audit directory `dir` (repo-relative).
    Missing {
        dir: String,
    },
}

/// `audit show ID`.
pub fn show(ws: &Workspace, audit_id: &str) -> Result<Shown> {
    let log = Log::of(ws)?;
    let index_dir = query::index_dir(&ws.root, &log)?;
    Ok(match query::find_by_id(&log, Some(&index_dir), audit_id)? {
        Some(found) => Shown::Found(Box::new(found)),
        None => Shown::Missing {
            dir: log.rel_dir.clone(),
        },
    })
}

/// `audit retention`: compresses months past `[audit] retention_years`;
/// unless a dry run, records an `audit`/`retention` entry, success or
/// failure.
pub fn retention(
    ws: &Workspace,
    env: &dyn Env,
    dry_run: bool,
) -> Result<retention::RetentionReport> {
    let log = Log::of(ws)?;
    let years = ws.config.audit.retention_years;
    let result = retention::run(&log, years, jiff::Timestamp::now(), dry_run);
    if !dry_run {
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
    result
}

/// `audit public-key`: the hex ed25519 public key of `LIFELINE_AUDIT_KEY`.
pub fn public_key(env: &dyn Env) -> Result<String> {
    let key = signing::key_from_env(env)?.ok_or_else(|| {
        Error::environment(
            format!("{} is not set", signing::KEY_ENV),
            Some("set it to the 64-hex-digit private key (`openssl rand -hex 32`)".to_string()),
        )
    })?;
    Ok(hex::encode(key.verifying_key().as_bytes()))
}
