//! Applying a plan: every file is staged as a temporary file in its own
//! directory (written, mode set, fsynced), then each is renamed over its
//! target, deletions follow, and each directory is fsynced once. A crash
//! at any point leaves each file wholly old or wholly new; running the
//! restore again finishes the job.

use std::collections::BTreeSet;
use std::path::Path;

use super::plan::{Action, Plan};
use crate::atomic::Staged;
use crate::error::Result;

/// The prefix of the temporary files a restore stages (the same as
/// [`crate::atomic`]'s), removed from a directory before staging into it
/// again so a killed restore leaves nothing behind for long.
pub(crate) const TMP_PREFIX: &str = crate::atomic::TMP_PREFIX;

/// Writes and removes what `plan` says under `root`. Every directory is
/// opened from the root without following a symlink at any component
/// ([`crate::atomic::stage`]), so a link inside the tree
/// (`docs/x -> ../.git/hooks`) cannot redirect a write or a removal.
pub fn apply(root: &Path, plan: &Plan) -> Result<()> {
    let mut dirs: BTreeSet<&str> = BTreeSet::new();
    let mut writes = Vec::new();
    for change in plan.touched() {
        crate::paths::safe_join(root, &change.path)?;
        let (dir, _) = crate::paths::split(&change.path);
        match change.action {
            Action::Restore | Action::Create => {
                let (bytes, mode) = plan
                    .writes
                    .get(&change.path)
                    .expect("the plan holds the bytes of every write");
                writes.push((change.path.as_str(), bytes.as_slice(), *mode));
            }
            Action::Delete | Action::Unchanged => {}
        }
        dirs.insert(dir);
    }
    for dir in &dirs {
        crate::atomic::remove_temporaries_in(root, dir);
    }
    let staged = stage_all(root, &writes)?;
    for file in staged {
        file.commit()?;
    }
    for change in plan.touched().filter(|c| c.action == Action::Delete) {
        crate::atomic::remove_in(root, &change.path)?;
    }
    for dir in &dirs {
        crate::atomic::sync_dir_in(root, dir)?;
    }
    Ok(())
}

type Pending<'a> = (&'a str, &'a [u8], u32);

/// Stages every write, on a few threads when there are many (most of the
/// time is fsync). Any failure drops (deletes) what was staged.
fn stage_all(root: &Path, writes: &[Pending<'_>]) -> Result<Vec<Staged>> {
    let threads = if writes.len() < 16 {
        1
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
    };
    let stage =
        |(rel, bytes, mode): &Pending<'_>| crate::atomic::stage(root, rel, bytes, Some(*mode));
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
