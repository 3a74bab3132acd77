//! Crash-safe file writes: a temporary file in the same directory, fsynced,
//! renamed over the target, and the directory fsynced. A reader (or a crash)
//! sees the old bytes or the new bytes, never a mix.
//!
//! Writes under the repository root (`*_in`) open every directory from the
//! root's descriptor without following a symlink at any component (see
//! [`crate::fs::paths`]) and create, rename and remove names relative to the
//! parent's descriptor, so no symlink — inside the root or out of it, there
//! before the check or swapped in after it — can redirect them.

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, RawMode};
use rustix::io::Errno;

use crate::error::{Error, IoContext, Result};
use crate::fs::paths;

/// The prefix of every temporary file lifeline stages next to a target.
pub(crate) const TMP_PREFIX: &str = ".lifeline-tmp-";

/// Writes `bytes` to `path` atomically, creating parent directories. For
/// lifeline's private files outside the working tree (inside the git
/// directory); files under the root go through [`write_in`].
/// When `mode` is given (Unix permission bits), the file gets it.
pub(crate) fn write(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir).at(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)
        .at(dir)?;
    tmp.write_all(bytes).at(tmp.path())?;
    if let Some(mode) = mode {
        set_mode(tmp.as_file(), mode).at(tmp.path())?;
    }
    tmp.as_file().sync_all().at(tmp.path())?;
    tmp.persist(path)
        .map_err(|e| crate::Error::io(path, e.error))?;
    sync_dir(dir)
}

/// A file written and fsynced under a temporary name in its target's
/// directory (held open by descriptor, so the directory cannot be swapped
/// for a symlink), waiting for [`Staged::commit`]. Dropped uncommitted, the
/// temporary file is removed.
pub(crate) struct Staged {
    /// Shared by the files a [`Stager`] puts in the same directory.
    dir: Arc<OwnedFd>,
    tmp: String,
    name: String,
    shown: PathBuf,
}

impl Staged {
    /// Renames the staged file over its target (inside the same directory
    /// descriptor). The directory is not fsynced: see [`Staged::dir`].
    pub(crate) fn commit(mut self) -> Result<()> {
        let tmp = std::mem::take(&mut self.tmp);
        rfs::renameat(&self.dir, tmp.as_str(), &self.dir, self.name.as_str()).map_err(|e| {
            let _ = rfs::unlinkat(&self.dir, tmp.as_str(), AtFlags::empty());
            Error::io(&self.shown, e.into())
        })
    }

    /// Fsyncs the target's directory, making a commit durable.
    pub(crate) fn sync_dir(&self) -> Result<()> {
        rfs::fsync(&*self.dir).map_err(|e| Error::io(&self.shown, e.into()))
    }

    /// Fsyncs the staged bytes (for files a [`Stager`] wrote, which are not
    /// yet durable); call it before [`Staged::commit`].
    pub(crate) fn sync(&self) -> Result<()> {
        let file = rfs::openat(
            &*self.dir,
            self.tmp.as_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(&self.shown, e.into()))?;
        rfs::fsync(&file).map_err(|e| Error::io(&self.shown, e.into()))
    }
}

/// Stages many files under one root, opening each directory once (files
/// taken in order share it) instead of walking from the root for each, and
/// without fsyncing: the caller fsyncs every [`Staged`] ([`Staged::sync`],
/// in parallel if it likes) before committing any, which keeps the write
/// crash safe while the fsyncs overlap.
pub(crate) struct Stager<'a> {
    root: &'a Path,
    last: Option<(String, Arc<OwnedFd>)>,
}

