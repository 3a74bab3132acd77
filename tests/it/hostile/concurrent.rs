//! Concurrent guarded steps: a second bot running at the same moment must
//! not lose work, and the lock that orders them cannot be redirected by a
//! symlink or left stale by `kill -9`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};

use crate::common::{Repo, mkfifo};

/// `lifeline run` as a real process, stdout and stderr piped.
fn spawn(repo: &Repo, args: &[&str], script: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .current_dir(repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .arg("run")
        .args(args)
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Kills the given processes: at the end of a test, or when an assertion
/// fails first (a step blocked on its FIFO must not outlive the test).
struct Reap(Vec<u32>);

impl Reap {
    fn now(&mut self) {
        for pid in self.0.drain(..) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Reap {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.now();
        }
    }
}

/// A step that appends `marker`, says "ready" and blocks until the test
/// writes to `go` (then breaks TASK.md and fails when `fail`).
fn holder_script(go: &Path, marker: &str, fail: bool) -> String {
    let end = if fail {
        "echo garbage > planning/TASK.md; exit 1"
    } else {
        "exit 0"
    };
    format!(
        "echo '<!-- {marker} -->' >> planning/TASK.md; echo ready; echo $$; read x < {go}; {end}",
        go = go.display()
    )
}

/// Starts a step holding the lock; returns it once its command runs, and
/// the pid of its shell.
fn hold(repo: &Repo, go: &Path, marker: &str, fail: bool) -> (Child, u32) {
    let mut child = spawn(repo, &[], &holder_script(go, marker, fail));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    line.clear();
    out.read_line(&mut line).unwrap();
    (child, line.trim().parse().unwrap())
}

/// Reads `err` until lifeline says it waits for the lock; panics when the
/// stream ends first (the step did not wait).
fn until_waiting(err: &mut BufReader<ChildStderr>) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = err.read_line(&mut line).unwrap();
        assert_ne!(n, 0, "the step ran without waiting for the other one");
        if line.contains("waiting up to") {
            return;
        }
    }
}

/// On Linux the kernel stops a step whose lifeline was killed, so it does
/// not go on writing unguarded.
#[cfg(target_os = "linux")]
#[test]
fn a_step_does_not_outlive_a_killed_lifeline() {
    let repo = Repo::sample();
    let scratch = tempfile::tempdir().unwrap();
    let said = scratch.path().join("said");
    // The step appends to a plain file how its wait ended: "term" when it
    // got SIGTERM, "natural" when nothing stopped it. A plain file, not a
    // FIFO: the test must not block on a writer that never comes.
    let script = format!(
        "trap 'kill $s; echo term >> {said}; exit 0' TERM
         sleep 30 & s=$!
         echo ready $$
         wait $s
         echo natural >> {said}",
        said = said.display()
    );
    let mut child = spawn(&repo, &[], &script);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let step: libc::pid_t = line
        .strip_prefix("ready ")
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("the step said {line:?}"));
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new
    // descriptor that this test owns; poll(2) reads one pollfd.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, step, 0) } as libc::c_int;
    assert!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // The step ends when its SIGTERM comes; its own 30 s wait bounds this.
    let mut fd = libc::pollfd {
        fd: pidfd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ready = unsafe { libc::poll(&mut fd, 1, 60_000) };
    unsafe { libc::close(pidfd) };
    assert_eq!(ready, 1, "the step was still running a minute later");
    let said = std::fs::read_to_string(&said).unwrap();
    assert_eq!(said.lines().next(), Some("term"), "the step said {said:?}");
}

fn release(go: &Path) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(go)
        .unwrap()
        .write_all(b"go\n")
        .unwrap();
}

#[test]
fn eight_concurrent_steps_one_failing_lose_no_work() {
    let repo = Repo::sample();
    let scratch = tempfile::tempdir().unwrap();
    let go = scratch.path().join("go");
    mkfifo(&go);
    let (failing, step) = hold(&repo, &go, "failing step", true);
    let _reap = Reap(vec![failing.id(), step]);
    let mut others: Vec<(Child, BufReader<ChildStderr>)> = (0..7)
        .map(|i| {
            let mut child = spawn(
                &repo,
                &[],
                &format!("echo '<!-- step {i} -->' >> planning/TASK.md"),
            );
            let err = BufReader::new(child.stderr.take().unwrap());
            (child, err)
        })
        .collect();
    for (_, err) in &mut others {
        until_waiting(err);
    }
    release(&go);
    assert_eq!(failing.wait_with_output().unwrap().status.code(), Some(1));
    for (child, _) in others {
        assert_eq!(child.wait_with_output().unwrap().status.code(), Some(0));
    }
    let task = repo.read("planning/TASK.md");
    for i in 0..7 {
        assert!(
            task.contains(&format!("<!-- step {i} -->")),
            "step {i} lost:\n{task}"
        );
    }
    assert!(!task.contains("failing step"), "{task}");
    assert!(!task.contains("garbage"), "{task}");
    repo.lifeline().arg("validate").assert().code(0);
}

