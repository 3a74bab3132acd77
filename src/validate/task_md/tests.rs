//! One test per rule: the exact code, line and column of each finding.

use crate::config::Validator;
use crate::validate::diagnostic::Level;
use crate::validate::validate_bytes;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../tests/fixtures/corrupt/", $name)).as_slice()
    };
}

const HEADER: &str = "| ID | Title | Description | Priority | Points | Status | Reviewed | Owner | PR Link | ETA | Depends On | Sprint ID | Notes |";

const SAMPLE: &str = include_str!("../../../tests/fixtures/sample-repo/planning/TASK.md");

/// `CODE line:col` of every finding, in order.
fn findings(bytes: &[u8]) -> Vec<String> {
    validate_bytes("planning/TASK.md", bytes, Validator::TaskMd)
        .diagnostics
        .iter()
        .map(|d| match d.span {
            Some(s) => format!("{} {}:{}", d.code, s.line, s.column),
            None => d.code.to_string(),
        })
        .collect()
}

fn messages(bytes: &[u8]) -> Vec<String> {
    validate_bytes("planning/TASK.md", bytes, Validator::TaskMd)
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect()
}

/// The sample with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> Vec<u8> {
    assert!(SAMPLE.contains(from), "{from}");
    SAMPLE.replacen(from, to, 1).into_bytes()
}

#[test]
fn healthy_files_have_no_findings() {
    assert_eq!(findings(SAMPLE.as_bytes()), Vec::<String>::new());
    assert_eq!(findings(fixture!("TASK.crlf-bom.md")), Vec::<String>::new());
}

#[test]
fn file_level_corruption() {
    assert_eq!(findings(fixture!("TASK.empty.md")), ["FILE005"]);
    assert_eq!(findings(fixture!("TASK.conflict.md")), ["FILE004 26:1"]);
    let utf8 = findings(fixture!("TASK.invalid-utf8.md"));
    assert_eq!(utf8.len(), 1);
    assert!(utf8[0].starts_with("FILE002 "), "{utf8:?}");
    let report = validate_bytes(
        "planning/TASK.md",
        fixture!("TASK.invalid-utf8.md"),
        Validator::TaskMd,
    );
    let bytes = fixture!("TASK.invalid-utf8.md");
    let offset = std::str::from_utf8(bytes).unwrap_err().valid_up_to();
    assert_eq!(report.diagnostics[0].span.unwrap().byte_offset, offset);
    assert!(
        report.diagnostics[0]
            .message
            .contains(&format!("byte offset {offset}"))
    );
}

#[test]
fn short_and_truncated_rows() {
    // The short row still counts in the summary: no false TASK027.
    assert_eq!(findings(fixture!("TASK.short-row.md")), ["TASK006 25:1"]);
    assert_eq!(
        messages(fixture!("TASK.short-row.md")),
        ["this row has 12 cells; the header has 13: the `Points` cell is missing"]
    );
    // A row cut off mid-way cannot be lined up: its status is unknown, so
    // only the total is compared (and it is really short by three rows).
    assert_eq!(
        findings(fixture!("TASK.truncated.md")),
        ["TASK027 20:107", "TASK006 28:1"]
    );
    assert_eq!(
        messages(fixture!("TASK.truncated.md")),
        [
            "the status summary says Total: 8, the table has 5",
            "this row has 3 cells; the header has 13"
        ]
    );
}

#[test]
fn the_missing_or_extra_cell_is_named_when_the_values_say_which() {
    let no_status = edit("| Low | 3 | Testing | 🔍 |", "| Low | 3 | 🔍 |");
    assert_eq!(
        messages(&no_status),
        ["this row has 12 cells; the header has 13: the `Status` cell is missing"]
    );
    // Title and Description are both free text: either may be the one.
    let no_title = edit("| Metrics dashboard | Progress bar", "| Progress bar");
    assert_eq!(
        messages(&no_title),
        ["this row has 12 cells; the header has 13: the `Title` or `Description` cell is missing"]
    );
    let extra = edit("| Low | 3 | Testing |", "| Low | 3 | 3 | Testing |");
    assert_eq!(
        messages(&extra),
        ["this row has 14 cells; the header has 13: an extra cell after `Priority` or `Points`"]
    );
    // A short row dependents point at is still the task they depend on.
    let short_dep = edit(
        "| Critical | 5 | In Progress |",
        "| Critical | In Progress |",
    );
    assert_eq!(findings(&short_dep), ["TASK006 26:1"]);
    // Two cells missing: no guess.
    let two = edit("| Low | 3 | Testing | 🔍 |", "| Low | 🔍 |");
    assert_eq!(messages(&two), ["this row has 11 cells; the header has 13"]);
}

