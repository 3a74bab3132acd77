//! `lifeline run`: one automation step wrapped in lock → checkpoint → run
//! → validate → keep or roll back.
//!
//! - One guarded step at a time per repository ([`super::step_lock`]): a
//!   failing step's rollback can then only undo its own work.
//! - The step gets lifeline's stdin; its stdout and stderr pass through
//!   line by line with secrets redacted ([`crate::redact::RedactingWriter`],
//!   binary-safe) unless the caller asks
//!   for raw bytes.
//! - A failure is classified from structured signals only
//!   ([`super::classify`]): the validation findings, and what the step
//!   wrote to the file `$LIFELINE_STEP_STATUS` names.
//! - SIGINT and SIGTERM stop the run at any stage ([`super::stop`]): the
//!   step's process group gets the signal, the files are rolled back, the
//!   outcome is recorded, and lifeline exits 128 + N.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

use super::classify::{self, Evidence, StepStatus};
use super::step_lock::{self, Acquired};
use super::stop::{self, Stop};
use super::{Options as RestoreOptions, Status, Target};
use crate::audit::entry::Context;
use crate::audit::{self, Event};
use crate::checkpoint::{self, CaptureOptions, Manifest};
use crate::ci::Env;
use crate::config::{Pattern, Severity};
use crate::error::{Error, Result};
use crate::redact::RedactingWriter;
use crate::workspace::Workspace;

/// The most findings a run report and its audit entry carry.
const MAX_FINDINGS: usize = 50;

/// What to do when the command fails or leaves invalid files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    Rollback,
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
struct Broken {
    path: String,
    /// Its error rule codes.
    codes: Vec<String>,
    findings: Vec<Finding>,
}

/// One finished attempt.
struct Attempt {
    exit_code: Option<i32>,
    signal: Option<i32>,
    status: StepStatus,
}

