//! Writing objects and creating a ref in-process, the way git does: a
//! checkpoint's blobs, trees and commit as one pack (with its version 2
//! index), and its ref created only while the name is free. One `git
//! fast-import` (and the `git unpack-objects` it starts for small imports)
//! cost more than the rest of `checkpoint create` put together.
//!
//! Only for repositories this module models exactly: [`super::Git::odb`]
//! says `None` (and the caller asks git) for SHA-256 or any other
//! repository extension, reftable refs, alternates, shared-repository
//! permissions, `core.logAllRefUpdates=always`, and the `GIT_*` variables
//! that move the object directory or the refs (see [`super::files`]).
//!
//! Durability is git's for packs and refs, unconditionally: the pack and its
//! index are written under temporary names (`tmp_pack_*`, `tmp_idx_*`,
//! which `git gc` removes when a crash leaves them), fsynced, renamed into
//! place — the index last, since git ignores a pack without one — and the
//! directory fsynced; only then is the ref created (lock file, fsync,
//! rename, fsync of its directory). A crash at any point leaves at most
//! unreachable objects or litter, never a ref naming a missing object.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use flate2::{Compress, Compression, FlushCompress, Status};
use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;
use sha1::{Digest, Sha1};

use crate::error::{Error, IoContext, Result};

/// A SHA-1 object ID.
pub(crate) type Oid = [u8; 20];

/// The zlib level of everything written: git's `core.looseCompression`
/// default. Checkpoint files are small text or, when large, often already
/// compressed; level 1 is several times faster than level 6 on both.
const LEVEL: u32 = 1;

/// Packs this module wrote that are smaller than this are merged into a
/// later one.
const SMALL_PACK: u64 = 1 << 20;
/// How many such small packs there may be before the next write merges
/// them.
const SMALL_PACKS: usize = 8;
/// The list of those packs, in the common git directory (a cache: losing
/// it only leaves them to `git gc`).
const SMALL_LIST: &str = "lifeline/small-packs";

/// The kinds of object a checkpoint has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Commit,
    Tree,
    Blob,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Tree => "tree",
            Kind::Blob => "blob",
        }
    }

    /// The type number in a pack entry's header.
    fn pack_type(self) -> u8 {
        match self {
            Kind::Commit => 1,
            Kind::Tree => 2,
            Kind::Blob => 3,
        }
    }
}

/// The ID git gives an object of `kind` holding `data`.
pub(crate) fn object_id(kind: Kind, data: &[u8]) -> Oid {
    let mut hash = Sha1::new();
    hash.update(format!("{} {}\0", kind.name(), data.len()).as_bytes());
    hash.update(data);
    hash.finalize().into()
}

/// An ID as lowercase hex.
pub(crate) fn to_hex(id: &Oid) -> String {
    hex::encode(id)
}

/// An ID from 40 hex digits.
pub(crate) fn from_hex(text: &str) -> Option<Oid> {
    let mut id = [0; 20];
    hex::decode_to_slice(text, &mut id).ok()?;
    Some(id)
}

/// One object to put in a pack.
#[derive(Debug, Clone)]
pub(crate) struct Object<'a> {
    pub kind: Kind,
    pub data: std::borrow::Cow<'a, [u8]>,
    pub id: Oid,
}

impl<'a> Object<'a> {
    pub(crate) fn new(kind: Kind, data: impl Into<std::borrow::Cow<'a, [u8]>>) -> Object<'a> {
        let data = data.into();
        let id = object_id(kind, &data);
        Object { kind, data, id }
    }
}

/// A file of a tree to build: its `/`-separated path, whether it is
/// executable, and its blob.
pub(crate) struct TreeFile<'a> {
    pub path: &'a str,
    pub executable: bool,
    pub blob: Oid,
}

