//! Applying a plan: every file is staged as a temporary file in its own
//! directory (written with its mode; once all are written, all are
//! fsynced), then each is renamed over its target, deletions follow, and
//! each directory is fsynced once. A crash
//! at any point leaves each file wholly old or wholly new; running the
//! restore again finishes the job.

use std::collections::BTreeSet;
use std::path::Path;

use super::plan::{Action, Plan};
use crate::config::protected::ProtectedSet;
use crate::error::{Error, Result};
use crate::fs::atomic::Staged;

/// The prefix of the temporary files a restore stages (the same as
/// [`crate::fs::atomic`]'s), removed from a directory before staging into it
/// again so a killed restore leaves nothing behind for long.
pub(crate) const TMP_PREFIX: &str = crate::fs::atomic::TMP_PREFIX;

/// Writes and removes what `plan` says under `root`, only at paths `set`
/// covers (checked again right before writing: a path the set does not
/// cover stops the restore before anything is written). Every directory is
/// opened from the root without following a symlink at any component
/// ([`crate::fs::atomic::stage`]), so a link inside the tree
/// (`docs/x -> ../.git/hooks`) cannot redirect a write or a removal.
pub(crate) fn apply(root: &Path, plan: &Plan, set: &ProtectedSet) -> Result<()> {
    for change in plan.touched() {
        if set.covers(&change.path).is_none() {
            return Err(Error::usage(
                format!(
                    "refusing path `{}`: it is not in the protected set",
                    change.path
                ),
                Some("a restore writes only protected files".to_string()),
            ));
        }
    }
    let mut dirs: BTreeSet<&str> = BTreeSet::new();
    let mut writes = Vec::new();
    for change in plan.touched() {
        let (dir, _) = crate::fs::paths::split(&change.path);
        // The ancestors of files in one directory are the same: checked
        // once per directory.
        if !dirs.contains(dir) {
            crate::fs::paths::safe_join(root, &change.path)?;
        }
        match change.action {
            Action::Restore | Action::Create => {
                let (bytes, executable) = plan
                    .writes
                    .get(&change.path)
                    .expect("the plan holds the bytes of every write");
                // 0644 or 0755 (what git stores), less the umask: nothing
                // from a manifest but the executable bit reaches the mode.
                let mode = if *executable { 0o755 } else { 0o644 };
                writes.push((change.path.as_str(), bytes.as_slice(), mode));
            }
            Action::Delete | Action::Unchanged => {}
        }
        dirs.insert(dir);
    }
    for dir in &dirs {
        crate::fs::atomic::remove_temporaries_in(root, dir);
    }
    let staged = stage_all(root, &writes)?;
    for file in staged {
        file.commit()?;
    }
    for change in plan.touched().filter(|c| c.action == Action::Delete) {
        crate::fs::atomic::remove_in(root, &change.path)?;
    }
    for dir in &dirs {
        crate::fs::atomic::sync_dir_in(root, dir)?;
    }
    Ok(())
}

type Pending<'a> = (&'a str, &'a [u8], u32);

/// Stages every write: the bytes are written first (each directory opened
/// once), then every temporary file is fsynced, on many threads when there
/// are many (the fsyncs wait on the disk, not the CPU, and concurrent ones
/// share journal commits), and only then can anything be renamed into
/// place. Any failure drops (deletes) what was staged.
fn stage_all(root: &Path, writes: &[Pending<'_>]) -> Result<Vec<Staged>> {
    let mut stager = crate::fs::atomic::Stager::new(root);
    let staged = writes
        .iter()
        .map(|(rel, bytes, mode)| stager.stage(rel, bytes, Some(*mode)))
        .collect::<Result<Vec<_>>>()?;
    let threads = staged
        .len()
        .div_ceil(SYNCS_PER_THREAD)
        .clamp(1, SYNC_THREADS);
    if threads == 1 {
        staged.iter().try_for_each(Staged::sync)?;
        return Ok(staged);
    }
    let chunk = staged.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = staged
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().try_for_each(Staged::sync)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an fsync thread does not panic"))
            .collect::<Result<Vec<()>>>()
    })?;
    Ok(staged)
}

