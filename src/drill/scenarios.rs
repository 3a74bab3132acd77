//! The scenarios, from the plan's failure matrix. Each injects its fault
//! into a [`Scratch`] repository, lets the product detect and recover as
//! production does, and reports what the product did ([`Observed`]); the
//! verdict is [`super::judge`]'s. Nothing here repairs a fault itself or
//! reads the fake GitHub's own log to decide what the product saw.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::{Observed, Recovery, Scratch, ms};
use crate::config::Severity;
use crate::error::Result;
use crate::github::fake::{Failure, FakeGitHub, Run};
use crate::recover::{RecoverOptions, RecoveryType};

/// A scenario: its name, the plan's severity and recovery, the detector
/// that must report it, and its body.
pub(crate) struct Scenario {
    pub name: &'static str,
    pub severity: Severity,
    pub recovery: Recovery,
    /// See [`super::ScenarioRecord::expected_detector`].
    pub detector: &'static str,
    pub run: fn(&Scratch) -> Result<Observed>,
}

const fn automated(
    name: &'static str,
    severity: Severity,
    detector: &'static str,
    run: fn(&Scratch) -> Result<Observed>,
) -> Scenario {
    Scenario {
        name,
        severity,
        recovery: Recovery::Automated,
        detector,
        run,
    }
}

pub(crate) const ALL: &[Scenario] = &[
    automated(
        "merge-conflict-markers",
        Severity::P2,
        "validate:FILE004",
        merge_conflict_markers,
    ),
    automated(
        "truncated-task-md",
        Severity::P0,
        "validate:TASK006",
        truncated_task_md,
    ),
    automated(
        "corrupted-bytes",
        Severity::P0,
        "validate:FILE002",
        corrupted_bytes,
    ),
    automated(
        "sprint-config-corruption",
        Severity::P1,
        "validate:SPRINT001",
        sprint_config_corruption,
    ),
    automated(
        "sync-step-fails-mid-write",
        Severity::P2,
        "run:parse-error",
        sync_step_fails_mid_write,
    ),
    automated(
        "rejected-push",
        Severity::P2,
        "run:merge-conflict",
        rejected_push,
    ),
    automated(
        "api-rate-limit",
        Severity::P3,
        "health:rate-limit-wait",
        api_rate_limit,
    ),
    Scenario {
        name: "token-expiry",
        severity: Severity::P1,
        recovery: Recovery::Manual,
        detector: "health:github-api:auth",
        run: token_expiry,
    },
    automated(
        "sync-failure-cascade",
        Severity::P1,
        "health:workflow-failure",
        sync_failure_cascade,
    ),
    automated(
        "complete-automation-failure",
        Severity::P1,
        "health:workflow-failure",
        complete_automation_failure,
    ),
];

const TASK: &str = "planning/TASK.md";
const SPRINT: &str = "planning/sprint.config.json";

/// Detection as CI does it: `lifeline validate` over the protected set.
/// Every error rule reported is a detector id (`validate:FILE004`).
fn detect_by_validate(s: &Scratch) -> Result<Observed> {
    let start = Instant::now();
    let targets = crate::validate::protected_targets(&s.ws.root, &s.ws.config)?;
    let report = crate::validate::validate_targets(&targets)?;
    let detect_ms = ms(start);
    let mut detectors: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for d in report
        .diagnostics()
        .filter(|d| d.level == crate::validate::diagnostic::Level::Error)
    {
        let id = format!("validate:{}", d.code);
        if !detectors.contains(&id) {
            words.push(format!("validate: {} in {}", d.code, d.path));
            detectors.push(id);
        }
    }
    Ok(Observed {
        detect_ms: (!detectors.is_empty()).then_some(detect_ms),
        detectors,
        detected_by: words.join(", "),
        ..Observed::default()
    })
}

/// Recovery as the on-call does it: `lifeline restore latest-valid --yes`.
/// An error (no checkpoint to go back to) is a failed recovery, not a
/// stopped scenario: the detection stays on the record.
fn restore_latest_valid(s: &Scratch, observed: &mut Observed) {
    let start = Instant::now();
    let options = crate::restore::Options::new(crate::restore::Target::Spec("latest-valid".into()));
    match crate::commands::restore::restore(&s.ws, &s.env, &options, &mut |_| Ok(true), &mut |_| {})
    {
        Ok(report) if report.status == crate::restore::Status::Restored => {
            observed.recovered = true;
            observed.recover_ms = Some(ms(start));
        }
        Ok(report) => observed.why_not = format!("restore ended {:?}", report.status),
        Err(e) => {
            observed.why_not = format!("restore failed: {}", crate::redact::redact(&e.to_string()))
        }
    }
}

