//! The directory store, for roots that are not git work trees:
//!
//! ```text
//! .lifeline/store/
//!   objects/ab/ab12…   file contents, named by their SHA-256
//!   checkpoints/<id>.json   manifests
//! ```
//!
//! Objects are written first (temporary file, fsync, rename); the manifest
//! is linked into place last, without replacing an existing one, so a
//! checkpoint is visible only when complete and two creators can never
//! share an ID. Removing a checkpoint deletes its manifest, then the
//! objects no remaining manifest uses and nobody touched in the last hour
//! (a create in progress touches every object it reuses).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::{Content, Damaged, FileVisitor, Listing, Provenance, Store, SyncReport, Written};
use crate::checkpoint::id::CheckpointId;
use crate::checkpoint::index::Origin;
use crate::checkpoint::manifest::Manifest;
use crate::config::protected::Records;
use crate::error::{Error, IoContext, Result};

/// The store's directory under the root.
pub const STORE_DIR: &str = ".lifeline/store";
/// Unreferenced objects younger than this are left alone.
const GC_GRACE: Duration = Duration::from_secs(3600);

/// Checkpoints in a content-addressed directory. Every file of the store
/// is opened from the root without following a symlink at any component
/// (a symlinked `.lifeline/` is refused, never written through).
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
    dir: PathBuf,
    records: Records,
}

impl DirStore {
    /// The store under `root` (created on first write); a manifest naming
    /// one of `records` is damaged.
    pub fn new(root: &Path, records: Records) -> DirStore {
        DirStore {
            root: root.to_path_buf(),
            dir: root.join(STORE_DIR),
            records,
        }
    }

    fn manifests() -> String {
        format!("{STORE_DIR}/checkpoints")
    }

    fn manifest_rel(id: &CheckpointId) -> String {
        format!("{STORE_DIR}/checkpoints/{id}.json")
    }

    fn object_rel(sha256: &str) -> String {
        format!("{STORE_DIR}/objects/{}/{sha256}", &sha256[..2])
    }

    /// Stores `bytes` under their SHA-256 unless already there (then marks
    /// the object as in use by touching it).
    fn put_object(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let rel = Self::object_rel(sha256);
        if touch(&self.root, &rel)? {
            return Ok(());
        }
        crate::fs::atomic::write_in(&self.root, &rel, bytes, Some(0o644))
    }

    /// Reads every manifest: the parsed ones, and the names that failed.
    fn read_all(&self) -> Result<(Vec<Manifest>, Vec<Damaged>)> {
        let dir = Self::manifests();
        let Some(entries) = crate::fs::paths::list_dir(&self.root, &dir)? else {
            return Ok((vec![], vec![]));
        };
        let mut manifests = Vec::new();
        let mut damaged = Vec::new();
        for (name, _, _) in entries {
            // Temporary files of a create in progress (or a crashed one).
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            if stem.starts_with('.') {
                continue;
            }
            let shown = format!("{dir}/{name}");
            let parsed = stem
                .parse::<CheckpointId>()
                .map_err(|m| Error::environment(m, None))
                .and_then(|id| {
                    let bytes =
                        crate::fs::paths::read_own(&self.root, &shown)?.ok_or_else(|| {
                            Error::io(self.root.join(&shown), std::io::ErrorKind::NotFound.into())
                        })?;
                    let m = Manifest::from_json(&bytes, &shown, &self.records)?;
                    if m.id != id {
                        return Err(Error::environment(
                            format!("{shown} describes `{}`", m.id),
                            None,
                        ));
                    }
                    Ok(m)
                });
            match parsed {
                Ok(m) => manifests.push(m),
                Err(e) => damaged.push(Damaged {
                    name: shown,
                    reason: annotate_snippets::normalize_untrusted_str(&e.to_string()),
                }),
            }
        }
        Ok((manifests, damaged))
    }

