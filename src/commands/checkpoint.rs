//! `lifeline checkpoint ...`: the operations behind each subcommand, with
//! typed options and results. Every create, push, fetch and prune writes an
//! audit entry, success or failure.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::audit::{self, Event};
use crate::checkpoint::prune::{self, Decision, Policy};
use crate::checkpoint::store::{Listing, SyncReport};
use crate::checkpoint::{self, CaptureOptions, CheckpointId, Manifest, VerifyReport};
use crate::ci::Env;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// `checkpoint create`.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub kind: String,
    pub operation: String,
    /// Push the new checkpoint to this remote at once.
    pub push: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub id: CheckpointId,
    /// `git` or `directory`.
    pub store: &'static str,
    /// Where it is stored (`refs/lifeline/checkpoints/<id>`).
    pub location: String,
    pub manifest: Manifest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed: Option<SyncReport>,
}

/// Takes a checkpoint (and pushes it when asked). Refuses before making
/// it when its audit entry could not be written, as `restore` does; if the
/// entry still fails afterwards, the error names the checkpoint stored.
pub fn create(ws: &Workspace, env: &dyn Env, options: &CreateOptions) -> Result<Created> {
    audit::preflight(ws)?;
    let capture = CaptureOptions {
        kind: options.kind.clone(),
        operation: options.operation.clone(),
    };
    let result = checkpoint::open(ws).and_then(|store| {
        let manifest = checkpoint::capture(ws, env, store.as_ref(), &capture)?;
        Ok((store, manifest))
    });
    let (store, manifest) = match result {
        Ok(ok) => ok,
        Err(e) => {
            let event = Event::new("checkpoint", "create")
                .detail("type", options.kind.as_str())
                .detail(
                    "operation",
                    crate::redact::redact(&options.operation).as_ref(),
                )
                .failure(e.to_string());
            audit::record(ws, env, &event)?;
            return Err(e);
        }
    };
    let invalid: Vec<&str> = manifest
        .files
        .iter()
        .filter(|f| !f.valid)
        .map(|f| f.path.as_str())
        .collect();
    let event = Event::new("checkpoint", "create")
        .detail("id", manifest.id.as_str())
        .detail("type", manifest.kind.as_str())
        .detail("operation", manifest.operation.as_str())
        .detail("store", store.name())
        .detail("files", manifest.files.len())
        .detail(
            "absent",
            manifest
                .absent
                .iter()
                .map(|a| a.path.clone())
                .collect::<Vec<_>>(),
        )
        .detail("valid", manifest.valid)
        .detail("invalid_files", invalid)
        .detail(
            "not_captured",
            manifest
                .skipped
                .iter()
                .map(|s| s.path.clone())
                .collect::<Vec<_>>(),
        );
    audit::record(ws, env, &event).map_err(|e| {
        let location = store.location(&manifest.id);
        Error::environment(
            format!(
                "checkpoint {} was stored ({location}), but its audit entry could not be written ({e})",
                manifest.id
            ),
            Some(format!(
                "fix the cause, then record it with `lifeline audit log`; the checkpoint is usable as it is (`lifeline checkpoint verify {}`)",
                manifest.id
            )),
        )
    })?;
    let pushed = match &options.push {
        Some(remote) => Some(push_ids(
            ws,
            env,
            store.as_ref(),
            remote,
            Some(std::slice::from_ref(&manifest.id)),
        )?),
        None => None,
    };
    Ok(Created {
        id: manifest.id.clone(),
        store: store.name(),
        location: store.location(&manifest.id),
        manifest,
        pushed,
    })
}

/// `checkpoint list`: every checkpoint, newest first, and the damaged ones.
pub fn list(ws: &Workspace) -> Result<Listing> {
    let store = checkpoint::open(ws)?;
    let mut listing = store.list()?;
    checkpoint::manifest::sort_newest_first(&mut listing.checkpoints);
    Ok(listing)
}

/// `checkpoint show ID`: the manifest of the checkpoint `spec` names.
pub fn show(ws: &Workspace, spec: &str) -> Result<Manifest> {
    let store = checkpoint::open(ws)?;
    let id = checkpoint::resolve(store.as_ref(), spec)?;
    store.manifest(&id)
}

/// Which checkpoints `verify` reads back.
#[derive(Debug, Clone)]
pub enum VerifyTarget {
    One(String),
    All,
}

/// `checkpoint verify`: one report per checkpoint (a damaged entry the
/// store could not even list is a report too).
pub fn verify(ws: &Workspace, target: &VerifyTarget) -> Result<Vec<VerifyReport>> {
    let store = checkpoint::open(ws)?;
    match target {
        VerifyTarget::One(spec) => {
            let id = checkpoint::resolve(store.as_ref(), spec)?;
            let mut report = checkpoint::verify(store.as_ref(), &id)?;
            // Files that rehash fine do not make a ref whose tree, message
            // or seal disagree with its manifest whole.
            let location = store.location(&id);
            if report.ok()
                && let Some(d) = store
                    .list()?
                    .damaged
                    .into_iter()
                    .find(|d| d.name == location)
            {
                report.problems.push(checkpoint::Problem {
                    path: "(summary)".into(),
                    message: d.reason,
                });
            }
            Ok(vec![report])
        }
        VerifyTarget::All => {
            let mut listing = store.list()?;
            checkpoint::manifest::sort_newest_first(&mut listing.checkpoints);
            let mut reports = Vec::with_capacity(listing.checkpoints.len());
            for damaged in listing.damaged {
                reports.push(VerifyReport {
                    checkpoint: damaged.name,
                    files: 0,
                    problems: vec![checkpoint::Problem {
                        path: "(summary)".into(),
                        message: damaged.reason,
                    }],
                });
            }
            for summary in &listing.checkpoints {
                reports.push(checkpoint::verify(store.as_ref(), &summary.id)?);
            }
            Ok(reports)
        }
    }
}

