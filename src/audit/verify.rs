//! Verifying the chain: every entry's hash, every link, every sequence
//! number, the forks an honest merge leaves, and (given a head recorded
//! earlier) truncation and forged branches. Findings carry the file and
//! line; the report also has the plan's integrity summary.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use super::view::Field;

use super::canonical;
use super::store::{Log, MonthFile};
use crate::error::Result;

/// What to check beyond the chain itself.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Heads recorded earlier (`--expect-head`, or from the signed-heads
    /// file): each must still be in the log, and every entry before it must
    /// belong to it.
    pub expect_heads: Vec<String>,
    /// Heads recorded earlier that must still be in the log (older signed
    /// heads); only their presence is checked.
    pub known_heads: Vec<String>,
}

/// The integrity report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `valid`, `forked` (valid, with unjoined parallel branches) or
    /// `invalid`.
    pub status: &'static str,
    pub entries: usize,
    pub components: BTreeMap<String, usize>,
    pub date_range: DateRange,
    pub files: Vec<FileReport>,
    pub heads: Vec<Head>,
    pub forks: Vec<Fork>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DateRange {
    pub earliest: Option<String>,
    pub latest: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    pub entries: usize,
    pub bytes: u64,
    pub findings: usize,
    /// `valid` or `invalid`.
    pub status: &'static str,
}

/// An entry nothing later links to: where the chain currently ends.
#[derive(Debug, Clone, Serialize)]
pub struct Head {
    pub hash: String,
    pub audit_id: String,
    pub seq: u64,
    pub file: String,
    pub line: usize,
}

/// An entry two or more later entries link to: two writers appended in
/// parallel (two clones, merged).
#[derive(Debug, Clone, Serialize)]
pub struct Fork {
    pub file: String,
    pub line: usize,
    pub hash: String,
    /// Where each branch starts, as `file:line`.
    pub branches: Vec<String>,
    /// True when a later seal (or entry) links the branches together again.
    pub joined: bool,
}

/// One problem, with where it is.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: Option<usize>,
    pub kind: FindingKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Not JSON, not an object, a field missing or of the wrong type.
    Malformed,
    /// The content does not match the entry's hash.
    Modified,
    /// `prev` names no entry in the log: a deleted line or month file.
    MissingPredecessor,
    /// `prev` names an entry that comes later in the log.
    Reordered,
    /// `seq` is not one more than its predecessor's.
    Sequence,
    /// Two entries share an `audit_id`.
    DuplicateId,
    /// Two files hold the same month.
    DuplicateMonth,
    /// A head recorded earlier is gone: the log was truncated.
    Truncated,
    /// An entry before a recorded head that is not part of its chain.
    NotInChain,
    /// A signed head whose signature does not verify.
    BadSignature,
    /// The log is not an extension of a signed checkpoint.
    Inconsistent,
    /// The file could not be read.
    Unreadable,
    /// A line cut short by an interrupted write; `lifeline audit repair`
    /// ends it with an audited repair entry.
    Torn,
    /// An entry whose timestamp is not in its month file's month: moved
    /// from another month's file, or the file was renamed.
    WrongMonth,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.findings.is_empty()
    }
}

struct Node {
    hash: [u8; 32],
    prev: Option<[u8; 32]>,
    joins: Vec<[u8; 32]>,
    seq: u64,
    file: u32,
    line: u32,
    id: u128,
}

/// Verifies the whole log.
pub fn verify(log: &Log, options: &Options) -> Result<Report> {
    let files = log.month_files()?;
    let mut v = Verifier::default();
    // One buffer for every file: a fresh 70 MB allocation per month costs
    // as much in page faults as hashing it.
    let mut buffer = Vec::new();
    let mut seen_months: HashMap<String, String> = HashMap::new();
    for (index, f) in files.iter().enumerate() {
        let shown = log.display(&f.name);
        if let Some(other) = seen_months.insert(f.month.clone(), shown.clone()) {
            v.finding(
                &shown,
                None,
                FindingKind::DuplicateMonth,
                format!("{shown} and {other} both hold {}; keep one", f.month),
            );
        }
        v.file_names.push(shown.clone());
        v.file_months.push(f.month.clone());
        match read(f, &mut buffer) {
            Ok(()) => v.check_file(index as u32, &buffer),
            Err(e) => {
                v.files.push(FileReport {
                    file: shown.clone(),
                    entries: 0,
                    bytes: 0,
                    findings: 1,
                    status: "invalid",
                });
                v.finding(
                    &shown,
                    None,
                    FindingKind::Unreadable,
                    format!("cannot read it: {e}"),
                );
            }
        }
    }
    Ok(v.finish(options))
}

