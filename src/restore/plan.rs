//! Planning a restore: what each protected path becomes — restored,
//! created, deleted or left alone — with a diffstat, before anything is
//! written. Every path is checked here, so a manifest that reaches outside
//! the root (through `..`, an absolute path, or a symlinked directory) is
//! refused as a whole before the first byte moves.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::checkpoint::{FileEntry, Manifest};
use crate::config::Validator;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// What happens to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The file exists and differs from the checkpoint: overwritten.
    Restore,
    /// The file is missing: written from the checkpoint.
    Create,
    /// The file exists but was absent from the checkpoint: removed.
    Delete,
    /// The file already matches the checkpoint (bytes and mode).
    Unchanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Restore => "restore",
            Action::Create => "create",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
        }
    }
}

/// One planned path.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Repo-relative, `/`-separated.
    pub path: String,
    pub action: Action,
    pub validator: Validator,
    /// Lines the restore adds (text files).
    pub added: usize,
    /// Lines the restore removes (text files).
    pub removed: usize,
    /// True when either side is not text: the diffstat is in bytes.
    pub binary: bool,
    /// Size now and after the restore, in bytes.
    pub size_before: Option<u64>,
    pub size_after: Option<u64>,
    /// The file has uncommitted changes (git) that the restore overwrites.
    pub uncommitted: bool,
}

impl Change {
    /// True when the restore writes or removes this path.
    pub fn touches(&self) -> bool {
        self.action != Action::Unchanged
    }
}

/// The whole plan, and the bytes it will write.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub checkpoint: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub operation: String,
    pub created_at: String,
    /// Whether every file validated when the checkpoint was taken.
    pub checkpoint_valid: bool,
    pub changes: Vec<Change>,
    /// Paths the checkpoint holds that the current protected set no longer
    /// covers (the configuration changed since): left alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// Bytes to write and whether the file is executable, by path (restore
    /// and create only). The mode is 0644 or 0755 less the umask: whatever
    /// a manifest says, no setuid, setgid, sticky or world-writable file.
    #[serde(skip)]
    pub(crate) writes: HashMap<String, (Vec<u8>, bool)>,
}

impl Plan {
    /// The paths the restore writes or removes.
    pub fn touched(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.touches())
    }

    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// Paths with uncommitted changes the restore overwrites or removes.
    pub fn uncommitted(&self) -> Vec<&str> {
        self.changes
            .iter()
            .filter(|c| c.uncommitted && c.touches())
            .map(|c| c.path.as_str())
            .collect()
    }
}

/// A checkpoint path the restore leaves alone, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// Why a plan could not be made.
#[derive(Debug)]
pub(crate) enum PlanError {
    /// The manifest names a path lifeline must not write: the whole
    /// checkpoint is refused.
    Unsafe(String),
    /// Anything else (I/O, git).
    Other(Error),
}

impl From<Error> for PlanError {
    fn from(e: Error) -> Self {
        PlanError::Other(e)
    }
}

/// What a path should become.
enum Want<'a> {
    File(&'a FileEntry, Vec<u8>),
    Absent(Validator),
}

