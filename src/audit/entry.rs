//! Building an entry from an [`Event`]: the plan's fields, the environment
//! it ran in, file checksums, and redaction of every string before anything
//! is written.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Event, Outcome};
use crate::ci::{self, Env, WorkflowRun};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The entry format this build writes (the `schema` field).
pub const SCHEMA: u64 = 1;

/// Member names whose values are secrets whatever they look like.
const SECRET_KEYS: [&str; 6] = [
    "authorization",
    "password",
    "secret",
    "token",
    "api_key",
    "private_key",
];

/// What every entry a process writes shares: the session, the commit, the
/// workflow run, the actor, and the secret values to redact.
#[derive(Debug, Clone)]
pub struct Context {
    pub session_id: String,
    pub git_commit: Option<String>,
    pub workflow_run: Option<WorkflowRun>,
    pub actor: String,
    secrets: Vec<String>,
}

impl Context {
    /// Reads the context from the environment and the repository.
    ///
    /// `session_id` is `LIFELINE_SESSION_ID` when set (a workflow can group
    /// its steps), else `gh-<run id>-<attempt>` inside GitHub Actions, else
    /// one `SES-<UUIDv7>` per process.
    pub fn from_env(ws: &Workspace, env: &dyn Env) -> Context {
        let workflow_run = WorkflowRun::from_env(env);
        let session_id = env
            .var("LIFELINE_SESSION_ID")
            .or_else(|| {
                let run = workflow_run.as_ref()?;
                Some(format!(
                    "gh-{}-{}",
                    run.run_id.as_deref()?,
                    run.run_attempt.as_deref().unwrap_or("1")
                ))
            })
            .unwrap_or_else(process_session);
        let secrets = crate::redact::env_secrets(env, &ws.config.audit.secret_env);
        // Both read in-process by the git module (no git process per
        // entry, which is what made the plan's logger slow).
        Context {
            session_id,
            git_commit: ws.git.as_ref().and_then(crate::git::Git::head_commit),
            workflow_run,
            actor: ci::actor(env, ws.git.as_ref()),
            secrets,
        }
    }

    /// A fixed context (generated logs, benchmarks): no commit, no
    /// workflow run, nothing to redact beyond the built-in token shapes.
    pub fn new(session_id: &str, actor: &str) -> Context {
        Context {
            session_id: session_id.to_string(),
            git_commit: None,
            workflow_run: None,
            actor: actor.to_string(),
            secrets: Vec::new(),
        }
    }

    /// Redacts token shapes, `Authorization:` values and the configured
    /// secrets in `text`.
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        crate::redact::redact_with(text, &self.secrets)
    }
}

fn process_session() -> String {
    static SESSION: OnceLock<String> = OnceLock::new();
    SESSION
        .get_or_init(|| format!("SES-{}", uuid::Uuid::now_v7()))
        .clone()
}

/// A new `audit_id`: `AUD-` and a UUIDv7, unique across processes and
/// sorting by creation time (millisecond precision, monotonic within a
/// process).
pub fn new_audit_id() -> String {
    format!("AUD-{}", uuid::Uuid::now_v7())
}

/// An `audit_id` for an entry made at `at` (generated logs, imports);
/// unique thanks to the UUIDv7 random bits.
pub fn audit_id_at(at: jiff::Timestamp) -> String {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        at.as_second().max(0) as u64,
        at.subsec_nanosecond().max(0) as u32,
    );
    format!("AUD-{}", uuid::Uuid::new_v7(ts))
}

/// The millisecond Unix time inside an `audit_id`, if it is a UUIDv7 one.
pub fn id_millis(audit_id: &str) -> Option<i64> {
    let uuid = uuid::Uuid::parse_str(audit_id.strip_prefix("AUD-")?).ok()?;
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    Some(secs as i64 * 1000 + i64::from(nanos / 1_000_000))
}

