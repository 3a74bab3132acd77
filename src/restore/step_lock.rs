//! One guarded step at a time per repository.
//!
//! A failing step rolls the protected files back to the checkpoint it took
//! before it ran. If another step ran meanwhile, that rollback would erase
//! the other step's work; so `lifeline run` holds an exclusive lock from
//! before its checkpoint until after its outcome is recorded, and a second
//! step waits (its caller says so) up to its `--wait` limit.
//!
//! `restore`, `undo` and `recover` take the same lock before they plan
//! (a restore in the middle of a step would be erased by its rollback, or
//! erase its work), with the same `--wait`; a restore made inside a held
//! lock (run's rollback, recover's own restore) does not take it again.
//!
//! The lock is an advisory `flock(2)` on `lifeline-run.lock` in git's
//! common directory (shared by every work tree of the repository, out of
//! reach of the files a step writes). It is opened with `O_NOFOLLOW`, so a
//! symlink planted at that name cannot redirect it, and `O_CLOEXEC`, so the
//! step does not inherit it. The kernel releases it when the holder dies,
//! `kill -9` included: there is never a stale lock to clean up. A
//! repository without git uses `.lifeline/run.lock` the same way.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::stop::Stop;
use crate::error::{Error, IoContext, Result};
use crate::workspace::Workspace;

/// The lock file's name in git's common directory.
pub(crate) const FILE_NAME: &str = "lifeline-run.lock";

/// How long a step, a restore or a recovery waits for the lock unless told
/// otherwise (`--wait`).
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// How often a waiting step tries the lock again.
const POLL: Duration = Duration::from_millis(50);

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct StepLock {
    _file: File,
}

/// How waiting for the lock ended.
#[derive(Debug)]
pub(crate) enum Acquired {
    Held(StepLock),
    /// SIGINT or SIGTERM came while waiting.
    Stopped(i32),
}

/// Where the lock of `ws` lives.
pub(crate) fn path(ws: &Workspace) -> Result<PathBuf> {
    match &ws.git {
        Some(git) => {
            let dir = git.run(["rev-parse", "--path-format=absolute", "--git-common-dir"])?;
            Ok(PathBuf::from(dir.trim_end_matches(['\n', '\r'])).join(FILE_NAME))
        }
        None => {
            let dir = ws.root.join(".lifeline");
            match std::fs::symlink_metadata(&dir) {
                Ok(meta) if meta.file_type().is_symlink() || !meta.is_dir() => {
                    return Err(Error::environment(
                        format!("{} is not a directory", dir.display()),
                        Some("remove it; lifeline keeps its run lock there".to_string()),
                    ));
                }
                Ok(_) => {}
                Err(_) => std::fs::create_dir(&dir).at(&dir)?,
            }
            Ok(dir.join("run.lock"))
        }
    }
}

/// Another guarded step holds the lock and `what` waits for it: the
/// notice [`hold`] gives its caller once, before waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// The pid the holder wrote into the lock, when it reads as one.
    pub holder: Option<String>,
    /// `restore`, `undo` or `recover`.
    pub what: String,
    /// How long `what` waits at most.
    pub wait: Duration,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a guarded step{} is running in this repository; {} waits up to {} for it to finish (--wait)",
            self.holder
                .as_deref()
                .map_or(String::new(), |pid| format!(" (pid {pid})")),
            self.what,
            crate::config::HumanDuration::from_secs(self.wait.as_secs()),
        )
    }
}

/// Takes the lock of `ws` for `what` (`restore`, `undo`, `recover`),
/// waiting up to `wait`; `waiting` hears once when the lock is held by
/// another step (the CLI says so on stderr). SIGINT and SIGTERM keep their
/// default action (nothing has changed yet while it waits).
pub(crate) fn hold(
    ws: &Workspace,
    wait: Duration,
    what: &str,
    waiting: &mut dyn FnMut(&Busy),
) -> Result<StepLock> {
    let path = path(ws)?;
    let acquired = acquire(&path, wait, None, &mut |holder| {
        waiting(&Busy {
            holder: holder.map(str::to_string),
            what: what.to_string(),
            wait,
        });
    })?;
    match acquired {
        Acquired::Held(lock) => Ok(lock),
        Acquired::Stopped(signal) => Err(Error::environment(
            format!("stopped by signal {signal} while waiting; {what} changed nothing"),
            None,
        )),
    }
}

/// Takes the lock at `path`, waiting up to `wait` for another step to
/// finish; a signal `stop` receives ends the wait. `waiting` is called
/// once, when the lock is found held, with what the holder wrote into it
/// (its pid).
pub(crate) fn acquire(
    path: &Path,
    wait: Duration,
    stop: Option<&Stop>,
    waiting: &mut dyn FnMut(Option<&str>),
) -> Result<Acquired> {
    let mut file = open(path)?;
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        let holder = holder(&mut file);
        if Instant::now() >= deadline {
            return Err(Error::environment(
                format!(
                    "another guarded step{} still holds {} after waiting {}",
                    holder
                        .as_deref()
                        .map_or(String::new(), |pid| format!(" (pid {pid})")),
                    path.display(),
                    crate::config::HumanDuration::from_secs(wait.as_secs()),
                ),
                Some(
                    "wait longer with --wait DURATION, or let the other step finish first; \
                     the lock dies with its holder, so there is nothing to delete"
                        .to_string(),
                ),
            ));
        }
        if !told {
            told = true;
            waiting(holder.as_deref());
        }
        let pause = POLL.min(deadline.saturating_duration_since(Instant::now()));
        match stop {
            Some(stop) => {
                if let Some(signal) = stop.wait(pause) {
                    return Ok(Acquired::Stopped(signal));
                }
            }
            None => std::thread::sleep(pause),
        }
    }
    // Who holds it, for the message a waiting step prints.
    file.set_len(0).at(path)?;
    file.rewind().at(path)?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
        .at(path)?;
    Ok(Acquired::Held(StepLock { _file: file }))
}

/// Opens the lock file without following a symlink at its name and
/// without blocking on a FIFO; anything but a regular file is refused.
fn open(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                Error::environment(
                    format!(
                        "{} is a symlink; lifeline will not lock through it",
                        path.display()
                    ),
                    Some("remove the symlink; lifeline creates the lock file itself".to_string()),
                )
            } else {
                Error::io(path, e)
            }
        })?;
    let meta = file.metadata().at(path)?;
    if !meta.is_file() {
        return Err(Error::environment(
            format!("{} is not a regular file", path.display()),
            Some("remove it; lifeline creates the lock file itself".to_string()),
        ));
    }
    Ok(file)
}

/// The pid the holder wrote, when it reads as one.
fn holder(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.rewind().ok()?;
    Read::by_ref(file).take(32).read_to_string(&mut text).ok()?;
    let pid = text.trim();
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then(|| pid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_notice_names_the_holder_what_waits_and_for_how_long() {
        let busy = Busy {
            holder: Some("4242".into()),
            what: "undo".into(),
            wait: Duration::from_secs(600),
        };
        assert_eq!(
            busy.to_string(),
            "a guarded step (pid 4242) is running in this repository; undo waits up to 10m for it to finish (--wait)"
        );
        let unknown = Busy {
            holder: None,
            ..busy
        };
        assert!(unknown.to_string().starts_with("a guarded step is running"));
    }
}
