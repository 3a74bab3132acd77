//! The restore engine: the steps of the restore transaction, each
//! returning a typed result, and the mechanisms the guarded step shares.
//!
//! [`resolve`] finds the checkpoint a [`Target`] names; [`verify`] reads it
//! back (every file rehashed, damage and untrusted signatures refused);
//! [`plan()`] says what each path becomes (the planner, [`mod@plan`]);
//! [`safety_checkpoint`] takes the `pre-restore` checkpoint of the current
//! state; [`write`] applies the plan atomically ([`apply`]);
//! [`invalid_files`] validates what was written and [`put_back`] brings
//! the safety checkpoint's files back; [`commit`] commits exactly the
//! restored paths. [`crate::commands::restore`] runs them in order, holds
//! the locks ([`lock`], [`step_lock`]) and records the audit entries;
//! nothing here records or prints. [`stop`] stops a guarded step on a
//! signal ([`crate::commands::run`]; what went wrong in one is
//! [`crate::run::classify`]'s).

pub(crate) mod apply;
pub(crate) mod plan;
pub(crate) mod step_lock;
pub(crate) mod stop;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::checkpoint::{
    self, CaptureOptions, CheckpointId, FileEntry, Manifest, PRE_RESTORE, Store,
};
use crate::ci::Env;
use crate::error::{Error, IoContext, Result};
use crate::workspace::Workspace;
pub(crate) use plan::{Action, Plan};

/// Which checkpoint to restore.
#[derive(Debug, Clone)]
pub enum Target {
    /// An ID, a unique prefix, `latest` or `latest-valid`.
    Spec(String),
    /// The newest `pre-restore` safety checkpoint (`lifeline undo`).
    LastSafety,
}

/// What to restore and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    /// Only these repo-relative paths (or directories); empty: everything.
    pub only: Vec<String>,
    /// Plan and stop.
    pub dry_run: bool,
    /// Validate the restored files and undo the restore when invalid.
    pub validate: bool,
    /// Commit exactly the restored paths.
    pub commit: bool,
    /// The audit operation: `restore`, `undo` or `rollback`.
    pub operation: &'static str,
    /// With a signing key configured, restore a checkpoint from the remote
    /// that is unsigned or signed by another key anyway.
    pub allow_unsigned: bool,
    /// Take the guarded-step lock ([`step_lock`]) before planning, waiting
    /// up to this long for a running step; `None` when the caller already
    /// holds it (run's rollback, recover's restore). A dry run never
    /// takes it.
    pub wait: Option<std::time::Duration>,
}

impl Options {
    pub fn new(target: Target) -> Options {
        Options {
            target,
            only: Vec::new(),
            dry_run: false,
            validate: true,
            commit: false,
            operation: "restore",
            allow_unsigned: false,
            wait: Some(step_lock::DEFAULT_WAIT),
        }
    }
}

/// How a restore ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Files written and (unless told not to) validated.
    Restored,
    /// `--dry-run`: the plan only.
    DryRun,
    /// Every file already matches the checkpoint.
    Unchanged,
    /// The confirmation was declined; nothing changed.
    Cancelled,
    /// The restored files were invalid; the safety checkpoint is back.
    Undone,
    /// The checkpoint is damaged or names unsafe paths; nothing changed.
    Refused,
}

/// A restored file that failed validation.
#[derive(Debug, Clone, Serialize)]
pub struct InvalidFile {
    pub path: String,
    pub errors: usize,
    /// The first few findings, `CODE line:col message`.
    pub findings: Vec<String>,
}

/// The outcome of [`restore`].
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub status: Status,
    /// The checkpoint restored (or refused).
    pub checkpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The `pre-restore` checkpoint taken before writing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_checkpoint: Option<String>,
    /// Restored files that failed validation (status `undone`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid: Vec<InvalidFile>,
    /// Why the checkpoint was refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The commit `--commit` made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl Report {
    pub(crate) fn new(status: Status, checkpoint: &str) -> Report {
        Report {
            status,
            checkpoint: checkpoint.to_string(),
            plan: None,
            safety_checkpoint: None,
            invalid: Vec::new(),
            problems: Vec::new(),
            commit: None,
        }
    }

    /// 0 done (or nothing to do), 1 refused, undone or declined.
    pub fn exit_code(&self) -> i32 {
        match self.status {
            Status::Restored | Status::DryRun | Status::Unchanged => 0,
            Status::Cancelled | Status::Undone | Status::Refused => 1,
        }
    }
}

