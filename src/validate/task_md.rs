//! The `task-md` validator: every rule of formats.md over the parsed
//! [`TaskDoc`], each finding pointing at the cell that breaks it.

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashSet, HashTable};

use crate::validate::diagnostic::{Diagnostic, Source, Span};
use crate::validate::rules::Rule;
use crate::validate::taskmd::{self, CHANGELOG_ANCHOR, Column, Parser, Row, TaskDoc, is_task_id};

use super::suggest::nearest;

pub(crate) const PRIORITIES: [&str; 4] = ["Critical", "High", "Medium", "Low"];
pub(crate) const STATUSES: [&str; 6] = [
    "Not Started",
    "In Progress",
    "Blocked",
    "Review",
    "Testing",
    "Done",
];
/// `Done`'s place in [`STATUSES`].
const DONE: usize = 5;
/// The review marks, without the U+FE0F variation selector.
const REVIEW_MARKS: [&str; 5] = ["\u{2714}", "\u{2716}", "🔍", "\u{26A0}", "🚀"];

/// `cell`'s place in [`PRIORITIES`]: a `match` compares the length and
/// then the bytes once, instead of one comparison per value.
fn priority_index(cell: &str) -> Option<usize> {
    match cell {
        "Critical" => Some(0),
        "High" => Some(1),
        "Medium" => Some(2),
        "Low" => Some(3),
        _ => None,
    }
}

/// `cell`'s place in [`STATUSES`], like [`priority_index`].
fn status_index(cell: &str) -> Option<usize> {
    match cell {
        "Not Started" => Some(0),
        "In Progress" => Some(1),
        "Blocked" => Some(2),
        "Review" => Some(3),
        "Testing" => Some(4),
        "Done" => Some(DONE),
        _ => None,
    }
}
const FIBONACCI: [i64; 8] = [0, 1, 2, 3, 5, 8, 13, 21];
const MAX_TITLE: usize = 100;
const MAX_NOTES: usize = 200;
/// At most this many dependency cycles are reported per file.
const MAX_CYCLES: usize = 10;
/// A TASK004 finding names at most this many unknown columns.
const MAX_NAMED_COLUMNS: usize = 5;
/// A column name in a list is cut to this many characters.
const MAX_NAME_CHARS: usize = 40;
/// A row is lined up with a header of at most this many columns.
const MAX_REALIGN_COLUMNS: usize = 64;

/// Validates `src` as a TASK.md. Returns the sprint ID the file declares
/// (its `**Sprint ID**:` line, else the first task's) for the cross-file
/// check.
pub(crate) fn check(src: &Source, out: &mut Vec<Diagnostic>) -> Option<(String, Span)> {
    let body = src.body();
    let split_near = (body.len() >= SPLIT_MIN && super::two_cores()).then_some(body.len() / 2);
    check_split(src, split_near, out).0
}

/// Below this many bytes a TASK.md is checked on one thread: a second
/// thread costs more to start than it saves.
const SPLIT_MIN: usize = 1 << 20;

/// [`check`], with the task rows from the line at or after byte
/// `split_near` of the body on (when it is inside the first task table's
/// rows) checked on a second thread. The findings are the same wherever
/// the split is. Also says whether a second thread's rows were used.
fn check_split(
    src: &Source,
    split_near: Option<usize>,
    out: &mut Vec<Diagnostic>,
) -> (Option<(String, Span)>, bool) {
    let mut rows = Rows::new(src);
    let (doc, split) = parse_rows(src.body(), &mut rows, split_near);
    (check_doc(src, doc, rows, out), split)
}

/// The findings of a parsed TASK.md; [`check`]'s result.
fn check_doc<'a>(
    src: &'a Source,
    doc: TaskDoc<'a>,
    mut rows: Rows<'a>,
    out: &mut Vec<Diagnostic>,
) -> Option<(String, Span)> {
    if doc.changelog_anchor.is_none() {
        out.push(
            Diagnostic::new(
                Rule::TaskNoChangelogAnchor,
                src.path.clone(),
                format!("the changelog anchor `{CHANGELOG_ANCHOR}` is missing"),
            )
            .with_help(format!(
                "add a line `{CHANGELOG_ANCHOR}` under `## 📜 DOCUMENT CHANGELOG`; task-sync inserts changelog entries after it"
            )),
        );
    }
    check_stray_rows(src, &doc, out);
    let Some(first) = doc.tables.first() else {
        let mut d = Diagnostic::new(
            Rule::TaskNoTable,
            src.path.clone(),
            "no task table found (a table whose header names `ID`, `Title` and the task columns: Priority, Points, Status, …)",
        )
        .with_help("the file may be truncated or overwritten; restore it with `lifeline restore latest-valid`");
        if let Some(other) = doc.other_tables.iter().find(|h| {
            let has = |n: &str| {
                h.cells
                    .iter()
                    .any(|c| Column::from_header(c) == Column::from_header(n))
            };
            has("ID") && has("Title")
        }) {
            d = d.with_note(
                "this table has `ID` and `Title` but not the task columns, so it is not the task table",
                Some(src.span_of(other.line)),
            );
        }
        out.push(d);
        return doc.sprint_id.map(|s| (s.to_string(), src.span_of(s)));
    };
    for later in &doc.tables[1..] {
        out.push(
            src.diag_at(
                Rule::TaskDuplicateTable,
                later.header.line,
                "the task table header appears a second time",
            )
            .with_label("repeated header")
            .with_note("first header here", Some(src.span_of(first.header.line)))
            .with_help("delete the repeated header (and its separator line); a bot probably appended the table twice"),
        );
    }
    // The findings keep the order of a check made table by table: the
    // header's, the separator's, the rows', then those of the whole table.
    out.append(&mut rows.header_findings);
    check_separator(src, first, rows.first_row, out);
    out.append(&mut rows.findings);
    check_dependencies(src, rows.nodes, &rows.deps, out);
    out.append(&mut rows.sprints.findings);
    if let (Some(header), Some(first)) =
        (doc.sprint_id.filter(|h| !h.is_empty()), rows.sprints.first)
        && header != first
    {
        out.push(
            src.diag_at(
                Rule::TaskSprintIdMismatch,
                header,
                format!("the header says sprint `{header}`, the task table says `{first}`"),
            )
            .with_note(format!("`{first}` here"), Some(src.span_of(first)))
            .with_help("make the `**Sprint ID**:` line and the Sprint ID column agree"),
        );
    }
    check_summary(src, &doc, &rows.statuses, out);
    if rows.statuses.total == 0 {
        out.push(
            src.diag_at(
                Rule::TaskNoTasks,
                first.header.line,
                "the task table has no tasks",
            )
            .with_help("an empty sprint is unusual: check that a bot did not drop the rows"),
        );
    }
    doc.sprint_id
        .filter(|s| !s.is_empty())
        .or(rows.sprints.first)
        .map(|s| (s.to_string(), src.span_of(s)))
}