fn read(f: &MonthFile, buffer: &mut Vec<u8>) -> Result<()> {
    buffer.clear();
    if f.compressed {
        buffer.extend_from_slice(super::retention::read_month(f)?.as_bytes());
        return Ok(());
    }
    use std::io::Read;
    f.open()?
        .read_to_end(buffer)
        .map(|_| ())
        .map_err(|e| crate::Error::io(&f.path, e))
}

#[derive(Default)]
struct Verifier {
    nodes: Vec<Node>,
    by_hash: HashMap<[u8; 32], u32>,
    /// Entries whose `prev`/`joins` were not found when read; resolved at
    /// the end (a later entry means reordering, none a deletion).
    unresolved: Vec<(u32, [u8; 32])>,
    file_names: Vec<String>,
    /// `YYYY-MM` of each file, from its name.
    file_months: Vec<String>,
    files: Vec<FileReport>,
    findings: Vec<Finding>,
    components: BTreeMap<String, usize>,
    date_range: DateRange,
    /// Every link `(entry linked to, entry linking)`, by `prev` or `joins`.
    links: Vec<(u32, u32)>,
    /// Per entry: whether any later entry links to it.
    referenced: Vec<bool>,
    /// Per entry: how many entries name it as `prev` (2 means "2 or more").
    prev_children: Vec<u8>,
    /// Children by entry, built only when the log has forks.
    children: HashMap<u32, Vec<u32>>,
}

impl Verifier {
    fn finding(&mut self, file: &str, line: Option<usize>, kind: FindingKind, message: String) {
        self.findings.push(Finding {
            file: file.to_string(),
            line,
            kind,
            message,
        });
    }

    fn check_file(&mut self, file: u32, bytes: &[u8]) {
        let name = self.file_names[file as usize].clone();
        let before = self.findings.len();
        let mut entries = 0;
        for (i, examined) in examine_lines(bytes).into_iter().enumerate() {
            if self.check_line(file, &name, i + 1, examined) {
                entries += 1;
            }
        }
        let findings = self.findings.len() - before;
        self.files.push(FileReport {
            file: name,
            entries,
            bytes: bytes.len() as u64,
            findings,
            status: if findings == 0 { "valid" } else { "invalid" },
        });
    }

