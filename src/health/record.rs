//! The audit record of a `lifeline health` run that changed an alert:
//! what `commands::health` writes (component `health`, operation `alert`)
//! and what `lifeline report` reads back for open alerts and time to
//! detect. Both sides go through this type, so a field cannot be written
//! under one name and read under another.
//!
//! Reading is as forgiving as the log may need: a field that is missing or
//! of the wrong type reads as empty, and an alert or detection this
//! version cannot read is left out, not the whole entry.

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::config::Severity;
use crate::drill::record::caller_details;
use crate::health::alert::AlertAction;

/// One health run's alerts and the detections behind them. The field
/// order is the order of the entry's `details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HealthRecord {
    /// `owner/name` the alerts were synced on.
    #[serde(default, deserialize_with = "or_default")]
    pub repo: String,
    /// How many findings the run had.
    #[serde(default, deserialize_with = "or_default")]
    pub findings: usize,
    /// What alerting did, one action per fingerprint.
    #[serde(default, deserialize_with = "readable_items")]
    pub alerts: Vec<AlertAction>,
    /// The instants `lifeline report` measures time to detect with.
    #[serde(default, deserialize_with = "readable_items")]
    pub detections: Vec<Detection>,
}

/// One finding of the run, with when the failure began and when the run
/// saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Detection {
    pub fingerprint: String,
    pub severity: Severity,
    /// When the failure began, where the detector can tell.
    pub failed_at: Option<Timestamp>,
    pub detected_at: Timestamp,
}

impl HealthRecord {
    /// Reads the record of an audit entry of component `health` (under
    /// `details`, or `details.context` for a failure). `None` when the
    /// details are not an object.
    pub(crate) fn from_entry(entry: &Value) -> Option<HealthRecord> {
        let details = caller_details(entry);
        details
            .is_object()
            .then(|| serde_json::from_value(details.clone()).unwrap_or_default())
    }

    /// The audit event for this record.
    pub(crate) fn event(&self) -> crate::audit::Event {
        let mut event = crate::audit::Event::new("health", "alert");
        if let Ok(Value::Object(map)) = serde_json::to_value(self) {
            event.details = map;
        }
        event
    }

    /// The severity of the first detection of `fingerprint`.
    pub(crate) fn severity_of(&self, fingerprint: &str) -> Option<Severity> {
        self.detections
            .iter()
            .find(|d| d.fingerprint == fingerprint)
            .map(|d| d.severity)
    }
}

/// A value of type `T`, or its default when the log holds something else.
fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

/// The items of a list this version can read; anything else is left out.
fn readable_items<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_from_its_audit_entry_in_the_old_wire_format() {
        let record = HealthRecord {
            repo: "acme/plan".into(),
            findings: 2,
            alerts: vec![AlertAction::Opened {
                fingerprint: "token-expiry".into(),
                issue: 7,
            }],
            detections: vec![Detection {
                fingerprint: "token-expiry".into(),
                severity: Severity::P1,
                failed_at: None,
                detected_at: "2026-11-30T12:00:00Z".parse().unwrap(),
            }],
        };
        let details = Value::Object(record.event().details);
        // What `health` wrote before the record was a type.
        let old = serde_json::json!({
            "repo": "acme/plan",
            "findings": 2,
            "alerts": [{"action": "opened", "fingerprint": "token-expiry", "issue": 7}],
            "detections": [{"fingerprint": "token-expiry", "severity": "P1",
                            "failed_at": null, "detected_at": "2026-11-30T12:00:00Z"}],
        });
        assert_eq!(
            serde_json::to_string(&details).unwrap(),
            serde_json::to_string(&old).unwrap()
        );
        let entry = serde_json::json!({"result": "success", "details": old});
        assert_eq!(HealthRecord::from_entry(&entry), Some(record));
    }

    #[test]
    fn an_unreadable_item_is_left_out_not_the_whole_entry() {
        let entry = serde_json::json!({"details": {
            "repo": 42,
            "alerts": [{"action": "opened", "fingerprint": "a", "issue": 1},
                       {"action": "opened", "fingerprint": "b"}],
            "detections": "not a list",
        }});
        let record = HealthRecord::from_entry(&entry).unwrap();
        assert_eq!(record.repo, "");
        assert_eq!(record.alerts.len(), 1);
        assert!(record.detections.is_empty());
    }
}
