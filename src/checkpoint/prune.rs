//! Which checkpoints to keep: restic's `forget` policies (`--keep-last`,
//! `--keep-within`, `--keep-daily`, `--keep-weekly`) plus the checkpoints
//! recovery depends on, which no policy can remove:
//!
//! - the newest valid checkpoint (what `restore latest-valid` picks);
//! - the newest `pre-restore` checkpoint (what `undo` goes back to);
//! - checkpoints pinned by the caller — those an open incident refers to
//!   ([`pinned`]).
//!
//! Like restic, `--keep-within` counts back from the newest checkpoint, not
//! from now, so a repository whose bot stopped a month ago keeps its last
//! checkpoints.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use super::PRE_RESTORE;
use super::id::CheckpointId;
use super::manifest::{Summary, sort_newest_first};
use crate::error::Result;
use crate::workspace::Workspace;

/// The retention policy; a checkpoint is kept when any rule keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub keep_last: Option<usize>,
    pub keep_within: Option<Duration>,
    pub keep_daily: Option<usize>,
    pub keep_weekly: Option<usize>,
}

impl Policy {
    /// True when no rule is set (a prune would keep only the protected
    /// checkpoints, which is never what anyone means).
    pub fn is_empty(&self) -> bool {
        self.keep_last.is_none()
            && self.keep_within.is_none()
            && self.keep_daily.is_none()
            && self.keep_weekly.is_none()
    }
}

/// The verdict on one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub checkpoint: Summary,
    pub keep: bool,
    /// Why it is kept (empty when it is removed).
    pub reasons: Vec<String>,
}

/// Checkpoints that must survive any prune because an open incident
/// refers to them: its `checkpoint`, and every checkpoint ID its timeline
/// names (the safety checkpoints a runbook took). A spec such as
/// `latest-valid` pins nothing by itself; the IDs it resolved to appear in
/// the timeline.
pub(crate) fn pinned(ws: &Workspace) -> Result<BTreeSet<CheckpointId>> {
    let mut ids = BTreeSet::new();
    for (_, incident) in crate::recover::incident::list(ws)? {
        if incident.status == "resolved" {
            continue;
        }
        let texts = incident
            .checkpoint
            .iter()
            .cloned()
            .chain(incident.timeline.iter().map(|s| s.text.clone()));
        for text in texts {
            for word in text.split(|c: char| c.is_whitespace() || "`(),;:".contains(c)) {
                if let Ok(id) = word.parse::<CheckpointId>() {
                    ids.insert(id);
                }
            }
        }
    }
    Ok(ids)
}

/// Decides, newest first, which of `checkpoints` to keep.
pub(crate) fn plan(
    checkpoints: &[Summary],
    policy: &Policy,
    pinned: &BTreeSet<CheckpointId>,
) -> Vec<Decision> {
    let mut sorted = checkpoints.to_vec();
    sort_newest_first(&mut sorted);
    let newest_valid = sorted.iter().position(|s| s.valid && s.kind != PRE_RESTORE);
    let newest_pre_restore = sorted.iter().position(|s| s.kind == PRE_RESTORE);
    let newest_time = sorted.first().map(Summary::order_time);
    let mut daily = Buckets::new(policy.keep_daily);
    let mut weekly = Buckets::new(policy.keep_weekly);
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, checkpoint)| {
            let mut reasons = Vec::new();
            if policy.keep_last.is_some_and(|n| i < n) {
                reasons.push(format!("last {}", policy.keep_last.unwrap_or_default()));
            }
            if let (Some(within), Some(newest)) = (policy.keep_within, newest_time) {
                let age = newest.duration_since(checkpoint.order_time());
                if age.as_secs() >= 0 && age.unsigned_abs() <= within {
                    reasons.push(format!(
                        "within {}",
                        crate::config::HumanDuration::from_secs(within.as_secs())
                    ));
                }
            }
            let date = checkpoint
                .order_time()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC);
            if daily.admit(date.date().to_string()) {
                reasons.push("daily".into());
            }
            let week = date.iso_week_date();
            if weekly.admit(format!("{}-W{:02}", week.year(), week.week())) {
                reasons.push("weekly".into());
            }
            if Some(i) == newest_valid {
                reasons.push("newest valid".into());
            }
            if Some(i) == newest_pre_restore {
                reasons.push("newest pre-restore (undo)".into());
            }
            if pinned.contains(&checkpoint.id) {
                reasons.push("open incident".into());
            }
            Decision {
                keep: !reasons.is_empty(),
                checkpoint,
                reasons,
            }
        })
        .collect()
}

/// Keeps the newest checkpoint of each of the last `limit` periods.
struct Buckets {
    limit: usize,
    last: Option<String>,
    kept: usize,
}

impl Buckets {
    fn new(limit: Option<usize>) -> Buckets {
        Buckets {
            limit: limit.unwrap_or(0),
            last: None,
            kept: 0,
        }
    }

