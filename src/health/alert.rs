//! Alerts as GitHub issues, deduplicated by fingerprint the way
//! Alertmanager groups alerts: one open issue per problem; a repeat adds a
//! comment at most once per repeat interval; past the severity's response
//! deadline the issue gets one escalation comment; when the problem clears
//! the issue gets a resolution comment and is closed.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Coverage, Finding};
use crate::config::SeverityPolicy;
use crate::github::{ApiError, Client, RepoName, markdown};

/// The label every lifeline alert carries (with `automation` and the
/// severity's `priority/...`).
pub(crate) const ALERT_LABEL: &str = "alert";

/// The first line of an alert's body holds lifeline's state. Only that
/// line is read, only in issues lifeline's own identity opened, and the
/// fingerprint in it is percent-encoded: outside text lower in the body
/// (escaped anyway) cannot forge or break it.
const STATE_PREFIX: &str = "<!-- lifeline:alert ";
/// The state line of alerts opened before the state line above.
const LEGACY_PREFIX: &str = "<!-- lifeline:fingerprint=";
const STATE_SUFFIX: &str = " -->";

/// Bodies are cut to this many characters, under GitHub's 65,536.
pub(crate) const MAX_BODY_CHARS: usize = 60_000;
/// One evidence line is cut to this many characters.
const MAX_LINE_CHARS: usize = 2_000;

/// What alerting did about one fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum AlertAction {
    Opened { fingerprint: String, issue: u64 },
    Commented { fingerprint: String, issue: u64 },
    Escalated { fingerprint: String, issue: u64 },
    Unchanged { fingerprint: String, issue: u64 },
    Resolved { fingerprint: String, issue: u64 },
}

impl AlertAction {
    /// The fingerprint and the issue the action was about.
    pub(crate) fn target(&self) -> (&str, u64) {
        match self {
            AlertAction::Opened { fingerprint, issue }
            | AlertAction::Commented { fingerprint, issue }
            | AlertAction::Escalated { fingerprint, issue }
            | AlertAction::Unchanged { fingerprint, issue }
            | AlertAction::Resolved { fingerprint, issue } => (fingerprint, *issue),
        }
    }
}

/// The alert settings.
#[derive(Debug, Clone)]
pub(crate) struct AlertSettings<'a> {
    pub policy: &'a SeverityPolicy,
    pub repeat_interval: Duration,
    pub now: Timestamp,
}

/// lifeline's state of one alert, kept in the first line of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AlertState {
    pub fingerprint: String,
    /// When lifeline last told people (opened, reminded, escalated).
    pub notified: Option<Timestamp>,
    pub escalated: bool,
}

impl AlertState {
    /// The state line.
    pub(crate) fn line(&self) -> String {
        let mut s = format!("{STATE_PREFIX}fingerprint={}", encode(&self.fingerprint));
        if let Some(t) = self.notified {
            s.push_str(&format!(" notified={t}"));
        }
        if self.escalated {
            s.push_str(" escalated");
        }
        s.push_str(STATE_SUFFIX);
        s
    }

    /// The state in the first line of `body`, if lifeline wrote one.
    pub(crate) fn parse(body: &str) -> Option<AlertState> {
        let first = body.lines().next()?.trim_end();
        if let Some(legacy) = first.strip_prefix(LEGACY_PREFIX) {
            let fingerprint = legacy.strip_suffix(STATE_SUFFIX)?;
            return Some(AlertState {
                fingerprint: fingerprint.to_string(),
                notified: None,
                escalated: body.trim_end().ends_with("<!-- lifeline:escalated -->"),
            });
        }
        let fields = first
            .strip_prefix(STATE_PREFIX)?
            .strip_suffix(STATE_SUFFIX)?;
        let mut state = AlertState {
            fingerprint: String::new(),
            notified: None,
            escalated: false,
        };
        for field in fields.split(' ') {
            match field.split_once('=') {
                Some(("fingerprint", v)) => state.fingerprint = decode(v)?,
                Some(("notified", v)) => state.notified = v.parse().ok(),
                None if field == "escalated" => state.escalated = true,
                _ => {}
            }
        }
        (!state.fingerprint.is_empty()).then_some(state)
    }
}

/// The body with its first (state) line replaced.
fn with_state(body: &str, state: &AlertState) -> String {
    let rest = body.split_once('\n').map_or("", |(_, rest)| rest);
    format!("{}\n{rest}", state.line())
}

/// Percent-encodes every byte but `[A-Za-z0-9._:/-]`, so the fingerprint
/// holds no space and no `-->`.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"._:/-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

struct OpenAlert {
    number: u64,
    body: String,
    state: AlertState,
    created: Option<Timestamp>,
}

/// What one sync did, and which findings it could not deliver.
#[derive(Debug, Default)]
pub(crate) struct SyncOutcome {
    pub actions: Vec<AlertAction>,
    /// One line per finding or alert that could not be delivered.
    pub failures: Vec<String>,
}

