//! Claims of `docs/security.md` that had no test able to fail: each test
//! here names the sentence it holds, and runs the real path (the binary in
//! a real repository with a bare origin, the client against real HTTP on
//! loopback, the fake GitHub).

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::common::{Repo, stdout};
use lifeline::github::fake::FakeGitHub;
use lifeline::github::{ApiError, Client, ClientOptions};

const TOKEN: &str = "ghs_0123456789abcdefghijABCDEFGHIJ0123";

fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The sample repository with `workflows` committed beside its own and a
/// bare origin it has pushed to.
fn with_origin(workflows: &[&str]) -> (Repo, tempfile::TempDir) {
    let repo = Repo::sample();
    for w in workflows {
        repo.write(
            &format!(".github/workflows/{w}"),
            "on: workflow_dispatch\njobs: {}\n",
        );
    }
    if !workflows.is_empty() {
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "workflows"]);
    }
    let origin = tempfile::tempdir().unwrap();
    git_in(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    repo.git(&["remote", "add", "origin", origin.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    (repo, origin)
}

/// "Reading and writing GitHub": workflow names are percent-encoded into
/// URLs, so they cannot add path segments or parameters. `recover` takes
/// them from `lifeline.toml` and, for `complete-automation-failure`, from
/// whatever files are committed under `.github/workflows/`.
#[test]
fn a_workflow_name_cannot_add_path_segments_or_parameters_to_the_api_url() {
    const ODD: &str = "nightly sync?v=2#x.yml";
    let (repo, _origin) = with_origin(&[ODD]);
    repo.write(
        "lifeline.toml",
        format!("[recover]\nsync_workflows = [\"{ODD}\"]\n"),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "sync workflow"]);
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.workflows.push((ODD.to_string(), "active".to_string())));
    let state = || {
        fake.with(|s| {
            s.workflows
                .iter()
                .find(|(w, _)| w == ODD)
                .map(|(_, state)| state.clone())
                .unwrap()
        })
    };
    let recover = |args: &[&str]| {
        repo.lifeline()
            .env("GITHUB_API_URL", fake.url())
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_REPOSITORY", "acme/plan")
            .env("GITHUB_ACTOR", "oncall")
            .arg("recover")
            .arg("--yes")
            .args(args)
            .assert()
            .code(0)
    };
    let out = recover(&["sync-failure-cascade", "--severity", "P2"]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("disabled {ODD} through the GitHub API")),
        "{text}"
    );
    assert_eq!(state(), "disabled_manually");
    assert!(repo.join(&format!(".github/workflows/{ODD}")).exists());
    let encoded = "nightly%20sync%3Fv%3D2%23x.yml";
    assert!(
        fake.log()
            .iter()
            .any(|l| l.method == "PUT" && l.url.ends_with(&format!("/{encoded}/disable"))),
        "{:?}",
        fake.log()
    );
    let id = text
        .split_whitespace()
        .find(|w| w.starts_with("INC-"))
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    let out = recover(&["resume", &id]);
    assert!(
        stdout(&out).contains(&format!("re-enabled {ODD} through the GitHub API")),
        "{}",
        stdout(&out)
    );
    assert_eq!(state(), "active");
    assert!(
        fake.log()
            .iter()
            .any(|l| l.method == "PUT" && l.url.ends_with(&format!("/{encoded}/enable"))),
        "{:?}",
        fake.log()
    );
}

/// "Reading and writing GitHub": branch names are percent-encoded into
/// URLs. The default branch is what the API answers, so an answer cannot
/// add a parameter to the next request either.
#[test]
fn a_branch_name_cannot_add_parameters_to_the_runs_url() {
    let repo = Repo::sample();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.default_branch = "main&per_page=1&branch=other".into());
    repo.lifeline()
        .arg("health")
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/plan")
        .assert()
        .code(0);
    let runs: Vec<String> = fake
        .log()
        .into_iter()
        .filter(|l| l.url.contains("/runs?"))
        .map(|l| l.url)
        .collect();
    assert!(!runs.is_empty(), "the runs were read: {:?}", fake.log());
    for url in &runs {
        assert!(
            url.contains("?branch=main%26per_page%3D1%26branch%3Dother&"),
            "{url}"
        );
    }
}