/// The checkpoint a [`Target`] names, and its manifest when a full ID
/// named it (read directly, without listing every checkpoint first).
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) id: CheckpointId,
    manifest: Option<Manifest>,
}

/// Finds the checkpoint `target` names.
pub(crate) fn resolve(store: &dyn Store, target: &Target) -> Result<Resolved> {
    let direct = match target {
        Target::Spec(spec) => spec
            .trim()
            .parse::<CheckpointId>()
            .ok()
            .and_then(|id| store.manifest(&id).ok()),
        Target::LastSafety => None,
    };
    let id = match (&direct, target) {
        (Some(m), _) => m.id.clone(),
        (None, Target::Spec(spec)) => checkpoint::resolve(store, spec)?,
        (None, Target::LastSafety) => last_safety(store)?,
    };
    Ok(Resolved {
        id,
        manifest: direct,
    })
}

/// A checkpoint read back whole: its manifest, every file's bytes checked
/// against its SHA-256, and which of the paths involved have uncommitted
/// changes.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) manifest: Manifest,
    pub(crate) files: VerifiedFiles,
    pub(crate) dirty: HashSet<String>,
}

/// What reading a checkpoint back found.
#[derive(Debug)]
pub(crate) enum Checked {
    Verified(Box<Verified>),
    /// Damaged, unreadable or untrusted: every reason, nothing changed.
    Refused(Vec<String>),
}

/// Reads back and verifies the checkpoint `resolved` names: a ref whose
/// tree, manifest, message or seal disagree is damaged even when its files
/// would verify, and with a signing key configured a checkpoint from the
/// remote must carry this repository's signature (unless
/// `allow_unsigned`).
pub(crate) fn verify(
    ws: &Workspace,
    env: &dyn Env,
    store: &dyn Store,
    resolved: Resolved,
    allow_unsigned: bool,
) -> Result<Checked> {
    let id = &resolved.id;
    let location = store.location(id);
    if let Some(d) = store.list()?.damaged.iter().find(|d| d.name == location) {
        return Ok(Checked::Refused(vec![format!(
            "{} is damaged: {}",
            d.name, d.reason
        )]));
    }
    let manifest = match resolved.manifest {
        Some(m) => m,
        None => match store.manifest(id) {
            Ok(m) => m,
            Err(e) => return Ok(Checked::Refused(vec![e.to_string()])),
        },
    };
    if let Some(why) = untrusted(env, store, id, allow_unsigned)? {
        return Ok(Checked::Refused(vec![why]));
    }
    // Which files have uncommitted changes (one git process) is asked while
    // the checkpoint's files are read and verified.
    let (files, dirty) = std::thread::scope(|scope| {
        let dirty = scope.spawn(|| {
            let specs: Vec<&str> = ws
                .config
                .protect
                .iter()
                .map(|p| p.path.as_str())
                .chain(manifest.files.iter().map(|f| f.path.as_str()))
                .collect();
            plan::uncommitted(ws, &specs)
        });
        let files = verified_files(store, &manifest);
        (
            files,
            dirty.join().expect("the git status thread does not panic"),
        )
    });
    let files = match files {
        Ok(files) => files,
        Err(problems) => return Ok(Checked::Refused(problems)),
    };
    Ok(Checked::Verified(Box::new(Verified {
        manifest,
        files,
        dirty: dirty?,
    })))
}

/// What planning a verified checkpoint found.
#[derive(Debug)]
pub(crate) enum Planned {
    Ready(Plan),
    /// The manifest names a path lifeline must not write.
    Refused(String),
}

/// Plans restoring `manifest`'s verified `files` (only the `only` paths
/// when not empty) over the working tree; `dirty` names the paths with
/// uncommitted changes. An `only` entry that matches nothing is a usage
/// error.
pub(crate) fn plan(
    ws: &Workspace,
    manifest: &Manifest,
    files: VerifiedFiles,
    dirty: &HashSet<String>,
    only: &[String],
) -> Result<Planned> {
    let filter = (!only.is_empty()).then_some(only);
    let mut unmatched = Vec::new();
    let plan = match plan::build(ws, manifest, files, filter, dirty, &mut unmatched) {
        Ok(plan) => plan,
        Err(plan::PlanError::Unsafe(why)) => return Ok(Planned::Refused(why)),
        Err(plan::PlanError::Other(e)) => return Err(e),
    };
    if !unmatched.is_empty() {
        let id = &manifest.id;
        return Err(Error::usage(
            format!(
                "--only {}: checkpoint {id} has no such file, and no protected file matches",
                unmatched.join(", ")
            ),
            Some(format!("`lifeline checkpoint show {id}` lists its files")),
        ));
    }
    Ok(Planned::Ready(plan))
}