/// Which column each header cell is, checking names: missing required
/// columns, duplicates, unknown columns.
fn check_header(src: &Source, header: &Row<'_>, out: &mut Vec<Diagnostic>) -> Vec<Option<Column>> {
    let mut columns = Vec::with_capacity(header.cells.len());
    let mut seen: HashMap<Column, &str> = HashMap::new();
    let mut unknown = Vec::new();
    for cell in &header.cells {
        let column = Column::from_header(cell);
        match column {
            Some(c) => {
                if let Some(first) = seen.get(&c) {
                    out.push(
                        src.diag_at(
                            Rule::TaskDuplicateColumn,
                            cell,
                            format!("column `{}` appears twice in the header", c.name()),
                        )
                        .with_label("repeated column")
                        .with_note("first here", Some(src.span_of(first)))
                        .with_help("remove one of them, and the matching cell in every row"),
                    );
                    columns.push(None);
                    continue;
                }
                seen.insert(c, cell);
            }
            None => unknown.push(*cell),
        }
        columns.push(column);
    }
    if let Some(d) = unknown_columns(src, &unknown) {
        out.push(d);
    }
    let missing: Vec<&str> = Column::ALL
        .into_iter()
        .filter(|c| c.is_required() && !seen.contains_key(c))
        .map(|c| c.name())
        .collect();
    if !missing.is_empty() {
        let (noun, list) = if missing.len() == 1 {
            ("column", format!("`{}`", missing[0]))
        } else {
            (
                "columns",
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        out.push(
            src.diag_at(
                Rule::TaskMissingColumn,
                header.line,
                format!("the task table is missing the {noun} {list}"),
            )
            .with_help("use the sprint template's header: | ID | Title | Description | Priority | Points | Status | Reviewed | Owner | PR Link | ETA | Depends On | Sprint ID | Notes |"),
        );
    }
    columns
}

/// TASK004 for the header's unknown columns: one finding, at the first,
/// however many there are, so a header of thousands of columns does not
/// print itself thousands of times.
fn unknown_columns(src: &Source, unknown: &[&str]) -> Option<Diagnostic> {
    let first = *unknown.first()?;
    let names = Column::ALL.map(|c| c.name());
    if let [cell] = unknown {
        let help = match nearest(cell, &names) {
            Some(name) => format!("did you mean `{name}`?"),
            None => format!("the sprint template's columns are: {}", names.join(", ")),
        };
        return Some(
            src.diag_at(
                Rule::TaskUnknownColumn,
                cell,
                format!("unknown column `{cell}`"),
            )
            .with_help(help),
        );
    }
    let shown = &unknown[..unknown.len().min(MAX_NAMED_COLUMNS)];
    let quoted: Vec<String> = shown.iter().map(|c| format!("`{}`", clip(c))).collect();
    let list = match unknown.len() - shown.len() {
        0 => {
            let (last, init) = quoted.split_last().expect("two or more");
            format!("{} and {last}", init.join(", "))
        }
        more => format!("{} and {more} more", quoted.join(", ")),
    };
    let renames: Vec<String> = shown
        .iter()
        .filter_map(|c| nearest(c, &names).map(|name| format!("`{}` to `{name}`", clip(c))))
        .collect();
    let help = if renames.is_empty() {
        format!(
            "remove them, and the matching cells in every row; the sprint template's columns are: {}",
            names.join(", ")
        )
    } else {
        format!(
            "rename {}, and remove the others; the sprint template's columns are: {}",
            renames.join(", "),
            names.join(", ")
        )
    };
    Some(
        src.diag_at(
            Rule::TaskUnknownColumn,
            first,
            format!("{} unknown columns: {list}", unknown.len()),
        )
        .with_label("the first unknown column")
        .with_help(help),
    )
}

/// `text`, cut to at most [`MAX_NAME_CHARS`] characters (with `…`) for
/// a list in a message.
fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_NAME_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

/// `: |----|----|` with `columns` cells, for a TASK007 help; nothing for a
/// header wider than any real one (its help would be that long).
fn separator_example(columns: usize) -> String {
    if columns > MAX_REALIGN_COLUMNS {
        String::new()
    } else {
        format!(": |{}", "----|".repeat(columns))
    }
}

/// TASK007. `first_row` is the line of the table's first row (the line
/// under the header when that is not a separator).
fn check_separator(
    src: &Source,
    table: &taskmd::Table<'_>,
    first_row: Option<&str>,
    out: &mut Vec<Diagnostic>,
) {
    let want = table.header.cells.len();
    if table.missing_separator {
        let line = first_row.unwrap_or(table.header.line);
        out.push(
            src.diag_at(
                Rule::TaskBadSeparator,
                line,
                "the line under the task table header is not a separator row",
            )
            .with_help(format!(
                "insert a separator with {want} cells under the header{}",
                separator_example(want)
            )),
        );
    } else if let Some(sep) = &table.separator
        && sep.cells.len() != want
    {
        out.push(
            src.diag_at(
                Rule::TaskBadSeparator,
                sep.line,
                format!(
                    "the separator row has {} cells; the header has {want}",
                    sep.cells.len()
                ),
            )
            .with_help(format!(
                "use one `---` cell per column{}",
                separator_example(want)
            )),
        );
    }
}

/// Parses `text` into `rows`, the lines from the one at or after byte
/// `split_near` on in a second thread, with a [`Rows::piece`], when that
/// line is inside the first task table's rows; the piece is merged after.
/// When the lines before the split end elsewhere (a fence, another table,
/// a header line), the second thread's work is dropped and the rest read
/// again on this one: the result is the same as one pass. Also says
/// whether the second thread's piece was used.
fn parse_rows<'a>(
    text: &'a str,
    rows: &mut Rows<'a>,
    split_near: Option<usize>,
) -> (TaskDoc<'a>, bool) {
    let mut parser = Parser::new();
    let mut lines = taskmd::lines(text);
    if let Some(near) = split_near {
        // The second thread needs the first table's columns: read up to
        // its first row.
        while rows.first_row.is_none()
            && let Some(line) = lines.next()
        {
            parser.line(line, rows);
        }
        let from = lines.position();
        let split = near.max(from);
        let split = if split == from || text.as_bytes().get(split.wrapping_sub(1)) == Some(&b'\n') {
            Some(split)
        } else {
            memchr::memchr(b'\n', &text.as_bytes()[split.min(text.len())..])
                .map(|nl| split + nl + 1)
        };
        if let Some(split) = split.filter(|&s| s < text.len())
            && rows.first_row.is_some()
            && parser.in_task_rows()
        {
            return parse_two(text, from, split, parser, rows);
        }
    }
    for line in lines {
        parser.line(line, rows);
    }
    (parser.finish(), false)
}

/// The second half of [`parse_rows`]: `parser` has read `text[..from]`.
fn parse_two<'a>(
    text: &'a str,
    from: usize,
    split: usize,
    mut parser: Parser<'a>,
    rows: &mut Rows<'a>,
) -> (TaskDoc<'a>, bool) {
    let second = &text[split..];
    // As many rows as the first one's length gives, and some; a short
    // first row does not make a large reservation.
    let row_len = rows.first_row.map_or(0, |r| r.len() + 1).max(64);
    let mut piece = rows.piece(second.len() / row_len + second.len() / row_len / 4);
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
            let mut later = Parser::after_task_row();
            for line in taskmd::lines(second) {
                later.line(line, &mut piece);
            }
            (later.finish(), piece)
        });
        for line in taskmd::lines(&text[from..split]) {
            parser.line(line, rows);
        }
        // A thread that could not start leaves the rest to this one.
        let later = spawned
            .ok()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        match later {
            Some((later_doc, piece)) if parser.in_task_rows() => {
                rows.merge(piece);
                let mut doc = parser.into_partial();
                doc.append(later_doc);
                (doc, true)
            }
            _ => {
                for line in taskmd::lines(second) {
                    parser.line(line, rows);
                }
                (parser.finish(), false)
            }
        }
    })
}