/// "Reading and writing GitHub": the token goes only to the configured API
/// origin. A redirect to another host is where a client would carry it
/// along.
#[test]
fn a_redirect_to_another_host_never_carries_the_token() {
    let other = FakeGitHub::start().unwrap();
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let api_url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let target = format!("{}/repos/acme/plan/labels", other.url());
    let redirector = std::thread::spawn(move || {
        let request = server.recv().unwrap();
        let location = tiny_http::Header::from_bytes("Location", target.as_bytes()).unwrap();
        request
            .respond(tiny_http::Response::empty(302).with_header(location))
            .unwrap();
    });
    let client = Client::new(ClientOptions {
        api_url,
        token: Some(TOKEN.into()),
        ..ClientOptions::default()
    })
    .with_sleeper(Arc::new(|_| {}));
    let answer = client.get("repos/acme/plan/labels");
    redirector.join().unwrap();
    let log = other.log();
    assert!(
        log.iter().all(|l| !l.authorized),
        "the token went to another host: {log:?} ({answer:?})"
    );
}

/// A listener that reads each request and closes the connection without
/// answering, counting the requests it got.
struct Mute {
    url: String,
    got: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Mute {
    fn start() -> Mute {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counted, stopped) = (Arc::clone(&got), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let mut conn = conn.unwrap();
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        Mute {
            url,
            got,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Mute {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// "Reading and writing GitHub": a request that got no answer is retried
/// only when it is not a `POST`, so a lost answer cannot open an issue
/// twice.
#[test]
fn a_post_that_got_no_answer_is_sent_once_and_a_get_is_retried() {
    let client = |url: &str| {
        Client::new(ClientOptions {
            api_url: url.to_string(),
            token: Some(TOKEN.into()),
            ..ClientOptions::default()
        })
        .with_sleeper(Arc::new(|_| {}))
    };
    let mute = Mute::start();
    let body = serde_json::json!({"title": "Alert", "body": "x"});
    let err = client(&mute.url)
        .send("POST", "repos/acme/plan/issues", Some(&body))
        .unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert_eq!(mute.got.load(Ordering::SeqCst), 1, "the POST went once");
    let retries = ClientOptions::default().retries as usize;
    assert!(retries > 0);
    let mute = Mute::start();
    let err = client(&mute.url).get("repos/acme/plan/labels").unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert_eq!(
        mute.got.load(Ordering::SeqCst),
        retries + 1,
        "a GET is retried"
    );
}

/// "Emergency recovery": pathspecs are literal (`GIT_LITERAL_PATHSPECS=1`),
/// so a file name such as `:(glob)**` names one file, not every file. Here
/// it is a protected file the runbook restores; without literal pathspecs
/// `git add -A -- ':(glob)**'` would commit the work in progress beside it.
#[test]
fn a_file_named_like_a_magic_pathspec_commits_only_itself() {
    const MAGIC: &str = ":(glob)**";
    let (repo, _origin) = with_origin(&[]);
    repo.write(
        "lifeline.toml",
        format!("[[protect]]\npath = \"{MAGIC}\"\n"),
    );
    repo.write(MAGIC, "good\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "a protected file"]);
    repo.checkpoint("task-sync", "before sync");
    repo.write(MAGIC, "broken\n");
    repo.write("unrelated.txt", "work in progress\n");
    repo.lifeline()
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P1",
            "--checkpoint",
            "latest",
            "--commit",
        ])
        .assert()
        .code(0);
    assert_eq!(repo.read(MAGIC), "good\n");
    let files = repo.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert!(files.contains("task-sync.yml.disabled"), "{files}");
    assert!(
        !files.contains("unrelated.txt"),
        "a file the runbook did not change was committed: {files}"
    );
    assert!(
        repo.git(&["status", "--porcelain"])
            .contains("?? unrelated.txt")
    );
}

/// "Guarded steps": findings quoted into the outcome entry and into what
/// `run` prints are redacted too. The step writes the token into a
/// Priority cell of TASK.md, which the finding quotes.
#[test]
fn findings_quoted_from_a_steps_broken_file_are_redacted_everywhere() {
    const SECRET: &str = "plain-looking-secret-42";
    let repo = Repo::sample();
    let outputs = repo.join("outputs.txt");
    let mut sinks = Vec::new();
    for format in ["text", "json"] {
        let out = repo
            .lifeline()
            .env("GITHUB_TOKEN", SECRET)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &outputs)
            .args(["run", "--format", format, "--", "sh", "-c"])
            .arg("sed -i \"s/| High |/| $GITHUB_TOKEN |/\" planning/TASK.md")
            .assert()
            .code(1);
        let output = out.get_output();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        sinks.push((format!("{format}: stdout and stderr"), stdout + &stderr));
    }
    sinks.push((
        "$GITHUB_OUTPUT".to_string(),
        std::fs::read_to_string(&outputs).unwrap(),
    ));
    for entry in std::fs::read_dir(repo.join("docs/audit")).unwrap() {
        let path = entry.unwrap().path();
        sinks.push((
            "the audit log".to_string(),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    for (what, text) in &sinks {
        assert!(!text.contains(SECRET), "the token reached {what}:\n{text}");
    }
    for (what, text) in sinks.iter().filter(|(what, _)| !what.starts_with('$')) {
        assert!(
            text.contains("`[REDACTED]"),
            "{what} quotes the cell, redacted:\n{text}"
        );
    }
}

/// "Guarded steps": the lock is never inherited by the step (`O_CLOEXEC`):
/// a step that left a background process holding it would block every
/// later step. The step looks through its own open files for the lock.
#[test]
fn the_step_lock_is_not_inherited_by_the_step() {
    let repo = Repo::sample();
    let script = "for f in /proc/$$/fd/*; do readlink \"$f\"; done > fds.txt; \
                  ! grep -q lifeline-run.lock fds.txt";
    repo.lifeline()
        .args(["run", "--", "sh", "-c", script])
        .assert()
        .code(0);
    let fds = repo.read("fds.txt");
    assert!(fds.contains("fds.txt"), "the step listed its files: {fds}");
    assert!(!fds.contains("lifeline-run.lock"), "{fds}");
}

/// "The audit trail and secrets": the literal values of the key variables
/// and of every `[audit] secret_env` variable of 4 bytes or more are
/// registered, whatever they look like. A witness's private key
/// (`LIFELINE_COSIGN_KEY`) is as secret as the log's.
#[test]
fn every_key_variable_and_short_configured_secret_is_redacted() {
    let repo = Repo::sample();
    repo.write("lifeline.toml", "[audit]\nsecret_env = [\"PIN\"]\n");
    let values = [
        ("GH_TOKEN", "gh-token-value-1"),
        ("LIFELINE_AUDIT_KEY", &"a1".repeat(32)),
        ("LIFELINE_CHECKPOINT_KEY", &"c3".repeat(32)),
        ("LIFELINE_COSIGN_KEY", &"e5".repeat(32)),
        ("PIN", "wxyz"),
    ];
    let script: String = values
        .iter()
        .map(|(k, _)| format!("echo \"{k}=${k}\"; "))
        .collect();
    let mut cmd = repo.lifeline();
    for (k, v) in values {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["run", "--", "sh", "-c", &script])
        .assert()
        .code(0);
    let text = stdout(&out);
    for (k, v) in values {
        assert!(text.contains(&format!("{k}=[REDACTED]")), "{k}: {text}");
        assert!(!text.contains(v), "{k}'s value was printed: {text}");
    }
}

/// `recover --commit --push` as a real process: its exit code and stdout.
fn recover_and_push(repo: &Repo) -> (i32, String) {
    let out = repo
        .lifeline()
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P2",
            "--commit",
            "--push",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), text)
}

fn origin_main(origin: &Path) -> String {
    git_in(origin, &["rev-parse", "main"])
}

/// "What is pushed": a conflict stops without pushing, with the manual
/// steps, and leaves no rebase half done.
#[test]
fn a_rebase_conflict_stops_without_pushing_and_leaves_no_rebase_behind() {
    let (repo, origin) = with_origin(&[]);
    let other = tempfile::tempdir().unwrap();
    git_in(
        other.path(),
        &["clone", "-q", origin.path().to_str().unwrap(), "."],
    );
    // The name the runbook renames task-sync.yml to, with other content.
    std::fs::write(
        other
            .path()
            .join(".github/workflows/task-sync.yml.disabled"),
        "on: push\njobs: {}\n",
    )
    .unwrap();
    git_in(other.path(), &["add", "-A"]);
    git_in(
        other.path(),
        &[
            "-c",
            "user.name=Other",
            "-c",
            "user.email=other@example.com",
            "commit",
            "-q",
            "-m",
            "other",
        ],
    );
    git_in(other.path(), &["push", "-q", "origin", "main"]);
    let before = origin_main(origin.path());
    let (code, text) = recover_and_push(&repo);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("conflicts; stopped without pushing"),
        "{text}"
    );
    assert!(text.contains("git rebase --continue"), "{text}");
    assert_eq!(origin_main(origin.path()), before, "nothing was pushed");
    assert!(!repo.join(".git/rebase-merge").exists());
    assert!(!repo.join(".git/rebase-apply").exists());
    let head = repo.git(&["log", "-1", "--format=%s"]);
    assert!(head.starts_with("emergency: recovery"), "{head}");
}

/// "What is pushed": a detached HEAD stops without pushing.
#[test]
fn a_detached_head_is_not_pushed() {
    let (repo, origin) = with_origin(&[]);
    repo.git(&["checkout", "-q", "--detach"]);
    let before = origin_main(origin.path());
    let (code, text) = recover_and_push(&repo);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("HEAD is detached"), "{text}");
    assert_eq!(origin_main(origin.path()), before, "nothing was pushed");
}

/// "What is pushed": a remote that keeps refusing (three rejections) stops
/// without pushing, with the manual steps.
#[cfg(unix)]
#[test]
fn a_remote_that_keeps_refusing_is_given_up_after_three_rejections() {
    use std::os::unix::fs::PermissionsExt;
    let (repo, origin) = with_origin(&[]);
    let hook = origin.path().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho attempt >> \"$GIT_DIR/attempts\"\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = origin_main(origin.path());
    let (code, text) = recover_and_push(&repo);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("push rejected 3 times"), "{text}");
    assert_eq!(origin_main(origin.path()), before, "nothing was pushed");
    let attempts = std::fs::read_to_string(origin.path().join("attempts")).unwrap();
    assert_eq!(attempts.lines().count(), 3, "{attempts}");
}

/// "Installing lifeline in a workflow": https only, except `http://` to a
/// loopback address. A URL whose user name looks like a loopback address
/// names another host (`http://127.0.0.1:1@host/` is `host`): refused
/// before anything is downloaded.
#[cfg(unix)]
#[test]
fn the_install_script_refuses_plain_http_disguised_as_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/install-lifeline.sh"
        ))
        .env("LIFELINE_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("LIFELINE_REPOSITORY", "acme/lifeline")
        .env(
            "LIFELINE_DOWNLOAD_URL",
            "http://127.0.0.1:1@lifeline-test.invalid/releases",
        )
        .env("LIFELINE_INSTALL_DIR", dir.path().join("bin"))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", dir.path())
        .env("GITHUB_PATH", dir.path().join("path"))
        .env_remove("LIFELINE_VERSION")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("https only"), "{err}");
    assert!(!dir.path().join("bin/lifeline").exists());
    assert!(!dir.path().join("path").exists());
}