    /// Called newest first: true for the first checkpoint of a new period
    /// while fewer than `limit` periods are kept.
    fn admit(&mut self, period: String) -> bool {
        if self.kept >= self.limit || self.last.as_ref() == Some(&period) {
            return false;
        }
        self.last = Some(period);
        self.kept += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(id: &str, valid: bool) -> Summary {
        let id: CheckpointId = id.parse().unwrap();
        Summary {
            kind: id.kind().to_string(),
            created_at: id.time(),
            id,
            operation: "op".into(),
            actor: "user:x".into(),
            files: 1,
            absent: 0,
            valid,
            observed_at: None,
        }
    }

    fn history() -> Vec<Summary> {
        vec![
            at("task-sync-20261123T120000Z-0001", false),
            at("task-sync-20261123T080000Z-0002", true),
            at("task-sync-20261122T230000Z-0003", true),
            at("task-sync-20261122T100000Z-0004", true),
            at("task-sync-20261118T100000Z-0005", true),
            at("task-sync-20261110T100000Z-0006", true),
            at("pre-restore-20261101T100000Z-0007", true),
        ]
    }

    /// One line per checkpoint: `keep|drop id reasons`.
    fn render(decisions: &[Decision]) -> Vec<String> {
        decisions
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}",
                    if d.keep { "keep" } else { "drop" },
                    d.checkpoint.id,
                    d.reasons.join(", ")
                )
                .trim_end()
                .to_string()
            })
            .collect()
    }

    fn policy(f: impl FnOnce(&mut Policy)) -> Policy {
        let mut p = Policy::default();
        f(&mut p);
        p
    }

    #[test]
    fn keep_last() {
        let d = plan(
            &history(),
            &policy(|p| p.keep_last = Some(1)),
            &BTreeSet::new(),
        );
        assert_eq!(
            render(&d),
            [
                "keep task-sync-20261123T120000Z-0001 last 1",
                "keep task-sync-20261123T080000Z-0002 newest valid",
                "drop task-sync-20261122T230000Z-0003",
                "drop task-sync-20261122T100000Z-0004",
                "drop task-sync-20261118T100000Z-0005",
                "drop task-sync-20261110T100000Z-0006",
                "keep pre-restore-20261101T100000Z-0007 newest pre-restore (undo)",
            ]
        );
    }

    #[test]
    fn keep_within_counts_from_the_newest() {
        let d = plan(
            &history(),
            &policy(|p| p.keep_within = Some(Duration::from_secs(86400))),
            &BTreeSet::new(),
        );
        assert_eq!(
            render(&d),
            [
                "keep task-sync-20261123T120000Z-0001 within 1d",
                "keep task-sync-20261123T080000Z-0002 within 1d, newest valid",
                "keep task-sync-20261122T230000Z-0003 within 1d",
                "drop task-sync-20261122T100000Z-0004",
                "drop task-sync-20261118T100000Z-0005",
                "drop task-sync-20261110T100000Z-0006",
                "keep pre-restore-20261101T100000Z-0007 newest pre-restore (undo)",
            ]
        );
    }

    #[test]
    fn keep_daily() {
        let d = plan(
            &history(),
            &policy(|p| p.keep_daily = Some(2)),
            &BTreeSet::new(),
        );
        assert_eq!(
            render(&d),
            [
                "keep task-sync-20261123T120000Z-0001 daily",
                "keep task-sync-20261123T080000Z-0002 newest valid",
                "keep task-sync-20261122T230000Z-0003 daily",
                "drop task-sync-20261122T100000Z-0004",
                "drop task-sync-20261118T100000Z-0005",
                "drop task-sync-20261110T100000Z-0006",
                "keep pre-restore-20261101T100000Z-0007 newest pre-restore (undo)",
            ]
        );
    }

    #[test]
    fn keep_weekly_uses_iso_weeks() {
        // 2026-11-23 is a Monday (week 48); the 22nd and 18th are week 47.
        let d = plan(
            &history(),
            &policy(|p| p.keep_weekly = Some(3)),
            &BTreeSet::new(),
        );
        assert_eq!(
            render(&d),
            [
                "keep task-sync-20261123T120000Z-0001 weekly",
                "keep task-sync-20261123T080000Z-0002 newest valid",
                "keep task-sync-20261122T230000Z-0003 weekly",
                "drop task-sync-20261122T100000Z-0004",
                "drop task-sync-20261118T100000Z-0005",
                "keep task-sync-20261110T100000Z-0006 weekly",
                "keep pre-restore-20261101T100000Z-0007 newest pre-restore (undo)",
            ]
        );
    }

    #[test]
    fn pinned_checkpoints_survive() {
        let pinned: BTreeSet<CheckpointId> =
            ["task-sync-20261118T100000Z-0005".parse().unwrap()].into();
        let d = plan(&history(), &policy(|p| p.keep_last = Some(1)), &pinned);
        assert!(
            render(&d).contains(&"keep task-sync-20261118T100000Z-0005 open incident".to_string())
        );
    }
}
