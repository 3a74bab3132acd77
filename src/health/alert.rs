//! Alerts as GitHub issues, deduplicated by fingerprint the way
//! Alertmanager groups alerts: one open issue per problem; a repeat adds a
//! comment at most once per repeat interval; past the severity's response
//! deadline the issue gets one escalation comment; when the problem clears
//! the issue gets a resolution comment and is closed.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Coverage, Finding};
use crate::config::SeverityPolicy;
use crate::github::{ApiError, Client, RepoName};

/// The label every lifeline alert carries (with `automation` and the
/// severity's `priority/...`).
pub const ALERT_LABEL: &str = "alert";
const MARKER_PREFIX: &str = "<!-- lifeline:fingerprint=";
const ESCALATED: &str = "<!-- lifeline:escalated -->";

/// What alerting did about one fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum AlertAction {
    Opened { fingerprint: String, issue: u64 },
    Commented { fingerprint: String, issue: u64 },
    Escalated { fingerprint: String, issue: u64 },
    Unchanged { fingerprint: String, issue: u64 },
    Resolved { fingerprint: String, issue: u64 },
}

/// The alert settings.
#[derive(Debug, Clone)]
pub struct AlertSettings<'a> {
    pub policy: &'a SeverityPolicy,
    pub repeat_interval: Duration,
    pub now: Timestamp,
}

/// The fingerprint in an issue body, if lifeline wrote it.
pub fn fingerprint_of(body: &str) -> Option<&str> {
    let start = body.find(MARKER_PREFIX)? + MARKER_PREFIX.len();
    let end = body[start..].find(" -->")?;
    Some(&body[start..start + end])
}

struct OpenAlert {
    number: u64,
    body: String,
    created: Option<Timestamp>,
    updated: Option<Timestamp>,
}

/// Brings the repository's alert issues in line with `findings`.
pub fn sync(
    client: &Client,
    repo: &RepoName,
    findings: &[Finding],
    coverage: &Coverage,
    settings: &AlertSettings<'_>,
) -> Result<Vec<AlertAction>, ApiError> {
    let base = repo.api_path();
    let listed = client.get_all(
        &format!("{base}/issues?state=open&labels={ALERT_LABEL}&per_page=100"),
        None,
    )?;
    let mut open: BTreeMap<String, OpenAlert> = BTreeMap::new();
    for issue in &listed {
        if issue.get("pull_request").is_some() {
            continue;
        }
        let body = issue["body"].as_str().unwrap_or_default();
        let (Some(fp), Some(number)) = (fingerprint_of(body), issue["number"].as_u64()) else {
            continue;
        };
        let time = |k: &str| issue[k].as_str().and_then(|t| t.parse::<Timestamp>().ok());
        open.entry(fp.to_string()).or_insert(OpenAlert {
            number,
            body: body.to_string(),
            created: time("created_at"),
            updated: time("updated_at").or(time("created_at")),
        });
    }
    let mut actions = Vec::new();
    for f in findings {
        let fingerprint = f.fingerprint.clone();
        let Some(alert) = open.remove(&f.fingerprint) else {
            let created = client.send(
                "POST",
                &format!("{base}/issues"),
                Some(&json!({
                    "title": title(f),
                    "body": body(f, settings),
                    "labels": ["automation", ALERT_LABEL, f.severity.priority_label()],
                })),
            )?;
            let issue = created.body["number"].as_u64().unwrap_or_default();
            actions.push(AlertAction::Opened { fingerprint, issue });
            continue;
        };
        let issue = alert.number;
        let level = settings.policy.level(f.severity);
        let deadline = alert
            .created
            .and_then(|c| c.checked_add(signed(level.response.as_duration())).ok());
        let overdue = deadline.is_some_and(|d| settings.now > d);
        if overdue && !alert.body.contains(ESCALATED) {
            let who = if level.authority.is_empty() {
                "the on-call lead".to_string()
            } else {
                level.authority.join(", ")
            };
            comment(
                client,
                &base,
                issue,
                &format!(
                    "⏰ **Escalation**: this {} alert is still open past its response deadline ({} after it was opened). {who}: please take it over.\n\nStill seen at {}:\n{}",
                    f.severity,
                    level.response,
                    settings.now,
                    evidence_list(f)
                ),
            )?;
            client.send(
                "PATCH",
                &format!("{base}/issues/{issue}"),
                Some(&json!({ "body": format!("{}\n{ESCALATED}", alert.body) })),
            )?;
            actions.push(AlertAction::Escalated { fingerprint, issue });
            continue;
        }
        let quiet_since = alert.updated.or(alert.created);
        let due = quiet_since.is_none_or(|t| {
            t.checked_add(signed(settings.repeat_interval))
                .is_ok_and(|next| settings.now >= next)
        });
        if due {
            comment(
                client,
                &base,
                issue,
                &format!("Still occurring at {}:\n{}", settings.now, evidence_list(f)),
            )?;
            actions.push(AlertAction::Commented { fingerprint, issue });
        } else {
            actions.push(AlertAction::Unchanged { fingerprint, issue });
        }
    }
    for (fingerprint, alert) in open {
        if !coverage.covers(&fingerprint) {
            continue;
        }
        comment(
            client,
            &base,
            alert.number,
            &format!(
                "✅ Resolved: lifeline no longer sees this problem ({}). Closing.",
                settings.now
            ),
        )?;
        client.send(
            "PATCH",
            &format!("{base}/issues/{}", alert.number),
            Some(&json!({"state": "closed", "state_reason": "completed"})),
        )?;
        actions.push(AlertAction::Resolved {
            fingerprint,
            issue: alert.number,
        });
    }
    Ok(actions)
}