    /// Records one examined line; true when it is an entry (even a
    /// modified one).
    fn check_line(&mut self, file: u32, name: &str, line: usize, examined: Examined) -> bool {
        let fields = match examined {
            Examined::NotEntry(what) => {
                self.finding(name, Some(line), FindingKind::Malformed, what);
                return false;
            }
            Examined::Torn(bytes) => {
                let msg = format!(
                    "this line ({bytes} bytes) was cut short by an interrupted write; run `lifeline audit repair --yes` to take it out and record its bytes in an audited repair entry"
                );
                self.finding(name, Some(line), FindingKind::Torn, msg);
                return false;
            }
            Examined::Entry(fields, None) => fields,
            Examined::Entry(fields, Some(modified)) => {
                self.finding(name, Some(line), FindingKind::Modified, modified);
                fields
            }
        };
        *self.components.entry(fields.component).or_default() += 1;
        let ts = fields.timestamp;
        let month = &self.file_months[file as usize];
        if ts.get(..7) != Some(month.as_str()) {
            let msg = format!(
                "entry {} is stamped {ts:?}, which is not in {month}: it was moved from another month's file, or the file was renamed",
                fields.audit_id
            );
            self.finding(name, Some(line), FindingKind::WrongMonth, msg);
        }
        if self.date_range.earliest.as_ref().is_none_or(|e| ts < *e) {
            self.date_range.earliest = Some(ts.clone());
        }
        if self.date_range.latest.as_ref().is_none_or(|l| ts > *l) {
            self.date_range.latest = Some(ts);
        }
        let index = self.nodes.len() as u32;
        let node = Node {
            hash: fields.hash,
            prev: fields.prev,
            joins: fields.joins,
            seq: fields.seq,
            file,
            line: line as u32,
            id: fields.id,
        };
        // Links to earlier entries; the usual case is the line just before.
        let last = self.nodes.last().map(|n| n.hash);
        for (k, target) in node.prev.iter().chain(&node.joins).enumerate() {
            let found = if last.as_ref() == Some(target) {
                Some(index - 1)
            } else {
                self.by_hash.get(target).copied()
            };
            match found {
                Some(t) => self.link(t, index, k == 0 && node.prev.is_some()),
                None => self.unresolved.push((index, *target)),
            }
        }
        match node.prev {
            None if node.seq != 1 => {
                let msg = format!(
                    "entry {} starts a chain (prev is null) but has seq {}, not 1",
                    fields.audit_id, node.seq
                );
                self.finding(name, Some(line), FindingKind::Sequence, msg);
            }
            Some(p) => {
                if let Some(&t) = self.by_hash.get(&p) {
                    let want = self.nodes[t as usize].seq + 1;
                    if node.seq != want {
                        let at = self.location(t);
                        let msg = format!(
                            "entry {} has seq {} but follows seq {} ({at}); expected {want}",
                            fields.audit_id,
                            node.seq,
                            want - 1
                        );
                        self.finding(name, Some(line), FindingKind::Sequence, msg);
                    }
                }
            }
            None => {}
        }
        self.by_hash.entry(node.hash).or_insert(index);
        self.nodes.push(node);
        self.referenced.push(false);
        self.prev_children.push(0);
        true
    }

    fn link(&mut self, parent: u32, child: u32, via_prev: bool) {
        self.links.push((parent, child));
        self.referenced[parent as usize] = true;
        if via_prev {
            let c = &mut self.prev_children[parent as usize];
            *c = c.saturating_add(1).min(2);
        }
    }

    fn location(&self, index: u32) -> String {
        let n = &self.nodes[index as usize];
        format!("{}:{}", self.file_names[n.file as usize], n.line)
    }

