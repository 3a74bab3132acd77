//! Checkpoints: immutable, verified snapshots of the protected set plus the
//! git state, taken before a critical operation.
//!
//! The functions here are the library surface restore, undo and guarded
//! runs build on:
//!
//! - [`open`] the workspace's [`Store`];
//! - [`resolve`] an ID, a unique prefix, `latest` or `latest-valid`;
//! - [`Store::manifest`] and [`read_file`] / [`read_files`] for a
//!   checkpoint's files, each verified against its SHA-256;
//! - [`capture`] a new one (a `pre-restore` safety checkpoint included);
//! - [`verify`] one, and [`prune::plan`] which to keep.

pub(crate) mod cache;
pub(crate) mod capture;
pub mod id;
pub(crate) mod index;
pub(crate) mod manifest;
pub(crate) mod prune;
pub(crate) mod resolve;
pub(crate) mod signing;
pub mod store;
pub(crate) mod verify;

pub use capture::{CaptureOptions, capture};
pub use id::CheckpointId;
pub use manifest::{FileEntry, Manifest, Summary};
pub use resolve::resolve;
pub use store::{Store, dir::DirStore, git::GitStore};
pub use verify::{Problem, VerifyReport, verify};

use crate::config::StoreKind;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The type of the safety checkpoint a restore takes first; `latest` and
/// `latest-valid` skip it.
pub const PRE_RESTORE: &str = "pre-restore";

/// The store the configuration picks: git refs inside a git work tree,
/// the directory store elsewhere (`[checkpoint] store` overrides).
pub fn open(ws: &Workspace) -> Result<Box<dyn Store>> {
    let records = crate::config::protected::Records::new(&ws.config);
    match (ws.config.checkpoint.store, &ws.git) {
        (StoreKind::Auto | StoreKind::Git, Some(git)) => {
            Ok(Box::new(GitStore::new(git.clone(), &ws.root, records)?))
        }
        (StoreKind::Git, None) => Err(Error::environment(
            format!(
                "{} is not the top of a git work tree, and [checkpoint] store = \"git\"",
                ws.root.display()
            ),
            Some("run inside the repository, or set store = \"directory\"".to_string()),
        )),
        (StoreKind::Auto | StoreKind::Directory, _) => {
            Ok(Box::new(DirStore::new(&ws.root, records)))
        }
    }
}

/// The bytes of `path` in the checkpoint, checked against the manifest's
/// size and SHA-256. A mismatch or a missing object is an error naming the
/// checkpoint and the path.
pub fn read_file(store: &dyn Store, manifest: &Manifest, path: &str) -> Result<Vec<u8>> {
    let entry = manifest.file(path).ok_or_else(|| {
        Error::usage(
            format!("checkpoint {} has no file `{path}`", manifest.id),
            Some(format!(
                "`lifeline checkpoint show {}` lists its files",
                manifest.id
            )),
        )
    })?;
    let single = Manifest {
        files: vec![entry.clone()],
        ..manifest.clone()
    };
    let mut files = read_files(store, &single)?;
    Ok(files.pop().map(|(_, bytes)| bytes).unwrap_or_default())
}

/// Every file of the checkpoint with its bytes, in manifest order, each
/// checked against its size and SHA-256. The first damaged file is an
/// error naming it.
pub fn read_files(store: &dyn Store, manifest: &Manifest) -> Result<Vec<(FileEntry, Vec<u8>)>> {
    let mut out = Vec::with_capacity(manifest.files.len());
    let mut failure = None;
    store.visit_files(manifest, &mut |entry, bytes| {
        if failure.is_some() {
            return;
        }
        match bytes.and_then(|b| verify::check_bytes(entry, &b).map(|()| b)) {
            Ok(b) => out.push((entry.clone(), b)),
            Err(why) => failure = Some(Error::environment(
                format!("checkpoint {}: `{}` is damaged: {why}", manifest.id, entry.path),
                Some("`lifeline checkpoint verify --all` lists every damaged checkpoint; pick another one".to_string()),
            )),
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
