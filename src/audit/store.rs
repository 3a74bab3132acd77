//! Where the log lives and how entries get into it: the monthly files
//! `audit-YYYY-MM.jsonl` (and `.jsonl.gz` once retention compressed them),
//! an exclusive lock around every append, one write per entry, and fsync
//! before the caller hears of success.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::canonical;
use crate::error::{Error, IoContext, Result};
use crate::workspace::Workspace;

/// The audit directory of a workspace.
#[derive(Debug, Clone)]
pub struct Log {
    /// Absolute directory holding the month files.
    pub dir: PathBuf,
    /// The same, relative to the repository root, as configured.
    pub rel_dir: String,
    /// The directory every file is opened from without following a
    /// symlink below it (the repository root), and the log's directory
    /// relative to it.
    root: PathBuf,
    base: String,
}

/// One month file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthFile {
    /// `YYYY-MM`.
    pub month: String,
    pub path: PathBuf,
    /// The file name, as findings print it.
    pub name: String,
    /// Compressed by retention (`.jsonl.gz`).
    pub compressed: bool,
    /// Where it is opened from: the log's root and the file relative to it.
    root: PathBuf,
    rel: String,
}

impl MonthFile {
    /// Opens the file for reading, never through a symlink at any
    /// component and never a FIFO or device.
    pub fn open(&self) -> Result<File> {
        crate::fs::paths::open_file(&self.root, &self.rel)?
            .ok_or_else(|| Error::io(&self.path, std::io::ErrorKind::NotFound.into()))
    }

    /// The directory the log's files are opened from (see [`Log::open`]).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file's bytes, read as [`MonthFile::open`] opens it.
    pub fn read(&self) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open()?.read_to_end(&mut bytes).at(&self.path)?;
        Ok(bytes)
    }
}

/// The newest entry of the log: what the next entry links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    pub hash: String,
    pub seq: u64,
}

/// What an append wrote.
#[derive(Debug, Clone)]
pub struct Appended {
    pub audit_id: String,
    pub hash: String,
    pub seq: u64,
    /// The month file, relative to the repository root.
    pub file: String,
}

impl Log {
    /// The configured audit directory of `ws` (checked: inside the root).
    pub fn of(ws: &Workspace) -> Result<Log> {
        let rel_dir = ws.config.audit.dir.trim_end_matches('/').to_string();
        let dir = crate::fs::paths::safe_join(&ws.root, &rel_dir)?;
        Ok(Log {
            dir,
            root: ws.root.clone(),
            base: rel_dir.clone(),
            rel_dir,
        })
    }

    /// A log in an arbitrary directory (benchmarks, tests).
    pub fn at(dir: impl Into<PathBuf>) -> Log {
        let dir = dir.into();
        let rel_dir = dir.display().to_string();
        // Opened from its nearest existing ancestor, so missing directories
        // can be created.
        let root = dir
            .ancestors()
            .find(|a| a.is_dir())
            .unwrap_or(&dir)
            .to_path_buf();
        let base = crate::fs::paths::relative_to(&root, &dir).unwrap_or_default();
        Log {
            root,
            base,
            dir,
            rel_dir,
        }
    }

