//! The guarded step's runner: the mechanisms `lifeline run` is built of
//! ([`crate::commands::run`] sequences them and records the audit entries;
//! nothing here records or prints on lifeline's behalf).
//!
//! - [`Runner`] runs the step to completion with the file
//!   `$LIFELINE_STEP_STATUS` names in its environment, and reads back what
//!   the step wrote there ([`crate::run::classify::StepStatus`]).
//! - The step gets lifeline's stdin; its own stdout and stderr pass
//!   through line by line with secrets redacted
//!   ([`crate::redact::RedactingWriter`], binary-safe) unless the caller
//!   asks for raw bytes or for quiet.
//! - The step leads a process group of its own (unless it shares
//!   lifeline's terminal), which [`crate::restore::stop`] signals on SIGINT
//!   or SIGTERM, and the kernel ends it if lifeline dies.
//! - [`broken_files`] names the protected files the step left invalid,
//!   with their findings; [`RunReport`] is the typed outcome `--format
//!   json` prints.

pub(crate) mod classify;

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

use self::classify::StepStatus;
use crate::audit::entry::Context;
use crate::checkpoint::Manifest;
use crate::config::{Pattern, Severity};
use crate::error::{Error, Result};
use crate::redact::RedactingWriter;
use crate::restore::stop::{self, Stop};
use crate::workspace::Workspace;

/// The most findings a run report and its audit entry carry.
pub(crate) const MAX_FINDINGS: usize = 50;

/// What to do when the command fails or leaves invalid files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Put the checkpoint back
    Rollback,
    /// Leave the files as the command left them
    Keep,
}

/// `lifeline run` options.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The checkpoint type.
    pub kind: String,
    /// What the step does [default: the command line].
    pub operation: Option<String>,
    pub on_failure: OnFailure,
    /// Retries of a rate-limited command.
    pub retries: u32,
    /// The caller's word that the step may run twice (required for
    /// retries: a rollback restores the protected files, not what the
    /// step did elsewhere).
    pub idempotent: bool,
    /// The first retry's wait (doubled each time, with jitter).
    pub backoff: Duration,
    /// The longest wait, a `Retry-After` included.
    pub max_backoff: Duration,
    /// How long to wait for another guarded step to finish.
    pub wait: Duration,
    /// The command and its arguments.
    pub command: Vec<OsString>,
    /// The directory the command runs in [default: lifeline's own].
    pub dir: Option<std::path::PathBuf>,
    /// Keep the command's output off the terminal (stdout and stderr
    /// discarded); `lifeline drill` uses it.
    pub quiet: bool,
    /// Pass the command's output through byte for byte, secrets included.
    pub raw_output: bool,
}

/// What happened to the protected files after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rollback {
    /// The run succeeded; nothing to roll back.
    NotNeeded,
    /// Rolled back to the checkpoint.
    RolledBack,
    /// The files already matched the checkpoint.
    Unchanged,
    /// `--on-failure keep`: left as the command left them.
    Kept,
}

/// One validation finding in a file the step left invalid.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

impl Finding {
    /// `file:line`, or the file alone.
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.path),
            None => self.path.clone(),
        }
    }
}

/// The outcome of a guarded run (`--format json` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The command line (secrets redacted).
    pub command: String,
    /// The checkpoint taken before the first attempt (empty when the run
    /// stopped before taking one).
    pub checkpoint: String,
    pub attempts: u32,
    /// The last attempt's exit code (`None` when a signal ended it).
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// The SIGINT or SIGTERM that stopped lifeline, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<i32>,
    /// Protected files the command left invalid.
    pub invalid_files: Vec<String>,
    /// Their error findings (the first 50).
    pub findings: Vec<Finding>,
    /// How many error findings there were in all.
    pub findings_total: usize,
    pub success: bool,
    /// The failure pattern and its configured severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<Pattern>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// What the step reported in its status file, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported: Option<Pattern>,
    pub rollback: Rollback,
    /// The `pre-restore` checkpoint holding what the command left, when
    /// rolled back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_state: Option<String>,
    /// What lifeline exits with: the command's code, 1 when only
    /// validation failed, 128 + N for signal N.
    pub exit: i32,
    /// Links the run's `start`, `retry` and `outcome` audit entries (audit
    /// coverage is counted per operation).
    pub operation_id: String,
    /// When the step started: the earliest the failure can have happened.
    pub started_at: jiff::Timestamp,
    /// When lifeline saw the failure (exit code and validation checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<jiff::Timestamp>,
    /// When the rollback had put the checkpoint's bytes back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_at: Option<jiff::Timestamp>,
}