/// The trees holding `files`, as git (and `fast-import`) writes them:
/// entries sorted by name with a directory compared as if followed by `/`,
/// modes `100644`, `100755` and `40000`. Returns the root tree's ID and
/// every tree object (a subtree before its parent). An error when a path
/// is both a file and a directory, or has an empty component.
pub(crate) fn trees(
    files: &[TreeFile<'_>],
) -> std::result::Result<(Oid, Vec<Object<'static>>), String> {
    #[derive(Default)]
    struct Dir<'a> {
        files: Vec<(&'a str, bool, Oid)>,
        dirs: std::collections::BTreeMap<&'a str, Dir<'a>>,
    }
    let mut root = Dir::default();
    for file in files {
        let mut dir = &mut root;
        let mut parts = file.path.split('/').peekable();
        while let Some(part) = parts.next() {
            if part.is_empty() {
                return Err(format!("`{}` has an empty path component", file.path));
            }
            if parts.peek().is_none() {
                dir.files.push((part, file.executable, file.blob));
            } else {
                dir = dir.dirs.entry(part).or_default();
            }
        }
    }
    fn write(
        dir: Dir<'_>,
        path: &str,
        out: &mut Vec<Object<'static>>,
    ) -> std::result::Result<Oid, String> {
        let mut entries: Vec<(Vec<u8>, &'static str, Oid)> = Vec::new();
        for (name, executable, blob) in dir.files {
            let mode = if executable { "100755" } else { "100644" };
            entries.push((name.as_bytes().to_vec(), mode, blob));
        }
        for (name, sub) in dir.dirs {
            let sub_path = format!("{path}{name}/");
            let id = write(sub, &sub_path, out)?;
            let mut key = name.as_bytes().to_vec();
            key.push(b'/');
            entries.push((key, "40000", id));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut data = Vec::with_capacity(entries.len() * 40);
        for pair in entries.windows(2) {
            let name = |k: &[u8]| k.strip_suffix(b"/").unwrap_or(k).to_vec();
            if name(&pair[0].0) == name(&pair[1].0) {
                return Err(format!(
                    "`{path}{}` is both a file and a directory, or twice in the checkpoint",
                    String::from_utf8_lossy(&name(&pair[0].0))
                ));
            }
        }
        for (key, mode, id) in entries {
            let name = key.strip_suffix(b"/").unwrap_or(&key);
            data.extend_from_slice(mode.as_bytes());
            data.push(b' ');
            data.extend_from_slice(name);
            data.push(0);
            data.extend_from_slice(&id);
        }
        let tree = Object::new(Kind::Tree, data);
        let id = tree.id;
        out.push(tree);
        Ok(id)
    }
    let mut out = Vec::new();
    let id = write(root, "", &mut out)?;
    Ok((id, out))
}

/// The object directory and refs of a repository this module models.
#[derive(Debug, Clone)]
pub(crate) struct Odb {
    /// The common git directory: `objects/`, `refs/`, `packed-refs`.
    dir: PathBuf,
}

/// Whether objects are in the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    All,
    /// At least one is not: loose or in a pack git would read.
    Missing,
    /// A pack index this module cannot read: ask git.
    Unknown,
}

impl Odb {
    pub(crate) fn new(common_dir: &Path) -> Odb {
        Odb {
            dir: common_dir.to_path_buf(),
        }
    }

    /// Whether every one of `ids` is a loose object or in a pack whose
    /// index (version 2) and pack file are there. An `objects/pack` that
    /// is a symlink (or not a directory) is an error, as it is for
    /// [`Odb::write`]: handing the write to git instead would follow it.
    ///
    /// As git does for an object it finds instead of writing, the file
    /// holding each (the loose object, or the pack) is given the current
    /// time, so a `git gc` running meanwhile does not take an object that
    /// was unreachable until now for old garbage; an object only in a
    /// cruft pack (whose times are per object), or whose file cannot be
    /// touched, is missing, and is then written again, as git writes it.
    pub(crate) fn presence(&self, ids: &[Oid]) -> Result<Presence> {
        if ids.is_empty() {
            return Ok(Presence::All);
        }
        let Ok(Some(objects)) = crate::fs::paths::open_dir(&self.dir, "objects", false) else {
            return Ok(Presence::Unknown);
        };
        let mut wanted: Vec<Oid> = ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        // Packs first, as git looks: a repository keeps most objects there.
        if let Some(pack_dir) = crate::fs::paths::open_dir(&self.dir, "objects/pack", false)? {
            match in_packs(&pack_dir, wanted) {
                Some((left, holding)) => {
                    wanted = left;
                    if !holding
                        .iter()
                        .all(|stem| freshen(&pack_dir, &format!("pack-{stem}.pack")))
                    {
                        return Ok(Presence::Missing);
                    }
                }
                None => return Ok(Presence::Unknown),
            }
        }
        if wanted.iter().all(|id| loose_and_fresh(&objects, id)) {
            Ok(Presence::All)
        } else {
            Ok(Presence::Missing)
        }
    }

    /// Writes `objects` as one pack with its index in `objects/pack/`, then
    /// creates the ref `refname` pointing at `commit` if the name is free
    /// (false when it is taken), durably (see the module documentation).
    /// An object listed twice is stored once.
    ///
    /// A pack per checkpoint would slow every later git process (git opens
    /// each pack's index when it looks for an object), so the small packs
    /// this module wrote are listed in `lifeline/small-packs` and, once
    /// there are [`SMALL_PACKS`] of them, copied into the new pack (their
    /// entries as they are, each checked against its CRC-32) and removed
    /// after it is durable. `git gc` may repack them all at any time.
    pub(crate) fn write(
        &self,
        objects: &[Object<'_>],
        refname: &str,
        commit: &Oid,
    ) -> Result<bool> {
        let shown = self.dir.join("objects/pack");
        let dir = crate::fs::paths::open_dir(&self.dir, "objects/pack", true)?
            .expect("created directories exist");
        let small = self.small_packs(&dir);
        let merged: Vec<(String, OldPack)> = if small.len() >= SMALL_PACKS {
            small
                .iter()
                .filter_map(|stem| OldPack::read(&dir, stem).map(|p| (stem.clone(), p)))
                .collect()
        } else {
            Vec::new()
        };
        let mut seen = std::collections::HashSet::with_capacity(objects.len());
        let unique: Vec<&Object<'_>> = objects.iter().filter(|o| seen.insert(o.id)).collect();
        let copied: Vec<(&Oid, u32, &[u8])> = merged
            .iter()
            .flat_map(|(_, pack)| pack.entries())
            .filter(|(id, _, _)| seen.insert(**id))
            .collect();
        let compressed = compress_all(&unique);
        let (pack_file, pack_tmp) = create_temp(&dir, "tmp_pack_", &shown)?;
        let mut temps = Temps {
            dir: &dir,
            names: vec![pack_tmp.clone()],
        };
        let mut out = HashingWriter::new(BufWriter::with_capacity(1 << 16, pack_file));
        out.write_all(b"PACK").at(&shown)?;
        out.write_all(&2u32.to_be_bytes()).at(&shown)?;
        let count = u32::try_from(unique.len() + copied.len()).expect("fewer than 2^32 objects");
        out.write_all(&count.to_be_bytes()).at(&shown)?;
        let mut entries: Vec<(Oid, u32, u64)> = Vec::with_capacity(count as usize);
        for (object, data) in unique.iter().zip(&compressed) {
            let offset = out.written;
            let header = entry_header(object.kind, object.data.len() as u64);
            let mut crc = flate2::Crc::new();
            crc.update(&header);
            crc.update(data);
            out.write_all(&header).at(&shown)?;
            out.write_all(data).at(&shown)?;
            entries.push((object.id, crc.sum(), offset));
        }
        for (id, crc, raw) in copied {
            entries.push((*id, crc, out.written));
            out.write_all(raw).at(&shown)?;
        }
        let (mut writer, checksum) = out.finish();
        writer.write_all(&checksum).at(&shown)?;
        let pack_file = writer
            .into_inner()
            .map_err(|e| Error::io(&shown, e.into_error()))?;
        let pack_size = pack_file.metadata().at(&shown)?.len();
        let index = index_bytes(entries, &checksum);
        let (mut idx_file, idx_tmp) = create_temp(&dir, "tmp_idx_", &shown)?;
        temps.names.push(idx_tmp.clone());
        // The two fsyncs side by side: the file system may commit them
        // together.
        std::thread::scope(|scope| {
            let pack = scope.spawn(|| pack_file.sync_all());
            idx_file.write_all(&index)?;
            idx_file.sync_all()?;
            pack.join().expect("fsync does not panic")
        })
        .at(&shown)?;
        drop(idx_file);
        let name = format!("pack-{}", hex::encode(checksum));
        let rename = |from: &str, to: String| {
            rfs::renameat(&dir, from, &dir, to.as_str())
                .map_err(|e| Error::io(shown.join(&to), e.into()))
        };
        rename(&pack_tmp, format!("{name}.pack"))?;
        temps.names.remove(0);
        rename(&idx_tmp, format!("{name}.idx"))?;
        temps.names.clear();
        // The directory's fsync (making the pack's names durable) runs
        // while the ref's lock is written and fsynced; the lock becomes the
        // ref only after both.
        let (durable, created) = std::thread::scope(|scope| {
            let mut sync = Some(scope.spawn(|| rfs::fsync(&dir)));
            let mut durable = false;
            let created = self.create_ref(refname, commit, &mut || {
                let result = sync
                    .take()
                    .expect("the ref is renamed once")
                    .join()
                    .expect("fsync does not panic");
                durable = result.is_ok();
                result.map_err(|e| Error::io(&shown, e.into()))
            });
            if let Some(sync) = sync {
                durable = sync.join().expect("fsync does not panic").is_ok();
            }
            (durable, created)
        });
        if durable {
            // After a merge the list keeps none of the packs it named: those
            // merged are gone, and one that did not read as this module
            // writes packs is not its to merge (kept, it would be read
            // again at every merge).
            let mut list: Vec<String> = if small.len() >= SMALL_PACKS {
                Vec::new()
            } else {
                small
            };
            for (stem, _) in &merged {
                // As git removes a pack: its index first.
                for ext in ["idx", "rev", "pack"] {
                    let _ = rfs::unlinkat(&dir, format!("pack-{stem}.{ext}"), AtFlags::empty());
                }
            }
            if pack_size < SMALL_PACK {
                list.push(hex::encode(checksum));
            }
            let _ = crate::fs::atomic::replace_private(
                &self.dir,
                &self.dir.join(SMALL_LIST),
                list.join("\n").as_bytes(),
            );
        }
        created
    }

    /// The packs listed in [`SMALL_LIST`] that are still there, each once
    /// (a list naming one pack thousands of times would otherwise have it
    /// read into memory as often).
    fn small_packs(&self, dir: &OwnedFd) -> Vec<String> {
        let Ok(Some(text)) = crate::fs::paths::read_file(&self.dir, SMALL_LIST, 1 << 16) else {
            return Vec::new();
        };
        let mut seen = std::collections::HashSet::new();
        String::from_utf8_lossy(&text)
            .lines()
            .filter(|stem| from_hex(stem).is_some() && seen.insert(*stem))
            .filter(|stem| {
                ["idx", "pack"].iter().all(|ext| {
                    rfs::statat(dir, format!("pack-{stem}.{ext}"), AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok()
                })
            })
            .map(str::to_string)
            .collect()
    }

    /// Creates the loose ref `name` (`refs/...`) pointing at `id`, only if
    /// no ref of that name exists, loose or packed, as git's files backend
    /// does: `<name>.lock` created exclusively in the ref's directory
    /// (made as needed, never through a symlink), the name checked under
    /// the lock, the ID written and fsynced, `ready` called, the lock
    /// renamed over the name and the directory fsynced. False when the
    /// name is taken.
    fn create_ref(
        &self,
        name: &str,
        id: &Oid,
        ready: &mut dyn FnMut() -> Result<()>,
    ) -> Result<bool> {
        let shown = self.dir.join(name);
        let (dir_rel, leaf) = name.rsplit_once('/').expect("a ref name has a directory");
        let dir = crate::fs::paths::open_dir(&self.dir, dir_rel, true)?
            .expect("created directories exist");
        let lock = format!("{leaf}.lock");
        let file = match rfs::openat(
            &dir,
            lock.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        ) {
            Ok(fd) => File::from(fd),
            Err(Errno::EXIST) => {
                return match self.ref_exists(&dir, leaf, name)? {
                    true => Ok(false),
                    false => Err(Error::Git {
                        command: "create ref".into(),
                        message: format!(
                            "{} exists: another process is updating `{name}`, or one was killed while doing so (remove the file if no git process is running)",
                            self.dir.join(format!("{name}.lock")).display()
                        ),
                    }),
                };
            }
            Err(e) => return Err(Error::io(&shown, e.into())),
        };
        let mut held = Temps {
            dir: &dir,
            names: vec![lock.clone()],
        };
        if self.ref_exists(&dir, leaf, name)? {
            return Ok(false);
        }
        let mut file = file;
        file.write_all(format!("{}\n", to_hex(id)).as_bytes())
            .at(&shown)?;
        file.sync_all().at(&shown)?;
        drop(file);
        ready()?;
        rfs::renameat(&dir, lock.as_str(), &dir, leaf).map_err(|e| Error::io(&shown, e.into()))?;
        held.names.clear();
        rfs::fsync(&dir).map_err(|e| Error::io(&shown, e.into()))?;
        Ok(true)
    }

    /// Whether `name` (whose directory is `dir`, last component `leaf`) is
    /// taken: anything at the loose name, or a packed ref of that name or
    /// below it. A packed ref that is a directory of `name` is an error,
    /// as in git.
    fn ref_exists(&self, dir: &OwnedFd, leaf: &str, name: &str) -> Result<bool> {
        match rfs::statat(dir, leaf, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => return Ok(true),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(Error::io(self.dir.join(name), e.into())),
        }
        let Some(file) = crate::fs::paths::open_file(&self.dir, "packed-refs")? else {
            return Ok(false);
        };
        let below = format!("{name}/");
        for line in std::io::BufRead::split(std::io::BufReader::new(file), b'\n') {
            let line = line.at(self.dir.join("packed-refs"))?;
            let Some(packed) = line.get(41..) else {
                continue;
            };
            let packed = packed.strip_suffix(b"\r").unwrap_or(packed);
            if packed == name.as_bytes() || packed.starts_with(below.as_bytes()) {
                return Ok(true);
            }
            if name.as_bytes().starts_with(packed)
                && name.as_bytes().get(packed.len()) == Some(&b'/')
            {
                return Err(Error::Git {
                    command: "create ref".into(),
                    message: format!(
                        "cannot create `{name}`: `{}` exists",
                        String::from_utf8_lossy(packed)
                    ),
                });
            }
        }
        Ok(false)
    }
}

/// Temporary names in a directory, removed when dropped.
struct Temps<'a> {
    dir: &'a OwnedFd,
    names: Vec<String>,
}

impl Drop for Temps<'_> {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = rfs::unlinkat(self.dir, name.as_str(), AtFlags::empty());
        }
    }
}

