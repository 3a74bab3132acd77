//! A parser for `planning/TASK.md`: the header lines lifeline cares about
//! and the task table, as slices of the original text.
//!
//! The parser is total: any input gives a [`TaskDoc`], and every slice in it
//! points into the input, so a validator can turn it into a line and column.
//! It makes one pass over the lines; [`parse`] allocates one vector per
//! row, [`parse_with`] none (it hands each row to a [`Visit`]).

/// The known columns of the task table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Id,
    Title,
    Description,
    Priority,
    Points,
    Status,
    Reviewed,
    Owner,
    PrLink,
    Eta,
    DependsOn,
    SprintId,
    Notes,
}

impl Column {
    pub const ALL: [Column; 13] = [
        Column::Id,
        Column::Title,
        Column::Description,
        Column::Priority,
        Column::Points,
        Column::Status,
        Column::Reviewed,
        Column::Owner,
        Column::PrLink,
        Column::Eta,
        Column::DependsOn,
        Column::SprintId,
        Column::Notes,
    ];

    /// The header text of the column in the sprint template.
    pub fn name(self) -> &'static str {
        match self {
            Column::Id => "ID",
            Column::Title => "Title",
            Column::Description => "Description",
            Column::Priority => "Priority",
            Column::Points => "Points",
            Column::Status => "Status",
            Column::Reviewed => "Reviewed",
            Column::Owner => "Owner",
            Column::PrLink => "PR Link",
            Column::Eta => "ETA",
            Column::DependsOn => "Depends On",
            Column::SprintId => "Sprint ID",
            Column::Notes => "Notes",
        }
    }

    /// The older 11-column layout lacks these; they are optional.
    pub fn is_required(self) -> bool {
        !matches!(self, Column::Description | Column::SprintId)
    }

    /// The column a header cell names (case and inner spacing ignored).
    pub fn from_header(cell: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| eq_words(c.name(), cell))
    }
}

fn eq_words(a: &str, b: &str) -> bool {
    // Most cells compared against a column name are not that name: when
    // both start with a visible ASCII character (the first of their first
    // word), reject them on it before splitting anything.
    let visible = |c: &u8| c.is_ascii_graphic();
    if let (Some(x), Some(y)) = (
        a.as_bytes().first().filter(|c| visible(c)),
        b.as_bytes().first().filter(|c| visible(c)),
    ) && !x.eq_ignore_ascii_case(y)
    {
        return false;
    }
    let mut a = a.split_whitespace();
    let mut b = b.split_whitespace();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
            _ => return false,
        }
    }
}

/// One Markdown table line split into cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'a> {
    /// The whole line, without its line ending.
    pub line: &'a str,
    /// The cells, trimmed, without the outer pipes.
    pub cells: Vec<&'a str>,
}

/// A task table: a header carrying the task columns (see
/// [`is_task_header`]), the separator line under it, and the rows up to the
/// first line that is not a table line. A task header repeated inside a
/// table starts a new table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table<'a> {
    pub header: Row<'a>,
    /// The line after the header when it is a separator (`|---|---|`).
    pub separator: Option<Row<'a>>,
    /// The line after the header when it should have been a separator but
    /// is not; it is also the first of `rows`.
    pub missing_separator: bool,
    pub rows: Vec<Row<'a>>,
}

/// What the validator needs from a TASK.md.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskDoc<'a> {
    /// The value of the `**Sprint ID**:` line, trimmed.
    pub sprint_id: Option<&'a str>,
    /// The text after `**Sprint Status Summary**:`.
    pub status_summary: Option<&'a str>,
    /// The `<!-- changelog-insert-point -->` anchor line.
    pub changelog_anchor: Option<&'a str>,
    /// Every task table, in order; more than one means a repeated header.
    pub tables: Vec<Table<'a>>,
    /// The headers of the other well-formed tables (a header line followed
    /// by a separator): the sprint dashboard, the completed tasks, … Their
    /// rows are someone's content, not tasks.
    pub other_tables: Vec<Row<'a>>,
    /// Task-shaped lines (first cell `T-<digits>`) that belong to no table:
    /// table lines with no header and separator above them, or a row of
    /// another table whose cell count does not fit that table.
    pub stray_rows: Vec<Row<'a>>,
}

