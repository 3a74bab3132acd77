//! Repo-relative paths: checking them, joining them safely under the root,
//! and turning byte offsets into line and column numbers.
//!
//! Every path that comes from a manifest, a config file or the command line
//! goes through [`check_relative`] before lifeline reads or writes it.
//! Inside the root, lifeline never follows a symlink at any component —
//! not even one that stays inside (`docs/x -> ../.git/hooks`): each
//! directory is opened from the root's descriptor with
//! `openat(O_NOFOLLOW | O_DIRECTORY)`, and the last name is read or written
//! relative to its parent's descriptor ([`open_file`] here, and the writers
//! in [`crate::fs::atomic`]). A symlink swapped in between a check and a write
//! cannot redirect it.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{self, AtFlags, FileType, Mode, OFlags, RawMode};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// Checks that `rel` is a normal repo-relative path: not empty, not
/// absolute, no `..`, no `.` segments, no backslashes, no NUL or other
/// control character (an escape sequence or a line break in a name would
/// reach the terminal, and forge lines of a restore plan, wherever the
/// name is printed).
pub(crate) fn check_relative(rel: &str) -> std::result::Result<(), String> {
    if rel.is_empty() {
        return Err("the path is empty".into());
    }
    if rel.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    if rel.contains(char::is_control) {
        return Err("the path holds a control character".into());
    }
    if rel.contains('\\') {
        return Err("use `/` as the separator".into());
    }
    if rel.starts_with('/') || Path::new(rel).is_absolute() || rel.as_bytes().get(1) == Some(&b':')
    {
        return Err("absolute paths are not allowed".into());
    }
    for segment in rel.split('/') {
        match segment {
            ".." => return Err("`..` is not allowed".into()),
            "." | "" => return Err("empty or `.` segments are not allowed".into()),
            _ => {}
        }
    }
    Ok(())
}

/// Joins a checked repo-relative path to `root`, refusing any existing
/// component that is a symlink, wherever it points (inside the root too),
/// or an ancestor that is not a directory.
///
/// The returned path is for messages and for tools that take a path (git);
/// lifeline itself reads and writes inside the root through the
/// descriptor-based functions below, which cannot be raced by a symlink
/// swapped in after this check.
pub(crate) fn safe_join(root: &Path, rel: &str) -> Result<PathBuf> {
    match inspect(root, rel)? {
        Inspect::Blocked { at, kind } => Err(blocked(rel, &at, kind)),
        Inspect::Missing | Inspect::Found(_) => Ok(root.join(rel)),
    }
}

/// What a path resolves to when no symlink is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Unknown,
}

impl Kind {
    fn of(mode: RawMode) -> Kind {
        match FileType::from_raw_mode(mode) {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            FileType::Fifo => Kind::Fifo,
            FileType::Socket => Kind::Socket,
            FileType::CharacterDevice => Kind::CharDevice,
            FileType::BlockDevice => Kind::BlockDevice,
            FileType::Unknown => Kind::Unknown,
        }
    }

    /// "a symlink", "a FIFO", … for messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::File => "a regular file",
            Kind::Dir => "a directory",
            Kind::Symlink => "a symlink",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::Socket => "a socket",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Unknown => "a special file",
        }
    }
}

/// The entry at a path, from `lstat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub kind: Kind,
    pub size: u64,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
}

/// The outcome of looking at a path without following any symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inspect {
    /// Some component does not exist.
    Missing,
    /// The ancestor `at` (repo-relative) is not a plain directory: a
    /// symlink, a file, or something special.
    Blocked { at: String, kind: Kind },
    /// The last component exists; a symlink there is reported, not followed.
    Found(Found),
}

fn refused(rel: &str, why: String) -> Error {
    Error::usage(
        format!("refusing path `{rel}`: {why}"),
        Some(
            "lifeline never follows a symlink inside the repository; replace the link by a real directory or file"
                .to_string(),
        ),
    )
}

fn blocked(rel: &str, at: &str, kind: Kind) -> Error {
    if kind == Kind::Symlink {
        return refused(rel, format!("`{at}` is a symlink"));
    }
    Error::usage(
        format!(
            "refusing path `{rel}`: `{at}` exists and is {}, not a directory",
            kind.describe()
        ),
        Some(format!(
            "move `{at}` aside: lifeline needs a directory there"
        )),
    )
}

