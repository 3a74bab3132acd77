//! Ending a torn line: `lifeline audit repair`.
//!
//! A write interrupted by a crash or a full disk can leave a line cut
//! short ([`super::verify::is_torn`]). Verify reports it; repair takes it
//! out of its month file and appends the `audit`/`repair` entry its caller
//! (`commands::audit::repair`) composes from the [`TornLine`]s: the line's
//! bytes (as text, secrets redacted), its length, its SHA-256, and where
//! it was. Nothing is deleted silently: the repair entry is in
//! the chain like any other, and only torn lines are touched. A torn line
//! carries no hash anything can be checked against, so taking it out
//! cannot hide a finding about an entry: verify still reports every broken
//! link.

use sha2::{Digest, Sha256};

use super::store::Log;
use super::{Event, entry};
use crate::ci::Env;
use crate::error::Result;
use crate::workspace::Workspace;

/// At most this many bytes of a torn line's text go into the repair
/// entry; the length and the hash cover the whole line.
const KEPT_TEXT: usize = 4096;

/// One torn line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TornLine {
    /// The month file, as messages show it.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// Byte offset of the line in the file.
    pub offset: usize,
    /// Length of the line, without its newline.
    pub bytes: usize,
    pub sha256: String,
    /// The line as text (invalid UTF-8 replaced, secrets redacted, cut at
    /// 4 KiB).
    pub text: String,
}

/// What [`repair`] did.
#[derive(Debug, Clone)]
pub struct Repaired {
    pub torn: Vec<TornLine>,
    /// The repair entry, when there was anything to repair.
    pub appended: Option<super::Appended>,
}

/// The torn lines of the log's uncompressed month files (retention only
/// compresses months that verified).
pub fn find(log: &Log) -> Result<Vec<TornLine>> {
    let mut torn = Vec::new();
    for f in log.month_files()?.iter().filter(|f| !f.compressed) {
        let bytes = f.read()?;
        let shown = log.display(&f.name);
        let mut offset = 0;
        let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        if body.is_empty() {
            continue;
        }
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            if super::verify::is_torn(line) {
                torn.push(torn_line(&shown, i + 1, offset, line));
            }
            offset += line.len() + 1;
        }
    }
    Ok(torn)
}

fn torn_line(file: &str, line: usize, offset: usize, bytes: &[u8]) -> TornLine {
    let kept = &bytes[..bytes.len().min(KEPT_TEXT)];
    TornLine {
        file: file.to_string(),
        line,
        offset,
        bytes: bytes.len(),
        sha256: hex::encode(Sha256::digest(bytes)),
        text: crate::redact::redact(&String::from_utf8_lossy(kept)).into_owned(),
    }
}

/// Takes every torn line out of its month file and records them in the
/// entry `event` builds from them (the caller's `audit`/`repair` entry),
/// under the log's lock. The entry is written first: if rewriting a file
/// fails afterwards, the torn line is still there (verify still reports
/// it) and repair can run again.
pub fn repair(
    ws: &Workspace,
    env: &dyn Env,
    event: impl FnOnce(&[TornLine]) -> Event,
) -> Result<Repaired> {
    let log = Log::of(ws)?;
    let _lock = log.lock()?;
    let torn = find(&log)?;
    if torn.is_empty() {
        return Ok(Repaired {
            torn,
            appended: None,
        });
    }
    let event = event(&torn);
    let ctx = entry::Context::from_env(ws, env);
    let body = entry::body(&ws.root, &ctx, &event, jiff::Timestamp::now())?;
    let appended = log.append_locked(vec![body], None)?.pop();
    for f in log.month_files()?.iter().filter(|f| !f.compressed) {
        let shown = log.display(&f.name);
        let cuts: Vec<&TornLine> = torn.iter().filter(|t| t.file == shown).collect();
        if cuts.is_empty() {
            continue;
        }
        let bytes = f.read()?;
        let mut kept = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for t in cuts {
            kept.extend_from_slice(&bytes[at..t.offset]);
            // The line and its newline (the next append wrote one after it).
            at = (t.offset + t.bytes + 1).min(bytes.len());
        }
        kept.extend_from_slice(&bytes[at..]);
        if !kept.is_empty() && !kept.ends_with(b"\n") {
            kept.push(b'\n');
        }
        log.write(&f.name, &kept)?;
    }
    Ok(Repaired { torn, appended })
}
