//! The local index of checkpoint refs, keyed by commit ID: what this clone
//! learnt about each checkpoint commit it has seen — the summary derived
//! from its verified manifest, when it first saw it, whether it was made
//! here or came from a remote, and who signed it.
//!
//! A commit ID names its tree, manifest and message for good, so a verdict
//! stays true as long as the rules it was reached under (the record
//! directories) do not change; the index remembers those rules and starts
//! over when they differ. It is local, never shared, and safe to delete:
//! then every checkpoint is read again and counts as first seen now.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::manifest::Summary;

/// Where a checkpoint commit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Taken by lifeline in this clone.
    Local,
    /// Brought by `checkpoint fetch`, or found without lifeline having made
    /// it (a plain `git fetch`): treated as coming from the remote.
    Remote,
}

/// What the index knows about one checkpoint commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// When this clone first listed, fetched or made it.
    pub first_seen: jiff::Timestamp,
    pub origin: Origin,
    /// The summary of its verified manifest; `None` until it was read and
    /// found consistent.
    pub summary: Option<Summary>,
    /// The hex public key whose signature over the manifest verified.
    pub signer: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Index {
    version: String,
    rules: String,
    pub entries: HashMap<String, Entry>,
}

impl Index {
    /// Loads the index at `path` (a private file of the work tree at
    /// `root`, read without following a symlink: see
    /// [`crate::fs::atomic::private_anchor`]); empty when absent, unreadable,
    /// corrupt, written by another version, or reached under other `rules`.
    pub(crate) fn load(root: &Path, path: &Path, rules: &str) -> Index {
        crate::fs::atomic::read_private(root, path)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice::<Index>(&b).ok())
            .filter(|i| i.version == env!("CARGO_PKG_VERSION") && i.rules == rules)
            .unwrap_or_else(|| Index {
                version: env!("CARGO_PKG_VERSION").to_string(),
                rules: rules.to_string(),
                entries: HashMap::new(),
            })
    }

    /// The entry of `commit`, made (first seen `now`, from `origin`) when
    /// the index has none.
    pub(crate) fn entry(
        &mut self,
        commit: &str,
        now: jiff::Timestamp,
        origin: Origin,
    ) -> &mut Entry {
        self.entries
            .entry(commit.to_string())
            .or_insert_with(|| Entry {
                first_seen: now,
                origin,
                summary: None,
                signer: None,
            })
    }

    /// Keeps only the entries of `live` commits.
    pub(crate) fn retain(&mut self, live: &std::collections::HashSet<&str>) {
        self.entries
            .retain(|commit, _| live.contains(commit.as_str()));
    }

    /// Replaces the index file by rename, without fsync: losing it costs a
    /// re-read, and the first-seen times of what it held become "now". No
    /// symlink at any component below the git directory (or the root)
    /// redirects the write: see [`crate::fs::atomic::private_anchor`].
    pub(crate) fn save(&self, root: &Path, path: &Path) {
        let Ok(bytes) = serde_json::to_vec(self) else {
            return;
        };
        let _ = crate::fs::atomic::replace_private(root, path, &bytes);
    }
}