fn checked(rel: &str) -> Result<()> {
    check_relative(rel).map_err(|m| {
        Error::usage(
            format!("refusing path `{rel}`: {m}"),
            Some("paths must stay inside the repository".to_string()),
        )
    })
}

/// `rel` split into its directory (`""` for the root) and its last name.
pub(crate) fn split(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

/// Opens the root directory itself (a symlink naming the root is the
/// user's choice and is followed).
pub(crate) fn open_root(root: &Path) -> Result<OwnedFd> {
    fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io(root, e.into()))
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Opens `name` in `dir` as a directory without following a symlink.
fn open_child_dir(dir: &OwnedFd, name: &str) -> rustix::io::Result<OwnedFd> {
    fs::openat(dir, name, DIR_FLAGS, Mode::empty())
}

fn lstat_in(dir: &OwnedFd, name: &str) -> rustix::io::Result<Found> {
    let st = fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(Found {
        kind: Kind::of(st.st_mode as RawMode),
        size: u64::try_from(st.st_size).unwrap_or(0),
        mode: (st.st_mode as u32) & 0o7777,
    })
}

/// A directory under the root, opened component by component without
/// following any symlink; `Ok(None)` when a component does not exist and
/// `create` is false. With `create`, missing directories are made (mode
/// 0777 less the umask) and each parent that got a new entry is fsynced.
pub(crate) fn open_dir(root: &Path, rel_dir: &str, create: bool) -> Result<Option<OwnedFd>> {
    let mut fd = open_root(root)?;
    if rel_dir.is_empty() {
        return Ok(Some(fd));
    }
    checked(rel_dir)?;
    let mut walked = 0;
    for part in rel_dir.split('/') {
        walked += part.len() + usize::from(walked > 0);
        let at = &rel_dir[..walked];
        let next = match open_child_dir(&fd, part) {
            Err(Errno::NOENT) if create => {
                match fs::mkdirat(&fd, part, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(Error::io(root.join(at), e.into())),
                }
                fs::fsync(&fd).map_err(|e| Error::io(root.join(at), e.into()))?;
                open_child_dir(&fd, part)
            }
            other => other,
        };
        fd = match next {
            Ok(next) => next,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(component_error(root, &fd, rel_dir, at, part, e)),
        };
    }
    Ok(Some(fd))
}

/// Why `part` (the component ending `at`) could not be opened as a
/// directory: a symlink or a non-directory is refused by name, anything
/// else is an I/O error.
fn component_error(root: &Path, dir: &OwnedFd, rel: &str, at: &str, part: &str, e: Errno) -> Error {
    match lstat_in(dir, part) {
        Ok(found) if found.kind != Kind::Dir => blocked(rel, at, found.kind),
        _ => Error::io(root.join(at), e.into()),
    }
}

/// Looks at `rel` under `root` without following a symlink at any
/// component, and without opening the last one.
pub(crate) fn inspect(root: &Path, rel: &str) -> Result<Inspect> {
    checked(rel)?;
    let (dir, name) = split(rel);
    let mut fd = open_root(root)?;
    let mut walked = 0;
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        walked += part.len() + usize::from(walked > 0);
        let at = &dir[..walked];
        fd = match open_child_dir(&fd, part) {
            Ok(next) => next,
            Err(Errno::NOENT) => return Ok(Inspect::Missing),
            Err(e) => {
                return match lstat_in(&fd, part) {
                    Ok(found) if found.kind != Kind::Dir => Ok(Inspect::Blocked {
                        at: at.to_string(),
                        kind: found.kind,
                    }),
                    _ => Err(Error::io(root.join(at), e.into())),
                };
            }
        };
    }
    match lstat_in(&fd, name) {
        Ok(found) => Ok(Inspect::Found(found)),
        Err(Errno::NOENT) => Ok(Inspect::Missing),
        Err(e) => Err(Error::io(root.join(rel), e.into())),
    }
}

