//! rustc-style diagnostics for a terminal or a log, drawn by
//! `annotate-snippets`:
//!
//! ```text
//! error[TASK011]: duplicate task ID `T-002`
//!  --> planning/TASK.md:7:3
//!   |
//! 6 | | T-002 | Sync | Doing |
//!   |   ----- first defined here
//! 7 | | T-002 | Docs | Done |
//!   |   ^^^^^ used again here
//!   |
//!   = help: give every task its own ID
//! ```
//!
//! A note with a span is drawn as a secondary label in the same snippet;
//! notes without one, and the help, follow as `= note:` / `= help:` lines.
//! A finding without a span (or whose file could not be read as text) gets
//! the header and `--> path` only. After the findings come one summary line
//! per file with findings and a total.

use std::io::{self, Write};

use annotate_snippets::{
    AnnotationKind, Group, Level as SnippetLevel, Origin, Renderer, Snippet,
    normalize_untrusted_str,
};

use crate::validate::Report;
use crate::validate::diagnostic::{Diagnostic, Level, Note, Source, Span};

use super::{counts, plural};

/// Width long source lines are trimmed to when the terminal's is unknown.
pub(crate) const DEFAULT_TERM_WIDTH: usize = annotate_snippets::renderer::DEFAULT_TERM_WIDTH;

/// Writes every finding of `report`, then the summary, to `out`. `color`
/// adds ANSI colours: pass true only on a terminal with `NO_COLOR` unset.
#[cfg(test)]
fn render(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    render_with(report, out, color, DEFAULT_TERM_WIDTH)
}

/// Writes every finding of `report`, then the summary, to `out`, trimming
/// long source lines to `term_width` columns. `color` adds ANSI colours:
/// pass true only on a terminal with `NO_COLOR` unset.
pub(crate) fn render_with(
    report: &Report,
    out: &mut dyn Write,
    color: bool,
    term_width: usize,
) -> io::Result<()> {
    let renderer = renderer(color, term_width);
    for file in &report.files {
        for d in &file.diagnostics {
            let source = file
                .source
                .as_ref()
                .filter(|s| s.path == d.path)
                .or_else(|| report.source(&d.path));
            writeln!(out, "{}\n", draw(&renderer, d, source))?;
        }
    }
    out.write_all(summary(report, color).as_bytes())
}

/// One finding, without a trailing newline. `source` is the text of
/// `d.path`, when it was read.
#[cfg(test)]
fn diagnostic(d: &Diagnostic, source: Option<&Source>, color: bool) -> String {
    draw(&renderer(color, DEFAULT_TERM_WIDTH), d, source)
}

/// The closing lines: `path: 2 errors, 1 warning` for each file with
/// findings, then `validated N files: …`.
pub(crate) fn summary(report: &Report, color: bool) -> String {
    let paint = |style: &str, text: String| {
        if color {
            format!("\x1b[{style}m{text}\x1b[0m")
        } else {
            text
        }
    };
    let mut out = String::new();
    for file in &report.files {
        if let Some(counts) = counts(file.errors, file.warnings) {
            let style = if file.errors > 0 { "1;91" } else { "1;33" };
            out.push_str(&format!(
                "{}: {}\n",
                normalize_untrusted_str(&file.path),
                paint(style, counts)
            ));
        }
    }
    let (errors, warnings) = (report.errors(), report.warnings());
    let outcome = match counts(errors, warnings) {
        Some(counts) if errors > 0 => paint("1;91", counts),
        Some(counts) => paint("1;33", counts),
        None => paint("1;92", "all valid".to_string()),
    };
    out.push_str(&format!(
        "{} {}: {outcome}\n",
        paint("1", "validated".to_string()),
        plural(report.files.len(), "file")
    ));
    out
}

fn renderer(color: bool, term_width: usize) -> Renderer {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.term_width(term_width)
}