impl<'a> Stager<'a> {
    pub(crate) fn new(root: &'a Path) -> Stager<'a> {
        Stager { root, last: None }
    }

    /// Writes `bytes` for `rel` to a temporary file in its directory
    /// (created, like [`stage`], without following any symlink); not
    /// fsynced.
    pub(crate) fn stage(&mut self, rel: &str, bytes: &[u8], mode: Option<u32>) -> Result<Staged> {
        let shown = self.root.join(rel);
        let (dir, name) = paths::split(rel);
        let fd = match &self.last {
            Some((open, fd)) if open == dir => Arc::clone(fd),
            _ => {
                let (fd, _) =
                    paths::open_parent(self.root, rel, true)?.expect("created parents exist");
                let fd = Arc::new(fd);
                self.last = Some((dir.to_string(), Arc::clone(&fd)));
                fd
            }
        };
        write_staged(fd, name, shown, bytes, mode, false)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.tmp.is_empty() {
            let _ = rfs::unlinkat(&self.dir, self.tmp.as_str(), AtFlags::empty());
        }
    }
}

/// Creates a new temporary file in `dir` (never following or replacing
/// anything): mode 0666, or `mode`'s permission bits (never setuid, setgid
/// or sticky) when given, less the umask.
fn create_temp(dir: &OwnedFd, shown: &Path, mode: Option<u32>) -> Result<(File, String)> {
    let flags = OFlags::WRONLY
        | OFlags::CREATE
        | OFlags::EXCL
        | OFlags::NOFOLLOW
        | OFlags::NOCTTY
        | OFlags::CLOEXEC;
    loop {
        let name = format!("{TMP_PREFIX}{}", uuid::Uuid::now_v7().simple());
        // The mode is given at creation, so the kernel takes the umask off
        // (0644 under umask 022); only the permission bits are ever kept, so
        // no setuid, setgid or sticky file is made.
        let create_mode = mode.map_or(0o666, |m| m & 0o777);
        match rfs::openat(
            dir,
            name.as_str(),
            flags,
            Mode::from_raw_mode(create_mode as RawMode),
        ) {
            Ok(fd) => return Ok((File::from(fd), name)),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(Error::io(shown, e.into())),
        }
    }
}

/// Stages `bytes` for `rel` under `root`: parent directories are opened
/// (and created) without following any symlink, then the bytes are written
/// and fsynced to a temporary file there.
pub(crate) fn stage(root: &Path, rel: &str, bytes: &[u8], mode: Option<u32>) -> Result<Staged> {
    stage_with(root, rel, bytes, mode, true)
}

/// [`stage`], fsyncing the temporary file only when `durable`.
fn stage_with(
    root: &Path,
    rel: &str,
    bytes: &[u8],
    mode: Option<u32>,
    durable: bool,
) -> Result<Staged> {
    let shown = root.join(rel);
    let (dir, name) = paths::open_parent(root, rel, true)?.expect("created parents exist");
    write_staged(Arc::new(dir), name, shown, bytes, mode, durable)
}

/// Writes `bytes` to a new temporary file for `name` in `dir`, fsynced
/// when `durable`.
fn write_staged(
    dir: Arc<OwnedFd>,
    name: &str,
    shown: PathBuf,
    bytes: &[u8],
    mode: Option<u32>,
    durable: bool,
) -> Result<Staged> {
    let (mut file, tmp) = create_temp(&dir, &shown, mode)?;
    let staged = Staged {
        dir,
        tmp,
        name: name.to_string(),
        shown,
    };
    file.write_all(bytes).at(&staged.shown)?;
    if durable {
        file.sync_all().at(&staged.shown)?;
    }
    Ok(staged)
}

/// Writes `bytes` to `rel` under `root` atomically and durably (temporary
/// file, fsync, rename, fsync of the directory), never following a
/// symlink at any component; a symlink at `rel` itself is replaced, not
/// followed. `mode` as in [`stage`].
pub(crate) fn write_in(root: &Path, rel: &str, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let staged = stage(root, rel, bytes, mode)?;
    let dir = staged.dir.try_clone().at(&staged.shown)?;
    let shown = staged.shown.clone();
    staged.commit()?;
    rfs::fsync(&dir).map_err(|e| Error::io(&shown, e.into()))
}

/// Writes `bytes` to `rel` only when nothing is there yet (temporary file,
/// fsync, hard link, fsync of the directory). False when `rel` exists.
pub(crate) fn write_new_in(root: &Path, rel: &str, bytes: &[u8]) -> Result<bool> {
    let staged = stage(root, rel, bytes, None)?;
    match rfs::linkat(
        &staged.dir,
        staged.tmp.as_str(),
        &staged.dir,
        staged.name.as_str(),
        AtFlags::empty(),
    ) {
        Ok(()) => {}
        Err(Errno::EXIST) => return Ok(false),
        Err(e) => return Err(Error::io(&staged.shown, e.into())),
    }
    // Dropping `staged` removes the temporary name; the link stays.
    staged.sync_dir()?;
    Ok(true)
}

/// Removes the file `rel` (a symlink there is removed, not followed);
/// false when it was not there.
pub(crate) fn remove_in(root: &Path, rel: &str) -> Result<bool> {
    let Some((dir, name)) = paths::open_parent(root, rel, false)? else {
        return Ok(false);
    };
    match rfs::unlinkat(&dir, name, AtFlags::empty()) {
        Ok(()) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(Error::io(root.join(rel), e.into())),
    }
}

/// Renames `from` to `to` (both under `root`), creating `to`'s parents,
/// then fsyncs both directories.
pub(crate) fn rename_in(root: &Path, from: &str, to: &str) -> Result<()> {
    let shown = root.join(from);
    let Some((from_dir, from_name)) = paths::open_parent(root, from, false)? else {
        return Err(Error::io(&shown, std::io::ErrorKind::NotFound.into()));
    };
    let (to_dir, to_name) = paths::open_parent(root, to, true)?.expect("created parents exist");
    rfs::renameat(&from_dir, from_name, &to_dir, to_name)
        .map_err(|e| Error::io(&shown, e.into()))?;
    rfs::fsync(&to_dir).map_err(|e| Error::io(root.join(to), e.into()))?;
    rfs::fsync(&from_dir).map_err(|e| Error::io(&shown, e.into()))
}

/// Opens the regular file `rel` for appending, creating it (mode 0666 less
/// the umask) and its parents when missing, never following a symlink at
/// any component and never opening a FIFO or device.
pub(crate) fn open_append(root: &Path, rel: &str) -> Result<File> {
    let shown = root.join(rel);
    let (dir, name) = paths::open_parent(root, rel, true)?.expect("created parents exist");
    let fd = match rfs::openat(
        &dir,
        name,
        OFlags::WRONLY
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::NOCTTY
            | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    ) {
        Ok(fd) => fd,
        Err(e) => return Err(open_error(root, rel, &dir, name, e)),
    };
    let st = rfs::fstat(&fd).map_err(|e| Error::io(&shown, e.into()))?;
    if rfs::FileType::from_raw_mode(st.st_mode as RawMode) != rfs::FileType::RegularFile {
        return Err(Error::usage(
            format!("refusing path `{rel}`: it is not a regular file"),
            Some("remove it; lifeline writes only regular files".to_string()),
        ));
    }
    rfs::fcntl_setfl(&fd, OFlags::APPEND).map_err(|e| Error::io(&shown, e.into()))?;
    Ok(File::from(fd))
}

/// Opens the existing regular file `rel` for writing without truncating
/// it (for locks and modification-time updates); `Ok(None)` when missing.
pub(crate) fn open_existing_for_write(root: &Path, rel: &str) -> Result<Option<File>> {
    let shown = root.join(rel);
    let Some((dir, name)) = paths::open_parent(root, rel, false)? else {
        return Ok(None);
    };
    let fd = match rfs::openat(
        &dir,
        name,
        OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(open_error(root, rel, &dir, name, e)),
    };
    let st = rfs::fstat(&fd).map_err(|e| Error::io(&shown, e.into()))?;
    if rfs::FileType::from_raw_mode(st.st_mode as RawMode) != rfs::FileType::RegularFile {
        return Err(Error::usage(
            format!("refusing path `{rel}`: it is not a regular file"),
            Some("remove it; lifeline writes only regular files".to_string()),
        ));
    }
    Ok(Some(File::from(fd)))
}

fn open_error(root: &Path, rel: &str, dir: &OwnedFd, name: &str, e: Errno) -> Error {
    let is_link = rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
        rfs::FileType::from_raw_mode(st.st_mode as RawMode) == rfs::FileType::Symlink
    });
    if is_link {
        return Error::usage(
            format!("refusing path `{rel}`: it is a symlink"),
            Some(
                "lifeline never follows a symlink inside the repository; remove the link"
                    .to_string(),
            ),
        );
    }
    Error::io(root.join(rel), e.into())
}