/// Plans restoring `manifest` (its verified `files`) over the working tree.
/// With `only`, just those paths (a path, or a directory and everything
/// under it); `unmatched` receives the `only` entries that matched nothing.
pub(crate) fn build(
    ws: &Workspace,
    manifest: &Manifest,
    files: Vec<(FileEntry, Vec<u8>)>,
    only: Option<&[String]>,
    uncommitted: &HashSet<String>,
    unmatched: &mut Vec<String>,
) -> std::result::Result<Plan, PlanError> {
    let mut wants: BTreeMap<String, Want<'_>> = BTreeMap::new();
    for (entry, bytes) in files {
        let entry = manifest.file(&entry.path).ok_or_else(|| {
            Error::environment(format!("`{}` is not in the manifest", entry.path), None)
        })?;
        wants.insert(entry.path.clone(), Want::File(entry, bytes));
    }
    for absent in &manifest.absent {
        wants
            .entry(absent.path.clone())
            .or_insert(Want::Absent(absent.validator));
    }
    // A checkpoint is data: it may only speak for paths the current
    // protected set covers. `.git/` and lifeline's records refuse the whole
    // checkpoint (the manifest check should already have); a path the
    // configuration merely stopped protecting is left alone, and said so.
    let set = crate::config::protected::ProtectedSet::new(&ws.config)?;
    let mut skipped = Vec::new();
    for path in wants.keys() {
        if let Some(why) = set.records().reason(path) {
            return Err(PlanError::Unsafe(format!(
                "the checkpoint names a path lifeline never restores: {why}"
            )));
        }
        if set.covers(path).is_none() {
            skipped.push(Skipped {
                path: path.clone(),
                reason:
                    "not in the protected set any more (lifeline.toml changed since the checkpoint)"
                        .to_string(),
            });
        }
    }
    wants.retain(|path, _| set.covers(path).is_some());
    // Protected files the checkpoint does not have (added since) go too.
    for (path, validator) in set.files(&ws.root)? {
        // A killed restore's staged file is litter, not a protected file;
        // apply clears it from every directory it writes to.
        let name = path.rsplit('/').next().unwrap_or_default();
        if name.starts_with(super::apply::TMP_PREFIX) {
            continue;
        }
        wants.entry(path).or_insert(Want::Absent(validator));
    }
    // What capture could not take (a symlink, a FIFO, an odd name) is
    // neither captured nor absent: left as it is.
    for odd in &manifest.skipped {
        wants.remove(&odd.path);
    }
    if let Some(only) = only {
        unmatched.extend(
            only.iter()
                .filter(|o| !wants.keys().any(|p| covers(o, p)))
                .cloned(),
        );
        wants.retain(|p, _| only.iter().any(|o| covers(o, p)));
    }
    for path in wants.keys() {
        check_writable(&ws.root, path)?;
    }
    let mut plan = Plan {
        checkpoint: manifest.id.to_string(),
        kind: manifest.kind.clone(),
        operation: manifest.operation.clone(),
        created_at: manifest.created_at.to_string(),
        checkpoint_valid: manifest.valid,
        changes: Vec::with_capacity(wants.len()),
        skipped,
        writes: HashMap::new(),
    };
    let limit = ws.config.limits.max_file_size;
    for (path, want) in wants {
        let current =
            read_current(&ws.root, &path, limit)?.map(|(bytes, mode)| (bytes, mode, true));
        let change = match (want, current) {
            (Want::Absent(_), None) => continue,
            (Want::Absent(validator), Some((now, _, _))) => {
                let stat = diffstat(&now, b"");
                Change {
                    path,
                    action: Action::Delete,
                    validator,
                    added: 0,
                    removed: stat.removed,
                    binary: stat.binary,
                    size_before: Some(now.len() as u64),
                    size_after: None,
                    uncommitted: false,
                }
            }
            (Want::File(entry, bytes), None) => {
                let stat = diffstat(b"", &bytes);
                let change = Change {
                    path: path.clone(),
                    action: Action::Create,
                    validator: entry.validator,
                    added: stat.added,
                    removed: 0,
                    binary: stat.binary,
                    size_before: None,
                    size_after: Some(entry.size),
                    uncommitted: false,
                };
                plan.writes.insert(path, (bytes, entry.executable()));
                change
            }
            (Want::File(entry, bytes), Some((now, mode, regular))) => {
                // Only what git stores counts: the bytes and the owner's
                // executable bit.
                let same = regular && now == bytes && (mode & 0o100 != 0) == entry.executable();
                let stat = if same {
                    Stat::default()
                } else {
                    diffstat(&now, &bytes)
                };
                let change = Change {
                    path: path.clone(),
                    action: if same {
                        Action::Unchanged
                    } else {
                        Action::Restore
                    },
                    validator: entry.validator,
                    added: stat.added,
                    removed: stat.removed,
                    binary: stat.binary,
                    size_before: Some(now.len() as u64),
                    size_after: Some(entry.size),
                    uncommitted: false,
                };
                if !same {
                    plan.writes.insert(path, (bytes, entry.executable()));
                }
                change
            }
        };
        plan.changes.push(change);
    }
    for change in &mut plan.changes {
        change.uncommitted = change.touches() && uncommitted.contains(&change.path);
    }
    Ok(plan)
}