impl<'a> TaskDoc<'a> {
    /// Every task row of every table, in order.
    pub fn rows(&self) -> impl Iterator<Item = &Row<'a>> {
        self.tables.iter().flat_map(|t| t.rows.iter())
    }
}

/// The anchor task-sync inserts changelog lines after.
pub const CHANGELOG_ANCHOR: &str = "<!-- changelog-insert-point -->";

/// Which table the lines being read belong to.
enum Block {
    /// Not in a table line run.
    Outside,
    /// In the last task table of `doc.tables`.
    Task,
    /// Right after a table line that is not a task header: the next line
    /// decides whether it was a table header (a separator follows).
    Candidate(usize),
    /// In another table, whose header has this many cells.
    Other(usize),
    /// In a run of table lines with no header and separator.
    Orphan,
}

/// What [`parse_with`] reports about the task tables while it reads them,
/// so a caller can check a table of any size without keeping its rows.
pub trait Visit<'a> {
    /// A task table starts with `header` (the first, or a repeated one).
    fn table(&mut self, header: &Row<'a>);
    /// A row of the task table that started last. The row's cell vector
    /// is reused for the next line: clone the row to keep it.
    fn row(&mut self, row: &Row<'a>);
}

/// Collects every task table's rows, for [`parse`].
#[derive(Default)]
struct Collect<'a> {
    tables: Vec<Vec<Row<'a>>>,
}

impl<'a> Visit<'a> for Collect<'a> {
    fn table(&mut self, _header: &Row<'a>) {
        self.tables.push(Vec::new());
    }

    fn row(&mut self, row: &Row<'a>) {
        if let Some(rows) = self.tables.last_mut() {
            rows.push(row.clone());
        }
    }
}

/// Parses `text` (without a BOM). Never fails, never panics.
pub fn parse(text: &str) -> TaskDoc<'_> {
    let mut collect = Collect::default();
    let mut doc = parse_with(text, &mut collect);
    for (table, rows) in doc.tables.iter_mut().zip(collect.tables) {
        table.rows = rows;
    }
    doc
}

/// Parses `text` (without a BOM) like [`parse`], but hands each task row
/// to `visit` instead of storing it: every [`Table::rows`] of the result
/// is empty. One cell vector serves every line, so the rows of a large
/// table cost no allocation. Never fails, never panics.
pub fn parse_with<'a>(text: &'a str, visit: &mut impl Visit<'a>) -> TaskDoc<'a> {
    let mut parser = Parser::new();
    for line in lines(text) {
        parser.line(line, visit);
    }
    parser.finish()
}

/// [`parse_with`] one line at a time, so a text can be parsed in pieces:
/// a piece that starts inside a task table's rows can be parsed by a
/// parser made with [`Parser::after_task_row`], and its result appended to
/// the one before with [`TaskDoc::append`], when the parser of the piece
/// before ends [`Parser::in_task_rows`].
pub(crate) struct Parser<'a> {
    doc: TaskDoc<'a>,
    fence: Option<&'a str>,
    block: Block,
    expect_separator: bool,
    row: Row<'a>,
}

impl<'a> Parser<'a> {
    /// A parser at the start of a text.
    pub(crate) fn new() -> Self {
        Parser {
            doc: TaskDoc::default(),
            fence: None,
            block: Block::Outside,
            expect_separator: false,
            row: Row {
                line: "",
                cells: Vec::with_capacity(16),
            },
        }
    }

    /// A parser for the lines after a row of a task table (after its
    /// separator or a first row), whose result is appended to the
    /// parse of the lines before.
    pub(crate) fn after_task_row() -> Self {
        Parser {
            block: Block::Task,
            ..Parser::new()
        }
    }

    /// Whether the next line is read as the rows of a task table after
    /// its first row: the state [`Parser::after_task_row`] starts in.
    pub(crate) fn in_task_rows(&self) -> bool {
        self.fence.is_none() && matches!(self.block, Block::Task) && !self.expect_separator
    }