/// `now` as the entry timestamp: UTC, RFC 3339, microseconds.
pub fn timestamp(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The entry for `event` without the chain fields (`seq`, `prev`, `hash`),
/// redacted. Members are in the order a reader expects; the hash does not
/// depend on it.
pub fn body(
    root: &Path,
    ctx: &Context,
    event: &Event,
    now: jiff::Timestamp,
) -> Result<Map<String, Value>> {
    for (what, text) in [
        ("component", &event.component),
        ("operation", &event.operation),
    ] {
        if text.trim().is_empty() {
            return Err(Error::usage(
                format!("the audit {what} is empty"),
                Some(format!("pass a non-empty --{what}")),
            ));
        }
    }
    let mut details = event.details.clone();
    let mut metadata = event.metadata.clone();
    if event.result == Outcome::Failure || event.error.is_some() || event.recovery_action.is_some()
    {
        // The plan's `log_failure`: the error, the caller's context, the
        // recovery action, and a flag for the reviewer.
        let context = std::mem::take(&mut details);
        details.insert(
            "error_message".into(),
            event.error.clone().map_or(Value::Null, Value::String),
        );
        details.insert("context".into(), Value::Object(context));
        details.insert(
            "recovery_action".into(),
            event
                .recovery_action
                .clone()
                .map_or(Value::Null, Value::String),
        );
        if event.result == Outcome::Failure {
            metadata
                .entry("requires_investigation")
                .or_insert(Value::Bool(true));
        }
    }
    let mut checksums = Map::new();
    for rel in &event.files {
        let checksum = match event.written.get(rel) {
            Some(sha256) => Value::String(sha256.clone()),
            None => file_checksum(root, rel)?,
        };
        checksums.insert(rel.clone(), checksum);
    }
    let entry = super::EntryView {
        schema: Some(SCHEMA),
        audit_id: Some(new_audit_id()),
        session_id: Some(ctx.session_id.clone()),
        timestamp: Some(timestamp(now)),
        component: Some(event.component.clone()),
        operation: Some(event.operation.clone()),
        result: Some(event.result),
        details,
        files_affected: event.files.clone(),
        file_checksums: checksums,
        metadata,
        environment: super::view::Environment {
            git_commit: ctx.git_commit.clone(),
            workflow_run: ctx.workflow_run.clone(),
            actor: Some(ctx.actor.clone()),
        },
        ..super::EntryView::default()
    };
    let Ok(Value::Object(entry)) = serde_json::to_value(&entry) else {
        unreachable!("an entry view serializes to an object")
    };
    let mut value = Value::Object(entry);
    check_numbers(&value)?;
    let depth = super::canonical::depth(&value);
    if depth > super::canonical::MAX_DEPTH {
        return Err(Error::usage(
            format!(
                "the entry would nest {depth} levels deep; `lifeline audit verify` accepts at most {}",
                super::canonical::MAX_DEPTH
            ),
            Some("flatten the details (nested values can be passed as strings)".into()),
        ));
    }
    redact_value(ctx, &mut value, false);
    match value {
        Value::Object(map) => Ok(map),
        _ => unreachable!("built as an object"),
    }
}

/// SHA-256 of a repo-relative file, or null when it does not exist (a
/// deleted file is worth recording too).
fn file_checksum(root: &Path, rel: &str) -> Result<Value> {
    // Never through a symlink and never a FIFO or device (refused, so
    // nothing outside the root is hashed and nothing hangs).
    use crate::fs::paths::{Inspect, Kind};
    match crate::fs::paths::inspect(root, rel)? {
        Inspect::Missing => Ok(Value::Null),
        Inspect::Found(found) if found.kind == Kind::Dir => Err(Error::usage(
            format!("--file {rel}: is a directory"),
            Some("list the files the operation touched, one --file each".into()),
        )),
        _ => match crate::fs::paths::read_own(root, rel)? {
            Some(bytes) => Ok(Value::String(hex::encode(Sha256::digest(&bytes)))),
            None => Ok(Value::Null),
        },
    }
}

/// Numbers a double cannot hold exactly would hash differently in other
/// verifiers; refuse them so every entry verifies everywhere.
fn check_numbers(value: &Value) -> Result<()> {
    match inexact_number(value) {
        None => Ok(()),
        Some((n, path)) => Err(Error::usage(
            format!("the number {n} at `{path}` cannot be recorded exactly"),
            Some("integers must lie within ±(2^53-1); pass larger numbers as strings".into()),
        )),
    }
}

/// The first number that does not survive a round trip through a double,
/// and its path (built only when there is one).
fn inexact_number(value: &Value) -> Option<(&serde_json::Number, String)> {
    match value {
        Value::Number(n) => {
            let exact = if let Some(u) = n.as_u64() {
                u <= super::canonical::MAX_SAFE_INTEGER
            } else if let Some(i) = n.as_i64() {
                i.unsigned_abs() <= super::canonical::MAX_SAFE_INTEGER
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::from_str::<f64>(&super::canonical::es_number(f)).ok() == Some(f)
            };
            (!exact).then(|| (n, String::new()))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| inexact_number(v).map(|(n, path)| (n, format!("[{i}]{path}")))),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| inexact_number(v).map(|(n, path)| (n, format!(".{k}{path}")))),
        _ => None,
    }
}

/// Whether a member name says its value is a secret: one of
/// [`SECRET_KEYS`], or ending in `_` or `-` and one of them, any case.
fn is_secret_key(key: &str) -> bool {
    let key = key.as_bytes();
    SECRET_KEYS.iter().any(|s| {
        let s = s.as_bytes();
        key.len() >= s.len()
            && key[key.len() - s.len()..].iter().zip(s).all(|(a, b)| {
                if *a == b'-' {
                    *b == b'_'
                } else {
                    a.to_ascii_lowercase() == *b
                }
            })
            && (key.len() == s.len() || matches!(key[key.len() - s.len() - 1], b'_' | b'-'))
    })
}

/// Redacts every string (member names too); the values of members named
/// like secrets (`token`, `password`, `authorization`, ...) entirely.
fn redact_value(ctx: &Context, value: &mut Value, secret: bool) {
    match value {
        Value::String(s) => {
            if secret && !s.is_empty() {
                *s = crate::redact::REDACTED.to_string();
            } else if let std::borrow::Cow::Owned(red) = ctx.redact(s) {
                *s = red;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(ctx, v, secret)),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                redact_value(ctx, v, secret || is_secret_key(k));
            }
            // Member names that hold a secret (rare): rename in place.
            let renames: Vec<(String, String)> = map
                .keys()
                .filter_map(|k| match ctx.redact(k) {
                    std::borrow::Cow::Owned(red) if red != *k => Some((k.clone(), red)),
                    _ => None,
                })
                .collect();
            for (old, new) in renames {
                if let Some(v) = map.shift_remove(&old) {
                    map.insert(new, v);
                }
            }
        }
        Value::Number(_) if secret => *value = Value::String(crate::redact::REDACTED.into()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_match_whole_words() {
        assert!(is_secret_key("Authorization"));
        assert!(is_secret_key("github_token"));
        assert!(is_secret_key("db-password"));
        assert!(!is_secret_key("tokens_used"));
        assert!(!is_secret_key("changes_count"));
    }

    #[test]
    fn audit_ids_are_unique_and_carry_their_time() {
        let a = new_audit_id();
        let b = new_audit_id();
        assert!(a < b, "{a} {b}");
        let ms = id_millis(&a).unwrap();
        let now = jiff::Timestamp::now().as_millisecond();
        assert!((now - ms).abs() < 60_000);
        assert_eq!(id_millis("AUD-20240101-x"), None);
    }
}
