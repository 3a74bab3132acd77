//! A parser for `planning/TASK.md`: the header lines lifeline cares about
//! and the task table, as slices of the original text.
//!
//! The parser is total: any input gives a [`TaskDoc`], and every slice in it
//! points into the input, so a validator can turn it into a line and column.
//! It makes one pass over the lines and allocates one vector per row.

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

/// A task table: a header naming `ID` and `Title`, the separator line under
/// it, and the rows up to the first line that is not a table line. A header
/// line repeated inside a table starts a new table.
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
}

impl<'a> TaskDoc<'a> {
    /// Every task row of every table, in order.
    pub fn rows(&self) -> impl Iterator<Item = &Row<'a>> {
        self.tables.iter().flat_map(|t| t.rows.iter())
    }
}

/// The anchor task-sync inserts changelog lines after.
pub const CHANGELOG_ANCHOR: &str = "<!-- changelog-insert-point -->";

/// Parses `text` (without a BOM). Never fails, never panics.
pub fn parse(text: &str) -> TaskDoc<'_> {
    let mut doc = TaskDoc::default();
    let mut fence: Option<&str> = None;
    // True while the lines read belong to the last table.
    let mut in_table = false;
    let mut expect_separator = false;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            in_table = false;
            continue;
        }
        if !trimmed.starts_with('|') {
            in_table = false;
            expect_separator = false;
            scan_header_line(trimmed, &mut doc);
            continue;
        }
        let row = split_row(line);
        if is_task_header(&row) {
            doc.tables.push(Table {
                header: row,
                separator: None,
                missing_separator: false,
                rows: Vec::new(),
            });
            in_table = true;
            expect_separator = true;
            continue;
        }
        if !in_table {
            continue;
        }
        let table = doc.tables.last_mut().expect("in a table");
        if expect_separator {
            expect_separator = false;
            if is_separator(&row) {
                table.separator = Some(row);
                continue;
            }
            table.missing_separator = true;
        }
        table.rows.push(row);
    }
    doc
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

/// Splits a table line into trimmed cells. `\|` does not split.
pub fn split_row(line: &str) -> Row<'_> {
    let body = line.trim();
    let body = body.strip_prefix('|').unwrap_or(body);
    let bytes = body.as_bytes();
    let mut cells = Vec::with_capacity(16);
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'|' => {
                cells.push(body[start..i].trim());
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    let tail = &body[start.min(body.len())..];
    if !tail.trim().is_empty() {
        cells.push(tail.trim());
    }
    Row { line, cells }
}

fn is_task_header(row: &Row<'_>) -> bool {
    let has = |name: &str| row.cells.iter().any(|c| eq_words(c, name));
    has("ID") && has("Title")
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

    const SAMPLE: &str = include_str!("../tests/fixtures/sample-repo/planning/TASK.md");

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
    }

    #[test]
    fn repeated_header_starts_a_new_table_and_fences_hide_tables() {
        let text = "| ID | Title |\n|---|---|\n| T-1 | a |\n| ID | Title |\n| T-2 | b |\n\n```\n| ID | Title |\n```\n";
        let doc = parse(text);
        assert_eq!(doc.tables.len(), 2);
        assert!(doc.tables[1].missing_separator);
        assert_eq!(doc.tables[1].rows[0].cells, ["T-2", "b"]);
    }
}