    /// Reads one line (without its line ending).
    pub(crate) fn line(&mut self, line: &'a str, visit: &mut impl Visit<'a>) {
        let doc = &mut self.doc;
        let row = &mut self.row;
        let trimmed = trim_start(line);
        if let Some(open) = self.fence {
            if trimmed.starts_with(open) {
                self.fence = None;
            }
            return;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            self.fence = Some(&trimmed[..3]);
            self.block = Block::Outside;
            return;
        }
        if !trimmed.starts_with('|') {
            self.block = Block::Outside;
            self.expect_separator = false;
            scan_header_line(trimmed, doc);
            return;
        }
        split_row_into(line, row);
        if is_task_header(row) {
            doc.tables.push(Table {
                header: row.clone(),
                separator: None,
                missing_separator: false,
                rows: Vec::new(),
            });
            visit.table(row);
            self.block = Block::Task;
            self.expect_separator = true;
            return;
        }
        match self.block {
            Block::Task => {
                if self.expect_separator {
                    self.expect_separator = false;
                    let table = doc.tables.last_mut().expect("in a task table");
                    if is_separator(row) {
                        table.separator = Some(row.clone());
                        return;
                    }
                    table.missing_separator = true;
                }
                visit.row(row);
            }
            Block::Outside => {
                // A stray task line is reported whatever follows it; a
                // header-shaped line waits for its separator.
                if is_task_row(row) {
                    doc.stray_rows.push(row.clone());
                    self.block = Block::Orphan;
                } else {
                    self.block = Block::Candidate(row.cells.len());
                    doc.other_tables.push(row.clone());
                }
            }
            Block::Candidate(width) => {
                if is_separator(row) {
                    self.block = Block::Other(width);
                } else {
                    // The line before was no header after all.
                    doc.other_tables.pop();
                    self.block = Block::Orphan;
                    if is_task_row(row) {
                        doc.stray_rows.push(row.clone());
                    }
                }
            }
            Block::Other(width) => {
                if is_task_row(row) && row.cells.len() != width {
                    doc.stray_rows.push(row.clone());
                }
            }
            Block::Orphan => {
                if is_task_row(row) {
                    doc.stray_rows.push(row.clone());
                }
            }
        }
    }

    /// The document, once every line is read.
    pub(crate) fn finish(mut self) -> TaskDoc<'a> {
        if let Block::Candidate(_) = self.block {
            self.doc.other_tables.pop();
        }
        self.doc
    }

    /// The document of the lines read so far, when more lines follow
    /// that another parser read.
    pub(crate) fn into_partial(self) -> TaskDoc<'a> {
        self.doc
    }
}

impl<'a> TaskDoc<'a> {
    /// Appends the parse of the lines after this one's (see [`Parser`]):
    /// the first header line of each kind wins, as in one parse.
    pub(crate) fn append(&mut self, later: TaskDoc<'a>) {
        self.sprint_id = self.sprint_id.or(later.sprint_id);
        self.status_summary = self.status_summary.or(later.status_summary);
        self.changelog_anchor = self.changelog_anchor.or(later.changelog_anchor);
        self.tables.extend(later.tables);
        self.other_tables.extend(later.other_tables);
        self.stray_rows.extend(later.stray_rows);
    }
}

fn scan_header_line<'a>(line: &'a str, doc: &mut TaskDoc<'a>) {
    if doc.sprint_id.is_none()
        && let Some(rest) = strip_label(line, "Sprint ID")
    {
        doc.sprint_id = Some(rest.trim());
    } else if doc.status_summary.is_none()
        && let Some(rest) = strip_label(line, "Sprint Status Summary")
    {
        doc.status_summary = Some(rest.trim());
    } else if doc.changelog_anchor.is_none() && line.trim_end() == CHANGELOG_ANCHOR {
        doc.changelog_anchor = Some(line.trim_end());
    }
}

/// `**Label**: rest` or `**Label:** rest` → `rest`.
fn strip_label<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let rest = line.strip_prefix("**")?;
    let rest = rest.strip_prefix(label)?;
    rest.strip_prefix("**:")
        .or_else(|| rest.strip_prefix(":**"))
}

/// The lines of `text`, each without its line ending (every `\n` and `\r`
/// at its end), found with one `memchr` pass: what `split_inclusive('\n')`
/// and `trim_end_matches(['\n', '\r'])` give, without decoding characters.
pub(crate) fn lines(text: &str) -> Lines<'_> {
    Lines {
        text,
        start: 0,
        ends: memchr::memchr_iter(b'\n', text.as_bytes()),
    }
}

/// The iterator of [`lines`], which knows where the next line starts.
pub(crate) struct Lines<'a> {
    text: &'a str,
    start: usize,
    ends: memchr::Memchr<'a>,
}

