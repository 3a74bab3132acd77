//! The emergency runbooks behind `lifeline recover`: the authority check
//! ([`authority`]), the file restores ([`files`]), the git repair
//! ([`git_repair`]), the workflow switches ([`workflows`]), the commit,
//! push and follow-up issue ([`publish`]) and the incident records
//! ([`incident`]). Each step is written to the incident's timeline at once
//! and handed to the [`Session`]'s journal; the sequencing (authority,
//! lock, incident, runbook, validation, commit, push, follow-up) and every
//! audit entry live in `commands::recover`. Nothing here prints.

pub(crate) mod authority;
pub(crate) mod files;
pub(crate) mod git_repair;
pub mod incident;
pub(crate) mod publish;
pub(crate) mod workflows;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::ci::Env;
use crate::config::Severity;
use crate::error::Result;
use crate::recover::incident::Incident;
use crate::workspace::Workspace;

/// The runbooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RecoveryType {
    TaskFileCorruption,
    SprintConfigCorruption,
    SyncFailureCascade,
    GitHistoryCorruption,
    CompleteAutomationFailure,
}

impl RecoveryType {
    pub(crate) const ALL: [RecoveryType; 5] = [
        RecoveryType::TaskFileCorruption,
        RecoveryType::SprintConfigCorruption,
        RecoveryType::SyncFailureCascade,
        RecoveryType::GitHistoryCorruption,
        RecoveryType::CompleteAutomationFailure,
    ];

    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct RecoverOptions {
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
pub(crate) struct RecoverOutcome {
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
    pub(crate) fn exit_code(&self) -> i32 {
        match self.outcome.as_str() {
            "recovered" | "planned" | "resumed" => 0,
            _ => 1,
        }
    }
}

/// Where a runbook's steps go beyond the incident timeline: the command
/// (`commands::recover`) writes each to the audit log. Called with the
/// open incident and the step's (redacted) text.
pub(crate) type Journal<'a> = dyn Fn(&Incident, &str) -> Result<()> + 'a;

/// A runbook's running state: the incident, the steps so far, and where
/// each step is journaled.
pub(crate) struct Session<'a> {
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
    /// Records each step outside the incident (the audit log).
    pub journal: &'a Journal<'a>,
}

impl Session<'_> {
    /// Records one step: the incident timeline (saved at once), the
    /// journal, and the outcome.
    pub(crate) fn step(&mut self, text: impl Into<String>) -> Result<()> {
        let text = crate::redact::redact(&text.into()).into_owned();
        if let Some(incident) = self.incident.as_mut() {
            incident.step(self.ws, &text)?;
            (self.journal)(incident, &text)?;
        }
        self.steps.push(text);
        Ok(())
    }

    /// Notes a file the runbook changed (for `--commit`).
    pub(crate) fn changed(&mut self, path: &str) -> Result<()> {
        if let Some(incident) = self.incident.as_mut()
            && !incident.changed.iter().any(|c| c == path)
        {
            incident.changed.push(path.to_string());
            incident.save(self.ws)?;
        }
        Ok(())
    }
}

/// Runs the runbook `session.options.kind` names; its outcome word
/// (`recovered`, `failed`, `stopped`).
pub(crate) fn runbook(session: &mut Session<'_>) -> Result<String> {
    match session.options.kind {
        RecoveryType::SyncFailureCascade => workflows::sync_failure_cascade(session),
        RecoveryType::CompleteAutomationFailure => workflows::complete_automation_failure(session),
        RecoveryType::GitHistoryCorruption => git_repair::run(session),
        RecoveryType::TaskFileCorruption => files::task_file(session),
        RecoveryType::SprintConfigCorruption => files::sprint_config(session),
    }
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