impl RunReport {
    /// The report of a run of `command` (redacted) starting now, before
    /// anything happened.
    pub(crate) fn new(command: String) -> RunReport {
        RunReport {
            command,
            checkpoint: String::new(),
            attempts: 0,
            exit_code: None,
            signal: None,
            stopped_by: None,
            invalid_files: Vec::new(),
            findings: Vec::new(),
            findings_total: 0,
            success: false,
            classification: None,
            severity: None,
            reported: None,
            rollback: Rollback::NotNeeded,
            failed_state: None,
            exit: 0,
            operation_id: format!("OP-{}", uuid::Uuid::now_v7()),
            started_at: jiff::Timestamp::now(),
            detected_at: None,
            recovered_at: None,
        }
    }

    /// Takes in what the last attempt showed: its exit, its status file,
    /// the files it left invalid (their first [`MAX_FINDINGS`] findings);
    /// whether it succeeded, and when a failure was first seen.
    pub(crate) fn observe(&mut self, attempt: &Attempt, broken: &[Broken]) {
        self.exit_code = attempt.exit_code;
        self.signal = attempt.signal;
        self.reported = attempt.status.reported();
        self.invalid_files = broken.iter().map(|b| b.path.clone()).collect();
        self.findings_total = broken.iter().map(|b| b.findings.len()).sum();
        self.findings = broken
            .iter()
            .flat_map(|b| b.findings.iter().cloned())
            .take(MAX_FINDINGS)
            .collect();
        self.success = attempt.exit_code == Some(0) && broken.is_empty();
        if !self.success && self.detected_at.is_none() {
            self.detected_at = Some(jiff::Timestamp::now());
        }
    }

    /// What lifeline exits with once the run is over: 0 on success, 128 +
    /// N when signal N stopped it between attempts (`stopped_between`: the
    /// last exit code is stale), else the command's code, 128 + the signal
    /// that ended it, or 1 when only validation failed.
    pub(crate) fn final_exit(&self, stopped_between: Option<i32>) -> i32 {
        if self.success {
            0
        } else if let Some(signal) = stopped_between {
            128 + signal
        } else {
            match (self.exit_code, self.signal) {
                (Some(code), _) if code != 0 => code,
                (_, Some(sig)) => 128 + sig,
                (_, None) => self.stopped_by.map_or(1, |sig| 128 + sig),
            }
        }
    }

    /// "the step exited 0 but left planning/TASK.md invalid": what
    /// happened, in words that do not contradict each other.
    pub fn what_happened(&self) -> String {
        let how = match (self.exit_code, self.signal) {
            _ if self.attempts == 0 => "did not run".to_string(),
            (Some(code), _) => format!("exited {code}"),
            (None, Some(sig)) => format!("was ended by signal {sig}"),
            (None, None) => "ended".to_string(),
        };
        let left = if self.invalid_files.is_empty() {
            String::new()
        } else {
            let files = self.invalid_files.join(", ");
            let and = if self.exit_code == Some(0) {
                "but"
            } else {
                "and"
            };
            format!(" {and} left {files} invalid")
        };
        let stopped = self
            .stopped_by
            .map_or(String::new(), |sig| format!(" (lifeline got signal {sig})"));
        format!("the step {how}{left}{stopped}")
    }
}

/// A protected file the step left invalid.
#[derive(Debug, Clone)]
pub(crate) struct Broken {
    pub(crate) path: String,
    /// Its error rule codes.
    pub(crate) codes: Vec<String>,
    pub(crate) findings: Vec<Finding>,
}

/// One finished attempt.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub(crate) exit_code: Option<i32>,
    pub(crate) signal: Option<i32>,
    /// What the step wrote to its status file.
    pub(crate) status: StepStatus,
}

/// Runs a step's attempts, each with a fresh status file in a private
/// temporary directory (removed with the runner).
pub(crate) struct Runner {
    _dir: tempfile::TempDir,
    status_path: PathBuf,
}

impl Runner {
    pub(crate) fn new() -> Result<Runner> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let status_path = dir.path().join("status");
        Ok(Runner {
            _dir: dir,
            status_path,
        })
    }

    /// Runs the command once, to completion; a signal `stop` receives is
    /// passed on to it.
    pub(crate) fn attempt(&self, options: &RunOptions, stop: &Stop) -> Result<Attempt> {
        let _ = std::fs::remove_file(&self.status_path);
        execute(options, stop, &self.status_path)
    }
}

