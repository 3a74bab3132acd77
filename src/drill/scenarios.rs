//! The scenarios, from the plan's failure matrix. Each injects its fault
//! into a [`Scratch`] repository, detects and recovers as production does,
//! and reports what happened.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::{ScenarioResult, Scratch, ms};
use crate::config::Severity;
use crate::error::Result;
use crate::github::fake::{Failure, FakeGitHub, Run};
use crate::recover::{RecoverOptions, RecoveryType};

/// A scenario: its name, the severity the plan gives it, and its body.
pub struct Scenario {
    pub name: &'static str,
    pub severity: &'static str,
    pub run: fn(&Scratch) -> Result<ScenarioResult>,
}

pub const ALL: &[Scenario] = &[
    Scenario {
        name: "merge-conflict-markers",
        severity: "P2",
        run: merge_conflict_markers,
    },
    Scenario {
        name: "truncated-task-md",
        severity: "P0",
        run: truncated_task_md,
    },
    Scenario {
        name: "corrupted-bytes",
        severity: "P0",
        run: corrupted_bytes,
    },
    Scenario {
        name: "sprint-config-corruption",
        severity: "P1",
        run: sprint_config_corruption,
    },
    Scenario {
        name: "sync-step-fails-mid-write",
        severity: "P2",
        run: sync_step_fails_mid_write,
    },
    Scenario {
        name: "rejected-push",
        severity: "P2",
        run: rejected_push,
    },
    Scenario {
        name: "api-rate-limit",
        severity: "P3",
        run: api_rate_limit,
    },
    Scenario {
        name: "token-expiry",
        severity: "P1",
        run: token_expiry,
    },
    Scenario {
        name: "sync-failure-cascade",
        severity: "P1",
        run: sync_failure_cascade,
    },
    Scenario {
        name: "complete-automation-failure",
        severity: "P1",
        run: complete_automation_failure,
    },
];

const TASK: &str = "planning/TASK.md";
const SPRINT: &str = "planning/sprint.config.json";

fn result(
    s: &Scratch,
    name: &str,
    detected_by: String,
    detect_ms: u64,
    recover_ms: u64,
    ok: bool,
    why: &str,
) -> Result<ScenarioResult> {
    let bytes_lost = s.bytes_lost()?;
    let valid = s.valid()?;
    let recovered = ok && valid && bytes_lost == 0;
    let reason = if recovered {
        None
    } else if detected_by.is_empty() {
        Some("the fault was not detected".to_string())
    } else if !ok {
        Some(why.to_string())
    } else if !valid {
        Some("the protected files do not validate after recovery".to_string())
    } else {
        Some(format!(
            "{bytes_lost} protected bytes differ from the state before the fault"
        ))
    };
    Ok(ScenarioResult {
        name: name.to_string(),
        detected_by,
        detect_ms,
        recover_ms,
        recovered,
        bytes_lost,
        reason,
    })
}

/// Detection as CI does it: `lifeline validate` over the protected set.
fn detect_by_validate(s: &Scratch) -> Result<(String, u64)> {
    let start = Instant::now();
    let targets = crate::validate::protected_targets(&s.ws.root, &s.ws.config)?;
    let report = crate::validate::validate_targets(&targets)?;
    let first = report
        .diagnostics()
        .find(|d| d.level == crate::diagnostic::Level::Error)
        .map(|d| format!("validate: {} in {}", d.code, d.path))
        .unwrap_or_default();
    Ok((first, ms(start)))
}

/// Recovery as the on-call does it: `lifeline restore latest-valid --yes`.
fn restore_latest_valid(s: &Scratch) -> Result<(bool, u64, String)> {
    let start = Instant::now();
    let options = crate::restore::Options::new(crate::restore::Target::Spec("latest-valid".into()));
    let report = crate::restore::restore(&s.ws, &s.env, &options, &mut |_| Ok(true))?;
    let ok = report.status == crate::restore::Status::Restored;
    Ok((ok, ms(start), format!("restore ended {:?}", report.status)))
}

