//! SARIF 2.1.0, the format GitHub code scanning and other analysis
//! dashboards read.
//!
//! One run: the tool with every rule lifeline knows (so a dashboard can
//! show a rule's summary and link to its documentation even for results it
//! has not seen yet), the files validated as artifacts, and one result per
//! finding. Paths are relative to `SRCROOT`, the repository root. Columns
//! count Unicode code points (`columnKind`), as the validators do; a BOM is
//! not a column, but it does count in `byteOffset`. A finding's help and
//! its notes without a position are appended to the message; notes with a
//! position become related locations.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::validate::Report;
use crate::validate::diagnostic::{Diagnostic, Span};
use crate::validate::rules::Rule;

/// The schema `$schema` names.
pub(crate) const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The base the artifacts' relative URIs resolve against.
pub(crate) const SRCROOT: &str = "SRCROOT";

/// Where lifeline lives: the package's `repository` (or `homepage`) from
/// Cargo.toml. Without one, the tool and its rules carry no links.
fn project_uri() -> Option<&'static str> {
    const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");
    const HOMEPAGE: &str = env!("CARGO_PKG_HOMEPAGE");
    let uri = if REPOSITORY.is_empty() {
        HOMEPAGE
    } else {
        REPOSITORY
    };
    let uri = uri.trim_end_matches('/');
    let uri = uri.strip_suffix(".git").unwrap_or(uri);
    (!uri.is_empty()).then_some(uri)
}

/// The rule's section of `docs/rules.md`, whose headings are the codes.
fn help_uri(rule: Rule) -> Option<String> {
    project_uri().map(|base| {
        format!(
            "{base}/blob/main/docs/rules.md#{}",
            rule.code().to_ascii_lowercase()
        )
    })
}

/// `TaskDuplicateId` → `task-duplicate-id`.
fn rule_name(rule: Rule) -> String {
    let mut name = String::new();
    for (i, c) in format!("{rule:?}").char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('-');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

/// The SARIF log for `report`. `root`, the repository root, is published
/// as `SRCROOT` when given.
pub(crate) fn to_value(report: &Report, root: Option<&Path>) -> Value {
    let rules: Vec<Value> = Rule::ALL.iter().map(|&rule| descriptor(rule)).collect();
    let rule_index: HashMap<&str, usize> = Rule::ALL
        .iter()
        .enumerate()
        .map(|(i, rule)| (rule.code(), i))
        .collect();

    // Every validated file, then any other file a finding names.
    let mut paths: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    for d in report.diagnostics() {
        if !paths.contains(&d.path.as_str()) {
            paths.push(&d.path);
        }
    }
    let artifacts: Vec<Value> = paths
        .iter()
        .map(|&path| {
            let mut artifact = Map::new();
            artifact.insert("location".into(), artifact_location(path, None));
            if let Some(source) = report.source(path) {
                artifact.insert("length".into(), json!(source.text.len()));
            }
            Value::Object(artifact)
        })
        .collect();
    let artifact_index = |path: &str| paths.iter().position(|p| *p == path);

    let results: Vec<Value> = report
        .diagnostics()
        .map(|d| result(d, rule_index.get(d.code).copied(), artifact_index(&d.path)))
        .collect();

    let mut driver = Map::new();
    driver.insert("name".into(), json!("lifeline"));
    driver.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    driver.insert("semanticVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    if let Some(uri) = project_uri() {
        driver.insert("informationUri".into(), json!(uri));
    }
    driver.insert("rules".into(), Value::Array(rules));

    let srcroot = match root {
        Some(root) => json!({ "uri": directory_uri(root) }),
        None => json!({ "description": { "text": "The root of the repository." } }),
    };

    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": Value::Object(driver) },
            "invocations": [{ "executionSuccessful": true }],
            "originalUriBaseIds": { SRCROOT: srcroot },
            "artifacts": artifacts,
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// Writes the SARIF log, pretty-printed, and a final newline.
pub(crate) fn render(report: &Report, out: &mut dyn Write, root: Option<&Path>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report, root))?;
    out.write_all(b"\n")
}

fn descriptor(rule: Rule) -> Value {
    let mut descriptor = Map::new();
    descriptor.insert("id".into(), json!(rule.code()));
    descriptor.insert("name".into(), json!(rule_name(rule)));
    descriptor.insert("shortDescription".into(), json!({ "text": rule.summary() }));
    // GitHub code scanning wants a full description and a help text too.
    descriptor.insert("fullDescription".into(), json!({ "text": rule.summary() }));
    descriptor.insert(
        "defaultConfiguration".into(),
        json!({ "level": rule.level().as_str() }),
    );
    let help_uri = help_uri(rule);
    let help = match &help_uri {
        Some(uri) => format!("{}\n\nSee {uri}", rule.summary()),
        None => format!("{} See `{}` in docs/rules.md.", rule.summary(), rule.code()),
    };
    descriptor.insert("help".into(), json!({ "text": help }));
    if let Some(uri) = help_uri {
        descriptor.insert("helpUri".into(), json!(uri));
    }
    descriptor.insert("properties".into(), json!({ "tags": [rule.family()] }));
    Value::Object(descriptor)
}