/// The parent directory of `rel`, opened safely, and `rel`'s last name;
/// `Ok(None)` when the parent does not exist and `create` is false.
pub(crate) fn open_parent<'a>(
    root: &Path,
    rel: &'a str,
    create: bool,
) -> Result<Option<(OwnedFd, &'a str)>> {
    checked(rel)?;
    let (dir, name) = split(rel);
    Ok(open_dir(root, dir, create)?.map(|fd| (fd, name)))
}

/// Opens the regular file `rel` for reading; `Ok(None)` when it does not
/// exist. Never follows a symlink at any component and never opens a
/// FIFO, socket or device: the entry is checked with `lstat` first, opened
/// with `O_NOFOLLOW | O_NONBLOCK`, and checked again (same inode, still a
/// regular file) after opening.
pub(crate) fn open_file(root: &Path, rel: &str) -> Result<Option<File>> {
    let Some((dir, name)) = open_parent(root, rel, false)? else {
        return Ok(None);
    };
    open_in(root, &dir, name, rel)
}

/// [`open_file`] of `name` in its parent `dir`, already opened safely.
fn open_in(root: &Path, dir: &OwnedFd, name: &str, rel: &str) -> Result<Option<File>> {
    let before = match lstat_in(dir, name) {
        Ok(found) => found,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(Error::io(root.join(rel), e.into())),
    };
    if before.kind != Kind::File {
        return Err(not_regular(rel, before.kind));
    }
    open_nofollow(root, dir, name, rel)
}

/// Opens files under one root like [`open_file`], keeping the directory of
/// the last one open: files taken in sorted order (a protected set) share
/// their parent's descriptor instead of walking it from the root again.
/// The descriptor was opened without following a symlink at any component,
/// so reusing it is as safe as walking again; a directory swapped for a
/// symlink since is not followed either way.
pub(crate) struct Opener<'a> {
    root: &'a Path,
    /// The last parent directory asked for, and its descriptor (`None`
    /// when it does not exist).
    parent: Option<(String, Option<OwnedFd>)>,
}

impl<'a> Opener<'a> {
    pub(crate) fn new(root: &'a Path) -> Opener<'a> {
        Opener { root, parent: None }
    }

    fn parent<'r>(&mut self, rel: &'r str) -> Result<Option<(&OwnedFd, &'r str)>> {
        checked(rel)?;
        let (dir, name) = split(rel);
        if self.parent.as_ref().is_none_or(|(open, _)| open != dir) {
            let fd = open_dir(self.root, dir, false)?;
            self.parent = Some((dir.to_string(), fd));
        }
        Ok(self
            .parent
            .as_ref()
            .and_then(|(_, fd)| fd.as_ref())
            .map(|fd| (fd, name)))
    }

    /// `lstat` of `rel`: what is there, never following a symlink at any
    /// component and without opening it; `Ok(None)` when it does not exist.
    pub(crate) fn lstat(&mut self, rel: &str) -> Result<Option<fs::Stat>> {
        let root = self.root;
        let Some((dir, name)) = self.parent(rel)? else {
            return Ok(None);
        };
        match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::io(root.join(rel), e.into())),
        }
    }

    /// [`open_file`] through the kept directory.
    pub(crate) fn open_file(&mut self, rel: &str) -> Result<Option<File>> {
        let root = self.root;
        let Some((dir, name)) = self.parent(rel)? else {
            return Ok(None);
        };
        open_in(root, dir, name, rel)
    }
}

/// True when `st` (from [`Opener::lstat`] or `fstat`) is a regular file.
pub(crate) fn is_regular(st: &fs::Stat) -> bool {
    Kind::of(st.st_mode as RawMode) == Kind::File
}

/// The second layer of [`open_file`], for when the entry changed after its
/// `lstat`: opens `name` in `dir` with `O_NOFOLLOW | O_NONBLOCK` (a symlink
/// fails, a FIFO does not block) and refuses what `fstat` says is not a
/// regular file.
fn open_nofollow(root: &Path, dir: &OwnedFd, name: &str, rel: &str) -> Result<Option<File>> {
    let fd = match fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(Errno::LOOP) => return Err(not_regular(rel, Kind::Symlink)),
        Err(e) => return Err(Error::io(root.join(rel), e.into())),
    };
    let st = fs::fstat(&fd).map_err(|e| Error::io(root.join(rel), e.into()))?;
    let kind = Kind::of(st.st_mode as RawMode);
    if kind != Kind::File {
        return Err(not_regular(rel, kind));
    }
    fs::fcntl_setfl(&fd, OFlags::empty()).map_err(|e| Error::io(root.join(rel), e.into()))?;
    Ok(Some(File::from(fd)))
}

