//! Reading the log back: filtered queries, and lookup by `audit_id`.
//!
//! An ID names its month (a UUIDv7 carries its millisecond), so a lookup
//! reads one month file. A small per-month index (`audit_id` → byte
//! offset) makes that a binary search; it lives outside the repository
//! (`.git/lifeline/audit-index/`), is rebuilt or extended when the month
//! file changed, and is never trusted over the log: the line it points at
//! must carry the ID asked for, or the month is scanned and reindexed.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::canonical;
use super::entry::id_millis;
use super::store::{Log, MonthFile};
use super::{EntryView, Outcome};
use crate::error::{Error, IoContext, Result};

/// Which entries to return; every given filter must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub id: Option<String>,
    pub component: Option<String>,
    pub operation: Option<String>,
    pub result: Option<Outcome>,
    /// Matches `environment.actor` exactly, or its name after the
    /// `github:`/`git:`/`user:` prefix.
    pub actor: Option<String>,
    /// A repo-relative path in `files_affected`.
    pub file: Option<String>,
    /// RFC 3339 timestamps or dates (`2026-11-01`); `until` is inclusive
    /// of a whole date given without a time.
    pub since: Option<String>,
    pub until: Option<String>,
}

/// Checks a `--since`/`--until` value and puts it in the form entries'
/// timestamps are compared with: a date stays `YYYY-MM-DD`, a time becomes
/// UTC with microseconds (the entry timestamp format).
pub fn parse_bound(text: &str) -> std::result::Result<String, String> {
    if let Ok(date) = text.parse::<jiff::civil::Date>()
        && text.len() == 10
    {
        return Ok(date.to_string());
    }
    match text.parse::<jiff::Timestamp>() {
        Ok(t) => Ok(super::entry::timestamp(t)),
        Err(_) => Err(format!(
            "{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time (2026-11-01T09:30:00Z)"
        )),
    }
}

/// One entry found, with where it is and whether its hash still matches.
#[derive(Debug, Clone)]
pub struct Found {
    pub file: String,
    pub line: Option<usize>,
    /// The entry as stored (members in their order), for printing.
    pub entry: Value,
    /// The same entry, typed.
    pub view: EntryView,
    /// The raw line, as stored.
    pub raw: String,
    pub hash_ok: bool,
}

impl Filter {
    fn matches(&self, e: &EntryView) -> bool {
        let eq = |want: &Option<String>, got: &Option<String>| {
            want.as_deref().is_none_or(|w| Some(w) == got.as_deref())
        };
        if !eq(&self.id, &e.audit_id)
            || !eq(&self.component, &e.component)
            || !eq(&self.operation, &e.operation)
            || self.result.is_some_and(|r| Some(r) != e.result)
        {
            return false;
        }
        if let Some(want) = &self.actor {
            let actor = e.environment.actor.as_deref().unwrap_or("");
            let name = actor.split_once(':').map_or(actor, |(_, n)| n);
            if actor != want && name != want {
                return false;
            }
        }
        if let Some(want) = &self.file
            && !e.files_affected.iter().any(|f| f == want)
        {
            return false;
        }
        let ts = e.timestamp.as_deref().unwrap_or("");
        if self.since.as_deref().is_some_and(|since| ts < since) {
            return false;
        }
        if let Some(until) = &self.until {
            // A bare date covers the whole day.
            let bound = if until.len() <= 10 {
                format!("{until}\u{7f}")
            } else {
                until.clone()
            };
            if ts > bound.as_str() {
                return false;
            }
        }
        true
    }

    /// Whether a month file can hold matches (by its `YYYY-MM`).
    fn month_in_range(&self, month: &str) -> bool {
        let since_ok = self
            .since
            .as_deref()
            .is_none_or(|s| month >= s.get(..7).unwrap_or(s));
        // Entries sit in their timestamp's month file (verify checks it).
        since_ok
    }
}

/// Every entry matching `filter`, in log order.
pub fn query(log: &Log, index_dir: Option<&Path>, filter: &Filter) -> Result<Vec<Found>> {
    if let Some(id) = &filter.id {
        let found = find_by_id(log, index_dir, id)?;
        return Ok(found
            .into_iter()
            .filter(|f| filter.matches(&f.view))
            .collect());
    }
    let mut out = Vec::new();
    for f in log.month_files()? {
        if !filter.month_in_range(&f.month) {
            continue;
        }
        let text = super::retention::read_month(&f)?;
        for (i, line) in text.lines().enumerate() {
            // Typed once for the filter; only a match is kept as stored.
            let Some(view) = EntryView::parse(line) else {
                continue;
            };
            if filter.matches(&view)
                && let Ok(entry) = serde_json::from_str::<Value>(line)
            {
                out.push(found(log, &f, Some(i + 1), line, entry, view));
            }
        }
    }
    Ok(out)
}

