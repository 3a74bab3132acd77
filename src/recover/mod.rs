//! `lifeline recover`: the emergency runbooks, each recorded as an incident
//! with a timeline written step by step, an audit entry per step, and the
//! same ending: validate everything, then optionally commit exactly what
//! changed, push (retrying a rejected push by rebasing, and validating
//! again after every rebase), and open the post-incident follow-up issue.

pub mod authority;
pub mod files;
pub mod git_repair;
pub mod incident;
pub mod publish;
pub mod workflows;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::ci::Env;
use crate::config::Severity;
use crate::error::{Error, Result};
use crate::recover::incident::Incident;
use crate::workspace::Workspace;

/// The runbooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecoveryType {
    TaskFileCorruption,
    SprintConfigCorruption,
    SyncFailureCascade,
    GitHistoryCorruption,
    CompleteAutomationFailure,
}

impl RecoveryType {
    pub const ALL: [RecoveryType; 5] = [
        RecoveryType::TaskFileCorruption,
        RecoveryType::SprintConfigCorruption,
        RecoveryType::SyncFailureCascade,
        RecoveryType::GitHistoryCorruption,
        RecoveryType::CompleteAutomationFailure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryType::TaskFileCorruption => "task-file-corruption",
            RecoveryType::SprintConfigCorruption => "sprint-config-corruption",
            RecoveryType::SyncFailureCascade => "sync-failure-cascade",
            RecoveryType::GitHistoryCorruption => "git-history-corruption",
            RecoveryType::CompleteAutomationFailure => "complete-automation-failure",
        }
    }
}

impl fmt::Display for RecoveryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecoveryType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        RecoveryType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown recovery type `{s}`; expected one of: {}",
                    RecoveryType::ALL.map(|t| t.as_str()).join(", ")
                )
            })
    }
}

/// What to do.
#[derive(Debug, Clone)]
pub struct RecoverOptions {
    pub kind: RecoveryType,
    pub severity: Severity,
    pub checkpoint: Option<String>,
    pub commit: bool,
    pub push: bool,
    pub follow_up_issue: bool,
    pub dry_run: bool,
    pub yes: bool,
    pub repo: Option<String>,
    /// How long to wait for a running guarded step before changing
    /// anything ([`crate::restore::step_lock`]).
    pub wait: std::time::Duration,
}

/// How a runbook ended.
#[derive(Debug, Clone, Serialize)]
pub struct RecoverOutcome {
    pub incident: Option<String>,
    pub record: Option<String>,
    /// `recovered`, `failed`, `stopped` (needs --yes or a person), or
    /// `planned` (--dry-run).
    pub outcome: String,
    /// What happened, in order.
    pub steps: Vec<String>,
    /// Every protected file validates after the runbook.
    pub valid: bool,
    /// Warnings for the operator (no authority configured, …).
    pub warnings: Vec<String>,
    pub commit: Option<String>,
    pub follow_up_issue: Option<u64>,
    /// With --dry-run: what the runbook would write, with a diffstat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::restore::Plan>,
}

impl RecoverOutcome {
    /// Exit code: 0 recovered or planned, 1 anything else.
    pub fn exit_code(&self) -> i32 {
        match self.outcome.as_str() {
            "recovered" | "planned" | "resumed" => 0,
            _ => 1,
        }
    }
}

/// A runbook's running state: the incident and the audit trail.
pub struct Session<'a> {
    pub ws: &'a Workspace,
    pub env: &'a dyn Env,
    pub options: &'a RecoverOptions,
    /// `None` in a dry run.
    pub incident: Option<Incident>,
    pub steps: Vec<String>,
    /// lifeline's audit records before the runbook started: the commit
    /// takes exactly the ones this run wrote.
    pub records_before: publish::Records,
    /// In a dry run: the plan of the files the runbook would write, with
    /// its diffstat (the same plan `restore --dry-run` shows).
    pub plan: Option<crate::restore::Plan>,
}

