//! The model and renderers of `lifeline report`: the plan's success
//! metrics, computed ([`compute`]) from what lifeline records — the audit
//! log, incident records and drills, which `commands::report` loads — into
//! one typed [`Report`] that every renderer (text, JSON, Markdown, HTML)
//! shares. Drill scenarios are read through [`crate::drill::record`],
//! health detections and alerts through [`crate::health::record`]. Nothing
//! here reads a file or prints.
//!
//! Each duration is measured between the instants the plan names, read
//! from the records that hold them; where a record lacks one, the report
//! counts it as unknown instead of inventing it:
//!
//! - **time to detect**: from the failure (the start of the oldest failing
//!   workflow run a health finding counted; the start of a `run` step) to
//!   the finding or `run` outcome that reported it. Target: the plan's
//!   15 minutes for P0/P1.
//! - **time to acknowledge**: from detection to the first human action on
//!   the incident (a person running its runbook, or a note). Target: the
//!   policy's response time (`[severity.Px] response`).
//! - **time to recover**: from detection to the verified recovery (an
//!   incident resolved as `recovered`; a `run` rollback done). Target: the
//!   plan's 2 hours for P1 and 8 hours for P2; the plan sets none for P0
//!   and P3, and the policy in lifeline.toml has no recovery target.
//! - **automated recovery rate, P2/P3** (target > 95%): `run` rollbacks,
//!   runbooks run by automation and drill scenarios, each a success only
//!   when recovered; P2/P3 failures that needed a person count against.
//! - **audit coverage** (target 100%): operations with both a start and an
//!   outcome, per operation (docs/audit-format.md, "Operations and
//!   coverage").
//! - audit integrity, the oldest retained entry, the measured time to
//!   retrieve a record by ID (target < 5 minutes), and the last drill.
//!
//! Beside the aggregates the model keeps what the charts of the HTML page
//! ([`html`]) plot: every measured duration with its detection instant,
//! each drill scenario, the audit entries per month, the newest checkpoint,
//! and the incidents and alerts still open.

pub(crate) mod html;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Severity, SeverityPolicy};
use crate::drill::record::{Recovery, ScenarioRecord, Verdict, caller_details};
use crate::health::alert::AlertAction;
use crate::health::record::{Detection, HealthRecord};
use crate::recover::incident::Incident;

/// One of the plan's durations, at one severity.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Timing {
    /// The target, when the plan or the policy sets one.
    pub target_secs: Option<u64>,
    /// Where the target comes from.
    pub target_source: Option<String>,
    /// Records where both instants are known.
    pub measured: usize,
    /// Records where one of the instants is unknown.
    pub unknown: usize,
    /// The median of the measured durations (the mean of the two middle
    /// values for an even count), seconds.
    pub median_secs: Option<f64>,
    /// Measured durations within the target (`None` without a target).
    pub within_target: Option<usize>,
}

impl Timing {
    fn new(target: Option<(u64, &str)>, samples: &[Point]) -> Timing {
        let known: Vec<f64> = samples.iter().filter_map(|p| p.1).collect();
        Timing {
            target_secs: target.map(|t| t.0),
            target_source: target.map(|t| t.1.to_string()),
            measured: known.len(),
            unknown: samples.len() - known.len(),
            within_target: target.map(|(t, _)| known.iter().filter(|d| **d <= t as f64).count()),
            median_secs: median(known),
        }
    }
}

/// A duration as measured: the detection instant (when known) and the
/// seconds (when both ends are known).
type Point = (Option<Timestamp>, Option<f64>);

/// Which of the plan's durations a [`Sample`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Measure {
    Detect,
    Acknowledge,
    Recover,
}

/// One measured duration: a point on the charts over the report period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Sample {
    pub severity: Severity,
    pub measure: Measure,
    /// When the failure was detected: where the point sits in time.
    pub at: String,
    pub secs: f64,
}

/// Drill scenarios at one severity.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct DrillTimes {
    pub scenarios: usize,
    pub passed: usize,
    pub median_detect_ms: Option<f64>,
    pub median_recover_ms: Option<f64>,
}

/// Metrics for one severity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SeverityMetrics {
    pub severity: Severity,
    pub incidents: usize,
    pub resolved: usize,
    pub detect: Timing,
    pub acknowledge: Timing,
    pub recover: Timing,
    pub drill: DrillTimes,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Rate {
    pub total: usize,
    pub succeeded: usize,
    /// Percent, when there is anything to rate.
    pub percent: Option<f64>,
}

impl Rate {
    fn new(total: usize, succeeded: usize) -> Rate {
        Rate {
            total,
            succeeded,
            percent: (total > 0).then(|| 100.0 * succeeded as f64 / total as f64),
        }
    }