    /// Deletes objects no manifest uses, unless touched within the grace
    /// period. Does nothing when a manifest cannot be read (its objects
    /// are unknown).
    fn collect_garbage(&self) -> Result<usize> {
        let (manifests, damaged) = self.read_all()?;
        if !damaged.is_empty() {
            return Ok(0);
        }
        let used: std::collections::HashSet<&str> = manifests
            .iter()
            .flat_map(|m| m.files.iter().map(|f| f.sha256.as_str()))
            .collect();
        let objects = format!("{STORE_DIR}/objects");
        let mut removed = 0;
        let Ok(Some(fanout)) = crate::fs::paths::list_dir(&self.root, &objects) else {
            return Ok(0);
        };
        let now = SystemTime::now();
        for (sub, kind, _) in fanout {
            if kind != crate::fs::paths::Kind::Dir {
                continue;
            }
            let sub = format!("{objects}/{sub}");
            let Ok(Some(files)) = crate::fs::paths::list_dir(&self.root, &sub) else {
                continue;
            };
            for (name, _, _) in files {
                if used.contains(name.as_str()) {
                    continue;
                }
                let rel = format!("{sub}/{name}");
                let age = crate::fs::paths::open_file(&self.root, &rel)
                    .ok()
                    .flatten()
                    .and_then(|f| f.metadata().and_then(|m| m.modified()).ok())
                    .and_then(|t| now.duration_since(t).ok())
                    .unwrap_or_default();
                if age >= GC_GRACE {
                    crate::fs::atomic::remove_in(&self.root, &rel)?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Sets the modification time of `rel` to now; false when it does not
/// exist.
fn touch(root: &Path, rel: &str) -> Result<bool> {
    match crate::fs::atomic::open_existing_for_write(root, rel)? {
        Some(f) => {
            f.set_modified(SystemTime::now()).at(root.join(rel))?;
            Ok(true)
        }
        None => Ok(false),
    }
}

impl Store for DirStore {
    fn name(&self) -> &'static str {
        "directory"
    }

    fn location(&self, id: &CheckpointId) -> String {
        format!("{STORE_DIR}/checkpoints/{id}.json")
    }

    fn list(&self) -> Result<Listing> {
        let (manifests, damaged) = self.read_all()?;
        // A manifest dated in the future counts from when it was written
        // here (its file's modification time).
        let checkpoints = manifests
            .iter()
            .map(|m| {
                let mut summary = m.summary();
                summary.observed_at =
                    std::fs::symlink_metadata(self.root.join(Self::manifest_rel(&m.id)))
                        .and_then(|meta| meta.modified())
                        .ok()
                        .and_then(|t| jiff::Timestamp::try_from(t).ok());
                summary
            })
            .collect();
        Ok(Listing {
            checkpoints,
            damaged,
        })
    }

    fn manifest(&self, id: &CheckpointId) -> Result<Manifest> {
        let shown = self.location(id);
        let Some(bytes) = crate::fs::paths::read_own(&self.root, &Self::manifest_rel(id))? else {
            return Err(Error::environment(
                format!("no checkpoint `{id}` ({shown} does not exist)"),
                Some("`lifeline checkpoint list` shows the checkpoints there are".to_string()),
            ));
        };
        let manifest = Manifest::from_json(&bytes, &shown, &self.records)?;
        if manifest.id != *id {
            return Err(Error::environment(
                format!(
                    "checkpoint manifest {shown} is corrupt: it describes `{}`",
                    manifest.id
                ),
                None,
            ));
        }
        Ok(manifest)
    }

    fn visit_files(&self, manifest: &Manifest, visit: &mut FileVisitor<'_>) -> Result<()> {
        for entry in &manifest.files {
            let rel = Self::object_rel(&entry.sha256);
            let bytes = match crate::fs::paths::read_own(&self.root, &rel) {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => Err(format!("object {rel} is missing")),
                Err(e) => Err(e.to_string()),
            };
            visit(entry, bytes);
        }
        Ok(())
    }

    fn provenance(&self, _id: &CheckpointId) -> Result<Provenance> {
        // The directory store has no remote: everything in it was made here.
        Ok(Provenance {
            origin: Origin::Local,
            signer: None,
        })
    }

    fn write(
        &self,
        manifest: &Manifest,
        contents: &[Content],
        _seal: Option<&str>,
    ) -> Result<Written> {
        assert_eq!(manifest.files.len(), contents.len(), "one content per file");
        for (entry, content) in manifest.files.iter().zip(contents) {
            match content {
                Content::Bytes(bytes) => self.put_object(&entry.sha256, bytes)?,
                Content::Stored(_) => {
                    let rel = Self::object_rel(&entry.sha256);
                    if !touch(&self.root, &rel)? {
                        return Err(Error::environment(
                            format!("object {rel} is missing from the store"),
                            None,
                        ));
                    }
                }
            }
        }
        // Linked into place without replacing anything: an ID already
        // taken is reported, never overwritten.
        if !crate::fs::atomic::write_new_in(
            &self.root,
            &Self::manifest_rel(&manifest.id),
            &manifest.to_json(),
        )? {
            return Ok(Written::IdTaken);
        }
        Ok(Written::Created {
            objects: manifest.files.iter().map(|f| f.sha256.clone()).collect(),
        })
    }

    fn remove(&self, ids: &[CheckpointId]) -> Result<()> {
        for id in ids {
            crate::fs::atomic::remove_in(&self.root, &Self::manifest_rel(id))?;
        }
        if !ids.is_empty() {
            crate::fs::atomic::sync_dir_in(&self.root, &Self::manifests())?;
            self.collect_garbage()?;
        }
        Ok(())
    }

    fn push(&self, _remote: &str, _ids: Option<&[CheckpointId]>) -> Result<SyncReport> {
        Err(no_remote())
    }

    fn fetch(&self, _remote: &str) -> Result<SyncReport> {
        Err(no_remote())
    }

    fn cache_path(&self) -> PathBuf {
        self.dir.join("cache.json")
    }
}

fn no_remote() -> Error {
    Error::usage(
        "the directory store has no remote: push and fetch need the git store",
        Some(
            "run inside a git work tree, or copy .lifeline/store/ to share checkpoints".to_string(),
        ),
    )
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