#[test]
fn a_typo_of_an_allowed_value_names_the_nearest_one() {
    let report = |bytes: &[u8]| {
        validate_bytes("planning/TASK.md", bytes, Validator::TaskMd)
            .diagnostics
            .iter()
            .map(|d| d.help.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        report(&edit("| In Progress |", "| In Progres |")),
        ["did you mean `In Progress`?"]
    );
    assert_eq!(
        report(&edit("| Blocked |", "| Blokced |")),
        ["did you mean `Blocked`?"]
    );
    assert_eq!(
        report(&edit("| Critical |", "| Critcal |")),
        ["did you mean `Critical`?"]
    );
    // Nothing near: the whole list.
    let far = report(&edit("| In Progress |", "| Shipped |"));
    assert!(far[0].starts_with("use one of: `Not Started`"), "{far:?}");
    assert!(
        report(&edit("| Status |", "| Stauts |")).contains(&"did you mean `Status`?".to_string())
    );
}

const MULTI_TABLE: &str = include_str!("../../../tests/fixtures/multi-table/planning/TASK.md");

/// The sprint template's other tables (dashboard, movement log, blockers,
/// dependencies, completed tasks with `| ID | Title |`) are content.
#[test]
fn a_multi_table_sprint_file_is_valid() {
    assert_eq!(findings(MULTI_TABLE.as_bytes()), Vec::<String>::new());
    // Rows of the other tables are not checked as tasks…
    let odd = MULTI_TABLE.replacen(
        "| T-000 | Setup CI | 2025-07-04 | @devA |",
        "| T-000 | Setup CI | last week | |",
        1,
    );
    assert_eq!(findings(odd.as_bytes()), Vec::<String>::new());
    // …but the task table still is.
    let bad = MULTI_TABLE.replacen(
        "| Critical | 8 | In Progress |",
        "| Critical | 8 | In Progres |",
        1,
    );
    assert_eq!(findings(bad.as_bytes()), ["TASK015 36:97"]);
    // The task header itself, a second time, is a repeated table.
    let header = MULTI_TABLE.lines().nth(33).unwrap();
    assert!(
        header.starts_with("| ID | Title | Description |"),
        "{header}"
    );
    let twice = MULTI_TABLE.replacen(
        "## ✅ COMPLETED TASKS\n",
        &format!("## ✅ COMPLETED TASKS\n\n{header}\n"),
        1,
    );
    assert!(findings(twice.as_bytes()).contains(&"TASK002 67:1".to_string()));
}

#[test]
fn a_task_line_outside_every_table_is_an_error() {
    let appended = format!("{MULTI_TABLE}| T-999 | broken\n");
    assert_eq!(findings(appended.as_bytes()), ["TASK029 78:1"]);
    assert_eq!(
        messages(appended.as_bytes()),
        ["the task line `T-999` belongs to no table"]
    );
    // After a blank line, a full task row no longer belongs to the table.
    let row = SAMPLE.lines().find(|l| l.starts_with("| T-008 |")).unwrap();
    let detached = edit(
        &format!("{row}\n"),
        &format!("{row}\n\n{}\n", row.replace("T-008", "T-009")),
    );
    assert_eq!(findings(&detached), ["TASK029 33:1"]);
    // A task-shaped row that does not fit another table's columns.
    let misfit = MULTI_TABLE.replacen("| T-099 | Sprint template v1.2 |", "| T-099 |", 1);
    assert_eq!(findings(misfit.as_bytes()), ["TASK029 70:1"]);
}

#[test]
fn bad_cells() {
    assert_eq!(
        findings(fixture!("TASK.bad-cells.md")),
        ["TASK017 29:70", "TASK023 29:122"]
    );
    assert_eq!(
        messages(fixture!("TASK.bad-cells.md")),
        [
            "points `three` is not a whole number ≥ 0",
            "ETA `2025-02-30` is not a real date (2025-02 has 28 days)"
        ]
    );
    assert_eq!(
        findings(fixture!("TASK.bad-enum.md")),
        ["TASK014 26:65", "TASK015 26:78"]
    );
}

#[test]
fn duplicate_id_points_at_the_later_and_notes_the_first() {
    let report = validate_bytes(
        "planning/TASK.md",
        fixture!("TASK.duplicate-id.md"),
        Validator::TaskMd,
    );
    let ds = &report.diagnostics;
    assert_eq!(
        findings(fixture!("TASK.duplicate-id.md"))[0],
        "TASK011 29:3"
    );
    assert_eq!(ds[0].message, "duplicate task ID `T-002`");
    let note = ds[0].notes[0].span.unwrap();
    assert_eq!((note.line, note.column), (25, 3));
}

#[test]
fn dependencies() {
    assert_eq!(
        findings(fixture!("TASK.missing-dep.md")),
        ["TASK021 27:114"]
    );
    let report = validate_bytes(
        "planning/TASK.md",
        fixture!("TASK.cycle.md"),
        Validator::TaskMd,
    );
    assert_eq!(findings(fixture!("TASK.cycle.md")), ["TASK022 24:127"]);
    let d = &report.diagnostics[0];
    assert_eq!(d.message, "dependency cycle: T-001 → T-002 → T-001");
    let note = d.notes[0].span.unwrap();
    assert_eq!((note.line, note.column), (25, 118));
    // A task depending on itself.
    let own = edit("| 2025-07-15 | T-001 |", "| 2025-07-15 | T-002 |");
    assert_eq!(messages(&own), ["`T-002` depends on itself"]);
    // A malformed reference.
    let bad = edit("| 2025-07-15 | T-001 |", "| 2025-07-15 | T-001, task 3 |");
    assert_eq!(findings(&bad), ["TASK021 25:125"]);
    // A longer cycle is reported once.
    let three = SAMPLE
        .replacen("| 2025-07-10 | - |", "| 2025-07-10 | T-004 |", 1)
        .replacen("| 2025-07-16 | - |", "| 2025-07-16 | T-001 |", 1);
    let f = messages(three.as_bytes());
    assert_eq!(
        f,
        ["dependency cycle: T-001 → T-004 → T-003 → T-001"],
        "{f:?}"
    );
}

#[test]
fn per_cell_rules() {
    let cases: &[(&str, &str, &str)] = &[
        ("| T-006 |", "| X-6 |", "TASK010 29:3"),
        ("| Auth middleware |", "| - |", "TASK012 24:11"),
        (
            "Merged after security review",
            &"n".repeat(201),
            "TASK013 24:",
        ),
        ("| Low | 3 | Testing", "| Low | 4 | Testing", "TASK018 29:"),
        ("| Low | 3 | Testing", "| Low | -1 | Testing", "TASK017 29:"),
        ("| ✔️ | @devA |", "| ✔️ |  |", "TASK019 24:"),
        ("[#123](../pull/123)", "[#123](../pull/124)", "TASK020 24:"),
        ("| ✔️ |", "| yes |", "TASK016 24:"),
        ("| 2025-07-10 |", "| 10/07/2025 |", "TASK023 24:"),
        (
            "| T-002 | Token refresh | Rotate refresh tokens | High | 5 | Review | 🔍 | @devB | [#131](../pull/131) | 2025-07-15 | T-001 | Sprint-07-2025 |",
            "| T-002 | Token refresh | Rotate refresh tokens | High | 5 | Review | 🔍 | @devB | [#131](../pull/131) | 2025-07-15 | T-001 | Sprint-08-2025 |",
            "TASK024 25:",
        ),
    ];
    for (from, to, want) in cases {
        let got = findings(&edit(from, to));
        assert!(
            got.iter().any(|f| f.starts_with(want)),
            "{from} → {to}: want {want}, got {got:?}"
        );
        assert_eq!(got.len(), 1, "{from} → {to}: {got:?}");
    }
    // Equivalent spellings that stay valid.
    for (from, to) in [
        ("| ✔️ |", "| ✔ |"),
        ("| ✔️ |", "| ✔️ approved |"),
        ("[#123](../pull/123)", "[#123](../pulls/123)"),
        ("| 8 | Done |", "| 0 | Done |"),
    ] {
        assert_eq!(findings(&edit(from, to)), Vec::<String>::new(), "{to}");
    }
}

#[test]
fn header_rules() {
    let repeated = edit("| T-008 |", &format!("{HEADER}\n| T-009 |"));
    let f = findings(&repeated);
    assert!(f.contains(&"TASK002 31:1".to_string()), "{f:?}");
    let no_status = edit("| Status |", "| State |");
    let f = findings(&no_status);
    assert!(f.contains(&"TASK003 22:1".to_string()), "{f:?}");
    assert!(f.contains(&"TASK004 22:50".to_string()), "{f:?}");
    let dup = edit("| Notes |", "| Title |");
    assert!(
        findings(&dup).contains(&"TASK005 22:119".to_string()),
        "{:?}",
        findings(&dup)
    );
    let no_sep = edit(
        "|----|-------|-------------|----------|--------|--------|----------|-------|---------|-----|------------|-----------|-------|\n",
        "",
    );
    assert_eq!(findings(&no_sep)[0], "TASK007 23:1");
    let short_sep = edit("|-----------|-------|\n", "|-----------|\n");
    assert_eq!(findings(&short_sep), ["TASK007 23:1"]);
    // The older 11-column layout is valid.
    let old = "# T\n<!-- changelog-insert-point -->\n| ID | Title | Priority | Points | Status | Reviewed | Owner | PR Link | ETA | Depends On | Notes |\n|---|---|---|---|---|---|---|---|---|---|---|\n| T-1 | A | Low | 1 | Done | 🚀 | @a | - | - | - | - |\n";
    assert_eq!(findings(old.as_bytes()), Vec::<String>::new());
}

#[test]
fn document_rules() {
    assert_eq!(
        findings(b"# Tasks\n\nnothing here\n"),
        ["TASK001", "TASK028"]
    );
    let empty_table = format!(
        "<!-- changelog-insert-point -->\n{HEADER}\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    let f = findings(empty_table.as_bytes());
    assert!(f.contains(&"TASK025 2:1".to_string()), "{f:?}");
    let no_anchor = edit("<!-- changelog-insert-point -->\n", "");
    assert_eq!(findings(&no_anchor), ["TASK028"]);
    let header = edit(
        "**Sprint ID**: Sprint-07-2025",
        "**Sprint ID**: Sprint-08-2025",
    );
    assert_eq!(findings(&header), ["TASK026 6:16"]);
    let summary = edit("Blocked: 1 |", "Blocked: 3 |");
    let report = validate_bytes("planning/TASK.md", &summary, Validator::TaskMd);
    assert_eq!(report.diagnostics.len(), 1);
    let d = &report.diagnostics[0];
    assert_eq!(d.code, "TASK027");
    assert_eq!(d.level, Level::Warning);
    assert_eq!(
        d.message,
        "the status summary says Blocked: 3, the table has 1"
    );
}

#[test]
fn warnings_do_not_make_a_file_invalid() {
    let report = validate_bytes(
        "planning/TASK.md",
        &edit("<!-- changelog-insert-point -->\n", ""),
        Validator::TaskMd,
    );
    assert!(report.valid);
    assert_eq!(report.warnings, 1);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Table-shaped lines with cells drawn from values that matter to the
    /// rules (IDs, dates, marks, pipes, escapes) and from anything at all.
    fn line() -> impl Strategy<Value = String> {
        let cell = prop_oneof![
            Just("T-001".to_string()),
            Just("T-002".to_string()),
            Just("-".to_string()),
            Just("".to_string()),
            Just("2025-02-30".to_string()),
            Just("✔️".to_string()),
            Just("\\|".to_string()),
            Just("ID".to_string()),
            Just("Title".to_string()),
            Just("T-001, T-002".to_string()),
            Just("[#1](../pull/1)".to_string()),
            "\\PC{0,12}",
        ];
        prop_oneof![
            prop::collection::vec(cell, 0..15)
                .prop_map(|cells| format!("| {} |", cells.join(" | "))),
            Just(HEADER.to_string()),
            Just("|---|---|".to_string()),
            Just("<<<<<<< HEAD".to_string()),
            Just("=======".to_string()),
            Just("**Sprint ID**: Sprint-07-2025".to_string()),
            Just("**Sprint Status Summary**: ✅ Completed: 1 | **Total: 2**".to_string()),
            Just("```".to_string()),
            "\\PC{0,40}",
        ]
    }

    proptest! {
        #[test]
        fn on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = validate_bytes("planning/TASK.md", &bytes, Validator::TaskMd);
        }

        #[test]
        fn on_table_shaped_text(lines in prop::collection::vec(line(), 0..40), crlf in any::<bool>()) {
            let text = lines.join(if crlf { "\r\n" } else { "\n" });
            let report = validate_bytes("planning/TASK.md", text.as_bytes(), Validator::TaskMd);
            for d in &report.diagnostics {
                if let Some(span) = d.span {
                    prop_assert!(span.byte_offset + span.byte_len <= text.len());
                    prop_assert!(span.line >= 1 && span.column >= 1);
                }
            }
        }
    }
}

#[test]
fn unknown_columns_are_one_finding_however_many() {
    let unknown = |text: &[u8]| {
        let report = validate_bytes("planning/TASK.md", text, Validator::TaskMd);
        let found: Vec<_> = report
            .diagnostics
            .into_iter()
            .filter(|d| d.code == "TASK004")
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        found.into_iter().next().unwrap()
    };
    let two = unknown(&edit("| Notes |\n", "| Notes | Stauts | Extra |\n"));
    assert_eq!(two.message, "2 unknown columns: `Stauts` and `Extra`");
    assert_eq!(
        (two.span.unwrap().line, two.span.unwrap().column),
        (22, 127)
    );
    assert!(
        two.help
            .as_deref()
            .unwrap()
            .starts_with("rename `Stauts` to `Status`, and remove the others; "),
        "{:?}",
        two.help
    );
    // A header of 20,000 unknown columns (the first one's name 100
    // characters long) is one finding naming five of them.
    let wide: String = (1..20_000).map(|i| format!(" Extra {i} |")).collect();
    let text = edit(
        "| Notes |\n",
        &format!("| Notes | {} |{wide}\n", "x".repeat(100)),
    );
    let d = unknown(&text);
    assert_eq!(
        d.message,
        format!(
            "20000 unknown columns: `{}…`, `Extra 1`, `Extra 2`, `Extra 3`, `Extra 4` and 19995 more",
            "x".repeat(40)
        )
    );
    let report = validate_bytes("planning/TASK.md", &text, Validator::TaskMd);
    // One finding per row (each is 20,000 cells short) and the separator's.
    assert_eq!(report.diagnostics.len(), 1 + 8 + 1, "{:?}", findings(&text));
}

#[test]
fn ids_with_other_digit_counts_or_large_numbers_are_other_tasks() {
    use super::{Added, Nodes};
    let ids = [
        "T-1",
        "T-01",
        "T-001",
        "T-1048575",
        "T-1048576",
        "T-99999999999999999999999999999999999",
        "T-0000000000000000000000000000000001",
        "T-000000000000000000000000000000001",
    ];
    let mut nodes = Nodes::default();
    for (k, id) in ids.iter().enumerate() {
        assert!(matches!(nodes.add(id), Added::New(n) if n == k), "{id}");
    }
    for (k, id) in ids.iter().enumerate() {
        assert!(matches!(nodes.add(id), Added::Repeat(n) if n == k), "{id}");
        assert_eq!(nodes.get(id), Some(k), "{id}");
    }
    assert_eq!(nodes.get("T-0001"), None);
    assert_eq!(nodes.get("T-2"), None);
    assert_eq!(nodes.get("T-10485750"), None);
}

#[test]
fn pr_links_are_checked_by_their_bytes() {
    use super::is_pr_link;
    assert!(is_pr_link("[#12](../pull/12)"));
    assert!(is_pr_link("[#12](../pulls/12)"));
    for bad in [
        "[#](../pull/)",
        "[#1a](../pull/1a)",
        "[#12](../pull/13)",
        "[#12]](../pull/12)",
        "[#12](../pull/12",
        "[#12](../pull/12))",
        "[#12] (../pull/12)",
        "#12](../pull/12)",
    ] {
        assert!(!is_pr_link(bad), "{bad}");
    }
}