    fn add(&mut self, succeeded: bool) {
        *self = Rate::new(self.total + 1, self.succeeded + usize::from(succeeded));
    }
}

/// The P2/P3 recovery rate and where its numbers come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct AutomatedRecovery {
    /// Everything below together.
    pub rate: Rate,
    /// `run` steps that failed at P2/P3: rolled back, or not (the rollback
    /// failed, or `--on-failure keep` left the files for a person). A step
    /// that failed without changing a protected file had nothing to
    /// recover and is not counted.
    pub run_rollbacks: Rate,
    /// P2/P3 incidents: a runbook automation ran and recovered succeeds; one
    /// a person ran, or that failed, does not.
    pub incidents: Rate,
    /// P2/P3 drill scenarios: passed, or not.
    pub drills: Rate,
}

/// An operation that logged a start and no outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Uncovered {
    pub operation_id: Option<String>,
    pub component: String,
    pub session_id: String,
    /// The start entry.
    pub audit_id: String,
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AuditMetrics {
    pub entries: usize,
    /// Operations with both a start and an outcome.
    pub coverage: Rate,
    pub uncovered: Vec<Uncovered>,
    /// `valid`, `forked` or `invalid`.
    pub integrity: String,
    pub oldest_entry: Option<String>,
    /// Wall time to find one record, picked at random, by its ID.
    pub retrieval_ms: Option<f64>,
    /// Entries per month over the window, oldest first; months without
    /// entries between the first and the last are listed with 0.
    pub per_month: Vec<MonthCount>,
}

/// Drills over the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct DrillMetrics {
    pub scenarios: usize,
    pub passed: usize,
    pub manual_recovery_required: usize,
    pub failed: usize,
    /// The failed scenarios' names, newest drill last.
    pub failed_scenarios: Vec<String>,
    /// Drill entries this version cannot read (written by an older one).
    pub unreadable: usize,
    pub last: Option<String>,
    /// Whole days from the last drill to when the report was made.
    pub days_since_last: Option<i64>,
    /// The plan drills monthly: false when the last drill is older than
    /// [`DRILL_INTERVAL_DAYS`] or there is none in the window.
    pub on_schedule: bool,
    /// Every scenario, oldest first.
    pub history: Vec<DrillScenario>,
}

/// "Monthly", in days: the longest month.
pub(crate) const DRILL_INTERVAL_DAYS: i64 = 31;

/// One drill scenario as it ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DrillScenario {
    /// When its audit entry was written.
    pub at: String,
    pub name: String,
    pub severity: Severity,
    pub detect_ms: Option<u64>,
    pub recover_ms: Option<u64>,
    pub recovered: bool,
    pub verdict: Verdict,
}

/// Audit entries written in one calendar month (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MonthCount {
    /// `YYYY-MM`.
    pub month: String,
    pub entries: usize,
}

/// The newest checkpoint in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NewestCheckpoint {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    /// Its protected files validated when it was taken.
    pub valid: bool,
}

/// What the checkpoint store holds, or why it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Checkpoints {
    pub count: usize,
    pub newest: Option<NewestCheckpoint>,
    /// Set when the store could not be listed: the report cannot see.
    pub error: Option<String>,
}

/// An incident record without a resolution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct OpenIncident {
    pub id: String,
    pub severity: Severity,
    #[serde(rename = "type")]
    pub kind: String,
    pub started_at: String,
    /// The record, relative to the repository root.
    pub path: String,
    /// The record on GitHub, when the repository is known.
    pub url: Option<String>,
}

/// A GitHub issue `health --alert github` opened and has not closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct OpenAlert {
    pub fingerprint: String,
    pub severity: Option<Severity>,
    pub repo: String,
    pub issue: u64,
    /// When lifeline first recorded it open.
    pub opened_at: String,
    pub url: String,
}

/// Where links point: the GitHub server and the repository (from
/// `GITHUB_SERVER_URL` and `GITHUB_REPOSITORY` in Actions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Links {
    pub server: String,
    pub repository: Option<String>,
}

impl Links {
    /// `GITHUB_SERVER_URL` when it is an `https://` address (else
    /// github.com) and `GITHUB_REPOSITORY` when it is `OWNER/NAME`.
    pub(crate) fn from_env(env: &dyn crate::ci::Env) -> Links {
        let server = env
            .var("GITHUB_SERVER_URL")
            .map(|s| s.trim_end_matches('/').to_string())
            .filter(|s| {
                s.strip_prefix("https://").is_some_and(|host| {
                    !host.is_empty()
                        && host
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))
                })
            })
            .unwrap_or_else(|| "https://github.com".to_string());
        Links {
            server,
            repository: env.var("GITHUB_REPOSITORY").filter(|r| is_repo_name(r)),
        }
    }
}

