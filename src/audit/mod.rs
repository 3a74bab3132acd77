//! The audit trail: an append-only, hash-chained JSONL log under
//! `docs/audit/`, one file per month.
//!
//! Every state-changing command (in `crate::commands`) calls [`record`]
//! with an [`Event`]; a workflow step calls `lifeline audit log`. Nothing
//! here prints: the engines return typed results. The format is specified in
//! `docs/audit-format.md` so a reviewer can verify it without lifeline.
//!
//! - [`canonical`]: RFC 8785 JSON canonicalization and the entry hash.
//! - [`entry`]: building an entry from an event (environment, checksums,
//!   redaction).
//! - [`view`]: [`EntryView`], the typed entry every reader goes through.
//! - [`store`]: month files, the locked, fsynced append.
//! - [`verify`]: the chain check and the integrity report.
//! - [`query`]: filters, lookup by ID, and the on-disk index.
//! - [`repair`]: ending lines torn by an interrupted write, audited.
//! - [`retention`]: compressing months past the retention period.
//! - [`signing`]: ed25519 keys, and the signed heads of older releases.
//! - [`merkle`], [`note`], [`tlog`]: the log as a transparency log (RFC
//!   9162 proofs, C2SP signed checkpoints and cosignatures).

use serde_json::{Map, Value};

use crate::ci::Env;
use crate::error::Result;
use crate::workspace::Workspace;

pub mod canonical;
pub mod entry;
pub mod merkle;
pub mod note;
pub mod query;
pub mod repair;
pub mod retention;
pub mod signing;
pub mod store;
pub mod tlog;
pub mod verify;
pub mod view;

pub use store::{Appended, Log};
pub use view::EntryView;

/// Whether the operation an entry records succeeded.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    /// As entries spell it: `success` or `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One operation to record, built by the caller.
#[derive(Debug, Clone)]
pub struct Event {
    pub component: String,
    pub operation: String,
    pub result: Outcome,
    pub details: Map<String, Value>,
    /// Repo-relative paths of the files the operation touched; their
    /// SHA-256 is taken when the entry is written.
    pub files: Vec<String>,
    /// The SHA-256 (hex) of files the caller has just written and checked
    /// itself, used instead of reading them again.
    pub written: std::collections::HashMap<String, String>,
    pub error: Option<String>,
    pub recovery_action: Option<String>,
    pub metadata: Map<String, Value>,
}

impl Event {
    pub fn new(component: &str, operation: &str) -> Event {
        Event {
            component: component.to_string(),
            operation: operation.to_string(),
            result: Outcome::Success,
            details: Map::new(),
            files: Vec::new(),
            written: std::collections::HashMap::new(),
            error: None,
            recovery_action: None,
            metadata: Map::new(),
        }
    }

    /// Marks the event failed with `error`.
    pub fn failure(mut self, error: impl Into<String>) -> Event {
        self.result = Outcome::Failure;
        self.error = Some(error.into());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.details.insert(key.to_string(), value.into());
        self
    }

    pub fn file(mut self, path: impl Into<String>) -> Event {
        self.files.push(path.into());
        self
    }

    /// Says that `path`, one of the event's files, now holds bytes whose
    /// SHA-256 is `sha256` (the caller wrote and verified them); the entry
    /// records that instead of reading the file again.
    pub fn written(mut self, path: impl Into<String>, sha256: impl Into<String>) -> Event {
        self.written.insert(path.into(), sha256.into());
        self
    }

    pub fn recovery_action(mut self, action: impl Into<String>) -> Event {
        self.recovery_action = Some(action.into());
        self
    }

    pub fn metadata(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.metadata.insert(key.to_string(), value.into());
        self
    }
}

/// Appends `event` to the audit log of `ws` and returns the new entry's
/// `audit_id`. Redacts secrets, locks the log, fsyncs before returning.
pub fn record(ws: &Workspace, env: &dyn Env, event: &Event) -> Result<String> {
    let appended = record_all(ws, env, std::slice::from_ref(event))?;
    Ok(appended
        .into_iter()
        .next()
        .map(|a| a.audit_id)
        .unwrap_or_default())
}