#[test]
fn a_step_waits_no_longer_than_its_limit() {
    let repo = Repo::sample();
    let scratch = tempfile::tempdir().unwrap();
    let go = scratch.path().join("go");
    mkfifo(&go);
    let (holder, step) = hold(&repo, &go, "holder", false);
    let _reap = Reap(vec![holder.id(), step]);
    let out = repo
        .lifeline()
        .args(["run", "--wait", "0s", "--", "sh", "-c", "touch ran"])
        .assert()
        .code(2);
    let err = crate::common::stderr(&out);
    assert!(err.contains("another guarded step"), "{err}");
    assert!(err.contains("--wait"), "{err}");
    assert!(!repo.join("ran").exists(), "the step must not run");
    release(&go);
    assert_eq!(holder.wait_with_output().unwrap().status.code(), Some(0));
}

#[test]
fn a_signal_while_waiting_stops_before_the_step_runs() {
    let repo = Repo::sample();
    let scratch = tempfile::tempdir().unwrap();
    let go = scratch.path().join("go");
    mkfifo(&go);
    let (holder, step) = hold(&repo, &go, "holder", false);
    let _reap = Reap(vec![holder.id(), step]);
    let mut waiter = spawn(&repo, &[], "touch ran");
    let mut err = BufReader::new(waiter.stderr.take().unwrap());
    until_waiting(&mut err);
    let kill = Command::new("kill")
        .args(["-TERM", &waiter.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert_eq!(waiter.wait().unwrap().code(), Some(128 + 15));
    assert!(!repo.join("ran").exists(), "the step must not run");
    release(&go);
    assert_eq!(holder.wait_with_output().unwrap().status.code(), Some(0));
    let out = repo
        .lifeline()
        .args(["audit", "query", "--format", "json"])
        .assert()
        .code(0);
    let text = crate::common::stdout(&out);
    assert!(
        text.contains("stopped by signal 15 while waiting"),
        "an outcome entry for the stopped step: {text}"
    );
}

#[test]
fn a_lock_held_by_a_killed_step_is_not_stale() {
    let repo = Repo::sample();
    let scratch = tempfile::tempdir().unwrap();
    let go = scratch.path().join("go");
    mkfifo(&go);
    // The step ignores the SIGTERM a dying lifeline has the kernel send
    // it, and lives on.
    let mut holder = spawn(
        &repo,
        &[],
        &format!("trap '' TERM; {}", holder_script(&go, "killed", false)),
    );
    let mut out = BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    line.clear();
    out.read_line(&mut line).unwrap();
    let step: u32 = line.trim().parse().unwrap();
    let mut reap = Reap(vec![step]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    // The step itself is still running: it must not have inherited the
    // lock.
    repo.lifeline()
        .args(["run", "--wait", "0s", "--", "sh", "-c", "true"])
        .assert()
        .code(0);
    reap.now();
}

#[test]
fn a_symlink_at_the_lock_path_is_never_followed() {
    let repo = Repo::sample();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("target");
    std::fs::write(&target, "keep me\n").unwrap();
    let lock = repo.join(".git/lifeline-run.lock");
    let before = repo.read("planning/TASK.md");
    for points_to in [target.clone(), outside.path().join("absent")] {
        let _ = std::fs::remove_file(&lock);
        std::os::unix::fs::symlink(&points_to, &lock).unwrap();
        let out = repo
            .lifeline()
            .args(["run", "--", "sh", "-c", "echo x >> planning/TASK.md"])
            .assert()
            .code(2);
        assert!(crate::common::stderr(&out).contains("symlink"));
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    assert!(!outside.path().join("absent").exists());
    assert_eq!(repo.read("planning/TASK.md"), before);
}

#[test]
fn a_fifo_at_the_lock_path_is_refused_without_hanging() {
    let repo = Repo::sample();
    mkfifo(&repo.join(".git/lifeline-run.lock"));
    let before = repo.read("planning/TASK.md");
    let out = repo
        .lifeline()
        .args(["run", "--", "sh", "-c", "echo x >> planning/TASK.md"])
        .assert()
        .code(2);
    assert!(
        crate::common::stderr(&out).contains("not a regular file"),
        "{}",
        crate::common::stderr(&out)
    );
    assert_eq!(repo.read("planning/TASK.md"), before);
}
