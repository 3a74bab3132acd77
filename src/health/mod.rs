//! `lifeline health`: detectors that look at the repository and at GitHub,
//! each producing [`Finding`]s with a failure pattern, a severity from the
//! configured policy, evidence and a remediation; and alerting that opens
//! one GitHub issue per finding, not one per poll.

pub mod alert;
pub mod detect;

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
            // API-level findings (auth, rate-limit) clear when the API works.
            "github-api" => self.workflows || self.labels,
            _ => false,
        }
    }
}

/// The outcome of one health run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HealthReport {
    pub repo: Option<String>,
    pub findings: Vec<Finding>,
    pub coverage: Coverage,
    /// What alerting did (empty without `--alert github`).
    pub alerts: Vec<alert::AlertAction>,
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

    /// Findings, worst first, then by fingerprint.
    pub fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| (a.severity, &a.fingerprint).cmp(&(b.severity, &b.fingerprint)));
    }
}
