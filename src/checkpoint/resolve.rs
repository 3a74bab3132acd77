//! Turning what a person or a workflow types into a checkpoint ID: a full
//! ID, a unique prefix of one, `latest` or `latest-valid`. The last two
//! skip `pre-restore` safety checkpoints, so `restore latest` after a
//! restore does not pick the state the restore just replaced.

use super::PRE_RESTORE;
use super::id::CheckpointId;
use super::manifest::{Summary, sort_newest_first};
use super::store::Store;
use crate::error::{Error, Result};

/// Resolves `spec` against the checkpoints in `store`.
pub fn resolve(store: &dyn Store, spec: &str) -> Result<CheckpointId> {
    let listing = store.list()?;
    // A full ID whose summary is damaged still resolves, so that reading
    // it reports the damage rather than "no such checkpoint".
    if let Ok(id) = spec.trim().parse::<CheckpointId>() {
        let damaged = listing
            .damaged
            .iter()
            .any(|d| d.name.ends_with(id.as_str()) || d.name.ends_with(&format!("{id}.json")));
        if damaged {
            return Ok(id);
        }
    }
    let mut checkpoints = listing.checkpoints;
    sort_newest_first(&mut checkpoints);
    resolve_in(&checkpoints, spec)
}

/// Resolves `spec` against `checkpoints` (any order).
pub(crate) fn resolve_in(checkpoints: &[Summary], spec: &str) -> Result<CheckpointId> {
    let spec = spec.trim();
    match spec {
        "latest" => {
            return newest(checkpoints, |s| s.kind != PRE_RESTORE)
                .ok_or_else(|| none_found("no checkpoint yet (pre-restore ones do not count)"));
        }
        "latest-valid" => {
            return newest(checkpoints, |s| s.kind != PRE_RESTORE && s.valid).ok_or_else(|| {
                none_found(
                    "no checkpoint whose files all validated (pre-restore ones do not count)",
                )
            });
        }
        "" => return Err(Error::usage("an empty checkpoint ID", None)),
        _ => {}
    }
    if let Some(exact) = checkpoints.iter().find(|s| s.id.as_str() == spec) {
        return Ok(exact.id.clone());
    }
    let mut matches: Vec<&Summary> = checkpoints
        .iter()
        .filter(|s| s.id.as_str().starts_with(spec))
        .collect();
    matches.sort_by(|a, b| b.order_time().cmp(&a.order_time()).then(b.id.cmp(&a.id)));
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(Error::usage(
            format!("no checkpoint matches `{spec}`"),
            Some("`lifeline checkpoint list` shows them; `latest` and `latest-valid` work too (after `lifeline checkpoint fetch` for ones another run pushed)".to_string()),
        )),
        many => {
            let shown: Vec<&str> = many.iter().take(5).map(|s| s.id.as_str()).collect();
            let more = if many.len() > 5 { format!(" and {} more", many.len() - 5) } else { String::new() };
            Err(Error::usage(
                format!("`{spec}` matches {} checkpoints: {}{more}", many.len(), shown.join(", ")),
                Some("type more of the ID".to_string()),
            ))
        }
    }
}

/// The newest checkpoint `keep` accepts, by [`Summary::order_time`]: one
/// dated in the future counts from when lifeline first saw it.
pub(crate) fn newest(
    checkpoints: &[Summary],
    keep: impl Fn(&Summary) -> bool,
) -> Option<CheckpointId> {
    checkpoints
        .iter()
        .filter(|s| keep(s))
        .max_by(|a, b| a.order_time().cmp(&b.order_time()).then(a.id.cmp(&b.id)))
        .map(|s| s.id.clone())
}

fn none_found(message: &str) -> Error {
    Error::usage(
        message,
        Some("`lifeline checkpoint create --type manual --operation ...` takes one; `lifeline checkpoint fetch` brings pushed ones".to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, valid: bool, at: &str) -> Summary {
        let id: CheckpointId = id.parse().unwrap();
        Summary {
            kind: id.kind().to_string(),
            id,
            operation: "op".into(),
            created_at: at.parse().unwrap(),
            actor: "user:x".into(),
            files: 1,
            absent: 0,
            valid,
            observed_at: None,
        }
    }

    fn sample() -> Vec<Summary> {
        vec![
            summary(
                "task-sync-20261123T100000Z-aaaa",
                true,
                "2026-11-23T10:00:00Z",
            ),
            summary(
                "task-sync-20261123T110000Z-bbbb",
                false,
                "2026-11-23T11:00:00Z",
            ),
            summary("manual-20261123T090000Z-cccc", true, "2026-11-23T09:00:00Z"),
            summary(
                "pre-restore-20261123T120000Z-dddd",
                true,
                "2026-11-23T12:00:00Z",
            ),
        ]
    }

    #[test]
    fn latest_skips_pre_restore_and_latest_valid_skips_invalid() {
        let s = sample();
        assert_eq!(
            resolve_in(&s, "latest").unwrap().as_str(),
            "task-sync-20261123T110000Z-bbbb"
        );
        assert_eq!(
            resolve_in(&s, "latest-valid").unwrap().as_str(),
            "task-sync-20261123T100000Z-aaaa"
        );
    }

    #[test]
    fn a_checkpoint_dated_in_the_future_counts_from_when_it_was_seen() {
        let mut s = sample();
        let mut future = summary(
            "task-sync-20991231T000000Z-ffff",
            true,
            "2099-12-31T00:00:00Z",
        );
        future.observed_at = Some("2026-11-23T09:30:00Z".parse().unwrap());
        s.push(future);
        assert_eq!(
            resolve_in(&s, "latest-valid").unwrap().as_str(),
            "task-sync-20261123T100000Z-aaaa"
        );
    }

    #[test]
    fn unique_prefixes_resolve_and_ambiguous_ones_list_candidates() {
        let s = sample();
        assert_eq!(
            resolve_in(&s, "manual").unwrap().as_str(),
            "manual-20261123T090000Z-cccc"
        );
        assert_eq!(
            resolve_in(&s, "pre-restore-2026").unwrap().as_str(),
            "pre-restore-20261123T120000Z-dddd"
        );
        let err = resolve_in(&s, "task-sync").unwrap_err().to_string();
        assert_eq!(
            err,
            "`task-sync` matches 2 checkpoints: task-sync-20261123T110000Z-bbbb, task-sync-20261123T100000Z-aaaa"
        );
        let err = resolve_in(&s, "nope").unwrap_err().to_string();
        assert_eq!(err, "no checkpoint matches `nope`");
        assert!(resolve_in(&[], "latest").is_err());
        assert!(
            resolve_in(&s[3..], "latest").is_err(),
            "only a pre-restore one"
        );
    }
}
