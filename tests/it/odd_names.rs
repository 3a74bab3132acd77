//! A protected file whose name lifeline cannot carry (not UTF-8, a
//! backslash, an escape sequence, a line break) is a `FILE009` finding of
//! `validate` in every format, its name shown escaped as `checkpoint
//! create` shows it, never raw: a detector that cannot see a file says so.

use std::os::unix::ffi::OsStrExt;

use crate::common::{Repo, stderr, stdout};

/// The escaped names, as `checkpoint create` shows them.
const ESCAPED: [&str; 4] = [
    "docs/sprint-archives/back\\\\slash.md",
    "docs/sprint-archives/bad\\xff.md",
    "docs/sprint-archives/esc\\x1b[31mred.md",
    "docs/sprint-archives/new\\x0aline.md",
];

/// The sample repository with four odd names under the protected glob
/// `docs/sprint-archives/**`.
fn repo_with_odd_names() -> Repo {
    let repo = Repo::sample();
    let dir = repo.join("docs/sprint-archives");
    for name in [
        &b"back\\slash.md"[..],
        b"bad\xff.md",
        b"esc\x1b[31mred.md",
        b"new\nline.md",
    ] {
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(name)), "x\n").unwrap();
    }
    repo
}

fn validate(repo: &Repo, format: &str) -> (String, String) {
    let assert = repo
        .lifeline()
        .args(["validate", "--format", format])
        .assert()
        .code(1);
    (stdout(&assert), stderr(&assert))
}

#[test]
fn odd_names_are_one_file009_each_in_text_never_raw() {
    let repo = repo_with_odd_names();
    let (out, err) = validate(&repo, "text");
    let all = format!("{out}{err}");
    assert_eq!(all.matches("error[FILE009]").count(), 4, "{all}");
    for name in ESCAPED {
        assert!(all.contains(&format!("`{name}`")), "{name} missing: {all}");
    }
    assert!(
        !all.contains('\x1b'),
        "a raw escape reached the terminal: {all}"
    );
    assert!(
        !all.contains("new\nline"),
        "a raw newline split a name: {all}"
    );
    assert!(!all.contains('\u{fffd}'), "a lossy name was printed: {all}");
    assert!(all.contains("help: rename the file"), "{all}");
    assert!(all.contains("lifeline does not read it"), "{all}");
}

#[test]
fn odd_names_are_file009_in_json_sarif_and_github() {
    let repo = repo_with_odd_names();

    let (json, _) = validate(&repo, "json");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["valid"], false);
    let odd: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "FILE009")
        .map(|d| {
            assert_eq!(d["level"], "error");
            d["path"].as_str().unwrap()
        })
        .collect();
    assert_eq!(odd, ESCAPED);

    let (sarif, _) = validate(&repo, "sarif");
    assert!(!sarif.contains('\x1b'));
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"FILE009"), "{rules:?}");
    let results: Vec<&serde_json::Value> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "FILE009")
        .collect();
    assert_eq!(results.len(), 4);
    for (result, name) in results.iter().zip(ESCAPED) {
        assert_eq!(result["level"], "error");
        let text = result["message"]["text"].as_str().unwrap();
        assert!(text.contains(&format!("`{name}`")), "{text}");
    }

    let (github, _) = validate(&repo, "github");
    assert_eq!(github.matches("title=FILE009::").count(), 4, "{github}");
    assert!(!github.contains('\x1b'));
    assert_eq!(github.lines().count(), 4, "{github}");
}

/// The name `validate` shows is the one `checkpoint create` shows.
#[test]
fn validate_and_checkpoint_create_show_the_same_escaped_names() {
    let repo = repo_with_odd_names();
    let created = repo
        .lifeline()
        .args(["checkpoint", "create"])
        .assert()
        .code(0);
    let warned = stderr(&created);
    let (shown, _) = validate(&repo, "text");
    for name in ESCAPED {
        assert!(
            warned.contains(&format!("`{name}` was not captured")),
            "{warned}"
        );
        assert!(shown.contains(&format!("--> {name}\n")), "{shown}");
    }
}

#[test]
fn a_clean_repository_still_validates_and_renaming_fixes_it() {
    let repo = Repo::sample();
    repo.lifeline().arg("validate").assert().code(0);
    let repo = repo_with_odd_names();
    repo.lifeline().arg("validate").assert().code(1);
    let dir = repo.join("docs/sprint-archives");
    for (i, entry) in std::fs::read_dir(&dir).unwrap().enumerate() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().unwrap().as_bytes() != b"README.md" {
            std::fs::rename(&path, dir.join(format!("renamed-{i}.md"))).unwrap();
        }
    }
    repo.lifeline().arg("validate").assert().code(0);
}