impl Session<'_> {
    /// Records one step: the incident timeline (saved at once), the audit
    /// log, and the outcome.
    pub fn step(&mut self, text: impl Into<String>) -> Result<()> {
        let text = crate::redact::redact(&text.into()).into_owned();
        if let Some(incident) = self.incident.as_mut() {
            incident.step(self.ws, &text)?;
            crate::audit::record(
                self.ws,
                self.env,
                &crate::audit::Event::new("recover", self.options.kind.as_str())
                    .detail("incident", incident.id.clone())
                    .detail("step", text.clone()),
            )?;
        }
        self.steps.push(text);
        Ok(())
    }

    /// Notes a file the runbook changed (for `--commit`).
    pub fn changed(&mut self, path: &str) -> Result<()> {
        if let Some(incident) = self.incident.as_mut()
            && !incident.changed.iter().any(|c| c == path)
        {
            incident.changed.push(path.to_string());
            incident.save(self.ws)?;
        }
        Ok(())
    }
}

/// Runs a runbook from authority check to follow-up issue.
pub fn run(ws: &Workspace, env: &dyn Env, options: &RecoverOptions) -> Result<RecoverOutcome> {
    // A re-run by someone else is that someone: the incident names them.
    let operator = match (env.var("GITHUB_ACTOR"), env.var("GITHUB_TRIGGERING_ACTOR")) {
        (Some(actor), Some(triggering)) if !actor.eq_ignore_ascii_case(&triggering) => {
            format!("github:{triggering}")
        }
        _ => crate::ci::actor(env, ws.git.as_ref()),
    };
    let mut warnings = Vec::new();
    if let Err(refusal) = authority::check(ws, env, options, &operator, &mut warnings) {
        crate::audit::record(
            ws,
            env,
            &crate::audit::Event::new("recover", options.kind.as_str())
                .failure(refusal.to_string())
                .detail("severity", options.severity.as_str())
                .detail("refused_actor", operator.clone()),
        )?;
        return Err(refusal);
    }
    // One guarded step at a time: a runbook waits for a running step (whose
    // rollback would erase the repair), and a step waits for the runbook.
    // Its own restore runs inside this lock.
    let _step = if options.dry_run {
        None
    } else {
        Some(crate::restore::step_lock::hold(
            ws,
            options.wait,
            "recover",
        )?)
    };
    let records_before = publish::Records::snapshot(ws);
    let detected_at = crate::recover::incident::detected_at_from_env(env)?;
    let incident = if options.dry_run {
        None
    } else {
        let mut incident = Incident::open(
            ws,
            options.severity,
            options.kind.as_str(),
            &operator,
            options.checkpoint.as_deref(),
        )?;
        if detected_at.is_some() {
            incident.detected_at = detected_at;
            incident.save(ws)?;
        }
        Some(incident)
    };
    let mut session = Session {
        ws,
        env,
        options,
        incident,
        steps: Vec::new(),
        records_before,
        plan: None,
    };
    let result = match options.kind {
        RecoveryType::SyncFailureCascade => workflows::sync_failure_cascade(&mut session),
        RecoveryType::CompleteAutomationFailure => {
            workflows::complete_automation_failure(&mut session)
        }
        RecoveryType::GitHistoryCorruption => git_repair::run(&mut session),
        RecoveryType::TaskFileCorruption => files::task_file(&mut session),
        RecoveryType::SprintConfigCorruption => files::sprint_config(&mut session),
    };
    let mut outcome = match result {
        Ok(o) => o,
        Err(e) => {
            let _ = session.step(format!("runbook stopped with an error: {e}"));
            if let Some(incident) = session.incident.as_mut() {
                let _ = incident.finish(ws, "failed", false);
            }
            return Err(e);
        }
    };
    if options.dry_run {
        return Ok(RecoverOutcome {
            incident: None,
            record: None,
            outcome: "planned".into(),
            steps: session.steps,
            valid: true,
            warnings,
            commit: None,
            follow_up_issue: None,
            plan: session.plan,
        });
    }
    let valid = validate_all(&mut session, "post-recovery")?;
    if !valid && outcome == "recovered" {
        outcome = "failed".into();
    }
    let mut commit = None;
    let mut follow_up = None;
    if options.commit && outcome == "recovered" {
        commit = publish::commit(&mut session)?;
        if options.push && commit.is_some() && !publish::push(&mut session)? {
            outcome = "stopped".into();
        }
    }
    {
        let incident = session.incident.as_mut().expect("not a dry run");
        // While workflows stay disabled the incident stays open;
        // `recover resume` resolves it.
        let resolved = outcome == "recovered" && incident.disabled.is_empty();
        incident.finish(ws, &outcome, resolved)?;
    }
    if options.follow_up_issue {
        follow_up = publish::follow_up_issue(&mut session, &outcome)?;
    }
    let incident = session.incident.as_ref().expect("not a dry run");
    Ok(RecoverOutcome {
        incident: Some(incident.id.clone()),
        record: Some(incident.rel_path()),
        outcome,
        steps: session.steps.clone(),
        valid,
        warnings,
        commit,
        follow_up_issue: follow_up,
        plan: None,
    })
}

