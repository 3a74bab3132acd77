//! The audit log as a transparency log: the leaves in log order, the
//! checkpoints lifeline signs and records, and the proofs against them.
//!
//! Leaves are the entries in log order (month files ascending, lines in
//! order); leaf `i` is `SHA-256(0x00 ‖ hash of entry i)`. Every checkpoint
//! lifeline signs is appended to `checkpoints.jsonl` in the audit
//! directory with the compact frontier of its tree and the position where
//! its last entry ends, so the next checkpoint reads only the entries
//! written since (two SHA-256 compressions and one line hash per new
//! entry, whatever the size of the log).

use std::collections::HashSet;
use std::io::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::merkle::{self, Frontier, Hash};
use super::note::{Checkpoint, Note};
use super::signing::{SigningKey, VerifyingKey};
use super::store::{Log, MonthFile};
use super::verify::FindingKind;
use super::{canonical, retention};
use crate::error::{Error, IoContext, Result};

/// The record of checkpoints, in the audit directory.
pub const CHECKPOINTS_FILE: &str = "checkpoints.jsonl";

/// Where the entries a checkpoint covered end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The month (`YYYY-MM`) of the file holding the last covered entry.
    pub month: String,
    /// The byte just past that entry's line (in the uncompressed text).
    pub offset: u64,
}

/// One line of `checkpoints.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub size: u64,
    /// Hex root hash (the same as the note's).
    pub root: String,
    /// The signed note, exactly as printed.
    pub note: String,
    /// The compact frontier of the tree (hex, largest subtree first).
    pub frontier: Vec<String>,
    /// Where the covered entries end; `None` for the empty log.
    pub position: Option<Position>,
    /// The hash of the last covered entry.
    pub last: Option<String>,
}

/// One entry as the tree sees it.
struct Leaf {
    hash: Hash,
    prev: Option<Hash>,
    joins: Vec<Hash>,
    /// The audit_id's UUID (0 when it is not one).
    id: u128,
}

/// The UUID of an `AUD-<UUID>` audit_id, or 0.
pub fn id_of(audit_id: &str) -> u128 {
    audit_id
        .strip_prefix("AUD-")
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
        .map_or(0, |u| u.as_u128())
}

/// A damaged line: transparency needs every line to be an intact entry.
fn damaged(file: &str, line: usize, what: &str) -> Error {
    Error::usage(
        format!("{file}:{line}: {what}; checkpoints and proofs need an intact log"),
        Some("run `lifeline audit verify` and repair the log first".to_string()),
    )
}

/// Reads one line as a leaf: its hash must match its content.
fn leaf_of(line: &[u8]) -> std::result::Result<Leaf, String> {
    let parse_hash = |v: &Value| v.as_str().and_then(super::verify::parse_hash);
    if let Some(c) = canonical::canonical_line(line) {
        let member = |k: &str| c.members.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let text = |k: &str| {
            member(k)
                .and_then(|v| v.strip_prefix(b"\"")?.strip_suffix(b"\""))
                .and_then(|v| std::str::from_utf8(v).ok())
        };
        if let Some(hash) = text("hash").and_then(super::verify::parse_hash)
            && hash == c.hash
        {
            let prev = text("prev").and_then(super::verify::parse_hash);
            let joins = match member("joins") {
                None => Vec::new(),
                Some(raw) => serde_json::from_slice::<Vec<Value>>(raw)
                    .ok()
                    .map(|v| v.iter().filter_map(parse_hash).collect())
                    .unwrap_or_default(),
            };
            return Ok(Leaf {
                hash,
                prev,
                joins,
                id: text("audit_id").map_or(0, id_of),
            });
        }
    }
    let value: Value = serde_json::from_slice(line).map_err(|_| "not a JSON entry".to_string())?;
    let Value::Object(map) = value else {
        return Err("not a JSON object".into());
    };
    let hash = map
        .get("hash")
        .and_then(parse_hash)
        .ok_or("no `hash` of 64 hex digits")?;
    if canonical::entry_hash(&map) != hex::encode(hash) {
        return Err("the entry does not match its hash (modified)".into());
    }
    Ok(Leaf {
        hash,
        prev: map.get("prev").and_then(parse_hash),
        joins: map
            .get("joins")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(parse_hash).collect())
            .unwrap_or_default(),
        id: map.get("audit_id").and_then(Value::as_str).map_or(0, id_of),
    })
}