/// "The HTML report": bounded output. Records anyone with push access can
/// write — 130 open incidents, one health run with 130 open alerts — make
/// tables of 100 rows that say how many more there are.
#[test]
fn the_html_reports_tables_are_cut_at_100_rows_and_say_how_many_more() {
    let repo = Repo::sample();
    for n in 0..130 {
        let id = format!("INC-20261101T{:02}{:02}00Z-{n:04x}", n / 60, n % 60);
        repo.write(
            &format!("docs/incidents/{id}.md"),
            format!(
                "---\nid: \"{id}\"\nstatus: \"open\"\nseverity: \"P2\"\ntype: \"task-file-corruption\"\nrunbook: \"task-file-corruption\"\noperator: \"user:test\"\ncheckpoint: null\ndetected_at: \"2026-11-01T00:00:00Z\"\nstarted_at: \"2026-11-01T{:02}:{:02}:00Z\"\nresolved_at: null\noutcome: \"in-progress\"\ndisabled:\nchanged:\n---\n\n# Incident {id}\n",
                n / 60,
                n % 60
            ),
        );
    }
    let alerts: Vec<serde_json::Value> = (1..=130)
        .map(|n| serde_json::json!({"action": "opened", "fingerprint": format!("f-{n}"), "issue": n}))
        .collect();
    let health = serde_json::json!({"repo": "acme/plan", "alerts": alerts, "detections": []});
    repo.lifeline()
        .args(["audit", "log", "--component", "health"])
        .args(["--operation", "alert", "--details-json"])
        .arg(health.to_string())
        .assert()
        .code(0);
    let out = repo
        .lifeline()
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/plan")
        .args(["report", "--format", "html"])
        .assert()
        .code(0);
    let html = stdout(&out);
    for (table, what) in [
        ("open-incidents", "open incidents"),
        ("open-alerts", "open alerts"),
    ] {
        let start = html
            .find(&format!("<table id=\"{table}\">"))
            .unwrap_or_else(|| panic!("no {table} table"));
        let body = &html[start..];
        let body = &body[..body.find("</table>").unwrap()];
        assert_eq!(
            body.matches("<tr>").count(),
            101,
            "{table}: a header and 100 rows"
        );
        assert!(
            html.contains(&format!("… and 30 more {what}")),
            "{table} says how many more"
        );
    }
}