fn draw(renderer: &Renderer, d: &Diagnostic, source: Option<&Source>) -> String {
    let level = match d.level {
        Level::Error => SnippetLevel::ERROR,
        Level::Warning => SnippetLevel::WARNING,
    };
    // Messages, labels and paths quote the file; keep its control
    // characters (an escape sequence, a bidi override) off the terminal.
    let clean = normalize_untrusted_str;
    let path = clean(&d.path);
    let mut group = Group::with_title(level.primary_title(clean(&d.message)).id(d.code));
    let excerpt = d
        .span
        .zip(source)
        .and_then(|(span, source)| Excerpt::new(source, span, &d.notes));
    match &excerpt {
        Some(excerpt) => {
            let mut snippet = Snippet::source(excerpt.text)
                .line_start(excerpt.line)
                .path(path.as_str())
                .annotation(
                    AnnotationKind::Primary
                        .span(excerpt.primary.clone())
                        .label(d.label.as_deref().map(clean)),
                );
            for (_, range, note) in &excerpt.notes {
                snippet = snippet.annotation(
                    AnnotationKind::Context
                        .span(range.clone())
                        .label(note.as_str()),
                );
            }
            group = group.element(snippet);
        }
        None => {
            let mut origin = Origin::path(path.as_str());
            if let Some(span) = d.span {
                origin = origin.line(span.line).char_column(span.column);
            }
            group = group.element(origin);
        }
    }
    for (i, note) in d.notes.iter().enumerate() {
        let shown = excerpt
            .as_ref()
            .is_some_and(|e| e.notes.iter().any(|(n, ..)| *n == i));
        if !shown {
            let text = match note.span {
                Some(span) => format!("{} ({path}:{}:{})", note.message, span.line, span.column),
                None => note.message.clone(),
            };
            group = group.element(SnippetLevel::NOTE.message(clean(&text)));
        }
    }
    if let Some(help) = &d.help {
        group = group.element(SnippetLevel::HELP.message(clean(help)));
    }
    renderer.render(&[group])
}

/// The lines of a file that a finding's spans touch, with the spans as
/// ranges into them. The BOM is cut off, so ranges are shifted by it.
struct Excerpt<'a> {
    text: &'a str,
    /// 1-based line number of the excerpt's first line.
    line: usize,
    primary: std::ops::Range<usize>,
    /// Index into the finding's notes, range, message.
    notes: Vec<(usize, std::ops::Range<usize>, String)>,
}

impl<'a> Excerpt<'a> {
    fn new(source: &'a Source, primary: Span, notes: &[Note]) -> Option<Self> {
        let text = source.text.as_str();
        // Past the last line break there is no line to quote: such a span
        // is shown by its position only.
        let quotable = |span: &Span| {
            span.byte_offset < text.len()
                || (span.byte_offset == text.len()
                    && !text.ends_with('\n')
                    && text.len() > source.bom)
        };
        if !quotable(&primary) {
            return None;
        }
        let clamp = |span: Span| {
            let start = floor(text, span.byte_offset.clamp(source.bom, text.len()));
            let mut end = floor(
                text,
                (span.byte_offset + span.byte_len).clamp(start, text.len()),
            );
            // A span that swallows its line break points at the line's end.
            while end > start && matches!(text.as_bytes()[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            start..end
        };
        let primary = clamp(primary);
        let notes: Vec<_> = notes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let span = n.span.filter(quotable)?;
                Some((i, clamp(span), normalize_untrusted_str(&n.message)))
            })
            .collect();
        let lo = notes
            .iter()
            .map(|(_, r, _)| r.start)
            .fold(primary.start, usize::min);
        let hi = notes
            .iter()
            .map(|(_, r, _)| r.end)
            .fold(primary.end, usize::max);
        let first = text[..lo].rfind('\n').map_or(0, |i| i + 1).max(source.bom);
        let mut last = text[hi..].find('\n').map_or(text.len(), |i| hi + i);
        if last > hi && text.as_bytes()[last - 1] == b'\r' {
            last -= 1;
        }
        let shift = |r: std::ops::Range<usize>| r.start - first..r.end - first;
        Some(Excerpt {
            text: &text[first..last],
            line: source.line_col(first).0,
            primary: shift(primary),
            notes: notes
                .into_iter()
                .map(|(i, r, m)| (i, shift(r), m))
                .collect(),
        })
    }
}

