//! `lifeline report`: loads what lifeline recorded — the audit log (drill
//! scenarios, `run` outcomes, health detections and alerts), the incident
//! records and the checkpoint store — and hands it to
//! [`crate::report::compute`], the model every renderer shares. It writes
//! no audit entry.

use std::time::Instant;

use jiff::Timestamp;
use serde_json::Value;

use crate::error::Result;
use crate::recover::incident::Incident;
use crate::report::{self, Checkpoints, Links, NewestCheckpoint, Report};
use crate::workspace::Workspace;

/// The report over records newer than `since` (a duration back from now).
pub(crate) fn run(
    ws: &Workspace,
    since: Option<crate::config::HumanDuration>,
    links: &Links,
) -> Result<Report> {
    let since = since.and_then(|d| {
        Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(d.as_secs() as i64))
            .ok()
    });
    build(ws, since, links)
}

/// Builds the report over records newer than `since`; open incidents and
/// alerts whenever they were opened.
fn build(ws: &Workspace, since: Option<Timestamp>, links: &Links) -> Result<Report> {
    let in_window = |t: Timestamp| since.is_none_or(|s| t >= s);
    let all: Vec<Incident> = crate::recover::incident::list(ws)?
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    let open = report::open_incidents(&all, links);
    let incidents: Vec<Incident> = all
        .into_iter()
        .filter(|i| in_window(report::detected_at(i).unwrap_or(i.started_at)))
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
    let alerts_filter = crate::audit::query::Filter {
        component: Some("health".into()),
        operation: Some("alert".into()),
        ..Default::default()
    };
    let alert_entries: Vec<Value> = crate::audit::query::query(&log, None, &alerts_filter)?
        .into_iter()
        .map(|f| f.entry)
        .collect();
    let verify = crate::audit::verify::verify(&log, &Default::default())?;
    let mut report = report::compute(
        &ws.config.severity,
        &entries,
        &incidents,
        since,
        verify.status.to_string(),
        retrieval_ms(ws, &log, &entries),
    );
    report.open_incidents = open;
    report.open_alerts = report::open_alerts(&alert_entries, links);
    report.checkpoints = checkpoints(ws);
    Ok(report)
}

/// The store's checkpoints; an unreadable store is said, not hidden.
fn checkpoints(ws: &Workspace) -> Checkpoints {
    let listing = crate::checkpoint::open(ws).and_then(|store| store.list());
    match listing {
        Ok(listing) => {
            let newest = crate::checkpoint::resolve::newest(&listing.checkpoints, |_| true)
                .and_then(|id| listing.checkpoints.iter().find(|s| s.id == id))
                .map(|s| NewestCheckpoint {
                    id: s.id.to_string(),
                    kind: s.kind.clone(),
                    created_at: s.created_at.to_string(),
                    valid: s.valid,
                });
            Checkpoints {
                count: listing.checkpoints.len(),
                newest,
                error: None,
            }
        }
        Err(e) => Checkpoints {
            error: Some(crate::redact::redact(&e.to_string()).into_owned()),
            ..Checkpoints::default()
        },
    }
}

/// Wall time to find a record picked at random by its ID (the clock's
/// nanoseconds are random enough: not always the newest, cached one).
fn retrieval_ms(ws: &Workspace, log: &crate::audit::store::Log, entries: &[Value]) -> Option<f64> {
    let pick = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as usize);
    let random = (!entries.is_empty()).then(|| &entries[pick % entries.len()])?;
    let id = report::text_of(random, "audit_id");
    let start = Instant::now();
    let index = crate::audit::query::index_dir(&ws.root, log).ok()?;
    crate::audit::query::find_by_id(log, Some(&index), &id)
        .ok()
        .flatten()
        .map(|_| start.elapsed().as_secs_f64() * 1000.0)
}