/// The row-by-row checks, run while the file is parsed: the header's
/// columns, every row's cells, and what the whole-table checks need (the
/// dependency graph, the sprint IDs, the status counts), kept without the
/// rows themselves.
///
/// A piece of the table checked on another thread ([`Rows::piece`])
/// checks each row's cells alike but leaves what depends on the rows
/// before it (repeated IDs, graph nodes, sprint IDs used before) to
/// [`Rows::merge`], keeping what that needs in `deferred`.
struct Rows<'a> {
    src: &'a Source,
    /// Task tables started so far; the first one's header says which
    /// column is which for every row.
    tables: usize,
    columns: Vec<Option<Column>>,
    at: ColumnIndex,
    header_findings: Vec<Diagnostic>,
    /// The line of the first table's first row.
    first_row: Option<&'a str>,
    /// The findings of the rows, in order.
    findings: Vec<Diagnostic>,
    nodes: Nodes<'a>,
    /// Every `Depends On` reference, in row order.
    deps: Vec<Dep<'a>>,
    sprints: Sprints<'a>,
    statuses: Statuses,
    /// In a piece: its rows' task IDs, for the merge.
    deferred: Option<Deferred<'a>>,
}

/// The task IDs of a piece's rows, in order, for [`Rows::merge`];
/// `Dep::from` is an index into `ids`. Per row only the ID is kept: the
/// rest is recorded only where it is not the usual.
#[derive(Default)]
struct Deferred<'a> {
    ids: Vec<&'a str>,
    /// `(k, n)`: the row of `ids[k]` comes after the piece's first `n`
    /// findings; for each `k` where `n` changed since the `k` before.
    findings_before: Vec<(usize, usize)>,
    /// The `k` of rows with the wrong cell count, whose repeated ID is not
    /// a TASK011 finding.
    quiet: Vec<usize>,
}

/// The tasks of the dependency graph: the first row with each valid ID.
#[derive(Default)]
struct Nodes<'a> {
    /// Node `n`'s task ID; nodes are numbered in row order.
    ids: Vec<&'a str>,
    /// Per node, the upper half of its ID's hash and the node number, keyed
    /// by that half: growing the table rehashes without reading the IDs.
    /// (Node numbers are `u32`: a TASK.md held in memory has far fewer
    /// than 4 billion rows; beyond that, rows are not graph nodes.)
    index: HashTable<(u32, u32)>,
    hasher: DefaultHashBuilder,
    /// Per number `n`, the node of the ID `T-<n>` written with a given
    /// number of digits, when it is in no `index` entry (see
    /// [`dense_key`]): the node plus one above [`DENSE_WIDTH_BITS`], the
    /// digit count below; 0 for none.
    dense: Vec<u32>,
}

/// What [`Nodes::add`] did with an ID.
enum Added {
    /// A new node.
    New(usize),
    /// The ID already has this node.
    Repeat(usize),
    /// No node numbers left.
    Full,
}

/// The table hash of a stored half hash: a bijection spreading it over all
/// 64 bits (hashbrown reads both the low and the top bits).
fn spread(half: u32) -> u64 {
    u64::from(half).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// IDs `T-<n>` with `n` below this have their node in [`Nodes::dense`].
const DENSE_IDS: usize = 1 << 20;
/// A [`Nodes::dense`] slot holds the digit count in its low bits...
const DENSE_WIDTH_BITS: u32 = 5;
/// ...and the node number plus one above them, so node numbers below this.
const DENSE_NODES: usize = 1 << (32 - DENSE_WIDTH_BITS);

/// The number and the digit count of a task ID whose number is below
/// [`DENSE_IDS`], written with fewer than 32 digits: the pair is the ID
/// (`T-1`, `T-01` and `T-001` differ by their digit count).
fn dense_key(id: &str) -> Option<(usize, u32)> {
    let digits = id.strip_prefix("T-")?.as_bytes();
    if digits.is_empty() || digits.len() >= 1 << DENSE_WIDTH_BITS {
        return None;
    }
    let mut n = 0usize;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
        if n >= DENSE_IDS {
            return None;
        }
    }
    Some((n, digits.len() as u32))
}

impl<'a> Nodes<'a> {
    /// The node of a dense slot holding `width`, if any.
    fn dense_node(slot: u32, width: u32) -> Option<usize> {
        (slot != 0 && slot & ((1 << DENSE_WIDTH_BITS) - 1) == width)
            .then(|| (slot >> DENSE_WIDTH_BITS) as usize - 1)
    }

    fn half_hash(&self, id: &str) -> u32 {
        (self.hasher.hash_one(id) >> 32) as u32
    }

    #[cfg(test)]
    fn get(&self, id: &str) -> Option<usize> {
        self.find(dense_key(id), id)
    }

    /// The node of task ID `id`, whose [`dense_key`] is `dense`.
    fn find(&self, dense: Option<(usize, u32)>, id: &str) -> Option<usize> {
        if let Some((n, width)) = dense
            && let Some(node) = self
                .dense
                .get(n)
                .and_then(|&slot| Self::dense_node(slot, width))
        {
            return Some(node);
        }
        let half = self.half_hash(id);
        self.index
            .find(spread(half), |&(h, n)| {
                h == half && self.ids[n as usize] == id
            })
            .map(|&(_, n)| n as usize)
    }