    fn finish(mut self, options: &Options) -> Report {
        for (index, target) in std::mem::take(&mut self.unresolved) {
            let n = &self.nodes[index as usize];
            let (file, line) = (self.file_names[n.file as usize].clone(), n.line as usize);
            let first_of_file = index == 0 || self.nodes[index as usize - 1].file != n.file;
            match self.by_hash.get(&target) {
                Some(&t) => {
                    let msg = format!(
                        "this entry links to {}, which comes after it ({}): lines were reordered",
                        short(&hex::encode(target)),
                        self.location(t)
                    );
                    let via_prev = self.nodes[index as usize].prev == Some(target);
                    self.link(t, index, via_prev);
                    self.finding(&file, Some(line), FindingKind::Reordered, msg);
                }
                None => {
                    let hint = if first_of_file && index > 0 {
                        "the end of the previous month file was cut, or a month file between them was removed"
                    } else if first_of_file {
                        "an earlier month file was removed"
                    } else {
                        "the line before it was deleted or replaced"
                    };
                    let msg = format!(
                        "this entry links to {}, which is not in the log: {hint}",
                        short(&hex::encode(target))
                    );
                    self.finding(&file, Some(line), FindingKind::MissingPredecessor, msg);
                }
            }
        }
        self.check_duplicate_ids();
        let heads: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|&i| !self.referenced[i as usize])
            .collect();
        if self.prev_children.iter().any(|&c| c > 1) {
            for &(parent, child) in &self.links {
                self.children.entry(parent).or_default().push(child);
            }
        }
        let forks = self.forks();
        for expected in &options.expect_heads {
            self.check_expected_head(expected);
        }
        for known in &options.known_heads {
            if !options.expect_heads.contains(known)
                && parse_hash(known).is_none_or(|h| !self.by_hash.contains_key(&h))
            {
                self.report_truncated(known);
            }
        }
        let heads = heads
            .into_iter()
            .map(|i| {
                let n = &self.nodes[i as usize];
                Head {
                    hash: hex::encode(n.hash),
                    audit_id: format_id(n.id),
                    seq: n.seq,
                    file: self.file_names[n.file as usize].clone(),
                    line: n.line as usize,
                }
            })
            .collect::<Vec<_>>();
        // Findings per file, for the file table.
        for f in &mut self.files {
            f.findings = self.findings.iter().filter(|x| x.file == f.file).count();
            f.status = if f.findings == 0 { "valid" } else { "invalid" };
        }
        self.findings.sort_by(|a, b| {
            let fa = self.file_names.iter().position(|n| *n == a.file);
            let fb = self.file_names.iter().position(|n| *n == b.file);
            (fa, a.line).cmp(&(fb, b.line))
        });
        let status = if !self.findings.is_empty() {
            "invalid"
        } else if heads.len() > 1 {
            "forked"
        } else {
            "valid"
        };
        Report {
            status,
            entries: self.nodes.len(),
            components: self.components,
            date_range: self.date_range,
            files: self.files,
            heads,
            forks,
            findings: self.findings,
        }
    }

    fn forks(&self) -> Vec<Fork> {
        let mut forks = Vec::new();
        let parents = (0..self.nodes.len() as u32).filter(|&p| self.prev_children[p as usize] > 1);
        for p in parents {
            let n = &self.nodes[p as usize];
            let branches: Vec<u32> = self.children[&p]
                .iter()
                .copied()
                .filter(|&k| self.nodes[k as usize].prev == Some(n.hash))
                .collect();
            // Joined when one entry descends from every branch.
            let joined = self.common_descendant(&branches);
            forks.push(Fork {
                file: self.file_names[n.file as usize].clone(),
                line: n.line as usize,
                hash: hex::encode(n.hash),
                branches: branches.iter().map(|&b| self.location(b)).collect(),
                joined,
            });
        }
        forks
    }

    fn descendants(&self, start: u32) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i as usize], true) {
                continue;
            }
            if let Some(kids) = self.children.get(&i) {
                stack.extend(kids);
            }
        }
        seen
    }

    fn common_descendant(&self, branches: &[u32]) -> bool {
        let sets: Vec<Vec<bool>> = branches.iter().map(|&b| self.descendants(b)).collect();
        (0..self.nodes.len()).any(|i| sets.iter().all(|s| s[i]))
    }

    fn ancestors(&self, start: u32) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i as usize], true) {
                continue;
            }
            let n = &self.nodes[i as usize];
            for target in n.prev.iter().chain(&n.joins) {
                if let Some(&t) = self.by_hash.get(target) {
                    stack.push(t);
                }
            }
        }
        seen
    }

    fn report_truncated(&mut self, expected: &str) {
        let (file, line) = match self.nodes.last() {
            Some(n) => (
                self.file_names[n.file as usize].clone(),
                Some(n.line as usize),
            ),
            None => (
                self.file_names
                    .last()
                    .cloned()
                    .unwrap_or_else(|| "(no audit files)".into()),
                None,
            ),
        };
        self.finding(
            &file,
            line,
            FindingKind::Truncated,
            format!(
                "the recorded head {} is not in the log: entries were removed from the end (the log now ends here)",
                short(expected)
            ),
        );
    }

    fn check_expected_head(&mut self, expected: &str) {
        let parsed = parse_hash(expected);
        let Some(&index) = parsed.as_ref().and_then(|h| self.by_hash.get(h)) else {
            self.report_truncated(expected);
            return;
        };
        let ancestors = self.ancestors(index);
        for i in 0..index {
            if !ancestors[i as usize] {
                let n = &self.nodes[i as usize];
                let (file, line) = (self.file_names[n.file as usize].clone(), n.line as usize);
                let msg = format!(
                    "entry {} comes before the expected head {} but is not part of its chain: it was inserted afterwards",
                    format_id(n.id),
                    short(expected)
                );
                self.finding(&file, Some(line), FindingKind::NotInChain, msg);
            }
        }
    }

    fn check_duplicate_ids(&mut self) {
        let mut ids: Vec<(u128, u32)> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.id != 0)
            .map(|(i, n)| (n.id, i as u32))
            .collect();
        ids.sort_unstable();
        for pair in ids.windows(2) {
            if pair[0].0 == pair[1].0 {
                let n = &self.nodes[pair[1].1 as usize];
                let (file, line) = (self.file_names[n.file as usize].clone(), n.line as usize);
                let msg = format!(
                    "audit_id {} is also used at {}: a line was copied",
                    format_id(n.id),
                    self.location(pair[0].1)
                );
                self.finding(&file, Some(line), FindingKind::DuplicateId, msg);
            }
        }
    }
}