    /// The directory the log's files are opened from (the repository root).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `name` in the log's directory, relative to the directory files are
    /// opened from.
    fn rel(&self, name: &str) -> String {
        if self.base.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.base)
        }
    }

    /// Opens the log's file `name` for reading, never through a symlink
    /// and never a FIFO or device; `Ok(None)` when it does not exist.
    pub fn open(&self, name: &str) -> Result<Option<File>> {
        crate::fs::paths::open_file(&self.root, &self.rel(name))
    }

    /// Opens (creating) the log's file `name` for appending, never through
    /// a symlink.
    pub fn open_append(&self, name: &str) -> Result<File> {
        crate::fs::atomic::open_append(&self.root, &self.rel(name))
    }

    /// Replaces the log's file `name` atomically, never through a symlink.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        crate::fs::atomic::write_in(&self.root, &self.rel(name), bytes, None)
    }

    /// Removes the log's file `name`; false when it was not there.
    pub fn remove(&self, name: &str) -> Result<bool> {
        crate::fs::atomic::remove_in(&self.root, &self.rel(name))
    }

    /// Fsyncs the log's directory.
    pub fn sync(&self) -> Result<()> {
        crate::fs::atomic::sync_dir_in(&self.root, &self.base)
    }

    /// `rel_dir/name`, as messages show a month file.
    pub fn display(&self, name: &str) -> String {
        format!("{}/{name}", self.rel_dir)
    }

    /// The month files, oldest first. A missing directory is an empty log.
    pub fn month_files(&self) -> Result<Vec<MonthFile>> {
        // Listed without following a symlink to (or below) the directory;
        // a month file that is a symlink is listed, and refused when opened.
        let Some(entries) = crate::fs::paths::list_dir(&self.root, &self.base)? else {
            return Ok(Vec::new());
        };
        let mut files = Vec::new();
        for (name, _, _) in entries {
            if let Some((month, compressed)) = parse_name(&name) {
                files.push(MonthFile {
                    month,
                    path: self.dir.join(&name),
                    root: self.root.clone(),
                    rel: self.rel(&name),
                    name,
                    compressed,
                });
            }
        }
        files.sort_by(|a, b| (&a.month, a.compressed).cmp(&(&b.month, b.compressed)));
        Ok(files)
    }

    /// Appends `bodies` (entries without chain fields) as one locked
    /// transaction: each gets `seq`, `prev` (the entry before it) and
    /// `hash`; `joins` goes on the first (a seal). Every entry is written
    /// whole in a single `write`, and the files are fsynced before this
    /// returns.
    pub fn append(
        &self,
        bodies: Vec<Map<String, Value>>,
        joins: Option<Vec<String>>,
    ) -> Result<Vec<Appended>> {
        let _lock = self.lock()?;
        self.append_locked(bodies, joins)
    }

    /// Creates the directory and takes the exclusive lock every writer
    /// holds; released when the guard is dropped.
    pub(super) fn lock(&self) -> Result<DirLock> {
        // Opened (and created) without following a symlink at any component.
        let dir = crate::fs::paths::open_dir(&self.root, &self.base, true)?
            .expect("a created directory exists");
        DirLock::acquire(dir, &self.dir)
    }

    /// [`Log::append`] for a caller that holds [`Log::lock`].
    pub(super) fn append_locked(
        &self,
        bodies: Vec<Map<String, Value>>,
        joins: Option<Vec<String>>,
    ) -> Result<Vec<Appended>> {
        let files = self.month_files()?;
        let newest = files.iter().rfind(|f| !f.compressed).or(files.last());
        let mut tip = match newest {
            Some(_) => self.tip(&files)?,
            None => None,
        };
        let newest_month = newest.map(|f| f.month.clone());
        let mut joins = joins;
        let mut groups: Vec<(String, String)> = Vec::new();
        let mut appended = Vec::with_capacity(bodies.len());
        for mut entry in bodies {
            let stamp_month = entry
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(|t| t.get(..7))
                .unwrap_or("0000-00")
                .to_string();
            // Never append to a month older than the newest file: a clock
            // that went back must not put an entry before its predecessor,
            // and an entry must sit in its own month's file.
            if let Some(newest) = newest_month.as_ref().filter(|m| **m > stamp_month) {
                return Err(clock_behind(&stamp_month, newest));
            }
            let month = stamp_month;
            let seq = tip.as_ref().map_or(1, |t| t.seq + 1);
            entry.insert("seq".into(), seq.into());
            entry.insert(
                "prev".into(),
                tip.as_ref()
                    .map_or(Value::Null, |t| Value::String(t.hash.clone())),
            );
            if let Some(j) = joins.take() {
                entry.insert(
                    "joins".into(),
                    Value::Array(j.into_iter().map(Value::String).collect()),
                );
            }
            let hash = canonical::entry_hash(&entry);
            entry.insert("hash".into(), Value::String(hash.clone()));
            let mut line = String::with_capacity(1024);
            canonical::write_object(&mut line, &entry, None);
            line.push('\n');
            match groups.last_mut() {
                Some((m, text)) if *m == month => text.push_str(&line),
                _ => groups.push((month.clone(), line)),
            }
            appended.push(Appended {
                audit_id: entry
                    .get("audit_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                hash: hash.clone(),
                seq,
                file: self.display(&file_name(&month)),
            });
            tip = Some(Tip { hash, seq });
        }
        let mut done: Vec<(File, u64)> = Vec::new();
        for (month, text) in groups {
            match append_whole(self, &file_name(&month), text.as_bytes()) {
                Ok(written) => done.push(written),
                Err(failure) => {
                    // All or nothing: the groups already written go too.
                    for (file, before) in done {
                        let _ = file.set_len(before).and_then(|()| file.sync_data());
                    }
                    return Err(failure.into_error(self));
                }
            }
        }
        Ok(appended)
    }

    /// Checks that an entry stamped `now` can be written, without writing
    /// one: the directory exists or can be created and locked, the month
    /// file can be opened for appending (or created), the clock is not
    /// behind the newest month file, and the file system has at least
    /// [`PREFLIGHT_SPACE`] bytes free.
    pub fn preflight(&self, now: jiff::Timestamp) -> Result<()> {
        let _lock = self.lock()?;
        let files = self.month_files()?;
        let month = super::entry::timestamp(now)[..7].to_string();
        if let Some(newest) = files.last().filter(|f| f.month > month) {
            return Err(clock_behind(&month, &newest.month));
        }
        let name = file_name(&month);
        if self.open(&name)?.is_some() {
            self.open_append(&name)?;
        } else {
            // Created and removed again (on drop) inside the opened directory.
            crate::fs::atomic::stage(&self.root, &self.rel(".lifeline-preflight"), b"", None)?;
        }
        if let Some(free) = free_space(&self.dir)
            && free < PREFLIGHT_SPACE
        {
            return Err(Error::environment(
                format!(
                    "only {free} bytes are free for the audit trail in {}: an entry might not fit",
                    self.rel_dir
                ),
                Some("free disk space and run the command again".to_string()),
            ));
        }
        Ok(())
    }

    /// The newest readable entry: the last line of the newest month file
    /// that parses and has a hash (a torn last line is skipped here and
    /// reported by verify).
    pub fn tip(&self, files: &[MonthFile]) -> Result<Option<Tip>> {
        for f in files.iter().rev() {
            let found = if f.compressed {
                let text = super::retention::read_month(f)?;
                text.lines().rev().find_map(parse_tip)
            } else {
                last_entry(f.open()?, &f.path)?
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

/// The free space [`Log::preflight`] asks for: far more than any entry,
/// so the entry and whatever the command writes before it fit.
pub const PREFLIGHT_SPACE: u64 = 1 << 20;

/// Bytes available to an unprivileged writer on the file system of `dir`.
#[cfg(unix)]
fn free_space(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path and `stat` is written by the
    // call before it is read (only when it returns 0).
    let stat = unsafe {
        if libc::statvfs(c.as_ptr(), stat.as_mut_ptr()) != 0 {
            return None;
        }
        stat.assume_init()
    };
    #[allow(
        clippy::useless_conversion,
        reason = "fsblkcnt_t and c_ulong are narrower than u64 on some platforms"
    )]
    let (available, block) = (u64::from(stat.f_bavail), u64::from(stat.f_frsize));
    Some(available.saturating_mul(block))
}

#[cfg(not(unix))]
fn free_space(_dir: &Path) -> Option<u64> {
    None
}

fn clock_behind(stamp_month: &str, newest: &str) -> Error {
    Error::environment(
        format!(
            "the clock says {stamp_month}, but the audit trail already has {}: an entry must sit in its own month's file, after its predecessor",
            file_name(newest)
        ),
        Some("fix the system clock (UTC) and run the command again".to_string()),
    )
}

/// Why one month file could not take its lines.
struct AppendFailure {
    path: PathBuf,
    error: std::io::Error,
    /// The length the file had, and whether it is back at it.
    before: u64,
    restored: bool,
}

impl AppendFailure {
    fn into_error(self, log: &Log) -> Error {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = log.display(&name);
        let state = if self.restored {
            format!(
                "{shown} was truncated back to its previous {} bytes: nothing was recorded",
                self.before
            )
        } else {
            format!(
                "{shown} could not be truncated back to its previous {} bytes; `lifeline audit verify` shows the torn line and `lifeline audit repair` ends it",
                self.before
            )
        };
        Error::environment(
            format!("could not append to {shown}: {}; {state}", self.error),
            Some("free disk space (or fix the device) and run the command again".to_string()),
        )
    }
}

/// Appends `bytes` (whole lines) to `path` and fsyncs, or leaves the file
/// as it was: on a failed or short write (ENOSPC, EIO, a file size limit)
/// the file is truncated back to its previous length. Returns the open
/// file and that length, so a later failure can undo this one too.
fn append_whole(
    log: &Log,
    name: &str,
    bytes: &[u8],
) -> std::result::Result<(File, u64), AppendFailure> {
    let path = log.dir.join(name);
    let fail = |error: std::io::Error, before: u64, restored: bool| AppendFailure {
        path: path.clone(),
        error,
        before,
        restored,
    };
    let io = |e: Error| std::io::Error::other(e.to_string());
    // Opened without following a symlink at any component, never a FIFO.
    let reader = log.open(name).map_err(|e| fail(io(e), 0, true))?;
    let created = reader.is_none();
    let mut file = log.open_append(name).map_err(|e| fail(io(e), 0, true))?;
    let before = file.metadata().map_err(|e| fail(e, 0, true))?.len();
    let written = ensure_line_start(&mut file, reader, before)
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_data())
        .and_then(|()| {
            if created {
                log.sync().map_err(io)
            } else {
                Ok(())
            }
        });
    if let Err(error) = written {
        let restored = file.set_len(before).and_then(|()| file.sync_data()).is_ok();
        if created && restored {
            let _ = log.remove(name);
        }
        return Err(fail(error, before, restored));
    }
    Ok((file, before))
}

/// `audit-YYYY-MM.jsonl` for `YYYY-MM`.
pub fn file_name(month: &str) -> String {
    format!("audit-{month}.jsonl")
}

/// The month and whether it is compressed, for a month file name.
pub fn parse_name(name: &str) -> Option<(String, bool)> {
    let rest = name.strip_prefix("audit-")?;
    let (month, compressed) = if let Some(m) = rest.strip_suffix(".jsonl.gz") {
        (m, true)
    } else {
        (rest.strip_suffix(".jsonl")?, false)
    };
    let b = month.as_bytes();
    let ok = b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(
            &month[5..],
            "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
        );
    ok.then(|| (month.to_string(), compressed))
}

fn parse_tip(line: &str) -> Option<Tip> {
    let value: Value = serde_json::from_str(line).ok()?;
    let hash = value.get("hash")?.as_str()?.to_string();
    let seq = value.get("seq")?.as_u64()?;
    Some(Tip { hash, seq })
}

/// Reads `path` backwards until a line parses as an entry.
fn last_entry(mut file: File, path: &Path) -> Result<Option<Tip>> {
    let mut end = file.seek(SeekFrom::End(0)).at(path)?;
    let mut tail: Vec<u8> = Vec::new();
    const CHUNK: u64 = 16 * 1024;
    loop {
        // Complete lines in `tail` (after its first newline, or all of it at
        // the start of the file), newest first.
        let at_start = end == 0;
        let complete_from = if at_start {
            0
        } else {
            match tail.iter().position(|b| *b == b'\n') {
                Some(i) => i + 1,
                None => tail.len(),
            }
        };
        let complete = &tail[complete_from..];
        for line in complete.split(|b| *b == b'\n').rev() {
            if let Some(tip) = std::str::from_utf8(line).ok().and_then(parse_tip) {
                return Ok(Some(tip));
            }
        }
        if at_start {
            return Ok(None);
        }
        // Keep only the incomplete head and read the chunk before it.
        tail.truncate(complete_from);
        let start = end.saturating_sub(CHUNK);
        let mut chunk = vec![0; (end - start) as usize];
        file.seek(SeekFrom::Start(start)).at(path)?;
        file.read_exact(&mut chunk).at(path)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        end = start;
    }
}

/// After an interrupted write the file may end mid-line; start the next
/// entry on a line of its own so the torn one stays visible to verify
/// (and `lifeline audit repair` can end it).
fn ensure_line_start(file: &mut File, reader: Option<File>, len: u64) -> std::io::Result<()> {
    let Some(mut reader) = reader.filter(|_| len > 0) else {
        return Ok(());
    };
    reader.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    reader.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

/// An exclusive lock on the audit directory, held for one append and
/// released when dropped (or when the process dies).
pub(super) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks the directory opened as `dir` (shown as `path`).
    fn acquire(dir: std::os::fd::OwnedFd, path: &Path) -> Result<DirLock> {
        let file = File::from(dir);
        file.lock().at(path)?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_file_names() {
        assert_eq!(
            parse_name("audit-2026-11.jsonl"),
            Some(("2026-11".into(), false))
        );
        assert_eq!(
            parse_name("audit-2019-01.jsonl.gz"),
            Some(("2019-01".into(), true))
        );
        for bad in [
            "audit-2026-13.jsonl",
            "audit-26-11.jsonl",
            "audit-2026-11.json",
            "x.jsonl",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn last_entry_skips_a_torn_line_and_reads_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-2026-11.jsonl");
        let big = "x".repeat(40_000);
        let text = format!(
            "{{\"hash\":\"a\",\"seq\":1}}\n{{\"hash\":\"b\",\"seq\":2,\"pad\":\"{big}\"}}\n{{\"hash\":\"c\",\"se"
        );
        std::fs::write(&path, text).unwrap();
        assert_eq!(
            last_entry(File::open(&path).unwrap(), &path).unwrap(),
            Some(Tip {
                hash: "b".into(),
                seq: 2
            })
        );
        std::fs::write(&path, "").unwrap();
        assert_eq!(last_entry(File::open(&path).unwrap(), &path).unwrap(), None);
    }
}
