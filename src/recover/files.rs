//! `task-file-corruption` and `sprint-config-corruption` without a
//! checkpoint: walk back through the git history of the file to the newest
//! revision that validates (not blindly `HEAD~1`, which may be corrupt
//! too), say which, and put it back; for the sprint config, as the plan's
//! failure matrix says, fall back to a config rebuilt from TASK.md's
//! sprint header.
//!
//! Before writing, a `pre-restore` safety checkpoint is taken, so
//! `lifeline undo` can put the broken state back for forensics.

use super::Session;
use crate::config::Validator;
use crate::error::{Error, Result};
use crate::validate::validate_bytes;

/// How many revisions of the file are examined at most.
const MAX_REVISIONS: usize = 200;

/// The protected file the runbook repairs: the first entry with
/// `validator`.
pub(crate) fn target(session: &Session<'_>, validator: Validator) -> Result<String> {
    session
        .ws
        .config
        .protect
        .iter()
        .find(|e| e.validator == validator && !e.is_glob())
        .map(|e| e.path.clone())
        .ok_or_else(|| {
            Error::usage(
                format!("no protected file has the `{validator}` validator"),
                Some("add it to [[protect]] in lifeline.toml".into()),
            )
        })
}

/// A revision of a file that validates.
pub(crate) struct GoodRevision {
    pub commit: String,
    /// `YYYY-MM-DD, subject`.
    pub summary: String,
    pub date: String,
    pub subject: String,
    pub bytes: Vec<u8>,
    /// Newer revisions that did not validate, each with its error
    /// findings (`CODE path:line`).
    pub skipped: Vec<Skipped>,
}

/// A revision the walk back passed over, and why.
pub(crate) struct Skipped {
    pub commit: String,
    pub findings: String,
}

/// The newest revision of `path` in history whose content validates.
pub(crate) fn newest_valid_revision(
    session: &Session<'_>,
    path: &str,
    validator: Validator,
) -> Result<Option<GoodRevision>> {
    let Some(git) = session.ws.git.as_ref() else {
        return Ok(None);
    };
    let log = git
        .run([
            "log",
            &format!("--max-count={MAX_REVISIONS}"),
            "--format=%H %h %cs %s",
            "--",
            path,
        ])
        .unwrap_or_default();
    let mut skipped = Vec::new();
    for line in log.lines() {
        let mut parts = line.splitn(4, ' ');
        let (Some(sha), Some(short), Some(date), subject) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let summary = format!("{date}, {}", subject.unwrap_or_default());
        let Ok(bytes) = git.run_bytes(["show", &format!("{sha}:{path}")], None) else {
            // The file was deleted in this commit.
            continue;
        };
        let report = validate_bytes(path, &bytes, validator);
        if report.valid {
            return Ok(Some(GoodRevision {
                commit: sha.to_string(),
                summary,
                date: date.to_string(),
                subject: subject.unwrap_or_default().to_string(),
                bytes,
                skipped,
            }));
        }
        skipped.push(Skipped {
            commit: short.to_string(),
            findings: super::findings(report.diagnostics.iter()),
        });
    }
    Ok(None)
}

/// Takes the safety checkpoint, then writes `bytes` to `path` atomically.
pub(crate) fn put_back(
    session: &mut Session<'_>,
    path: &str,
    bytes: &[u8],
    from: &Source,
) -> Result<()> {
    let validator = session
        .ws
        .config
        .validator_for(path)
        .unwrap_or_else(|| Validator::by_name(path));
    let from_text = from.label.clone();
    if session.options.dry_run {
        crate::fs::paths::safe_join(&session.ws.root, path)?;
        let current = crate::fs::paths::read_own(&session.ws.root, path)?;
        let change = crate::restore::plan::rewrite(path, validator, current.as_deref(), bytes);
        session.plan = Some(crate::restore::Plan {
            checkpoint: from.label.clone(),
            kind: from.kind.clone(),
            operation: from.operation.clone(),
            created_at: from.created_at.clone(),
            checkpoint_valid: true,
            changes: vec![change],
            skipped: Vec::new(),
            writes: Default::default(),
        });
        return session.step(format!("would restore {path} from {from_text}"));
    }
    let store = crate::checkpoint::open(session.ws)?;
    let safety = crate::checkpoint::capture(
        session.ws,
        session.env,
        store.as_ref(),
        &crate::checkpoint::CaptureOptions {
            kind: crate::checkpoint::PRE_RESTORE.into(),
            operation: format!("before recover {} restores {path}", session.options.kind),
        },
    )?;
    session.step(format!(
        "safety checkpoint {} holds the state before the repair (`lifeline undo` puts it back)",
        safety.id
    ))?;
    let mode = match crate::fs::paths::inspect(&session.ws.root, path)? {
        crate::fs::paths::Inspect::Found(found) if found.kind == crate::fs::paths::Kind::File => {
            Some(found.mode)
        }
        _ => None,
    };
    crate::fs::atomic::write_in(&session.ws.root, path, bytes, mode)?;
    session.changed(path)?;
    session.step(format!("restored {path} from {from_text}"))
}