/// The planned change that writes `new` over `current` (absent: `None`)
/// at `path`, with its diffstat: for plans made outside a checkpoint, such
/// as `recover`'s repair from an older revision.
pub(crate) fn rewrite(
    path: &str,
    validator: Validator,
    current: Option<&[u8]>,
    new: &[u8],
) -> Change {
    let stat = diffstat(current.unwrap_or_default(), new);
    let action = match current {
        None => Action::Create,
        Some(now) if now == new => Action::Unchanged,
        Some(_) => Action::Restore,
    };
    Change {
        path: path.to_string(),
        action,
        validator,
        added: if action == Action::Unchanged {
            0
        } else {
            stat.added
        },
        removed: if action == Action::Unchanged {
            0
        } else {
            stat.removed
        },
        binary: stat.binary,
        size_before: current.map(|c| c.len() as u64),
        size_after: Some(new.len() as u64),
        uncommitted: false,
    }
}

/// True when the `--only` entry `only` names `path` or a directory above it.
fn covers(only: &str, path: &str) -> bool {
    let only = only.trim_end_matches('/');
    path == only
        || (path.len() > only.len()
            && path.starts_with(only)
            && path.as_bytes()[only.len()] == b'/')
}

/// The bytes and mode of the regular file at `path` now, read without
/// following any symlink; `None` when absent. A file larger than `limit`
/// (`[limits] max_file_size`) is never read: the restore stops with what
/// to do (its safety checkpoint could not hold the file either).
fn read_current(
    root: &Path,
    path: &str,
    limit: u64,
) -> std::result::Result<Option<(Vec<u8>, u32)>, PlanError> {
    let Some(file) =
        crate::fs::paths::open_file(root, path).map_err(|e| PlanError::Unsafe(e.to_string()))?
    else {
        return Ok(None);
    };
    let disk = root.join(path);
    let meta = file.metadata().map_err(|e| Error::io(&disk, e))?;
    if meta.len() > limit {
        return Err(PlanError::Other(too_large(path, meta.len(), limit)));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut bytes)
        .map_err(|e| Error::io(&disk, e))?;
    if bytes.len() as u64 > limit {
        return Err(PlanError::Other(too_large(path, bytes.len() as u64, limit)));
    }
    Ok(Some((bytes, crate::fs::atomic::mode_of(&meta))))
}

fn too_large(path: &str, len: u64, limit: u64) -> Error {
    Error::usage(
        format!(
            "protected file `{path}` holds {len} bytes, more than `[limits] max_file_size` ({limit}): the restore would not read it, nor could its safety checkpoint hold it"
        ),
        Some(
            "move the file out of the way first (the restore then creates it), or raise the limit in lifeline.toml".to_string(),
        ),
    )
}