fn not_regular(rel: &str, kind: Kind) -> Error {
    if kind == Kind::Symlink {
        return refused(rel, "it is a symlink".to_string());
    }
    Error::usage(
        format!("refusing path `{rel}`: it is {}, not a regular file", kind.describe()),
        Some("lifeline reads and writes only regular files; remove it or take it out of the protected set".to_string()),
    )
}

/// Reads the regular file `rel` (see [`open_file`]), refusing one larger
/// than `limit` bytes before reading it; `Ok(None)` when it does not exist.
pub(crate) fn read_file(root: &Path, rel: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    let Some(mut file) = open_file(root, rel)? else {
        return Ok(None);
    };
    let len = file
        .metadata()
        .map_err(|e| Error::io(root.join(rel), e))?
        .len();
    if len > limit {
        return Err(too_large(rel, len, limit));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    (&mut file)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(root.join(rel), e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(rel, bytes.len() as u64, limit));
    }
    Ok(Some(bytes))
}

/// Like [`read_file`] with no size limit beyond memory, for lifeline's own
/// records (audit files, incident records, manifests).
pub(crate) fn read_own(root: &Path, rel: &str) -> Result<Option<Vec<u8>>> {
    read_file(root, rel, u64::MAX - 1)
}

fn too_large(rel: &str, len: u64, limit: u64) -> Error {
    Error::usage(
        format!("refusing path `{rel}`: it holds {len} bytes, more than the limit of {limit}"),
        Some(
            "shrink the file (a protected file's limit is `[limits] max_file_size` in lifeline.toml; lifeline.toml's own is 1 MiB)"
                .to_string(),
        ),
    )
}

/// The names in directory `rel_dir` (not `.` or `..`), with what each is,
/// unsorted; `Ok(None)` when the directory does not exist. Names that are
/// not UTF-8 are returned lossily converted and marked `false`.
pub(crate) fn list_dir(root: &Path, rel_dir: &str) -> Result<Option<Vec<(String, Kind, bool)>>> {
    let Some(fd) = open_dir(root, rel_dir, false)? else {
        return Ok(None);
    };
    let shown = root.join(rel_dir);
    let dir = fs::Dir::read_from(&fd).map_err(|e| Error::io(&shown, e.into()))?;
    let mut out = Vec::new();
    for entry in dir {
        let entry = entry.map_err(|e| Error::io(&shown, e.into()))?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let utf8 = std::str::from_utf8(name).is_ok();
        let name = String::from_utf8_lossy(name).into_owned();
        let kind = match entry.file_type() {
            FileType::Unknown => lstat_in(&fd, &name).map_or(Kind::Unknown, |f| f.kind),
            t => Kind::of(t.as_raw_mode()),
        };
        out.push((name, kind, utf8));
    }
    Ok(Some(out))
}