fn file_fault(s: &Scratch, path: &str, fault: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Result<Observed> {
    let bytes = fault(s.read(path));
    s.write(path, &bytes)?;
    let mut observed = detect_by_validate(s)?;
    restore_latest_valid(s, &mut observed);
    Ok(observed)
}

fn merge_conflict_markers(s: &Scratch) -> Result<Observed> {
    file_fault(s, TASK, |bytes| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut out = String::new();
        let mut done = false;
        for line in text.split_inclusive('\n') {
            if !done && line.starts_with("| T-") {
                out.push_str("<<<<<<< HEAD\n");
                out.push_str(line);
                out.push_str("=======\n");
                out.push_str(&line.replacen("| T-", "| T-9", 1));
                out.push_str(">>>>>>> task-sync\n");
                done = true;
            } else {
                out.push_str(line);
            }
        }
        out.into_bytes()
    })
}

fn truncated_task_md(s: &Scratch) -> Result<Observed> {
    file_fault(s, TASK, |mut bytes| {
        bytes.truncate(bytes.len() * 2 / 3);
        bytes
    })
}

fn corrupted_bytes(s: &Scratch) -> Result<Observed> {
    file_fault(s, TASK, |mut bytes| {
        let at = bytes.len() / 2;
        for (i, b) in [0xFFu8, 0xFE, 0x00].into_iter().enumerate() {
            if let Some(slot) = bytes.get_mut(at + i) {
                *slot = b;
            }
        }
        bytes
    })
}

fn recover_options(kind: RecoveryType, severity: Severity) -> RecoverOptions {
    RecoverOptions {
        kind,
        severity,
        checkpoint: None,
        commit: false,
        push: false,
        follow_up_issue: false,
        dry_run: false,
        yes: true,
        repo: None,
        wait: crate::restore::step_lock::DEFAULT_WAIT,
    }
}

fn sprint_config_corruption(s: &Scratch) -> Result<Observed> {
    let mut bytes = s.read(SPRINT);
    bytes.truncate(bytes.len() * 3 / 5);
    s.write(SPRINT, &bytes)?;
    let mut observed = detect_by_validate(s)?;
    let start = Instant::now();
    match crate::commands::recover::run(
        &s.ws,
        &s.env,
        &recover_options(RecoveryType::SprintConfigCorruption, Severity::P1),
        &mut |_| {},
    ) {
        Ok(outcome) if outcome.outcome == "recovered" => {
            observed.recovered = true;
            observed.recover_ms = Some(ms(start));
        }
        Ok(outcome) => {
            observed.why_not = format!("recover sprint-config-corruption ended {}", outcome.outcome)
        }
        Err(e) => {
            observed.why_not = format!(
                "recover sprint-config-corruption failed: {}",
                crate::redact::redact(&e.to_string())
            )
        }
    }
    Ok(observed)
}

fn guarded(s: &Scratch, script: &str) -> Result<crate::run::RunReport> {
    let options = crate::run::RunOptions {
        kind: "task-sync".into(),
        operation: Some("drill: sync step".into()),
        on_failure: crate::run::OnFailure::Rollback,
        retries: 0,
        idempotent: false,
        backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        wait: Duration::from_secs(60),
        command: vec![
            OsString::from("sh"),
            OsString::from("-c"),
            OsString::from(script),
        ],
        // In the scratch repository, never the user's.
        dir: Some(s.root().to_path_buf()),
        // The step's own output is the drill's noise; keep it out of the table.
        quiet: true,
        raw_output: false,
    };
    crate::commands::run::run(&s.ws, &s.env, &options, &mut |_| {})
}