/// Protected files invalid now that the command broke them: valid (or
/// absent) at the checkpoint, invalid now; never one the checkpoint
/// listed as not captured. Each with its error codes and
/// its error findings (messages redacted: they may quote the file).
pub(crate) fn broken_files(
    ws: &Workspace,
    manifest: &Manifest,
    ctx: &Context,
) -> Result<Vec<Broken>> {
    let targets = crate::validate::protected_targets(&ws.root, &ws.config)?;
    let report = crate::validate::validate_targets(&targets)?;
    Ok(report
        .files
        .iter()
        .filter(|f| !f.valid)
        // A file the checkpoint could not capture either (a name lifeline
        // cannot carry, shown escaped in both places) was there before the
        // step: the step did not break it.
        .filter(|f| !manifest.skipped.iter().any(|s| s.path == f.path))
        .filter(|f| match manifest.file(&f.path) {
            Some(entry) => entry.valid,
            None => {
                let was_absent = manifest.absent.iter().any(|a| a.path == f.path);
                !was_absent || ws.root.join(&f.path).exists()
            }
        })
        .map(|f| {
            let errors: Vec<_> = f
                .diagnostics
                .iter()
                .filter(|d| d.level == crate::validate::diagnostic::Level::Error)
                .collect();
            let codes = errors.iter().map(|d| d.code.to_string()).collect();
            let findings = errors
                .iter()
                .map(|d| Finding {
                    code: d.code.to_string(),
                    path: d.path.clone(),
                    line: d.span.map(|s| s.line),
                    message: ctx.redact(&d.message).into_owned(),
                })
                .collect();
            Broken {
                path: f.path.clone(),
                codes,
                findings,
            }
        })
        .collect())
}

/// Runs the command to completion with the status file named in its
/// environment. The step leads a process group of its own (so a signal
/// reaches everything it started) unless it shares lifeline's terminal,
/// which only the foreground group may read.
fn execute(options: &RunOptions, stop: &Stop, status_path: &std::path::Path) -> Result<Attempt> {
    let command = &options.command;
    let shown = command[0].to_string_lossy().into_owned();
    let mut builder = Command::new(&command[0]);
    if let Some(dir) = &options.dir {
        builder.current_dir(dir);
    }
    let own_group = options.quiet || !std::io::stdin().is_terminal();
    if own_group {
        builder.process_group(0);
    }
    #[cfg(target_os = "linux")]
    {
        // If lifeline itself is killed (SIGKILL cannot be caught), the step
        // must not go on writing unguarded: the kernel sends it SIGTERM.
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: prctl(2) and getppid(2) are async-signal-safe system
        // calls; the closure allocates nothing and touches no locks.
        unsafe {
            builder.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    libc::raise(libc::SIGTERM);
                }
                Ok(())
            });
        }
    }
    let output = || {
        if options.quiet {
            Stdio::null()
        } else if !options.raw_output {
            Stdio::piped()
        } else {
            Stdio::inherit()
        }
    };
    let spawned = builder
        .args(&command[1..])
        .env(classify::STATUS_ENV, status_path)
        .stdin(if options.quiet {
            Stdio::null()
        } else {
            Stdio::inherit()
        })
        .stdout(output())
        .stderr(output())
        .spawn();
    let mut child = spawned.map_err(|e| {
        Error::usage(
            format!("cannot run `{shown}`: {e}"),
            Some("check the command's path and that it is executable".to_string()),
        )
    })?;
    let pid = child.id() as i32;
    stop.set_child(Some(if own_group {
        stop::Target::Group(pid)
    } else {
        stop::Target::Process(pid)
    }));
    let mut pumps = Vec::new();
    if let Some(out) = child.stdout.take() {
        pumps.push(std::thread::spawn(move || {
            pass_through(out, std::io::stdout())
        }));
    }
    if let Some(err) = child.stderr.take() {
        pumps.push(std::thread::spawn(move || {
            pass_through(err, std::io::stderr())
        }));
    }
    let status = child.wait().map_err(|e| Error::io(&shown, e));
    stop.set_child(None);
    for pump in pumps {
        let _ = pump.join();
    }
    let status = status?;
    Ok(Attempt {
        exit_code: status.code(),
        signal: status.signal(),
        status: StepStatus::read(status_path),
    })
}

/// Copies a step's output stream to lifeline's, redacted line by line.
/// A failing writer (a closed terminal) stops the writing, not the
/// reading, so the step never blocks on a full pipe.
fn pass_through(mut from: impl Read, to: impl Write) {
    let mut writer = RedactingWriter::new(to);
    let mut buf = vec![0u8; 64 * 1024];
    let mut writing = true;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if writing {
            writing = writer
                .write_all(&buf[..n])
                .and_then(|()| writer.flush())
                .is_ok();
        }
    }
    if writing {
        let _ = writer.finish();
    }
}

/// The command line as a person would type it.
pub(crate) fn shell_words(command: &[OsString]) -> String {
    command
        .iter()
        .map(|a| {
            let a = a.to_string_lossy();
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.into_owned()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