fn read_month(f: &MonthFile) -> Result<Vec<u8>> {
    if f.compressed {
        return Ok(retention::read_month(f)?.into_bytes());
    }
    std::fs::read(&f.path).at(&f.path)
}

/// What a scan of the log found.
pub struct Scan {
    /// Audit-id UUIDs and entry hashes of the scanned entries, in order
    /// (kept only if asked).
    pub hashes: Vec<(u128, Hash)>,
    /// Per month file scanned: its month, its length, the entries read.
    pub files: Vec<CachedFile>,
    /// The frontier after the last scanned entry.
    pub frontier: Frontier,
    /// Roots at the sizes asked for, in the order asked.
    pub roots_at: Vec<(u64, Hash)>,
    /// Where the last entry ends, and its hash.
    pub end: Option<(Position, Hash)>,
    /// Branches nothing joins: more than one means an unsealed fork.
    pub open_heads: usize,
}

/// Scans the log from `start` (or the beginning), pushing every entry onto
/// `frontier`. `open` is the head before `start`.
fn scan(
    log: &Log,
    start: Option<&Position>,
    frontier: Frontier,
    open: Option<Hash>,
    keep: bool,
    roots_at: &[u64],
) -> Result<Scan> {
    let files = log.month_files()?;
    let mut heads: HashSet<Hash> = open.into_iter().collect();
    let mut out = Scan {
        hashes: Vec::new(),
        files: Vec::new(),
        frontier,
        roots_at: Vec::new(),
        end: None,
        open_heads: 0,
    };
    let mut seen_months = HashSet::new();
    for f in &files {
        if !seen_months.insert(f.month.clone()) {
            return Err(damaged(
                &log.display(&f.name),
                1,
                "a second file for the same month",
            ));
        }
        let mut offset = 0usize;
        if let Some(s) = start {
            match f.month.cmp(&s.month) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Equal => offset = s.offset as usize,
                std::cmp::Ordering::Greater => {}
            }
        }
        let bytes = read_month(f)?;
        let shown = log.display(&f.name);
        if offset > bytes.len() {
            return Err(damaged(
                &shown,
                1,
                "shorter than when it was last checkpointed",
            ));
        }
        let mut line_no = bytes[..offset].iter().filter(|b| **b == b'\n').count();
        let mut at = offset;
        let before = out.frontier.size;
        while at < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
            let line = &bytes[at..end];
            line_no += 1;
            if end == bytes.len() {
                return Err(damaged(
                    &shown,
                    line_no,
                    "the last line is cut short (no newline)",
                ));
            }
            let leaf = leaf_of(line).map_err(|e| damaged(&shown, line_no, &e))?;
            if let Some(p) = leaf.prev {
                heads.remove(&p);
            }
            for j in &leaf.joins {
                heads.remove(j);
            }
            heads.insert(leaf.hash);
            out.frontier.push(merkle::leaf_hash(&leaf.hash));
            if roots_at.contains(&out.frontier.size) {
                out.roots_at.push((out.frontier.size, out.frontier.root()));
            }
            if keep {
                out.hashes.push((leaf.id, leaf.hash));
            }
            at = end + 1;
            out.end = Some((
                Position {
                    month: f.month.clone(),
                    offset: at as u64,
                },
                leaf.hash,
            ));
        }
        out.files.push(CachedFile {
            month: f.month.clone(),
            compressed: f.compressed,
            bytes: bytes.len() as u64,
            leaves: out.frontier.size - before,
        });
    }
    if roots_at.contains(&0) {
        out.roots_at.push((0, merkle::empty_root()));
    }
    out.open_heads = heads.len();
    Ok(out)
}

/// Every entry of the log, in order: its audit-id UUID and its hash.
pub fn leaves(log: &Log) -> Result<Vec<(u128, Hash)>> {
    Ok(scan(log, None, Frontier::default(), None, true, &[])?.hashes)
}

/// A month file as the leaf cache saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedFile {
    pub month: String,
    pub compressed: bool,
    /// Its length (uncompressed) when read.
    pub bytes: u64,
    /// The entries it held.
    pub leaves: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheState {
    files: Vec<CachedFile>,
    count: u64,
    last: Option<String>,
}

const CACHE_LEAVES: &str = "tlog-leaves.bin";
const CACHE_STATE: &str = "tlog-leaves.json";
/// Bytes per cached leaf: the audit-id UUID and the entry hash.
const RECORD: usize = 48;

