//! `lifeline validate` from the command line: exit codes, formats, paths,
//! and the GitHub Actions integration.

use crate::common;

use common::{Repo, stderr, stdout};

#[test]
fn healthy_sample_is_valid() {
    let repo = Repo::sample();
    let out = repo.lifeline().arg("validate").assert().code(0);
    assert_eq!(stdout(&out), "validated 3 files: all valid\n");
}

/// Outside any repository the answer is known without asking git (the
/// walk up to `/` or the file system's boundary found no `.git`): a
/// `validate --root` of a plain folder, as the large-file benchmark runs
/// it, starts no git process. Inside a repository, likewise none.
#[test]
fn a_root_outside_git_is_known_without_starting_git() {
    let no_git = common::NoGit::new();
    let plain = Repo::bare_dir();
    plain.write("planning/TASK.md", Repo::sample().read("planning/TASK.md"));
    let out = plain
        .lifeline()
        .env("PATH", no_git.dir.path())
        .args(["validate", "--root"])
        .arg(plain.path())
        .arg("planning/TASK.md")
        .assert();
    assert_eq!(out.get_output().status.code(), Some(0), "{}", stderr(&out));
    let out = plain
        .lifeline()
        .env("PATH", no_git.dir.path())
        .arg("validate")
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains("is not inside a git repository"),
        "{}",
        stderr(&out)
    );
    let repo = Repo::sample();
    repo.lifeline()
        .env("PATH", no_git.dir.path())
        .arg("validate")
        .assert()
        .code(0);
    assert_eq!(no_git.started(), "");
}

#[test]
fn every_corrupt_fixture_is_caught_with_its_position() {
    let cases = [
        (
            "TASK.bad-cells.md",
            "error[TASK017]",
            "planning/TASK.md:29:70",
        ),
        (
            "TASK.bad-enum.md",
            "error[TASK014]",
            "planning/TASK.md:26:65",
        ),
        (
            "TASK.conflict.md",
            "error[FILE004]",
            "planning/TASK.md:26:1",
        ),
        ("TASK.cycle.md", "error[TASK022]", "planning/TASK.md:24:127"),
        (
            "TASK.duplicate-id.md",
            "error[TASK011]",
            "planning/TASK.md:29:3",
        ),
        ("TASK.empty.md", "error[FILE005]", "planning/TASK.md"),
        (
            "TASK.invalid-utf8.md",
            "error[FILE002]",
            "planning/TASK.md:",
        ),
        (
            "TASK.missing-dep.md",
            "error[TASK021]",
            "planning/TASK.md:27:114",
        ),
        (
            "TASK.short-row.md",
            "error[TASK006]",
            "planning/TASK.md:25:1",
        ),
        (
            "TASK.truncated.md",
            "error[TASK006]",
            "planning/TASK.md:28:1",
        ),
    ];
    for (fixture, header, location) in cases {
        let repo = Repo::sample();
        repo.corrupt(fixture, "planning/TASK.md");
        let out = repo
            .lifeline()
            .args(["validate", "--color", "never"])
            .assert()
            .code(1);
        let text = stdout(&out);
        assert!(text.contains(header), "{fixture}: {text}");
        assert!(
            text.contains(&format!("--> {location}")),
            "{fixture}: {text}"
        );
    }
}

#[test]
fn crlf_and_bom_are_valid() {
    let repo = Repo::sample();
    repo.corrupt("TASK.crlf-bom.md", "planning/TASK.md");
    repo.lifeline().arg("validate").assert().code(0);
}

#[test]
fn a_missing_protected_file_is_a_finding() {
    let repo = Repo::sample();
    std::fs::remove_file(repo.join(".github/labels.yml")).unwrap();
    let out = repo.lifeline().arg("validate").assert().code(1);
    assert!(
        stdout(&out).contains("error[FILE001]: protected file `.github/labels.yml` does not exist")
    );
}