fn result(d: &Diagnostic, rule_index: Option<usize>, artifact: Option<usize>) -> Value {
    let mut text = d.message.clone();
    for note in d.notes.iter().filter(|n| n.span.is_none()) {
        text.push_str("\nnote: ");
        text.push_str(&note.message);
    }
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }

    let mut physical = Map::new();
    physical.insert(
        "artifactLocation".into(),
        artifact_location(&d.path, artifact),
    );
    if let Some(span) = d.span {
        let mut region = region(span);
        if let Some(label) = &d.label {
            region.insert("message".into(), json!({ "text": label }));
        }
        physical.insert("region".into(), Value::Object(region));
    }

    let mut result = Map::new();
    result.insert("ruleId".into(), json!(d.code));
    if let Some(index) = rule_index {
        result.insert("ruleIndex".into(), json!(index));
    }
    result.insert("level".into(), json!(d.level.as_str()));
    result.insert("message".into(), json!({ "text": text }));
    result.insert(
        "locations".into(),
        json!([{ "physicalLocation": Value::Object(physical) }]),
    );
    let related: Vec<Value> = d
        .notes
        .iter()
        .filter_map(|note| Some((note, note.span?)))
        .enumerate()
        .map(|(id, (note, span))| {
            json!({
                "id": id,
                "physicalLocation": {
                    "artifactLocation": artifact_location(&d.path, artifact),
                    "region": Value::Object(region(span)),
                },
                "message": { "text": note.message },
            })
        })
        .collect();
    if !related.is_empty() {
        result.insert("relatedLocations".into(), Value::Array(related));
    }
    Value::Object(result)
}

fn region(span: Span) -> Map<String, Value> {
    let Value::Object(region) = json!({
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line,
        "endColumn": span.end_column,
        "byteOffset": span.byte_offset,
        "byteLength": span.byte_len,
    }) else {
        unreachable!("a json! object is an object")
    };
    region
}

/// A repo-relative path as a URI relative to `SRCROOT`; a path outside the
/// repository (given absolute) as a `file:` URI.
fn artifact_location(path: &str, index: Option<usize>) -> Value {
    let mut location = Map::new();
    let absolute = Path::new(path).is_absolute() || is_drive_path(path);
    if absolute {
        location.insert("uri".into(), json!(file_uri(path)));
    } else {
        location.insert("uri".into(), json!(encode_path(path)));
        location.insert("uriBaseId".into(), json!(SRCROOT));
    }
    if let Some(index) = index {
        location.insert("index".into(), json!(index));
    }
    Value::Object(location)
}

/// `C:\…` or `C:/…`.
fn is_drive_path(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'/' | b'\\')
}

/// The `file:` URI of a directory, ending in `/` as SARIF requires of a
/// base URI.
fn directory_uri(dir: &Path) -> String {
    let mut uri = file_uri(&dir.to_string_lossy());
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    if is_drive_path(&path) {
        format!("file:///{}:{}", &path[..1], encode_path(&path[2..]))
    } else {
        format!("file://{}", encode_path(&path))
    }
}