    fn add(&mut self, id: &'a str) -> Added {
        // The usual IDs, `T-1` to `T-99999` or so, are their own index:
        // no hashing, no comparison of strings. An ID whose slot holds
        // another digit count (`T-01` after `T-1`), or past the limits,
        // goes to the hash table, and is looked up there the same way.
        if let Some((n, width)) = dense_key(id) {
            if n >= self.dense.len() {
                // Doubling: rising IDs grow the vector a few times, not
                // once per row.
                let len = (n + 1).max(self.dense.len() * 2).min(DENSE_IDS);
                self.dense.resize(len, 0);
            }
            let slot = self.dense[n];
            if let Some(node) = Self::dense_node(slot, width) {
                return Added::Repeat(node);
            }
            let node = self.ids.len();
            if slot == 0 && node + 1 < DENSE_NODES {
                self.dense[n] = ((node + 1) << DENSE_WIDTH_BITS) as u32 | width;
                self.ids.push(id);
                return Added::New(node);
            }
        }
        let half = self.half_hash(id);
        let Nodes { ids, index, .. } = self;
        let entry = index.entry(
            spread(half),
            |&(h, n)| h == half && ids[n as usize] == id,
            |&(h, _)| spread(h),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(e) => Added::Repeat(e.get().1 as usize),
            hashbrown::hash_table::Entry::Vacant(e) => {
                let Ok(n) = u32::try_from(ids.len()) else {
                    return Added::Full;
                };
                e.insert((half, n));
                ids.push(id);
                Added::New(n as usize)
            }
        }
    }
}

/// One reference of a `Depends On` cell.
struct Dep<'a> {
    /// The node of the row it is in; `None` when that row's ID is
    /// malformed or a repeat. (Node numbers fit in u32, see `Nodes`.)
    from: Option<u32>,
    /// What the reference is, worked out while its row was read: the
    /// graph is checked after the whole file, when reading the reference
    /// again would mostly wait for memory.
    key: RefKey,
    /// The ID of the row it is in (empty when the row has none).
    task: &'a str,
    /// The reference, a slice of the cell.
    reference: &'a str,
}

/// A reference's kind and, for the usual IDs, its [`dense_key`], in
/// four bytes: 0 is not a task ID, `u32::MAX` a task ID without a dense
/// key, anything else the dense key packed as in [`Nodes::dense`], plus one.
#[derive(Clone, Copy)]
struct RefKey(u32);

impl RefKey {
    fn of(reference: &str) -> RefKey {
        if !is_task_id(reference) {
            return RefKey(0);
        }
        match dense_key(reference) {
            Some((n, width)) => RefKey(((n as u32) << DENSE_WIDTH_BITS | width) + 1),
            None => RefKey(u32::MAX),
        }
    }

    fn is_task_id(self) -> bool {
        self.0 != 0
    }

    fn dense(self) -> Option<(usize, u32)> {
        (self.0 != 0 && self.0 != u32::MAX).then(|| {
            let packed = self.0 - 1;
            (
                (packed >> DENSE_WIDTH_BITS) as usize,
                packed & ((1 << DENSE_WIDTH_BITS) - 1),
            )
        })
    }
}

/// TASK024, found row by row: the first sprint ID of the table and every
/// other one, reported at its first use.
#[derive(Default)]
struct Sprints<'a> {
    first: Option<&'a str>,
    others: HashSet<&'a str, DefaultHashBuilder>,
    findings: Vec<Diagnostic>,
    /// In a piece: each sprint ID at its first use in the piece, with the
    /// task of that row, instead of findings.
    uses: Option<Vec<(&'a str, &'a str)>>,
}

impl<'a> Sprints<'a> {
    fn see(&mut self, src: &Source, task: &'a str, sprint: Option<&'a str>) {
        let Some(id) = sprint else { return };
        let Some(first) = self.first else {
            self.first = Some(id);
            if let Some(uses) = &mut self.uses {
                uses.push((id, task));
            }
            return;
        };
        if id == first || !self.others.insert(id) {
            return;
        }
        if let Some(uses) = &mut self.uses {
            uses.push((id, task));
            return;
        }
        self.findings.push(
            src.diag_at(
                Rule::TaskMixedSprintIds,
                id,
                format!("task `{task}` is in sprint `{id}`, the table's first task in `{first}`"),
            )
            .with_note(format!("`{first}` first used here"), Some(src.span_of(first)))
            .with_help("one TASK.md holds one sprint: move the task to its sprint's file or fix its Sprint ID"),
        );
    }
}

/// The counts the Sprint Status Summary line is checked against.
struct Statuses {
    /// Tasks in all.
    total: usize,
    /// Tasks per status, in the order of [`STATUSES`].
    counts: [usize; STATUSES.len()],
    /// False once a task's status is not a valid one, or unknown (a row
    /// with the wrong cell count that could not be lined up).
    valid: bool,
}

impl Statuses {
    fn see(&mut self, status: Option<usize>, cells_known: bool) {
        self.total += 1;
        match status {
            Some(k) => self.counts[k] += 1,
            None => self.valid = false,
        }
        self.valid &= cells_known;
    }

    /// Adds the counts of the rows after these.
    fn add(&mut self, later: &Statuses) {
        self.total += later.total;
        for (count, more) in self.counts.iter_mut().zip(later.counts) {
            *count += more;
        }
        self.valid &= later.valid;
    }
}

impl<'a> Rows<'a> {
    fn new(src: &'a Source) -> Self {
        Rows {
            src,
            tables: 0,
            columns: Vec::new(),
            at: ColumnIndex::default(),
            header_findings: Vec::new(),
            first_row: None,
            findings: Vec::new(),
            nodes: Nodes::default(),
            deps: Vec::new(),
            sprints: Sprints::default(),
            statuses: Statuses {
                total: 0,
                counts: [0; STATUSES.len()],
                valid: true,
            },
            deferred: None,
        }
    }

