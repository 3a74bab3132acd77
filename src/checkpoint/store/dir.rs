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

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::{Content, Damaged, FileVisitor, Listing, Provenance, Store, SyncReport, Written};
use crate::checkpoint::id::CheckpointId;
use crate::checkpoint::index::Origin;
use crate::checkpoint::manifest::Manifest;
use crate::error::{Error, IoContext, Result};
use crate::protected::Records;

/// The store's directory under the root.
pub const STORE_DIR: &str = ".lifeline/store";
/// Unreferenced objects younger than this are left alone.
const GC_GRACE: Duration = Duration::from_secs(3600);

/// Checkpoints in a content-addressed directory.
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
    records: Records,
}

impl DirStore {
    /// The store under `root` (created on first write); a manifest naming
    /// one of `records` is damaged.
    pub fn new(root: &Path, records: Records) -> DirStore {
        DirStore {
            dir: root.join(STORE_DIR),
            records,
        }
    }

    fn manifests(&self) -> PathBuf {
        self.dir.join("checkpoints")
    }

    fn manifest_path(&self, id: &CheckpointId) -> PathBuf {
        self.manifests().join(format!("{id}.json"))
    }

    fn object_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("objects").join(&sha256[..2]).join(sha256)
    }

    /// Stores `bytes` under their SHA-256 unless already there (then marks
    /// the object as in use by touching it).
    fn put_object(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self.object_path(sha256);
        if touch(&path)? {
            return Ok(());
        }
        let dir = path.parent().expect("objects have a parent");
        let new_dir = !dir.exists();
        crate::atomic::write(&path, bytes, Some(0o644))?;
        if new_dir {
            crate::atomic::sync_dir(dir.parent().expect("objects/ exists"))?;
        }
        Ok(())
    }

    /// Reads every manifest: the parsed ones, and the names that failed.
    fn read_all(&self) -> Result<(Vec<Manifest>, Vec<Damaged>)> {
        let dir = self.manifests();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], vec![])),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut manifests = Vec::new();
        let mut damaged = Vec::new();
        for entry in entries {
            let entry = entry.at(&dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Temporary files of a create in progress (or a crashed one).
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            if stem.starts_with('.') {
                continue;
            }
            let shown = format!("{STORE_DIR}/checkpoints/{name}");
            let parsed = stem
                .parse::<CheckpointId>()
                .map_err(|m| Error::environment(m, None))
                .and_then(|id| {
                    let bytes = fs::read(entry.path()).at(entry.path())?;
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
                    reason: e.to_string(),
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
        let objects = self.dir.join("objects");
        let mut removed = 0;
        let Ok(fanout) = fs::read_dir(&objects) else {
            return Ok(0);
        };
        let now = SystemTime::now();
        for sub in fanout {
            let sub = sub.at(&objects)?.path();
            let Ok(files) = fs::read_dir(&sub) else {
                continue;
            };
            for file in files {
                let file = file.at(&sub)?;
                let name = file.file_name().to_string_lossy().into_owned();
                if used.contains(name.as_str()) {
                    continue;
                }
                let age = file
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .unwrap_or_default();
                if age >= GC_GRACE {
                    fs::remove_file(file.path()).at(file.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Sets the modification time of `path` to now; false when it does not
/// exist.
fn touch(path: &Path) -> Result<bool> {
    match fs::OpenOptions::new().append(true).open(path) {
        Ok(f) => {
            f.set_modified(SystemTime::now()).at(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
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
                summary.observed_at = fs::metadata(self.manifest_path(&m.id))
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
        let path = self.manifest_path(id);
        let shown = self.location(id);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::environment(
                    format!("no checkpoint `{id}` ({shown} does not exist)"),
                    Some("`lifeline checkpoint list` shows the checkpoints there are".to_string()),
                ));
            }
            Err(e) => return Err(Error::io(&path, e)),
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
            let path = self.object_path(&entry.sha256);
            let bytes = fs::read(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => format!(
                    "object {STORE_DIR}/objects/{}/{} is missing",
                    &entry.sha256[..2],
                    entry.sha256
                ),
                _ => format!("{}: {e}", path.display()),
            });
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
                    let path = self.object_path(&entry.sha256);
                    if !touch(&path)? {
                        return Err(Error::environment(
                            format!("object {} is missing from the store", path.display()),
                            None,
                        ));
                    }
                }
            }
        }
        let dir = self.manifests();
        let new_dir = !dir.exists();
        fs::create_dir_all(&dir).at(&dir)?;
        if new_dir {
            crate::atomic::sync_dir(&self.dir)?;
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".json")
            .tempfile_in(&dir)
            .at(&dir)?;
        tmp.write_all(&manifest.to_json()).at(tmp.path())?;
        tmp.as_file().sync_all().at(tmp.path())?;
        let target = self.manifest_path(&manifest.id);
        match tmp.persist_noclobber(&target) {
            Ok(_) => {}
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Ok(Written::IdTaken);
            }
            Err(e) => return Err(Error::io(&target, e.error)),
        }
        crate::atomic::sync_dir(&dir)?;
        Ok(Written::Created {
            objects: manifest.files.iter().map(|f| f.sha256.clone()).collect(),
        })
    }

    fn remove(&self, ids: &[CheckpointId]) -> Result<()> {
        for id in ids {
            let path = self.manifest_path(id);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        if !ids.is_empty() {
            crate::atomic::sync_dir(&self.manifests())?;
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
