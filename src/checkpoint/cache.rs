//! The stat cache: what capture learnt about each file last time, keyed by
//! the file's metadata, so an unchanged file is neither read nor hashed
//! again (the idea of git's index and restic's parent snapshot).
//!
//! An entry is trusted only when size, modification and change times, inode
//! and device all match, and it was recorded at least
//! [`RACY_SECS`] after the file's last modification — a file written in the
//! same instant it was captured could change again without its times
//! moving, so it is always read again ("racily clean" in git's words).
//! The cache is local, never shared, and safe to delete; a corrupt or
//! foreign one is ignored.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Validator;

/// Seconds between a file's last modification and its capture before its
/// entry is trusted.
pub(crate) const RACY_SECS: i64 = 2;

/// The metadata that identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub ino: u64,
    pub dev: u64,
    pub mode: u32,
}

impl Stamp {
    /// The stamp of an `lstat`/`fstat` result.
    // `st_mode` is a `u32` on Linux and a `u16` elsewhere.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn of_stat(st: &rustix::fs::Stat) -> Stamp {
        Stamp {
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime_ns: i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec),
            ctime_ns: i128::from(st.st_ctime) * 1_000_000_000 + i128::from(st.st_ctime_nsec),
            ino: st.st_ino,
            dev: st.st_dev,
            mode: (st.st_mode as u32) & 0o7777,
        }
    }
}

/// What capture knows about one version of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub stamp: Stamp,
    pub validator: Validator,
    pub sha256: String,
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    /// The store's object name for the bytes.
    pub object: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct StatCache {
    /// The lifeline version that wrote it; validators may change between
    /// versions, so another version's verdicts are not reused.
    version: String,
    entries: HashMap<String, Entry>,
}

impl StatCache {
    /// Loads the cache at `path` (read through the safe layer when it is
    /// under `root`); empty when absent, corrupt, foreign or unsafe.
    pub(crate) fn load(root: &Path, path: &Path) -> StatCache {
        crate::fs::atomic::read_private(root, path)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice::<StatCache>(&b).ok())
            .filter(|c| c.version == env!("CARGO_PKG_VERSION"))
            .unwrap_or_default()
    }

    /// The entry for `path` when it still describes the file.
    pub(crate) fn get(&self, path: &str, stamp: &Stamp, validator: Validator) -> Option<&Entry> {
        self.entries
            .get(path)
            .filter(|e| e.stamp == *stamp && e.validator == validator)
    }

    /// Replaces the cache with `entries`, keeping only those whose file was
    /// last modified at least [`RACY_SECS`] before `captured_at`; false
    /// when that leaves the cache as it was (then it need not be saved).
    pub(crate) fn replace(
        &mut self,
        entries: Vec<(String, Entry)>,
        captured_at: jiff::Timestamp,
    ) -> bool {
        let limit = i128::from(captured_at.as_second() - RACY_SECS) * 1_000_000_000;
        let entries: HashMap<String, Entry> = entries
            .into_iter()
            .filter(|(_, e)| e.stamp.mtime_ns < limit && e.stamp.ctime_ns < limit)
            .collect();
        let version = env!("CARGO_PKG_VERSION");
        if self.version == version && self.entries == entries {
            return false;
        }
        self.version = version.to_string();
        self.entries = entries;
        true
    }

    /// Replaces the cache file atomically (through the safe layer when it
    /// is under `root`); a failure only costs speed next time, so it is
    /// ignored. Not fsynced: after a crash the old cache, the new one or an
    /// unreadable one (ignored by [`StatCache::load`]) is there, and each
    /// entry still describes its file only while the file's stamp matches.
    pub(crate) fn save(&self, root: &Path, path: &Path) {
        if let Ok(bytes) = serde_json::to_vec(self) {
            let _ = crate::fs::atomic::replace_private(root, path, &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: u64) -> Entry {
        Entry {
            stamp: Stamp {
                size,
                mtime_ns: 1_000_000_000,
                ctime_ns: 1_000_000_000,
                ino: 7,
                dev: 1,
                mode: 0o644,
            },
            validator: Validator::None,
            sha256: "aa".to_string(),
            valid: true,
            errors: 0,
            warnings: 0,
            object: "bb".to_string(),
        }
    }

    #[test]
    fn replacing_with_the_same_entries_reports_no_change() {
        let now: jiff::Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
        let mut cache = StatCache::default();
        assert!(cache.replace(vec![("a".into(), entry(1))], now));
        assert!(!cache.replace(vec![("a".into(), entry(1))], now));
        assert!(cache.replace(vec![("a".into(), entry(2))], now));
        assert!(cache.replace(Vec::new(), now));
        assert!(!cache.replace(Vec::new(), now));
    }
}