/// Runs the guarded step; see the module docs.
pub fn run(ws: &Workspace, env: &dyn Env, options: &RunOptions) -> Result<RunReport> {
    if options.command.is_empty() {
        return Err(Error::usage(
            "no command to run",
            Some("put it after `--`: lifeline run -- ./scripts/sync-tasks.sh".to_string()),
        ));
    }
    if options.retries > 0 && !options.idempotent {
        return Err(Error::usage(
            "--retries runs the step again, but a rollback restores only the protected files, not what the step did elsewhere (comments, pushes, API calls)",
            Some("add --idempotent if running the step twice is safe".to_string()),
        ));
    }
    // The step's output is redacted with the process's registered secrets.
    crate::redact::register_env_secrets(env, &ws.config.audit.secret_env);
    let ctx = Context::from_env(ws, env);
    let command_line = ctx.redact(&shell_words(&options.command)).into_owned();
    let operation = options
        .operation
        .clone()
        .unwrap_or_else(|| command_line.clone());
    let mut report = RunReport {
        command: command_line,
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
    };
    let operation_id = report.operation_id.clone();
    let stop = Stop::install()?;
    let lock_path = step_lock::path(ws)?;
    let acquired = step_lock::acquire(&lock_path, options.wait, Some(&stop), &mut |holder| {
        eprintln!(
            "lifeline: another guarded step{} is running in this repository; waiting up to {} for it to finish (--wait)",
            holder.map_or(String::new(), |pid| format!(" (pid {pid})")),
            crate::config::HumanDuration::from_secs(options.wait.as_secs()),
        );
    })?;
    let _lock = match acquired {
        Acquired::Held(lock) => lock,
        Acquired::Stopped(signal) => {
            report.stopped_by = Some(signal);
            report.exit = 128 + signal;
            let event = Event::new("run", "outcome")
                .detail("operation_id", operation_id.as_str())
                .detail("command", report.command.as_str())
                .detail("stopped_by", signal)
                .failure(format!(
                    "stopped by signal {signal} while waiting for another guarded step; the step did not run"
                ));
            audit::record(ws, env, &event)?;
            return Ok(report);
        }
    };
    let status_dir = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let status_path = status_dir.path().join("status");
    let capture = CaptureOptions {
        kind: options.kind.clone(),
        operation: operation.clone(),
    };
    let manifest = match checkpoint::open(ws)
        .and_then(|store| checkpoint::capture(ws, env, store.as_ref(), &capture))
    {
        Ok(m) => m,
        Err(e) => {
            let event = Event::new("run", "start")
                .detail("operation_id", operation_id.as_str())
                .detail("command", report.command.as_str())
                .detail("type", options.kind.as_str())
                .failure(format!("the checkpoint failed: {e}"));
            audit::record(ws, env, &event)?;
            return Err(e);
        }
    };
    report.checkpoint = manifest.id.to_string();
    audit::record(
        ws,
        env,
        &Event::new("run", "start")
            .detail("operation_id", operation_id.as_str())
            .detail("command", report.command.as_str())
            .detail("operation", operation.as_str())
            .detail("checkpoint", manifest.id.as_str())
            .detail(
                "on_failure",
                format!("{:?}", options.on_failure).to_lowercase(),
            )
            .detail("retries", options.retries),
    )?;
    // A signal that came while no step ran: the last exit code is stale.
    let mut stopped_between = None;
    loop {
        if let Some(signal) = stop.signal() {
            report.stopped_by = Some(signal);
            stopped_between = Some(signal);
            break;
        }
        report.attempts += 1;
        let _ = std::fs::remove_file(&status_path);
        let ran = execute(options, &stop, &status_path)
            .and_then(|attempt| Ok((broken_files(ws, &manifest, &ctx)?, attempt)));
        let (broken, attempt) = match ran {
            Ok(r) => r,
            Err(e) => {
                let event = Event::new("run", "outcome")
                    .detail("operation_id", operation_id.as_str())
                    .detail("command", report.command.as_str())
                    .detail("checkpoint", report.checkpoint.as_str())
                    .failure(e.to_string());
                audit::record(ws, env, &event)?;
                return Err(e);
            }
        };
        report.exit_code = attempt.exit_code;
        report.signal = attempt.signal;
        report.reported = attempt.status.reported();
        report.invalid_files = broken.iter().map(|b| b.path.clone()).collect();
        report.findings_total = broken.iter().map(|b| b.findings.len()).sum();
        report.findings = broken
            .iter()
            .flat_map(|b| b.findings.iter().cloned())
            .take(MAX_FINDINGS)
            .collect();
        report.success = attempt.exit_code == Some(0) && broken.is_empty();
        if !report.success && report.detected_at.is_none() {
            report.detected_at = Some(jiff::Timestamp::now());
        }
        if report.success {
            report.classification = None;
            report.severity = None;
            break;
        }
        let evidence = Evidence {
            reported: report.reported,
            invalid: broken
                .iter()
                .map(|b| b.codes.iter().map(String::as_str).collect())
                .collect(),
        };
        let classified = classify::classify(&evidence, &ws.config);
        report.classification = Some(classified.pattern);
        report.severity = Some(classified.severity);
        if let Some(signal) = stop.signal() {
            report.stopped_by = Some(signal);
            break;
        }
        if classified.pattern != Pattern::RateLimit || report.attempts > options.retries {
            break;
        }
        let rolled = roll_back(ws, env, &manifest)?;
        let hint = attempt.status.retry_hint(jiff::Timestamp::now());
        let wait = classify::backoff(report.attempts, options.backoff, options.max_backoff, hint);
        audit::record(
            ws,
            env,
            &Event::new("run", "retry")
                .detail("operation_id", operation_id.as_str())
                .detail("checkpoint", report.checkpoint.as_str())
                .detail("attempt", report.attempts)
                .detail("classification", classified.pattern.as_str())
                .detail("exit_code", attempt.exit_code)
                .detail("rolled_back", rolled.is_some())
                .detail("wait_ms", wait.as_millis() as u64),
        )?;
        eprintln!(
            "lifeline: rate limited (attempt {} of {}); retrying in {:.1}s",
            report.attempts,
            options.retries + 1,
            wait.as_secs_f64()
        );
        if let Some(signal) = stop.wait(wait) {
            report.stopped_by = Some(signal);
            stopped_between = Some(signal);
            break;
        }
    }
    if !report.success {
        report.rollback = match options.on_failure {
            OnFailure::Keep => Rollback::Kept,
            OnFailure::Rollback => match roll_back(ws, env, &manifest) {
                Ok(Some(failed_state)) => {
                    report.failed_state = Some(failed_state);
                    report.recovered_at = Some(jiff::Timestamp::now());
                    Rollback::RolledBack
                }
                Ok(None) => Rollback::Unchanged,
                Err(e) => {
                    // The operation's outcome is on record even so: a
                    // failed automatic recovery counts against the rate.
                    let mut event = Event::new("run", "outcome")
                        .detail("operation_id", operation_id.as_str())
                        .detail("command", report.command.as_str())
                        .detail("checkpoint", report.checkpoint.as_str())
                        .detail("started_at", report.started_at.to_string())
                        .detail("detected_at", report.detected_at.map(|t| t.to_string()))
                        .detail("rollback", "failed")
                        .failure(format!("the rollback failed: {e}"));
                    if let Some(severity) = report.severity {
                        event = event.detail("severity", severity.as_str());
                    }
                    audit::record(ws, env, &event)?;
                    return Err(e);
                }
            },
        };
    }
    report.exit = if report.success {
        0
    } else if let Some(signal) = stopped_between {
        128 + signal
    } else {
        match (report.exit_code, report.signal) {
            (Some(code), _) if code != 0 => code,
            (_, Some(sig)) => 128 + sig,
            (_, None) => report.stopped_by.map_or(1, |sig| 128 + sig),
        }
    };
    audit::record(ws, env, &outcome_event(&report))?;
    Ok(report)
}