/// Validates the protected set in the working tree (after a runbook, after
/// a rebase); records the verdict, naming the findings when it fails.
pub(crate) fn validate_all(session: &mut Session<'_>, when: &str) -> Result<bool> {
    let ws = session.ws;
    let targets = crate::validate::protected_targets(&ws.root, &ws.config)?;
    let report = crate::validate::validate_targets(&targets)?;
    if report.errors() == 0 {
        session.step(format!(
            "{when} validation passed ({} files)",
            report.files.len()
        ))?;
        Ok(true)
    } else {
        let bad: Vec<String> = report
            .files
            .iter()
            .filter(|f| !f.valid)
            .map(|f| format!("{} ({} errors)", f.path, f.errors))
            .collect();
        session.step(format!(
            "{when} validation FAILED: {}: {}; run `lifeline validate` for the details",
            bad.join(", "),
            findings(report.diagnostics())
        ))?;
        Ok(false)
    }
}

/// The error findings as `CODE path:line`, the first few of them, with a
/// count of the rest.
pub(crate) fn findings<'d>(
    diagnostics: impl Iterator<Item = &'d crate::validate::diagnostic::Diagnostic>,
) -> String {
    const SHOWN: usize = 5;
    let errors: Vec<String> = diagnostics
        .filter(|d| d.level == crate::validate::diagnostic::Level::Error)
        .map(|d| match d.span {
            Some(span) => format!("{} {}:{}", d.code, d.path, span.line),
            None => format!("{} {}", d.code, d.path),
        })
        .collect();
    let mut text = errors
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if errors.len() > SHOWN {
        text.push_str(&format!(" and {} more", errors.len() - SHOWN));
    }
    text
}

/// `lifeline recover resume INC-…`: re-enables exactly what the incident
/// disabled.
pub fn resume(
    ws: &Workspace,
    env: &dyn Env,
    id: &str,
    repo: Option<&str>,
) -> Result<RecoverOutcome> {
    let (_, mut incident) = Incident::find(ws, id)?;
    let mut steps = Vec::new();
    let disabled = incident.disabled.clone();
    if disabled.is_empty() {
        return Err(Error::usage(
            format!("incident {} disabled nothing", incident.id),
            Some(
                "only sync-failure-cascade and complete-automation-failure disable workflows"
                    .into(),
            ),
        ));
    }
    let client = workflows::api(ws, env, repo);
    for d in &disabled {
        let text = workflows::enable(ws, client.as_ref(), d)?;
        incident.step(ws, &text)?;
        crate::audit::record(
            ws,
            env,
            &crate::audit::Event::new("recover", "resume")
                .detail("incident", incident.id.clone())
                .detail("step", text.clone()),
        )?;
        steps.push(text);
    }
    incident.disabled.clear();
    if incident.outcome.as_deref() == Some("recovered") {
        incident.status = "resolved".into();
        incident.resolved_at = Some(jiff::Timestamp::now());
        incident.step(ws, "automation re-enabled; incident resolved")?;
    } else {
        incident.save(ws)?;
    }
    Ok(RecoverOutcome {
        incident: Some(incident.id.clone()),
        record: Some(incident.rel_path()),
        outcome: "resumed".into(),
        steps,
        valid: true,
        warnings: Vec::new(),
        commit: None,
        follow_up_issue: None,
        plan: None,
    })
}