fn file_fault(
    s: &Scratch,
    name: &str,
    path: &str,
    fault: impl FnOnce(Vec<u8>) -> Vec<u8>,
) -> Result<ScenarioResult> {
    let bytes = fault(s.read(path));
    s.write(path, &bytes)?;
    let (detected, detect_ms) = detect_by_validate(s)?;
    let (ok, recover_ms, why) = restore_latest_valid(s)?;
    result(s, name, detected, detect_ms, recover_ms, ok, &why)
}

fn merge_conflict_markers(s: &Scratch) -> Result<ScenarioResult> {
    file_fault(s, "merge-conflict-markers", TASK, |bytes| {
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

fn truncated_task_md(s: &Scratch) -> Result<ScenarioResult> {
    file_fault(s, "truncated-task-md", TASK, |mut bytes| {
        bytes.truncate(bytes.len() * 2 / 3);
        bytes
    })
}

fn corrupted_bytes(s: &Scratch) -> Result<ScenarioResult> {
    file_fault(s, "corrupted-bytes", TASK, |mut bytes| {
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
    }
}

fn sprint_config_corruption(s: &Scratch) -> Result<ScenarioResult> {
    let mut bytes = s.read(SPRINT);
    bytes.truncate(bytes.len() * 3 / 5);
    s.write(SPRINT, &bytes)?;
    let (detected, detect_ms) = detect_by_validate(s)?;
    let start = Instant::now();
    let outcome = crate::recover::run(
        &s.ws,
        &s.env,
        &recover_options(RecoveryType::SprintConfigCorruption, Severity::P1),
    )?;
    let recover_ms = ms(start);
    result(
        s,
        "sprint-config-corruption",
        detected,
        detect_ms,
        recover_ms,
        outcome.outcome == "recovered",
        &format!("recover sprint-config-corruption ended {}", outcome.outcome),
    )
}

fn guarded(s: &Scratch, script: &str) -> Result<crate::restore::guard::RunReport> {
    let options = crate::restore::guard::RunOptions {
        kind: "task-sync".into(),
        operation: Some("drill: sync step".into()),
        on_failure: crate::restore::guard::OnFailure::Rollback,
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
    crate::restore::guard::run(&s.ws, &s.env, &options)
}

fn run_result(
    s: &Scratch,
    name: &str,
    report: &crate::restore::guard::RunReport,
    total_ms: u64,
) -> Result<ScenarioResult> {
    let detected = if report.success {
        String::new()
    } else {
        let class = report
            .classification
            .map(|c| c.to_string())
            .unwrap_or_else(|| "unknown".into());
        let invalid = if report.invalid_files.is_empty() {
            String::new()
        } else {
            format!(", {} invalid", report.invalid_files.join(", "))
        };
        format!("run: exit {}{invalid} ({class})", report.exit)
    };
    let ok = report.rollback == crate::restore::guard::Rollback::RolledBack;
    result(
        s,
        name,
        detected,
        total_ms,
        0,
        ok,
        &format!("rollback: {:?}", report.rollback),
    )
}

fn sync_step_fails_mid_write(s: &Scratch) -> Result<ScenarioResult> {
    let start = Instant::now();
    let report = guarded(
        s,
        "head -c 900 planning/TASK.md > .sync.tmp && mv .sync.tmp planning/TASK.md && echo 'sync: connection reset by peer' >&2 && exit 3",
    )?;
    run_result(s, "sync-step-fails-mid-write", &report, ms(start))
}

fn rejected_push(s: &Scratch) -> Result<ScenarioResult> {
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
    let start = Instant::now();
    let report = guarded(
        s,
        "printf '\\n' >> planning/TASK.md && git commit -q -am 'sync: update tasks' && { git push -q origin HEAD:main || { echo 'pattern: merge-conflict' > \"$LIFELINE_STEP_STATUS\"; exit 1; }; }",
    )?;
    run_result(s, "rejected-push", &report, ms(start))
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
    };
    crate::commands::health::run(&s.ws, env, &options)
}

fn has(report: &crate::health::HealthReport, fingerprint: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.fingerprint.starts_with(fingerprint))
}

fn api_rate_limit(s: &Scratch) -> Result<ScenarioResult> {
    let fake = FakeGitHub::start().map_err(|e| crate::Error::io("fake GitHub", e))?;
    fake.with(|st| st.failures.push_back(Failure::RetryAfter(1)));
    let env = api_env(s, &fake);
    let start = Instant::now();
    let report = health(s, &env)?;
    let elapsed = ms(start);
    let limited = fake.log().iter().any(|l| l.status == 429);
    let detected = if limited {
        "health: 429 Retry-After, retried".to_string()
    } else {
        String::new()
    };
    let ok = limited && !has(&report, "github-api") && report.coverage.workflows;
    result(
        s,
        "api-rate-limit",
        detected,
        elapsed,
        0,
        ok,
        "the rate-limited request did not succeed on retry",
    )
}

fn token_expiry(s: &Scratch) -> Result<ScenarioResult> {
    let fake = FakeGitHub::start().map_err(|e| crate::Error::io("fake GitHub", e))?;
    fake.with(|st| st.token_expired = true);
    let env = api_env(s, &fake);
    let start = Instant::now();
    let report = health(s, &env)?;
    let detect_ms = ms(start);
    let detected = if has(&report, "github-api:auth") {
        "health: auth (401)".to_string()
    } else {
        String::new()
    };
    // The fix is a person's: renew the token. Then health is clean.
    fake.with(|st| st.token_expired = false);
    let start = Instant::now();
    let after = health(s, &env)?;
    let recover_ms = ms(start);
    let ok = !has(&after, "github-api") && after.coverage.workflows;
    result(
        s,
        "token-expiry",
        detected,
        detect_ms,
        recover_ms,
        ok,
        "health still fails after the token was renewed",
    )
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
                });
            }
        }
    });
}