    /// An empty piece for the rows after these, on another thread: the
    /// same columns, nothing seen yet. `rows` is an estimate of its rows:
    /// reserving room for their IDs at once (pages that stay unused cost
    /// no memory) spares the copies and the freed blocks of growing.
    fn piece(&self, rows: usize) -> Rows<'a> {
        Rows {
            tables: self.tables,
            columns: self.columns.clone(),
            at: self.at.clone(),
            first_row: self.first_row,
            sprints: Sprints {
                uses: Some(Vec::new()),
                ..Sprints::default()
            },
            deferred: Some(Deferred {
                ids: Vec::with_capacity(rows),
                ..Deferred::default()
            }),
            ..Rows::new(self.src)
        }
    }

    /// Appends the rows of `piece`, which came after these: its IDs enter
    /// the graph in order (a repeat's finding before the row's own), its
    /// sprint IDs are seen in order, its counts added.
    fn merge(&mut self, piece: Rows<'a>) {
        let Rows {
            tables,
            findings,
            deps,
            sprints,
            statuses,
            deferred,
            ..
        } = piece;
        let Deferred {
            ids,
            findings_before,
            quiet,
        } = deferred.unwrap_or_default();
        let mut findings = findings.into_iter();
        let mut taken = 0;
        let mut before = findings_before.into_iter().peekable();
        let mut quiet = quiet.into_iter().peekable();
        // Node numbers fit in u32 (see `Nodes`).
        let mut node_of: Vec<Option<u32>> = Vec::with_capacity(ids.len());
        for (k, id) in ids.into_iter().enumerate() {
            if let Some((_, n)) = before.next_if(|&(j, _)| j == k) {
                self.findings.extend(findings.by_ref().take(n - taken));
                taken = n;
            }
            let report_repeat = quiet.next_if_eq(&k).is_none();
            node_of.push(self.add_id(id, report_repeat).map(|n| n as u32));
        }
        self.findings.extend(findings);
        self.deps.extend(deps.into_iter().map(|dep| Dep {
            from: dep.from.and_then(|k| node_of[k as usize]),
            ..dep
        }));
        for (id, task) in sprints.uses.unwrap_or_default() {
            self.sprints.see(self.src, task, Some(id));
        }
        self.statuses.add(&statuses);
        self.tables += tables.saturating_sub(1);
    }

    /// The graph node of a row's task ID (`None` for a repeat, with its
    /// TASK011 finding when `report_repeat`); in a piece, the index of
    /// the ID kept for the merge.
    fn add_id(&mut self, id: &'a str, report_repeat: bool) -> Option<usize> {
        if let Some(deferred) = &mut self.deferred {
            let k = deferred.ids.len();
            let n = self.findings.len();
            if deferred.findings_before.last().map_or(0, |&(_, m)| m) != n {
                deferred.findings_before.push((k, n));
            }
            if !report_repeat {
                deferred.quiet.push(k);
            }
            deferred.ids.push(id);
            return Some(k);
        }
        match self.nodes.add(id) {
            Added::New(n) => Some(n),
            Added::Full => None,
            Added::Repeat(first) => {
                if report_repeat {
                    self.findings.push(
                        self.src
                            .diag_at(
                                Rule::TaskDuplicateId,
                                id,
                                format!("duplicate task ID `{id}`"),
                            )
                            .with_label("used again here")
                            .with_note(
                                "first defined here",
                                Some(self.src.span_of(self.nodes.ids[first])),
                            )
                            .with_help(
                                "give this task a new ID (the next free one), or delete the duplicated row",
                            ),
                    );
                }
                None
            }
        }
    }

    fn depends_on(&mut self, from: Option<usize>, task: &'a str, cell: Option<&'a str>) {
        // Node numbers fit in u32 (see `Nodes`); so do a piece's rows
        // (fewer than its bytes), else the reference has no row.
        let from = from.and_then(|n| u32::try_from(n).ok());
        if let Some(cell) = cell {
            self.deps.extend(dependency_refs(cell).map(|reference| Dep {
                from,
                key: RefKey::of(reference),
                task,
                reference,
            }));
        }
    }

    /// A row with the wrong cell count. It is still a task: it counts in
    /// the summary's total and, when its cells can be lined up, as the task
    /// it names, so a dependency on it or its status is not reported as
    /// missing.
    fn misshapen(&mut self, row: &Row<'a>) {
        let src = self.src;
        let want = self.columns.len();
        let fit = realign(&row.cells, &self.columns);
        self.findings.push(row_cells_diagnostic(
            src,
            row,
            want,
            &self.columns,
            fit.as_ref(),
        ));
        let aligned = fit.map(|f| f.cells);
        let cell = |i: Option<usize>| -> Option<&'a str> {
            let i = i?;
            match &aligned {
                Some(cells) => cells[i],
                None => None,
            }
        };
        let id = aligned
            .as_ref()
            .and_then(|_| cell(self.at.id))
            .or_else(|| row.cells.first().copied())
            .filter(|id| is_task_id(id));
        let node = id.and_then(|id| self.add_id(id, false));
        let task = id.unwrap_or("");
        let (depends_on, sprint_id, status) = (
            cell(self.at.depends_on),
            cell(self.at.sprint_id).filter(|s| !is_empty(s)),
            cell(self.at.status),
        );
        self.depends_on(node, task, depends_on);
        self.sprints.see(src, task, sprint_id);
        self.statuses
            .see(status.and_then(status_index), aligned.is_some());
    }
}

impl<'a> taskmd::Visit<'a> for Rows<'a> {
    fn table(&mut self, header: &Row<'a>) {
        self.tables += 1;
        if self.tables == 1 {
            self.columns = check_header(self.src, header, &mut self.header_findings);
            self.at = ColumnIndex::of(&self.columns);
        }
    }

    fn row(&mut self, row: &Row<'a>) {
        if self.tables == 1 && self.first_row.is_none() {
            self.first_row = Some(row.line);
        }
        if row.cells.len() != self.columns.len() {
            self.misshapen(row);
            return;
        }
        let src = self.src;
        let cell = |i: Option<usize>| i.map(|i| row.cells[i]);
        let mut node = None;
        let id = cell(self.at.id).unwrap_or("");
        if let Some(id) = cell(self.at.id) {
            if !is_task_id(id) {
                self.findings.push(
                    src.diag_at(Rule::TaskBadId, id, format!("`{id}` is not a task ID"))
                        .with_label("expected `T-<digits>`")
                        .with_help("task IDs are written `T-` followed by digits, e.g. `T-042`"),
                );
            } else {
                node = self.add_id(id, true);
            }
        }
        let status = check_cells(src, row, &self.at, &mut self.findings);
        self.depends_on(node, id, cell(self.at.depends_on));
        self.sprints
            .see(src, id, cell(self.at.sprint_id).filter(|s| !is_empty(s)));
        self.statuses.see(status, true);
    }
}

/// A row with the wrong cell count lined up with the header by inserting
/// (short row) or dropping (long row) one cell: the way that puts a value
/// of the right kind under every typed column.
struct Fit<'a> {
    /// The row's cells per header column; `None` where a cell is missing.
    cells: Vec<Option<&'a str>>,
    /// Where a cell is missing (short row: a header column) or extra (long
    /// row: a cell of the row): one place when inferred exactly, several
    /// adjacent ones when the values around them do not tell them apart.
    at: Vec<usize>,
}

