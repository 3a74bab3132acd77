//! The one record of a drill scenario: what `lifeline drill` prints and
//! writes to the audit log, and what `lifeline report` reads back. Both
//! sides go through this type, so a field cannot be written under one name
//! and read under another.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Severity;

/// Who recovers from the fault, by the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Recovery {
    /// lifeline itself (`run` rollback, `restore`, a runbook, a retry).
    Automated,
    /// A person (token expiry: "refresh tokens"). The drill checks that the
    /// product detects the fault and says so; it does not fake the fix.
    Manual,
}

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Verdict {
    /// The expected detector found the fault and the product recovered it,
    /// verified, with no protected byte lost.
    Passed,
    /// The expected detector found the fault; recovery is a person's.
    ManualRecoveryRequired,
    /// Anything else; `reason` says what.
    Failed,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::ManualRecoveryRequired => "detected, manual recovery required",
            Verdict::Failed => "FAILED",
        }
    }
}

/// One scenario's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ScenarioRecord {
    pub name: String,
    pub severity: Severity,
    pub recovery: Recovery,
    /// The detector the plan expects to report this fault: a validation
    /// rule (`validate:FILE004`), a failure pattern `run` classified
    /// (`run:corruption`), or a health finding (`health:workflow-failure`).
    pub expected_detector: String,
    /// What the product reported, in its own words; empty when nothing did.
    pub detected_by: String,
    /// True when the expected detector was among what reported the fault.
    pub detected: bool,
    /// From the fault to the product's report of it, when measured.
    pub detect_ms: Option<u64>,
    /// From detection to the verified recovery; `None` when nothing
    /// recovered or the product does not report the instant.
    pub recover_ms: Option<u64>,
    /// The product (not the drill) put the files and services back, and
    /// the protected files validate.
    pub recovered: bool,
    /// Protected bytes that differ from the pre-fault state afterwards.
    pub bytes_lost: u64,
    pub verdict: Verdict,
    /// Why the scenario failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ScenarioRecord {
    /// Reads a record back from an audit entry of component `drill`. A
    /// failed scenario's entry holds the record under `details.context`
    /// (the failure layout of docs/audit-format.md), a passed one under
    /// `details`. `None` for an entry this version cannot read.
    pub(crate) fn from_entry(entry: &Value) -> Option<ScenarioRecord> {
        serde_json::from_value(caller_details(entry).clone()).ok()
    }

    /// The audit event for this record.
    pub(crate) fn event(&self) -> crate::audit::Event {
        let mut event = crate::audit::Event::new("drill", &self.name);
        if let Ok(Value::Object(map)) = serde_json::to_value(self) {
            event.details = map;
        }
        match (&self.verdict, &self.reason) {
            (Verdict::Failed, Some(reason)) => event.failure(reason.clone()),
            (Verdict::Failed, None) => event.failure("the scenario failed"),
            _ => event,
        }
    }
}

/// The details a caller recorded, wherever the entry's layout put them:
/// `details.context` for a failure, `details` otherwise.
pub(crate) fn caller_details(entry: &Value) -> &Value {
    let details = &entry["details"];
    if entry["result"] == "failure" && details["context"].is_object() {
        &details["context"]
    } else {
        details
    }
}