/// "The audit index and a hostile `.git`": a `.git` that is a FIFO through
/// a link is refused with an error naming it, never opened, so neither
/// `audit query`, `show` nor `prove` hangs on it.
#[cfg(unix)]
#[test]
fn a_dot_git_linked_to_a_fifo_is_a_clear_error_for_query_show_and_prove() {
    let repo = Repo::bare_dir();
    let elsewhere = tempfile::tempdir().unwrap();
    let fifo = elsewhere.path().join("fifo");
    crate::common::mkfifo(&fifo);
    std::os::unix::fs::symlink(&fifo, repo.join(".git")).unwrap();
    let root = repo.path().to_str().unwrap();
    let out = repo
        .lifeline()
        .args(["--root", root, "audit", "log", "--component", "c"])
        .args(["--operation", "sync"])
        .assert()
        .code(0);
    let id = stdout(&out).trim().to_string();
    repo.lifeline()
        .args(["--root", root, "audit", "checkpoint"])
        .env("LIFELINE_AUDIT_KEY", "ab".repeat(32))
        .env("GITHUB_REPOSITORY", "acme/plan")
        .assert()
        .code(0);
    for args in [
        vec!["audit", "query"],
        vec!["audit", "show", id.as_str()],
        vec!["audit", "prove", id.as_str()],
    ] {
        let out = repo
            .lifeline()
            .args(["--root", root])
            .args(&args)
            .timeout(std::time::Duration::from_secs(120))
            .assert()
            .code(2);
        let err = crate::common::stderr(&out);
        assert!(
            err.contains(".git") && err.contains("FIFO"),
            "{args:?}: {err}"
        );
    }
}