/// The best alignment of `cells` to `columns`, when exactly one cell is
/// missing or extra and some alignment fits every typed column.
fn realign<'a>(cells: &[&'a str], columns: &[Option<Column>]) -> Option<Fit<'a>> {
    let want = columns.len();
    // Trying every position is quadratic in the width: a header far wider
    // than the template's 13 columns is not one worth guessing about.
    if want > MAX_REALIGN_COLUMNS {
        return None;
    }
    let candidates: Vec<(usize, Vec<Option<&'a str>>)> = if cells.len() + 1 == want {
        (0..want)
            .map(|k| {
                let mut v: Vec<Option<&str>> = cells.iter().copied().map(Some).collect();
                v.insert(k, None);
                (k, v)
            })
            .collect()
    } else if cells.len() == want + 1 {
        (0..cells.len())
            .map(|k| {
                let mut v: Vec<Option<&str>> = cells.iter().copied().map(Some).collect();
                v.remove(k);
                (k, v)
            })
            .collect()
    } else {
        return None;
    };
    let fits = |v: &[Option<&str>]| {
        columns.iter().zip(v).all(|(c, cell)| match (c, cell) {
            (Some(c), Some(cell)) => fits_kind(*c, cell),
            _ => true,
        })
    };
    // Among the alignments that fit, prefer those leaving no typed value
    // (an ID, a status, a number, …) in a free-text column.
    let misplaced = |v: &[Option<&str>]| {
        columns
            .iter()
            .zip(v)
            .filter(|(c, cell)| {
                matches!(c, Some(Column::Title | Column::Description | Column::Notes))
                    && cell.is_some_and(looks_typed)
            })
            .count()
    };
    let fitting: Vec<(usize, Vec<Option<&'a str>>, usize)> = candidates
        .into_iter()
        .filter(|(_, v)| fits(v))
        .map(|(k, v)| {
            let m = misplaced(&v);
            (k, v, m)
        })
        .collect();
    let least = fitting.iter().map(|(_, _, m)| *m).min()?;
    let good: Vec<(usize, Vec<Option<&'a str>>)> = fitting
        .into_iter()
        .filter(|(_, _, m)| *m == least)
        .map(|(k, v, _)| (k, v))
        .collect();
    let first = good.first()?;
    let cells = first.1.clone();
    let at: Vec<usize> = good.iter().map(|(k, _)| *k).collect();
    // Several alignments fit only when they differ in free-text columns
    // next to each other; otherwise the values do not say which cell.
    if at.windows(2).any(|w| w[1] != w[0] + 1) {
        return None;
    }
    Some(Fit { cells, at })
}

/// Whether `cell` is a value only a typed column would hold.
fn looks_typed(cell: &str) -> bool {
    is_task_id(cell)
        || cell.parse::<i64>().is_ok()
        || PRIORITIES.iter().any(|p| p.eq_ignore_ascii_case(cell))
        || STATUSES.iter().any(|s| s.eq_ignore_ascii_case(cell))
        || is_review_mark(cell)
        || super::dates::parse_date(cell).is_ok()
}

/// Whether `cell` is a value of the kind `column` holds. Free-text columns
/// hold anything.
fn fits_kind(column: Column, cell: &str) -> bool {
    match column {
        Column::Id => is_task_id(cell),
        Column::Priority => PRIORITIES.iter().any(|p| p.eq_ignore_ascii_case(cell)),
        Column::Points => cell.parse::<i64>().is_ok(),
        Column::Status => STATUSES.iter().any(|s| s.eq_ignore_ascii_case(cell)),
        Column::Reviewed => is_review_mark(cell),
        Column::Owner => is_empty(cell) || cell.starts_with('@'),
        Column::PrLink => is_empty(cell) || cell.starts_with("[#"),
        Column::Eta => is_empty(cell) || super::dates::parse_date(cell).is_ok(),
        Column::DependsOn => dependency_refs(cell).all(is_task_id),
        Column::SprintId => is_empty(cell) || cell.starts_with("Sprint-"),
        Column::Title | Column::Description | Column::Notes => true,
    }
}

/// TASK006, naming the missing or extra cell when the row's values say
/// which it is.
fn row_cells_diagnostic(
    src: &Source,
    row: &Row<'_>,
    want: usize,
    columns: &[Option<Column>],
    fit: Option<&Fit<'_>>,
) -> Diagnostic {
    let have = row.cells.len();
    let noun = if have == 1 { "cell" } else { "cells" };
    let name = |k: usize| {
        columns.get(k).copied().flatten().map_or_else(
            || format!("column {}", k + 1),
            |c| format!("`{}`", c.name()),
        )
    };
    let either = |names: Vec<String>| match names.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => String::new(),
    };
    let which = fit.map(|f| {
        if have < want {
            format!(
                ": the {} cell is missing",
                either(f.at.iter().map(|&k| name(k)).collect())
            )
        } else if f.at == [0] {
            format!(": an extra cell before {}", name(0))
        } else {
            format!(
                ": an extra cell after {}",
                either(f.at.iter().map(|&k| name(k.saturating_sub(1))).collect())
            )
        }
    });
    let (label, help) = match (&which, have < want) {
        (Some(_), true) => (
            "a cell is missing".to_string(),
            "add the missing cell (write `-` for an empty one)".to_string(),
        ),
        (Some(_), false) => (
            "a cell too many".to_string(),
            "remove the extra cell, or escape a `|` inside a cell as `\\|`".to_string(),
        ),
        (None, _) => (
            format!("expected {want} cells"),
            "a cell is missing or extra, or the row was cut off; write `-` for an empty cell and keep one cell per column".to_string(),
        ),
    };
    src.diag_at(
        Rule::TaskRowCells,
        row.line,
        format!(
            "this row has {have} {noun}; the header has {want}{}",
            which.unwrap_or_default()
        ),
    )
    .with_label(label)
    .with_help(help)
}

/// TASK029: task-shaped lines outside every table.
fn check_stray_rows(src: &Source, doc: &TaskDoc<'_>, out: &mut Vec<Diagnostic>) {
    for row in &doc.stray_rows {
        let id = row.cells[0];
        out.push(
            src.diag_at(
                Rule::TaskStrayRow,
                row.line,
                format!("the task line `{id}` belongs to no table"),
            )
            .with_label("no table header and separator above this line")
            .with_help("move the row into the task table (no blank line between table rows), or delete it; a bot probably appended it"),
        );
    }
}

/// Where each known column is in the header.
#[derive(Default, Clone)]
struct ColumnIndex {
    id: Option<usize>,
    title: Option<usize>,
    priority: Option<usize>,
    points: Option<usize>,
    status: Option<usize>,
    reviewed: Option<usize>,
    owner: Option<usize>,
    pr_link: Option<usize>,
    eta: Option<usize>,
    depends_on: Option<usize>,
    sprint_id: Option<usize>,
    notes: Option<usize>,
}

impl ColumnIndex {
    fn of(columns: &[Option<Column>]) -> Self {
        let col = |c: Column| columns.iter().position(|x| *x == Some(c));
        ColumnIndex {
            id: col(Column::Id),
            title: col(Column::Title),
            priority: col(Column::Priority),
            points: col(Column::Points),
            status: col(Column::Status),
            reviewed: col(Column::Reviewed),
            owner: col(Column::Owner),
            pr_link: col(Column::PrLink),
            eta: col(Column::Eta),
            depends_on: col(Column::DependsOn),
            sprint_id: col(Column::SprintId),
            notes: col(Column::Notes),
        }
    }
}

fn is_empty(cell: &str) -> bool {
    cell.is_empty() || cell == "-"
}