fn disable_and_resume(
    s: &Scratch,
    name: &str,
    kind: RecoveryType,
    watched: &[&str],
) -> Result<ScenarioResult> {
    let fake = FakeGitHub::start().map_err(|e| crate::Error::io("fake GitHub", e))?;
    failing_runs(&fake, watched);
    let env = api_env(s, &fake);
    let start = Instant::now();
    let report = health(s, &env)?;
    let detect_ms = ms(start);
    let detected = if has(&report, "workflow-failure") {
        format!(
            "health: workflow-failure ({})",
            report.worst().map_or("?".into(), |w| w.to_string())
        )
    } else {
        String::new()
    };
    let start = Instant::now();
    let outcome = crate::recover::run(&s.ws, &env, &recover_options(kind, Severity::P1))?;
    let disabled = fake.with(|st| {
        st.workflows
            .iter()
            .filter(|(_, state)| state != "active")
            .count()
    });
    let id = outcome.incident.clone().unwrap_or_default();
    let resumed = crate::recover::resume(&s.ws, &env, &id, None)?;
    let recover_ms = ms(start);
    let active = fake.with(|st| st.workflows.iter().all(|(_, state)| state == "active"));
    let ok =
        outcome.outcome == "recovered" && disabled > 0 && resumed.outcome == "resumed" && active;
    result(
        s,
        name,
        detected,
        detect_ms,
        recover_ms,
        ok,
        &format!(
            "runbook {}: {disabled} workflow(s) disabled, all active again: {active}",
            outcome.outcome
        ),
    )
}

fn sync_failure_cascade(s: &Scratch) -> Result<ScenarioResult> {
    disable_and_resume(
        s,
        "sync-failure-cascade",
        RecoveryType::SyncFailureCascade,
        &["task-sync.yml"],
    )
}

fn complete_automation_failure(s: &Scratch) -> Result<ScenarioResult> {
    disable_and_resume(
        s,
        "complete-automation-failure",
        RecoveryType::CompleteAutomationFailure,
        &[
            "task-sync.yml",
            "task-archive.yml",
            "auto-update-metadata.yml",
        ],
    )
}
