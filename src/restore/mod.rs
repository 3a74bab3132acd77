//! Restore as a transaction, and the guarded run built on it.
//!
//! [`restore`] verifies the checkpoint (every file rehashed), plans each
//! path ([`plan`]), asks the caller to confirm, takes a `pre-restore`
//! safety checkpoint of the current state, applies the plan atomically
//! ([`apply`]), validates what it wrote — and when that is invalid, puts
//! the safety checkpoint back and says so. Every attempt that changes or
//! tries to change files is audited. `undo` is a restore of the newest
//! safety checkpoint; [`guard`] wraps a command in checkpoint → run →
//! validate → roll back, and [`classify`] names what went wrong.

pub mod apply;
pub mod classify;
pub mod guard;
pub mod plan;
pub mod step_lock;
pub mod stop;

use serde::Serialize;

use crate::audit::{self, Event};
use crate::checkpoint::{
    self, CaptureOptions, CheckpointId, FileEntry, Manifest, PRE_RESTORE, Store,
};
use crate::ci::Env;
use crate::error::{Error, IoContext, Result};
use crate::workspace::Workspace;
pub use plan::{Action, Change, Plan};

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
    fn new(status: Status, checkpoint: &str) -> Report {
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

/// Asked once with the plan before anything is written; `Ok(false)`
/// cancels, an error (no terminal and no `--yes`) stops the restore.
pub type Confirm<'a> = dyn FnMut(&Plan) -> Result<bool> + 'a;

/// Runs the restore transaction; see the module docs.
pub fn restore(
    ws: &Workspace,
    env: &dyn Env,
    options: &Options,
    confirm: &mut Confirm<'_>,
) -> Result<Report> {
    let store = checkpoint::open(ws)?;
    let store = store.as_ref();
    // A full ID is read directly, without listing every checkpoint first.
    let direct = match &options.target {
        Target::Spec(spec) => spec
            .trim()
            .parse::<CheckpointId>()
            .ok()
            .and_then(|id| store.manifest(&id).ok()),
        Target::LastSafety => None,
    };
    let id = match (&direct, &options.target) {
        (Some(m), _) => m.id.clone(),
        (None, Target::Spec(spec)) => checkpoint::resolve(store, spec)?,
        (None, Target::LastSafety) => last_safety(store)?,
    };
    // One guarded step at a time: this restore waits for a running step
    // (whose rollback would erase it, or which it would overwrite), and a
    // step waits for it. Taken before the restore lock, like `run` does.
    let _step = match options.wait {
        Some(wait) if !options.dry_run => Some(step_lock::hold(ws, wait, options.operation)?),
        _ => None,
    };
    let _lock = lock(&ws.root, store)?;
    // A ref whose tree, manifest, message or seal disagree is damaged even
    // when its files would verify: refused whole.
    let location = store.location(&id);
    if let Some(d) = store.list()?.damaged.iter().find(|d| d.name == location) {
        let why = format!("{} is damaged: {}", d.name, d.reason);
        return refused(ws, env, options, &id, vec![why]);
    }
    let manifest = match direct {
        Some(m) => m,
        None => match store.manifest(&id) {
            Ok(m) => m,
            Err(e) => return refused(ws, env, options, &id, vec![e.to_string()]),
        },
    };
    if let Some(why) = untrusted(env, store, &id, options)? {
        return refused(ws, env, options, &id, vec![why]);
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
        Err(problems) => return refused(ws, env, options, &id, problems),
    };
    let dirty = dirty?;
    let only = (!options.only.is_empty()).then_some(options.only.as_slice());
    let mut unmatched = Vec::new();
    let plan = match plan::build(ws, &manifest, files, only, &dirty, &mut unmatched) {
        Ok(plan) => plan,
        Err(plan::PlanError::Unsafe(why)) => return refused(ws, env, options, &id, vec![why]),
        Err(plan::PlanError::Other(e)) => return Err(e),
    };
    if !unmatched.is_empty() {
        return Err(Error::usage(
            format!(
                "--only {}: checkpoint {id} has no such file, and no protected file matches",
                unmatched.join(", ")
            ),
            Some(format!("`lifeline checkpoint show {id}` lists its files")),
        ));
    }
    let mut report = Report::new(Status::DryRun, id.as_str());
    if options.dry_run {
        report.plan = Some(plan);
        return Ok(report);
    }
    if plan.touched().next().is_none() {
        report.status = Status::Unchanged;
        report.plan = Some(plan);
        return Ok(report);
    }
    if !confirm(&plan)? {
        report.status = Status::Cancelled;
        report.plan = Some(plan);
        return Ok(report);
    }
    // Refuse before touching anything when the audit entry could not be
    // written afterwards.
    audit::preflight(ws)?;
    let capture = CaptureOptions {
        kind: PRE_RESTORE.into(),
        operation: format!("{} {id}", options.operation),
    };
    let safety = match checkpoint::capture(ws, env, store, &capture) {
        Ok(m) => m,
        Err(e) => {
            let why = format!("the safety checkpoint failed: {e}");
            audit::record(ws, env, &event(options, &id, &plan).failure(why))?;
            return Err(e);
        }
    };
    report.safety_checkpoint = Some(safety.id.to_string());
    let set = crate::config::protected::ProtectedSet::new(&ws.config)?;
    if let Err(e) = apply::apply(&ws.root, &plan, &set) {
        let back = put_back(ws, store, &safety, &plan);
        let event = event(options, &id, &plan)
            .detail("safety_checkpoint", safety.id.as_str())
            .failure(format!("writing the files failed: {e}"))
            .recovery_action(match &back {
                Ok(()) => format!("restored the safety checkpoint {}", safety.id),
                Err(b) => format!(
                    "putting the safety checkpoint {} back failed too ({b}); run `lifeline undo`",
                    safety.id
                ),
            });
        audit::record(ws, env, &event)?;
        return Err(e);
    }
    if options.validate {
        report.invalid = invalid_files(ws, &plan)?;
    }
    if !report.invalid.is_empty() {
        let back = put_back(ws, store, &safety, &plan);
        let names: Vec<&str> = report.invalid.iter().map(|f| f.path.as_str()).collect();
        let event = event(options, &id, &plan)
            .detail("safety_checkpoint", safety.id.as_str())
            .detail("invalid_files", names.clone())
            .failure(format!("restored files are invalid: {}", names.join(", ")))
            .recovery_action(format!("restored the safety checkpoint {}", safety.id));
        audit::record(ws, env, &event)?;
        back?;
        report.status = Status::Undone;
        report.plan = Some(plan);
        return Ok(report);
    }
    if options.commit {
        match commit(ws, &manifest, &plan) {
            Ok(sha) => report.commit = sha,
            Err(e) => {
                let event = event(options, &id, &plan)
                    .detail("safety_checkpoint", safety.id.as_str())
                    .failure(format!("restored, but the commit failed: {e}"));
                audit::record(ws, env, &event)?;
                return Err(e);
            }
        }
    }
    let mut event = event(options, &id, &plan)
        .detail("safety_checkpoint", safety.id.as_str())
        .detail("validated", options.validate);
    if let Some(sha) = &report.commit {
        event = event.detail("commit", sha.as_str());
    }
    // The written bytes were checked against the manifest's SHA-256 before
    // they were written; the entry records those digests rather than
    // reading every file back.
    let digests: std::collections::HashMap<&str, &str> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    for change in plan
        .touched()
        .filter(|c| matches!(c.action, Action::Restore | Action::Create))
    {
        if let Some(sha256) = digests.get(change.path.as_str()) {
            event = event.written(change.path.clone(), *sha256);
        }
    }
    let changed: Vec<String> = plan.touched().map(|c| c.path.clone()).collect();
    audit::record_after_change(ws, env, &event, &changed, Some(safety.id.as_str()))?;
    report.status = Status::Restored;
    report.plan = Some(plan);
    Ok(report)
}

/// With a signing key configured, why checkpoint `id` is not to be
/// trusted: it came from the remote and is unsigned or signed by another
/// key. `None` when it is trusted, when no key is configured, or with
/// `--allow-unsigned`.
fn untrusted(
    env: &dyn Env,
    store: &dyn Store,
    id: &CheckpointId,
    options: &Options,
) -> Result<Option<String>> {
    if options.allow_unsigned {
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
fn lock(root: &std::path::Path, store: &dyn Store) -> Result<std::fs::File> {
    let path = store.cache_path().with_file_name("restore.lock");
    let file = crate::fs::atomic::open_private_append(root, &path)?;
    file.lock().at(&path)?;
    Ok(file)
}

/// A checkpoint's files with their bytes, each checked against its SHA-256.
type VerifiedFiles = Vec<(FileEntry, Vec<u8>)>;

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

fn refused(
    ws: &Workspace,
    env: &dyn Env,
    options: &Options,
    id: &CheckpointId,
    problems: Vec<String>,
) -> Result<Report> {
    let event = Event::new("restore", options.operation)
        .detail("checkpoint", id.as_str())
        .detail("problems", problems.clone())
        .failure(format!("checkpoint {id} refused: {}", problems.join("; ")));
    audit::record(ws, env, &event)?;
    let mut report = Report::new(Status::Refused, id.as_str());
    report.problems = problems;
    Ok(report)
}

/// The audit event of a restore that got as far as a plan.
fn event(options: &Options, id: &CheckpointId, plan: &Plan) -> Event {
    let paths = |action: Action| -> Vec<String> {
        plan.changes
            .iter()
            .filter(|c| c.action == action)
            .map(|c| c.path.clone())
            .collect()
    };
    let mut event = Event::new("restore", options.operation)
        .detail("checkpoint", id.as_str())
        .detail("restored", paths(Action::Restore))
        .detail("created", paths(Action::Create))
        .detail("deleted", paths(Action::Delete))
        .detail("unchanged", plan.count(Action::Unchanged));
    if !options.only.is_empty() {
        event = event.detail("only", options.only.clone());
    }
    for change in plan.touched() {
        event = event.file(change.path.clone());
    }
    event
}

/// Validates the files the restore wrote or removed (those with a
/// validator); returns the invalid ones.
fn invalid_files(ws: &Workspace, plan: &Plan) -> Result<Vec<InvalidFile>> {
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
fn put_back(ws: &Workspace, store: &dyn Store, safety: &Manifest, plan: &Plan) -> Result<()> {
    let touched: Vec<String> = plan.touched().map(|c| c.path.clone()).collect();
    let files = checkpoint::read_files(store, safety)?;
    let mut unmatched = Vec::new();
    let none = std::collections::HashSet::new();
    let back = match plan::build(ws, safety, files, Some(&touched), &none, &mut unmatched) {
        Ok(p) => p,
        Err(plan::PlanError::Unsafe(why)) => return Err(Error::environment(why, None)),
        Err(plan::PlanError::Other(e)) => return Err(e),
    };
    let set = crate::config::protected::ProtectedSet::new(&ws.config)?;
    apply::apply(&ws.root, &back, &set)
}

/// `--commit`: stages and commits exactly the paths the restore touched;
/// returns the commit, or `None` when they already match HEAD.
fn commit(ws: &Workspace, manifest: &Manifest, plan: &Plan) -> Result<Option<String>> {
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
