//! `lifeline run`: one automation step wrapped in lock → checkpoint → run
//! → validate → keep or roll back, and every audit entry it writes
//! (`run`/`start`, `run`/`retry`, `run`/`outcome`, linked by an operation
//! ID; a rollback is a `restore`/`rollback` entry through
//! [`super::restore`]).
//!
//! - One guarded step at a time per repository
//!   ([`crate::restore::step_lock`]): a failing step's rollback can then
//!   only undo its own work.
//! - The step itself runs in [`crate::run::Runner`], which passes its
//!   output through (secrets redacted) and reads its status file.
//! - A failure is classified from structured signals only
//!   ([`crate::run::classify`]): the validation findings, and what the
//!   step wrote to the file `$LIFELINE_STEP_STATUS` names. A rate-limited
//!   step is rolled back and retried when the caller allows it.
//! - SIGINT and SIGTERM stop the run at any stage
//!   ([`crate::restore::stop`]): the step's process group gets the signal,
//!   the files are rolled back, the outcome is recorded, and lifeline exits
//!   128 + N.

use std::path::Path;
use std::time::Duration;

use crate::audit::entry::Context;
use crate::audit::{self, Event};
use crate::checkpoint::{self, CaptureOptions, Manifest};
use crate::ci::Env;
use crate::config::Pattern;
use crate::error::{Error, Result};
use crate::restore::step_lock::{self, Acquired};
use crate::restore::stop::Stop;
use crate::restore::{Options as RestoreOptions, Status, Target};
use crate::run::classify::{self, Evidence};
use crate::run::{OnFailure, Rollback, RunOptions, RunReport, Runner};
use crate::workspace::Workspace;

/// What a guarded step tells its caller while it runs (the CLI says it on
/// stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Another guarded step holds the lock (`holder`: the pid it wrote);
    /// this one waits up to `wait`.
    Waiting {
        holder: Option<String>,
        wait: Duration,
    },
    /// Attempt `attempt` of `of` was rate limited; the next one starts
    /// after `wait`.
    Retrying {
        attempt: u32,
        of: u32,
        wait: Duration,
    },
}

/// Runs the guarded step; see the module docs.
pub fn run(
    ws: &Workspace,
    env: &dyn Env,
    options: &RunOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunReport> {
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
    let command_line = ctx
        .redact(&crate::run::shell_words(&options.command))
        .into_owned();
    let operation = options
        .operation
        .clone()
        .unwrap_or_else(|| command_line.clone());
    let mut report = RunReport::new(command_line);
    let operation_id = report.operation_id.clone();
    let stop = Stop::install()?;
    let lock_path = step_lock::path(ws)?;
    let acquired = step_lock::acquire(&lock_path, options.wait, Some(&stop), &mut |holder| {
        progress(&Progress::Waiting {
            holder: holder.map(str::to_string),
            wait: options.wait,
        });
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
    // Refuse before the checkpoint (and the step) when the entries could
    // not be written: a failed run never leaves a checkpoint unannounced.
    audit::preflight(ws)?;
    let runner = Runner::new()?;
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
        let ran = runner
            .attempt(options, &stop)
            .and_then(|attempt| Ok((crate::run::broken_files(ws, &manifest, &ctx)?, attempt)));
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
        report.observe(&attempt, &broken);
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
        progress(&Progress::Retrying {
            attempt: report.attempts,
            of: options.retries + 1,
            wait,
        });
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
                    audit::record(ws, env, &rollback_failed_event(&report, &e))?;
                    return Err(e);
                }
            },
        };
    }
    report.exit = report.final_exit(stopped_between);
    let mut outcome = outcome_event(&report);
    // What the step left where a protected file may be but lifeline never
    // reads — a symlink or FIFO (`FILE006`/`FILE007`), a name it cannot
    // carry (`FILE009`, escaped) — is named in `invalid_files` but has no
    // checksum: the outcome is recorded without one rather than not at all.
    outcome.files.retain(|f| readable_file(&ws.root, f));
    audit::record(ws, env, &outcome)?;
    Ok(report)
}

/// Whether `rel` is a regular file lifeline opens, or absent (recorded as
/// deleted).
fn readable_file(root: &Path, rel: &str) -> bool {
    use crate::fs::paths::{Inspect, Kind};
    match crate::fs::paths::inspect(root, rel) {
        Ok(Inspect::Missing) => true,
        Ok(Inspect::Found(found)) => found.kind == Kind::File,
        _ => false,
    }
}

/// Inside GitHub Actions: sets the step outputs `success`, `checkpoint`,
/// `classification`, `severity` and `rolled_back`. Elsewhere nothing.
pub fn publish_to_actions(env: &dyn Env, report: &RunReport) -> Result<()> {
    if !crate::ci::in_github_actions(env) {
        return Ok(());
    }
    crate::ci::set_outputs(
        env,
        &[
            ("success", report.success.to_string()),
            ("checkpoint", report.checkpoint.clone()),
            (
                "classification",
                report
                    .classification
                    .map_or(String::new(), |p| p.to_string()),
            ),
            (
                "severity",
                report.severity.map_or(String::new(), |s| s.to_string()),
            ),
            (
                "rolled_back",
                (report.rollback == Rollback::RolledBack).to_string(),
            ),
        ],
    )
}