/// "Health never fails open": a list that never ends is an error, never a
/// loop — and never a partial list taken as the whole. A server whose
/// `Link` header leads back to a page it served is such a list.
#[test]
fn a_list_whose_pages_link_back_is_an_error_not_a_partial_list() {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let links = base.clone();
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    let thread = std::thread::spawn(move || {
        for request in server.incoming_requests() {
            if request.url() == "/stop" {
                let _ = request.respond(tiny_http::Response::empty(204));
                return;
            }
            count.fetch_add(1, Ordering::SeqCst);
            // Page 1 links to page 2, page 2 back to page 1.
            let next = if request.url().ends_with("page=2") {
                1
            } else {
                2
            };
            let link = format!("<{links}/repos/acme/plan/labels?page={next}>; rel=\"next\"");
            let response = tiny_http::Response::from_string("[{\"name\": \"bug\"}]")
                .with_header(tiny_http::Header::from_bytes("Link", link.as_bytes()).unwrap())
                .with_header(
                    tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                );
            let _ = request.respond(response);
        }
    });
    let client = Client::new(ClientOptions {
        api_url: base.clone(),
        token: Some(TOKEN.into()),
        ..ClientOptions::default()
    })
    .with_sleeper(Arc::new(|_| {}));
    let result = client.get_all("repos/acme/plan/labels?page=1", None);
    let _ = client.get("stop");
    thread.join().unwrap();
    assert!(
        matches!(result, Err(ApiError::TooManyPages { .. })),
        "{result:?}"
    );
    assert_eq!(served.load(Ordering::SeqCst), 2, "each page was read once");
}

