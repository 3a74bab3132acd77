//! The `labels` validator for `.github/labels.yml`: a YAML list of
//! `{name, color, description}` mappings, as label-sync reads it.
//!
//! The file is parsed with saphyr's marked API, so every node carries the
//! position it came from. saphyr counts lines from 1, columns from 0 and
//! its index in characters (a `\r` counts as one), relative to the text
//! it was given: the body after any BOM. [`Pos`] turns those indices into
//! byte offsets in the file.

use std::collections::HashMap;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::data::{CharOffsets, yaml_error};
use super::suggest::nearest;
use crate::validate::diagnostic::{Diagnostic, Source};
use crate::validate::rules::Rule;

/// GitHub's limit on a label description, in characters.
const MAX_DESCRIPTION: usize = 100;

const KNOWN_KEYS: [&str; 3] = ["name", "color", "description"];

pub(crate) fn check(src: &Source, out: &mut Vec<Diagnostic>) {
    let docs = match MarkedYaml::load_from_str(src.body()) {
        Ok(docs) => docs,
        Err(e) => {
            out.push(yaml_error(src, &e, Rule::LabelBadYaml));
            return;
        }
    };
    let pos = Pos {
        src,
        offsets: CharOffsets::new(src.body()),
    };
    let Some(root) = docs.first().map(untag) else {
        out.push(no_labels(&pos, None));
        return;
    };
    if let Some(second) = docs.get(1) {
        let (start, end) = pos.first_line(second);
        out.push(
            src.diag(
                Rule::LabelNotList,
                start,
                end,
                format!(
                    "labels.yml holds {} YAML documents; label sync reads only the first",
                    docs.len()
                ),
            )
            .with_label("a second document starts here")
            .with_help(
                "merge the documents into one list of labels and remove the `---` separators",
            ),
        );
    }
    match &root.data {
        YamlData::Sequence(items) => {
            let mut seen = HashMap::new();
            for (i, item) in items.iter().enumerate() {
                check_label(&pos, i + 1, item, &mut seen, out);
            }
        }
        YamlData::Value(Scalar::Null) | YamlData::BadValue => out.push(no_labels(&pos, Some(root))),
        _ => {
            let (start, end) = pos.first_line(root);
            out.push(
                src.diag(
                    Rule::LabelNotList,
                    start,
                    end,
                    format!("labels.yml must be a list of labels, but it is {}", kind(root)),
                )
                .with_label("expected a list")
                .with_help(
                    "write each label as a list item: `- name: \"type/bug\"` with `color:` and `description:` indented under it",
                ),
            );
        }
    }
}

fn no_labels(pos: &Pos<'_>, root: Option<&MarkedYaml<'_>>) -> Diagnostic {
    let (start, end) = root.map_or((pos.src.bom, pos.src.bom), |r| pos.first_line(r));
    pos.src
        .diag(
            Rule::LabelNotList,
            start,
            end,
            "labels.yml holds no list of labels",
        )
        .with_help("write the labels as a YAML list (`- name: ...`), or restore the file with `lifeline restore latest-valid`")
}

/// The first occurrence of each label name, by lower-cased name.
type Seen = HashMap<String, (String, crate::validate::diagnostic::Span)>;