/// Brings the repository's alert issues in line with `findings`. Each
/// finding is delivered on its own: one that GitHub refuses does not stop
/// the others (it is listed in `failures`). Only an unreadable list of
/// open alerts, or not knowing who lifeline is, is an error.
///
/// `identity` gives the login of the token's owner: only issues it opened
/// are alerts. It is asked only when there are open issues to tell apart.
pub(crate) fn sync(
    client: &Client,
    repo: &RepoName,
    findings: &[Finding],
    coverage: &Coverage,
    settings: &AlertSettings<'_>,
    identity: &dyn Fn() -> Result<String, ApiError>,
) -> Result<SyncOutcome, ApiError> {
    let base = repo.api_path();
    let listed = client.get_all(
        &format!("{base}/issues?state=open&labels={ALERT_LABEL}&per_page=100"),
        None,
    )?;
    let me = if listed.is_empty() {
        String::new()
    } else {
        identity()?
    };
    let mut open: BTreeMap<String, OpenAlert> = BTreeMap::new();
    for issue in &listed {
        if issue.get("pull_request").is_some() {
            continue;
        }
        // Anyone may open an issue with an `alert` label (an issue form
        // can add it): only lifeline's own are its alerts.
        let by_us = issue["user"]["login"]
            .as_str()
            .is_some_and(|l| !me.is_empty() && l.eq_ignore_ascii_case(&me));
        let body = issue["body"].as_str().unwrap_or_default();
        let (true, Some(state), Some(number)) =
            (by_us, AlertState::parse(body), issue["number"].as_u64())
        else {
            continue;
        };
        let created = issue["created_at"]
            .as_str()
            .and_then(|t| t.parse::<Timestamp>().ok());
        open.entry(state.fingerprint.clone()).or_insert(OpenAlert {
            number,
            body: body.to_string(),
            state,
            created,
        });
    }
    let mut outcome = SyncOutcome::default();
    for f in findings {
        let alert = open.remove(&f.fingerprint);
        match deliver(client, &base, f, alert, settings) {
            Ok(action) => outcome.actions.push(action),
            Err(e) => outcome.failures.push(format!(
                "{}: {}",
                f.fingerprint,
                crate::redact::redact(&e.to_string())
            )),
        }
    }
    for (fingerprint, alert) in open {
        if !coverage.covers(&fingerprint) {
            continue;
        }
        match resolve(client, &base, &alert, settings) {
            Ok(()) => outcome.actions.push(AlertAction::Resolved {
                fingerprint,
                issue: alert.number,
            }),
            Err(e) => outcome.failures.push(format!(
                "{fingerprint} (closing #{}): {}",
                alert.number,
                crate::redact::redact(&e.to_string())
            )),
        }
    }
    Ok(outcome)
}

/// Opens, reminds or escalates the alert for one finding.
fn deliver(
    client: &Client,
    base: &str,
    f: &Finding,
    alert: Option<OpenAlert>,
    settings: &AlertSettings<'_>,
) -> Result<AlertAction, ApiError> {
    let fingerprint = f.fingerprint.clone();
    let Some(alert) = alert else {
        let state = AlertState {
            fingerprint: fingerprint.clone(),
            notified: Some(settings.now),
            escalated: false,
        };
        let created = client.send(
            "POST",
            &format!("{base}/issues"),
            Some(&json!({
                "title": title(f),
                "body": body(f, &state, settings),
                "labels": ["automation", ALERT_LABEL, f.severity.priority_label()],
            })),
        )?;
        let issue = created.body["number"].as_u64().unwrap_or_default();
        return Ok(AlertAction::Opened { fingerprint, issue });
    };
    let issue = alert.number;
    let level = settings.policy.level(f.severity);
    let deadline = alert
        .created
        .and_then(|c| c.checked_add(signed(level.response.as_duration())).ok());
    let overdue = deadline.is_some_and(|d| settings.now > d);
    if overdue && !alert.state.escalated {
        let who = if level.authority.is_empty() {
            "the on-call lead".to_string()
        } else {
            level.authority.join(", ")
        };
        comment(
            client,
            base,
            issue,
            &format!(
                "⏰ **Escalation**: this {} alert is still open past its response deadline ({} after it was opened). {who}: please take it over.\n\nStill seen at {}:\n{}",
                f.severity,
                level.response,
                settings.now,
                evidence_list(f, MAX_BODY_CHARS - 1_000)
            ),
        )?;
        let state = AlertState {
            notified: Some(settings.now),
            escalated: true,
            ..alert.state
        };
        update_state(client, base, issue, &alert.body, &state)?;
        return Ok(AlertAction::Escalated { fingerprint, issue });
    }
    // Reminders count from lifeline's own last word, kept in the state
    // line: other people's comments do not push the next one back.
    let quiet_since = alert.state.notified.or(alert.created);
    let due = quiet_since.is_none_or(|t| {
        t.checked_add(signed(settings.repeat_interval))
            .is_ok_and(|next| settings.now >= next)
    });
    if !due {
        return Ok(AlertAction::Unchanged { fingerprint, issue });
    }
    comment(
        client,
        base,
        issue,
        &format!(
            "Still occurring at {}:\n{}",
            settings.now,
            evidence_list(f, MAX_BODY_CHARS - 1_000)
        ),
    )?;
    let state = AlertState {
        notified: Some(settings.now),
        ..alert.state
    };
    update_state(client, base, issue, &alert.body, &state)?;
    Ok(AlertAction::Commented { fingerprint, issue })
}

