//! The generic `json` and `yaml` validators: the file must parse.
//!
//! Also the position helpers the `sprint-config` and `labels` validators
//! share: turning a serde_json error's line/column, or a saphyr marker's
//! character index, into byte offsets in the file.

use saphyr::{LoadableYamlNode, ScanError, Yaml};

use crate::validate::diagnostic::{Diagnostic, Source};
use crate::validate::rules::Rule;

/// JSON001: the file must be one JSON value.
pub(crate) fn check_json(src: &Source, out: &mut Vec<Diagnostic>) {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(src.body()) {
        out.push(json_error(src, &e, Rule::JsonSyntax));
    }
}

/// YAML001: the file must be YAML (any number of documents).
pub(crate) fn check_yaml(src: &Source, out: &mut Vec<Diagnostic>) {
    if let Err(e) = Yaml::load_from_str(src.body()) {
        out.push(yaml_error(src, &e, Rule::YamlSyntax));
    }
}

/// A finding of `rule` for a serde_json parse error, at the position the
/// error names, with a help suited to the kind of error.
pub(crate) fn json_error(src: &Source, e: &serde_json::Error, rule: Rule) -> Diagnostic {
    let body = src.body();
    let at = json_error_offset(body, e);
    let end = body[at..]
        .chars()
        .next()
        .filter(|c| !matches!(c, '\n' | '\r'));
    let end = at + end.map_or(0, char::len_utf8);
    let what = json_error_message(e);
    let restore = format!(
        "or restore the last valid version with `lifeline restore latest-valid --only {}`",
        src.path
    );
    let mut d = src.diag(
        rule,
        at + src.bom,
        end + src.bom,
        format!("invalid JSON: {what}"),
    );
    let help = if e.is_eof() {
        d = d.with_label("the file ends here");
        format!(
            "the file ends in the middle of a value: a bot probably truncated it; complete it, {restore}"
        )
    } else if let Some(closer) = missing_comma(&what) {
        d = d.with_label(format!("expected `,` or `{closer}` before this"));
        match previous_token_line(src, at) {
            Some(line) => format!(
                "add a `,` at the end of line {line} (or close the {} with `{closer}`), {restore}",
                if closer == '}' { "object" } else { "array" }
            ),
            None => format!("add the missing `,`, {restore}"),
        }
    } else {
        d = d.with_label(what.clone());
        format!("fix the JSON at this position, {restore}")
    };
    d.with_help(help)
}

/// serde_json's message without its " at line L column C" suffix.
fn json_error_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

/// `}` or `]` when the error is a missing comma between members/elements.
fn missing_comma(message: &str) -> Option<char> {
    match message {
        "expected `,` or `}`" => Some('}'),
        "expected `,` or `]`" => Some(']'),
        _ => None,
    }
}

/// The 1-based line of the last non-whitespace character before body
/// offset `at`.
fn previous_token_line(src: &Source, at: usize) -> Option<usize> {
    let body = src.body();
    let before = body[..at].trim_end();
    if before.is_empty() {
        return None;
    }
    Some(src.line_col(src.bom + before.len() - 1).0)
}

/// The body byte offset serde_json's error points at. serde_json counts
/// lines from 1 and columns in bytes from 1 (0 when the error is right
/// after a line break).
pub(crate) fn json_error_offset(body: &str, e: &serde_json::Error) -> usize {
    let line_start = nth_line_start(body, e.line());
    let at = (line_start + e.column().saturating_sub(1)).min(body.len());
    floor_char_boundary(body, at)
}

/// The byte offset where 1-based `line` starts in `text` (the end of the
/// text when there are fewer lines).
fn nth_line_start(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line - 2)
        .map_or(text.len(), |(i, _)| i + 1)
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A finding of `rule` for a saphyr scan error, at its marker.
pub(crate) fn yaml_error(src: &Source, e: &ScanError, rule: Rule) -> Diagnostic {
    let offsets = CharOffsets::new(src.body());
    let at = offsets.byte(e.marker().index());
    let body = src.body();
    let end = body[at..]
        .chars()
        .next()
        .filter(|c| !matches!(c, '\n' | '\r'));
    let end = at + end.map_or(0, char::len_utf8);
    let info = e.info();
    let help = if info.contains("duplicated key") {
        "a key may appear only once in a mapping: remove or rename one of them".to_string()
    } else if info.contains("tab") {
        "YAML indentation must use spaces, not tabs".to_string()
    } else {
        format!(
            "fix the YAML at this position (check the indentation and quoting), or restore the last valid version with `lifeline restore latest-valid --only {}`",
            src.path
        )
    };
    src.diag(
        rule,
        at + src.bom,
        end + src.bom,
        format!("invalid YAML: {info}"),
    )
    .with_label(info.to_string())
    .with_help(help)
}

/// Maps saphyr's character indices (it counts `\r` and every other
/// character as one) to byte offsets in the text it parsed.
pub(crate) struct CharOffsets {
    /// Byte offset of each character, then the text's length.
    starts: Vec<usize>,
}