fn check_label(
    pos: &Pos<'_>,
    number: usize,
    item: &MarkedYaml<'_>,
    seen: &mut Seen,
    out: &mut Vec<Diagnostic>,
) {
    let src = pos.src;
    let item = untag(item);
    let (item_start, item_end) = pos.first_line(item);
    let YamlData::Mapping(map) = &item.data else {
        out.push(
            src.diag(
                Rule::LabelNotList,
                item_start,
                item_end,
                format!(
                    "label {number} is {}, not a mapping with name, color and description",
                    kind(item)
                ),
            )
            .with_label("expected `name:`, `color:` and `description:`")
            .with_help("write the label as `- name: \"type/bug\"` with `color: \"d73a4a\"` and `description: \"...\"` indented under it"),
        );
        return;
    };

    let mut name = None;
    let mut color = None;
    let mut description = None;
    for (key, value) in map {
        let key_text = match &untag(key).data {
            YamlData::Value(Scalar::String(s)) => s.to_string(),
            _ => pos.text(pos.range_in(item, key)).to_string(),
        };
        match key_text.as_str() {
            "name" => name = Some((key, value)),
            "color" => color = Some((key, value)),
            "description" => description = Some((key, value)),
            _ => out.push(unknown_key(pos, item, key, &key_text, number)),
        }
    }

    // The label as findings call it: by name when it has one.
    let label_name = name.and_then(|(_, v)| match &untag(v).data {
        YamlData::Value(Scalar::String(s)) if !s.trim().is_empty() => Some(s.to_string()),
        _ => None,
    });
    let called = label_name
        .as_ref()
        .map_or_else(|| format!("label {number}"), |n| format!("label `{n}`"));

    match name {
        None => out.push(
            src.diag(
                Rule::LabelBadName,
                item_start,
                item_end,
                format!("label {number} has no `name`"),
            )
            .with_label("this label has no name")
            .with_help("add a `name:` key with the label's name, e.g. `name: \"type/bug\"`"),
        ),
        Some((key, value)) => {
            let (start, end) = pos.value_range(item, key, value);
            match (&untag(value).data, &label_name) {
                (_, Some(n)) => check_duplicate(pos, n, (start, end), seen, out),
                (YamlData::Value(Scalar::Null | Scalar::String(_)), None) => out.push(
                    src.diag(
                        Rule::LabelBadName,
                        start,
                        end,
                        format!("label {number} has an empty `name`"),
                    )
                    .with_label("empty name")
                    .with_help(
                        "give the label a name, e.g. `name: \"type/bug\"`, or delete the entry",
                    ),
                ),
                (_, None) => {
                    let raw = pos.text((start, end)).to_string();
                    out.push(
                        src.diag(
                            Rule::LabelBadName,
                            start,
                            end,
                            format!("`name` of label {number} is {}, not text", kind(value)),
                        )
                        .with_label("not text")
                        .with_help(match untag(value).data {
                            YamlData::Value(_) => format!("quote it: `name: \"{raw}\"`"),
                            _ => "write the name as a quoted string, e.g. `name: \"type/bug\"`"
                                .to_string(),
                        }),
                    );
                }
            }
        }
    }

    match color {
        None => out.push(
            src.diag(
                Rule::LabelBadColor,
                item_start,
                item_end,
                format!("{called} has no `color`"),
            )
            .with_label("this label has no color")
            .with_help("add a `color:` key with six hex digits, e.g. `color: \"d73a4a\"`"),
        ),
        Some((key, value)) => {
            if let Some(d) = check_color(pos, item, key, value, &called) {
                out.push(d);
            }
        }
    }

    if let Some((key, value)) = description
        && let YamlData::Value(Scalar::String(text)) = &untag(value).data
        && text.chars().count() > MAX_DESCRIPTION
    {
        let len = text.chars().count();
        let (start, end) = pos.value_range(item, key, value);
        out.push(
            src.diag(
                Rule::LabelLongDescription,
                start,
                end,
                format!(
                    "description of {called} is {len} characters long; GitHub allows at most {MAX_DESCRIPTION}"
                ),
            )
            .with_label(format!("{len} characters"))
            .with_help(format!(
                "shorten it by at least {} characters",
                len - MAX_DESCRIPTION
            )),
        );
    }
}

/// LABEL004: `name` (non-empty) was seen before, ignoring case.
fn check_duplicate(
    pos: &Pos<'_>,
    name: &str,
    (start, end): (usize, usize),
    seen: &mut Seen,
    out: &mut Vec<Diagnostic>,
) {
    let span = pos.src.span(start, end);
    match seen.get(&name.to_lowercase()) {
        None => {
            seen.insert(name.to_lowercase(), (name.to_string(), span));
        }
        Some((first, first_span)) => {
            let message = if first == name {
                format!("label `{name}` is defined twice")
            } else {
                format!(
                    "label `{name}` duplicates `{first}`: GitHub compares label names case-insensitively"
                )
            };
            out.push(
                pos.src
                    .diag(Rule::LabelDuplicate, start, end, message)
                    .with_label("duplicate name")
                    .with_note(
                        format!("`{first}` is first defined here"),
                        Some(*first_span),
                    )
                    .with_help("remove one of the two entries, or rename one of them"),
            );
        }
    }
}