/// The `run`/`outcome` entry: what happened, the findings and the files
/// the step left invalid, the class, and what was done about it.
fn outcome_event(report: &RunReport) -> Event {
    let instant = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
    let mut event = Event::new("run", "outcome")
        .detail("operation_id", report.operation_id.as_str())
        .detail("command", report.command.as_str())
        .detail("checkpoint", report.checkpoint.as_str())
        .detail("started_at", report.started_at.to_string())
        .detail("detected_at", instant(report.detected_at))
        .detail("recovered_at", instant(report.recovered_at))
        .detail("attempts", report.attempts)
        .detail("exit_code", report.exit_code)
        .detail("invalid_files", report.invalid_files.clone())
        .detail(
            "findings",
            serde_json::to_value(&report.findings).unwrap_or_default(),
        )
        .detail("findings_total", report.findings_total)
        .detail(
            "rollback",
            serde_json::to_value(report.rollback).unwrap_or_default(),
        );
    for file in &report.invalid_files {
        event = event.file(file.as_str());
    }
    if let Some(signal) = report.stopped_by {
        event = event.detail("stopped_by", signal);
    }
    if let Some(reported) = report.reported {
        event = event.detail("reported", reported.as_str());
    }
    if let (Some(pattern), Some(severity)) = (report.classification, report.severity) {
        event = event
            .detail("classification", pattern.as_str())
            .detail("severity", severity.as_str());
    }
    if !report.success {
        let class = report
            .classification
            .map_or(String::new(), |p| format!(" ({p})"));
        event = event.failure(format!("{}{class}", report.what_happened()));
        if report.rollback == Rollback::RolledBack {
            event = event.recovery_action(format!("rolled back to {}", report.checkpoint));
        }
    }
    event
}

/// Restores the run's checkpoint without validating it (it is the state
/// before the step, valid or not); returns the safety checkpoint holding
/// what the command left, or `None` when nothing differed.
fn roll_back(ws: &Workspace, env: &dyn Env, manifest: &Manifest) -> Result<Option<String>> {
    let mut options = RestoreOptions::new(Target::Spec(manifest.id.to_string()));
    options.validate = false;
    options.operation = "rollback";
    // The step's lock is held already (taking it again would wait forever).
    options.wait = None;
    let report = super::restore(ws, env, &options, &mut |_| Ok(true))?;
    match report.status {
        Status::Restored => Ok(report.safety_checkpoint),
        Status::Unchanged => Ok(None),
        Status::Refused => Err(Error::environment(
            format!(
                "cannot roll back: checkpoint {} is refused: {}",
                manifest.id,
                report.problems.join("; ")
            ),
            Some("restore another checkpoint: `lifeline restore latest-valid`".to_string()),
        )),
        other => Err(Error::environment(
            format!("the rollback ended as {other:?}"),
            None,
        )),
    }
}

/// Protected files invalid now that the command broke them: valid (or
/// absent) at the checkpoint, invalid now. Each with its error codes and
/// its error findings (messages redacted: they may quote the file).
fn broken_files(ws: &Workspace, manifest: &Manifest, ctx: &Context) -> Result<Vec<Broken>> {
    let targets = crate::validate::protected_targets(&ws.root, &ws.config)?;
    let report = crate::validate::validate_targets(&targets)?;
    Ok(report
        .files
        .iter()
        .filter(|f| !f.valid)
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
fn execute(options: &RunOptions, stop: &Stop, status_path: &Path) -> Result<Attempt> {
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
fn shell_words(command: &[OsString]) -> String {
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