/// What examining one line found, before it is linked into the chain.
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every line is an entry; boxing would allocate once per line"
)]
enum Examined {
    /// An entry, and the `modified` message when its hash does not match.
    Entry(Fields, Option<String>),
    /// Not an entry: the malformed message.
    NotEntry(String),
    /// A line cut short by an interrupted write (its length in bytes).
    Torn(usize),
}

/// Examines every line of a month file: on several threads for a large
/// file (each line is independent until linking), in order.
fn examine_lines(bytes: &[u8]) -> Vec<Examined> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    examine_lines_on(bytes, threads, 1 << 20)
}

fn examine_lines_on(bytes: &[u8], threads: usize, min_split: usize) -> Vec<Examined> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Vec::new();
    }
    if threads == 1 || body.len() < min_split {
        return body.split(|b| *b == b'\n').map(examine).collect();
    }
    // Cut the body at newlines into `threads` ranges of similar size.
    let mut ranges = Vec::with_capacity(threads);
    let mut start = 0;
    for t in 1..=threads {
        let end = if t == threads {
            body.len()
        } else {
            let target = (body.len() * t / threads).max(start);
            memchr::memchr(b'\n', &body[target..]).map_or(body.len(), |i| target + i)
        };
        if end >= start {
            ranges.push(&body[start..end]);
        }
        start = (end + 1).min(body.len());
        if end >= body.len() {
            break;
        }
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|range| {
                scope.spawn(move || {
                    range
                        .split(|b| *b == b'\n')
                        .map(examine)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("examining lines does not panic"))
            .collect()
    })
}

/// Examines one line. Lines lifeline wrote are canonical and are checked
/// without a parse tree; anything else (or any doubt) takes the general
/// path, which parses, canonicalizes and hashes.
fn examine(bytes: &[u8]) -> Examined {
    if bytes.is_empty() {
        return Examined::NotEntry("blank line: entries are one JSON object per line".into());
    }
    if let Some(fields) = canonical::canonical_line(bytes)
        .and_then(|l| Fields::of_canonical(&l).filter(|f| f.hash == l.hash))
    {
        return Examined::Entry(fields, None);
    }
    if is_torn(bytes) {
        return Examined::Torn(bytes.len());
    }
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return Examined::NotEntry(format!("not a JSON entry ({e}): the line was edited"));
        }
    };
    let depth = canonical::depth(&value);
    if depth > canonical::MAX_DEPTH {
        return Examined::NotEntry(format!(
            "nested {depth} levels deep, more than the {} an entry may have",
            canonical::MAX_DEPTH
        ));
    }
    let Value::Object(map) = &value else {
        return Examined::NotEntry("not a JSON object".into());
    };
    let fields = match Fields::of(&value) {
        Ok(f) => f,
        Err(what) => return Examined::NotEntry(what),
    };
    let computed = canonical::entry_hash(map);
    let modified = (computed != fields.hash_hex).then(|| {
        format!(
            "entry {} was modified: its content hashes to {}, not to the hash it carries ({})",
            fields.audit_id,
            short(&computed),
            short(&fields.hash_hex)
        )
    });
    Examined::Entry(fields, modified)
}