/// LABEL005 for a `color` that is present.
fn check_color(
    pos: &Pos<'_>,
    item: &MarkedYaml<'_>,
    key: &MarkedYaml<'_>,
    value: &MarkedYaml<'_>,
    called: &str,
) -> Option<Diagnostic> {
    let src = pos.src;
    let (start, end) = pos.value_range(item, key, value);
    let raw = pos.text((start, end));
    let diag = |message: String, label: &str, help: String| {
        src.diag(Rule::LabelBadColor, start, end, message)
            .with_label(label.to_string())
            .with_help(help)
    };
    match &untag(value).data {
        YamlData::Value(Scalar::String(color)) => {
            if is_hex(color) {
                return None;
            }
            if let Some(rest) = color.strip_prefix('#') {
                let help = if is_hex(rest) {
                    format!("drop the `#`: `color: \"{rest}\"`")
                } else {
                    "drop the `#` and write six hex digits, e.g. `color: \"d73a4a\"`".to_string()
                };
                return Some(diag(
                    format!("color \"{color}\" of {called} starts with `#`"),
                    "GitHub colors have no `#`",
                    help,
                ));
            }
            let why = match color.chars().find(|c| !c.is_ascii_hexdigit()) {
                Some(c) => format!("`{c}` is not a hex digit"),
                None => format!("it has {} digits", color.chars().count()),
            };
            let help = if color.len() == 3 && is_hex_digits(color) {
                let long: String = color.chars().flat_map(|c| [c, c]).collect();
                format!("write the short form out in full: `color: \"{long}\"`")
            } else {
                "write six hex digits without `#`, e.g. `color: \"d73a4a\"`".to_string()
            };
            Some(diag(
                format!("color \"{color}\" of {called} is not six hex digits: {why}"),
                "not six hex digits",
                help,
            ))
        }
        YamlData::Value(Scalar::Null) => {
            // `color: #d73a4a` unquoted: YAML reads the `#...` as a comment.
            let (_, key_end) = pos.range_in(item, key);
            let line_rest = src.text[key_end..]
                .split(['\n', '\r'])
                .next()
                .unwrap_or_default();
            let after_colon = line_rest.trim_start();
            let after_colon = after_colon.strip_prefix(':').unwrap_or(after_colon);
            let comment = after_colon.trim_start();
            if let Some(rest) = comment.strip_prefix('#') {
                let rest = rest.split_whitespace().next().unwrap_or_default();
                let at = key_end + (line_rest.len() - comment.len());
                let help = if is_hex(rest) {
                    format!("quote the color and drop the `#`: `color: \"{rest}\"`")
                } else {
                    "write six hex digits in quotes, without `#`, e.g. `color: \"d73a4a\"`"
                        .to_string()
                };
                return Some(
                    src.diag(
                        Rule::LabelBadColor,
                        at,
                        at + 1 + rest.len(),
                        format!("color of {called} is empty: YAML reads `#{rest}` as a comment"),
                    )
                    .with_label("this is a comment, not a value")
                    .with_help(help),
                );
            }
            Some(diag(
                format!("color of {called} is empty"),
                "no color",
                "write six hex digits, e.g. `color: \"d73a4a\"`".to_string(),
            ))
        }
        YamlData::Value(_) => Some(diag(
            format!(
                "color {raw} of {called} is read as {}, not text",
                kind(value)
            ),
            "not text",
            if is_hex(raw) {
                format!("quote it: `color: \"{raw}\"`")
            } else {
                "write six hex digits in quotes, e.g. `color: \"d73a4a\"`".to_string()
            },
        )),
        _ => Some(diag(
            format!("color of {called} is {}, not six hex digits", kind(value)),
            "not a color",
            "write six hex digits in quotes, e.g. `color: \"d73a4a\"`".to_string(),
        )),
    }
}

/// LABEL007: a key other than name, color and description.
fn unknown_key(
    pos: &Pos<'_>,
    item: &MarkedYaml<'_>,
    key: &MarkedYaml<'_>,
    key_text: &str,
    number: usize,
) -> Diagnostic {
    let (start, end) = pos.range_in(item, key);
    let suggestion = nearest(key_text, &KNOWN_KEYS).map(|k| format!("did you mean `{k}`? "));
    pos.src
        .diag(
            Rule::LabelUnknownKey,
            start,
            end,
            format!("unknown key `{key_text}` in label {number}"),
        )
        .with_label("unknown key")
        .with_help(format!(
            "{}a label has only `name`, `color` and `description`; label sync ignores anything else",
            suggestion.unwrap_or_default()
        ))
}

