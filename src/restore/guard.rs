//! `lifeline run`: one automation step wrapped in checkpoint → run →
//! validate → keep or roll back. The command runs with lifeline's stdin
//! and stdout; its stderr is passed through and also kept (the tail) to
//! classify a failure. SIGINT and SIGTERM sent to lifeline by another
//! process (a CI runner cancelling the job) are forwarded to the command,
//! and lifeline still rolls back once it has stopped.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

use super::classify::{self, Evidence};
use super::{Options as RestoreOptions, Status, Target};
use crate::audit::{self, Event};
use crate::checkpoint::{self, CaptureOptions, Manifest};
use crate::ci::Env;
use crate::config::Pattern;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// How much of the command's stderr is kept for classification.
const STDERR_TAIL: usize = 64 * 1024;

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
    /// The first retry's wait (doubled each time, with jitter).
    pub backoff: Duration,
    /// The longest wait, a `Retry-After` included.
    pub max_backoff: Duration,
    /// The command and its arguments.
    pub command: Vec<OsString>,
    /// The directory the command runs in [default: lifeline's own].
    pub dir: Option<std::path::PathBuf>,
    /// Keep the command's output off the terminal (stdout discarded,
    /// stderr only kept for classification); `lifeline drill` uses it.
    pub quiet: bool,
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

/// The outcome of a guarded run (`--format json` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The command line (secrets redacted).
    pub command: String,
    /// The checkpoint taken before the first attempt.
    pub checkpoint: String,
    pub attempts: u32,
    /// The last attempt's exit code (`None` when a signal ended it).
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Protected files the command left invalid.
    pub invalid_files: Vec<String>,
    pub success: bool,
    /// The failure pattern and its configured severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<Pattern>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<crate::config::Severity>,
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

/// One finished attempt.
struct Attempt {
    exit_code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
}

