//! What a new user meets first: commands that work without flags, help
//! that shows the way, flags that do what the help says.

use crate::common;

use common::{Repo, stderr, stdout};

#[test]
fn checkpoint_create_needs_no_flags() {
    let repo = Repo::sample();
    let out = repo
        .lifeline()
        .args(["checkpoint", "create"])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(text.starts_with("manual-"), "{text}");
    let out = repo
        .lifeline()
        .args(["checkpoint", "show", "latest", "--format", "json"])
        .assert()
        .code(0);
    let manifest: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(manifest["type"], "manual", "{manifest}");
    assert_eq!(manifest["operation"], "manual checkpoint", "{manifest}");
}

/// The global help says `--quiet` prints nothing but `checkpoint create`'s
/// ID; every command keeps to that, on success and on error.
#[test]
fn quiet_does_what_the_global_help_says() {
    let repo = Repo::sample();
    let help = stdout(&repo.lifeline().arg("--help").assert().code(0));
    assert!(
        help.contains("-q, --quiet          Print nothing (checkpoint create: its ID alone); the exit code tells the"),
        "{help}"
    );
    let out = repo
        .lifeline()
        .args(["checkpoint", "create", "--quiet"])
        .assert()
        .code(0);
    let id = stdout(&out);
    assert!(
        id.starts_with("manual-") && id.ends_with('\n') && id.lines().count() == 1,
        "{id}"
    );
    assert_eq!(stderr(&out), "");
    for args in [
        &["validate", "--quiet"][..],
        &["checkpoint", "list", "--quiet"],
        &["config", "show", "--quiet"],
        &["audit", "verify", "--quiet"],
    ] {
        let out = repo.lifeline().args(args).assert().code(0);
        assert_eq!(stdout(&out), "", "{args:?}");
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    repo.write("planning/TASK.md", "");
    let out = repo.lifeline().args(["validate", "-q"]).assert().code(1);
    assert_eq!(stdout(&out), "");
    let out = repo
        .lifeline()
        .args(["validate", "-q", "nope.md"])
        .assert()
        .code(2);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
}

#[test]
fn group_commands_have_examples_and_the_top_level_help_shows_the_adopting_path() {
    let repo = Repo::sample();
    for group in ["checkpoint", "audit", "incident", "config"] {
        let out = repo.lifeline().args([group, "--help"]).assert().code(0);
        let text = stdout(&out);
        assert!(
            text.contains(&format!("Examples:\n  lifeline {group} ")),
            "{group}: {text}"
        );
    }
    let text = stdout(&repo.lifeline().arg("--help").assert().code(0));
    let start = &text[text
        .find("Start with, in your repository:")
        .expect("a start path")..];
    assert!(start.contains("lifeline init --starter"), "{start}");
    assert!(start.contains("lifeline validate"), "{start}");
    assert!(start.contains("git add "), "{start}");
    // --color is one line, in the short help and the long one.
    for flag in ["-h", "--help"] {
        let text = stdout(&repo.lifeline().args(["checkpoint", flag]).assert().code(0));
        let color: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.contains("--color"))
            .take_while(|l| !l.trim().is_empty() && !l.contains("--help"))
            .collect();
        assert_eq!(color.len(), 1, "{flag}: {color:?}");
        assert!(color[0].contains("auto (a terminal without NO_COLOR), always, never"));
    }
}