/// Whether `line` is the beginning of a JSON text cut short: its UTF-8 is
/// valid except for an incomplete character at the very end, or the
/// parser ran out of input before the value was complete. Anything else
/// that does not parse was edited, not torn.
pub fn is_torn(line: &[u8]) -> bool {
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            // Cut inside a character: the complete prefix must itself be
            // an unfinished JSON text.
            return line.first() == Some(&b'{')
                && std::str::from_utf8(&line[..e.valid_up_to()]).is_ok_and(|t| {
                    serde_json::from_str::<serde::de::IgnoredAny>(t).is_err_and(|e| e.is_eof())
                });
        }
        Err(_) => return false,
    };
    text.starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_err_and(|e| e.is_eof())
}

/// The chain fields of one entry, checked.
struct Fields {
    audit_id: String,
    id: u128,
    hash: [u8; 32],
    hash_hex: String,
    prev: Option<[u8; 32]>,
    joins: Vec<[u8; 32]>,
    seq: u64,
    component: String,
    timestamp: String,
}

impl Fields {
    /// The fields of a canonical line whose chain members are all plain
    /// (no escapes), or `None` for the general path to judge.
    fn of_canonical(line: &canonical::CanonicalLine<'_>) -> Option<Fields> {
        let raw = |k: &str| {
            line.members
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| *v)
        };
        let text = |k: &str| -> Option<&str> {
            let v = raw(k)?;
            let inner = v.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
            if inner.contains(&b'\\') {
                return None;
            }
            std::str::from_utf8(inner).ok()
        };
        if raw("schema")? != b"1" || !matches!(text("result")?, "success" | "failure") {
            return None;
        }
        text("operation")?;
        let audit_id = text("audit_id")?;
        let id = uuid::Uuid::parse_str(audit_id.strip_prefix("AUD-")?)
            .ok()?
            .as_u128();
        let hash_hex = text("hash")?;
        let prev = match raw("prev")? {
            b"null" => None,
            _ => Some(parse_hash(text("prev")?)?),
        };
        if raw("joins").is_some() {
            return None;
        }
        let seq: u64 = std::str::from_utf8(raw("seq")?)
            .ok()?
            .parse()
            .ok()
            .filter(|s| *s >= 1)?;
        Some(Fields {
            audit_id: audit_id.to_string(),
            id,
            hash: parse_hash(hash_hex)?,
            hash_hex: hash_hex.to_string(),
            prev,
            joins: Vec::new(),
            seq,
            component: text("component")?.to_string(),
            timestamp: text("timestamp")?.to_string(),
        })
    }

    /// The fields of an entry read through its typed view; the error names
    /// the first member that is missing or wrong.
    fn of(entry: &Value) -> std::result::Result<Fields, String> {
        let view = super::EntryView::of(entry);
        let text = |k: &str, v: &Option<String>| -> std::result::Result<String, String> {
            v.clone()
                .ok_or_else(|| format!("`{k}` is missing or not a string"))
        };
        match view.schema {
            Some(super::entry::SCHEMA) => {}
            Some(n) => {
                return Err(format!(
                    "schema {n} is not one this lifeline reads (it reads {})",
                    super::entry::SCHEMA
                ));
            }
            None => return Err("`schema` is missing or not an integer".into()),
        }
        let audit_id = text("audit_id", &view.audit_id)?;
        let id = audit_id
            .strip_prefix("AUD-")
            .and_then(|u| uuid::Uuid::parse_str(u).ok())
            .map(|u| u.as_u128())
            .ok_or_else(|| format!("`audit_id` {audit_id:?} is not AUD-<UUID>"))?;
        let hash_hex = text("hash", &view.hash)?;
        let hash = parse_hash(&hash_hex).ok_or("`hash` is not 64 lowercase hex digits")?;
        let prev = match &view.prev {
            Field::Null => None,
            Field::Is(s) => Some(parse_hash(s).ok_or("`prev` is not 64 lowercase hex digits")?),
            Field::Missing | Field::Other => {
                return Err("`prev` is missing (it is null for the first entry)".into());
            }
        };
        let joins = match &view.joins {
            Field::Missing => Vec::new(),
            Field::Is(items) => items
                .iter()
                .map(|j| j.get().and_then(|s| parse_hash(s)))
                .collect::<Option<Vec<_>>>()
                .ok_or("`joins` must list 64-hex hashes")?,
            Field::Null | Field::Other => return Err("`joins` is not an array".into()),
        };
        let seq = view
            .seq
            .filter(|s| *s >= 1)
            .ok_or("`seq` is missing or not a positive integer")?;
        let timestamp = text("timestamp", &view.timestamp)?;
        let component = text("component", &view.component)?;
        text("operation", &view.operation)?;
        if view.result.is_none() {
            return Err(match entry.get("result").and_then(Value::as_str) {
                Some(other) => format!("`result` is {other:?}, not success or failure"),
                None => "`result` is missing or not a string".into(),
            });
        }
        Ok(Fields {
            audit_id,
            id,
            hash,
            hash_hex,
            prev,
            joins,
            seq,
            component,
            timestamp,
        })
    }
}