/// `OWNER/NAME` with the characters GitHub allows.
fn is_repo_name(s: &str) -> bool {
    let mut parts = s.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && !p.starts_with('.')
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Report {
    pub generated_at: String,
    pub since: Option<String>,
    pub severities: Vec<SeverityMetrics>,
    pub automated_recovery_p2_p3: AutomatedRecovery,
    pub audit: AuditMetrics,
    pub drills: DrillMetrics,
    /// Every measured duration, oldest detection first.
    pub samples: Vec<Sample>,
    pub checkpoints: Checkpoints,
    /// Open whenever they were opened: `--since` does not hide them.
    pub open_incidents: Vec<OpenIncident>,
    pub open_alerts: Vec<OpenAlert>,
}

/// The median: the middle value, or the mean of the two middle values.
pub(crate) fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// The plan's detection target: 15 minutes for P0/P1.
fn detect_target(s: Severity) -> Option<(u64, &'static str)> {
    matches!(s, Severity::P0 | Severity::P1).then_some((15 * 60, "plan: detected within 15 min"))
}

/// The plan's recovery target: 2 hours for P1, 8 hours for P2.
fn recover_target(s: Severity) -> Option<(u64, &'static str)> {
    match s {
        Severity::P1 => Some((2 * 3600, "plan: full recovery within 2 h")),
        Severity::P2 => Some((8 * 3600, "plan: full recovery within 8 h")),
        _ => None,
    }
}

fn secs_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.duration_since(from).as_secs_f64()).max(0.0)
}

/// An actor that is automation, not a person: a GitHub App or bot
/// account, or no known actor.
fn is_automation(actor: &str) -> bool {
    actor.ends_with("[bot]") || actor.starts_with("system:")
}

/// The detection instant of an incident. A record written before lifeline
/// kept it apart has `detected_at` equal to `started_at` (the runbook's
/// start, not a detection): unknown.
pub(crate) fn detected_at(i: &Incident) -> Option<Timestamp> {
    i.detected_at.filter(|d| *d != i.started_at)
}

/// The first human action on an incident: a person starting its runbook,
/// or the first note.
fn acknowledged_at(i: &Incident) -> Option<Timestamp> {
    let runbook = (!is_automation(&i.operator)).then_some(i.started_at);
    let note = i.notes.iter().map(|n| n.at).min();
    runbook.into_iter().chain(note).min()
}

/// What `lifeline run` records in its outcome entry.
#[derive(Debug, Default, Deserialize)]
struct RunOutcome {
    severity: Option<Severity>,
    rollback: Option<String>,
    started_at: Option<Timestamp>,
    detected_at: Option<Timestamp>,
    recovered_at: Option<Timestamp>,
}

