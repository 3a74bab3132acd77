//! `lifeline report`: the plan's success metrics, computed from what
//! lifeline records — the audit log, incident records and drills.
//!
//! - time to detect and to recover per severity, against the policy's
//!   response targets (incidents: opened → resolved; drills: measured);
//! - automated recovery success rate for P2/P3 (target > 95%);
//! - audit coverage: of the operations that logged a start, the share that
//!   also logged an outcome (target 100%);
//! - audit integrity (`audit verify`), the oldest retained entry, and the
//!   measured time to retrieve a record by ID (target < 5 minutes);
//! - the date of the last drill.

use std::collections::BTreeMap;
use std::time::Instant;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::config::Severity;
use crate::error::Result;
use crate::workspace::Workspace;

/// Metrics for one severity.
#[derive(Debug, Clone, Serialize)]
pub struct SeverityMetrics {
    pub severity: Severity,
    /// The policy's response target.
    pub target: String,
    pub target_secs: u64,
    pub incidents: usize,
    pub resolved: usize,
    /// Incidents resolved within the target.
    pub within_target: usize,
    /// Median opened → resolved, seconds.
    pub median_recover_secs: Option<u64>,
    pub drill_scenarios: usize,
    pub drill_median_detect_ms: Option<u64>,
    pub drill_median_recover_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rate {
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
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditMetrics {
    pub entries: usize,
    /// Operations with a start entry that also have an outcome entry.
    pub coverage: Rate,
    /// `valid`, `forked` or `invalid`.
    pub integrity: String,
    pub oldest_entry: Option<String>,
    /// Wall time to find one record, picked at random, by its ID.
    pub retrieval_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub since: Option<String>,
    pub severities: Vec<SeverityMetrics>,
    /// P2/P3 incidents and drill scenarios recovered automatically.
    pub automated_recovery_p2_p3: Rate,
    pub audit: AuditMetrics,
    pub last_drill: Option<String>,
    pub drills: Rate,
}

fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

/// Builds the report over records newer than `since`.
pub fn build(ws: &Workspace, since: Option<Timestamp>) -> Result<Report> {
    let in_window = |t: Timestamp| since.is_none_or(|s| t >= s);
    let incidents: Vec<_> = crate::incident::list(ws)?
        .into_iter()
        .map(|(_, i)| i)
        .filter(|i| in_window(i.detected_at))
        .collect();
    let log = crate::audit::store::Log::of(ws)?;
    let filter = crate::audit::query::Filter {
        since: since.map(|s| s.to_string()),
        ..Default::default()
    };
    let entries: Vec<Value> = crate::audit::query::query(&log, None, &filter)?
        .into_iter()
        .map(|f| f.entry)
        .collect();
    let s = |e: &Value, k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let drills: Vec<&Value> = entries
        .iter()
        .filter(|e| s(e, "component") == "drill")
        .collect();

    let mut severities = Vec::new();
    let mut auto_total = 0;
    let mut auto_ok = 0;
    for sev in Severity::ALL {
        let level = ws.config.severity.level(sev);
        let target_secs = level.response.as_secs();
        let mine: Vec<_> = incidents.iter().filter(|i| i.severity == sev).collect();
        let durations: Vec<u64> = mine
            .iter()
            .filter_map(|i| {
                let end = i.resolved_at?;
                Some(end.duration_since(i.started_at).as_secs().max(0) as u64)
            })
            .collect();
        let within = durations.iter().filter(|d| **d <= target_secs).count();
        let sev_drills: Vec<&&Value> = drills
            .iter()
            .filter(|d| d["details"]["severity"].as_str() == Some(sev.as_str()))
            .collect();
        let detail = |d: &Value, k: &str| d["details"][k].as_u64();
        if matches!(sev, Severity::P2 | Severity::P3) {
            auto_total += mine.len() + sev_drills.len();
            auto_ok += mine
                .iter()
                .filter(|i| i.outcome.as_deref() == Some("recovered"))
                .count();
            auto_ok += sev_drills
                .iter()
                .filter(|d| d["details"]["recovered"] == true)
                .count();
        }
        severities.push(SeverityMetrics {
            severity: sev,
            target: level.response.to_string(),
            target_secs,
            incidents: mine.len(),
            resolved: durations.len(),
            within_target: within,
            median_recover_secs: median(durations),
            drill_scenarios: sev_drills.len(),
            drill_median_detect_ms: median(
                sev_drills
                    .iter()
                    .filter_map(|d| detail(d, "detect_ms"))
                    .collect(),
            ),
            drill_median_recover_ms: median(
                sev_drills
                    .iter()
                    .filter_map(|d| detail(d, "recover_ms"))
                    .collect(),
            ),
        });
    }

    // Coverage: an operation is a (session, component) that logged a
    // start; it is covered when it also logged an outcome.
    let mut ops: BTreeMap<(String, String), (bool, bool)> = BTreeMap::new();
    for e in &entries {
        let op = s(e, "operation");
        let key = (s(e, "session_id"), s(e, "component"));
        let slot = ops.entry(key).or_default();
        if op.contains("start") {
            slot.0 = true;
        } else {
            slot.1 = true;
        }
    }
    let started: Vec<_> = ops.values().filter(|(start, _)| *start).collect();
    let coverage = Rate::new(
        started.len(),
        started.iter().filter(|(_, outcome)| *outcome).count(),
    );

    let verify = crate::audit::verify::verify(&log, &Default::default())?;
    let oldest = entries
        .iter()
        .map(|e| s(e, "timestamp"))
        .filter(|t| !t.is_empty())
        .min();
    // A record picked at random (the clock's nanoseconds are random enough
    // to keep the measurement honest: not always the newest, cached one).
    let pick = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as usize);
    let random = (!entries.is_empty()).then(|| &entries[pick % entries.len()]);
    let retrieval_ms = random.map(|e| s(e, "audit_id")).and_then(|id| {
        let start = Instant::now();
        let index = crate::audit::query::index_dir(&ws.root, &log);
        crate::audit::query::find_by_id(&log, Some(&index), &id)
            .ok()
            .flatten()
            .map(|_| start.elapsed().as_secs_f64() * 1000.0)
    });
    let last_drill = drills.iter().map(|d| s(d, "timestamp")).max();
    let drill_rate = Rate::new(
        drills.len(),
        drills
            .iter()
            .filter(|d| d["details"]["recovered"] == true)
            .count(),
    );
    Ok(Report {
        generated_at: Timestamp::now().to_string(),
        since: since.map(|s| s.to_string()),
        severities,
        automated_recovery_p2_p3: Rate::new(auto_total, auto_ok),
        audit: AuditMetrics {
            entries: entries.len(),
            coverage,
            integrity: verify.status.to_string(),
            oldest_entry: oldest,
            retrieval_ms,
        },
        last_drill,
        drills: drill_rate,
    })
}

fn pct(r: &Rate) -> String {
    r.percent.map_or("n/a".to_string(), |p| {
        format!("{p:.1}% ({}/{})", r.succeeded, r.total)
    })
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".to_string(), |x| x.to_string())
}

/// The report as Markdown (what a workflow appends to its step summary).
pub fn markdown(r: &Report) -> String {
    let mut s = String::from("## lifeline recovery metrics\n\n");
    s.push_str("| Severity | Target | Incidents | Resolved in target | Median recovery | Drill scenarios | Drill detect (median) | Drill recover (median) |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    for m in &r.severities {
        s.push_str(&format!(
            "| {} | {} | {} | {}/{} | {} | {} | {} | {} |\n",
            m.severity,
            m.target,
            m.incidents,
            m.within_target,
            m.resolved,
            m.median_recover_secs
                .map_or("-".into(), |x| format!("{x} s")),
            m.drill_scenarios,
            m.drill_median_detect_ms
                .map_or("-".into(), |x| format!("{x} ms")),
            m.drill_median_recover_ms
                .map_or("-".into(), |x| format!("{x} ms")),
        ));
    }
    s.push_str(&format!(
        "\n| Metric | Value | Target |\n|---|---|---|\n\
         | Automated recovery, P2/P3 | {} | > 95% |\n\
         | Audit coverage (start + outcome) | {} | 100% |\n\
         | Audit integrity | {} | valid |\n\
         | Audit entries | {} | |\n\
         | Oldest retained entry | {} | 7 years retained |\n\
         | Retrieval of a record by ID | {} | < 5 min |\n\
         | Drills recovered | {} | 100% |\n\
         | Last drill | {} | monthly |\n",
        pct(&r.automated_recovery_p2_p3),
        pct(&r.audit.coverage),
        r.audit.integrity,
        r.audit.entries,
        opt(&r.audit.oldest_entry),
        r.audit
            .retrieval_ms
            .map_or("-".into(), |ms| format!("{ms:.1} ms")),
        pct(&r.drills),
        opt(&r.last_drill),
    ));
    s
}

/// Plain text: the Markdown tables read fine in a terminal.
pub fn text(r: &Report) -> String {
    markdown(r).replace("## ", "")
}