impl Lines<'_> {
    /// The byte offset in the text of the next line.
    pub(crate) fn position(&self) -> usize {
        self.start
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.start >= self.text.len() {
            return None;
        }
        let end = self.ends.next().map_or(self.text.len(), |nl| nl + 1);
        let raw = &self.text[self.start..end];
        self.start = end;
        Some(raw.trim_end_matches(['\n', '\r']))
    }
}

/// Whether `b` is an ASCII byte `char::is_whitespace` accepts (which,
/// unlike `u8::is_ascii_whitespace`, includes the vertical tab).
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r')
}

/// `s.trim_start()`, with ASCII whitespace skipped byte by byte; only a
/// non-ASCII first character is decoded.
fn trim_start(s: &str) -> &str {
    let skip = s.bytes().take_while(|&b| is_ascii_space(b)).count();
    let rest = &s[skip..];
    if rest.as_bytes().first().is_some_and(|b| !b.is_ascii()) {
        rest.trim_start()
    } else {
        rest
    }
}

/// `s.trim()`, with ASCII whitespace stripped byte by byte at both ends;
/// only a non-ASCII character at an end is decoded. Like `str::trim`, a
/// string of whitespace only gives the empty slice at its start (an empty
/// cell's finding points there).
fn trim(s: &str) -> &str {
    let bytes = s.as_bytes();
    let start = bytes.iter().take_while(|&&b| is_ascii_space(b)).count();
    let end = bytes.len()
        - bytes[start..]
            .iter()
            .rev()
            .take_while(|&&b| is_ascii_space(b))
            .count();
    let rest = &s[start..end];
    let rest = match (rest.as_bytes().first(), rest.as_bytes().last()) {
        (Some(a), Some(z)) if !a.is_ascii() || !z.is_ascii() => rest.trim(),
        _ => rest,
    };
    if rest.is_empty() { &s[..0] } else { rest }
}

/// Splits a table line into trimmed cells. `\|` does not split.
pub fn split_row(line: &str) -> Row<'_> {
    let mut row = Row {
        line,
        cells: Vec::with_capacity(16),
    };
    split_row_into(line, &mut row);
    row
}

/// [`split_row`] into `row`, reusing its cell vector.
fn split_row_into<'a>(line: &'a str, row: &mut Row<'a>) {
    row.line = line;
    row.cells.clear();
    let body = trim(line);
    let body = body.strip_prefix('|').unwrap_or(body);
    let bytes = body.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while let Some(found) = memchr::memchr2(b'|', b'\\', &bytes[i.min(bytes.len())..]) {
        i += found;
        if bytes[i] == b'\\' {
            i += 2;
        } else {
            row.cells.push(trim(&body[start..i]));
            start = i + 1;
            i += 1;
        }
    }
    let tail = trim(&body[start.min(body.len())..]);
    if !tail.is_empty() {
        row.cells.push(tail);
    }
}

/// The columns only the task table has; `ID`, `Title`, `Owner` and
/// `Notes` head other tables of the sprint template too (the completed
/// tasks: `| ID | Title | Completion Date | Owner | Notes |`).
const TASK_ONLY: [Column; 8] = [
    Column::Priority,
    Column::Points,
    Column::Status,
    Column::Reviewed,
    Column::PrLink,
    Column::Eta,
    Column::DependsOn,
    Column::SprintId,
];

/// A header carrying the task columns: `ID`, `Title` and at least half of
/// the columns only the task table has. A task header that lost a few
/// columns is still one (and TASK003 says which are missing); the sprint
/// template's other tables are not.
pub fn is_task_header(row: &Row<'_>) -> bool {
    let has = |name: &str| row.cells.iter().any(|c| eq_words(c, name));
    // A cell is trimmed, so it is the one word `ID` exactly when it is
    // `ID` in any case: the test every task row fails, made without
    // splitting any cell into words.
    row.cells.iter().any(|c| c.eq_ignore_ascii_case("ID"))
        && has("Title")
        && TASK_ONLY.iter().filter(|c| has(c.name())).count() * 2 >= TASK_ONLY.len()
}

/// A line whose first cell is a task ID.
fn is_task_row(row: &Row<'_>) -> bool {
    row.cells.first().is_some_and(|c| is_task_id(c))
}