/// Where a repaired file's content comes from, for the step text and the
/// dry run's plan.
pub(crate) struct Source {
    /// `commit 1a2b3c4d5e6f`, or what built the content.
    pub label: String,
    pub kind: String,
    pub operation: String,
    pub created_at: String,
}

pub(crate) fn task_file(session: &mut Session<'_>) -> Result<String> {
    let path = target(session, Validator::TaskMd)?;
    repair_from_history(session, &path, Validator::TaskMd)
}

pub(crate) fn sprint_config(session: &mut Session<'_>) -> Result<String> {
    let path = target(session, Validator::SprintConfig)?;
    let outcome = repair_from_history(session, &path, Validator::SprintConfig)?;
    if outcome == "recovered" || outcome == "planned" {
        return Ok(outcome);
    }
    // The plan's last resort: rebuild it from TASK.md's sprint header.
    let task = target(session, Validator::TaskMd)?;
    let text = crate::fs::paths::read_own(&session.ws.root, &task)
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    match rebuild_sprint_config(&text) {
        Some(json) => {
            let source = Source {
                label: format!("a template rebuilt from {task}'s sprint header"),
                kind: "rebuilt".into(),
                operation: format!("{path} rebuilt from {task}"),
                created_at: jiff::Timestamp::now().to_string(),
            };
            put_back(session, &path, json.as_bytes(), &source)?;
            session.step(format!(
                "check target_points and last_sprint_velocity in {path}: the sprint header does not say them (set to 0)"
            ))?;
            Ok("recovered".into())
        }
        None => {
            session.step(format!(
                "{task} has no usable `**Sprint ID**:` and `**Sprint**: N (start to end)` header to rebuild {path} from"
            ))?;
            Ok("failed".into())
        }
    }
}

fn repair_from_history(
    session: &mut Session<'_>,
    path: &str,
    validator: Validator,
) -> Result<String> {
    // Absent reads as empty (nothing to keep); a file that cannot be read
    // (a link, a FIFO, no permission, too large) stops the runbook rather
    // than being overwritten unseen.
    let current = crate::fs::paths::read_own(&session.ws.root, path)?.unwrap_or_default();
    if validate_bytes(path, &current, validator).valid {
        session.step(format!("{path} validates already; nothing to restore"))?;
        return Ok("recovered".into());
    }
    if let Some(checkpoint) = session.options.checkpoint.clone() {
        return restore_checkpoint(session, &checkpoint, &[path.to_string()]);
    }
    match newest_valid_revision(session, path, validator)? {
        Some(good) => {
            if !good.skipped.is_empty() {
                session.step(format!(
                    "skipped {} newer revision(s) of {path} that do not validate either: {}",
                    good.skipped.len(),
                    good.skipped
                        .iter()
                        .map(|s| format!("{} ({})", s.commit, s.findings))
                        .collect::<Vec<_>>()
                        .join("; ")
                ))?;
            }
            session.step(format!(
                "newest revision of {path} that validates: {} ({})",
                &good.commit[..good.commit.len().min(12)],
                good.summary
            ))?;
            let source = Source {
                label: format!("commit {}", &good.commit[..good.commit.len().min(12)]),
                kind: "git history".into(),
                operation: good.subject.clone(),
                created_at: good.date.clone(),
            };
            put_back(session, path, &good.bytes, &source)?;
            Ok(if session.options.dry_run {
                "planned"
            } else {
                "recovered"
            }
            .into())
        }
        None => {
            session.step(format!("no revision of {path} in git history validates"))?;
            Ok("failed".into())
        }
    }
}