/// `checkpoint prune`.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    pub policy: Policy,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    pub dry_run: bool,
    pub decisions: Vec<Decision>,
    pub removed: Vec<CheckpointId>,
}

/// Applies the retention policy. Never removes the newest valid
/// checkpoint, the newest pre-restore one, or one an open incident refers
/// to.
pub fn prune(ws: &Workspace, env: &dyn Env, options: &PruneOptions) -> Result<Pruned> {
    if options.policy.is_empty() {
        return Err(Error::usage(
            "prune needs a policy: --keep-last, --keep-within, --keep-daily or --keep-weekly",
            Some(
                "e.g. `lifeline checkpoint prune --keep-last 20 --keep-daily 7 --dry-run`"
                    .to_string(),
            ),
        ));
    }
    // Refuse before removing anything when the entry could not be written.
    audit::preflight(ws)?;
    let result = prune_inner(ws, options);
    let event = match &result {
        Ok(p) => Event::new("checkpoint", "prune")
            .detail("dry_run", p.dry_run)
            .detail("kept", p.decisions.iter().filter(|d| d.keep).count())
            .detail(
                "removed",
                p.removed
                    .iter()
                    .map(|id| id.to_string())
                    .collect::<Vec<_>>(),
            )
            .detail(
                "would_remove",
                p.decisions
                    .iter()
                    .filter(|d| !d.keep && p.dry_run)
                    .map(|d| d.checkpoint.id.to_string())
                    .collect::<Vec<_>>(),
            ),
        Err(e) => Event::new("checkpoint", "prune")
            .detail("dry_run", options.dry_run)
            .failure(e.to_string()),
    };
    audit::record(ws, env, &event)?;
    result
}

fn prune_inner(ws: &Workspace, options: &PruneOptions) -> Result<Pruned> {
    let store = checkpoint::open(ws)?;
    let listing = store.list()?;
    let pinned: BTreeSet<CheckpointId> = prune::pinned(ws)?;
    let decisions = prune::plan(&listing.checkpoints, &options.policy, &pinned);
    let doomed: Vec<CheckpointId> = decisions
        .iter()
        .filter(|d| !d.keep)
        .map(|d| d.checkpoint.id.clone())
        .collect();
    let removed = if options.dry_run {
        Vec::new()
    } else {
        store.remove(&doomed)?;
        if let (Some(git), "git") = (&ws.git, store.name()) {
            checkpoint::GitStore::new(
                git.clone(),
                &ws.root,
                crate::config::protected::Records::new(&ws.config),
            )?
            .remove_stale_temporaries()?;
        }
        doomed
    };
    Ok(Pruned {
        dry_run: options.dry_run,
        decisions,
        removed,
    })
}

/// `checkpoint push`: every checkpoint to `remote`.
pub fn push(ws: &Workspace, env: &dyn Env, remote: &str) -> Result<SyncReport> {
    let store = checkpoint::open(ws)?;
    // Refuse before pushing when the entry could not be written (`create
    // --push` has just written one, so it does not ask again).
    audit::preflight(ws)?;
    push_ids(ws, env, store.as_ref(), remote, None)
}

fn push_ids(
    ws: &Workspace,
    env: &dyn Env,
    store: &dyn checkpoint::Store,
    remote: &str,
    ids: Option<&[CheckpointId]>,
) -> Result<SyncReport> {
    let result = store.push(remote, ids);
    let event = match &result {
        Ok(r) => Event::new("checkpoint", "push")
            .detail("remote", remote)
            .detail("pushed", r.transferred.clone())
            .detail("up_to_date", r.up_to_date),
        Err(e) => Event::new("checkpoint", "push")
            .detail("remote", remote)
            .failure(e.to_string()),
    };
    audit::record(ws, env, &event)?;
    result
}

/// `checkpoint fetch`: `remote`'s checkpoints into this repository.
pub fn fetch(ws: &Workspace, env: &dyn Env, remote: &str) -> Result<SyncReport> {
    let store = checkpoint::open(ws)?;
    audit::preflight(ws)?;
    let result = store.fetch(remote);
    let event = match &result {
        Ok(r) => Event::new("checkpoint", "fetch")
            .detail("remote", remote)
            .detail("fetched", r.transferred.clone())
            .detail("up_to_date", r.up_to_date),
        Err(e) => Event::new("checkpoint", "fetch")
            .detail("remote", remote)
            .failure(e.to_string()),
    };
    audit::record(ws, env, &event)?;
    result
}