/// The repo-relative, `/`-separated form of `path` under `root`, or `None`
/// when it is not inside the root.
pub(crate) fn relative_to(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The largest char boundary of `text` at or before byte `i`.
pub(crate) fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The opener that keeps a directory open between files follows the
    /// same rules as `open_file`: no symlink at any component, none opened
    /// at the last one, and `lstat` never follows one.
    #[cfg(unix)]
    #[test]
    fn the_opener_keeps_open_files_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::create_dir_all(root.join("outside")).unwrap();
        std::fs::write(root.join("d/a"), "a").unwrap();
        std::fs::write(root.join("d/b"), "b").unwrap();
        std::fs::write(root.join("outside/c"), "c").unwrap();
        std::os::unix::fs::symlink("../outside/c", root.join("d/link")).unwrap();
        std::os::unix::fs::symlink("outside", root.join("via")).unwrap();
        let mut opener = Opener::new(root);
        let mut read = |rel: &str| {
            let mut text = String::new();
            opener
                .open_file(rel)
                .map(|f| f.map(|mut f| f.read_to_string(&mut text).map(|_| text).unwrap()))
        };
        assert_eq!(read("d/a").unwrap().as_deref(), Some("a"));
        assert_eq!(read("d/b").unwrap().as_deref(), Some("b"));
        assert_eq!(read("d/missing").unwrap(), None);
        assert!(read("d/link").unwrap_err().to_string().contains("symlink"));
        assert!(read("via/c").unwrap_err().to_string().contains("symlink"));
        assert_eq!(read("nowhere/x").unwrap(), None);
        let st = opener.lstat("d/link").unwrap().unwrap();
        assert!(!is_regular(&st), "lstat does not follow the link");
        assert!(opener.lstat("via/c").is_err());
        assert!(opener.lstat("d/gone").unwrap().is_none());
        assert!(is_regular(&opener.lstat("d/a").unwrap().unwrap()));
    }

    #[test]
    fn relative_paths_are_checked() {
        assert!(check_relative("planning/TASK.md").is_ok());
        assert!(check_relative(".github/labels.yml").is_ok());
        for bad in [
            "",
            "../x",
            "a/../../x",
            "/etc/x",
            "a//b",
            "./a",
            "a\\b",
            "C:x",
            "a/esc\u{1b}[31m.md",
            "a/new\nline.md",
        ] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "ab\n✔️x\nlast";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, text.find('x').unwrap()), (2, 3));
        assert_eq!(line_col(text, text.len()), (3, 5));
    }

    /// A root with `inside/` and a sibling `outside/` holding `secret`.
    fn layout() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("root");
        let outside = top.path().join("outside");
        std::fs::create_dir_all(root.join("inside")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "s3cret").unwrap();
        std::fs::write(root.join("inside/file"), "in").unwrap();
        (top, root, outside)
    }

    fn fifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }

    #[test]
    fn safe_join_checks_the_relative_path_itself() {
        let (_top, root, _) = layout();
        // `root/inside/..` exists, so only the join's own check refuses.
        for bad in [
            "inside/../inside/file",
            "../outside/secret",
            "/etc/passwd",
            "",
        ] {
            let err = safe_join(&root, bad).unwrap_err();
            assert!(err.to_string().contains("refusing path"), "{bad}: {err}");
        }
        assert_eq!(
            safe_join(&root, "inside/file").unwrap(),
            root.join("inside/file")
        );
    }

    #[test]
    fn every_entry_point_checks_the_relative_path() {
        let (_top, root, outside) = layout();
        assert!(inspect(&root, "../outside/secret").is_err());
        assert!(open_dir(&root, "..", false).is_err());
        assert!(open_dir(&root, "../outside", true).is_err());
        assert!(open_parent(&root, "../outside/secret", false).is_err());
        assert!(open_file(&root, "../outside/secret").is_err());
        assert!(read_file(&root, "../outside/secret", 100).is_err());
        assert!(list_dir(&root, "../outside").is_err());
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"s3cret");
    }

    #[test]
    fn symlinks_are_refused_at_every_component_wherever_they_point() {
        let (_top, root, outside) = layout();
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        std::os::unix::fs::symlink("inside", root.join("alias")).unwrap();
        std::os::unix::fs::symlink("inside/file", root.join("file-alias")).unwrap();
        for rel in ["out/secret", "alias/file"] {
            let err = safe_join(&root, rel).unwrap_err();
            assert!(err.to_string().contains("is a symlink"), "{rel}: {err}");
            assert!(open_file(&root, rel).is_err(), "{rel}");
            assert!(
                open_dir(&root, rel.split('/').next().unwrap(), false).is_err(),
                "{rel}"
            );
        }
        assert_eq!(
            inspect(&root, "alias/file").unwrap(),
            Inspect::Blocked {
                at: "alias".into(),
                kind: Kind::Symlink
            }
        );
        assert!(matches!(
            inspect(&root, "file-alias").unwrap(),
            Inspect::Found(Found {
                kind: Kind::Symlink,
                ..
            })
        ));
        let err = open_file(&root, "file-alias").unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(list_dir(&root, "alias").is_err());
    }

    #[test]
    fn a_file_in_the_middle_of_a_path_is_named() {
        let (_top, root, _) = layout();
        let err = open_dir(&root, "inside/file/deeper", true).unwrap_err();
        assert!(
            err.to_string()
                .contains("`inside/file` exists and is a regular file"),
            "{err}"
        );
        assert!(!root.join("inside/file").is_dir());
    }

    #[test]
    fn open_dir_creates_missing_directories_and_reports_absent_ones() {
        let (_top, root, _) = layout();
        assert!(open_dir(&root, "a/b", false).unwrap().is_none());
        assert!(open_dir(&root, "a/b", true).unwrap().is_some());
        assert!(root.join("a/b").is_dir());
        assert_eq!(inspect(&root, "a/b/c").unwrap(), Inspect::Missing);
        assert_eq!(inspect(&root, "x/y").unwrap(), Inspect::Missing);
    }

    #[test]
    fn fifos_are_never_opened() {
        let (_top, root, _) = layout();
        fifo(&root.join("inside/pipe"));
        assert!(matches!(
            inspect(&root, "inside/pipe").unwrap(),
            Inspect::Found(Found {
                kind: Kind::Fifo,
                ..
            })
        ));
        let err = open_file(&root, "inside/pipe").unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn the_open_itself_refuses_a_symlink_and_a_fifo_the_lstat_did_not_see() {
        let (_top, root, outside) = layout();
        fifo(&root.join("inside/pipe"));
        std::os::unix::fs::symlink(outside.join("secret"), root.join("inside/link")).unwrap();
        let dir = open_dir(&root, "inside", false).unwrap().unwrap();
        let err = open_nofollow(&root, &dir, "pipe", "inside/pipe").unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = open_nofollow(&root, &dir, "link", "inside/link").unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(
            open_nofollow(&root, &dir, "file", "inside/file")
                .unwrap()
                .is_some()
        );
    }

    /// The first layer alone: `open_file` never opens a FIFO at all (the
    /// `lstat` refuses it), which inotify sees: no open event reaches the
    /// FIFO. Without that layer the `O_NONBLOCK` open would still not hang,
    /// but the FIFO would be opened, which a writer waiting on it notices.
    #[test]
    fn open_file_never_opens_a_fifo() {
        let (_top, root, _) = layout();
        let pipe = root.join("inside/pipe");
        fifo(&pipe);
        // SAFETY: inotify_init1 and inotify_add_watch take flags and a
        // NUL-terminated path; read fills the buffer it is given; the
        // descriptor is closed once.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0);
        let c_path = std::ffi::CString::new(pipe.as_os_str().as_encoded_bytes()).unwrap();
        let wd = unsafe { libc::inotify_add_watch(fd, c_path.as_ptr(), libc::IN_OPEN) };
        assert!(wd >= 0);
        let opened = || {
            let mut buf = [0u8; 4096];
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            n > 0
        };
        let err = open_file(&root, "inside/pipe").unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        assert!(!opened(), "open_file opened the FIFO");
        // The watch does see an open: the second layer's own open.
        let dir = open_dir(&root, "inside", false).unwrap().unwrap();
        assert!(open_nofollow(&root, &dir, "pipe", "inside/pipe").is_err());
        assert!(opened(), "the watch saw no open at all");
        unsafe { libc::close(fd) };
    }

    #[test]
    fn files_over_the_limit_are_not_read() {
        let (_top, root, _) = layout();
        let big = std::fs::File::create(root.join("inside/big")).unwrap();
        big.set_len(1 << 40).unwrap();
        let err = read_file(&root, "inside/big", 1 << 20).unwrap_err();
        assert!(err.to_string().contains("more than the limit"), "{err}");
        assert_eq!(read_file(&root, "inside/file", 2).unwrap().unwrap(), b"in");
        assert!(read_file(&root, "inside/file", 1).is_err());
        assert!(read_file(&root, "inside/none", 1).unwrap().is_none());
    }

    #[test]
    fn list_dir_names_each_entry_without_following_it() {
        let (_top, root, outside) = layout();
        std::os::unix::fs::symlink(&outside, root.join("inside/out")).unwrap();
        let mut listed = list_dir(&root, "inside").unwrap().unwrap();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            listed,
            vec![
                ("file".to_string(), Kind::File, true),
                ("out".to_string(), Kind::Symlink, true)
            ]
        );
        assert!(list_dir(&root, "none").unwrap().is_none());
    }
}