/// Checks, before a command changes anything, that its audit entry can be
/// written: the audit directory can be locked, the month file opened, the
/// clock is not behind the log, and there is room on the file system. A
/// command that changes files calls this first, so it refuses up front
/// rather than changing files it then cannot record.
pub fn preflight(ws: &Workspace) -> Result<()> {
    Log::of(ws)?.preflight(jiff::Timestamp::now())
}

/// Records `event` for a command that already changed `changed` (repo
/// paths). If the entry cannot be written, the error says exactly what
/// changed and which safety checkpoint holds the old state, so nothing
/// happens unrecorded and unexplained.
pub fn record_after_change(
    ws: &Workspace,
    env: &dyn Env,
    event: &Event,
    changed: &[String],
    safety_checkpoint: Option<&str>,
) -> Result<String> {
    record(ws, env, event).map_err(|e| {
        let what = if changed.is_empty() {
            "no files".to_string()
        } else {
            changed.join(", ")
        };
        let (held, help) = match safety_checkpoint {
            Some(id) => (
                format!("; the safety checkpoint {id} holds their previous state"),
                format!(
                    "fix the cause, then record what happened with `lifeline audit log`; `lifeline restore {id}` puts the previous state back"
                ),
            ),
            None => (
                String::new(),
                "fix the cause, then record what happened with `lifeline audit log`".to_string(),
            ),
        };
        crate::Error::environment(
            format!(
                "{} {} changed {what}, but its audit entry could not be written ({e}){held}",
                event.component, event.operation
            ),
            Some(help),
        )
    })
}

/// Appends several events under one lock and one fsync per month file
/// (the fast path for bulk callers); returns what was written, in order.
pub fn record_all(ws: &Workspace, env: &dyn Env, events: &[Event]) -> Result<Vec<Appended>> {
    let ctx = entry::Context::from_env(ws, env);
    let log = Log::of(ws)?;
    let bodies = events
        .iter()
        .map(|e| entry::body(&ws.root, &ctx, e, jiff::Timestamp::now()))
        .collect::<Result<Vec<_>>>()?;
    log.append(bodies, None)
}

/// What a seal joins, for the caller to describe in the seal's entry.
#[derive(Debug, Clone, Copy)]
pub struct SealPlan {
    /// Every head the seal joins, the newest entry included.
    pub heads_joined: usize,
    /// Entries in the log before the seal.
    pub entries: usize,
}

/// Appends a seal: the entry `event` builds from the [`SealPlan`], whose
/// `prev` is the newest entry and whose `joins` lists every other head,
/// so forks left by merging two clones become one chain again. (The
/// command then signs a checkpoint with [`tlog::checkpoint`] when it has
/// a key.)
pub fn seal(
    ws: &Workspace,
    env: &dyn Env,
    event: impl FnOnce(&SealPlan) -> Event,
) -> Result<SealOutcome> {
    let log = Log::of(ws)?;
    let report = verify::verify(&log, &verify::Options::default())?;
    let ctx = entry::Context::from_env(ws, env);
    let files = log.month_files()?;
    let tip = log.tip(&files)?;
    let joins: Vec<String> = report
        .heads
        .iter()
        .map(|h| h.hash.clone())
        .filter(|h| tip.as_ref().is_none_or(|t| t.hash != *h))
        .collect();
    let event = event(&SealPlan {
        heads_joined: joins.len() + usize::from(tip.is_some()),
        entries: report.entries,
    });
    let body = entry::body(&ws.root, &ctx, &event, jiff::Timestamp::now())?;
    let appended = log
        .append(vec![body], Some(joins.clone()))?
        .pop()
        .expect("one entry appended");
    Ok(SealOutcome {
        appended,
        joined: joins,
        findings: report.findings.len(),
    })
}

/// What [`seal`] did.
#[derive(Debug, Clone)]
pub struct SealOutcome {
    pub appended: Appended,
    /// The heads other than the newest entry that the seal joined.
    pub joined: Vec<String>,
    /// Integrity findings present when sealing (the seal does not fix them).
    pub findings: usize,
}