fn floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::render::fixture;
    use crate::validate::rules::Rule;

    fn plain(report: &Report) -> String {
        let mut out = Vec::new();
        render(report, &mut out, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_report_reads_like_rustc() {
        assert_eq!(
            plain(&fixture::report()),
            r#"error[TASK015]: unknown status `Doing`
 --> planning/TASK.md:6:18
  |
6 | | T-002 | Sync | Doing |
  |                  ^^^^^ not a status
  |
  = help: use one of Not Started, In Progress, Blocked, Review, Testing, Done

error[TASK011]: duplicate task ID `T-002`
 --> planning/TASK.md:7:3
  |
6 | | T-002 | Sync | Doing |
  |   ----- first defined here
7 | | T-002 | Docs | Done |
  |   ^^^^^ used again here
  |
  = help: give every task its own ID, e.g. the next free one, `T-003`

error[FILE001]: protected file `planning/sprint.config.json` does not exist
--> planning/sprint.config.json
 = help: restore it (`lifeline restore latest-valid --only PATH`)

planning/TASK.md: 2 errors
planning/sprint.config.json: 1 error
validated 3 files: 3 errors
"#
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let report = fixture::report();
        assert!(!plain(&report).contains('\x1b'));
        let mut out = Vec::new();
        render(&report, &mut out, true).unwrap();
        let coloured = String::from_utf8(out).unwrap();
        assert!(
            coloured.contains("\x1b[1m\x1b[91merror[TASK011]"),
            "{coloured}"
        );
        assert!(coloured.ends_with("files: \x1b[1;91m3 errors\x1b[0m\n"));
    }

    #[test]
    fn a_clean_run_says_all_valid() {
        let mut report = fixture::report();
        report.files.retain(|f| f.diagnostics.is_empty());
        assert_eq!(plain(&report), "validated 1 file: all valid\n");
    }

    #[test]
    fn warnings_alone_are_counted_as_warnings() {
        let src = Source::new("planning/TASK.md", fixture::TASK_MD.to_string());
        let d = src
            .diag(Rule::TaskNoOwner, 0, 0, "task `T-001` has no owner")
            .with_note("a task without an owner is easily forgotten", None);
        let report = Report {
            files: vec![fixture::file(
                Some(src),
                "planning/TASK.md",
                crate::config::Validator::TaskMd,
                vec![d],
            )],
        };
        assert_eq!(
            plain(&report),
            "\
warning[TASK019]: task `T-001` has no owner
 --> planning/TASK.md:1:1
  |
1 | # Tasks
  | ^
  |
  = note: a task without an owner is easily forgotten

planning/TASK.md: 1 warning
validated 1 file: 1 warning
"
        );
    }

    #[test]
    fn a_bom_is_not_shown_and_does_not_shift_the_caret() {
        let src = Source::new("a.md", "\u{feff}| ID |\r\n| T-1 |\r\n".to_string());
        let id = src.text.find("ID").unwrap();
        let t1 = src.text.find("T-1").unwrap();
        let d = src
            .diag(Rule::TaskBadId, id, id + 2, "here")
            .with_note("and here", Some(src.span(t1, t1 + 3)));
        assert_eq!(
            diagnostic(&d, Some(&src), false),
            "\
error[TASK010]: here
 --> a.md:1:3
  |
1 | | ID |
  |   ^^
2 | | T-1 |
  |   --- and here"
        );
    }

    #[test]
    fn without_the_text_only_the_position_is_shown() {
        let src = Source::new("a.md", "one\ntwo\n".to_string());
        let d = src
            .diag(Rule::TaskBadId, 4, 7, "bad ID `two`")
            .with_note("first defined here", Some(src.span(0, 3)));
        assert_eq!(
            diagnostic(&d, None, false),
            "\
error[TASK010]: bad ID `two`
--> a.md:2:1
 = note: first defined here (a.md:1:1)"
        );
        // A span after the last line break has no line to quote either.
        let end = src.diag(Rule::FileEmpty, 8, 8, "ends early");
        assert_eq!(
            diagnostic(&end, Some(&src), false),
            "error[FILE005]: ends early\n--> a.md:3:1"
        );
    }

    #[test]
    fn long_lines_are_trimmed_around_the_caret() {
        let text = format!("{}needle{}\n", "word ".repeat(60), " tail".repeat(60));
        let src = Source::new("b.md", text);
        let at = src.text.find("needle").unwrap();
        let d = src.diag(Rule::TaskBadTitle, at, at + 6, "too long");
        let out = diagnostic(&d, Some(&src), false);
        let quoted = out.lines().nth(3).unwrap();
        assert!(
            quoted.starts_with("1 | ...") && quoted.ends_with("..."),
            "{out}"
        );
        assert!(quoted.chars().count() <= DEFAULT_TERM_WIDTH, "{out}");
        assert!(out.starts_with("error[TASK012]: too long\n --> b.md:1:301\n"));
    }

    #[test]
    fn control_characters_from_the_file_cannot_reach_the_terminal() {
        let src = Source::new("a.md", "x\u{1b}[2J\n".to_string());
        let d = src
            .diag(Rule::TaskBadId, 0, 5, "bad ID `x\u{1b}[2J`")
            .with_label("\u{1b}[31m")
            .with_help("not `\u{1b}[2J`")
            .with_note("\u{1b}]8;;", None);
        let out = diagnostic(&d, Some(&src), false);
        assert!(!out.contains('\u{1b}'), "{out}");
    }
}