/// A new file `<prefix><random>` in `dir`, mode 0444 as git's packs,
/// never following or replacing anything.
fn create_temp(dir: &OwnedFd, prefix: &str, shown: &Path) -> Result<(File, String)> {
    loop {
        let name = format!("{prefix}{}", uuid::Uuid::now_v7().simple());
        match rfs::openat(
            dir,
            name.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o444),
        ) {
            Ok(fd) => return Ok((File::from(fd), name)),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(Error::io(shown, e.into())),
        }
    }
}

/// Those of `wanted` (sorted) that no pack in `pack_dir` holds, and the
/// packs that hold the others; `None` when an index cannot be read. Only
/// indexes whose pack is there count, as for git, and cruft packs (with
/// a `.mtimes`) do not.
fn in_packs(pack_dir: &OwnedFd, mut wanted: Vec<Oid>) -> Option<(Vec<Oid>, Vec<String>)> {
    let mut indexes = Vec::new();
    for entry in rfs::Dir::read_from(pack_dir).ok()? {
        let entry = entry.ok()?;
        let Ok(name) = entry.file_name().to_str() else {
            continue;
        };
        if let Some(stem) = name
            .strip_prefix("pack-")
            .and_then(|n| n.strip_suffix(".idx"))
        {
            indexes.push(stem.to_string());
        }
    }
    let mut holding = Vec::new();
    for stem in indexes {
        if wanted.is_empty() {
            break;
        }
        let pack = format!("pack-{stem}.pack");
        let mtimes = format!("pack-{stem}.mtimes");
        if rfs::statat(pack_dir, pack.as_str(), AtFlags::SYMLINK_NOFOLLOW).is_err()
            || rfs::statat(pack_dir, mtimes.as_str(), AtFlags::SYMLINK_NOFOLLOW).is_ok()
        {
            continue;
        }
        let index = PackIndex::open(pack_dir, &format!("pack-{stem}.idx"), wanted.len()).ok()?;
        let before = wanted.len();
        let mut left = Vec::with_capacity(before);
        for id in wanted {
            if !index.contains(&id)? {
                left.push(id);
            }
        }
        if left.len() < before {
            holding.push(stem);
        }
        wanted = left;
    }
    Some((wanted, holding))
}