impl CharOffsets {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        starts.push(text.len());
        CharOffsets { starts }
    }

    /// The byte offset of character `index` (clamped to the end).
    pub(crate) fn byte(&self, index: usize) -> usize {
        self.starts
            .get(index)
            .copied()
            .unwrap_or_else(|| self.starts.last().copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::diagnostic::Level;

    fn json(text: &str) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        check_json(&Source::new("x.json", text.to_string()), &mut out);
        out
    }

    fn yaml(text: &str) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        check_yaml(&Source::new("x.yml", text.to_string()), &mut out);
        out
    }

    fn at(d: &Diagnostic) -> (&str, Level, usize, usize) {
        let span = d.span.expect("a span");
        (d.code, d.level, span.line, span.column)
    }

    #[test]
    fn valid_json_and_yaml_pass() {
        assert!(json("{\"a\": [1, 2, {\"b\": null}]}\n").is_empty());
        assert!(json("\u{feff}{\r\n  \"a\": \"é\"\r\n}\r\n").is_empty());
        assert!(yaml("a: 1\nb: [x, y]\n---\n- z\n").is_empty());
        assert!(yaml("\u{feff}a: 1\r\nb:\r\n  - x\r\n").is_empty());
        assert!(yaml("# only a comment\n").is_empty());
    }

    #[test]
    fn json001_missing_comma() {
        let out = json("{\n  \"a\": 1\n  \"b\": 2\n}\n");
        assert_eq!(out.len(), 1);
        assert_eq!(at(&out[0]), ("JSON001", Level::Error, 3, 3));
        assert_eq!(out[0].message, "invalid JSON: expected `,` or `}`");
        assert!(
            out[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("add a `,` at the end of line 2")
        );
    }

    #[test]
    fn json001_position_counts_characters_after_a_bom() {
        // serde_json counts the column in bytes; the span counts characters.
        let out = json("\u{feff}{\"é\": 1 \"b\": 2}");
        assert_eq!(at(&out[0]), ("JSON001", Level::Error, 1, 9));
        let span = out[0].span.unwrap();
        assert_eq!(
            &"\u{feff}{\"é\": 1 \"b\": 2}"[span.byte_offset..][..1],
            "\""
        );
    }

    #[test]
    fn json001_truncated_file() {
        let out = json("{\n  \"a\": [1,\n");
        assert_eq!(at(&out[0]), ("JSON001", Level::Error, 3, 1));
        assert!(
            out[0]
                .message
                .starts_with("invalid JSON: EOF while parsing")
        );
        assert!(out[0].help.as_deref().unwrap().contains("truncated"));
    }

    #[test]
    fn yaml001_bad_indentation() {
        let out = yaml("a:\n  b: 1\n c: 2\n");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, "YAML001");
        assert_eq!(out[0].level, Level::Error);
        let span = out[0].span.unwrap();
        assert_eq!((span.line, span.column), (3, 2));
    }

    #[test]
    fn yaml001_unclosed_flow_after_bom_and_crlf() {
        let text = "\u{feff}# é\r\nkey: [a, b\r\n";
        let out = yaml(text);
        assert_eq!(out.len(), 1);
        assert_eq!(at(&out[0]), ("YAML001", Level::Error, 3, 1));
    }

    /// saphyr's character index and its line/column agree with the span
    /// computed from the index, with a BOM, CRLF and non-ASCII text.
    #[test]
    fn yaml_marker_index_agrees_with_line_and_column() {
        for text in [
            "a:\n  b: 1\n c: 2\n",
            "\u{feff}# é ✔️\r\nkey: [a, b\r\n",
            "# ééé\r\n- name: \"ü\"\r\n  x: [1\r\n  y: 2\r\n",
            "\u{feff}k: 'é'\r\nk: 2\r\n",
            "a: \"é\tb\" c\n",
        ] {
            let src = Source::new("x.yml", text.to_string());
            let e = Yaml::load_from_str(src.body()).unwrap_err();
            let d = yaml_error(&src, &e, Rule::YamlSyntax);
            let span = d.span.unwrap();
            assert_eq!(
                (span.line, span.column),
                (e.marker().line(), e.marker().col() + 1),
                "{text:?}: {}",
                e.info()
            );
        }
    }

    #[test]
    fn yaml001_duplicate_key() {
        let out = yaml("a: 1\nb: 2\na: 3\n");
        assert_eq!(at(&out[0]), ("YAML001", Level::Error, 3, 1));
        assert_eq!(out[0].message, "invalid YAML: duplicated key in mapping");
    }

    #[test]
    fn char_offsets_map_characters_to_bytes() {
        let offsets = CharOffsets::new("aé\r\nb");
        assert_eq!(offsets.byte(0), 0);
        assert_eq!(offsets.byte(2), 3);
        assert_eq!(offsets.byte(4), 5);
        assert_eq!(offsets.byte(99), 6);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let src = Source::new("x", text);
            let mut out = Vec::new();
            check_json(&src, &mut out);
            check_yaml(&src, &mut out);
        }

        #[test]
        fn never_panics_on_structured_noise(text in "[\u{feff}{}\\[\\]:,\"'#&*!|>\\- \t\r\nab1é]*") {
            let src = Source::new("x", text);
            let mut out = Vec::new();
            check_json(&src, &mut out);
            check_yaml(&src, &mut out);
        }
    }
}