/// "Remotes are names": a bare repository committed to the tree is never
/// fetched from or pushed to — whichever of a remote's addresses names it:
/// its `pushurl` (where git pushes), or a second `url` (git pushes to
/// every one).
#[cfg(unix)]
#[test]
fn a_bare_repository_in_the_tree_is_refused_as_pushurl_or_second_url() {
    use std::os::unix::fs::PermissionsExt;
    for (key, how) in [
        ("remote.origin.pushurl", "--replace-all"),
        ("remote.origin.url", "--add"),
    ] {
        let (repo, origin) = with_origin(&[]);
        git_in(repo.path(), &["init", "-q", "--bare", "vault.git"]);
        let marks = tempfile::tempdir().unwrap();
        let hook = repo.join("vault.git/hooks/pre-receive");
        std::fs::write(
            &hook,
            format!("#!/bin/sh\ntouch '{}/ran'\n", marks.path().display()),
        )
        .unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "vendored"]);
        repo.git(&["push", "-q", "origin", "main"]);
        repo.git(&["config", how, key, "./vault.git"]);
        let before = origin_main(origin.path());
        let (code, text) = recover_and_push(&repo);
        assert_eq!(code, 1, "{key}: {text}");
        assert!(
            text.contains("not pushed") && text.contains("points inside the working tree"),
            "{key}: {text}"
        );
        assert!(
            !marks.path().join("ran").exists(),
            "{key}: the vault's hook ran"
        );
        assert_eq!(
            git_in(&repo.join("vault.git"), &["for-each-ref"]),
            "",
            "{key}: something was pushed to the vault"
        );
        assert_eq!(origin_main(origin.path()), before, "{key}");
        let out = repo
            .lifeline()
            .args(["checkpoint", "push"])
            .assert()
            .code(2);
        assert!(
            crate::common::stderr(&out).contains("points inside the working tree"),
            "{key}: {}",
            crate::common::stderr(&out)
        );
    }
}

/// "The HTML report": links are only the addresses the report built — the
/// incident record is `SERVER/REPOSITORY/blob/HEAD/PATH`. The ID in a record
/// anyone with push access can write cannot walk the link out of the
/// record's directory (`..` would take it to any page of the server).
#[test]
fn an_incident_id_cannot_walk_the_reports_link_out_of_its_directory() {
    let repo = Repo::sample();
    let id = "INC-1/../../../../../../evil/phish/blob/main/x";
    repo.write(
        "docs/incidents/INC-20261101T000000Z-aaaa.md",
        format!(
            "---\nid: \"{id}\"\nstatus: \"open\"\nseverity: \"P1\"\ntype: \"task-file-corruption\"\nrunbook: \"task-file-corruption\"\noperator: \"user:test\"\ncheckpoint: null\ndetected_at: \"2026-11-01T00:00:00Z\"\nstarted_at: \"2026-11-01T00:00:00Z\"\nresolved_at: null\noutcome: \"in-progress\"\ndisabled:\nchanged:\n---\n\n# Incident\n"
        ),
    );
    for format in ["html", "json"] {
        let out = repo
            .lifeline()
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY", "acme/plan")
            .args(["report", "--format", format])
            .assert()
            .code(0);
        let text = stdout(&out);
        let prefix = "https://github.com/acme/plan/blob/HEAD/docs/incidents/";
        let start = text.find(prefix).expect("the incident is linked");
        let link: String = text[start..]
            .chars()
            .take_while(|c| !matches!(c, '"' | '<' | ' '))
            .collect();
        let segment = &link[prefix.len()..];
        assert!(
            !segment.contains('/') && segment.ends_with(".md"),
            "{format}: the link leaves the directory: {link}"
        );
    }
}

/// "The audit trail and secrets": a secret holding `"` or `\\` is redacted
/// where it appears JSON-escaped too: `validate --format json` quotes the
/// cell it is in, and serializes the finding before the output writer
/// redacts it.
#[test]
fn a_secret_holding_a_quote_or_backslash_is_redacted_in_json_too() {
    const SECRET: &str = "pa\"ss\\word-42";
    let repo = Repo::sample();
    repo.write("lifeline.toml", "[audit]\nsecret_env = [\"DEPLOY_KEY\"]\n");
    let task = repo
        .read("planning/TASK.md")
        .replacen("| High |", &format!("| {SECRET} |"), 1);
    repo.write("planning/TASK.md", task);
    for format in ["json", "sarif", "text"] {
        let out = repo
            .lifeline()
            .env("DEPLOY_KEY", SECRET)
            .args(["validate", "--format", format])
            .assert()
            .code(1);
        let text = stdout(&out);
        assert!(!text.contains("word-42"), "{format}:\n{text}");
        assert!(text.contains("[REDACTED]"), "{format}:\n{text}");
    }
}