fn is_hex(s: &str) -> bool {
    s.len() == 6 && is_hex_digits(s)
}

fn is_hex_digits(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_hexdigit())
}

/// The node under any user-defined tags.
fn untag<'a, 'input>(mut node: &'a MarkedYaml<'input>) -> &'a MarkedYaml<'input> {
    while let YamlData::Tagged(_, inner) = &node.data {
        node = inner;
    }
    node
}

/// What a node is, for messages ("a mapping", "the number 7").
fn kind(node: &MarkedYaml<'_>) -> String {
    match &untag(node).data {
        YamlData::Sequence(_) => "a list".into(),
        YamlData::Mapping(_) => "a mapping".into(),
        YamlData::Value(Scalar::Null) | YamlData::BadValue => "empty".into(),
        YamlData::Value(Scalar::Boolean(b)) => format!("the boolean {b}"),
        YamlData::Value(Scalar::Integer(i)) => format!("the number {i}"),
        YamlData::Value(Scalar::FloatingPoint(f)) => format!("the number {f}"),
        YamlData::Value(Scalar::String(_)) | YamlData::Representation(..) => "a string".into(),
        YamlData::Alias(_) => "an alias".into(),
        YamlData::Tagged(..) => "a tagged value".into(),
    }
}

/// Node positions as file byte offsets.
struct Pos<'a> {
    src: &'a Source,
    offsets: CharOffsets,
}