/// Refuses a path that is not a safe repo-relative path, that lies below
/// a symlink (wherever it points) or a non-directory, or whose own entry
/// is anything but a regular file: a directory, a symlink, a FIFO, a
/// socket or a device.
fn check_writable(root: &Path, path: &str) -> std::result::Result<(), PlanError> {
    use crate::fs::paths::{Inspect, Kind};
    let unsafe_path = |e: Error| PlanError::Unsafe(e.to_string());
    crate::fs::paths::safe_join(root, path).map_err(unsafe_path)?;
    match crate::fs::paths::inspect(root, path).map_err(unsafe_path)? {
        Inspect::Missing => Ok(()),
        Inspect::Blocked { at, kind } => Err(PlanError::Unsafe(format!(
            "refusing path `{path}`: `{at}` exists and is {}, not a directory",
            kind.describe()
        ))),
        Inspect::Found(found) if found.kind == Kind::File => Ok(()),
        Inspect::Found(found) if found.kind == Kind::Dir => Err(PlanError::Unsafe(format!(
            "refusing path `{path}`: it is a directory in the working tree"
        ))),
        Inspect::Found(found) => Err(PlanError::Unsafe(format!(
            "refusing path `{path}`: it is {} in the working tree, not a regular file; remove it first",
            found.kind.describe()
        ))),
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Stat {
    added: usize,
    removed: usize,
    binary: bool,
}

/// Lines added and removed going from `old` to `new`; for non-text files
/// only the flag is set.
fn diffstat(old: &[u8], new: &[u8]) -> Stat {
    let (Some(old), Some(new)) = (text(old), text(new)) else {
        return Stat {
            binary: true,
            ..Stat::default()
        };
    };
    let diff = similar::TextDiff::configure()
        .timeout(std::time::Duration::from_millis(200))
        .diff_lines(old, new);
    let mut stat = Stat::default();
    for op in diff.ops() {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => {}
            _ => {
                stat.removed += old_range.len();
                stat.added += new_range.len();
            }
        }
    }
    stat
}

fn text(bytes: &[u8]) -> Option<&str> {
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// Paths among `pathspecs` (and under them) with uncommitted changes,
/// untracked files included; empty outside git.
pub(crate) fn uncommitted(ws: &Workspace, pathspecs: &[&str]) -> Result<HashSet<String>> {
    let mut dirty = HashSet::new();
    let Some(git) = &ws.git else {
        return Ok(dirty);
    };
    if pathspecs.is_empty() {
        return Ok(dirty);
    }
    let mut args = vec![
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--",
    ];
    args.extend(pathspecs);
    let out = git.run_bytes(&args, None)?;
    let mut records = out.split(|b| *b == 0).filter(|r| r.len() > 3);
    while let Some(record) = records.next() {
        dirty.insert(String::from_utf8_lossy(&record[3..]).into_owned());
        if record[0] == b'R' || record[0] == b'C' {
            records.next();
        }
    }
    Ok(dirty)
}

/// A planned path with no sizes or diff, for the unit tests that need a
/// plan without planning one.
#[cfg(test)]
pub(crate) fn test_change(path: &str, action: Action) -> Change {
    Change {
        path: path.into(),
        action,
        validator: crate::config::Validator::None,
        added: 0,
        removed: 0,
        binary: false,
        size_before: None,
        size_after: None,
        uncommitted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_covers_the_path_and_what_is_under_a_directory() {
        assert!(covers("planning/TASK.md", "planning/TASK.md"));
        assert!(covers("planning", "planning/TASK.md"));
        assert!(covers("planning/", "planning/TASK.md"));
        assert!(!covers("plan", "planning/TASK.md"));
        assert!(!covers("planning/TASK.md", "planning/TASK.md.bak"));
    }

    #[test]
    fn diffstat_counts_lines_and_flags_binary() {
        assert_eq!(
            diffstat(b"a\nb\nc\n", b"a\nB\nc\nd\n"),
            Stat {
                added: 2,
                removed: 1,
                binary: false
            }
        );
        assert!(diffstat(b"a\0b", b"a").binary);
        assert_eq!(diffstat(b"", b"x\ny\n").added, 2);
    }

    /// A manifest built in memory, as if its checks had been skipped.
    fn manifest_naming(paths: &[&str]) -> (Manifest, Vec<(FileEntry, Vec<u8>)>) {
        let files: Vec<(FileEntry, Vec<u8>)> = paths
            .iter()
            .map(|p| {
                let bytes = b"payload\n".to_vec();
                let entry = FileEntry {
                    path: p.to_string(),
                    sha256: crate::checkpoint::store::dir::sha256_hex(&bytes),
                    size: bytes.len() as u64,
                    mode: 0o644,
                    validator: Validator::None,
                    valid: true,
                    errors: 0,
                    warnings: 0,
                };
                (entry, bytes)
            })
            .collect();
        let mut entries: Vec<FileEntry> = files.iter().map(|(e, _)| e.clone()).collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = Manifest {
            schema: crate::checkpoint::manifest::SCHEMA,
            id: "manual-20261123T235927Z-7f3a".parse().unwrap(),
            kind: "manual".into(),
            operation: "test".into(),
            created_at: "2026-11-23T23:59:27Z".parse().unwrap(),
            completed_at: "2026-11-23T23:59:27Z".parse().unwrap(),
            actor: "user:me".into(),
            run: None,
            git: None,
            valid: true,
            files: entries,
            absent: Vec::new(),
            skipped: Vec::new(),
            lifeline_version: "0.1.0".into(),
        };
        (manifest, files)
    }

    /// The plan layer on its own: a manifest that got past its own checks
    /// still cannot reach `.git/` or lifeline's records.
    #[test]
    fn the_plan_refuses_git_and_records_whatever_the_manifest_check_did() {
        let root = tempfile::tempdir().unwrap();
        let ws = crate::test_support::plain_workspace(root.path());
        for bad in [
            ".git/hooks/pre-commit",
            "docs/sprint-archives/.git/config",
            "docs/audit/audit-2026-11.jsonl",
            "docs/incidents/INC-1.md",
            ".lifeline/store/x",
        ] {
            let (manifest, files) = manifest_naming(&[bad]);
            let err = build(
                &ws,
                &manifest,
                files,
                None,
                &HashSet::new(),
                &mut Vec::new(),
            );
            assert!(
                matches!(&err, Err(PlanError::Unsafe(m)) if m.contains("never restores")),
                "{bad}"
            );
        }
    }

    /// A path the protected set does not cover (a tracked file elsewhere,
    /// or one the configuration stopped protecting) is skipped, not
    /// written, and the plan says so.
    #[test]
    fn paths_outside_the_protected_set_are_skipped_and_listed() {
        let root = tempfile::tempdir().unwrap();
        let ws = crate::test_support::plain_workspace(root.path());
        std::fs::write(root.path().join("README.md"), "mine\n").unwrap();
        let (manifest, files) =
            manifest_naming(&["README.md", "docs/sprint-archives/S-1.md", "src/x.rs"]);
        let plan = build(
            &ws,
            &manifest,
            files,
            None,
            &HashSet::new(),
            &mut Vec::new(),
        )
        .unwrap();
        let touched: Vec<&str> = plan.touched().map(|c| c.path.as_str()).collect();
        assert!(
            touched.contains(&"docs/sprint-archives/S-1.md"),
            "{touched:?}"
        );
        assert!(!touched.contains(&"README.md") && !touched.contains(&"src/x.rs"));
        let skipped: Vec<&str> = plan.skipped.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(skipped, ["README.md", "src/x.rs"]);
        assert!(!plan.writes.contains_key("README.md"));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_where_a_directory_must_be_is_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("planning"), "x").unwrap();
        let err = check_writable(root.path(), "planning/TASK.md").unwrap_err();
        assert!(
            matches!(err, PlanError::Unsafe(m) if m.to_lowercase().contains("not a directory"))
        );
        std::fs::create_dir_all(root.path().join("d/TASK.md")).unwrap();
        assert!(matches!(
            check_writable(root.path(), "d/TASK.md"),
            Err(PlanError::Unsafe(_))
        ));
        assert!(check_writable(root.path(), "new/dir/file.md").is_ok());
    }
}
