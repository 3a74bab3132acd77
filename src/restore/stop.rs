//! Stopping a guarded step on SIGINT or SIGTERM at any stage.
//!
//! [`Stop::install`] takes SIGINT and SIGTERM from the default action for
//! as long as the [`Stop`] lives: a signal is recorded, passed on to the
//! running step (its whole process group when it has one of its own), and
//! wakes whatever lifeline is waiting on ([`Stop::wait`]: the lock, a
//! retry's backoff). The caller then finishes in order — rolls back,
//! writes its outcome entry — and exits 128 + N.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Where a signal goes on to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// The step leads a process group of its own: the group gets every
    /// signal, the terminal's included (the terminal cannot reach it).
    Group(i32),
    /// The step shares lifeline's process group (it reads the terminal):
    /// the terminal already signals the whole group, so only a signal
    /// another process sent to lifeline alone is passed on.
    Process(i32),
}

#[derive(Default)]
struct Shared {
    signal: Mutex<Option<i32>>,
    woken: Condvar,
    /// The step's pid (0: none), and whether it leads its own group.
    child: AtomicI32,
    group: AtomicBool,
}

impl Shared {
    fn forward(&self, signal: i32, from_process: bool) {
        let pid = self.child.load(Ordering::SeqCst);
        if pid <= 0 {
            return;
        }
        let target = if self.group.load(Ordering::SeqCst) {
            -pid
        } else if from_process {
            pid
        } else {
            return;
        };
        // SAFETY: kill(2) with a valid signal number has no memory-safety
        // preconditions; a process that is gone answers ESRCH.
        unsafe {
            libc::kill(target, signal);
        }
    }
}

/// The signals a guarded step listens to, for the whole run.
pub(crate) struct Stop {
    shared: Arc<Shared>,
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stop {
    /// Starts listening for SIGINT and SIGTERM.
    pub(crate) fn install() -> Result<Stop> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::iterator::{SignalsInfo, exfiltrator::WithOrigin};
        let mut signals = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM])
            .map_err(|e| Error::io("<signals>", e))?;
        let handle = signals.handle();
        let shared = Arc::new(Shared::default());
        let listener = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            for origin in signals.forever() {
                {
                    let mut got = listener.signal.lock().unwrap_or_else(|e| e.into_inner());
                    got.get_or_insert(origin.signal);
                }
                listener.woken.notify_all();
                listener.forward(origin.signal, origin.process.is_some());
            }
        });
        Ok(Stop {
            shared,
            handle,
            thread: Some(thread),
        })
    }

    /// The first signal received, if any.
    pub(crate) fn signal(&self) -> Option<i32> {
        *self.shared.signal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits up to `limit`; returns early with the signal when one comes.
    pub(crate) fn wait(&self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        let mut got = self.shared.signal.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(signal) = *got {
                return Some(signal);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            got = self
                .shared
                .woken
                .wait_timeout(got, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Names the running step (`None` once it has exited). A signal that
    /// came while it was starting is passed on now.
    pub(crate) fn set_child(&self, target: Option<Target>) {
        let (pid, group) = match target {
            Some(Target::Group(pid)) => (pid, true),
            Some(Target::Process(pid)) => (pid, false),
            None => (0, false),
        };
        self.shared.group.store(group, Ordering::SeqCst);
        self.shared.child.store(pid, Ordering::SeqCst);
        if let Some(signal) = self.signal() {
            self.shared.forward(signal, true);
        }
    }
}

impl Drop for Stop {
    fn drop(&mut self) {
        self.shared.child.store(0, Ordering::SeqCst);
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