/// "Installing lifeline in a workflow", not covered: a runner without `gh`
/// cannot install the release binary — the action fails, naming `gh`, and
/// nothing is put on `PATH` (the checksum alone is not enough).
#[cfg(unix)]
#[test]
fn the_install_script_without_gh_fails_naming_it() {
    use sha2::Digest;
    let version = env!("CARGO_PKG_VERSION");
    let asset = format!("lifeline-v{version}-x86_64-unknown-linux-musl");
    let binary = std::fs::read(env!("CARGO_BIN_EXE_lifeline")).unwrap();
    let fake = FakeGitHub::start().unwrap();
    let release = format!("acme/lifeline/releases/download/v{version}");
    fake.with(|s| s.downloads = vec![(format!("{release}/{asset}"), binary.clone())]);
    let sums = format!(
        "# BEGIN SHA256SUMS\n{}  {asset}\n# END SHA256SUMS\n",
        hex::encode(sha2::Sha256::digest(&binary))
    );
    // A PATH with what the script needs, and no gh.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("tools");
    std::fs::create_dir_all(&bin).unwrap();
    let path = std::env::var_os("PATH").unwrap();
    for tool in [
        "bash",
        "sed",
        "head",
        "mkdir",
        "mktemp",
        "curl",
        "sha256sum",
        "cut",
        "awk",
        "chmod",
        "mv",
        "rm",
        "cat",
        "dirname",
        "uname",
    ] {
        let found = std::env::split_paths(&path)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{tool} is needed by the install script"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    let out = std::process::Command::new(bin.join("bash"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/install-lifeline.sh"
        ))
        .env("PATH", &bin)
        .env("LIFELINE_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("LIFELINE_REPOSITORY", "acme/lifeline")
        .env("LIFELINE_SHA256SUMS", sums)
        .env("LIFELINE_DOWNLOAD_URL", format!("{}/{release}", fake.url()))
        .env("LIFELINE_INSTALL_DIR", dir.path().join("bin"))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", dir.path())
        .env("GITHUB_PATH", dir.path().join("path"))
        .env_remove("LIFELINE_VERSION")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("gh is needed"), "{err}");
    assert_eq!(fake.log().len(), 1, "the binary was downloaded and checked");
    assert!(!dir.path().join("bin/lifeline").exists());
    assert!(!dir.path().join("path").exists());
}

/// "The audit trail survives bad days": a command that changes files makes
/// sure first that its entry can be written. With the audit directory
/// unusable, a guarded step never runs and a runbook changes no file.
#[test]
fn a_step_or_runbook_whose_entry_cannot_be_written_changes_nothing() {
    let repo = Repo::sample();
    let _ = std::fs::remove_dir_all(repo.join("docs/audit"));
    repo.write("docs/audit", "not a directory");
    let task = repo.read("planning/TASK.md");
    let out = repo
        .lifeline()
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "touch ran; echo x >> planning/TASK.md",
        ])
        .assert()
        .code(2);
    assert!(
        crate::common::stderr(&out).contains("docs/audit"),
        "{}",
        crate::common::stderr(&out)
    );
    assert!(!repo.join("ran").exists(), "the step ran");
    assert_eq!(repo.read("planning/TASK.md"), task);
    repo.lifeline()
        .args([
            "recover",
            "--yes",
            "sync-failure-cascade",
            "--severity",
            "P2",
        ])
        .assert()
        .code(2);
    assert!(repo.join(".github/workflows/task-sync.yml").exists());
    assert!(
        !repo
            .join(".github/workflows/task-sync.yml.disabled")
            .exists()
    );
    let changed = repo.git(&["status", "--porcelain", "--", "planning", ".github"]);
    assert_eq!(changed, "", "no protected file or workflow changed");
}