/// What a guarded step showed: `run` detects through the exit code and
/// validation and names the failure pattern (`run:corruption`); it
/// recovers by rolling back, and reports both instants.
fn run_observed(report: &crate::run::RunReport) -> Observed {
    let mut observed = Observed::default();
    if !report.success {
        let class = report
            .classification
            .map(|c| c.to_string())
            .unwrap_or_else(|| "unknown".into());
        observed.detectors.push(format!("run:{class}"));
        let invalid = if report.invalid_files.is_empty() {
            String::new()
        } else {
            format!(", {} invalid", report.invalid_files.join(", "))
        };
        observed.detected_by = format!("run: exit {}{invalid} ({class})", report.exit);
    }
    let between = |from: jiff::Timestamp, to: jiff::Timestamp| {
        to.duration_since(from).as_millis().max(0) as u64
    };
    observed.detect_ms = report.detected_at.map(|d| between(report.started_at, d));
    if report.rollback == crate::run::Rollback::RolledBack {
        observed.recovered = true;
        observed.recover_ms = report
            .detected_at
            .zip(report.recovered_at)
            .map(|(d, r)| between(d, r));
    } else {
        observed.why_not = format!("rollback: {:?}", report.rollback);
    }
    observed
}

/// A guarded step that `run` refused to start (no checkpoint could be
/// taken) detected nothing and recovered nothing; say why.
fn guarded_observed(s: &Scratch, script: &str) -> Observed {
    match guarded(s, script) {
        Ok(report) => run_observed(&report),
        Err(e) => Observed {
            why_not: format!(
                "`lifeline run` did not run the step: {}",
                crate::redact::redact(&e.to_string())
            ),
            ..Observed::default()
        },
    }
}

fn sync_step_fails_mid_write(s: &Scratch) -> Result<Observed> {
    Ok(guarded_observed(
        s,
        "head -c 900 planning/TASK.md > .sync.tmp && mv .sync.tmp planning/TASK.md && echo 'sync: connection reset by peer' >&2 && exit 3",
    ))
}

fn rejected_push(s: &Scratch) -> Result<Observed> {
    // Another runner pushes first.
    let other = tempfile::tempdir().map_err(|e| crate::Error::io(std::env::temp_dir(), e))?;
    let other_git = crate::git::Git::new(other.path())
        .with_env("GIT_AUTHOR_NAME", "other")
        .with_env("GIT_AUTHOR_EMAIL", "other@lifeline.invalid")
        .with_env("GIT_COMMITTER_NAME", "other")
        .with_env("GIT_COMMITTER_EMAIL", "other@lifeline.invalid");
    let git = |args: &[&str]| other_git.run(args);
    let _ = git(&["clone", "-q", "--", &s.origin.to_string_lossy(), "."]);
    let _ = std::fs::write(other.path().join("NOTES.md"), "pushed by another runner\n");
    let _ = git(&["add", "NOTES.md"]);
    let _ = git(&["commit", "-q", "-m", "other runner"]);
    let _ = git(&["push", "-q", "--", "origin", "main"]);
    Ok(guarded_observed(
        s,
        "printf '\\n' >> planning/TASK.md && git commit -q -am 'sync: update tasks' && { git push -q origin HEAD:main || { echo 'pattern: merge-conflict' > \"$LIFELINE_STEP_STATUS\"; exit 1; }; }",
    ))
}

fn api_env(s: &Scratch, fake: &FakeGitHub) -> super::MapEnv {
    s.env
        .clone()
        .with("GITHUB_API_URL", fake.url())
        .with("GITHUB_TOKEN", "ghs_drilldrilldrilldrilldrilldrill0000")
        .with("GITHUB_REPOSITORY", "acme/planning")
}

fn health(s: &Scratch, env: &super::MapEnv) -> Result<crate::health::HealthReport> {
    let options = crate::commands::health::HealthOptions {
        repo: None,
        alert: false,
        max_wait: Duration::from_secs(5),
        offline: false,
        ..Default::default()
    };
    crate::commands::health::run(&s.ws, env, &options)
}

fn has(report: &crate::health::HealthReport, fingerprint: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.fingerprint.starts_with(fingerprint))
}

fn api_rate_limit(s: &Scratch) -> Result<Observed> {
    let fake = FakeGitHub::start().map_err(|e| crate::Error::io("fake GitHub", e))?;
    fake.with(|st| st.failures.push_back(Failure::RetryAfter(1)));
    let env = api_env(s, &fake);
    let start = Instant::now();
    let report = health(s, &env)?;
    let elapsed = ms(start);
    let mut observed = Observed::default();
    if report.rate_limit_waits > 0 {
        observed.detectors.push("health:rate-limit-wait".into());
        observed.detected_by = format!(
            "health: rate limited, waited {} time(s)",
            report.rate_limit_waits
        );
    }
    // The client recovers by waiting and retrying inside the same call; it
    // does not report when it first saw the limit, so only the whole call
    // is measured (as the recovery time, an upper bound).
    if !has(&report, "github-api") && report.coverage.workflows {
        observed.recovered = true;
        observed.recover_ms = Some(elapsed);
    } else {
        observed.why_not = "the rate-limited request did not succeed on retry".into();
    }
    Ok(observed)
}