/// `T-` followed by digits.
pub fn is_task_id(s: &str) -> bool {
    s.strip_prefix("T-")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

fn is_separator(row: &Row<'_>) -> bool {
    !row.cells.is_empty()
        && row.cells.iter().all(|c| {
            let c = c.strip_prefix(':').unwrap_or(c);
            let c = c.strip_suffix(':').unwrap_or(c);
            !c.is_empty() && c.bytes().all(|b| b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../tests/fixtures/sample-repo/planning/TASK.md");

    #[test]
    fn parses_the_sample() {
        let doc = parse(SAMPLE);
        assert_eq!(doc.sprint_id, Some("Sprint-07-2025"));
        assert!(doc.status_summary.unwrap().starts_with("✅ Completed: 2"));
        assert_eq!(doc.changelog_anchor, Some(CHANGELOG_ANCHOR));
        assert_eq!(doc.tables.len(), 1);
        let table = &doc.tables[0];
        assert_eq!(table.header.cells.len(), 13);
        assert!(table.separator.is_some());
        assert_eq!(table.rows.len(), 8);
        assert_eq!(table.rows[1].cells[0], "T-002");
        assert_eq!(table.rows[1].cells[12], "Awaiting second reviewer");
    }

    #[test]
    fn cells_keep_escaped_pipes_and_truncated_rows_are_short() {
        assert_eq!(split_row(r"| a \| b | c |").cells, [r"a \| b", "c"]);
        assert_eq!(split_row("| a | b | ").cells, ["a", "b"]);
        assert_eq!(split_row("| a | | c").cells, ["a", "", "c"]);
        assert_eq!(split_row("|").cells, Vec::<&str>::new());
        // A blank cell is the empty slice where the blank starts, as
        // `str::trim` gives it, whatever the blank is made of.
        let line = "| a |\x0C\x0B| \u{A0} |\t\u{3000}| b |";
        let row = split_row(line);
        let starts: Vec<usize> = row
            .cells
            .iter()
            .map(|c| c.as_ptr() as usize - line.as_ptr() as usize)
            .collect();
        assert_eq!(row.cells, ["a", "", "", "", "b"]);
        assert_eq!(starts, [2, 5, 8, 13, 19]);
    }

    const TASK_HEADER: &str = "| ID | Title | Priority | Points | Status | Reviewed |";

    #[test]
    fn repeated_header_starts_a_new_table_and_fences_hide_tables() {
        let text = format!(
            "{TASK_HEADER}\n|---|---|\n| T-1 | a |\n{TASK_HEADER}\n| T-2 | b |\n\n```\n{TASK_HEADER}\n```\n"
        );
        let doc = parse(&text);
        assert_eq!(doc.tables.len(), 2);
        assert!(doc.tables[1].missing_separator);
        assert_eq!(doc.tables[1].rows[0].cells, ["T-2", "b"]);
    }

    #[test]
    fn other_tables_are_content_and_stray_task_lines_are_kept() {
        let text = format!(
            "{TASK_HEADER}\n|---|---|---|---|---|---|\n| T-1 | a | Low | 1 | Done | 🚀 |\n\n\
             | ID | Title | Completion Date | Owner | Notes |\n|---|---|---|---|---|\n\
             | T-000 | Setup CI | 2025-07-04 | @devA | - |\n| T-001 | cut |\n\n\
             | Metric | Value |\n| T-998 | not a table |\n\n| T-999 | broken\n"
        );
        let doc = parse(&text);
        assert_eq!(doc.tables.len(), 1);
        assert_eq!(doc.tables[0].rows.len(), 1);
        assert_eq!(doc.other_tables.len(), 1);
        assert_eq!(doc.other_tables[0].cells[2], "Completion Date");
        let stray: Vec<&str> = doc.stray_rows.iter().map(|r| r.cells[0]).collect();
        assert_eq!(stray, ["T-001", "T-998", "T-999"]);
    }

    #[test]
    fn a_header_is_the_task_header_only_with_the_task_columns() {
        assert!(is_task_header(&split_row(TASK_HEADER)));
        assert!(is_task_header(&split_row(
            "| ID | Title | Description | Priority | Points | Status | Reviewed | Owner | PR Link | ETA | Depends On | Sprint ID | Notes |"
        )));
        assert!(!is_task_header(&split_row(
            "| ID | Title | Completion Date | Owner | Notes |"
        )));
        assert!(!is_task_header(&split_row(
            "| ID | Title | Status | Owner |"
        )));
    }
}
