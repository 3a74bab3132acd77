//! `lifeline incident list|show|note|resolve`: reads and updates the
//! incident records in `docs/incidents/` ([`crate::recover::incident`]).
//! These steps write no audit entry: the record itself, kept in git, is
//! their trail.

use crate::error::Result;
use crate::recover::incident::{self, Incident};
use crate::workspace::Workspace;

/// `incident list`: every record, oldest first.
pub(crate) fn list(ws: &Workspace) -> Result<Vec<Incident>> {
    Ok(incident::list(ws)?.into_iter().map(|(_, i)| i).collect())
}

/// `incident show ID`: the record `id` (or a unique prefix) names.
pub(crate) fn show(ws: &Workspace, id: &str) -> Result<Incident> {
    Incident::find(ws, id).map(|(_, i)| i)
}

/// `incident note ID TEXT`: adds a note to the record.
pub(crate) fn note(ws: &Workspace, id: &str, text: &str) -> Result<Incident> {
    let (_, mut i) = Incident::find(ws, id)?;
    i.note(ws, text)?;
    Ok(i)
}

/// `incident resolve ID [--note TEXT]`: notes, then marks the incident
/// resolved now.
pub(crate) fn resolve(ws: &Workspace, id: &str, note: Option<&str>) -> Result<Incident> {
    let (_, mut i) = Incident::find(ws, id)?;
    if let Some(n) = note {
        i.note(ws, n)?;
    }
    i.status = "resolved".into();
    i.resolved_at = Some(jiff::Timestamp::now());
    i.step(ws, "incident resolved")?;
    Ok(i)
}