/// Runs the guarded step; see the module docs.
pub fn run(ws: &Workspace, env: &dyn Env, options: &RunOptions) -> Result<RunReport> {
    if options.command.is_empty() {
        return Err(Error::usage(
            "no command to run",
            Some("put it after `--`: lifeline run -- ./scripts/sync-tasks.sh".to_string()),
        ));
    }
    let command_line = crate::redact::redact(&shell_words(&options.command)).into_owned();
    let operation = options
        .operation
        .clone()
        .unwrap_or_else(|| command_line.clone());
    let capture = CaptureOptions {
        kind: options.kind.clone(),
        operation: operation.clone(),
    };
    let operation_id = format!("OP-{}", uuid::Uuid::now_v7());
    let started_at = jiff::Timestamp::now();
    let manifest = match checkpoint::open(ws)
        .and_then(|store| checkpoint::capture(ws, env, store.as_ref(), &capture))
    {
        Ok(m) => m,
        Err(e) => {
            let event = Event::new("run", "start")
                .detail("operation_id", operation_id.as_str())
                .detail("command", command_line.as_str())
                .detail("type", options.kind.as_str())
                .failure(format!("the checkpoint failed: {e}"));
            audit::record(ws, env, &event)?;
            return Err(e);
        }
    };
    audit::record(
        ws,
        env,
        &Event::new("run", "start")
            .detail("operation_id", operation_id.as_str())
            .detail("command", command_line.as_str())
            .detail("operation", operation.as_str())
            .detail("checkpoint", manifest.id.as_str())
            .detail(
                "on_failure",
                format!("{:?}", options.on_failure).to_lowercase(),
            )
            .detail("retries", options.retries),
    )?;
    let mut report = RunReport {
        command: command_line,
        checkpoint: manifest.id.to_string(),
        attempts: 0,
        exit_code: None,
        signal: None,
        invalid_files: Vec::new(),
        success: false,
        classification: None,
        severity: None,
        rollback: Rollback::NotNeeded,
        failed_state: None,
        exit: 0,
        operation_id: operation_id.clone(),
        started_at,
        detected_at: None,
        recovered_at: None,
    };
    loop {
        report.attempts += 1;
        let attempt = match execute(&options.command, options.dir.as_deref(), options.quiet) {
            Ok(a) => a,
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
        let invalid = broken_files(ws, &manifest)?;
        report.exit_code = attempt.exit_code;
        report.signal = attempt.signal;
        report.invalid_files = invalid.iter().map(|(p, _)| p.clone()).collect();
        report.success = attempt.exit_code == Some(0) && invalid.is_empty();
        if !report.success && report.detected_at.is_none() {
            report.detected_at = Some(jiff::Timestamp::now());
        }
        if report.success {
            report.classification = None;
            report.severity = None;
            break;
        }
        let evidence = Evidence {
            exit_code: attempt.exit_code,
            stderr: &attempt.stderr,
            invalid: invalid
                .iter()
                .map(|(_, codes)| codes.iter().map(String::as_str).collect())
                .collect(),
        };
        let pattern = classify::classify(&evidence);
        report.classification = Some(pattern);
        report.severity = Some(crate::health::detect::severity_of(&ws.config, pattern));
        if pattern != Pattern::RateLimit || report.attempts > options.retries {
            break;
        }
        let rolled = roll_back(ws, env, &manifest)?;
        let hint = classify::retry_hint(&attempt.stderr, jiff::Timestamp::now());
        let wait = classify::backoff(report.attempts, options.backoff, options.max_backoff, hint);
        audit::record(
            ws,
            env,
            &Event::new("run", "retry")
                .detail("operation_id", operation_id.as_str())
                .detail("checkpoint", report.checkpoint.as_str())
                .detail("attempt", report.attempts)
                .detail("classification", pattern.as_str())
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
        std::thread::sleep(wait);
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
    report.exit = match (report.success, report.exit_code, report.signal) {
        (true, _, _) => 0,
        (false, Some(0), _) => 1,
        (false, Some(code), _) => code,
        (false, None, Some(sig)) => 128 + sig,
        (false, None, None) => 1,
    };
    let instant = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
    let mut event = Event::new("run", "outcome")
        .detail("operation_id", operation_id.as_str())
        .detail("command", report.command.as_str())
        .detail("checkpoint", report.checkpoint.as_str())
        .detail("started_at", report.started_at.to_string())
        .detail("detected_at", instant(report.detected_at))
        .detail("recovered_at", instant(report.recovered_at))
        .detail("attempts", report.attempts)
        .detail("exit_code", report.exit_code)
        .detail("invalid_files", report.invalid_files.clone())
        .detail(
            "rollback",
            serde_json::to_value(report.rollback).unwrap_or_default(),
        );
    if let (Some(pattern), Some(severity)) = (report.classification, report.severity) {
        event = event
            .detail("classification", pattern.as_str())
            .detail("severity", severity.as_str())
            .failure(match (report.exit_code, report.signal) {
                (Some(0), _) => format!("the command left invalid files ({})", pattern),
                (Some(code), _) => format!("the command exited with {code} ({pattern})"),
                (None, Some(sig)) => format!("the command was ended by signal {sig} ({pattern})"),
                (None, None) => format!("the command failed ({pattern})"),
            });
        if report.rollback == Rollback::RolledBack {
            event = event.recovery_action(format!("rolled back to {}", report.checkpoint));
        }
    }
    audit::record(ws, env, &event)?;
    Ok(report)
}

/// Restores the run's checkpoint without validating it (it is the state
/// before the step, valid or not); returns the safety checkpoint holding
/// what the command left, or `None` when nothing differed.
fn roll_back(ws: &Workspace, env: &dyn Env, manifest: &Manifest) -> Result<Option<String>> {
    let mut options = RestoreOptions::new(Target::Spec(manifest.id.to_string()));
    options.validate = false;
    options.operation = "rollback";
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

/// Protected files invalid now that the command broke: valid (or absent)
/// at the checkpoint, invalid now. Each with its error codes.
fn broken_files(ws: &Workspace, manifest: &Manifest) -> Result<Vec<(String, Vec<String>)>> {
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
            let codes = f
                .diagnostics
                .iter()
                .filter(|d| d.level == crate::diagnostic::Level::Error)
                .map(|d| d.code.to_string())
                .collect();
            (f.path.clone(), codes)
        })
        .collect())
}

/// Runs the command to completion: inherited stdin and stdout, stderr
/// teed, SIGINT/SIGTERM from other processes forwarded.
fn execute(command: &[OsString], dir: Option<&std::path::Path>, quiet: bool) -> Result<Attempt> {
    #[cfg(unix)]
    let mut signals = {
        use signal_hook::consts::{SIGINT, SIGTERM};
        signal_hook::iterator::SignalsInfo::<signal_hook::iterator::exfiltrator::WithOrigin>::new([
            SIGINT, SIGTERM,
        ])
        .map_err(|e| Error::io("<signals>", e))?
    };
    let shown = command[0].to_string_lossy().into_owned();
    let mut builder = Command::new(&command[0]);
    if let Some(dir) = dir {
        builder.current_dir(dir);
    }
    let spawned = builder
        .args(&command[1..])
        .stdin(if quiet {
            Stdio::null()
        } else {
            Stdio::inherit()
        })
        .stdout(if quiet {
            Stdio::null()
        } else {
            Stdio::inherit()
        })
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            #[cfg(unix)]
            signals.handle().close();
            return Err(Error::usage(
                format!("cannot run `{shown}`: {e}"),
                Some("check the command's path and that it is executable".to_string()),
            ));
        }
    };
    #[cfg(unix)]
    let handle = signals.handle();
    #[cfg(unix)]
    let forwarder = {
        let pid = child.id() as libc::pid_t;
        std::thread::spawn(move || {
            for origin in signals.forever() {
                // The terminal sends Ctrl-C to the whole foreground group,
                // the command included; only a signal another process sent
                // to lifeline alone needs passing on.
                if origin.process.is_some() {
                    // SAFETY: kill(2) with a valid signal number has no
                    // memory-safety preconditions.
                    unsafe {
                        libc::kill(pid, origin.signal);
                    }
                }
            }
        })
    };
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let tee = std::thread::spawn(move || {
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = [0u8; 8192];
        let mut stderr = std::io::stderr();
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if !quiet {
                        let _ = stderr.write_all(&buf[..n]);
                    }
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 2 * STDERR_TAIL {
                        tail.drain(..tail.len() - STDERR_TAIL);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        tail
    });
    let status = child.wait().map_err(|e| Error::io(&shown, e));
    let tail = tee.join().unwrap_or_default();
    #[cfg(unix)]
    {
        handle.close();
        let _ = forwarder.join();
    }
    let status = status?;
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal = None;
    Ok(Attempt {
        exit_code: status.code(),
        signal,
        stderr: String::from_utf8_lossy(&tail).into_owned(),
    })
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