/// Takes the `pre-restore` safety checkpoint of the current state before
/// a restore of `id` writes anything; `operation` is `restore`, `undo` or
/// `rollback`.
pub(crate) fn safety_checkpoint(
    ws: &Workspace,
    env: &dyn Env,
    store: &dyn Store,
    operation: &str,
    id: &CheckpointId,
) -> Result<Manifest> {
    let capture = CaptureOptions {
        kind: PRE_RESTORE.into(),
        operation: format!("{operation} {id}"),
    };
    checkpoint::capture(ws, env, store, &capture)
}

/// Writes `plan` atomically ([`apply`]) within the protected set.
pub(crate) fn write(ws: &Workspace, plan: &Plan) -> Result<()> {
    let set = crate::config::protected::ProtectedSet::new(&ws.config)?;
    apply::apply(&ws.root, plan, &set)
}

/// The files `plan` wrote from `manifest`, each with the SHA-256 its bytes
/// were checked against before they were written (so the audit entry need
/// not read every file back).
pub(crate) fn written(manifest: &Manifest, plan: &Plan) -> Vec<(String, String)> {
    let digests: HashMap<&str, &str> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    plan.touched()
        .filter(|c| matches!(c.action, Action::Restore | Action::Create))
        .filter_map(|c| {
            digests
                .get(c.path.as_str())
                .map(|sha256| (c.path.clone(), sha256.to_string()))
        })
        .collect()
}

/// With a signing key configured, why checkpoint `id` is not to be
/// trusted: it came from the remote and is unsigned or signed by another
/// key. `None` when it is trusted, when no key is configured, or with
/// `--allow-unsigned`.
fn untrusted(
    env: &dyn Env,
    store: &dyn Store,
    id: &CheckpointId,
    allow_unsigned: bool,
) -> Result<Option<String>> {
    if allow_unsigned {
        return Ok(None);
    }
    let Some(key) = checkpoint::signing::key_from_env(env)? else {
        return Ok(None);
    };
    let ours = checkpoint::signing::public_hex(&key);
    let provenance = store.provenance(id)?;
    let why = match (&provenance.signer, provenance.origin) {
        (Some(signer), _) if *signer == ours => return Ok(None),
        (None, checkpoint::index::Origin::Local) => return Ok(None),
        (Some(signer), _) => format!(
            "checkpoint {id} is signed by another key ({}...), not this repository's",
            &signer[..16.min(signer.len())]
        ),
        (None, _) => format!(
            "checkpoint {id} came from the remote and is not signed, but a signing key is configured"
        ),
    };
    Ok(Some(format!(
        "{why}; pass --allow-unsigned to restore it anyway"
    )))
}

/// The newest safety checkpoint.
fn last_safety(store: &dyn Store) -> Result<CheckpointId> {
    let listing = store.list()?;
    checkpoint::resolve::newest(&listing.checkpoints, |s| s.kind == PRE_RESTORE).ok_or_else(|| {
        Error::usage(
            "nothing to undo: there is no pre-restore checkpoint",
            Some(
                "a restore takes one before it writes; `lifeline checkpoint list` shows them"
                    .to_string(),
            ),
        )
    })
}

/// One restore at a time per repository: an exclusive lock next to the
/// store's cache, released when the process ends (even by a crash).
pub(crate) fn lock(root: &std::path::Path, store: &dyn Store) -> Result<std::fs::File> {
    let path = store.cache_path().with_file_name("restore.lock");
    let file = crate::fs::atomic::open_private_append(root, &path)?;
    file.lock().at(&path)?;
    Ok(file)
}

/// A checkpoint's files with their bytes, each checked against its SHA-256.
pub(crate) type VerifiedFiles = Vec<(FileEntry, Vec<u8>)>;