/// 64 lowercase hex digits → bytes.
pub fn parse_hash(s: &str) -> Option<[u8; 32]> {
    /// Nibble values of `0-9a-f`; 0xff marks every other byte.
    const NIBBLE: [u8; 256] = {
        let mut t = [0xffu8; 256];
        let mut c = 0;
        while c < 10 {
            t[b'0' as usize + c] = c as u8;
            c += 1;
        }
        let mut c = 0;
        while c < 6 {
            t[b'a' as usize + c] = 10 + c as u8;
            c += 1;
        }
        t
    };
    let bytes: &[u8; 64] = s.as_bytes().try_into().ok()?;
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[pair[0] as usize], NIBBLE[pair[1] as usize]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(out)
}

fn format_id(id: u128) -> String {
    format!("AUD-{}", uuid::Uuid::from_u128(id))
}

/// The first 12 hex digits, as messages show a hash.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Event, entry};

    #[test]
    fn lines_lifeline_writes_take_the_fast_path() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::at(dir.path());
        let ctx = entry::Context::new("SES-1", "user:t");
        let event = Event::new("c", "o")
            .detail("text", "tab\there \"quoted\" é")
            .detail("n", 42)
            .failure("boom")
            .file("a.md");
        let bodies = (0..2)
            .map(|_| entry::body(dir.path(), &ctx, &event, jiff::Timestamp::now()).unwrap())
            .collect();
        let written = log.append(bodies, None).unwrap();
        let text =
            std::fs::read_to_string(dir.path().join(written[0].file.rsplit('/').next().unwrap()))
                .unwrap();
        for line in text.lines() {
            let canonical = canonical::canonical_line(line.as_bytes()).expect("canonical");
            let fields = Fields::of_canonical(&canonical).expect("plain chain fields");
            assert_eq!(fields.hash, canonical.hash);
        }
        let report = verify(&log, &Options::default()).unwrap();
        assert_eq!((report.status, report.entries), ("valid", 2));
    }

    #[test]
    fn hashes_are_64_lowercase_hex_digits() {
        let h = "0123456789abcdef".repeat(4);
        assert_eq!(
            parse_hash(&h).unwrap()[..8],
            [1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
        );
        assert!(parse_hash(&h.to_uppercase()).is_none());
        assert!(parse_hash(&h[1..]).is_none());
        assert!(parse_hash(&format!("g{}", &h[1..])).is_none());
    }

    #[test]
    fn lines_split_across_threads_keep_their_numbers() {
        let text = "{}\n\n[1]\n\n\nx\n{\"a\":1}\n\n";
        let describe = |all: Vec<Examined>| -> Vec<String> {
            all.into_iter()
                .map(|e| match e {
                    Examined::NotEntry(m) => m.chars().take(12).collect(),
                    Examined::Torn(n) => format!("torn {n}"),
                    Examined::Entry(..) => "entry".into(),
                })
                .collect()
        };
        let want = describe(examine_lines_on(text.as_bytes(), 1, 0));
        assert_eq!(want.len(), 8);
        for threads in 2..=9 {
            assert_eq!(
                describe(examine_lines_on(text.as_bytes(), threads, 0)),
                want,
                "{threads}"
            );
        }
    }
}