#[test]
fn a_missing_explicit_path_is_a_usage_error() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args(["validate", "planning/NOPE.md"])
        .assert()
        .code(2);
    assert_eq!(
        stderr(&out),
        "error: planning/NOPE.md: no such file\n  help: check the path; with no path, lifeline validates the protected set\n"
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn explicit_paths_pick_the_validator_by_config_then_name() {
    let repo = Repo::sample();
    repo.corrupt("TASK.duplicate-id.md", "elsewhere/TASK.copy.md");
    repo.corrupt("labels.bad.yml", "elsewhere/labels.yml");
    let out = repo
        .lifeline()
        .args([
            "validate",
            "elsewhere/TASK.copy.md",
            "elsewhere/labels.yml",
            "planning/TASK.md",
        ])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.contains("--> elsewhere/TASK.copy.md:29:3"), "{text}");
    assert!(text.contains("error[LABEL"), "{text}");
    assert!(text.contains("validated 3 files: 6 errors"), "{text}");
}

#[test]
fn paths_are_relative_to_the_working_directory() {
    let repo = Repo::sample();
    repo.corrupt("TASK.duplicate-id.md", "planning/TASK.md");
    let out = repo
        .lifeline()
        .current_dir(repo.join("planning"))
        .args(["validate", "TASK.md"])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("--> planning/TASK.md:29:3"));
}

#[test]
fn quiet_prints_nothing() {
    let repo = Repo::sample();
    repo.corrupt("TASK.cycle.md", "planning/TASK.md");
    let out = repo
        .lifeline()
        .args(["validate", "--quiet"])
        .assert()
        .code(1);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
    let out = repo
        .lifeline()
        .args(["validate", "-q", "missing.md"])
        .assert()
        .code(2);
    assert_eq!(stderr(&out), "");
}

#[test]
fn deny_warnings_fails_on_warnings() {
    let repo = Repo::sample();
    let task = repo
        .read("planning/TASK.md")
        .replace("<!-- changelog-insert-point -->\n", "");
    repo.write("planning/TASK.md", task);
    let out = repo.lifeline().arg("validate").assert().code(0);
    assert!(stdout(&out).contains("warning[TASK028]"));
    repo.lifeline()
        .args(["validate", "--deny-warnings"])
        .assert()
        .code(1);
}

#[test]
fn json_format() {
    let repo = Repo::sample();
    repo.corrupt("TASK.duplicate-id.md", "planning/TASK.md");
    let out = repo
        .lifeline()
        .args(["validate", "--format", "json"])
        .assert()
        .code(1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["valid"], false);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "TASK011");
    assert_eq!(d["path"], "planning/TASK.md");
    assert_eq!(d["line"], 29);
    assert_eq!(d["column"], 3);
    assert_eq!(d["notes"][0]["line"], 25);
}

#[test]
fn github_format_and_actions_integration() {
    let repo = Repo::sample();
    repo.corrupt("TASK.duplicate-id.md", "planning/TASK.md");
    let summary = repo.join("summary.md");
    let outputs = repo.join("outputs.txt");
    let out = repo
        .lifeline()
        .arg("validate")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(
        text.starts_with("::error file=planning/TASK.md,line=29,col=3,endLine=29,endColumn=8,title=TASK011::duplicate task ID `T-002`"),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("planning/TASK.md")
    );
    assert_eq!(
        std::fs::read_to_string(&outputs).unwrap(),
        "valid=false\nerrors=1\nwarnings=0\n"
    );
}

#[test]
fn root_is_the_git_top_level_or_given() {
    let repo = Repo::sample();
    repo.lifeline()
        .current_dir(repo.join("docs"))
        .arg("validate")
        .assert()
        .code(0);
    let plain = Repo::bare_dir();
    let out = plain.lifeline().arg("validate").assert().code(2);
    assert!(
        stderr(&out).contains("is not inside a git repository"),
        "{}",
        stderr(&out)
    );
    let out = plain
        .lifeline()
        .args(["validate", "--root"])
        .arg(repo.path())
        .assert()
        .code(0);
    assert_eq!(stdout(&out), "validated 3 files: all valid\n");
}

#[test]
fn every_command_has_help_with_an_example() {
    let repo = Repo::sample();
    for args in [
        &["validate", "--help"][..],
        &["init", "--help"],
        &["config", "show", "--help"],
    ] {
        let out = repo.lifeline().args(args).assert().code(0);
        let text = stdout(&out);
        assert!(text.contains("Examples:"), "{args:?}: {text}");
        assert!(text.contains("Exit codes:"), "{args:?}: {text}");
    }
}

