//! `lifeline restore` and `lifeline undo` (and the rollback of a guarded
//! step): the transaction's steps in order, and every audit entry they
//! write.
//!
//! Resolve the checkpoint, take the guarded-step lock and the restore
//! lock, read the checkpoint back and verify it (every file rehashed, its
//! signature checked), plan each path, ask the caller to confirm, take a
//! `pre-restore` safety checkpoint of the current state, write the plan
//! atomically, validate what was written — and when that is invalid, put
//! the safety checkpoint back and say so. The steps are the restore
//! engine's ([`crate::restore`]), which returns typed results and records
//! nothing; here each attempt that changes or tries to change files
//! becomes one audit entry (how it ended, `Ended`, → `event`). `undo` is a restore of
//! the newest safety checkpoint.

use crate::audit::{self, Event};
use crate::checkpoint::{self, CheckpointId};
use crate::ci::Env;
use crate::error::Result;
use crate::restore::step_lock::{self, Busy};
use crate::restore::{
    self, Action, Checked, InvalidFile, Options, Plan, Planned, Report, Status, Target, Verified,
};
use crate::workspace::Workspace;

/// Asked once with the plan before anything is written; `Ok(false)`
/// cancels, an error (no terminal and no `--yes`) stops the restore.
pub type Confirm<'a> = dyn FnMut(&Plan) -> Result<bool> + 'a;

/// Told once when a guarded step holds the lock and the restore waits.
pub type Waiting<'a> = dyn FnMut(&Busy) + 'a;

/// What `lifeline undo` restores: the newest safety checkpoint, as it was.
pub fn undo_options(dry_run: bool, wait: std::time::Duration) -> Options {
    let mut options = Options::new(Target::LastSafety);
    options.dry_run = dry_run;
    options.operation = "undo";
    options.wait = Some(wait);
    // Undo brings back the state before the restore as it was, valid or
    // not: that state is what the person asked for.
    options.validate = false;
    options
}

/// Runs the restore transaction; see the module docs.
pub fn restore(
    ws: &Workspace,
    env: &dyn Env,
    options: &Options,
    confirm: &mut Confirm<'_>,
    waiting: &mut Waiting<'_>,
) -> Result<Report> {
    let store = checkpoint::open(ws)?;
    let store = store.as_ref();
    let resolved = restore::resolve(store, &options.target)?;
    let id = resolved.id.clone();
    // One guarded step at a time: this restore waits for a running step
    // (whose rollback would erase it, or which it would overwrite), and a
    // step waits for it. Taken before the restore lock, like `run` does.
    let _step = match options.wait {
        Some(wait) if !options.dry_run => {
            Some(step_lock::hold(ws, wait, options.operation, waiting)?)
        }
        _ => None,
    };
    let _lock = restore::lock(&ws.root, store)?;
    let Verified {
        manifest,
        files,
        dirty,
    } = match restore::verify(ws, env, store, resolved, options.allow_unsigned)? {
        Checked::Verified(verified) => *verified,
        Checked::Refused(problems) => return refused(ws, env, options, &id, problems),
    };
    let plan = match restore::plan(ws, &manifest, files, &dirty, &options.only)? {
        Planned::Ready(plan) => plan,
        Planned::Refused(why) => return refused(ws, env, options, &id, vec![why]),
    };
    let mut report = Report::new(Status::DryRun, id.as_str());
    if options.dry_run {
        report.plan = Some(plan);
        return Ok(report);
    }
    if plan.touched().next().is_none() {
        report.status = Status::Unchanged;
        report.plan = Some(plan);
        return Ok(report);
    }
    if !confirm(&plan)? {
        report.status = Status::Cancelled;
        report.plan = Some(plan);
        return Ok(report);
    }
    // Refuse before touching anything when the audit entry could not be
    // written afterwards.
    audit::preflight(ws)?;
    let safety = match restore::safety_checkpoint(ws, env, store, options.operation, &id) {
        Ok(m) => m,
        Err(e) => {
            let ended = Ended::SafetyFailed { why: e.to_string() };
            audit::record(ws, env, &event(options, &id, &plan, &ended))?;
            return Err(e);
        }
    };
    report.safety_checkpoint = Some(safety.id.to_string());
    if let Err(e) = restore::write(ws, &plan) {
        let back = restore::put_back(ws, store, &safety, &plan);
        let ended = Ended::WriteFailed {
            safety: &safety.id,
            why: e.to_string(),
            put_back: back.map_err(|b| b.to_string()),
        };
        audit::record(ws, env, &event(options, &id, &plan, &ended))?;
        return Err(e);
    }
    if options.validate {
        report.invalid = restore::invalid_files(ws, &plan)?;
    }
    if !report.invalid.is_empty() {
        let back = restore::put_back(ws, store, &safety, &plan);
        let ended = Ended::Invalid {
            safety: &safety.id,
            invalid: &report.invalid,
        };
        audit::record(ws, env, &event(options, &id, &plan, &ended))?;
        back?;
        report.status = Status::Undone;
        report.plan = Some(plan);
        return Ok(report);
    }
    if options.commit {
        match restore::commit(ws, &manifest, &plan) {
            Ok(sha) => report.commit = sha,
            Err(e) => {
                let ended = Ended::CommitFailed {
                    safety: &safety.id,
                    why: e.to_string(),
                };
                audit::record(ws, env, &event(options, &id, &plan, &ended))?;
                return Err(e);
            }
        }
    }
    let ended = Ended::Restored {
        safety: &safety.id,
        validated: options.validate,
        commit: report.commit.as_deref(),
        written: restore::written(&manifest, &plan),
    };
    let changed: Vec<String> = plan.touched().map(|c| c.path.clone()).collect();
    audit::record_after_change(
        ws,
        env,
        &event(options, &id, &plan, &ended),
        &changed,
        Some(safety.id.as_str()),
    )?;
    report.status = Status::Restored;
    report.plan = Some(plan);
    Ok(report)
}