/// A guarded step in a repository that already holds odd names: they were
/// not captured at the checkpoint, so the step did not break them.
#[test]
fn a_step_is_not_blamed_for_odd_names_that_were_there_before() {
    let repo = repo_with_odd_names();
    repo.lifeline().args(["run", "--", "true"]).assert().code(0);
    assert!(
        repo.join("docs/sprint-archives")
            .join(std::ffi::OsStr::from_bytes(b"bad\xff.md"))
            .exists()
    );
}

/// In GitHub Actions the step summary names each odd file, escaped, and
/// the step output says the set is not valid.
#[test]
fn the_step_summary_names_odd_names_escaped() {
    let repo = repo_with_odd_names();
    let ci = tempfile::tempdir().unwrap();
    let summary = ci.path().join("summary.md");
    let outputs = ci.path().join("outputs");
    repo.lifeline()
        .arg("validate")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .assert()
        .code(1);
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(summary.matches("**FILE009**").count(), 4, "{summary}");
    for name in ESCAPED {
        assert!(summary.contains(&format!("`{name}`")), "{summary}");
    }
    assert!(!summary.contains('\x1b'), "{summary}");
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    assert!(outputs.contains("valid=false"), "{outputs}");
    assert!(outputs.contains("errors=4"), "{outputs}");
}

/// A step that leaves a file lifeline cannot name under a protected glob
/// fails as a parse error (not corruption: no known file was damaged),
/// and its outcome is on record, the name escaped.
#[test]
fn a_step_that_makes_an_odd_name_fails_as_a_parse_error_on_record() {
    let repo = Repo::sample();
    let ran = repo
        .lifeline()
        .args(["run", "--format", "json", "--", "sh", "-c"])
        .arg("printf x > 'docs/sprint-archives/new\\b.md'")
        .assert()
        .code(1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&ran)).unwrap();
    assert_eq!(report["classification"], "parse-error", "{report}");
    assert_eq!(report["findings"][0]["code"], "FILE009", "{report}");
    assert_eq!(
        report["invalid_files"],
        serde_json::json!(["docs/sprint-archives/new\\\\b.md"])
    );
    let log = std::fs::read_dir(repo.join("docs/audit"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    let outcome: serde_json::Value = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .rfind(|e| e["component"] == "run" && e["operation"] == "outcome")
        .expect("the outcome is on record");
    assert_eq!(outcome["result"], "failure");
    assert_eq!(
        outcome["details"]["context"]["classification"],
        "parse-error"
    );
    assert_eq!(
        outcome["details"]["context"]["invalid_files"],
        serde_json::json!(["docs/sprint-archives/new\\\\b.md"])
    );
}

/// A step that leaves a symlink or a FIFO where a protected file may be
/// fails on the `FILE006`/`FILE007` finding, and its outcome is on record:
/// the path is named among the invalid files but never checksummed (that
/// would follow the link or wait on the FIFO).
#[test]
fn a_step_that_leaves_a_link_or_fifo_fails_on_record() {
    for (make, code) in [
        (
            "ln -s ../../planning/TASK.md docs/sprint-archives/link.md",
            "FILE006",
        ),
        ("mkfifo docs/sprint-archives/pipe.md", "FILE007"),
    ] {
        let repo = Repo::sample();
        let ran = repo
            .lifeline()
            .args(["run", "--format", "json", "--", "sh", "-c", make])
            .assert()
            .code(1);
        let report: serde_json::Value = serde_json::from_str(&stdout(&ran)).unwrap();
        assert_eq!(report["findings"][0]["code"], code, "{report}");
        let log = std::fs::read_dir(repo.join("docs/audit"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect::<String>();
        let outcome: serde_json::Value = log
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .rfind(|e| e["component"] == "run" && e["operation"] == "outcome")
            .expect("the outcome is on record");
        assert_eq!(outcome["result"], "failure", "{make}");
        assert_eq!(
            outcome["details"]["context"]["invalid_files"], report["invalid_files"],
            "{make}"
        );
        assert_eq!(outcome["file_checksums"], serde_json::json!({}), "{make}");
    }
}