/// Percent-encodes everything in a path but unreserved characters and `/`.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::render::fixture;

    const SARIF_SCHEMA: &str = include_str!("../../../tests/schemas/sarif-2.1.0.json");

    fn validator() -> jsonschema::Validator {
        let schema: Value = serde_json::from_str(SARIF_SCHEMA).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the SARIF schema compiles offline")
    }

    fn assert_valid(log: &Value) {
        let errors: Vec<String> = validator()
            .iter_errors(log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "invalid SARIF: {errors:#?}");
    }

    #[test]
    fn the_log_matches_the_official_schema() {
        let report = fixture::report();
        assert_valid(&to_value(&report, None));
        assert_valid(&to_value(&report, Some(Path::new("/work/my repo"))));
        assert_valid(&to_value(&crate::validate::Report::default(), None));
    }

    #[test]
    fn the_schema_check_catches_a_broken_log() {
        let mut log = to_value(&fixture::report(), None);
        log["runs"][0]["results"][0]["level"] = json!("fatal");
        assert!(!validator().is_valid(&log));
        let mut log = to_value(&fixture::report(), None);
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
            json!(0);
        assert!(!validator().is_valid(&log));
        // Formats are asserted too, not just types.
        let mut log = to_value(&fixture::report(), None);
        log["$schema"] = json!("not a URI");
        assert!(!validator().is_valid(&log));
    }

    #[test]
    fn every_rule_is_described() {
        let log = to_value(&fixture::report(), None);
        let driver = &log["runs"][0]["tool"]["driver"];
        assert_eq!(driver["name"], "lifeline");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        let rules = driver["rules"].as_array().unwrap();
        assert_eq!(rules.len(), Rule::ALL.len());
        let dup = Rule::ALL
            .iter()
            .position(|r| *r == Rule::TaskDuplicateId)
            .unwrap();
        let mut expected = json!({
            "id": "TASK011",
            "name": "task-duplicate-id",
            "shortDescription": { "text": "Task IDs must be unique." },
            "fullDescription": { "text": "Task IDs must be unique." },
            "defaultConfiguration": { "level": "error" },
            "help": { "text": "Task IDs must be unique. See `TASK011` in docs/rules.md." },
            "properties": { "tags": ["task-md"] },
        });
        if let Some(base) = project_uri() {
            let uri = format!("{base}/blob/main/docs/rules.md#task011");
            expected["help"]["text"] = json!(format!("Task IDs must be unique.\n\nSee {uri}"));
            expected["helpUri"] = json!(uri);
            assert_eq!(driver["informationUri"], base);
        }
        assert_eq!(rules[dup], expected);
        assert_eq!(
            rules[Rule::ALL
                .iter()
                .position(|r| *r == Rule::TaskNoOwner)
                .unwrap()]["defaultConfiguration"]["level"],
            "warning"
        );
    }

    #[test]
    fn results_point_at_the_finding_and_its_notes() {
        let log = to_value(&fixture::report(), Some(Path::new("/work/my repo")));
        let run = &log["runs"][0];
        assert_eq!(run["columnKind"], "unicodeCodePoints");
        assert_eq!(
            run["originalUriBaseIds"],
            json!({ "SRCROOT": { "uri": "file:///work/my%20repo/" } })
        );
        assert_eq!(
            run["artifacts"],
            json!([
                { "location": { "uri": "planning/TASK.md", "uriBaseId": "SRCROOT" }, "length": 130 },
                { "location": { "uri": "planning/sprint.config.json", "uriBaseId": "SRCROOT" } },
                { "location": { "uri": ".github/labels.yml", "uriBaseId": "SRCROOT" }, "length": 12 },
            ])
        );
        let dup = Rule::ALL
            .iter()
            .position(|r| *r == Rule::TaskDuplicateId)
            .unwrap();
        assert_eq!(
            run["results"][1],
            json!({
                "ruleId": "TASK011",
                "ruleIndex": dup,
                "level": "error",
                "message": { "text": "duplicate task ID `T-002`\nhelp: give every task its own ID, e.g. the next free one, `T-003`" },
                "locations": [{ "physicalLocation": {
                    "artifactLocation": { "uri": "planning/TASK.md", "uriBaseId": "SRCROOT", "index": 0 },
                    "region": {
                        "startLine": 7, "startColumn": 3, "endLine": 7, "endColumn": 8,
                        "byteOffset": 108, "byteLength": 5,
                        "message": { "text": "used again here" },
                    },
                }}],
                "relatedLocations": [{
                    "id": 0,
                    "physicalLocation": {
                        "artifactLocation": { "uri": "planning/TASK.md", "uriBaseId": "SRCROOT", "index": 0 },
                        "region": {
                            "startLine": 6, "startColumn": 3, "endLine": 6, "endColumn": 8,
                            "byteOffset": 83, "byteLength": 5,
                        },
                    },
                    "message": { "text": "first defined here" },
                }],
            })
        );
        // No span: the file alone.
        assert_eq!(
            run["results"][2]["locations"],
            json!([{ "physicalLocation": {
                "artifactLocation": { "uri": "planning/sprint.config.json", "uriBaseId": "SRCROOT", "index": 1 },
            }}])
        );
    }

    #[test]
    fn uris_are_encoded() {
        assert_eq!(encode_path("docs/a b#1%.md"), "docs/a%20b%231%25.md");
        assert_eq!(encode_path("ü.md"), "%C3%BC.md");
        assert_eq!(
            artifact_location("/tmp/x y.md", None),
            json!({ "uri": "file:///tmp/x%20y.md" })
        );
        assert_eq!(file_uri(r"C:\work\repo"), "file:///C:/work/repo");
        assert_eq!(directory_uri(Path::new("/r")), "file:///r/");
        assert_eq!(rule_name(Rule::FileMissing), "file-missing");
        assert_eq!(rule_name(Rule::CrossSprintId), "cross-sprint-id");
    }
}
