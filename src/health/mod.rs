//! `lifeline health`: detectors that look at the repository and at GitHub,
//! each producing [`Finding`]s with a failure pattern, a severity from the
//! configured policy, evidence and a remediation; alerting that opens
//! one GitHub issue per finding, not one per poll; and the typed audit
//! record of a run that changed an alert ([`record`]). `commands::health`
//! runs them and writes the entry; nothing here prints.

pub(crate) mod alert;
pub(crate) mod detect;
pub(crate) mod record;

use serde::Serialize;

use crate::config::{Pattern, Severity};

/// One detected problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identity of the problem across runs (`workflow-failure:task-sync.yml`).
    pub fingerprint: String,
    pub pattern: Pattern,
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// What was seen: runs, jobs, files, counts.
    pub evidence: Vec<String>,
    /// Links to runs, commits, files.
    pub links: Vec<String>,
    /// What to do.
    pub remediation: String,
    /// When the failure began, where the detector can tell (the start of
    /// the oldest failing run it counted); `None` when unknown. Time to
    /// detect is measured from here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<jiff::Timestamp>,
}

/// Which detectors ran to completion; an alert is only resolved when the
/// detector that raised it ran and no longer sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub files: bool,
    pub workflows: bool,
    pub labels: bool,
    pub audit: bool,
    pub checkpoints: bool,
}

impl Coverage {
    /// True when the detector owning `fingerprint` ran.
    pub fn covers(&self, fingerprint: &str) -> bool {
        let kind = fingerprint.split(':').next().unwrap_or_default();
        match kind {
            "invalid-file" => self.files,
            "workflow-failure" | "workflow-disabled" => self.workflows,
            "missing-labels" => self.labels,
            "audit-integrity" => self.audit,
            "stale-checkpoint" => self.checkpoints,
            // API-level findings (auth, rate-limit, a check that could not
            // run) clear when every GitHub check ran.
            "github-api" => self.workflows && self.labels,
            "token-expiry" => self.workflows || self.labels,
            _ => false,
        }
    }
}

/// A check that could not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unchecked {
    /// What was not checked (`workflow runs`, `labels`, …).
    pub check: String,
    pub reason: String,
}

/// The verdict of one health run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every check ran and nothing is at the failing severity.
    Healthy,
    /// A finding at the failing severity or worse.
    Unhealthy,
    /// Nothing failing was seen, but a check could not run: lifeline
    /// cannot say the repository is healthy.
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
            Status::Unknown => "unknown",
        }
    }
}

/// The outcome of one health run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HealthReport {
    pub repo: Option<String>,
    pub findings: Vec<Finding>,
    pub coverage: Coverage,
    /// Checks that could not run (empty when every check ran).
    pub unchecked: Vec<Unchecked>,
    /// When the token expires, as GitHub reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<jiff::Timestamp>,
    /// What alerting did (empty without `--alert github`).
    pub alerts: Vec<alert::AlertAction>,
    /// Findings that could not be delivered as alerts, and why.
    pub alert_failures: Vec<String>,
    /// Requests made to GitHub, and of those answered 304.
    pub requests: u32,
    pub not_modified: u32,
    /// Times the client waited out a rate limit (`429`, `Retry-After`,
    /// an exhausted quota) before the answer came.
    pub rate_limit_waits: u32,
}

impl HealthReport {
    /// The worst severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).min()
    }

    /// True when no finding is at `fail_on` or worse.
    pub fn healthy(&self, fail_on: Severity) -> bool {
        self.worst().is_none_or(|w| w > fail_on)
    }

    /// Healthy only when every check ran; a failing finding wins over a
    /// check that could not run.
    pub fn status(&self, fail_on: Severity) -> Status {
        if !self.healthy(fail_on) {
            Status::Unhealthy
        } else if self.unchecked.is_empty() {
            Status::Healthy
        } else {
            Status::Unknown
        }
    }

    /// Records that `check` could not run because of `error`: one
    /// finding per cause (auth, rate limit, …), naming every check it
    /// stopped.
    pub fn could_not_check(
        &mut self,
        config: &crate::config::Config,
        check: &str,
        error: &crate::github::ApiError,
    ) {
        let reason = crate::redact::redact(&error.to_string()).into_owned();
        self.unchecked.push(Unchecked {
            check: check.to_string(),
            reason: reason.clone(),
        });
        let finding = detect::api_failure(config, error);
        let line = format!("not checked: {check} ({reason})");
        match self
            .findings
            .iter_mut()
            .find(|f| f.fingerprint == finding.fingerprint)
        {
            Some(existing) => existing.evidence.push(line),
            None => {
                let mut finding = finding;
                finding.evidence = vec![line];
                self.findings.push(finding);
            }
        }
    }

    /// Findings, worst first, then by fingerprint.
    pub fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| (a.severity, &a.fingerprint).cmp(&(b.severity, &b.fingerprint)));
    }
}