/// At most this many threads fsync staged files.
const SYNC_THREADS: usize = 32;
/// A thread per this many staged files (up to [`SYNC_THREADS`]).
const SYNCS_PER_THREAD: usize = 8;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::{Config, ProtectEntry, Validator};
    use crate::restore::plan::{Change, test_change as change};

    fn plan(changes: Vec<Change>, writes: HashMap<String, (Vec<u8>, bool)>) -> Plan {
        Plan {
            checkpoint: "manual-20261130T000000Z-0000".into(),
            kind: "manual".into(),
            operation: "test".into(),
            created_at: "2026-11-30T00:00:00Z".into(),
            checkpoint_valid: true,
            changes,
            skipped: Vec::new(),
            writes,
        }
    }

    fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<_> = walkdir::WalkDir::new(dir)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                (rel, std::fs::read(e.path()).unwrap())
            })
            .collect();
        out.sort();
        out
    }

    /// apply's own layer: handed a plan no planner checked, it still
    /// writes and removes nothing through a link inside the root.
    #[test]
    fn apply_alone_never_writes_or_removes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git/hooks")).unwrap();
        std::fs::write(root.join(".git/hooks/pre-commit"), "original").unwrap();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/ok.md"), "keep").unwrap();
        std::os::unix::fs::symlink("../.git/hooks", root.join("docs/arch")).unwrap();
        let before = tree(root);
        let writes = HashMap::from([(
            "docs/arch/post-checkout".to_string(),
            (b"#!/bin/sh\n".to_vec(), true),
        )]);
        for changes in [
            vec![
                change("docs/ok.md", Action::Delete),
                change("docs/arch/post-checkout", Action::Create),
            ],
            vec![change("docs/arch/pre-commit", Action::Delete)],
        ] {
            // The set covers everything under docs/, so only the link
            // check stands between the plan and `.git/hooks`.
            let config = Config {
                protect: vec![ProtectEntry::new("docs/**", Validator::None)],
                ..Config::default()
            };
            let set = ProtectedSet::new(&config).unwrap();
            let err = apply(root, &plan(changes, writes.clone()), &set).unwrap_err();
            assert!(err.to_string().contains("symlink"), "{err}");
            assert_eq!(tree(root), before);
        }
    }

    /// A plan creating `path` with two bytes.
    fn plan_writing(path: &str) -> Plan {
        plan(
            vec![change(path, Action::Create)],
            HashMap::from([(path.to_string(), (b"x\n".to_vec(), false))]),
        )
    }

    fn entries(root: &Path) -> Vec<String> {
        walkdir::WalkDir::new(root)
            .into_iter()
            .map(|e| e.unwrap().path().display().to_string())
            .collect()
    }

    /// The apply layer on its own: a plan naming a path the protected set
    /// does not cover writes nothing at all.
    #[test]
    fn apply_writes_only_what_the_protected_set_covers() {
        let root = tempfile::tempdir().unwrap();
        let set = ProtectedSet::new(&Config::default()).unwrap();
        for path in ["README.md", ".git/hooks/pre-commit", "docs/audit/a.jsonl"] {
            let err = apply(root.path(), &plan_writing(path), &set).unwrap_err();
            assert!(
                err.to_string().contains("not in the protected set"),
                "{err}"
            );
            assert_eq!(entries(root.path()).len(), 1, "{path} wrote something");
        }
        apply(root.path(), &plan_writing("planning/TASK.md"), &set).unwrap();
        assert_eq!(
            std::fs::read(root.path().join("planning/TASK.md")).unwrap(),
            b"x\n"
        );
    }

    /// The relative-path check inside the safe join, on its own: even with
    /// a protected set that covers `../escape` (a configuration that never
    /// passed its checks), nothing is written outside the root.
    #[test]
    fn the_safe_join_refuses_a_path_leaving_the_root() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("repo");
        std::fs::create_dir(&root).unwrap();
        let config = Config {
            protect: vec![ProtectEntry::new("../escape", Validator::None)],
            ..Config::default()
        };
        let set = ProtectedSet::new(&config).unwrap();
        assert!(set.covers("../escape").is_some());
        let err = apply(&root, &plan_writing("../escape"), &set).unwrap_err();
        assert!(err.to_string().contains("`..` is not allowed"), "{err}");
        assert!(!outer.path().join("escape").exists());
    }

    /// Whatever mode a manifest asked for, a new file is 0644 or 0755 less
    /// the umask.
    #[cfg(unix)]
    #[test]
    fn new_files_honour_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let set = ProtectedSet::new(&Config::default()).unwrap();
        let mut plan = plan_writing("docs/sprint-archives/run.sh");
        plan.writes.insert(
            "docs/sprint-archives/run.sh".into(),
            (b"x\n".to_vec(), true),
        );
        apply(root.path(), &plan, &set).unwrap();
        let mode = std::fs::metadata(root.path().join("docs/sprint-archives/run.sh"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        let umask = current_umask();
        assert_eq!(mode, 0o755 & !umask);
        assert_eq!(
            mode & 0o7002,
            0,
            "no setuid, setgid, sticky or o+w: {mode:o}"
        );
    }

    /// The umask of this process, read from the kernel's status file.
    #[cfg(unix)]
    fn current_umask() -> u32 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|m| u32::from_str_radix(m.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    }
}