/// Records a refused checkpoint and reports it; nothing changed.
fn refused(
    ws: &Workspace,
    env: &dyn Env,
    options: &Options,
    id: &CheckpointId,
    problems: Vec<String>,
) -> Result<Report> {
    audit::record(ws, env, &refused_event(options, id, &problems))?;
    let mut report = Report::new(Status::Refused, id.as_str());
    report.problems = problems;
    Ok(report)
}

/// The audit entry of a refused checkpoint.
fn refused_event(options: &Options, id: &CheckpointId, problems: &[String]) -> Event {
    Event::new("restore", options.operation)
        .detail("checkpoint", id.as_str())
        .detail("problems", problems.to_vec())
        .failure(format!("checkpoint {id} refused: {}", problems.join("; ")))
}

/// How a restore that got as far as a confirmed plan ended: what its audit
/// entry records.
#[derive(Debug)]
enum Ended<'a> {
    /// The safety checkpoint could not be taken; nothing was written.
    SafetyFailed { why: String },
    /// Writing the files failed; the safety checkpoint's files were put
    /// back, or putting them back failed too (`Err`).
    WriteFailed {
        safety: &'a CheckpointId,
        why: String,
        put_back: std::result::Result<(), String>,
    },
    /// The written files did not validate; the safety checkpoint is back.
    Invalid {
        safety: &'a CheckpointId,
        invalid: &'a [InvalidFile],
    },
    /// The files were written, but `--commit` failed.
    CommitFailed {
        safety: &'a CheckpointId,
        why: String,
    },
    /// Written (and validated when asked): each written file with its
    /// SHA-256.
    Restored {
        safety: &'a CheckpointId,
        validated: bool,
        commit: Option<&'a str>,
        written: Vec<(String, String)>,
    },
}