#[test]
fn sprint_id_is_checked_across_files() {
    let repo = Repo::sample();
    let config = repo
        .read("planning/sprint.config.json")
        .replace("Sprint-07-2025", "Sprint-08-2025")
        .replace("\"sprint_number\": 7", "\"sprint_number\": 8");
    repo.write("planning/sprint.config.json", config);
    let out = repo
        .lifeline()
        .args(["validate", "--format", "json"])
        .assert()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "XREF001");
    assert_eq!(d["level"], "warning");
    assert_eq!(d["path"], "planning/TASK.md");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(6), Some(16))
    );
    assert_eq!(
        d["message"],
        "Sprint ID `Sprint-07-2025` disagrees with `planning/sprint.config.json`, which says `Sprint-08-2025`"
    );
    assert_eq!(doc["diagnostics"].as_array().unwrap().len(), 1);
}

#[test]
fn a_file_no_validator_is_chosen_for_is_not_reported_valid() {
    let repo = Repo::sample();
    repo.write("notes.md", "| T-001 | whatever |\n");
    let out = repo
        .lifeline()
        .args(["validate", "planning/TASK.md", "notes.md"])
        .assert()
        .code(2);
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.starts_with("error: notes.md was not validated: lifeline.toml does not name it"),
        "{err}"
    );
    assert!(
        err.contains(
            "`lifeline validate --validator <task-md|sprint-config|labels|json|yaml> notes.md`"
        ),
        "{err}"
    );
    // Chosen explicitly, it is validated.
    repo.lifeline()
        .args(["validate", "--validator", "task-md", "notes.md"])
        .assert()
        .code(1);
    // A file lifeline.toml marks `none` is not validated either.
    repo.write("docs/sprint-archives/old.md", "anything\n");
    let out = repo
        .lifeline()
        .args(["validate", "docs/sprint-archives/old.md"])
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains("lifeline.toml gives it the validator `none`"),
        "{}",
        stderr(&out)
    );
}

/// The sprint template's multi-table TASK.md, with the real binary: valid,
/// and a task line appended after the last section is caught.
#[test]
fn a_multi_table_sprint_file_is_valid_and_a_stray_task_line_is_not() {
    let repo = Repo::sample();
    let multi = include_str!("../fixtures/multi-table/planning/TASK.md");
    repo.write("planning/TASK.md", multi);
    let config = repo
        .read("planning/sprint.config.json")
        .replace("Sprint-07-2025", "Sprint-08-2025")
        .replace("\"sprint_number\": 7", "\"sprint_number\": 8");
    repo.write("planning/sprint.config.json", config);
    let out = repo.lifeline().arg("validate").assert().code(0);
    assert_eq!(stdout(&out), "validated 3 files: all valid\n");
    repo.write("planning/TASK.md", format!("{multi}| T-999 | broken\n"));
    let out = repo.lifeline().arg("validate").assert().code(1);
    let text = stdout(&out);
    assert!(
        text.contains("error[TASK029]: the task line `T-999` belongs to no table"),
        "{text}"
    );
    assert!(text.contains("--> planning/TASK.md:78:1"), "{text}");
}

#[test]
fn a_header_of_thousands_of_unknown_columns_is_one_short_finding() {
    let repo = Repo::sample();
    let task_md = repo.read("planning/TASK.md");
    let wide: String = (0..20_000).map(|i| format!(" Extra {i} |")).collect();
    repo.write(
        "planning/TASK.md",
        task_md.replacen("| Notes |\n", &format!("| Notes |{wide}\n"), 1),
    );
    let out = repo
        .lifeline()
        .args(["validate", "planning/TASK.md"])
        .assert()
        .code(1);
    let text = stdout(&out);
    assert_eq!(text.matches("warning[TASK004]").count(), 1, "{text}");
    assert!(
        text.contains("20000 unknown columns: `Extra 0`, `Extra 1`, `Extra 2`, `Extra 3`, `Extra 4` and 19995 more"),
        "{text}"
    );
    // Before, each unknown column was a finding quoting the header: 20,000
    // of them.
    assert!(text.len() < 20_000, "{} bytes of output", text.len());
}