/// The `run`/`outcome` entry of a run whose rollback failed with `e`.
fn rollback_failed_event(report: &RunReport, e: &Error) -> Event {
    let mut event = Event::new("run", "outcome")
        .detail("operation_id", report.operation_id.as_str())
        .detail("command", report.command.as_str())
        .detail("checkpoint", report.checkpoint.as_str())
        .detail("started_at", report.started_at.to_string())
        .detail("detected_at", report.detected_at.map(|t| t.to_string()))
        .detail("rollback", "failed")
        .failure(format!("the rollback failed: {e}"));
    if let Some(severity) = report.severity {
        event = event.detail("severity", severity.as_str());
    }
    event
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
    let report = super::restore::restore(ws, env, &options, &mut |_| Ok(true), &mut |_| {})?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Outcome;
    use crate::config::Severity;
    use crate::run::classify::StepStatus;
    use crate::run::{Attempt, Broken, Finding, MAX_FINDINGS};

    fn broken(path: &str, findings: usize) -> Broken {
        Broken {
            path: path.into(),
            codes: vec!["E001".into()],
            findings: (0..findings)
                .map(|i| Finding {
                    code: "E001".into(),
                    path: path.into(),
                    line: Some(i + 1),
                    message: "bad row".into(),
                })
                .collect(),
        }
    }

    fn attempt(exit_code: Option<i32>) -> Attempt {
        Attempt {
            exit_code,
            signal: None,
            status: StepStatus::default(),
        }
    }

    #[test]
    fn a_rolled_back_failure_records_what_happened_and_the_recovery() {
        let mut report = RunReport::new("./sync.sh".into());
        report.checkpoint = "task-sync-20261130T170000Z-0001".into();
        report.attempts = 1;
        report.observe(
            &attempt(Some(0)),
            &[broken("planning/TASK.md", MAX_FINDINGS + 5)],
        );
        report.classification = Some(Pattern::Corruption);
        report.severity = Some(Severity::P1);
        report.rollback = Rollback::RolledBack;
        report.exit = report.final_exit(None);
        assert_eq!(report.exit, 1, "only validation failed");
        assert_eq!(report.findings.len(), MAX_FINDINGS);
        assert_eq!(report.findings_total, MAX_FINDINGS + 5);
        assert!(report.detected_at.is_some());
        let event = outcome_event(&report);
        assert_eq!(
            (event.component.as_str(), event.operation.as_str()),
            ("run", "outcome")
        );
        assert_eq!(event.result, Outcome::Failure);
        assert_eq!(
            event.error,
            Some(format!(
                "the step exited 0 but left planning/TASK.md invalid ({})",
                Pattern::Corruption
            ))
        );
        assert_eq!(
            event.recovery_action.as_deref(),
            Some("rolled back to task-sync-20261130T170000Z-0001")
        );
        assert_eq!(event.files, ["planning/TASK.md"]);
        assert_eq!(event.details["rollback"], serde_json::json!("rolled-back"));
        assert_eq!(
            event.details["classification"],
            serde_json::json!(Pattern::Corruption.as_str())
        );
        assert_eq!(
            event.details["findings_total"],
            serde_json::json!(MAX_FINDINGS + 5)
        );
        assert!(!event.details.contains_key("stopped_by"));
    }

    #[test]
    fn a_successful_run_records_no_failure_and_exits_0() {
        let mut report = RunReport::new("true".into());
        report.attempts = 1;
        report.observe(&attempt(Some(0)), &[]);
        assert!(report.success);
        assert_eq!(report.final_exit(None), 0);
        assert_eq!(report.detected_at, None);
        let event = outcome_event(&report);
        assert_eq!(event.result, Outcome::Success);
        assert_eq!(event.error, None);
        assert_eq!(event.recovery_action, None);
        assert_eq!(event.details["rollback"], serde_json::json!("not-needed"));
        assert!(!event.details.contains_key("classification"));
    }

    #[test]
    fn the_exit_code_follows_the_step_then_the_signal_that_stopped_it() {
        let mut report = RunReport::new("false".into());
        report.observe(&attempt(Some(3)), &[]);
        assert_eq!(report.final_exit(None), 3);
        assert_eq!(
            report.final_exit(Some(15)),
            128 + 15,
            "stopped between attempts"
        );
        let mut killed = RunReport::new("sleep".into());
        killed.observe(
            &Attempt {
                exit_code: None,
                signal: Some(9),
                status: StepStatus::default(),
            },
            &[],
        );
        assert_eq!(killed.final_exit(None), 128 + 9);
    }

    #[test]
    fn a_failed_rollback_is_on_record_with_its_severity() {
        let mut report = RunReport::new("./sync.sh".into());
        report.observe(&attempt(Some(2)), &[]);
        report.severity = Some(Severity::P2);
        let error = Error::environment("the disk is full", None);
        let event = rollback_failed_event(&report, &error);
        assert_eq!(event.result, Outcome::Failure);
        assert_eq!(event.error, Some(format!("the rollback failed: {error}")));
        assert_eq!(event.details["rollback"], serde_json::json!("failed"));
        assert_eq!(
            event.details["severity"],
            serde_json::json!(Severity::P2.as_str())
        );
    }
}
