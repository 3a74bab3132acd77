//! Hostile planning files: the shapes an attacker (or a broken bot) can
//! give TASK.md to make the validator wrong or slow.

use crate::common::{Repo, stdout};

/// A header far wider than the template's 13 columns, and rows one cell
/// short of it: the missing cell is not searched for (that is quadratic in
/// the width, per row), so the finding names no column.
#[test]
fn a_very_wide_table_is_not_lined_up_cell_by_cell() {
    let repo = Repo::sample();
    let width = 100;
    let names = ["ID", "Title", "Priority", "Points", "Status", "Reviewed"];
    let header: String = (0..width)
        .map(|i| {
            format!(
                "| {} ",
                names.get(i).map_or(format!("c{i}"), |n| n.to_string())
            )
        })
        .collect::<String>()
        + "|";
    let row = format!(
        "| T-001 | a | Low | 1 | Done | 🚀 {}|\n",
        "| x ".repeat(width - 7)
    );
    let text = format!(
        "<!-- changelog-insert-point -->\n{header}\n{}|\n{}",
        "|---".repeat(width),
        row.repeat(5)
    );
    repo.write("planning/TASK.md", text);
    let out = repo
        .lifeline()
        .args(["validate", "--format", "json"])
        .assert()
        .code(1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let short: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "TASK006")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(short, ["this row has 99 cells; the header has 100"; 5]);
}

/// A task row hidden where a reader does not see it — after the last
/// section, or under a dashboard table — is reported, while the content
/// tables around it stay untouched.
#[test]
fn a_task_row_smuggled_outside_the_task_table_is_reported() {
    let repo = Repo::sample();
    let task = repo.read("planning/TASK.md");
    let hidden = format!(
        "{task}\n| Metric | Value |\n|---|---|\n| Velocity | 21 |\n| T-009 | Exfiltrate | - | Low | 1 | Done | 🚀 | @x | - | - | - | Sprint-07-2025 | - |\n"
    );
    repo.write("planning/TASK.md", hidden);
    let out = repo.lifeline().arg("validate").assert().code(1);
    let report = stdout(&out);
    assert!(
        report.contains("error[TASK029]: the task line `T-009` belongs to no table"),
        "{report}"
    );
    assert!(!report.contains("Velocity"), "{report}");
    // A 1 MB value in a Status cell gets no "did you mean" search, and no
    // quadratic work: just the finding.
    let huge = task.replacen("| Review |", &format!("| {} |", "R".repeat(1 << 20)), 1);
    repo.write("planning/TASK.md", huge);
    let out = repo
        .lifeline()
        .args(["validate", "--format", "json"])
        .assert()
        .code(1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "TASK015");
    assert!(
        d["help"].as_str().unwrap().starts_with("use one of:"),
        "{}",
        d["help"]
    );
}