/// Every entry of the log, like [`leaves`], through a cache in
/// `cache_dir` (never committed): the entries read before are taken from
/// it when the files it covered are unchanged in length and still end in
/// the entry it recorded; only later entries are read. A wrong cache can
/// only make a proof fail its own check (the caller then passes `fresh`).
pub fn cached_leaves(
    log: &Log,
    cache_dir: &std::path::Path,
    fresh: bool,
) -> Result<Vec<(u128, Hash)>> {
    // Read and written from the git directory (or the root) down without
    // following a symlink: a link planted at the cache cannot redirect a
    // write, and a FIFO there cannot hang a read.
    let state_path = cache_dir.join(CACHE_STATE);
    let leaves_path = cache_dir.join(CACHE_LEAVES);
    let state: CacheState = if fresh {
        CacheState::default()
    } else {
        crate::fs::atomic::read_private(log.root(), &state_path)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    };
    let files = log.month_files()?;
    let usable = !state.files.is_empty()
        && state.files.len() <= files.len()
        && state
            .files
            .iter()
            .zip(&files)
            .enumerate()
            .all(|(i, (c, f))| {
                let len = if f.compressed {
                    None
                } else {
                    std::fs::metadata(&f.path).ok().map(|m| m.len())
                };
                c.month == f.month
                    && c.compressed == f.compressed
                    && !f.compressed
                    && match len {
                        Some(l) if i + 1 == state.files.len() => l >= c.bytes,
                        Some(l) => l == c.bytes,
                        None => false,
                    }
            });
    let mut cached: Vec<(u128, Hash)> = Vec::new();
    let mut start = None;
    let mut open = None;
    if usable
        && let (Some(last_file), Some(last)) =
            (state.files.last(), state.last.as_deref().and_then(hex32))
    {
        let pos = Position {
            month: last_file.month.clone(),
            offset: last_file.bytes,
        };
        let bytes = crate::fs::atomic::read_private(log.root(), &leaves_path)
            .ok()
            .flatten()
            .unwrap_or_default();
        let want = state.count as usize * RECORD;
        if bytes.len() >= want && still_there(log, &pos, &last)? {
            cached = bytes[..want]
                .chunks_exact(RECORD)
                .map(|c| {
                    let id = u128::from_be_bytes(c[..16].try_into().expect("16 bytes"));
                    let hash: Hash = c[16..].try_into().expect("32 bytes");
                    (id, hash)
                })
                .collect();
            if cached.last().map(|c| c.1) == Some(last) {
                start = Some(pos);
                open = Some(last);
            } else {
                cached.clear();
            }
        }
    }
    let scanned = match &start {
        Some(pos) => scan(log, Some(pos), Frontier::default(), open, true, &[])?,
        None => scan(log, None, Frontier::default(), None, true, &[])?,
    };
    let mut state_files = if start.is_some() {
        state.files
    } else {
        Vec::new()
    };
    for f in scanned.files {
        match state_files.last_mut() {
            Some(c) if c.month == f.month => {
                c.bytes = f.bytes;
                c.leaves += f.leaves;
            }
            _ => state_files.push(f),
        }
    }
    let kept = cached.len();
    cached.extend(scanned.hashes);
    if cached.len() != kept || start.is_none() {
        let mut bytes = Vec::with_capacity((cached.len() - kept) * RECORD);
        for (id, h) in &cached[if start.is_some() { kept } else { 0 }..] {
            bytes.extend_from_slice(&id.to_be_bytes());
            bytes.extend_from_slice(h);
        }
        // Opened for appending: after cutting it to `base`, the new leaves
        // land right there.
        let mut file = crate::fs::atomic::open_private_append(log.root(), &leaves_path)?;
        let base = if start.is_some() { kept * RECORD } else { 0 };
        file.set_len(base as u64).at(&leaves_path)?;
        file.write_all(&bytes).at(&leaves_path)?;
        let new_state = CacheState {
            files: state_files,
            count: cached.len() as u64,
            last: cached.last().map(|c| hex::encode(c.1)),
        };
        crate::fs::atomic::write_private(
            log.root(),
            &state_path,
            &serde_json::to_vec(&new_state).expect("state serializes"),
        )?;
    }
    Ok(cached)
}

/// The root of the first `size` entries for each size in `sizes`, and the
/// number of entries (sizes beyond it are absent from the answer).
pub fn roots_at(log: &Log, sizes: &[u64]) -> Result<(Vec<(u64, Hash)>, u64)> {
    let s = scan(log, None, Frontier::default(), None, false, sizes)?;
    Ok((s.roots_at, s.frontier.size))
}

