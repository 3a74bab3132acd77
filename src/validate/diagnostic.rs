//! Findings about a file: what is wrong, where, and how to fix it.
//!
//! A [`Diagnostic`] carries a stable rule code (see [`crate::validate::rules`]), the
//! level the rule gives it, the file, an optional primary span, a help text
//! and notes (a duplicate points at the later occurrence and notes the
//! first). Spans are byte ranges into the file as it is on disk, with the
//! 1-based line and column (in characters) already worked out, so every
//! renderer prints the same position.

use std::sync::OnceLock;

use serde::Serialize;

use crate::validate::rules::Rule;

/// How bad a finding is. Errors make a file invalid; warnings do not
/// (unless `--deny-warnings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// A position in a file: byte range on disk and the 1-based line/column
/// (columns count characters) of both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Byte offset of the start in the file's bytes (a BOM counts).
    pub byte_offset: usize,
    /// Length in bytes.
    pub byte_len: usize,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// A secondary message, optionally pointing somewhere in the same file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub span: Option<Span>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub level: Level,
    /// Repo-relative path (or the path as given when outside the root).
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub span: Option<Span>,
    /// Text printed under the caret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

impl Diagnostic {
    /// A finding of `rule` about `path`, without a position.
    pub fn new(rule: Rule, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code: rule.code(),
            level: rule.level(),
            path: path.into(),
            message: message.into(),
            span: None,
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn with_span(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, message: impl Into<String>, span: Option<Span>) -> Self {
        self.notes.push(Note {
            message: message.into(),
            span,
        });
        self
    }

    /// Sort key: file, then position, then code.
    pub fn sort_key(&self) -> (&str, usize, usize, &'static str) {
        let (line, column) = self.span.map_or((0, 0), |s| (s.line, s.column));
        (&self.path, line, column, self.code)
    }
}

/// Below this byte offset [`Source::line_col`] counts lines itself until
/// the line index is built; small, so that many findings near the top of a
/// file cost little more than with the index.
const DIRECT_LINE_COL: usize = 16 * 1024;

/// The text of a file being validated, with the bookkeeping every
/// validator needs to turn byte ranges into [`Span`]s.
#[derive(Debug, Clone)]
pub struct Source {
    /// Repo-relative path used in findings.
    pub path: String,
    /// The whole file, decoded; a leading BOM is kept so offsets match the
    /// bytes on disk.
    pub text: String,
    /// Length of the UTF-8 byte-order mark at the start (0 or 3).
    pub bom: usize,
    /// Byte offset of the start of each line, worked out the first time a
    /// position is asked for: a file without findings never needs it.
    line_starts: OnceLock<Vec<usize>>,
}

impl Source {
    pub fn new(path: impl Into<String>, text: String) -> Self {
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        Source {
            path: path.into(),
            text,
            bom,
            line_starts: OnceLock::new(),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', self.text.as_bytes()).map(|i| i + 1))
                .collect()
        })
    }

    /// The text after the BOM; offsets into it are `offset + self.bom` in
    /// the file.
    pub fn body(&self) -> &str {
        &self.text[self.bom..]
    }

    /// 1-based line and character column of file byte offset `at`; the BOM
    /// is not a column.
    pub fn line_col(&self, at: usize) -> (usize, usize) {
        let at = crate::fs::paths::floor_char_boundary(&self.text, at.min(self.text.len()));
        let (line_idx, line_start) = match self.line_starts.get() {
            // A position near the top of a file with no index yet (the
            // sprint ID a valid TASK.md declares) is found by counting
            // the line ends before it: a large file then never builds its
            // line index when nothing else needs a position.
            None if at <= DIRECT_LINE_COL => {
                let before = &self.text.as_bytes()[..at];
                (
                    memchr::memchr_iter(b'\n', before).count(),
                    memchr::memrchr(b'\n', before).map_or(0, |nl| nl + 1),
                )
            }
            _ => {
                let line_starts = self.line_starts();
                let line_idx = match line_starts.binary_search(&at) {
                    Ok(i) => i,
                    Err(i) => i - 1,
                };
                (line_idx, line_starts[line_idx])
            }
        };
        let start = line_start.max(if line_idx == 0 { self.bom } else { 0 });
        let column = self.text[start..at.max(start)].chars().count() + 1;
        (line_idx + 1, column)
    }

    /// The span of file bytes `start..end`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let end = end.max(start).min(self.text.len());
        let start = start.min(end);
        let (line, column) = self.line_col(start);
        let (end_line, end_column) = self.line_col(end);
        Span {
            byte_offset: start,
            byte_len: end - start,
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// The span of `part`, which must be a subslice of `self.text`.
    pub fn span_of(&self, part: &str) -> Span {
        let start = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        debug_assert!(start + part.len() <= self.text.len(), "not a subslice");
        self.span(start, start + part.len())
    }

    /// A finding of `rule` at file bytes `start..end`.
    pub fn diag(
        &self,
        rule: Rule,
        start: usize,
        end: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(rule, self.path.clone(), message).with_span(self.span(start, end))
    }

    /// A finding of `rule` pointing at `part` (a subslice of `self.text`).
    pub fn diag_at(&self, rule: Rule, part: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(rule, self.path.clone(), message).with_span(self.span_of(part))
    }

    /// Number of lines (a final newline does not start a new line).
    pub fn line_count(&self) -> usize {
        let n = self.line_starts().len();
        if self.text.ends_with('\n') { n - 1 } else { n }
    }

    /// The text of 1-based `line` without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let line_starts = self.line_starts();
        let Some(&start) = line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_skip_the_bom_and_count_characters() {
        let src = Source::new("a.md", "\u{feff}ab\r\n✔️x\n".to_string());
        assert_eq!(src.line_col(3), (1, 1));
        assert_eq!(src.line_col(4), (1, 2));
        let x = src.text.find('x').unwrap();
        let span = src.span(x, x + 1);
        assert_eq!((span.line, span.column, span.end_column), (2, 3, 4));
        assert_eq!(src.line_text(1), "\u{feff}ab");
        assert_eq!(src.line_count(), 2);
        assert_eq!(src.body(), "ab\r\n✔️x\n");
    }

    #[test]
    fn positions_counted_without_the_index_are_the_indexed_ones() {
        let text = format!("\u{feff}ab\r\n✔️x\n\n{}\nend", "| T-1 | é |\n".repeat(2000));
        let direct = Source::new("a.md", text.clone());
        let indexed = Source::new("a.md", text.clone());
        indexed.line_count();
        for at in 0..=text.len() + 1 {
            assert_eq!(direct.line_col(at), indexed.line_col(at), "at {at}");
        }
        // Past the limit the index is built and used.
        assert!(direct.line_starts.get().is_some());
    }

    #[test]
    fn span_of_a_subslice() {
        let src = Source::new("a", "one\ntwo three\n".to_string());
        let three = &src.text[8..13];
        let span = src.span_of(three);
        assert_eq!((span.line, span.column, span.byte_offset), (2, 5, 8));
    }
}