/// Restores `paths` (all protected files when empty) from `checkpoint`
/// through the restore transaction (verify, safety checkpoint, atomic
/// apply, validate, undo itself if invalid).
pub(crate) fn restore_checkpoint(
    session: &mut Session<'_>,
    checkpoint: &str,
    paths: &[String],
) -> Result<String> {
    use crate::restore::{Options, Status, Target};
    let mut options = Options::new(Target::Spec(checkpoint.to_string()));
    options.only = paths.to_vec();
    options.dry_run = session.options.dry_run;
    // The recovery holds the guarded-step lock already.
    options.wait = None;
    let report = crate::commands::restore::restore(
        session.ws,
        session.env,
        &options,
        &mut |_| Ok(true),
        &mut |_| {},
    )?;
    if session.options.dry_run {
        session.plan = report.plan.clone();
    }
    let changed: Vec<String> = report
        .plan
        .as_ref()
        .map(|p| {
            p.changes
                .iter()
                .filter(|c| c.action != crate::restore::Action::Unchanged)
                .map(|c| c.path.clone())
                .collect()
        })
        .unwrap_or_default();
    for path in &changed {
        session.changed(path)?;
    }
    let outcome = match report.status {
        Status::Restored | Status::Unchanged => "recovered",
        Status::DryRun => "planned",
        Status::Undone | Status::Refused | Status::Cancelled => "failed",
    };
    let mut text = format!(
        "restore of checkpoint {}: {:?}",
        report.checkpoint, report.status
    );
    if !changed.is_empty() {
        text.push_str(&format!(" ({})", changed.join(", ")));
    }
    if let Some(safety) = &report.safety_checkpoint {
        text.push_str(&format!(
            "; safety checkpoint {safety} (`lifeline undo` puts it back)"
        ));
    }
    for problem in &report.problems {
        text.push_str(&format!("; {problem}"));
    }
    session.step(text)?;
    Ok(outcome.into())
}

/// `sprint.config.json` from TASK.md's `**Sprint ID**: Sprint-07-2025`
/// and `**Sprint**: 7 (2025-07-06 to 2025-07-20)` lines.
pub(crate) fn rebuild_sprint_config(task_md: &str) -> Option<String> {
    let doc = crate::validate::taskmd::parse(task_md.trim_start_matches('\u{feff}'));
    let sprint_id = doc.sprint_id?.to_string();
    let line = task_md.lines().map(str::trim).find_map(|l| {
        l.strip_prefix("**Sprint**:")
            .or_else(|| l.strip_prefix("**Sprint:**"))
    })?;
    let (number, rest) = line.trim().split_once(' ')?;
    let number: u32 = number.parse().ok()?;
    let inner = rest.trim().strip_prefix('(')?.split(')').next()?;
    let (start, end) = inner.split_once(" to ")?;
    let start = crate::validate::dates::parse_date(start.trim()).ok()?;
    let end = crate::validate::dates::parse_date(end.trim()).ok()?;
    let days = (end - start).get_days();
    let value = serde_json::json!({
        "sprint_id": sprint_id,
        "sprint_number": number,
        "version": "v1.0.0",
        "start_date": start.to_string(),
        "end_date": end.to_string(),
        "duration_days": days,
        "target_points": 0,
        "last_sprint_velocity": 0,
    });
    Some(serde_json::to_string_pretty(&value).ok()? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_the_sprint_config_from_the_header() {
        let task = include_str!("../../tests/fixtures/sample-repo/planning/TASK.md");
        let json = rebuild_sprint_config(task).unwrap();
        let report = validate_bytes(
            "planning/sprint.config.json",
            json.as_bytes(),
            Validator::SprintConfig,
        );
        assert!(report.valid, "{json} {:?}", report.diagnostics);
        assert!(json.contains("\"duration_days\": 14"));
        assert!(rebuild_sprint_config("# nothing").is_none());
    }
}