/// Where lifeline's private file `path` is opened from, and its path below
/// that. Private files (the stat cache, the checkpoint index, the audit
/// leaf cache, the restore lock) live in the git directory, or under the
/// root (`.lifeline/`, the audit directory) without git:
///
/// - under `<root>/.git/`: that git directory (git's own, which tooling
///   may make a symlink, is trusted like the root);
/// - elsewhere under `root` (`.lifeline/`, the audit directory): the root,
///   like any other file;
/// - elsewhere (the git directory of a linked work tree): the directory
///   holding the last `lifeline` component of `path`, the git directory;
/// - else `path`'s own directory.
///
/// Only the anchor is reached by path; no component below it is followed
/// when it is a symlink, so a link planted at `lifeline/` or at the file
/// cannot redirect a read or a write.
pub(crate) fn private_anchor(root: &Path, path: &Path) -> (PathBuf, String) {
    if let Some(rel) = paths::relative_to(root, path) {
        return match rel.strip_prefix(".git/") {
            Some(inner) => (root.join(".git"), inner.to_string()),
            None => (root.to_path_buf(), rel),
        };
    }
    let anchor = path
        .ancestors()
        .skip(1)
        .find(|a| a.file_name().is_some_and(|n| n == "lifeline"))
        .and_then(Path::parent)
        .unwrap_or_else(|| parent_dir(path));
    match paths::relative_to(anchor, path) {
        Some(rel) => (anchor.to_path_buf(), rel),
        None => (
            parent_dir(path).to_path_buf(),
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        ),
    }
}