/// Whether `objects/xx/yyyy…` is a regular file (its directory opened
/// without following a symlink), given the current time.
fn loose_and_fresh(objects: &OwnedFd, id: &Oid) -> bool {
    let hex = to_hex(id);
    let Ok(dir) = rfs::openat(
        objects,
        &hex[..2],
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let regular = rfs::statat(&dir, &hex[2..], AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
        rfs::FileType::from_raw_mode(st.st_mode as rfs::RawMode) == rfs::FileType::RegularFile
    });
    regular && freshen(&dir, &hex[2..])
}

/// Sets `name`'s times in `dir` to now, as git's `freshen_file`; false
/// when that fails (another user's file, a read-only file system).
fn freshen(dir: &OwnedFd, name: &str) -> bool {
    let now = rfs::Timespec {
        tv_sec: 0,
        tv_nsec: rfs::UTIME_NOW,
    };
    let times = rfs::Timestamps {
        last_access: now,
        last_modification: now,
    };
    rfs::utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW).is_ok()
}

/// Every object's data deflated.
fn compress_all(objects: &[&Object<'_>]) -> Vec<Vec<u8>> {
    par_map(objects, |o| o.data.len(), |o| deflate(&o.data))
}

/// Blob objects holding each of `datas`.
pub(crate) fn blobs<'a>(datas: impl Iterator<Item = &'a [u8]>) -> Vec<Object<'a>> {
    let datas: Vec<&[u8]> = datas.collect();
    par_map(&datas, |d| d.len(), |d| Object::new(Kind::Blob, *d))
}

/// `f` of each item, in order; side by side on up to four cores when the
/// items weigh (`size`) several megabytes, in contiguous runs of about
/// the same weight.
fn par_map<T: Sync, R: Send>(
    items: &[T],
    size: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let total: usize = items.iter().map(&size).sum();
    if total < (4 << 20) {
        return items.iter().map(f).collect();
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads < 2 {
        return items.iter().map(f).collect();
    }
    let share = total.div_ceil(threads);
    let mut runs = Vec::with_capacity(threads);
    let (mut start, mut weight) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        weight += size(item);
        if weight >= share {
            runs.push(&items[start..=i]);
            start = i + 1;
            weight = 0;
        }
    }
    runs.push(&items[start..]);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .map(|run| scope.spawn(move || run.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("hashing and compressing do not panic"))
            .collect()
    })
}

/// `data` as a zlib stream. One compressor per thread, reset for each
/// object: making one allocates and clears a few hundred kilobytes.
///
/// Data that does not compress (random bytes, files already compressed)
/// is stored instead, as zlib's own levels do: level 1 codes it into a
/// stream no shorter than the data, which git then inflates at a fifth
/// of the speed of stored blocks (a restore of 100 MB of such files took
/// 1.5x `cp -a` instead of 0.9x).
fn deflate(data: &[u8]) -> Vec<u8> {
    thread_local! {
        static ZLIB: std::cell::RefCell<Compress> =
            std::cell::RefCell::new(Compress::new(Compression::new(LEVEL), true));
        static STORE: std::cell::RefCell<Compress> =
            std::cell::RefCell::new(Compress::new(Compression::none(), true));
    }
    let store = || STORE.with_borrow_mut(|store| run(store, data));
    // Its first 16 KiB tell whether a larger object compresses, so data
    // that does not is not coded in full only to be stored after all.
    if let Some(probe) = data.get(..PROBE)
        && data.len() > PROBE
        && ZLIB.with_borrow_mut(|zlib| run(zlib, probe)).len() >= PROBE
    {
        return store();
    }
    let coded = ZLIB.with_borrow_mut(|zlib| run(zlib, data));
    if coded.len() < data.len() {
        return coded;
    }
    store()
}

/// How much of an object [`deflate`] codes first to see whether it
/// compresses.
const PROBE: usize = 16 << 10;

/// `data` through `zlib`, reset first, to the end of the stream.
fn run(zlib: &mut Compress, data: &[u8]) -> Vec<u8> {
    zlib.reset();
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    loop {
        let read = usize::try_from(zlib.total_in()).expect("in memory");
        let status = zlib
            .compress_vec(&data[read..], &mut out, FlushCompress::Finish)
            .expect("deflating in memory does not fail");
        if status == Status::StreamEnd {
            return out;
        }
        out.reserve(out.capacity().max(64));
    }
}

