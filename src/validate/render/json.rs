//! One JSON document per run, for scripts:
//!
//! ```json
//! {
//!   "schema": 1,
//!   "valid": false,
//!   "summary": { "files": 4, "errors": 1, "warnings": 0 },
//!   "files": [{ "path": "planning/TASK.md", "validator": "task-md",
//!               "valid": false, "errors": 1, "warnings": 0 }, …],
//!   "diagnostics": [{ "code": "TASK011", "level": "error",
//!                     "path": "planning/TASK.md",
//!                     "message": "duplicate task ID `T-002`",
//!                     "byte_offset": 1879, "byte_len": 5, "line": 29,
//!                     "column": 3, "end_line": 29, "end_column": 8,
//!                     "label": "used again here", "help": "…",
//!                     "notes": [{ "message": "first defined here",
//!                                 "byte_offset": 1185, "line": 25, … }] }]
//! }
//! ```
//!
//! A position, label, help or notes that a finding lacks is left out
//! rather than written as `null`. Columns count characters, lines and
//! columns start at 1, and byte offsets count from the start of the file
//! (a BOM included). `schema` changes only when a field changes meaning or
//! goes away.

use std::io::{self, Write};

use serde::Serialize;

use crate::validate::diagnostic::Diagnostic;
use crate::validate::{FileReport, Report};

/// The version of this document's layout.
pub(crate) const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema: u32,
    /// No file has an error.
    valid: bool,
    summary: Summary,
    files: &'a [FileReport],
    diagnostics: Vec<&'a Diagnostic>,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    errors: usize,
    warnings: usize,
}

fn document(report: &Report) -> Document<'_> {
    Document {
        schema: SCHEMA_VERSION,
        valid: report.errors() == 0,
        summary: Summary {
            files: report.files.len(),
            errors: report.errors(),
            warnings: report.warnings(),
        },
        files: &report.files,
        diagnostics: report.diagnostics().collect(),
    }
}

/// The document as a JSON value.
#[cfg(test)]
fn to_value(report: &Report) -> serde_json::Value {
    serde_json::to_value(document(report)).expect("a report always serializes")
}

/// Writes the document, pretty-printed, and a final newline.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(report))?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::render::fixture;
    use serde_json::json;

    #[test]
    fn the_document_lists_files_and_findings() {
        assert_eq!(
            to_value(&fixture::report()),
            json!({
                "schema": 1,
                "valid": false,
                "summary": {"files": 3, "errors": 3, "warnings": 0},
                "files": [
                    {"path": "planning/TASK.md", "validator": "task-md", "valid": false, "errors": 2, "warnings": 0},
                    {"path": "planning/sprint.config.json", "validator": "sprint-config", "valid": false, "errors": 1, "warnings": 0},
                    {"path": ".github/labels.yml", "validator": "labels", "valid": true, "errors": 0, "warnings": 0},
                ],
                "diagnostics": [
                    {
                        "code": "TASK015", "level": "error", "path": "planning/TASK.md",
                        "message": "unknown status `Doing`",
                        "byte_offset": 98, "byte_len": 5,
                        "line": 6, "column": 18, "end_line": 6, "end_column": 23,
                        "label": "not a status",
                        "help": "use one of Not Started, In Progress, Blocked, Review, Testing, Done",
                    },
                    {
                        "code": "TASK011", "level": "error", "path": "planning/TASK.md",
                        "message": "duplicate task ID `T-002`",
                        "byte_offset": 108, "byte_len": 5,
                        "line": 7, "column": 3, "end_line": 7, "end_column": 8,
                        "label": "used again here",
                        "help": "give every task its own ID, e.g. the next free one, `T-003`",
                        "notes": [{
                            "message": "first defined here",
                            "byte_offset": 83, "byte_len": 5,
                            "line": 6, "column": 3, "end_line": 6, "end_column": 8,
                        }],
                    },
                    {
                        "code": "FILE001", "level": "error", "path": "planning/sprint.config.json",
                        "message": "protected file `planning/sprint.config.json` does not exist",
                        "help": "restore it (`lifeline restore latest-valid --only PATH`)",
                    },
                ],
            })
        );
    }

    #[test]
    fn the_output_is_one_document_and_a_newline() {
        let mut report = fixture::report();
        report.files.truncate(1);
        report.files[0].diagnostics.truncate(1);
        report.files[0].errors = 1;
        let mut out = Vec::new();
        render(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        insta::assert_snapshot!(text, @r#"
        {
          "schema": 1,
          "valid": false,
          "summary": {
            "files": 1,
            "errors": 1,
            "warnings": 0
          },
          "files": [
            {
              "path": "planning/TASK.md",
              "validator": "task-md",
              "valid": false,
              "errors": 1,
              "warnings": 0
            }
          ],
          "diagnostics": [
            {
              "code": "TASK015",
              "level": "error",
              "path": "planning/TASK.md",
              "message": "unknown status `Doing`",
              "byte_offset": 98,
              "byte_len": 5,
              "line": 6,
              "column": 18,
              "end_line": 6,
              "end_column": 23,
              "label": "not a status",
              "help": "use one of Not Started, In Progress, Blocked, Review, Testing, Done"
            }
          ]
        }
        "#);
        assert!(text.ends_with("}\n"));
    }
}