/// Every file of the checkpoint, verified; or every problem found.
fn verified_files(
    store: &dyn Store,
    manifest: &Manifest,
) -> std::result::Result<VerifiedFiles, Vec<String>> {
    let mut files = Vec::with_capacity(manifest.files.len());
    let mut problems = Vec::new();
    let visited = store.visit_files(manifest, &mut |entry, bytes| match bytes
        .and_then(|b| checkpoint::verify::check_bytes(entry, &b).map(|()| b))
    {
        Ok(b) => files.push((entry.clone(), b)),
        Err(why) => problems.push(format!("`{}` is damaged: {why}", entry.path)),
    });
    if let Err(e) = visited {
        problems.push(e.to_string());
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

/// Validates the files the restore wrote or removed (those with a
/// validator); returns the invalid ones.
pub(crate) fn invalid_files(ws: &Workspace, plan: &Plan) -> Result<Vec<InvalidFile>> {
    let targets: Vec<crate::validate::Target> = plan
        .touched()
        .filter(|c| c.validator != crate::config::Validator::None)
        .map(|c| {
            crate::validate::Target::in_root(
                &ws.root,
                c.path.clone(),
                c.validator,
                ws.config.limits.max_file_size,
            )
        })
        .collect();
    let report = crate::validate::validate_targets(&targets)?;
    Ok(report
        .files
        .iter()
        .filter(|f| !f.valid)
        .map(|f| InvalidFile {
            path: f.path.clone(),
            errors: f.errors,
            findings: f
                .diagnostics
                .iter()
                .filter(|d| d.level == crate::validate::diagnostic::Level::Error)
                .take(3)
                .map(|d| match d.span {
                    Some(s) => format!("{} {}:{}: {}", d.code, s.line, s.column, d.message),
                    None => format!("{} {}", d.code, d.message),
                })
                .collect(),
        })
        .collect())
}

/// Writes the safety checkpoint's version of every path `plan` touched.
pub(crate) fn put_back(
    ws: &Workspace,
    store: &dyn Store,
    safety: &Manifest,
    plan: &Plan,
) -> Result<()> {
    let touched: Vec<String> = plan.touched().map(|c| c.path.clone()).collect();
    let files = checkpoint::read_files(store, safety)?;
    let mut unmatched = Vec::new();
    let none = std::collections::HashSet::new();
    let back = match plan::build(ws, safety, files, Some(&touched), &none, &mut unmatched) {
        Ok(p) => p,
        Err(plan::PlanError::Unsafe(why)) => return Err(Error::environment(why, None)),
        Err(plan::PlanError::Other(e)) => return Err(e),
    };
    write(ws, &back)
}

/// `--commit`: stages and commits exactly the paths the restore touched;
/// returns the commit, or `None` when they already match HEAD.
pub(crate) fn commit(ws: &Workspace, manifest: &Manifest, plan: &Plan) -> Result<Option<String>> {
    let git = ws.git.as_ref().ok_or_else(|| {
        Error::usage(
            "--commit needs a git repository",
            Some("restore without --commit outside git".to_string()),
        )
    })?;
    let touched: Vec<&str> = plan.touched().map(|c| c.path.as_str()).collect();
    // A deleted file git never tracked has nothing to commit (and would
    // make the pathspec fail).
    let mut args = vec!["ls-files", "-z", "--"];
    args.extend(&touched);
    let tracked_out = git.run_bytes(&args, None)?;
    let tracked: std::collections::HashSet<&[u8]> = tracked_out
        .split(|b| *b == 0)
        .filter(|r| !r.is_empty())
        .collect();
    let paths: Vec<&str> = plan
        .touched()
        .filter(|c| c.action != Action::Delete || tracked.contains(c.path.as_bytes()))
        .map(|c| c.path.as_str())
        .collect();
    if paths.is_empty() {
        return Ok(None);
    }
    let mut add = vec!["add", "-A", "--"];
    add.extend(&paths);
    git.run(&add)?;
    let mut staged = vec!["diff", "--cached", "--name-only", "-z", "--"];
    staged.extend(&paths);
    if git.run_bytes(&staged, None)?.is_empty() {
        return Ok(None);
    }
    let message = format!(
        "lifeline: restore checkpoint {}\n\nRestored {} file{} from checkpoint {} ({}, taken {}).\n",
        manifest.id,
        paths.len(),
        if paths.len() == 1 { "" } else { "s" },
        manifest.id,
        manifest.kind,
        manifest.created_at
    );
    let mut args = vec!["commit", "--quiet", "--only", "-m", message.as_str(), "--"];
    args.extend(&paths);
    git.run(&args)?;
    Ok(git.resolve_commit("HEAD"))
}