/// The single-cell rules of one row. Returns the row's status, as its
/// place in [`STATUSES`], when it is a valid one.
fn check_cells(
    src: &Source,
    row: &Row<'_>,
    at: &ColumnIndex,
    out: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let cell = |i: Option<usize>| i.map(|i| row.cells[i]);
    if let Some(title) = cell(at.title) {
        // Counting characters is needed only when the bytes exceed the
        // limit (a character is at least one byte).
        let len = if title.len() > MAX_TITLE {
            title.chars().count()
        } else {
            0
        };
        if is_empty(title) {
            out.push(
                Diagnostic::new(Rule::TaskBadTitle, src.path.clone(), "the title is empty")
                    .with_span(cell_span(src, title))
                    .with_help("every task needs a title of at most 100 characters"),
            );
        } else if len > MAX_TITLE {
            out.push(
                src.diag_at(
                    Rule::TaskBadTitle,
                    title,
                    format!("the title is {len} characters long; the limit is {MAX_TITLE}"),
                )
                .with_help("shorten the title and move the detail to Description or Notes"),
            );
        }
    }
    if let Some(notes) = cell(at.notes)
        && notes.len() > MAX_NOTES
    {
        let len = notes.chars().count();
        if len > MAX_NOTES {
            out.push(
                src.diag_at(
                    Rule::TaskNotesTooLong,
                    notes,
                    format!("the notes are {len} characters long; the limit is {MAX_NOTES}"),
                )
                .with_help("shorten the notes; longer discussion belongs in the issue or PR"),
            );
        }
    }
    if let Some(p) = cell(at.priority)
        && priority_index(p).is_none()
    {
        enum_cell(src, p, &PRIORITIES, Rule::TaskBadPriority, "priority", out);
    }
    let status = cell(at.status).and_then(|s| {
        let k = status_index(s);
        if k.is_none() {
            enum_cell(src, s, &STATUSES, Rule::TaskBadStatus, "status", out);
        }
        k
    });
    if let Some(r) = cell(at.reviewed)
        && !is_review_mark(r)
    {
        out.push(
            src.diag_at(Rule::TaskBadReviewed, r, format!("`{r}` is not a review mark"))
                .with_help("use one of ✔️ (approved), ✖️ (not reviewed), 🔍 (in review), ⚠️ (changes requested), 🚀 (merged)"),
        );
    }
    if let Some(p) = cell(at.points) {
        match p.parse::<i64>() {
            Ok(n) if n >= 0 && !FIBONACCI.contains(&n) => out.push(
                src.diag_at(
                    Rule::TaskNonFibonacciPoints,
                    p,
                    format!("{n} points is not on the Fibonacci scale"),
                )
                .with_help(format!(
                    "use 0 or one of 1, 2, 3, 5, 8, 13, 21 (nearest: {})",
                    nearest_fibonacci(n)
                )),
            ),
            Ok(n) if n >= 0 => {}
            _ => out.push(
                src.diag_at(
                    Rule::TaskBadPoints,
                    p,
                    format!("points `{p}` is not a whole number ≥ 0"),
                )
                .with_help("write the estimate as a number, e.g. `3`"),
            ),
        }
    }
    // `-` is the explicit "no owner yet" (the sample repository uses it);
    // a blank cell is what a bot that lost the value leaves.
    if let Some(o) = cell(at.owner)
        && o.is_empty()
    {
        let d = Diagnostic::new(Rule::TaskNoOwner, src.path.clone(), "the task has no owner")
            .with_span(cell_span(src, o))
            .with_help("assign someone (`@login`) so the task is not forgotten");
        out.push(d);
    }
    if let Some(link) = cell(at.pr_link)
        && !is_empty(link)
        && !is_pr_link(link)
    {
        out.push(
            src.diag_at(
                Rule::TaskBadPrLink,
                link,
                format!("`{link}` is not a PR link"),
            )
            .with_help("write `[#N](../pull/N)` with the same PR number twice, or `-`"),
        );
    }
    if let Some(eta) = cell(at.eta)
        && eta != "-"
        && let Err(why) = super::dates::parse_date(eta).map_err(|p| p.describe())
    {
        out.push(
            src.diag_at(Rule::TaskBadEta, eta, format!("ETA `{eta}` {why}"))
                .with_help("write the ETA as YYYY-MM-DD (a real calendar date), or `-`"),
        );
    }
    status
}

/// The span of a cell; an empty cell has no text, so it spans the blank
/// before the closing pipe.
fn cell_span(src: &Source, cell: &str) -> Span {
    let span = src.span_of(cell);
    if cell.is_empty() {
        src.span(span.byte_offset.saturating_sub(1), span.byte_offset)
    } else {
        span
    }
}

