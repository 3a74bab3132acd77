//! Where checkpoints live: one small trait, one file per kind of store.
//!
//! - [`git::GitStore`]: commits under `refs/lifeline/checkpoints/<id>` in
//!   the repository, carried to other clones by push and fetch.
//! - [`dir::DirStore`]: a content-addressed directory (`.lifeline/store/`)
//!   for roots that are not git work trees.
//!
//! Both make a checkpoint visible only once it is complete (a ref update or
//! a no-clobber rename is the last step), so a crash leaves nothing
//! half-made in [`Store::list`].

pub mod dir;
pub mod git;

use std::path::PathBuf;

use serde::Serialize;

use super::id::CheckpointId;
use super::manifest::{FileEntry, Manifest, Summary};
use crate::error::Result;

/// The bytes to store for one manifest entry, or the object a previous
/// checkpoint already stored them in.
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    /// Already in the store: the store's object name (a git blob ID, or the
    /// SHA-256 in the directory store).
    Stored(String),
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The checkpoint exists now; the store's object name of each file, in
    /// manifest order.
    Created { objects: Vec<String> },
    /// Another checkpoint already has this ID; nothing visible was written.
    IdTaken,
}

/// The checkpoints a store holds, and entries it could not read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Listing {
    pub checkpoints: Vec<Summary>,
    pub damaged: Vec<Damaged>,
}

/// A stored checkpoint whose summary or manifest cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damaged {
    /// The ref or file name it is stored under.
    pub name: String,
    pub reason: String,
}

/// Where a checkpoint came from, and whose signature over its manifest
/// verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub origin: super::index::Origin,
    /// The signer's public key (hex).
    pub signer: Option<String>,
}

/// What a push or fetch moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub remote: String,
    /// Checkpoints the other side did not have before.
    pub transferred: Vec<String>,
    /// Checkpoints both sides already had.
    pub up_to_date: usize,
}

/// Receives each file of a checkpoint: its stored bytes, or why they
/// cannot be read.
pub type FileVisitor<'a> = dyn FnMut(&FileEntry, std::result::Result<Vec<u8>, String>) + 'a;

/// A checkpoint store.
pub trait Store {
    /// `git` or `directory`.
    fn name(&self) -> &'static str;

    /// Where a checkpoint lives, for people (`refs/lifeline/checkpoints/<id>`).
    fn location(&self, id: &CheckpointId) -> String;

    /// Every complete checkpoint, in no particular order.
    fn list(&self) -> Result<Listing>;

    /// The manifest of `id`, parsed and checked.
    fn manifest(&self, id: &CheckpointId) -> Result<Manifest>;

    /// Calls `visit` with each file of `manifest` in order: its stored bytes
    /// as they are (unverified), or why they cannot be read.
    fn visit_files(&self, manifest: &Manifest, visit: &mut FileVisitor<'_>) -> Result<()>;

    /// Stores a checkpoint: `contents[i]` holds the bytes of
    /// `manifest.files[i]`; `seal` is the signature line over the
    /// manifest's JSON, when a key is configured. The checkpoint becomes
    /// visible in one atomic step at the end, and only if its ID is still
    /// free.
    fn write(
        &self,
        manifest: &Manifest,
        contents: &[Content],
        seal: Option<&str>,
    ) -> Result<Written>;

    /// Where the checkpoint came from and who signed it.
    fn provenance(&self, id: &CheckpointId) -> Result<Provenance>;

    /// Removes checkpoints (and, where the store owns its objects, the
    /// objects no remaining checkpoint uses).
    fn remove(&self, ids: &[CheckpointId]) -> Result<()>;

    /// Sends checkpoints (all of them, or `ids`) to `remote`.
    fn push(&self, remote: &str, ids: Option<&[CheckpointId]>) -> Result<SyncReport>;

    /// Brings `remote`'s checkpoints here.
    fn fetch(&self, remote: &str) -> Result<SyncReport>;

    /// Where capture keeps its stat cache for this store (local, never
    /// shared, safe to delete).
    fn cache_path(&self) -> PathBuf;
}