pub(crate) fn text_of(e: &Value, k: &str) -> String {
    e.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Incident records with no resolution, oldest first.
pub(crate) fn open_incidents(incidents: &[Incident], links: &Links) -> Vec<OpenIncident> {
    let mut open: Vec<OpenIncident> = incidents
        .iter()
        .filter(|i| i.resolved_at.is_none())
        .map(|i| OpenIncident {
            id: i.id.clone(),
            severity: i.severity,
            kind: i.kind.clone(),
            started_at: i.started_at.to_string(),
            path: i.rel_path(),
            // The ID comes from the record, which anyone with push access
            // can write: it is one encoded path segment, so `/` and `..`
            // in it cannot make the link leave the record's directory.
            url: links.repository.as_ref().map(|repo| {
                format!(
                    "{}/{repo}/blob/HEAD/{}/{}.md",
                    links.server,
                    crate::recover::incident::DIR,
                    crate::github::encode_component(&i.id)
                )
            }),
        })
        .collect();
    open.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    open
}

/// The alerts `health --alert github` left open: per repository and
/// issue, the last action recorded is not `resolved`. Oldest first.
pub(crate) fn open_alerts(entries: &[Value], links: &Links) -> Vec<OpenAlert> {
    let mut state: BTreeMap<(String, u64), OpenAlert> = BTreeMap::new();
    for e in entries {
        let Some(record) = HealthRecord::from_entry(e) else {
            continue;
        };
        let repo = record.repo.as_str();
        if !is_repo_name(repo) {
            continue;
        }
        for a in &record.alerts {
            let (fingerprint, issue) = a.target();
            let key = (repo.to_string(), issue);
            if matches!(a, AlertAction::Resolved { .. }) {
                state.remove(&key);
                continue;
            }
            let severity = record.severity_of(fingerprint);
            let alert = state.entry(key).or_insert_with(|| OpenAlert {
                fingerprint: fingerprint.to_string(),
                severity,
                repo: repo.to_string(),
                issue,
                opened_at: text_of(e, "timestamp"),
                url: format!("{}/{repo}/issues/{issue}", links.server),
            });
            alert.severity = severity.or(alert.severity);
        }
    }
    let mut open: Vec<OpenAlert> = state.into_values().collect();
    open.sort_by(|a, b| a.opened_at.cmp(&b.opened_at));
    open
}

/// The report from the records themselves (no I/O).
pub(crate) fn compute(
    policy: &SeverityPolicy,
    entries: &[Value],
    incidents: &[Incident],
    since: Option<Timestamp>,
    integrity: String,
    retrieval_ms: Option<f64>,
) -> Report {
    let mut drills = DrillMetrics::default();
    let mut scenarios: Vec<(String, ScenarioRecord)> = Vec::new();
    let mut runs: Vec<RunOutcome> = Vec::new();
    let mut detections: BTreeMap<(String, Option<Timestamp>), Detection> = BTreeMap::new();
    for e in entries {
        match (
            text_of(e, "component").as_str(),
            text_of(e, "operation").as_str(),
        ) {
            ("drill", _) => {
                drills.last = drills.last.max(Some(text_of(e, "timestamp")));
                match ScenarioRecord::from_entry(e) {
                    Some(r) => scenarios.push((text_of(e, "timestamp"), r)),
                    None => drills.unreadable += 1,
                }
            }
            ("run", "outcome") => {
                if let Ok(r) = serde_json::from_value::<RunOutcome>(caller_details(e).clone()) {
                    runs.push(r);
                }
            }
            ("health", _) => {
                let record = HealthRecord::from_entry(e).unwrap_or_default();
                for d in record.detections {
                    let key = (d.fingerprint.clone(), d.failed_at);
                    match detections.get(&key) {
                        Some(seen) if seen.detected_at <= d.detected_at => {}
                        _ => {
                            detections.insert(key, d);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    scenarios.sort_by(|a, b| a.0.cmp(&b.0));
    for (at, s) in &scenarios {
        drills.history.push(DrillScenario {
            at: at.clone(),
            name: s.name.clone(),
            severity: s.severity,
            detect_ms: s.detect_ms,
            recover_ms: s.recover_ms,
            recovered: s.recovered,
            verdict: s.verdict,
        });
        match s.verdict {
            Verdict::Passed => drills.passed += 1,
            Verdict::ManualRecoveryRequired => drills.manual_recovery_required += 1,
            Verdict::Failed => {
                drills.failed += 1;
                drills.failed_scenarios.push(s.name.clone());
            }
        }
    }
    drills.scenarios = scenarios.len();
    let now = Timestamp::now();
    drills.days_since_last = drills
        .last
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(|t| now.duration_since(t).as_secs().max(0) / 86_400);
    drills.on_schedule = drills
        .days_since_last
        .is_some_and(|d| d <= DRILL_INTERVAL_DAYS);
    let scenarios: Vec<ScenarioRecord> = scenarios.into_iter().map(|(_, s)| s).collect();
    let mut samples = Vec::new();

    let mut severities = Vec::new();
    let mut auto = AutomatedRecovery::default();
    for sev in Severity::ALL {
        let mine: Vec<&Incident> = incidents.iter().filter(|i| i.severity == sev).collect();
        let sev_runs: Vec<&RunOutcome> = runs.iter().filter(|r| r.severity == Some(sev)).collect();
        let sev_drills: Vec<&ScenarioRecord> =
            scenarios.iter().filter(|s| s.severity == sev).collect();

        let mut detect: Vec<Point> = detections
            .values()
            .filter(|d| d.severity == sev)
            .map(|d| {
                (
                    Some(d.detected_at),
                    d.failed_at.map(|f| secs_between(f, d.detected_at)),
                )
            })
            .collect();
        detect.extend(sev_runs.iter().map(|r| {
            (
                r.detected_at,
                r.started_at
                    .zip(r.detected_at)
                    .map(|(s, d)| secs_between(s, d)),
            )
        }));
        let acknowledge: Vec<Point> = mine
            .iter()
            .map(|i| {
                (
                    detected_at(i),
                    detected_at(i)
                        .zip(acknowledged_at(i))
                        .map(|(d, a)| secs_between(d, a)),
                )
            })
            .collect();
        let mut recover: Vec<Point> = mine
            .iter()
            .filter(|i| i.outcome.as_deref() == Some("recovered"))
            .map(|i| {
                (
                    detected_at(i),
                    detected_at(i)
                        .zip(i.resolved_at)
                        .map(|(d, r)| secs_between(d, r)),
                )
            })
            .collect();
        recover.extend(
            sev_runs
                .iter()
                .filter(|r| r.rollback.as_deref() == Some("rolled-back"))
                .map(|r| {
                    (
                        r.detected_at,
                        r.detected_at
                            .zip(r.recovered_at)
                            .map(|(d, v)| secs_between(d, v)),
                    )
                }),
        );
        for (measure, points) in [
            (Measure::Detect, &detect),
            (Measure::Acknowledge, &acknowledge),
            (Measure::Recover, &recover),
        ] {
            samples.extend(points.iter().filter_map(|(at, secs)| {
                Some(Sample {
                    severity: sev,
                    measure,
                    at: (*at)?.to_string(),
                    secs: (*secs)?,
                })
            }));
        }

        if matches!(sev, Severity::P2 | Severity::P3) {
            for r in &sev_runs {
                match r.rollback.as_deref() {
                    Some("rolled-back") => auto.run_rollbacks.add(true),
                    Some("kept" | "failed") => auto.run_rollbacks.add(false),
                    _ => {}
                }
            }
            for i in &mine {
                let by_automation = is_automation(&i.operator);
                auto.incidents
                    .add(by_automation && i.outcome.as_deref() == Some("recovered"));
            }
            for s in &sev_drills {
                auto.drills
                    .add(s.recovery == Recovery::Automated && s.verdict == Verdict::Passed);
            }
        }

        let ms = |f: fn(&ScenarioRecord) -> Option<u64>| {
            median(
                sev_drills
                    .iter()
                    .filter_map(|s| f(s))
                    .map(|v| v as f64)
                    .collect(),
            )
        };
        severities.push(SeverityMetrics {
            severity: sev,
            incidents: mine.len(),
            resolved: mine.iter().filter(|i| i.resolved_at.is_some()).count(),
            detect: Timing::new(detect_target(sev), &detect),
            acknowledge: Timing::new(
                Some((policy.level(sev).response.as_secs(), "policy: response")),
                &acknowledge,
            ),
            recover: Timing::new(recover_target(sev), &recover),
            drill: DrillTimes {
                scenarios: sev_drills.len(),
                passed: sev_drills
                    .iter()
                    .filter(|s| s.verdict == Verdict::Passed)
                    .count(),
                median_detect_ms: ms(|s| s.detect_ms),
                median_recover_ms: ms(|s| s.recover_ms),
            },
        });
    }
    let parts = [&auto.run_rollbacks, &auto.incidents, &auto.drills];
    auto.rate = Rate::new(
        parts.iter().map(|r| r.total).sum(),
        parts.iter().map(|r| r.succeeded).sum(),
    );

    samples.sort_by(|a, b| a.at.cmp(&b.at));

    let (coverage, uncovered) = coverage(entries, incidents);
    Report {
        generated_at: now.to_string(),
        since: since.map(|s| s.to_string()),
        severities,
        automated_recovery_p2_p3: auto,
        audit: AuditMetrics {
            entries: entries.len(),
            coverage,
            uncovered,
            integrity,
            oldest_entry: entries
                .iter()
                .map(|e| text_of(e, "timestamp"))
                .filter(|t| !t.is_empty())
                .min(),
            retrieval_ms,
            per_month: per_month(entries),
        },
        drills,
        samples,
        checkpoints: Checkpoints::default(),
        open_incidents: Vec::new(),
        open_alerts: Vec::new(),
    }
}

/// Entries per month, gaps filled with 0 when the span is at most
/// [`MAX_FILLED_MONTHS`] (a forged far-off timestamp cannot make the list
/// huge). Timestamps that do not parse are not counted.
fn per_month(entries: &[Value]) -> Vec<MonthCount> {
    let mut counts: BTreeMap<(i16, i8), usize> = BTreeMap::new();
    for e in entries {
        if let Ok(t) = text_of(e, "timestamp").parse::<Timestamp>() {
            let d = jiff::tz::Offset::UTC.to_datetime(t).date();
            *counts.entry((d.year(), d.month())).or_default() += 1;
        }
    }
    let index = |(y, m): (i16, i8)| i32::from(y) * 12 + i32::from(m) - 1;
    let keys: Vec<(i16, i8)> = match (counts.keys().next(), counts.keys().next_back()) {
        (Some(&first), Some(&last)) if index(last) - index(first) < MAX_FILLED_MONTHS => {
            (index(first)..=index(last))
                .map(|i| ((i / 12) as i16, (i % 12 + 1) as i8))
                .collect()
        }
        _ => counts.keys().copied().collect(),
    };
    keys.into_iter()
        .map(|k| MonthCount {
            month: format!("{:04}-{:02}", k.0, k.1),
            entries: counts.get(&k).copied().unwrap_or(0),
        })
        .collect()
}

/// The longest span of months [`per_month`] fills (ten years).
const MAX_FILLED_MONTHS: i32 = 120;

/// True for an entry that opens an operation: `start`, or a name ending
/// in `_start` / `-start` (`workflow_start`).
fn is_start(operation: &str) -> bool {
    operation == "start" || operation.ends_with("_start") || operation.ends_with("-start")
}

/// Audit coverage, per operation (docs/audit-format.md):
///
/// - entries sharing an operation id (`details.operation_id`; for
///   `recover`, `details.incident`) are one operation; it is covered when
///   it has an entry other than its start (for a runbook: when its
///   incident record has an outcome);
/// - a start without an operation id is closed by the next non-start entry
///   of the same session and component that has no operation id either
///   (innermost start first); one never closed is uncovered;
/// - any other entry is an operation recorded once it ended, start and
///   outcome in one entry: covered.
fn coverage(entries: &[Value], incidents: &[Incident]) -> (Rate, Vec<Uncovered>) {
    struct Op<'a> {
        start: Option<&'a Value>,
        first: &'a Value,
        outcome: bool,
    }
    let mut keyed: BTreeMap<String, Op> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut open: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    let mut rate = Rate::default();
    let mut uncovered = Vec::new();
    let uncovered_of = |e: &Value, id: Option<String>| Uncovered {
        operation_id: id,
        component: text_of(e, "component"),
        session_id: text_of(e, "session_id"),
        audit_id: text_of(e, "audit_id"),
        timestamp: text_of(e, "timestamp"),
    };
    for e in entries {
        let details = caller_details(e);
        let component = text_of(e, "component");
        let start = is_start(&text_of(e, "operation"));
        let failed = text_of(e, "result") == "failure";
        let id = details["operation_id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                (component == "recover")
                    .then(|| {
                        details["incident"]
                            .as_str()
                            .map(|i| format!("incident:{i}"))
                    })
                    .flatten()
            });
        match id {
            Some(id) => {
                let op = keyed.entry(id.clone()).or_insert_with(|| {
                    order.push(id.clone());
                    Op {
                        start: None,
                        first: e,
                        outcome: false,
                    }
                });
                if start && op.start.is_none() {
                    op.start = Some(e);
                    op.outcome |= failed;
                } else {
                    op.outcome = true;
                }
            }
            None if start && !failed => open
                .entry((text_of(e, "session_id"), component))
                .or_default()
                .push(e),
            // A start that failed is its own outcome.
            // The outcome of the innermost open start, or an operation
            // recorded in one entry: either way one covered operation.
            None => {
                if let Some(starts) = open.get_mut(&(text_of(e, "session_id"), component)) {
                    starts.pop();
                }
                rate.add(true);
            }
        }
    }
    for id in order {
        let op = &keyed[&id];
        let covered = match id.strip_prefix("incident:") {
            Some(incident) => incidents
                .iter()
                .find(|i| i.id == incident)
                .is_some_and(|i| i.outcome.is_some()),
            None => op.outcome || op.start.is_none(),
        };
        rate.add(covered);
        if !covered {
            uncovered.push(uncovered_of(op.start.unwrap_or(op.first), Some(id)));
        }
    }
    for starts in open.into_values() {
        for e in starts {
            rate.add(false);
            uncovered.push(uncovered_of(e, None));
        }
    }
    uncovered.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
    (rate, uncovered)
}

fn pct(r: &Rate) -> String {
    r.percent.map_or("n/a".to_string(), |p| {
        format!("{p:.1}% ({}/{})", r.succeeded, r.total)
    })
}

/// A duration in seconds, as a person reads it.
fn human(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.1} s")
    } else if secs < 7200.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// One timing cell: the median, how many measured, how many unknown, and
/// the share within target.
fn timing(t: &Timing) -> String {
    let mut s = match t.median_secs {
        Some(m) => format!("{} (n={})", human(m), t.measured),
        None => "-".to_string(),
    };
    if let (Some(within), Some(target)) = (t.within_target, t.target_secs)
        && t.measured > 0
    {
        s.push_str(&format!(
            ", {within}/{} ≤ {}",
            t.measured,
            human(target as f64)
        ));
    }
    if t.unknown > 0 {
        s.push_str(&format!(", {} unknown", t.unknown));
    }
    s
}

fn drill_ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x} ms"))
}

/// The report as Markdown (what a workflow appends to its step summary).
pub(crate) fn markdown(r: &Report) -> String {
    let mut s = String::from("## lifeline recovery metrics\n\n");
    s.push_str("| Severity | Incidents (resolved) | Time to detect | Time to acknowledge | Time to recover | Drill scenarios (passed) | Drill detect (median) | Drill recover (median) |\n|---|---:|---|---|---|---:|---:|---:|\n");
    for m in &r.severities {
        s.push_str(&format!(
            "| {} | {} ({}) | {} | {} | {} | {} ({}) | {} | {} |\n",
            m.severity,
            m.incidents,
            m.resolved,
            timing(&m.detect),
            timing(&m.acknowledge),
            timing(&m.recover),
            m.drill.scenarios,
            m.drill.passed,
            drill_ms(m.drill.median_detect_ms),
            drill_ms(m.drill.median_recover_ms),
        ));
    }
    s.push_str(
        "\nTargets: detect within 15 min (P0/P1) and recover within 2 h (P1) / 8 h (P2), from the plan; \
         acknowledge within the policy's response time. \"unknown\": a record lacks one of the two instants \
         (a finding that cannot tell when the failure began, an incident with no recorded detection, \
         one no person has acted on yet). Acknowledgement is measured on incident records; a person's \
         action on an alert issue is on GitHub, not in these records.\n",
    );
    let a = &r.automated_recovery_p2_p3;
    let d = &r.drills;
    let drills = if d.scenarios == 0 {
        "n/a".to_string()
    } else {
        let mut t = format!("{}/{} passed", d.passed, d.scenarios);
        if d.manual_recovery_required > 0 {
            t.push_str(&format!(
                ", {} detected (manual recovery required)",
                d.manual_recovery_required
            ));
        }
        if d.failed > 0 {
            let mut names: Vec<(&str, usize)> = Vec::new();
            for name in &d.failed_scenarios {
                match names.iter_mut().find(|(n, _)| n == name) {
                    Some((_, count)) => *count += 1,
                    None => names.push((name, 1)),
                }
            }
            let names: Vec<String> = names
                .into_iter()
                .map(|(n, c)| {
                    if c == 1 {
                        n.to_string()
                    } else {
                        format!("{n} ×{c}")
                    }
                })
                .collect();
            t.push_str(&format!(", {} failed ({})", d.failed, names.join(", ")));
        }
        if d.unreadable > 0 {
            t.push_str(&format!(", {} unreadable", d.unreadable));
        }
        t
    };
    s.push_str(&format!(
        "\n| Metric | Value | Target |\n|---|---|---|\n\
         | Automated recovery, P2/P3 | {} | > 95% |\n\
         | … of which `run` rollbacks | {} | |\n\
         | … of which incidents | {} | |\n\
         | … of which drill scenarios | {} | |\n\
         | Audit coverage (start + outcome, per operation) | {} | 100% |\n\
         | Audit integrity | {} | valid |\n\
         | Audit entries | {} | |\n\
         | Oldest retained entry | {} | 7 years retained |\n\
         | Retrieval of a record by ID | {} | < 5 min |\n\
         | Drill scenarios | {} | all passed |\n\
         | Last drill | {} | monthly |\n",
        pct(&a.rate),
        pct(&a.run_rollbacks),
        pct(&a.incidents),
        pct(&a.drills),
        pct(&r.audit.coverage),
        r.audit.integrity,
        r.audit.entries,
        r.audit.oldest_entry.as_deref().unwrap_or("-"),
        r.audit
            .retrieval_ms
            .map_or("-".into(), |ms| format!("{ms:.1} ms")),
        drills,
        d.last.as_deref().unwrap_or("-"),
    ));
    if !r.audit.uncovered.is_empty() {
        s.push_str("\nOperations with a start and no outcome:\n\n");
        for u in r.audit.uncovered.iter().take(20) {
            s.push_str(&format!(
                "- {} `{}` in session `{}` ({}{})\n",
                u.timestamp,
                u.component,
                u.session_id,
                u.audit_id,
                u.operation_id
                    .as_deref()
                    .map_or(String::new(), |id| format!(", operation {id}"))
            ));
        }
        if r.audit.uncovered.len() > 20 {
            s.push_str(&format!("- … and {} more\n", r.audit.uncovered.len() - 20));
        }
    }
    s
}

/// Plain text: the Markdown tables read fine in a terminal.
pub(crate) fn text(r: &Report) -> String {
    markdown(r).replace("## ", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![3600.0, 10800.0]), Some(7200.0));
        assert_eq!(median(vec![5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }

    fn links() -> Links {
        Links {
            server: "https://github.com".into(),
            repository: Some("acme/plan".into()),
        }
    }

    fn alert_entry(at: &str, repo: &str, action: &str, issue: u64) -> Value {
        serde_json::json!({
            "timestamp": at,
            "component": "health",
            "operation": "alert",
            "details": {
                "repo": repo,
                "alerts": [{"action": action, "fingerprint": "token-expiry", "issue": issue}],
                "detections": [{"fingerprint": "token-expiry", "severity": "P1",
                                "failed_at": null, "detected_at": at}],
            },
        })
    }

    #[test]
    fn an_alert_is_open_from_its_first_action_until_it_is_resolved() {
        let opened = alert_entry("2026-11-01T10:00:00Z", "acme/plan", "opened", 7);
        let commented = alert_entry("2026-11-02T10:00:00Z", "acme/plan", "commented", 7);
        let resolved = alert_entry("2026-11-03T10:00:00Z", "acme/plan", "resolved", 7);
        let open = open_alerts(&[opened.clone(), commented.clone()], &links());
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].opened_at, "2026-11-01T10:00:00Z");
        assert_eq!(open[0].severity, Some(Severity::P1));
        assert_eq!(open[0].url, "https://github.com/acme/plan/issues/7");
        assert!(open_alerts(&[opened.clone(), commented, resolved], &links()).is_empty());
        // A repository name that is not OWNER/NAME never reaches a link.
        let forged = alert_entry("2026-11-01T10:00:00Z", "acme/../../evil", "opened", 8);
        assert_eq!(open_alerts(&[opened, forged], &links()).len(), 1);
    }

    #[test]
    fn links_take_only_an_https_server_and_an_owner_name_repository() {
        let env = [
            ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
            ("GITHUB_REPOSITORY", "acme/plan"),
        ];
        assert_eq!(
            Links::from_env(&env),
            Links {
                server: "https://ghe.example.com".into(),
                repository: Some("acme/plan".into())
            }
        );
        for (server, repo) in [
            ("javascript:alert(1)", "acme/plan/x"),
            ("http://github.com", "../plan"),
            ("https://x\"onmouseover=a", "acme/"),
        ] {
            let env = [("GITHUB_SERVER_URL", server), ("GITHUB_REPOSITORY", repo)];
            let links = Links::from_env(&env);
            assert_eq!(links.server, "https://github.com", "{server}");
            assert_eq!(links.repository, None, "{repo}");
        }
    }

    #[test]
    fn entries_per_month_fill_the_gaps_but_not_forever() {
        let at = |t: &str| serde_json::json!({"timestamp": t});
        let months = per_month(&[
            at("2026-10-31T23:59:59Z"),
            at("2027-01-01T00:00:00Z"),
            at("2027-01-15T00:00:00Z"),
            at("not a time"),
        ]);
        let got: Vec<(&str, usize)> = months
            .iter()
            .map(|m| (m.month.as_str(), m.entries))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-10", 1),
                ("2026-11", 0),
                ("2026-12", 0),
                ("2027-01", 2)
            ]
        );
        // A forged timestamp far away: only the months that have entries.
        let far = per_month(&[at("2026-10-01T00:00:00Z"), at("9999-01-01T00:00:00Z")]);
        assert_eq!(far.len(), 2);
    }

    fn incident(id: &str, resolved: bool) -> Incident {
        let at: Timestamp = "2026-11-01T10:00:00Z".parse().unwrap();
        Incident {
            id: id.into(),
            status: if resolved { "resolved" } else { "open" }.into(),
            severity: Severity::P2,
            kind: "task-file-corruption".into(),
            operator: "user:test".into(),
            checkpoint: None,
            detected_at: None,
            started_at: at,
            resolved_at: resolved.then_some(at),
            outcome: None,
            disabled: Vec::new(),
            changed: Vec::new(),
            timeline: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn an_open_incident_links_to_its_record_and_a_resolved_one_is_not_listed() {
        let list = open_incidents(
            &[incident("INC-1 <x>", false), incident("INC-2", true)],
            &links(),
        );
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].url.as_deref(),
            Some("https://github.com/acme/plan/blob/HEAD/docs/incidents/INC-1%20%3Cx%3E.md")
        );
        let local = Links {
            repository: None,
            ..links()
        };
        assert_eq!(
            open_incidents(&[incident("INC-3", false)], &local)[0].url,
            None
        );
    }
}