/// The finding for `value`, which is none of `allowed`.
fn enum_cell(
    src: &Source,
    value: &str,
    allowed: &[&str],
    rule: Rule,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let help = match allowed.iter().find(|a| a.eq_ignore_ascii_case(value)) {
        Some(right) => format!("write `{right}` (the values are case-sensitive)"),
        None => match nearest(value, allowed) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!(
                "use one of: {}",
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    out.push(
        src.diag_at(rule, value, format!("`{value}` is not a valid {what}"))
            .with_help(help),
    );
}

/// A review mark, alone or followed by a space and words; U+FE0F is
/// ignored wherever it is.
fn is_review_mark(cell: &str) -> bool {
    // The ten ways the team writes a mark alone are recognised by their
    // bytes; anything else is decoded and compared mark by mark.
    if matches!(
        cell,
        "\u{2714}\u{FE0F}"
            | "\u{2716}\u{FE0F}"
            | "\u{26A0}\u{FE0F}"
            | "🔍"
            | "🚀"
            | "\u{2714}"
            | "\u{2716}"
            | "\u{26A0}"
            | "🔍\u{FE0F}"
            | "🚀\u{FE0F}"
    ) {
        return true;
    }
    REVIEW_MARKS.iter().any(|m| {
        let mut rest = cell.chars().filter(|c| *c != '\u{FE0F}');
        m.chars().all(|c| rest.next() == Some(c)) && matches!(rest.next(), None | Some(' '))
    })
}

fn nearest_fibonacci(n: i64) -> i64 {
    *FIBONACCI
        .iter()
        .min_by_key(|f| ((**f - n).abs(), **f))
        .expect("non-empty")
}

/// `[#N](../pull/N)` or `[#N](../pulls/N)` with the same N.
fn is_pr_link(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("[#") else {
        return false;
    };
    // N is digits, so the first `](../` is right after them: found by
    // counting digits, not by a substring search.
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (n, rest) = rest.split_at(digits);
    let Some(rest) = rest.strip_prefix("](../") else {
        return false;
    };
    let Some(m) = rest
        .strip_prefix("pull/")
        .or_else(|| rest.strip_prefix("pulls/"))
        .and_then(|r| r.strip_suffix(')'))
    else {
        return false;
    };
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n == m
}

/// The references in a `Depends On` cell, as slices of it.
fn dependency_refs(cell: &str) -> impl Iterator<Item = &str> {
    let cell = if is_empty(cell) { "" } else { cell };
    cell.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// The dependency graph in compressed form: node `n`'s edges are
/// `edges[start[n]..start[n + 1]]`, each the node depended on and the
/// index in `deps` of the reference.
struct Graph {
    start: Vec<u32>,
    edges: Vec<(u32, u32)>,
}

impl Graph {
    fn len(&self) -> usize {
        self.start.len() - 1
    }

    fn edges(&self, n: usize) -> &[(u32, u32)] {
        &self.edges[self.start[n] as usize..self.start[n + 1] as usize]
    }
}

/// TASK021 unknown or malformed references, TASK022 self-dependencies and
/// cycles.
fn check_dependencies<'a>(
    src: &Source,
    nodes: Nodes<'a>,
    deps: &[Dep<'a>],
    out: &mut Vec<Diagnostic>,
) {
    // The node each reference names, when it is a task of the graph.
    let mut edges: Vec<(u32, u32, u32)> = Vec::new();
    for (k, dep) in deps.iter().enumerate() {
        let reference = dep.reference;
        if !dep.key.is_task_id() {
            out.push(
                src.diag_at(
                    Rule::TaskUnknownDependency,
                    reference,
                    format!("`{reference}` is not a task ID"),
                )
                .with_help("list task IDs separated by commas (`T-001, T-004`), or `-`"),
            );
            continue;
        }
        match nodes.find(dep.key.dense(), reference) {
            None => out.push(
                src.diag_at(
                    Rule::TaskUnknownDependency,
                    reference,
                    format!(
                        "`{}` depends on `{reference}`, which is not in the task table",
                        dep.task
                    ),
                )
                .with_label("unknown task")
                .with_help("fix the ID, add the missing task, or remove the dependency"),
            ),
            Some(j) if Some(j as u32) == dep.from => out.push(
                src.diag_at(
                    Rule::TaskDependencyCycle,
                    reference,
                    format!("`{reference}` depends on itself"),
                )
                .with_help("remove the task's own ID from its Depends On cell"),
            ),
            Some(j) => {
                // Node numbers and `deps` indices fit in u32: both count
                // at most the rows and references of the graph's nodes.
                if let (Some(from), Ok(k)) = (dep.from, u32::try_from(k)) {
                    edges.push((from, j as u32, k));
                }
            }
        }
    }
    let Nodes {
        ids, index, dense, ..
    } = nodes;
    // The ID index is done with: free it before the graph is built.
    drop(index);
    drop(dense);
    // `deps` is in row order, so each node's edges come out together.
    let mut graph = Graph {
        start: Vec::with_capacity(ids.len() + 1),
        edges: Vec::with_capacity(edges.len()),
    };
    for (from, to, k) in edges {
        while graph.start.len() <= from as usize {
            graph.start.push(graph.edges.len() as u32);
        }
        graph.edges.push((to, k));
    }
    while graph.start.len() <= ids.len() {
        graph.start.push(graph.edges.len() as u32);
    }
    for cycle in find_cycles(&graph).into_iter().take(MAX_CYCLES) {
        // cycle[k] depends on cycle[k+1] via the reference ref_of(k).
        let n = cycle.len();
        let reference = |k: usize| {
            graph
                .edges(cycle[k])
                .iter()
                .find(|(t, _)| *t as usize == cycle[(k + 1) % n])
                .map(|&(_, r)| deps[r as usize].reference)
                .expect("cycle edge exists")
        };
        let path: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&cycle[0]))
            .map(|&i| ids[i])
            .collect();
        let mut d = src
            .diag_at(
                Rule::TaskDependencyCycle,
                reference(0),
                format!("dependency cycle: {}", path.join(" → ")),
            )
            .with_label(format!("`{}` depends on `{}`", path[0], path[1]))
            .with_help("remove one of these dependencies so the tasks can be done in some order");
        for k in 1..n {
            d = d.with_note(
                format!("`{}` depends on `{}` here", path[k], path[k + 1]),
                Some(src.span_of(reference(k))),
            );
        }
        out.push(d);
    }
}

/// Cycles of the dependency graph (self-loops excluded), each rotated to
/// start at its earliest row, in order of that row.
fn find_cycles(graph: &Graph) -> Vec<Vec<usize>> {
    /// A node not reached yet; a node whose edges are all explored is
    /// `DONE`; a node on the current path holds its place in it.
    const NEW: usize = usize::MAX;
    const DONE: usize = usize::MAX - 1;
    let mut mark = vec![NEW; graph.len()];
    let mut cycles: Vec<Vec<usize>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for start in 0..graph.len() {
        if mark[start] != NEW {
            continue;
        }
        let mut path: Vec<usize> = vec![start];
        let mut next_edge: Vec<usize> = vec![0];
        mark[start] = 0;
        while let Some(&v) = path.last() {
            let e = next_edge.last_mut().expect("parallel stacks");
            if let Some(&(w, _)) = graph.edges(v).get(*e) {
                let w = w as usize;
                *e += 1;
                match mark[w] {
                    NEW => {
                        mark[w] = path.len();
                        path.push(w);
                        next_edge.push(0);
                    }
                    DONE => {}
                    at if w != v => {
                        let mut cycle = path[at..].to_vec();
                        let min = (0..cycle.len())
                            .min_by_key(|&k| cycle[k])
                            .expect("non-empty");
                        cycle.rotate_left(min);
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if seen.insert(key) {
                            cycles.push(cycle);
                        }
                    }
                    _ => {}
                }
            } else {
                mark[v] = DONE;
                path.pop();
                next_edge.pop();
            }
        }
    }
    cycles.sort_by_key(|c| c[0]);
    cycles
}

/// TASK027: each count of the Sprint Status Summary line against the table.
fn check_summary(src: &Source, doc: &TaskDoc<'_>, statuses: &Statuses, out: &mut Vec<Diagnostic>) {
    let Some(summary) = doc.status_summary else {
        return;
    };
    let count = |k: usize| statuses.counts[k];
    // With a status cell already reported invalid, per-status counts would
    // only repeat that finding; the total still says whether rows are lost.
    let statuses_valid = statuses.valid;
    for part in summary.split('|') {
        let Some((label, number)) = part.rsplit_once(':') else {
            continue;
        };
        let label = label
            .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
            .trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        let number = number.trim().trim_matches('*').trim();
        let Ok(claimed) = number.parse::<usize>() else {
            continue;
        };
        let (what, actual) = if label.eq_ignore_ascii_case("Total") {
            ("in all", statuses.total)
        } else if !statuses_valid {
            continue;
        } else if label.eq_ignore_ascii_case("Completed") {
            ("Done", count(DONE))
        } else if let Some(k) = STATUSES.iter().position(|s| s.eq_ignore_ascii_case(label)) {
            (STATUSES[k], count(k))
        } else {
            continue;
        };
        if claimed != actual {
            out.push(
                src.diag_at(
                    Rule::TaskStatusSummary,
                    number,
                    format!("the status summary says {label}: {claimed}, the table has {actual}"),
                )
                .with_label(format!("the table has {actual} {what}"))
                .with_help("recount, or let auto-update-metadata rewrite the summary line"),
            );
        }
    }
}

#[cfg(test)]
mod split_tests;
#[cfg(test)]
mod tests;
