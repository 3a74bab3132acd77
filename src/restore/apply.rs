//! Applying a plan: every file is staged as a temporary file in its own
//! directory (written, mode set, fsynced), then each is renamed over its
//! target, deletions follow, and each directory is fsynced once. A crash
//! at any point leaves each file wholly old or wholly new; running the
//! restore again finishes the job.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::plan::{Action, Plan};
use crate::error::{Error, IoContext, Result};
use crate::protected::ProtectedSet;

/// The prefix of the temporary files a restore stages (the same as
/// [`crate::atomic`]'s), removed from a directory before staging into it
/// again so a killed restore leaves nothing behind for long.
pub(crate) const TMP_PREFIX: &str = ".lifeline-tmp-";

/// Writes and removes what `plan` says under `root`, only at paths `set`
/// covers. Paths are checked again right before writing; a path the set
/// does not cover stops the restore before anything is written.
pub fn apply(root: &Path, plan: &Plan, set: &ProtectedSet) -> Result<()> {
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
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    let mut writes = Vec::new();
    for change in plan.touched() {
        let target = crate::paths::safe_join(root, &change.path)?;
        let dir = target
            .parent()
            .expect("a joined path has a parent")
            .to_path_buf();
        match change.action {
            Action::Restore | Action::Create => {
                let (bytes, executable) = plan
                    .writes
                    .get(&change.path)
                    .expect("the plan holds the bytes of every write");
                create_dirs(root, &dir, &mut dirs)?;
                writes.push((target, dir.clone(), bytes.as_slice(), *executable));
            }
            Action::Delete | Action::Unchanged => {}
        }
        dirs.insert(dir);
    }
    for dir in &dirs {
        remove_stale_temporaries(dir);
    }
    let staged = stage_all(&writes)?;
    for (tmp, (target, _, _, _)) in staged.into_iter().zip(&writes) {
        tmp.persist(target)
            .map_err(|e| Error::io(target, e.error))?;
    }
    for change in plan.touched().filter(|c| c.action == Action::Delete) {
        let target = crate::paths::safe_join(root, &change.path)?;
        match std::fs::remove_file(&target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&target, e)),
        }
    }
    for dir in &dirs {
        crate::atomic::sync_dir(dir)?;
    }
    Ok(())
}

/// Creates `dir` and its missing ancestors, remembering each parent whose
/// entries changed so it is fsynced.
fn create_dirs(root: &Path, dir: &Path, dirs: &mut BTreeSet<PathBuf>) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut current = dir;
    while !current.is_dir() && current.starts_with(root) {
        missing.push(current.to_path_buf());
        match current.parent() {
            Some(p) => current = p,
            None => break,
        }
    }
    std::fs::create_dir_all(dir).at(dir)?;
    for d in missing {
        if let Some(parent) = d.parent() {
            dirs.insert(parent.to_path_buf());
        }
    }
    Ok(())
}

/// Temporary files a killed restore left behind; failures are ignored
/// (they are only litter).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Target, its directory, the bytes, executable.
type Pending<'a> = (PathBuf, PathBuf, &'a [u8], bool);

/// Stages every write, on a few threads when there are many (most of the
/// time is fsync). Any failure drops (deletes) what was staged.
fn stage_all(writes: &[Pending<'_>]) -> Result<Vec<tempfile::NamedTempFile>> {
    let threads = if writes.len() < 16 {
        1
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
    };
    if threads == 1 {
        return writes.iter().map(stage).collect();
    }
    let chunk = writes.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = writes
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(stage).collect::<Result<Vec<_>>>()))
            .collect();
        let mut out = Vec::with_capacity(writes.len());
        let mut failure = None;
        for handle in handles {
            match handle.join().expect("a staging thread does not panic") {
                Ok(mut files) => out.append(&mut files),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    })
}

fn stage((_, dir, bytes, executable): &Pending<'_>) -> Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TMP_PREFIX);
    // Created 0644 or 0755 (what git stores) and the kernel takes the
    // umask off: nothing from a manifest but the executable bit reaches
    // the mode, so no setuid, setgid, sticky or world-writable file is
    // ever made, whatever the manifest or the umask say.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(if *executable {
            0o755
        } else {
            0o644
        }));
    }
    #[cfg(not(unix))]
    let _ = executable;
    let mut tmp = builder.tempfile_in(dir).at(dir)?;
    tmp.write_all(bytes).at(tmp.path())?;
    tmp.as_file().sync_all().at(tmp.path())?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ProtectEntry, Validator};
    use crate::restore::plan::Change;

    fn plan_writing(path: &str) -> Plan {
        Plan {
            checkpoint: "manual-20261123T235927Z-7f3a".into(),
            kind: "manual".into(),
            operation: "test".into(),
            created_at: "2026-11-23T23:59:27Z".into(),
            checkpoint_valid: true,
            changes: vec![Change {
                path: path.to_string(),
                action: Action::Create,
                validator: Validator::None,
                added: 1,
                removed: 0,
                binary: false,
                size_before: None,
                size_after: Some(2),
                uncommitted: false,
            }],
            skipped: Vec::new(),
            writes: [(path.to_string(), (b"x\n".to_vec(), false))].into(),
        }
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