/// The recorded checkpoints, oldest first.
pub fn records(log: &Log) -> Result<Vec<Record>> {
    let path = log.dir.join(CHECKPOINTS_FILE);
    // Never through a symlink at any component, never a FIFO.
    let Some(mut file) = log.open(CHECKPOINTS_FILE)? else {
        return Ok(Vec::new());
    };
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).at(&path)?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                Error::usage(
                    format!(
                        "{}:{}: not a checkpoint record: {e}",
                        log.display(CHECKPOINTS_FILE),
                        i + 1
                    ),
                    Some("restore the file from git history".to_string()),
                )
            })
        })
        .collect()
}

fn append_record(log: &Log, record: &Record) -> Result<()> {
    let path = log.dir.join(CHECKPOINTS_FILE);
    let mut line = serde_json::to_string(record).expect("a record serializes");
    line.push('\n');
    // Opened from the root without following a symlink at any component:
    // a committed link in its place, or in place of the audit directory,
    // cannot redirect the append.
    let mut file = log.open_append(CHECKPOINTS_FILE).map_err(|e| {
        Error::usage(
            format!(
                "{}: cannot append to it: {e}",
                log.display(CHECKPOINTS_FILE)
            ),
            Some(
                "remove whatever is in its place and restore the file from git history".to_string(),
            ),
        )
    })?;
    file.write_all(line.as_bytes()).at(&path)?;
    file.sync_data().at(&path)?;
    Ok(())
}

fn hex32(s: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok().map(|()| out)
}

impl Record {
    /// The record's note, parsed, and its checkpoint.
    pub fn checkpoint(&self) -> std::result::Result<(Note, Checkpoint), String> {
        let note = Note::parse(&self.note)?;
        let cp = Checkpoint::parse(&note.text)?;
        Ok((note, cp))
    }

    /// The frontier, if it is well formed and folds to the signed root.
    fn trusted_frontier(&self, cp: &Checkpoint) -> Option<Frontier> {
        let hashes = self
            .frontier
            .iter()
            .map(|h| hex32(h))
            .collect::<Option<Vec<_>>>()?;
        let f = Frontier {
            size: cp.size,
            hashes,
        };
        (f.is_well_formed() && f.root() == cp.root && self.size == cp.size).then_some(f)
    }
}

/// Whether the line ending at `pos` carries `hash`: the log still holds the
/// last covered entry where the record says.
fn still_there(log: &Log, pos: &Position, hash: &Hash) -> Result<bool> {
    let files = log.month_files()?;
    let Some(f) = files.iter().find(|f| f.month == pos.month) else {
        return Ok(false);
    };
    // Only the tail up to `pos` is needed: read a window before it, and
    // the whole file only for a line longer than the window.
    let end = pos.offset;
    let (bytes, base) = if f.compressed {
        (read_month(f)?, 0)
    } else {
        use std::io::{Read, Seek};
        const WINDOW: u64 = 64 << 10;
        let mut file = std::fs::File::open(&f.path).at(&f.path)?;
        let len = file.metadata().at(&f.path)?.len();
        if end == 0 || end > len {
            return Ok(false);
        }
        let base = end.saturating_sub(WINDOW);
        file.seek(std::io::SeekFrom::Start(base)).at(&f.path)?;
        let mut window = vec![0; (end - base) as usize];
        file.read_exact(&mut window).at(&f.path)?;
        if base > 0 && memchr::memchr(b'\n', &window[..window.len() - 1]).is_none() {
            (read_month(f)?, 0)
        } else {
            (window, base)
        }
    };
    let end = (end - base) as usize;
    if end == 0 || end > bytes.len() || bytes[end - 1] != b'\n' {
        return Ok(false);
    }
    let start = memchr::memrchr(b'\n', &bytes[..end - 1]).map_or(0, |i| i + 1);
    if start == 0 && base > 0 {
        return Ok(false);
    }
    Ok(leaf_of(&bytes[start..end - 1]).is_ok_and(|l| l.hash == *hash))
}

/// What `checkpoint` did.
pub enum Made {
    /// A new checkpoint, recorded.
    New(Record),
    /// Nothing was appended since the newest checkpoint: it stands.
    Unchanged(Record),
    /// The log cannot be checkpointed as it is (a finding, exit 1).
    Refused(String),
}