/// Reads the private file `path` (see [`private_anchor`]); `Ok(None)` when
/// it does not exist.
pub(crate) fn read_private(root: &Path, path: &Path) -> Result<Option<Vec<u8>>> {
    let (anchor, rel) = private_anchor(root, path);
    paths::read_own(&anchor, &rel)
}

/// Opens the private file `path` for reading (see [`private_anchor`]);
/// `Ok(None)` when it does not exist.
pub(crate) fn open_private(root: &Path, path: &Path) -> Result<Option<File>> {
    let (anchor, rel) = private_anchor(root, path);
    paths::open_file(&anchor, &rel)
}

/// Replaces the private file `path` atomically and durably (see
/// [`private_anchor`]).
pub(crate) fn write_private(root: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let (anchor, rel) = private_anchor(root, path);
    write_in(&anchor, &rel, bytes, None)
}

/// Replaces the private file `path` atomically but without fsync (see
/// [`private_anchor`]): for a cache whose loss only costs reading again.
pub(crate) fn replace_private(root: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let (anchor, rel) = private_anchor(root, path);
    stage_with(&anchor, &rel, bytes, None, false)?.commit()
}

/// Opens (creating) the private file `path` for appending, never
/// truncating it (see [`private_anchor`]): for locks and caches that grow.
pub(crate) fn open_private_append(root: &Path, path: &Path) -> Result<File> {
    let (anchor, rel) = private_anchor(root, path);
    open_append(&anchor, &rel)
}

/// Fsyncs directory `rel_dir` under `root` (opened without following
/// symlinks); nothing to do when it does not exist.
pub(crate) fn sync_dir_in(root: &Path, rel_dir: &str) -> Result<()> {
    match paths::open_dir(root, rel_dir, false)? {
        Some(fd) => rfs::fsync(&fd).map_err(|e| Error::io(root.join(rel_dir), e.into())),
        None => Ok(()),
    }
}

/// Removes the temporary files a killed writer left in directory
/// `rel_dir`; failures are ignored (they are only litter).
pub(crate) fn remove_temporaries_in(root: &Path, rel_dir: &str) {
    let Ok(Some(dir)) = paths::open_dir(root, rel_dir, false) else {
        return;
    };
    let Ok(entries) = rfs::Dir::read_from(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_bytes()
            .starts_with(TMP_PREFIX.as_bytes())
            && entry.file_type() != rfs::FileType::Directory
        {
            let _ = rfs::unlinkat(&dir, entry.file_name(), AtFlags::empty());
        }
    }
}