/// A pack entry's header: the type and the inflated size, 4 bits then 7
/// bits a byte, the high bit saying another byte follows.
fn entry_header(kind: Kind, mut size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    let mut byte = (kind.pack_type() << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
    out
}

/// A pack index, version 2: fan-out table, sorted IDs, CRC-32s, 31-bit
/// offsets (larger ones through the 64-bit table), the pack's checksum
/// and its own.
fn index_bytes(mut entries: Vec<(Oid, u32, u64)>, pack_checksum: &Oid) -> Vec<u8> {
    entries.sort_unstable_by_key(|a| a.0);
    let mut out = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc");
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in &entries {
        fanout[id[0] as usize] += 1;
    }
    let mut total = 0;
    for count in fanout {
        total += count;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in &entries {
        out.extend_from_slice(id);
    }
    for (_, crc, _) in &entries {
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for (_, _, offset) in &entries {
        let small = match u32::try_from(*offset) {
            Ok(o) if o < 0x8000_0000 => o,
            _ => {
                let at = u32::try_from(large.len()).expect("fewer than 2^31 large offsets");
                large.push(*offset);
                0x8000_0000 | at
            }
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    for offset in large {
        out.extend_from_slice(&offset.to_be_bytes());
    }
    out.extend_from_slice(pack_checksum);
    let own: Oid = Sha1::digest(&out).into();
    out.extend_from_slice(&own);
    out
}

/// A writer that hashes what goes through it and counts it.
struct HashingWriter<W> {
    inner: W,
    hash: Sha1,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hash: Sha1::new(),
            written: 0,
        }
    }

    fn finish(self) -> (W, Oid) {
        (self.inner, self.hash.finalize().into())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A small pack this module wrote, read whole to be copied into the next.
struct OldPack {
    pack: Vec<u8>,
    /// ID, CRC-32 and the entry's byte range, in pack order.
    entries: Vec<(Oid, u32, std::ops::Range<usize>)>,
}

impl OldPack {
    /// The pack `pack-<stem>`, when it is what this module writes: small,
    /// version 2, no deltas, every entry matching its index's CRC-32.
    /// `None` for anything else (it is then left alone).
    fn read(dir: &OwnedFd, stem: &str) -> Option<OldPack> {
        // A pack git keeps (`.keep`: being received, or kept on purpose),
        // a promisor or cruft pack, or one with a bitmap is git's: git
        // made it, whatever the list says, and only git removes it.
        for ext in ["keep", "promisor", "mtimes", "bitmap"] {
            match rfs::statat(dir, format!("pack-{stem}.{ext}"), AtFlags::SYMLINK_NOFOLLOW) {
                Err(Errno::NOENT) => {}
                _ => return None,
            }
        }
        let read = |ext: &str| -> Option<Vec<u8>> {
            let fd = rfs::openat(
                dir,
                format!("pack-{stem}.{ext}"),
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            let file = File::from(fd);
            let meta = file.metadata().ok()?;
            if !meta.is_file() || meta.len() > 2 * SMALL_PACK {
                return None;
            }
            let mut bytes = Vec::with_capacity(meta.len() as usize);
            std::io::Read::read_to_end(&mut std::io::Read::take(file, 2 * SMALL_PACK), &mut bytes)
                .ok()?;
            Some(bytes)
        };
        let idx = read("idx")?;
        let pack = read("pack")?;
        let be32 = |b: &[u8], at: usize| -> Option<u32> {
            Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
        };
        if idx.get(..8)? != b"\xfftOc\0\0\0\x02" || pack.get(..8)? != b"PACK\0\0\0\x02" {
            return None;
        }
        let count = be32(&idx, 8 + 255 * 4)? as usize;
        let names = 8 + 1024;
        let crcs = names + count * 20;
        let offsets = crcs + count * 4;
        if idx.len() != offsets + count * 4 + 40
            || be32(&pack, 8)? as usize != count
            || pack.len() < 12 + 20
            || idx[offsets + count * 4..offsets + count * 4 + 20] != pack[pack.len() - 20..]
        {
            return None;
        }
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let id: Oid = idx[names + i * 20..names + i * 20 + 20].try_into().ok()?;
            let offset = be32(&idx, offsets + i * 4)?;
            if offset & 0x8000_0000 != 0 {
                return None;
            }
            entries.push((id, be32(&idx, crcs + i * 4)?, offset as usize));
        }
        entries.sort_unstable_by_key(|e| e.2);
        let end = pack.len() - 20;
        let mut out = Vec::with_capacity(count);
        for (i, (id, crc, start)) in entries.iter().enumerate() {
            let stop = entries.get(i + 1).map_or(end, |e| e.2);
            let raw = pack.get(*start..stop)?;
            // Whole objects only (commit, tree, blob, tag), never a delta.
            let kind = (raw.first()? >> 4) & 7;
            let mut sum = flate2::Crc::new();
            sum.update(raw);
            if !(1..=4).contains(&kind) || sum.sum() != *crc {
                return None;
            }
            out.push((*id, *crc, *start..stop));
        }
        Some(OldPack { pack, entries: out })
    }

    fn entries(&self) -> impl Iterator<Item = (&Oid, u32, &[u8])> {
        self.entries
            .iter()
            .map(|(id, crc, range)| (id, *crc, &self.pack[range.clone()]))
    }
}

/// A version 2 pack index, read by position (never whole: a large
/// repository's index is hundreds of megabytes).
struct PackIndex {
    file: File,
    fanout: [u32; 256],
    /// The sorted IDs, read whole when many lookups are coming and the
    /// table is not too large; else each probe is read on its own.
    names: Option<Vec<u8>>,
}

impl PackIndex {
    fn open(dir: &OwnedFd, name: &str, lookups: usize) -> std::io::Result<PackIndex> {
        let fd = rfs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let file = File::from(fd);
        let meta = file.metadata()?;
        let bad = || std::io::Error::other("not a version 2 pack index");
        if !meta.is_file() {
            return Err(bad());
        }
        let mut head = [0u8; 8 + 1024];
        file.read_exact_at(&mut head, 0)?;
        if head[..8] != *b"\xfftOc\0\0\0\x02" {
            return Err(bad());
        }
        let mut fanout = [0u32; 256];
        for (i, slot) in fanout.iter_mut().enumerate() {
            let at = 8 + i * 4;
            *slot = u32::from_be_bytes(head[at..at + 4].try_into().expect("4 bytes"));
        }
        if fanout.windows(2).any(|w| w[0] > w[1])
            || meta.len() < 8 + 1024 + u64::from(fanout[255]) * 28 + 40
        {
            return Err(bad());
        }
        let table = fanout[255] as usize * 20;
        let names = if lookups > 16 && table <= 64 << 20 {
            let mut names = vec![0; table];
            file.read_exact_at(&mut names, 8 + 1024)?;
            Some(names)
        } else {
            None
        };
        Ok(PackIndex {
            file,
            fanout,
            names,
        })
    }

    /// Whether `id` is in the index; `None` when it cannot be read.
    fn contains(&self, id: &Oid) -> Option<bool> {
        let first = id[0] as usize;
        let mut lo = if first == 0 {
            0
        } else {
            self.fanout[first - 1]
        };
        let mut hi = self.fanout[first];
        let mut name = [0u8; 20];
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match &self.names {
                Some(names) => {
                    let at = mid as usize * 20;
                    name.copy_from_slice(&names[at..at + 20]);
                }
                None => self
                    .file
                    .read_exact_at(&mut name, 8 + 1024 + u64::from(mid) * 20)
                    .ok()?,
            }
            match name.cmp(id) {
                std::cmp::Ordering::Equal => return Some(true),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_gits() {
        // `git hash-object --stdin </dev/null` and `printf 'hello\n' | git hash-object --stdin`.
        assert_eq!(
            to_hex(&object_id(Kind::Blob, b"")),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
        assert_eq!(
            to_hex(&object_id(Kind::Blob, b"hello\n")),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        // The empty tree.
        assert_eq!(
            to_hex(&object_id(Kind::Tree, b"")),
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        );
    }

    #[test]
    fn tree_entries_sort_directories_as_if_followed_by_a_slash() {
        let blob = object_id(Kind::Blob, b"x");
        let files = [
            TreeFile {
                path: "a/b",
                executable: false,
                blob,
            },
            TreeFile {
                path: "a.txt",
                executable: true,
                blob,
            },
            TreeFile {
                path: "a0",
                executable: false,
                blob,
            },
        ];
        let (root, trees) = trees(&files).unwrap();
        let top = trees.iter().find(|t| t.id == root).unwrap();
        let names: Vec<String> = top
            .data
            .split(|b| *b == 0)
            .filter_map(|chunk| {
                let text = String::from_utf8_lossy(chunk);
                text.rsplit_once(' ').map(|(_, n)| n.to_string())
            })
            .collect();
        // "a.txt" < "a/" < "a0": '.' < '/' < '0'.
        assert_eq!(names, ["a.txt", "a", "a0"]);
        assert!(top.data.starts_with(b"100755 a.txt\0"));
        assert_eq!(trees.len(), 2);
    }

    #[test]
    fn a_path_both_file_and_directory_is_refused() {
        let blob = object_id(Kind::Blob, b"x");
        let files = [
            TreeFile {
                path: "a",
                executable: false,
                blob,
            },
            TreeFile {
                path: "a/b",
                executable: false,
                blob,
            },
        ];
        assert!(trees(&files).is_err());
        assert!(
            trees(&[TreeFile {
                path: "a//b",
                executable: false,
                blob
            }])
            .is_err()
        );
    }

    #[test]
    fn data_that_does_not_compress_is_stored_and_inflates_back() {
        use std::io::Read;
        // Bytes no coder can shorten (a xorshift stream), and text.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let text = b"| T-001 | Title | @dev | Done |\n".repeat(5_000);
        for data in [noise.as_slice(), text.as_slice(), b"".as_slice()] {
            let z = deflate(data);
            let mut back = Vec::new();
            flate2::read::ZlibDecoder::new(z.as_slice())
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data);
            // Stored: the data and a few bytes of framing per block (of
            // 16 KiB or more); coded text: far smaller.
            assert!(
                z.len() <= data.len() + 6 + 5 * (data.len() / 16_384 + 1),
                "{}",
                z.len()
            );
        }
        assert!(deflate(&text).len() < text.len() / 10);
        // Stored blocks carry the data verbatim.
        assert!(deflate(&noise).windows(1024).any(|w| w == &noise[..1024]));
    }

    /// A repository with one commit, and its object database.
    fn repository() -> (tempfile::TempDir, Odb) {
        let tmp = tempfile::tempdir().unwrap();
        crate::test_support::git(tmp.path(), &["init", "-q", "-b", "main"]);
        std::fs::write(tmp.path().join("README.md"), "hello\n").unwrap();
        crate::test_support::git(tmp.path(), &["add", "README.md"]);
        crate::test_support::git(tmp.path(), &["commit", "-q", "-m", "first"]);
        let odb = Odb::new(&tmp.path().join(".git").canonicalize().unwrap());
        (tmp, odb)
    }

    /// A checkpoint-like commit holding one file that says `name`, and
    /// its objects.
    fn commit_of(name: &str) -> (Oid, Vec<Object<'static>>) {
        let blob = Object::new(Kind::Blob, format!("{name}\n").into_bytes());
        let (tree, mut objects) = trees(&[TreeFile {
            path: "f",
            executable: false,
            blob: blob.id,
        }])
        .unwrap();
        let commit = Object::new(
            Kind::Commit,
            format!(
                "tree {}\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n\n{name}\n",
                to_hex(&tree)
            )
            .into_bytes(),
        );
        let id = commit.id;
        objects.push(blob);
        objects.push(commit);
        (id, objects)
    }

    /// Writes the checkpoint `name` under `refs/lifeline/checkpoints/`;
    /// whether the ref was created.
    fn write_named(odb: &Odb, name: &str) -> Result<bool> {
        let (id, objects) = commit_of(name);
        odb.write(&objects, &format!("refs/lifeline/checkpoints/{name}"), &id)
    }

    /// `git fsck` finds nothing, and each of `names` is a whole
    /// checkpoint.
    fn assert_whole(work: &Path, names: &[String]) {
        crate::test_support::git(work, &["fsck", "--strict", "--full", "--no-dangling"]);
        let git = crate::git::Git::new(work);
        for name in names {
            let file = git
                .run([
                    "cat-file",
                    "blob",
                    &format!("refs/lifeline/checkpoints/{name}:f"),
                ])
                .unwrap();
            assert_eq!(file, format!("{name}\n"));
        }
    }

    fn pack_names(odb: &Odb) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(odb.dir.join("objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_hostile_small_pack_list_merges_only_packs_lifeline_writes() {
        let (tmp, odb) = repository();
        let work = tmp.path();
        // Two packs git made, small and without deltas: one kept.
        crate::test_support::git(work, &["repack", "-a", "-d", "-q"]);
        let kept = pack_names(&odb)
            .into_iter()
            .find_map(|n| {
                n.strip_suffix(".idx")
                    .map(|s| s["pack-".len()..].to_string())
            })
            .unwrap();
        std::fs::write(odb.dir.join(format!("objects/pack/pack-{kept}.keep")), "").unwrap();
        std::fs::write(work.join("second.md"), "second\n").unwrap();
        crate::test_support::git(work, &["add", "second.md"]);
        crate::test_support::git(work, &["commit", "-q", "-m", "second"]);
        crate::test_support::git(work, &["repack", "-d", "-q"]);
        let unkept = pack_names(&odb)
            .into_iter()
            .find_map(|n| {
                let stem = n.strip_suffix(".idx")?["pack-".len()..].to_string();
                (stem != kept).then_some(stem)
            })
            .unwrap();
        // An outside file, named every way a list line could try.
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim.pack");
        std::fs::write(&victim, "not lifeline's").unwrap();
        let hostile = [
            kept.clone(),
            unkept.clone(),
            victim.display().to_string(),
            format!("../../../../../../..{}", victim.display()),
            format!("../{kept}"),
            format!("{kept}/../{kept}"),
            String::new(),
        ];
        std::fs::create_dir_all(odb.dir.join("lifeline")).unwrap();
        std::fs::write(odb.dir.join(SMALL_LIST), hostile.join("\n")).unwrap();
        let names: Vec<String> = (0..2 * SMALL_PACKS).map(|i| format!("c{i}")).collect();
        for name in &names {
            assert!(write_named(&odb, name).unwrap());
        }
        assert_eq!(std::fs::read(&victim).unwrap(), b"not lifeline's");
        // A pack that would not merge is dropped from the list.
        let list = std::fs::read_to_string(odb.dir.join(SMALL_LIST)).unwrap();
        assert!(!list.contains(&kept), "{list}");
        // A pack named many times is one pack.
        std::fs::write(odb.dir.join(SMALL_LIST), format!("{kept}\n").repeat(1000)).unwrap();
        let dir = crate::fs::paths::open_dir(&odb.dir, "objects/pack", false)
            .unwrap()
            .unwrap();
        assert_eq!(odb.small_packs(&dir), std::slice::from_ref(&kept));
        // The kept pack is git's, untouched; the other one's objects are
        // still there, whichever pack holds them now.
        for ext in ["idx", "pack", "keep"] {
            assert!(
                odb.dir
                    .join(format!("objects/pack/pack-{kept}.{ext}"))
                    .exists(),
                "{ext}"
            );
        }
        let git = crate::git::Git::new(work);
        for rev in ["HEAD", "HEAD~1", "HEAD:second.md", "HEAD:README.md"] {
            git.run(["cat-file", "-e", rev]).unwrap();
        }
        assert_whole(work, &names);
        // And the merges happened: a few packs, not one per write.
        let idx = pack_names(&odb)
            .iter()
            .filter(|n| n.ends_with(".idx"))
            .count();
        assert!(idx <= SMALL_PACKS + 1, "{idx} packs");
    }

    #[test]
    fn writers_racing_through_merges_leave_every_ref_whole() {
        let (tmp, odb) = repository();
        let per_writer = 2 * SMALL_PACKS + 1;
        let names: Vec<Vec<String>> = (0..3)
            .map(|w| (0..per_writer).map(|i| format!("w{w}-{i}")).collect())
            .collect();
        std::thread::scope(|scope| {
            for mine in &names {
                // Each its own handle, as each process has.
                let odb = Odb::new(&odb.dir);
                scope.spawn(move || {
                    for name in mine {
                        assert!(write_named(&odb, name).unwrap(), "{name}");
                    }
                });
            }
        });
        assert_whole(tmp.path(), &names.concat());
    }

    #[test]
    fn a_name_taken_as_a_directory_or_by_a_packed_ref_below_it_is_never_replaced() {
        let (tmp, odb) = repository();
        let work = tmp.path();
        let dir = odb.dir.join("refs/lifeline/checkpoints");
        std::fs::create_dir_all(dir.join("as-dir")).unwrap();
        assert!(!write_named(&odb, "as-dir").unwrap());
        assert!(dir.join("as-dir").is_dir());
        crate::test_support::git(
            work,
            &["update-ref", "refs/lifeline/checkpoints/below/x", "HEAD"],
        );
        crate::test_support::git(
            work,
            &["update-ref", "refs/lifeline/checkpoints/packed", "HEAD"],
        );
        crate::test_support::git(work, &["pack-refs", "--all"]);
        assert!(!dir.join("below").exists() && !dir.join("packed").exists());
        assert!(!write_named(&odb, "below").unwrap());
        assert!(!write_named(&odb, "packed").unwrap());
        let git = crate::git::Git::new(work);
        let head = git.run(["rev-parse", "HEAD"]).unwrap();
        for name in ["below/x", "packed"] {
            let at = git
                .run(["rev-parse", &format!("refs/lifeline/checkpoints/{name}")])
                .unwrap();
            assert_eq!(at, head);
        }
        let outside = tempfile::tempdir().unwrap();
        // A symlink at the name, dangling or not, takes it: never written
        // through.
        let aimed = outside.path().join("aimed");
        std::os::unix::fs::symlink(&aimed, dir.join("dangling")).unwrap();
        assert!(!write_named(&odb, "dangling").unwrap());
        std::fs::write(&aimed, "outside\n").unwrap();
        assert!(!write_named(&odb, "dangling").unwrap());
        assert_eq!(std::fs::read(&aimed).unwrap(), b"outside\n");
        // A lock that is a symlink is another writer's: not followed.
        let target = outside.path().join("written");
        std::os::unix::fs::symlink(&target, dir.join("linked.lock")).unwrap();
        assert!(write_named(&odb, "linked").is_err());
        assert!(!target.exists() && !dir.join("linked").exists());
        // No lock is left behind by a refusal.
        let locks = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().ends_with(".lock") && name != "linked.lock"
            })
            .count();
        assert_eq!(locks, 0);
    }

    #[test]
    fn a_ref_above_the_checkpoints_directory_is_an_error() {
        let (tmp, odb) = repository();
        crate::test_support::git(
            tmp.path(),
            &["update-ref", "refs/lifeline/checkpoints", "HEAD"],
        );
        crate::test_support::git(tmp.path(), &["pack-refs", "--all"]);
        assert!(write_named(&odb, "x").is_err());
        let git = crate::git::Git::new(tmp.path());
        assert!(
            git.run(["rev-parse", "refs/lifeline/checkpoints/x"])
                .is_err()
        );
    }

    #[test]
    fn links_to_the_pack_directory_or_the_small_pack_list_are_never_followed() {
        let (tmp, odb) = repository();
        let outside = tempfile::tempdir().unwrap();
        // The list a symlink to an outside file: neither read nor written.
        let list = outside.path().join("list");
        std::fs::write(&list, "outside\n").unwrap();
        std::fs::create_dir_all(odb.dir.join("lifeline")).unwrap();
        std::os::unix::fs::symlink(&list, odb.dir.join(SMALL_LIST)).unwrap();
        let names: Vec<String> = (0..SMALL_PACKS + 2).map(|i| format!("l{i}")).collect();
        for name in &names {
            assert!(write_named(&odb, name).unwrap());
        }
        assert_eq!(std::fs::read(&list).unwrap(), b"outside\n");
        assert_whole(tmp.path(), &names);
        // `objects/pack` a symlink: writing and looking objects up are
        // refused alike (git, asked instead, would follow it).
        let elsewhere = outside.path().join("pack");
        std::fs::rename(odb.dir.join("objects/pack"), &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, odb.dir.join("objects/pack")).unwrap();
        let before = std::fs::read_dir(&elsewhere).unwrap().count();
        assert!(write_named(&odb, "through").is_err());
        let (commit, _) = commit_of(&names[0]);
        assert!(odb.presence(&[commit]).is_err());
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), before);
    }

    /// What a reuse finds is made fresh, as git freshens an object it
    /// does not write again: an unreachable object `git gc` is about to
    /// find old is not collected under a new ref. An object left only in
    /// a cruft pack is missing (written again), as for git.
    #[test]
    fn objects_found_are_freshened_and_cruft_packs_do_not_count() {
        let (tmp, odb) = repository();
        let work = tmp.path();
        assert!(write_named(&odb, "old").unwrap());
        let (_, objects) = commit_of("old");
        let blob = objects.iter().find(|o| o.kind == Kind::Blob).unwrap().id;
        let pack_dir = crate::fs::paths::open_dir(&odb.dir, "objects/pack", false)
            .unwrap()
            .unwrap();
        let pack = pack_names(&odb)
            .into_iter()
            .find(|n| n.ends_with(".pack"))
            .unwrap();
        let month_ago = rfs::Timespec {
            tv_sec: jiff::Timestamp::now().as_second() - 30 * 86_400,
            tv_nsec: 0,
        };
        let old = rfs::Timestamps {
            last_access: month_ago,
            last_modification: month_ago,
        };
        rfs::utimensat(&pack_dir, pack.as_str(), &old, AtFlags::empty()).unwrap();
        let age = |name: &str| {
            std::fs::metadata(odb.dir.join("objects/pack").join(name))
                .unwrap()
                .modified()
                .unwrap()
                .elapsed()
                .unwrap_or_default()
        };
        assert!(age(&pack) > std::time::Duration::from_secs(86_400));
        assert_eq!(odb.presence(&[blob]).unwrap(), Presence::All);
        assert!(age(&pack) < std::time::Duration::from_secs(86_400));
        // Unreachable now, and put in a cruft pack by `git gc`.
        crate::test_support::git(work, &["update-ref", "-d", "refs/lifeline/checkpoints/old"]);
        crate::test_support::git(work, &["gc", "-q", "--cruft", "--prune=1.year.ago"]);
        assert!(pack_names(&odb).iter().any(|n| n.ends_with(".mtimes")));
        crate::git::Git::new(work)
            .run(["cat-file", "-e", &to_hex(&blob)])
            .unwrap();
        assert_eq!(odb.presence(&[blob]).unwrap(), Presence::Missing);
    }

    fn mkfifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }

    /// FIFOs where the writer reads (a pack index, a listed pack, the
    /// small-pack list, `packed-refs`) are never opened blocking: each
    /// is a clear outcome, never a hang.
    #[test]
    fn fifos_in_the_git_directory_never_hang_a_write() {
        let (_tmp, odb) = repository();
        let stem = "ab".repeat(20);
        std::fs::create_dir_all(odb.dir.join("objects/pack")).unwrap();
        std::fs::create_dir_all(odb.dir.join("lifeline")).unwrap();
        mkfifo(&odb.dir.join(SMALL_LIST));
        let names: Vec<String> = (0..SMALL_PACKS + 1).map(|i| format!("f{i}")).collect();
        for name in &names {
            assert!(write_named(&odb, name).unwrap());
        }
        let fifo_pack = |ext: &str| odb.dir.join(format!("objects/pack/pack-{stem}.{ext}"));
        mkfifo(&fifo_pack("idx"));
        mkfifo(&fifo_pack("pack"));
        std::fs::remove_file(odb.dir.join(SMALL_LIST)).unwrap();
        std::fs::write(
            odb.dir.join(SMALL_LIST),
            format!("{stem}\n").repeat(SMALL_PACKS),
        )
        .unwrap();
        assert!(write_named(&odb, "past-fifos").unwrap());
        let (commit, _) = commit_of("f0");
        assert_eq!(odb.presence(&[commit]).unwrap(), Presence::Unknown);
        mkfifo(&odb.dir.join("packed-refs"));
        assert!(write_named(&odb, "no-packed-refs").is_err());
    }

    #[test]
    fn entry_headers_carry_type_and_size() {
        assert_eq!(entry_header(Kind::Blob, 5), [0x35]);
        assert_eq!(entry_header(Kind::Commit, 16), [0x90, 0x01]);
        assert_eq!(entry_header(Kind::Tree, 0x1234), [0xa4, 0xa3, 0x02]);
    }
}