/// The audit entry of a restore of `id` that got as far as `plan` and
/// ended as `ended`.
fn event(options: &Options, id: &CheckpointId, plan: &Plan, ended: &Ended<'_>) -> Event {
    let paths = |action: Action| -> Vec<String> {
        plan.changes
            .iter()
            .filter(|c| c.action == action)
            .map(|c| c.path.clone())
            .collect()
    };
    let mut event = Event::new("restore", options.operation)
        .detail("checkpoint", id.as_str())
        .detail("restored", paths(Action::Restore))
        .detail("created", paths(Action::Create))
        .detail("deleted", paths(Action::Delete))
        .detail("unchanged", plan.count(Action::Unchanged));
    if !options.only.is_empty() {
        event = event.detail("only", options.only.clone());
    }
    for change in plan.touched() {
        event = event.file(change.path.clone());
    }
    match ended {
        Ended::SafetyFailed { why } => {
            event.failure(format!("the safety checkpoint failed: {why}"))
        }
        Ended::WriteFailed {
            safety,
            why,
            put_back,
        } => event
            .detail("safety_checkpoint", safety.as_str())
            .failure(format!("writing the files failed: {why}"))
            .recovery_action(match put_back {
                Ok(()) => format!("restored the safety checkpoint {safety}"),
                Err(b) => format!(
                    "putting the safety checkpoint {safety} back failed too ({b}); run `lifeline undo`"
                ),
            }),
        Ended::Invalid { safety, invalid } => {
            let names: Vec<&str> = invalid.iter().map(|f| f.path.as_str()).collect();
            event
                .detail("safety_checkpoint", safety.as_str())
                .detail("invalid_files", names.clone())
                .failure(format!("restored files are invalid: {}", names.join(", ")))
                .recovery_action(format!("restored the safety checkpoint {safety}"))
        }
        Ended::CommitFailed { safety, why } => event
            .detail("safety_checkpoint", safety.as_str())
            .failure(format!("restored, but the commit failed: {why}")),
        Ended::Restored {
            safety,
            validated,
            commit,
            written,
        } => {
            event = event
                .detail("safety_checkpoint", safety.as_str())
                .detail("validated", *validated);
            if let Some(sha) = commit {
                event = event.detail("commit", *sha);
            }
            for (path, sha256) in written {
                event = event.written(path.clone(), sha256.clone());
            }
            event
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Outcome;
    use crate::restore::plan::test_change as change;

    fn id(text: &str) -> CheckpointId {
        text.parse().expect("a checkpoint ID")
    }

    fn plan() -> Plan {
        Plan {
            checkpoint: "manual-20261130T170000Z-0001".into(),
            kind: "manual".into(),
            created_at: "2026-11-30T17:00:00Z".into(),
            operation: "manual checkpoint".into(),
            checkpoint_valid: true,
            changes: vec![
                change("planning/TASK.md", Action::Restore),
                change("planning/new.md", Action::Create),
                change("planning/old.md", Action::Delete),
                change(".github/labels.yml", Action::Unchanged),
            ],
            skipped: Vec::new(),
            writes: Default::default(),
        }
    }

    #[test]
    fn undo_puts_the_last_safety_checkpoint_back_as_it_was() {
        let options = undo_options(true, std::time::Duration::from_secs(5));
        assert!(matches!(options.target, Target::LastSafety));
        assert_eq!(options.operation, "undo");
        assert!(!options.validate, "undo restores an invalid state too");
        assert!(options.dry_run);
        assert_eq!(options.wait, Some(std::time::Duration::from_secs(5)));
        assert!(!options.commit);
    }

    #[test]
    fn a_restored_plan_records_what_it_wrote_with_the_checked_digests() {
        let options = Options::new(Target::Spec("latest".into()));
        let target = id("manual-20261130T170000Z-0001");
        let safety = id("pre-restore-20261130T170100Z-0002");
        let ended = Ended::Restored {
            safety: &safety,
            validated: true,
            commit: Some("abc123"),
            written: vec![("planning/TASK.md".into(), "f00d".into())],
        };
        let event = event(&options, &target, &plan(), &ended);
        assert_eq!(event.component, "restore");
        assert_eq!(event.operation, "restore");
        assert_eq!(event.result, Outcome::Success);
        assert_eq!(
            event.details["restored"],
            serde_json::json!(["planning/TASK.md"])
        );
        assert_eq!(
            event.details["created"],
            serde_json::json!(["planning/new.md"])
        );
        assert_eq!(
            event.details["deleted"],
            serde_json::json!(["planning/old.md"])
        );
        assert_eq!(event.details["unchanged"], serde_json::json!(1));
        assert_eq!(event.details["commit"], serde_json::json!("abc123"));
        assert_eq!(event.details["validated"], serde_json::json!(true));
        assert_eq!(
            event.details["safety_checkpoint"],
            serde_json::json!(safety.as_str())
        );
        assert_eq!(
            event.files,
            ["planning/TASK.md", "planning/new.md", "planning/old.md"]
        );
        assert_eq!(event.written["planning/TASK.md"], "f00d");
        assert!(!event.details.contains_key("only"));
        assert_eq!(event.error, None);
    }

    #[test]
    fn an_invalid_restore_records_the_files_and_the_put_back() {
        let mut options = Options::new(Target::LastSafety);
        options.operation = "undo";
        options.only = vec!["planning".into()];
        let target = id("manual-20261130T170000Z-0001");
        let safety = id("pre-restore-20261130T170100Z-0002");
        let invalid = [InvalidFile {
            path: "planning/TASK.md".into(),
            errors: 2,
            findings: Vec::new(),
        }];
        let ended = Ended::Invalid {
            safety: &safety,
            invalid: &invalid,
        };
        let event = event(&options, &target, &plan(), &ended);
        assert_eq!(event.operation, "undo");
        assert_eq!(event.result, Outcome::Failure);
        assert_eq!(
            event.error.as_deref(),
            Some("restored files are invalid: planning/TASK.md")
        );
        assert_eq!(
            event.recovery_action,
            Some(format!("restored the safety checkpoint {safety}"))
        );
        assert_eq!(
            event.details["invalid_files"],
            serde_json::json!(["planning/TASK.md"])
        );
        assert_eq!(event.details["only"], serde_json::json!(["planning"]));
        assert!(event.written.is_empty());
    }

    #[test]
    fn a_failed_write_says_whether_the_safety_checkpoint_went_back() {
        let options = Options::new(Target::Spec("latest".into()));
        let target = id("manual-20261130T170000Z-0001");
        let safety = id("pre-restore-20261130T170100Z-0002");
        let back = |put_back| Ended::WriteFailed {
            safety: &safety,
            why: "disk full".into(),
            put_back,
        };
        let event_ok = event(&options, &target, &plan(), &back(Ok(())));
        assert_eq!(
            event_ok.error.as_deref(),
            Some("writing the files failed: disk full")
        );
        assert_eq!(
            event_ok.recovery_action,
            Some(format!("restored the safety checkpoint {safety}"))
        );
        let event_failed = event(&options, &target, &plan(), &back(Err("gone".into())));
        assert_eq!(
            event_failed.recovery_action,
            Some(format!(
                "putting the safety checkpoint {safety} back failed too (gone); run `lifeline undo`"
            ))
        );
        let safety_failed = Ended::SafetyFailed {
            why: "no space".into(),
        };
        let event_safety = event(&options, &target, &plan(), &safety_failed);
        assert_eq!(
            event_safety.error.as_deref(),
            Some("the safety checkpoint failed: no space")
        );
        assert!(!event_safety.details.contains_key("safety_checkpoint"));
        assert_eq!(event_safety.recovery_action, None);
    }

    #[test]
    fn a_refusal_records_every_problem() {
        let mut options = Options::new(Target::Spec("latest".into()));
        options.operation = "rollback";
        let target = id("manual-20261130T170000Z-0001");
        let problems = vec!["`a` is damaged: x".to_string(), "unsigned".to_string()];
        let event = refused_event(&options, &target, &problems);
        assert_eq!(event.operation, "rollback");
        assert_eq!(event.result, Outcome::Failure);
        assert_eq!(
            event.error,
            Some(format!(
                "checkpoint {target} refused: `a` is damaged: x; unsigned"
            ))
        );
        assert_eq!(event.details["problems"], serde_json::json!(problems));
        assert!(event.files.is_empty());
    }
}