fn signed(d: Duration) -> jiff::SignedDuration {
    jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX)
}

fn comment(client: &Client, base: &str, issue: u64, text: &str) -> Result<Value, ApiError> {
    let body = crate::redact::redact(text).into_owned();
    client
        .send(
            "POST",
            &format!("{base}/issues/{issue}/comments"),
            Some(&json!({ "body": body })),
        )
        .map(|a| a.body)
}

fn title(f: &Finding) -> String {
    format!("[lifeline {}] {}: {}", f.severity, f.pattern, f.title)
}

fn evidence_list(f: &Finding) -> String {
    let mut s: String = f.evidence.iter().map(|e| format!("- {e}\n")).collect();
    for link in &f.links {
        s.push_str(&format!("- {link}\n"));
    }
    s
}

fn body(f: &Finding, settings: &AlertSettings<'_>) -> String {
    let level = settings.policy.level(f.severity);
    let deadline = settings
        .now
        .checked_add(signed(level.response.as_duration()))
        .map(|t| t.to_string())
        .unwrap_or_default();
    let authority = if level.authority.is_empty() {
        "anyone on the team".to_string()
    } else {
        level.authority.join(", ")
    };
    let text = format!(
        "{MARKER_PREFIX}{} -->\n\
         **Severity**: {} — {}\n\
         **Pattern**: `{}`\n\
         **Detected**: {}\n\
         **Failure began**: {}\n\
         **Respond by**: {deadline} ({} per the severity policy)\n\
         **Authority**: {authority}\n\
         **Rollback**: {:?}\n\n\
         ### Evidence\n{}\n\
         ### Remediation\n{}\n\n\
         _Opened by `lifeline health`. It comments here if the problem persists (at most every {}), escalates past the deadline, and closes this issue when the problem clears._\n\n\
         _A runbook started for this alert should run with `LIFELINE_DETECTED_AT={}`, so that `lifeline report` measures the incident from this detection._\n",
        f.fingerprint,
        f.severity,
        level.description,
        f.pattern,
        settings.now,
        f.failed_at.map_or(
            "unknown (the detector cannot tell when it began)".to_string(),
            |t| t.to_string()
        ),
        level.response,
        level.rollback,
        evidence_list(f),
        f.remediation,
        crate::config::HumanDuration::from_secs(settings.repeat_interval.as_secs()),
        settings.now,
    );
    crate::redact::redact(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_round_trip_through_the_body() {
        assert_eq!(
            fingerprint_of("x\n<!-- lifeline:fingerprint=workflow-failure:task-sync.yml -->\ny"),
            Some("workflow-failure:task-sync.yml")
        );
        assert_eq!(fingerprint_of("no marker"), None);
    }
}