fn resolve(
    client: &Client,
    base: &str,
    alert: &OpenAlert,
    settings: &AlertSettings<'_>,
) -> Result<(), ApiError> {
    comment(
        client,
        base,
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
    Ok(())
}

fn update_state(
    client: &Client,
    base: &str,
    issue: u64,
    body: &str,
    state: &AlertState,
) -> Result<(), ApiError> {
    client.send(
        "PATCH",
        &format!("{base}/issues/{issue}"),
        Some(&json!({ "body": with_state(body, state) })),
    )?;
    Ok(())
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
    markdown::title(&crate::redact::redact(&format!(
        "[lifeline {}] {}: {}",
        f.severity, f.pattern, f.title
    )))
}

/// Evidence and links as a Markdown list of inert lines, at most `budget`
/// characters; what does not fit is counted in a closing note.
fn evidence_list(f: &Finding, budget: usize) -> String {
    let lines: Vec<String> = f
        .evidence
        .iter()
        .chain(f.links.iter())
        .map(|e| {
            let line = markdown::truncate_chars(&crate::redact::redact(e), MAX_LINE_CHARS);
            format!("- {}\n", markdown::inert(&line))
        })
        .collect();
    let mut s = String::new();
    let mut used = 0;
    for (i, line) in lines.iter().enumerate() {
        let n = line.chars().count();
        if used + n > budget {
            s.push_str(&format!(
                "- … {} more line{} not shown: GitHub limits an issue to 65,536 characters; `lifeline health` prints them all\n",
                lines.len() - i,
                if lines.len() - i == 1 { "" } else { "s" }
            ));
            break;
        }
        used += n;
        s.push_str(line);
    }
    s
}

fn body(f: &Finding, state: &AlertState, settings: &AlertSettings<'_>) -> String {
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
    let head = format!(
        "{}\n\
         **Severity**: {} — {}\n\
         **Pattern**: `{}`\n\
         **Finding**: {}\n\
         **Detected**: {}\n\
         **Failure began**: {}\n\
         **Respond by**: {deadline} ({} per the severity policy)\n\
         **Authority**: {authority}\n\
         **Rollback**: {:?}\n\n",
        state.line(),
        f.severity,
        level.description,
        f.pattern,
        markdown::inert(&markdown::truncate_chars(
            &crate::redact::redact(&f.title),
            MAX_LINE_CHARS
        )),
        settings.now,
        f.failed_at.map_or(
            "unknown (the detector cannot tell when it began)".to_string(),
            |t| t.to_string()
        ),
        level.response,
        level.rollback,
    );
    let tail = format!(
        "\n### Remediation\n{}\n\n\
         _Opened by `lifeline health`. It comments here if the problem persists (at most every {}), escalates past the deadline, and closes this issue when the problem clears._\n\n\
         _A runbook started for this alert should run with `LIFELINE_DETECTED_AT={}`, so that `lifeline report` measures the incident from this detection._\n",
        markdown::inert(&markdown::truncate_chars(
            &crate::redact::redact(&f.remediation),
            MAX_LINE_CHARS
        )),
        crate::config::HumanDuration::from_secs(settings.repeat_interval.as_secs()),
        settings.now,
    );
    let budget = MAX_BODY_CHARS.saturating_sub(head.chars().count() + tail.chars().count() + 20);
    let text = format!("{head}### Evidence\n{}{tail}", evidence_list(f, budget));
    crate::redact::redact(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_the_first_line() {
        let state = AlertState {
            fingerprint: "invalid-file:planning/x -->\n<!-- y.md".into(),
            notified: Some("2026-11-30T10:00:00Z".parse().unwrap()),
            escalated: true,
        };
        let line = state.line();
        assert_eq!(line.matches("-->").count(), 1, "{line}");
        assert!(!line.contains('\n'));
        let body = format!("{line}\nrest");
        assert_eq!(AlertState::parse(&body), Some(state.clone()));
        let updated = AlertState {
            escalated: false,
            ..state
        };
        assert_eq!(
            AlertState::parse(&with_state(&body, &updated)),
            Some(updated)
        );
    }

    #[test]
    fn state_is_read_from_the_first_line_only() {
        assert_eq!(
            AlertState::parse("x\n<!-- lifeline:alert fingerprint=workflow-failure:a.yml -->"),
            None
        );
        assert_eq!(AlertState::parse("no marker"), None);
        assert_eq!(
            AlertState::parse("<!-- lifeline:fingerprint=workflow-failure:task-sync.yml -->\nbody")
                .map(|s| s.fingerprint),
            Some("workflow-failure:task-sync.yml".into())
        );
    }
}