fn found(
    log: &Log,
    f: &MonthFile,
    line: Option<usize>,
    raw: &str,
    entry: Value,
    view: EntryView,
) -> Found {
    let hash_ok = entry
        .as_object()
        .is_some_and(|m| view.hash.as_deref() == Some(canonical::entry_hash(m).as_str()));
    Found {
        file: log.display(&f.name),
        line,
        entry,
        view,
        raw: raw.to_string(),
        hash_ok,
    }
}

/// The entry with `audit_id`, if the log has it.
pub fn find_by_id(log: &Log, index_dir: Option<&Path>, audit_id: &str) -> Result<Option<Found>> {
    let millis = id_millis(audit_id).ok_or_else(|| {
        Error::usage(
            format!("{audit_id:?} is not an audit ID"),
            Some(
                "audit IDs look like AUD-019abcde-...; `lifeline audit query` lists them"
                    .to_string(),
            ),
        )
    })?;
    let month = jiff::Timestamp::from_millisecond(millis)
        .map(|t| t.strftime("%Y-%m").to_string())
        .unwrap_or_default();
    let id = uuid::Uuid::parse_str(&audit_id[4..])
        .map(|u| u.as_u128())
        .unwrap_or_default();
    for f in log.month_files()?.iter().filter(|f| f.month >= month) {
        let hit = if f.compressed {
            scan_text(&super::retention::read_month(f)?, audit_id)
                .map(|(line, raw)| (Some(line), raw))
        } else {
            lookup_plain(f, index_dir, id, audit_id)?.map(|raw| (None, raw))
        };
        if let Some((line, raw)) = hit
            && let Ok(entry) = serde_json::from_str::<Value>(&raw)
        {
            let view = EntryView::of(&entry);
            return Ok(Some(found(log, f, line, &raw, entry, view)));
        }
    }
    Ok(None)
}

fn scan_text(text: &str, audit_id: &str) -> Option<(usize, String)> {
    let needle = format!("\"audit_id\":\"{audit_id}\"");
    text.lines()
        .enumerate()
        .find(|(_, l)| l.contains(&needle))
        .map(|(i, l)| (i + 1, l.to_string()))
}

