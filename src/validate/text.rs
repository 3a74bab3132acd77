//! File-level checks every validator shares: the file is not empty, is
//! UTF-8 without NUL bytes, and carries no git merge-conflict markers.
//!
//! These are the corruption classes a regular expression over table rows
//! misses: a bot that writes half a file, a merge that leaves markers, a
//! transfer that mangles bytes.

use crate::validate::diagnostic::{Diagnostic, Source, Span};
use crate::validate::rules::Rule;

/// At most this many findings of one kind per file; the rest are counted.
const MAX_REPEATS: usize = 10;

/// Decodes `bytes` and runs the file-level checks, pushing findings to
/// `out`. Returns the source when it is text (even if a check failed, so
/// renderers can quote it), `None` when it is not UTF-8. The source owns
/// `bytes`: the text is not copied.
pub(crate) fn decode(path: &str, bytes: Vec<u8>, out: &mut Vec<Diagnostic>) -> Option<Source> {
    if bytes.is_empty() || bytes == b"\xEF\xBB\xBF" {
        out.push(empty(path));
        return None;
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            out.push(not_utf8(path, e.as_bytes()));
            return None;
        }
    };
    let source = Source::new(path, text);
    check_nul(&source, out);
    check_conflict_markers(&source, out);
    whitespace_only(path, source, out)
}

/// [`decode`] for text already found [`plain`] piece by piece (by the
/// reading threads of a large file): the NUL and conflict-marker checks
/// would find nothing, so they are not run again.
pub(crate) fn decode_plain(path: &str, text: String, out: &mut Vec<Diagnostic>) -> Option<Source> {
    if text.is_empty() || text == "\u{feff}" {
        out.push(empty(path));
        return None;
    }
    whitespace_only(path, Source::new(path, text), out)
}

/// True when `piece` is UTF-8 with no NUL byte and no line the
/// conflict-marker check would report. A file cut into pieces that each
/// start a line (the first at the file's start, without a byte-order
/// mark) and each end just after a `\n` (but the last) is plain exactly
/// when every piece is.
pub(crate) fn plain(piece: &[u8]) -> bool {
    if memchr::memchr(0, piece).is_some() {
        return false;
    }
    let Ok(text) = std::str::from_utf8(piece) else {
        return false;
    };
    !text
        .split_inclusive('\n')
        .any(|line| line_marker(line).is_some())
}

/// FILE001 for an empty file (or one holding only a byte-order mark).
fn empty(path: &str) -> Diagnostic {
    Diagnostic::new(Rule::FileEmpty, path, "the file is empty")
        .with_help("a bot probably truncated it; restore it with `lifeline restore latest-valid`")
}

/// The whitespace-only check that ends [`decode`].
fn whitespace_only(path: &str, source: Source, out: &mut Vec<Diagnostic>) -> Option<Source> {
    if source.body().trim().is_empty() {
        out.push(
            Diagnostic::new(Rule::FileEmpty, path, "the file holds only whitespace").with_help(
                "a bot probably truncated it; restore it with `lifeline restore latest-valid`",
            ),
        );
    }
    Some(source)
}

/// FILE002: the first invalid sequence, located by byte offset and by the
/// line/column of the valid text before it; the count of the others.
fn not_utf8(path: &str, bytes: &[u8]) -> Diagnostic {
    let mut offsets = Vec::new();
    let mut rest = bytes;
    let mut base = 0;
    while let Err(e) = std::str::from_utf8(rest) {
        let at = base + e.valid_up_to();
        offsets.push(at);
        let skip = e.valid_up_to() + e.error_len().unwrap_or(rest.len() - e.valid_up_to());
        base += skip;
        rest = &rest[skip..];
    }
    let first = offsets[0];
    // The prefix before the first bad byte is valid UTF-8 by construction.
    let prefix = String::from_utf8_lossy(&bytes[..first]).into_owned();
    let bad_len = std::str::from_utf8(&bytes[first..])
        .err()
        .and_then(|e| e.error_len())
        .unwrap_or(bytes.len() - first);
    let shown: Vec<String> = bytes[first..first + bad_len.min(4)]
        .iter()
        .map(|b| format!("0x{b:02X}"))
        .collect();
    let probe = Source::new(path, prefix);
    let (line, column) = probe.line_col(first);
    let span = Span {
        byte_offset: first,
        byte_len: bad_len,
        line,
        column,
        end_line: line,
        end_column: column + 1,
    };
    let more = match offsets.len() {
        1 => String::new(),
        n => format!(" ({} invalid sequences in all)", n),
    };
    Diagnostic::new(
        Rule::FileNotUtf8,
        path,
        format!(
            "invalid UTF-8 at byte offset {first}: {}{more}",
            shown.join(" ")
        ),
    )
    .with_span(span)
    .with_help("the file was corrupted in transit or by an encoding conversion; restore it with `lifeline restore latest-valid`")
}

