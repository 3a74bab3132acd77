//! Printing a validation [`Report`](crate::validate::Report) for people and for machines.
//!
//! Validators only collect [`Diagnostic`](crate::validate::diagnostic::Diagnostic)s;
//! this module turns a whole report into one of four formats:
//!
//! - [`text`]: rustc-style diagnostics with the source line and a caret,
//!   then a summary, for a terminal or a log;
//! - [`json`]: one JSON document for scripts;
//! - [`github`]: GitHub Actions workflow commands (annotations on the pull
//!   request), plus a Markdown step summary;
//! - [`sarif`]: SARIF 2.1.0 for code-scanning tools.
//!
//! Every renderer prints the positions the validators computed, so a
//! finding is at the same line and column in all four.

pub(crate) mod github;
pub(crate) mod json;
pub(crate) mod sarif;
pub(crate) mod text;

use std::path::PathBuf;

/// What the renderers need besides the report.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// ANSI colours in [`text`]; true only on a terminal with
    /// `NO_COLOR` unset.
    pub color: bool,
    /// Width [`text`] trims long source lines to.
    pub term_width: usize,
    /// The repository root, published as SARIF's `SRCROOT`.
    pub root: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            color: false,
            term_width: text::DEFAULT_TERM_WIDTH,
            root: None,
        }
    }
}

/// `1 file`, `2 files`.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `2 errors, 1 warning`; zero counts are left out; `None` when both are
/// zero.
pub(crate) fn counts(errors: usize, warnings: usize) -> Option<String> {
    match (errors, warnings) {
        (0, 0) => None,
        (e, 0) => Some(plural(e, "error")),
        (0, w) => Some(plural(w, "warning")),
        (e, w) => Some(format!("{}, {}", plural(e, "error"), plural(w, "warning"))),
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    //! The small report every renderer's tests print.

    use crate::config::Validator;
    use crate::validate::diagnostic::{Diagnostic, Source};
    use crate::validate::rules::Rule;
    use crate::validate::{FileReport, Report};

    pub(crate) const TASK_MD: &str = "\
# Tasks

| ID | Title | Status |
|----|-------|--------|
| T-001 | Auth | Done |
| T-002 | Sync | Doing |
| T-002 | Docs | Done |
";

    pub(crate) fn file(
        source: Option<Source>,
        path: &str,
        validator: Validator,
        diagnostics: Vec<Diagnostic>,
    ) -> FileReport {
        let errors = diagnostics
            .iter()
            .filter(|d| d.level == crate::validate::diagnostic::Level::Error)
            .count();
        let warnings = diagnostics.len() - errors;
        FileReport {
            path: path.to_string(),
            validator,
            valid: errors == 0,
            errors,
            warnings,
            diagnostics,
            source,
        }
    }

    /// TASK.md with a duplicate ID (a note pointing at the first one) and
    /// a bad status; sprint.config.json missing; labels.yml clean.
    pub(crate) fn report() -> Report {
        let src = Source::new("planning/TASK.md", TASK_MD.to_string());
        let second = src.text.rfind("T-002").unwrap();
        let first = src.text.find("T-002").unwrap();
        let doing = src.text.find("Doing").unwrap();
        let duplicate = src
            .diag(
                Rule::TaskDuplicateId,
                second,
                second + 5,
                "duplicate task ID `T-002`",
            )
            .with_label("used again here")
            .with_note("first defined here", Some(src.span(first, first + 5)))
            .with_help("give every task its own ID, e.g. the next free one, `T-003`");
        let status = src
            .diag(
                Rule::TaskBadStatus,
                doing,
                doing + 5,
                "unknown status `Doing`",
            )
            .with_label("not a status")
            .with_help("use one of Not Started, In Progress, Blocked, Review, Testing, Done");
        let missing = Diagnostic::new(
            Rule::FileMissing,
            "planning/sprint.config.json",
            "protected file `planning/sprint.config.json` does not exist",
        )
        .with_help("restore it (`lifeline restore latest-valid --only PATH`)");
        let mut task = file(
            Some(src.clone()),
            "planning/TASK.md",
            Validator::TaskMd,
            vec![status, duplicate],
        );
        task.diagnostics
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Report {
            files: vec![
                task,
                file(
                    None,
                    "planning/sprint.config.json",
                    Validator::SprintConfig,
                    vec![missing],
                ),
                file(
                    Some(Source::new(
                        ".github/labels.yml",
                        "- name: bug\n".to_string(),
                    )),
                    ".github/labels.yml",
                    Validator::Labels,
                    vec![],
                ),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leave_out_zeros() {
        assert_eq!(counts(0, 0), None);
        assert_eq!(counts(1, 0).as_deref(), Some("1 error"));
        assert_eq!(counts(0, 2).as_deref(), Some("2 warnings"));
        assert_eq!(counts(2, 1).as_deref(), Some("2 errors, 1 warning"));
    }
}