/// Signs and records a checkpoint of the whole log with `key` under
/// `origin` (also the key name). Incremental from the newest valid record.
pub fn checkpoint(log: &Log, origin: &str, key: &SigningKey) -> Result<Made> {
    let records = records(log)?;
    let public = key.verifying_key();
    let last = records.last().and_then(|r| {
        let (note, cp) = r.checkpoint().ok()?;
        note.signed_by(&cp.origin, &public).then_some((r, cp))
    });
    if let Some(r) = records.last()
        && last.is_none()
    {
        return Ok(Made::Refused(format!(
            "the newest record in {} is not a checkpoint signed by this key (size {}): it was altered, or the key changed",
            log.display(CHECKPOINTS_FILE),
            r.size
        )));
    }
    let incremental = match &last {
        Some((r, cp)) => match (
            r.trusted_frontier(cp),
            &r.position,
            r.last.as_deref().and_then(hex32),
        ) {
            (Some(f), Some(pos), Some(h)) if still_there(log, pos, &h)? => {
                Some((f, pos.clone(), h))
            }
            (Some(f), None, None) if f.size == 0 => Some((
                f,
                Position {
                    month: String::new(),
                    offset: 0,
                },
                [0; 32],
            )),
            _ => None,
        },
        None => None,
    };
    let scanned = match &incremental {
        Some((f, pos, h)) if f.size > 0 => scan(log, Some(pos), f.clone(), Some(*h), false, &[])?,
        Some((f, _, _)) => scan(log, None, f.clone(), None, false, &[])?,
        None => {
            let sizes: Vec<u64> = last.iter().map(|(_, cp)| cp.size).collect();
            let s = scan(log, None, Frontier::default(), None, false, &sizes)?;
            if let Some((_, cp)) = &last {
                let prefix = s
                    .roots_at
                    .iter()
                    .find(|(n, _)| *n == cp.size)
                    .map(|(_, r)| *r);
                if prefix != Some(cp.root) {
                    return Ok(Made::Refused(format!(
                        "the log is not an extension of the newest checkpoint (size {}): entries it covered were changed, removed or reordered",
                        cp.size
                    )));
                }
            }
            s
        }
    };
    if scanned.open_heads > 1 {
        return Ok(Made::Refused(format!(
            "the log has {} branches nothing joins (two clones appended, then merged): run `lifeline audit seal` first",
            scanned.open_heads
        )));
    }
    if let Some((r, cp)) = &last
        && scanned.frontier.size == cp.size
    {
        return Ok(Made::Unchanged((*r).clone()));
    }
    let mut extensions = Vec::new();
    if let Some((_, cp)) = &last {
        extensions.push(Checkpoint::prev_line(cp.size, &cp.root));
    }
    let root = scanned.frontier.root();
    let cp = Checkpoint {
        origin: origin.to_string(),
        size: scanned.frontier.size,
        root,
        extensions,
    };
    let note = Note::sign(&cp.text(), origin, key);
    let (position, last_hash) = match scanned.end {
        Some((p, h)) => (Some(p), Some(hex::encode(h))),
        // Nothing new was read: the previous record's position still holds.
        None => last
            .as_ref()
            .map(|(r, _)| (r.position.clone(), r.last.clone()))
            .unwrap_or((None, None)),
    };
    let record = Record {
        size: cp.size,
        root: hex::encode(root),
        note: note.render(),
        frontier: scanned.frontier.hashes.iter().map(hex::encode).collect(),
        position,
        last: last_hash,
    };
    append_record(log, &record)?;
    Ok(Made::New(record))
}

/// Appends a copy of `record` with `note` (now cosigned) to the record file.
pub fn record_cosigned(log: &Log, record: &Record, note: &Note) -> Result<()> {
    let mut r = record.clone();
    r.note = note.render();
    append_record(log, &r)
}

/// A finding about a checkpoint.
pub struct Problem {
    /// 1-based line in `checkpoints.jsonl`, if it is about a record.
    pub line: Option<usize>,
    pub kind: FindingKind,
    pub message: String,
}

