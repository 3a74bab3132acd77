//! Verifying a checkpoint: read every file back from the store and rehash
//! it against the manifest, the way `restic check --read-data` does.

use serde::Serialize;

use super::id::CheckpointId;
use super::manifest::FileEntry;
use super::store::Store;
use crate::error::Result;

/// One damaged thing in a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The repo path of the damaged file, or `manifest.json`.
    pub path: String,
    pub message: String,
}

/// The outcome of verifying one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The checkpoint ID, or the name it is stored under when its manifest
    /// cannot be read.
    pub checkpoint: String,
    /// Files read back and rehashed.
    pub files: usize,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads back and rehashes every file of `id`. Damage is reported, not
/// returned as an error; an error means the store itself failed.
pub fn verify(store: &dyn Store, id: &CheckpointId) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        checkpoint: id.to_string(),
        files: 0,
        problems: Vec::new(),
    };
    let manifest = match store.manifest(id) {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(Problem {
                path: "manifest.json".into(),
                message: e.to_string(),
            });
            return Ok(report);
        }
    };
    let visited = store.visit_files(&manifest, &mut |entry, bytes| {
        report.files += 1;
        if let Err(message) = bytes.and_then(|b| check_bytes(entry, &b)) {
            report.problems.push(Problem {
                path: entry.path.clone(),
                message,
            });
        }
    });
    if let Err(e) = visited {
        report.problems.push(Problem {
            path: "(tree)".into(),
            message: e.to_string(),
        });
    }
    Ok(report)
}

/// Checks bytes read back against their manifest entry.
pub(crate) fn check_bytes(entry: &FileEntry, bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.len() as u64 != entry.size {
        return Err(format!(
            "size {} differs from the manifest's {}",
            bytes.len(),
            entry.size
        ));
    }
    let actual = super::store::dir::sha256_hex(bytes);
    if actual != entry.sha256 {
        return Err(format!(
            "SHA-256 {actual} differs from the manifest's {}",
            entry.sha256
        ));
    }
    Ok(())
}