impl Pos<'_> {
    /// File byte range of `node`.
    fn range(&self, node: &MarkedYaml<'_>) -> (usize, usize) {
        let start = self.offsets.byte(node.span.start.index()) + self.src.bom;
        let end = self.offsets.byte(node.span.end.index()) + self.src.bom;
        (start, end.max(start))
    }

    /// File byte range of `node`, a part of `item`; `item`'s first line
    /// when the node lies elsewhere (an alias copies its anchor's nodes,
    /// positions and all).
    fn range_in(&self, item: &MarkedYaml<'_>, node: &MarkedYaml<'_>) -> (usize, usize) {
        let (item_start, item_end) = self.range(item);
        let (start, end) = self.range(node);
        if start >= item_start && end <= item_end.max(item_start + 1) {
            (start, end)
        } else {
            self.first_line(item)
        }
    }

    /// File byte range of a mapping value, or of its key when the value is
    /// empty and so has no extent.
    fn value_range(
        &self,
        item: &MarkedYaml<'_>,
        key: &MarkedYaml<'_>,
        value: &MarkedYaml<'_>,
    ) -> (usize, usize) {
        let (start, end) = self.range_in(item, value);
        if start == end {
            self.range_in(item, key)
        } else {
            (start, end)
        }
    }

    /// From the start of `node` to the end of that line, without trailing
    /// blanks.
    fn first_line(&self, node: &MarkedYaml<'_>) -> (usize, usize) {
        let (start, _) = self.range(node);
        let line = self.src.text[start..]
            .split(['\n', '\r'])
            .next()
            .unwrap_or_default();
        (start, start + line.trim_end().len())
    }

    fn text(&self, (start, end): (usize, usize)) -> &str {
        &self.src.text[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::diagnostic::Level;

    fn run(text: &str) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        check(
            &Source::new(".github/labels.yml", text.to_string()),
            &mut out,
        );
        out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        out
    }

    fn at(d: &Diagnostic) -> (&str, Level, usize, usize) {
        let span = d.span.expect("a span");
        (d.code, d.level, span.line, span.column)
    }

    fn only(text: &str) -> Diagnostic {
        let out = run(text);
        assert_eq!(out.len(), 1, "{out:#?}");
        out.into_iter().next().unwrap()
    }

    const HEALTHY: &str = include_str!("../../tests/fixtures/sample-repo/.github/labels.yml");
    const BAD: &str = include_str!("../../tests/fixtures/corrupt/labels.bad.yml");

    #[test]
    fn healthy_file_passes() {
        assert_eq!(run(HEALTHY), vec![]);
    }

    #[test]
    fn healthy_file_with_bom_and_crlf_passes() {
        let text = format!("\u{feff}{}", HEALTHY.replace('\n', "\r\n"));
        assert_eq!(run(&text), vec![]);
    }

    #[test]
    fn empty_list_passes() {
        assert_eq!(run("[]\n"), vec![]);
    }

    #[test]
    fn bad_fixture() {
        let out = run(BAD);
        let got: Vec<_> = out.iter().map(at).collect();
        assert_eq!(
            got,
            vec![
                ("LABEL005", Level::Error, 2, 10),
                ("LABEL004", Level::Error, 4, 9),
                ("LABEL005", Level::Error, 5, 10),
                ("LABEL003", Level::Error, 6, 9),
                ("LABEL005", Level::Error, 7, 10),
            ],
            "{out:#?}"
        );
        assert_eq!(
            out[0].message,
            "color \"#d73a4a\" of label `priority/critical` starts with `#`"
        );
        assert_eq!(
            out[0].help.as_deref(),
            Some("drop the `#`: `color: \"d73a4a\"`")
        );
        assert_eq!(
            out[1].message,
            "label `Priority/Critical` duplicates `priority/critical`: GitHub compares label names case-insensitively"
        );
        let note = out[1].notes[0].span.unwrap();
        assert_eq!((note.line, note.column), (1, 9));
        assert_eq!(
            out[2].message,
            "color \"d73a4\" of label `Priority/Critical` is not six hex digits: it has 5 digits"
        );
        assert_eq!(out[3].message, "label 3 has an empty `name`");
        assert_eq!(
            out[4].message,
            "color \"zzzzzz\" of label 3 is not six hex digits: `z` is not a hex digit"
        );
    }

    #[test]
    fn label001_syntax_error_with_bom_and_crlf() {
        let d = only("\u{feff}- name: \"a\"\r\n  color: \"ffffff\"\r\n   oops: [\r\n");
        assert_eq!(at(&d), ("LABEL001", Level::Error, 3, 4));
        assert_eq!(
            d.message,
            "invalid YAML: while parsing a block mapping, did not find expected key"
        );
    }

    #[test]
    fn label001_duplicate_key() {
        let d = only("- name: a\n  color: \"ffffff\"\n  name: b\n");
        assert_eq!(at(&d), ("LABEL001", Level::Error, 3, 3));
        assert_eq!(d.message, "invalid YAML: duplicated key in mapping");
    }

    #[test]
    fn label002_not_a_list() {
        let d = only("name: a\ncolor: \"ffffff\"\n");
        assert_eq!(at(&d), ("LABEL002", Level::Error, 1, 1));
        assert_eq!(
            d.message,
            "labels.yml must be a list of labels, but it is a mapping"
        );
    }

    #[test]
    fn label002_entry_not_a_mapping() {
        let d = only("- name: a\n  color: \"ffffff\"\n- just-a-name\n");
        assert_eq!(at(&d), ("LABEL002", Level::Error, 3, 3));
        assert_eq!(
            d.message,
            "label 2 is a string, not a mapping with name, color and description"
        );
    }

    #[test]
    fn label002_only_comments() {
        let d = only("# nothing here\n");
        assert_eq!(at(&d), ("LABEL002", Level::Error, 1, 1));
        assert_eq!(d.message, "labels.yml holds no list of labels");
    }

    #[test]
    fn label002_second_document() {
        let d = only("- name: a\n  color: \"ffffff\"\n---\n- name: b\n  color: \"ffffff\"\n");
        assert_eq!(at(&d), ("LABEL002", Level::Error, 4, 1));
        assert_eq!(
            d.message,
            "labels.yml holds 2 YAML documents; label sync reads only the first"
        );
    }

    #[test]
    fn label003_name_missing() {
        let d = only("- color: \"ffffff\"\n  description: x\n");
        assert_eq!(at(&d), ("LABEL003", Level::Error, 1, 3));
        assert_eq!(d.message, "label 1 has no `name`");
    }

    #[test]
    fn label003_name_null_points_at_key() {
        let d = only("- name:\n  color: \"ffffff\"\n");
        assert_eq!(at(&d), ("LABEL003", Level::Error, 1, 3));
        assert_eq!(d.message, "label 1 has an empty `name`");
    }

    #[test]
    fn label003_name_not_text() {
        let d = only("- name: [a]\n  color: \"ffffff\"\n");
        assert_eq!(at(&d), ("LABEL003", Level::Error, 1, 9));
        assert_eq!(d.message, "`name` of label 1 is a list, not text");
    }

    #[test]
    fn label004_exact_duplicate_with_note() {
        let out = run("- name: a\n  color: \"ffffff\"\n- name: 'a'\n  color: \"000000\"\n");
        assert_eq!(out.len(), 1);
        assert_eq!(at(&out[0]), ("LABEL004", Level::Error, 3, 9));
        assert_eq!(out[0].message, "label `a` is defined twice");
        let note = out[0].notes[0].span.unwrap();
        assert_eq!((note.line, note.column), (1, 9));
    }

    #[test]
    fn label005_color_missing() {
        let d = only("- name: a\n  description: b\n");
        assert_eq!(at(&d), ("LABEL005", Level::Error, 1, 3));
        assert_eq!(d.message, "label `a` has no `color`");
    }

    #[test]
    fn label005_unquoted_hash_is_a_comment() {
        let d = only("- name: a\n  color: #d73a4a\n");
        assert_eq!(at(&d), ("LABEL005", Level::Error, 2, 10));
        assert_eq!(
            d.message,
            "color of label `a` is empty: YAML reads `#d73a4a` as a comment"
        );
        assert_eq!(
            d.help.as_deref(),
            Some("quote the color and drop the `#`: `color: \"d73a4a\"`")
        );
    }

    #[test]
    fn label005_number() {
        let d = only("- name: a\n  color: 000000\n");
        assert_eq!(at(&d), ("LABEL005", Level::Error, 2, 10));
        assert_eq!(
            d.message,
            "color 000000 of label `a` is read as the number 0, not text"
        );
        assert_eq!(d.help.as_deref(), Some("quote it: `color: \"000000\"`"));
    }

    #[test]
    fn label005_short_form() {
        let d = only("- name: a\n  color: fff\n");
        assert_eq!(at(&d), ("LABEL005", Level::Error, 2, 10));
        assert_eq!(
            d.help.as_deref(),
            Some("write the short form out in full: `color: \"ffffff\"`")
        );
    }

    #[test]
    fn label006_long_description() {
        let long = "é".repeat(101);
        let d = only(&format!(
            "- name: a\n  color: \"ffffff\"\n  description: \"{long}\"\n"
        ));
        assert_eq!(at(&d), ("LABEL006", Level::Error, 3, 16));
        assert_eq!(
            d.message,
            "description of label `a` is 101 characters long; GitHub allows at most 100"
        );
        let exactly = "é".repeat(100);
        assert_eq!(
            run(&format!(
                "- name: a\n  color: \"ffffff\"\n  description: \"{exactly}\"\n"
            )),
            vec![]
        );
    }

    #[test]
    fn label007_unknown_key_is_a_warning() {
        let d = only("- name: a\n  colour: \"ffffff\"\n  color: \"ffffff\"\n");
        assert_eq!(at(&d), ("LABEL007", Level::Warning, 2, 3));
        assert_eq!(d.message, "unknown key `colour` in label 1");
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `color`?")
        );
    }

    #[test]
    fn positions_after_non_ascii_bom_and_crlf() {
        let text = "\u{feff}# Étiquettes ✔️\r\n- name: \"é/ü\"\r\n  color: \"#ffffff\"\r\n";
        let d = only(text);
        assert_eq!(at(&d), ("LABEL005", Level::Error, 3, 10));
        let span = d.span.unwrap();
        assert_eq!(&text[span.byte_offset..][..span.byte_len], "\"#ffffff\"");
    }

    #[test]
    fn alias_duplicate_points_inside_the_later_entry() {
        let out = run("- &x {name: a, color: \"ffffff\"}\n- *x\n");
        assert_eq!(out.len(), 1);
        assert_eq!(at(&out[0]), ("LABEL004", Level::Error, 2, 3));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let mut out = Vec::new();
            check(&Source::new("x", text), &mut out);
        }

        #[test]
        fn never_panics_on_label_like_noise(
            text in "(\u{feff})?((- |  )?(name|color|description|x)?: ?(\"[#a-fé]{0,8}\"|[#a-f0-9é&*!\\[\\]{},']{0,8})?(\r?\n))*"
        ) {
            let mut out = Vec::new();
            check(&Source::new("x", text), &mut out);
        }
    }
}