/// FILE003: NUL bytes, each with its byte offset.
fn check_nul(source: &Source, out: &mut Vec<Diagnostic>) {
    let nuls: Vec<usize> = memchr::memchr_iter(0, source.text.as_bytes()).collect();
    for (n, &at) in nuls.iter().enumerate().take(MAX_REPEATS) {
        let mut d = source
            .diag(
                Rule::FileNulByte,
                at,
                at + 1,
                format!("NUL byte at byte offset {at}"),
            )
            .with_label("NUL byte");
        if n == 0 {
            d = d.with_help("text files never contain NUL bytes: the file is corrupt; restore it with `lifeline restore latest-valid`");
        }
        if n == MAX_REPEATS - 1 && nuls.len() > MAX_REPEATS {
            d = d.with_note(
                format!("{} more NUL bytes not shown", nuls.len() - MAX_REPEATS),
                None,
            );
        }
        out.push(d);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Marker {
    Ours,
    Base,
    Separator,
    Theirs,
}

/// The marker `raw` (a line with its terminator) is, if any: only a line
/// that starts with a marker's character is looked at further.
fn line_marker(raw: &str) -> Option<Marker> {
    if !matches!(raw.as_bytes().first(), Some(b'<' | b'|' | b'=' | b'>')) {
        return None;
    }
    marker(raw.trim_end_matches(['\n', '\r']))
}

fn marker(line: &str) -> Option<Marker> {
    let is = |prefix: &str| {
        line.starts_with(prefix)
            && line[prefix.len()..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t')
    };
    if is("<<<<<<<") {
        Some(Marker::Ours)
    } else if is("|||||||") {
        Some(Marker::Base)
    } else if line == "=======" || line.starts_with("======= ") {
        Some(Marker::Separator)
    } else if is(">>>>>>>") {
        Some(Marker::Theirs)
    } else {
        None
    }
}

/// FILE004: one finding per conflict, at its `<<<<<<<` line, with notes at
/// the separator and the closing marker. `=======` alone (a Markdown
/// heading underline, say) is not a marker; a lone `<<<<<<<` or `>>>>>>>`
/// is.
fn check_conflict_markers(source: &Source, out: &mut Vec<Diagnostic>) {
    // The open conflict: its `<<<<<<<` line and the markers seen since.
    let mut open: Option<(usize, usize, Vec<MarkerLine>)> = None;
    let mut found = 0;
    let body = source.body();
    let bytes = body.as_bytes();
    // Line ends found with one `memchr` pass; only a line that starts with
    // a marker's character is looked at further.
    let ends = memchr::memchr_iter(b'\n', bytes)
        .map(|nl| nl + 1)
        .chain((!body.ends_with('\n')).then_some(bytes.len()));
    let mut next = 0;
    for line_end in ends {
        let raw = &body[next..line_end];
        let start = source.bom + next;
        next = line_end;
        let Some(kind) = line_marker(raw) else {
            continue;
        };
        let line = raw.trim_end_matches(['\n', '\r']);
        let end = start + line.len();
        match (kind, open.as_mut()) {
            (Marker::Ours, None) => open = Some((start, end, Vec::new())),
            (Marker::Ours, Some(_)) => {
                // A second opening marker before the first closed: report
                // the first as unterminated and start over.
                let (s, e, inner) = open.take().expect("open");
                found += 1;
                out.push(conflict(source, s, e, &inner, false));
                open = Some((start, end, Vec::new()));
            }
            (Marker::Base | Marker::Separator, Some((_, _, inner))) => {
                inner.push((kind, start, end))
            }
            (Marker::Base | Marker::Separator, None) => {}
            (Marker::Theirs, Some(_)) => {
                let (s, e, mut inner) = open.take().expect("open");
                inner.push((kind, start, end));
                found += 1;
                out.push(conflict(source, s, e, &inner, true));
            }
            (Marker::Theirs, None) => {
                found += 1;
                out.push(
                    source
                        .diag(
                            Rule::FileConflictMarker,
                            start,
                            end,
                            "git merge-conflict marker `>>>>>>>` without its opening `<<<<<<<`",
                        )
                        .with_label("conflict marker")
                        .with_help(conflict_help()),
                );
            }
        }
        if found >= MAX_REPEATS {
            return;
        }
    }
    if let Some((s, e, inner)) = open {
        out.push(conflict(source, s, e, &inner, false));
    }
}

/// A marker and the byte range of its line.
type MarkerLine = (Marker, usize, usize);

fn conflict(
    source: &Source,
    start: usize,
    end: usize,
    inner: &[MarkerLine],
    closed: bool,
) -> Diagnostic {
    let message = if closed {
        "unresolved git merge conflict"
    } else {
        "git merge-conflict marker `<<<<<<<` without its closing `>>>>>>>`"
    };
    let mut d = source
        .diag(Rule::FileConflictMarker, start, end, message)
        .with_label("conflict starts here")
        .with_help(conflict_help());
    for &(kind, s, e) in inner {
        let what = match kind {
            Marker::Base => "common ancestor section starts here",
            Marker::Separator => "their side starts here",
            Marker::Theirs => "conflict ends here",
            Marker::Ours => continue,
        };
        d = d.with_note(what, Some(source.span(s, e)));
    }
    d
}

fn conflict_help() -> &'static str {
    "keep one side and delete the marker lines, or restore the file with `lifeline restore latest-valid`"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        decode("f.md", bytes.to_vec(), &mut out);
        out
    }

    fn at(d: &Diagnostic) -> (&str, usize, usize) {
        let s = d.span.expect("span");
        (d.code, s.line, s.column)
    }

    #[test]
    fn empty_and_blank_files() {
        assert_eq!(run(b"")[0].code, "FILE005");
        assert_eq!(run(b"\xEF\xBB\xBF")[0].code, "FILE005");
        assert_eq!(run(b" \n\r\n")[0].code, "FILE005");
        assert!(run(b"x\n").is_empty());
    }

    #[test]
    fn invalid_utf8_reports_byte_offset_and_position() {
        let d = run(b"ab\ncd\xFF\xFEz\xC3");
        assert_eq!(d.len(), 1);
        assert_eq!(at(&d[0]), ("FILE002", 2, 3));
        assert_eq!(d[0].span.unwrap().byte_offset, 5);
        assert_eq!(
            d[0].message,
            "invalid UTF-8 at byte offset 5: 0xFF (3 invalid sequences in all)"
        );
    }

    #[test]
    fn nul_bytes_are_reported_each() {
        let d = run(b"a\0b\n\0");
        assert_eq!(d.len(), 2);
        assert_eq!(at(&d[0]), ("FILE003", 1, 2));
        assert_eq!(at(&d[1]), ("FILE003", 2, 1));
        assert_eq!(d[1].message, "NUL byte at byte offset 4");
    }

    #[test]
    fn conflict_markers() {
        let d = run(b"a\n<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> other\nb\n");
        assert_eq!(d.len(), 1);
        assert_eq!(at(&d[0]), ("FILE004", 2, 1));
        let notes: Vec<usize> = d[0].notes.iter().map(|n| n.span.unwrap().line).collect();
        assert_eq!(notes, [4, 6]);
        // A setext heading underline is not a conflict.
        assert!(run(b"Title\n=======\n").is_empty());
        // Lone markers are.
        assert_eq!(at(&run(b"x\n>>>>>>> b\n")[0]), ("FILE004", 2, 1));
        assert_eq!(at(&run(b"<<<<<<< a\nx\n")[0]), ("FILE004", 1, 1));
        // With a BOM and CRLF.
        let d = run(b"\xEF\xBB\xBF<<<<<<< a\r\nx\r\n=======\r\ny\r\n>>>>>>> b\r\n");
        assert_eq!(at(&d[0]), ("FILE004", 1, 1));
        assert_eq!(d[0].span.unwrap().end_column, 10);
    }
}