/// Fsyncs a directory so a rename or a new entry in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// The Unix permission bits of a file (0o644 on other platforms).
pub(crate) fn mode_of(meta: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0o644
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_requested_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file.txt");
        write(&path, b"one", Some(0o600)).unwrap();
        write(&path, b"two", Some(0o640)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        assert_eq!(mode_of(&fs::metadata(&path).unwrap()), 0o640);
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "temporary files left behind: {leftovers:?}"
        );
    }

    /// A root and a sibling directory standing for "outside".
    fn layout() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("root");
        let outside = top.path().join("outside");
        fs::create_dir_all(root.join("dir")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("target"), "outside").unwrap();
        (top, root, outside)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_in_creates_parents_and_replaces_atomically() {
        let (_top, root, _) = layout();
        write_in(&root, "a/b/c.txt", b"one", None).unwrap();
        write_in(&root, "a/b/c.txt", b"two", Some(0o4755)).unwrap();
        assert_eq!(fs::read(root.join("a/b/c.txt")).unwrap(), b"two");
        // Setuid and the like are never set, whatever the caller asks.
        assert_eq!(
            mode_of(&fs::metadata(root.join("a/b/c.txt")).unwrap()),
            0o755
        );
        assert_eq!(names(&root.join("a/b")), ["c.txt"]);
    }

    #[test]
    fn writes_never_go_through_a_symlinked_directory() {
        let (_top, root, outside) = layout();
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        std::os::unix::fs::symlink("dir", root.join("alias")).unwrap();
        for rel in ["out/target", "out/new", "alias/new"] {
            let err = write_in(&root, rel, b"x", None).unwrap_err();
            assert!(err.to_string().contains("symlink"), "{rel}: {err}");
            assert!(remove_in(&root, rel).is_err(), "{rel}");
            assert!(open_append(&root, rel).is_err(), "{rel}");
            assert!(write_new_in(&root, rel, b"x").is_err(), "{rel}");
            assert!(rename_in(&root, rel, "dir/moved").is_err(), "{rel}");
        }
        assert_eq!(names(&outside), ["target"]);
        assert_eq!(fs::read(outside.join("target")).unwrap(), b"outside");
        assert!(names(&root.join("dir")).is_empty());
    }

    #[test]
    fn a_symlink_at_the_target_is_replaced_or_removed_never_followed() {
        let (_top, root, outside) = layout();
        std::os::unix::fs::symlink(outside.join("target"), root.join("dir/link")).unwrap();
        let err = open_append(&root, "dir/link").unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(open_existing_for_write(&root, "dir/link").is_err());
        write_in(&root, "dir/link", b"mine", None).unwrap();
        assert!(
            !fs::symlink_metadata(root.join("dir/link"))
                .unwrap()
                .is_symlink()
        );
        std::os::unix::fs::symlink(outside.join("target"), root.join("dir/link2")).unwrap();
        assert!(remove_in(&root, "dir/link2").unwrap());
        assert_eq!(fs::read(outside.join("target")).unwrap(), b"outside");
    }

    #[test]
    fn relative_paths_are_checked_by_every_writer() {
        let (top, root, _) = layout();
        assert!(write_in(&root, "../escaped", b"x", None).is_err());
        assert!(write_new_in(&root, "../escaped", b"x").is_err());
        assert!(open_append(&root, "../escaped").is_err());
        assert!(rename_in(&root, "dir", "../escaped").is_err());
        assert!(remove_in(&root, "../outside/target").is_err());
        assert!(!top.path().join("escaped").exists());
        assert!(top.path().join("outside/target").exists());
    }

    #[test]
    fn write_new_in_never_replaces() {
        let (_top, root, _) = layout();
        assert!(write_new_in(&root, "dir/m.json", b"first").unwrap());
        assert!(!write_new_in(&root, "dir/m.json", b"second").unwrap());
        assert_eq!(fs::read(root.join("dir/m.json")).unwrap(), b"first");
        assert_eq!(names(&root.join("dir")), ["m.json"]);
    }

    #[test]
    fn a_dropped_stage_leaves_nothing_and_litter_is_cleared() {
        let (_top, root, _) = layout();
        let staged = stage(&root, "dir/f", b"x", None).unwrap();
        assert_eq!(names(&root.join("dir")).len(), 1);
        drop(staged);
        assert!(names(&root.join("dir")).is_empty());
        fs::write(root.join("dir").join(format!("{TMP_PREFIX}old")), "x").unwrap();
        fs::write(root.join("dir/keep"), "x").unwrap();
        remove_temporaries_in(&root, "dir");
        assert_eq!(names(&root.join("dir")), ["keep"]);
    }

    #[test]
    fn append_and_rename_stay_inside() {
        let (_top, root, _) = layout();
        let mut f = open_append(&root, "log/a.jsonl").unwrap();
        f.write_all(b"1\n").unwrap();
        let mut f = open_append(&root, "log/a.jsonl").unwrap();
        f.write_all(b"2\n").unwrap();
        assert_eq!(fs::read(root.join("log/a.jsonl")).unwrap(), b"1\n2\n");
        rename_in(&root, "log/a.jsonl", "other/b.jsonl").unwrap();
        assert!(root.join("other/b.jsonl").is_file());
        assert!(!remove_in(&root, "log/a.jsonl").unwrap());
    }

    /// A linked work tree's git directory lies outside the root: its
    /// private files are opened from the git directory down, so a link
    /// planted at `lifeline/` (or at the file) redirects nothing.
    #[cfg(unix)]
    #[test]
    fn private_files_outside_the_root_are_never_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("work");
        let git_dir = dir.path().join("main/.git/worktrees/work");
        let outside = dir.path().join("outside");
        for d in [&root, &git_dir, &outside] {
            fs::create_dir_all(d).unwrap();
        }
        std::os::unix::fs::symlink(&outside, git_dir.join("lifeline")).unwrap();
        let index = git_dir.join("lifeline/checkpoint-index.json");
        assert_eq!(
            private_anchor(&root, &index),
            (
                git_dir.clone(),
                "lifeline/checkpoint-index.json".to_string()
            )
        );
        assert!(write_private(&root, &index, b"{}").is_err());
        assert!(replace_private(&root, &index, b"{}").is_err());
        assert!(open_private_append(&root, &index).is_err());
        assert!(read_private(&root, &index).is_err());
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        // Without the link, the same calls work.
        fs::remove_file(git_dir.join("lifeline")).unwrap();
        write_private(&root, &index, b"{}").unwrap();
        assert_eq!(read_private(&root, &index).unwrap().unwrap(), b"{}");
    }

    /// A `.git` that tooling made a symlink is git's own directory, trusted
    /// like the root: lifeline's files below it still work, and a link
    /// planted below it is still refused.
    #[cfg(unix)]
    #[test]
    fn a_linked_dot_git_is_an_anchor_and_links_below_it_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("work");
        let real = dir.path().join("repos/work.git");
        let outside = dir.path().join("outside");
        for d in [&root, &real, &outside] {
            fs::create_dir_all(d).unwrap();
        }
        std::os::unix::fs::symlink(&real, root.join(".git")).unwrap();
        let cache = root.join(".git/lifeline/checkpoint-cache.json");
        assert_eq!(
            private_anchor(&root, &cache),
            (
                root.join(".git"),
                "lifeline/checkpoint-cache.json".to_string()
            )
        );
        write_private(&root, &cache, b"{}").unwrap();
        assert_eq!(
            fs::read(real.join("lifeline/checkpoint-cache.json")).unwrap(),
            b"{}"
        );
        let index = root.join(".git/lifeline/audit-index/tlog-leaves.bin");
        std::os::unix::fs::symlink(&outside, real.join("lifeline/audit-index")).unwrap();
        assert!(open_private_append(&root, &index).is_err());
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    }
}