/// Checks every recorded checkpoint against `public`: signed, chained
/// (each names the one before), and consistent with the current log.
pub fn check_records(log: &Log, public: &VerifyingKey) -> Result<Vec<Problem>> {
    let records = records(log)?;
    let mut problems = Vec::new();
    let mut good: Vec<(usize, Checkpoint)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let bad = |m: String| Problem {
            line: Some(i + 1),
            kind: FindingKind::BadSignature,
            message: m,
        };
        match r.checkpoint() {
            Err(e) => problems.push(bad(format!("not a checkpoint note: {e}"))),
            Ok((note, cp)) if !note.signed_by(&cp.origin, public) => problems.push(bad(
                "the checkpoint is not signed by --public-key: it was altered, or signed by another key".into(),
            )),
            Ok((_, cp)) => good.push((i + 1, cp)),
        }
    }
    let mut previous: Option<&Checkpoint> = None;
    for (line, cp) in &good {
        // A cosigned copy repeats the checkpoint it cosigns.
        if previous.is_some_and(|p| p == cp) {
            continue;
        }
        let named = cp.prev();
        let expected = previous.map(|p| (p.size, p.root));
        if named != expected {
            problems.push(Problem {
                line: Some(*line),
                kind: FindingKind::Truncated,
                message: match (named, expected) {
                    (Some((size, _)), None) => format!(
                        "it names a previous checkpoint of size {size} that is not recorded: checkpoints were removed"
                    ),
                    (Some((size, _)), Some((want, _))) => format!(
                        "it names a previous checkpoint of size {size}, but the one before it is of size {want}: checkpoints were removed or reordered"
                    ),
                    (None, _) => "it names no previous checkpoint, but one is recorded before it".into(),
                },
            });
        }
        previous = Some(cp);
    }
    let sizes: Vec<u64> = good.iter().map(|(_, cp)| cp.size).collect();
    if sizes.is_empty() {
        return Ok(problems);
    }
    let (roots, total) = roots_at(log, &sizes)?;
    for (line, cp) in &good {
        if let Some(p) = consistency_problem(cp, &roots, total) {
            problems.push(Problem {
                line: Some(*line),
                kind: FindingKind::Inconsistent,
                message: p,
            });
        }
    }
    Ok(problems)
}

/// Why the log (with `total` entries and the given prefix roots) is not
/// consistent with `cp`, if it is not.
pub fn consistency_problem(cp: &Checkpoint, roots: &[(u64, Hash)], total: u64) -> Option<String> {
    if cp.size > total {
        return Some(format!(
            "the checkpoint covers {} entries but the log has {total}: entries were removed",
            cp.size
        ));
    }
    let root = roots.iter().find(|(n, _)| *n == cp.size).map(|(_, r)| *r);
    (root != Some(cp.root)).then(|| {
        format!(
            "the first {} entries no longer hash to the checkpoint's root: history was rewritten",
            cp.size
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_is_incremental_and_refuses_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::at(dir.path());
        let key = SigningKey::from_bytes(&[3; 32]);
        let body = |i: u64| {
            let mut m = serde_json::Map::new();
            m.insert("schema".into(), 1.into());
            m.insert(
                "audit_id".into(),
                format!("AUD-019ab3c4-5d6e-7f80-9a1b-{i:012}").into(),
            );
            m.insert("timestamp".into(), "2026-11-30T12:00:00.000Z".into());
            m.insert("component".into(), "t".into());
            m.insert("operation".into(), "o".into());
            m.insert("result".into(), "success".into());
            m
        };
        log.append((0..5).map(body).collect(), None).unwrap();
        let Made::New(first) = checkpoint(&log, "lifeline/a/b", &key).unwrap() else {
            panic!("a new checkpoint")
        };
        assert_eq!(first.size, 5);
        assert!(matches!(
            checkpoint(&log, "lifeline/a/b", &key).unwrap(),
            Made::Unchanged(_)
        ));
        log.append((5..9).map(body).collect(), None).unwrap();
        let Made::New(second) = checkpoint(&log, "lifeline/a/b", &key).unwrap() else {
            panic!("a new checkpoint")
        };
        let hashes = leaves(&log).unwrap();
        let leaf: Vec<Hash> = hashes.iter().map(|(_, h)| merkle::leaf_hash(h)).collect();
        let cache = dir.path().join("cache");
        assert_eq!(cached_leaves(&log, &cache, false).unwrap(), hashes);
        assert_eq!(cached_leaves(&log, &cache, false).unwrap(), hashes);
        log.append((9..11).map(body).collect(), None).unwrap();
        let more = leaves(&log).unwrap();
        assert_eq!(more.len(), 11);
        assert_eq!(cached_leaves(&log, &cache, false).unwrap(), more);
        assert_eq!(second.root, hex::encode(merkle::root(&leaf)));
        assert!(
            check_records(&log, &key.verifying_key())
                .unwrap()
                .is_empty()
        );
    }
}