/// Looks `id` up in a plain month file through its index. A hit is
/// checked against the line it points at; a miss (or a wrong hit) is
/// settled by scanning the month file, which also rebuilds the index.
fn lookup_plain(
    f: &MonthFile,
    index_dir: Option<&Path>,
    id: u128,
    audit_id: &str,
) -> Result<Option<String>> {
    let mut file = f.open()?;
    let len = file.metadata().at(&f.path)?.len();
    let index_path = index_dir.map(|d| d.join(format!("{}.idx", f.name)));
    if let Some(offset) = index_path
        .as_deref()
        .and_then(|p| Index::probe(f.root(), p, id, len))
        && let Some(line) = read_line_at(&mut file, &f.path, offset)?
        && line_has_id(&line, audit_id)
    {
        return Ok(Some(line));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.seek(SeekFrom::Start(0)).at(&f.path)?;
    file.read_to_end(&mut bytes).at(&f.path)?;
    // Only whole lines: a writer may be mid-append.
    bytes.truncate(bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1));
    if let Some(path) = &index_path {
        let mut entries = build(&bytes, 0);
        entries.sort_unstable();
        let index = Index {
            covered: bytes.len() as u64,
            entries,
        };
        // The index is a cache: failing to save it is not an error.
        let _ = index.save(f.root(), path);
    }
    let needle = format!("\"audit_id\":\"{audit_id}\"");
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    Ok(finder.find_iter(&bytes).find_map(|at| {
        let start = bytes[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let line = line_at(&bytes, start as u64);
        line_has_id(&line, audit_id).then_some(line)
    }))
}

fn line_has_id(line: &str, audit_id: &str) -> bool {
    EntryView::parse(line).is_some_and(|v| v.audit_id.as_deref() == Some(audit_id))
}

fn line_at(bytes: &[u8], offset: u64) -> String {
    let start = offset as usize;
    let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
    String::from_utf8_lossy(&bytes[start..end]).into_owned()
}

fn read_line_at(file: &mut std::fs::File, path: &Path, offset: u64) -> Result<Option<String>> {
    file.seek(SeekFrom::Start(offset)).at(path)?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = file.read(&mut chunk).at(path)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(i) = memchr::memchr(b'\n', &chunk[..n]) {
            buf.extend_from_slice(&chunk[..i]);
            return Ok(String::from_utf8(buf).ok());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// `(id, absolute offset)` of every entry line in `bytes`, which starts at
/// `base` in its file. Lifeline writes canonical lines that begin with the
/// ID; any other line is parsed.
fn build(bytes: &[u8], base: u64) -> Vec<(u128, u64)> {
    const PREFIX: &[u8] = b"{\"audit_id\":\"AUD-";
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let line = &bytes[start..end];
        let id = if line.starts_with(PREFIX) && line.len() > PREFIX.len() + 36 {
            std::str::from_utf8(&line[PREFIX.len()..PREFIX.len() + 36])
                .ok()
                .and_then(|u| uuid::Uuid::parse_str(u).ok())
        } else {
            std::str::from_utf8(line)
                .ok()
                .and_then(EntryView::parse)
                .and_then(|v| {
                    v.audit_id?
                        .strip_prefix("AUD-")
                        .and_then(|u| uuid::Uuid::parse_str(u).ok())
                })
        };
        if let Some(id) = id {
            out.push((id.as_u128(), base + start as u64));
        }
        start = end + 1;
    }
    out
}

/// The index of one month file: sorted `(id, offset)` for its first
/// `covered` bytes. On disk: `LLAIDX1\n`, `covered` (u64 LE), then the
/// records.
struct Index {
    covered: u64,
    entries: Vec<(u128, u64)>,
}

const MAGIC: &[u8; 8] = b"LLAIDX1\n";
/// Bytes per index record: the ID (16, little-endian) and the offset (8).
const RECORD: u64 = 24;

impl Index {
    /// Binary search in the index file for `id` without reading all of it;
    /// `None` when absent, unreadable or covering more than `file_len`.
    /// The index is opened through the safe layer when it lies under
    /// `root` (the audit directory's `.index` outside git).
    fn probe(root: &Path, path: &Path, id: u128, file_len: u64) -> Option<u64> {
        let mut file = crate::fs::atomic::open_private(root, path).ok()??;
        let mut header = [0u8; 16];
        file.read_exact(&mut header).ok()?;
        if &header[..8] != MAGIC {
            return None;
        }
        let covered = u64::from_le_bytes(header[8..].try_into().ok()?);
        let size = file.metadata().ok()?.len().checked_sub(16)?;
        if covered > file_len || size % RECORD != 0 {
            return None;
        }
        let (mut lo, mut hi) = (0, size / RECORD);
        let mut record = [0u8; RECORD as usize];
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            file.seek(SeekFrom::Start(16 + mid * RECORD)).ok()?;
            file.read_exact(&mut record).ok()?;
            let at = u128::from_le_bytes(record[..16].try_into().ok()?);
            match at.cmp(&id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    return Some(u64::from_le_bytes(record[16..].try_into().ok()?));
                }
            }
        }
        None
    }

    fn save(&self, root: &Path, path: &Path) -> Result<()> {
        let mut bytes = Vec::with_capacity(16 + self.entries.len() * 24);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&self.covered.to_le_bytes());
        for (id, off) in &self.entries {
            bytes.extend_from_slice(&id.to_le_bytes());
            bytes.extend_from_slice(&off.to_le_bytes());
        }
        crate::fs::atomic::write_private(root, path, &bytes)
    }
}

/// Where the index of `ws` lives: inside the git directory (never
/// committed, never pushed), or `.index` in the audit directory outside
/// git. The git module finds the git directory; a `.git` that is a FIFO,
/// socket or device is an error, never opened.
pub fn index_dir(root: &Path, log: &Log) -> Result<PathBuf> {
    Ok(match crate::git::checked_git_dir_of(root)? {
        Some(git_dir) => git_dir.join("lifeline").join("audit-index"),
        None => log.dir.join(".index"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_date_until_covers_the_day() {
        let f = Filter {
            until: Some("2026-11-25".into()),
            since: Some("2026-11-25".into()),
            ..Filter::default()
        };
        let e = EntryView::of(&serde_json::json!({"timestamp": "2026-11-25T23:59:59.000000Z"}));
        assert!(f.matches(&e));
        let e = EntryView::of(&serde_json::json!({"timestamp": "2026-11-26T00:00:00.000000Z"}));
        assert!(!f.matches(&e));
    }

    /// A FIFO named `.git` is refused with an error naming it, without
    /// opening it (opening a FIFO to read waits for a writer).
    #[cfg(unix)]
    #[test]
    fn a_fifo_named_dot_git_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        use std::os::unix::ffi::OsStrExt;
        let fifo = std::ffi::CString::new(dir.path().join(".git").as_os_str().as_bytes()).unwrap();
        // SAFETY: `fifo` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let log = Log::at(dir.path().join("docs/audit"));
        let err = index_dir(dir.path(), &log).unwrap_err().to_string();
        assert!(err.contains(".git") && err.contains("FIFO"), "{err}");
    }
}
