//! A TASK.md checked in two pieces on two threads gives the findings of
//! one pass, wherever the split falls.

use proptest::prelude::*;

use super::check_split;
use crate::validate::diagnostic::{Diagnostic, Source};

const HEADER: &str = "| ID | Title | Description | Priority | Points | Status | Reviewed | Owner | PR Link | ETA | Depends On | Sprint ID | Notes |";
const SEPARATOR: &str = "|---|---|---|---|---|---|---|---|---|---|---|---|---|";

/// The findings and the sprint ID of one pass, and of a split near
/// `near`, with whether the split was made.
fn both(text: &str, near: usize) -> (Vec<Diagnostic>, Vec<Diagnostic>, bool) {
    let src = Source::new("planning/TASK.md", text.to_string());
    let mut one = Vec::new();
    let (id_one, split_one) = check_split(&src, None, &mut one);
    assert!(!split_one);
    let mut two = Vec::new();
    let (id_two, split) = check_split(&src, Some(near), &mut two);
    assert_eq!(id_one, id_two, "split near {near}");
    (one, two, split)
}

/// Every line start of `text` as a split point.
fn every_split(text: &str) -> usize {
    let mut splits = 0;
    let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1));
    for near in starts {
        let (one, two, split) = both(text, near);
        assert_eq!(one, two, "split near byte {near}");
        splits += usize::from(split);
    }
    splits
}

#[test]
fn the_sample_and_every_fixture_split_anywhere_give_one_pass_findings() {
    let texts = [
        include_str!("../../../tests/fixtures/sample-repo/planning/TASK.md"),
        include_str!("../../../tests/fixtures/corrupt/TASK.bad-cells.md"),
        include_str!("../../../tests/fixtures/corrupt/TASK.bad-enum.md"),
        include_str!("../../../tests/fixtures/corrupt/TASK.crlf-bom.md"),
        include_str!("../../../tests/fixtures/corrupt/TASK.cycle.md"),
        include_str!("../../../tests/fixtures/corrupt/TASK.duplicate-id.md"),
        include_str!("../../../tests/fixtures/corrupt/TASK.missing-dep.md"),
        include_str!("../../../tests/fixtures/corrupt/TASK.short-row.md"),
        include_str!("../../../tests/fixtures/corrupt/TASK.truncated.md"),
    ];
    for text in texts {
        let text = text.trim_start_matches('\u{feff}');
        // Inside the table the rows after the split are a second piece.
        assert!(every_split(text) > 0);
    }
}

#[test]
fn repeats_dependencies_and_sprints_across_the_split_are_found_in_row_order() {
    let row = |id: &str, deps: &str, sprint: &str, status: &str| {
        format!(
            "| {id} | Task {id} | - | High | 3 | {status} | ✔️ | @a | - | 2025-07-10 | {deps} | {sprint} | - |"
        )
    };
    let lines = [
        "**Sprint ID**: Sprint-07".to_string(),
        "**Sprint Status Summary**: ✅ Completed: 1 | **Total: 9**".to_string(),
        HEADER.to_string(),
        SEPARATOR.to_string(),
        row("T-1", "T-4", "Sprint-07", "Done"),
        row("T-2", "T-9, T-5", "Sprint-08", "Review"),
        row("T-3", "-", "Sprint-07", "Done"),
        "| T-4 | cut short |".to_string(),
        row("T-2", "T-1", "Sprint-09", "Blocked"),
        row("T-5", "T-2, T-5", "Sprint-08", "Testing"),
        row("T-6", "T-x", "Sprint-10", "Finished"),
        "| T-7 | Two | - | High | 3 | Done | ✔️ | @a | - | 2025-07-10 | T-3 | Sprint-07 | - | extra |"
            .to_string(),
        row("T-4", "T-1", "Sprint-09", "Done"),
        row("T-1", "-", "Sprint-11", "Done"),
    ];
    let text = lines.join("\n") + "\n";
    let (one, _, _) = both(&text, 0);
    let codes: Vec<&str> = one.iter().map(|d| d.code).collect();
    for code in ["TASK011", "TASK021", "TASK022", "TASK024", "TASK006"] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    // A split near any line start is made (before the first row, right
    // after it): a different share of the rows on each thread each time.
    assert_eq!(every_split(&text), lines.len());
}

#[test]
fn a_split_outside_the_table_is_read_on_one_thread() {
    let text = format!(
        "{HEADER}\n{SEPARATOR}\n| T-1 | a | - | High | 3 | Done | ✔️ | @a | - | - | - | S | - |\n\n```\n| T-1 | fenced |\n```\n| T-1 | stray |\n"
    );
    for near in [
        text.find("```").unwrap(),
        text.find("| T-1 | stray").unwrap(),
    ] {
        let (one, two, split) = both(&text, near);
        assert_eq!(one, two);
        assert!(!split, "the lines before the split end outside the table");
    }
}

/// A line of a table-shaped TASK.md: task rows (valid, repeated IDs,
/// bad cells, short and long), headers, separators, fences, other lines.
fn line() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        (1..12u32).prop_map(|n| format!("T-{n}")),
        (1..4u32).prop_map(|n| format!("T-00{n}")),
        Just("X-1".to_string()),
        Just(String::new()),
    ];
    let deps = prop_oneof![
        Just("-".to_string()),
        prop::collection::vec(1..14u32, 1..3).prop_map(|v| v
            .iter()
            .map(|n| format!("T-{n}"))
            .collect::<Vec<_>>()
            .join(", ")),
        Just("T-x".to_string()),
    ];
    let sprint = prop_oneof![
        Just("Sprint-07"),
        Just("Sprint-07"),
        Just("Sprint-08"),
        Just("-"),
        Just("")
    ];
    let status = prop_oneof![Just("Done"), Just("Review"), Just("done"), Just("Nope")];
    let row = (id, deps, sprint, status, 11..15usize).prop_map(|(id, deps, sprint, status, n)| {
        let cells = [
            id.as_str(),
            "Title",
            "-",
            "High",
            "3",
            status,
            "✔️",
            "@a",
            "-",
            "2025-07-10",
            deps.as_str(),
            sprint,
            "-",
            "more",
        ];
        format!("| {} |", cells[..n.min(cells.len())].join(" | "))
    });
    prop_oneof![
        8 => row,
        1 => Just(HEADER.to_string()),
        1 => Just(SEPARATOR.to_string()),
        1 => Just("```".to_string()),
        1 => Just(String::new()),
        1 => Just("| Metric | Value |".to_string()),
        1 => Just("**Sprint ID**: Sprint-07".to_string()),
        1 => Just("**Sprint Status Summary**: ✅ Completed: 2 | **Total: 9**".to_string()),
    ]
}

proptest! {
    #[test]
    fn two_pieces_give_the_findings_of_one_pass(
        lines in prop::collection::vec(line(), 0..40),
        near in 0..4000usize,
        crlf in any::<bool>(),
    ) {
        let text = format!("{HEADER}\n{SEPARATOR}\n{}", lines.join(if crlf { "\r\n" } else { "\n" }));
        let (one, two, _) = both(&text, near % (text.len() + 1));
        prop_assert_eq!(one, two);
    }
}