fn token_expiry(s: &Scratch) -> Result<Observed> {
    let fake = FakeGitHub::start().map_err(|e| crate::Error::io("fake GitHub", e))?;
    fake.with(|st| st.token_expired = true);
    let env = api_env(s, &fake);
    let start = Instant::now();
    let report = health(s, &env)?;
    let detect_ms = ms(start);
    let mut observed = Observed::default();
    if has(&report, "github-api:auth") {
        observed.detectors.push("health:github-api:auth".into());
        observed.detected_by = "health: auth (401)".into();
        observed.detect_ms = Some(detect_ms);
    }
    // The fix is a person's (renew the token): the drill does not fake it.
    observed.why_not = "manual by the plan: refresh the token".into();
    Ok(observed)
}

fn failing_runs(fake: &FakeGitHub, workflows: &[&str]) {
    let now = jiff::Timestamp::now();
    fake.with(|st| {
        for (i, w) in workflows.iter().enumerate() {
            for k in 0..3u64 {
                st.runs.push(Run {
                    id: 100 * (i as u64 + 1) + k,
                    workflow: w.to_string(),
                    status: "completed".into(),
                    conclusion: "failure".into(),
                    created_at: (now - jiff::SignedDuration::from_mins(5 + 5 * k as i64))
                        .to_string(),
                    head_sha: format!("{:040x}", 100 * (i + 1) + k as usize),
                    failed_jobs: vec!["sync".into()],
                    ..Run::default()
                });
            }
        }
    });
}

fn disable_and_resume(s: &Scratch, kind: RecoveryType, watched: &[&str]) -> Result<Observed> {
    let fake = FakeGitHub::start().map_err(|e| crate::Error::io("fake GitHub", e))?;
    failing_runs(&fake, watched);
    let env = api_env(s, &fake);
    let start = Instant::now();
    let report = health(s, &env)?;
    let detect_ms = ms(start);
    let mut observed = Observed::default();
    if has(&report, "workflow-failure") {
        observed.detectors.push("health:workflow-failure".into());
        observed.detected_by = format!(
            "health: workflow-failure ({})",
            report.worst().map_or("?".into(), |w| w.to_string())
        );
        observed.detect_ms = Some(detect_ms);
    }
    let start = Instant::now();
    let outcome = match crate::commands::recover::run(
        &s.ws,
        &env,
        &recover_options(kind, Severity::P1),
        &mut |_| {},
    ) {
        Ok(o) => o,
        Err(e) => {
            observed.why_not = format!(
                "the runbook failed: {}",
                crate::redact::redact(&e.to_string())
            );
            return Ok(observed);
        }
    };
    let disabled = fake.with(|st| {
        st.workflows
            .iter()
            .filter(|(_, state)| state != "active")
            .count()
    });
    let id = outcome.incident.clone().unwrap_or_default();
    let resumed = crate::commands::recover::resume(&s.ws, &env, &id, None)?;
    let active = fake.with(|st| st.workflows.iter().all(|(_, state)| state == "active"));
    if outcome.outcome == "recovered" && disabled > 0 && resumed.outcome == "resumed" && active {
        observed.recovered = true;
        observed.recover_ms = Some(ms(start));
    } else {
        observed.why_not = format!(
            "runbook {}: {disabled} workflow(s) disabled, all active again: {active}",
            outcome.outcome
        );
    }
    Ok(observed)
}

fn sync_failure_cascade(s: &Scratch) -> Result<Observed> {
    disable_and_resume(s, RecoveryType::SyncFailureCascade, &["task-sync.yml"])
}

fn complete_automation_failure(s: &Scratch) -> Result<Observed> {
    disable_and_resume(
        s,
        RecoveryType::CompleteAutomationFailure,
        &[
            "task-sync.yml",
            "task-archive.yml",
            "auto-update-metadata.yml",
        ],
    )
}
