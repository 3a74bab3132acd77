//! Taking a checkpoint: read the protected set from the working tree,
//! validate each file, record the git state, the actor and the workflow
//! run, and hand it all to the store.

use std::io::Read;

use super::cache::{self, Stamp, StatCache};
use super::id::{self, CheckpointId};
use super::manifest::{AbsentFile, CommitSummary, FileEntry, GitState, Manifest, SCHEMA};
use super::store::{Content, Store, Written};
use crate::ci::{self, Env, WorkflowRun};
use crate::config::Validator;
use crate::error::{Error, IoContext, Result};
use crate::git::Git;
use crate::workspace::Workspace;

/// How many fresh IDs to try when another process takes ours.
const ID_ATTEMPTS: usize = 16;

/// What to capture.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// The checkpoint type; must be built in or configured.
    pub kind: String,
    /// What the checkpoint is taken before.
    pub operation: String,
}

/// Checks that `kind` is a type this repository accepts.
pub(crate) fn check_kind(ws: &Workspace, kind: &str) -> Result<()> {
    let types = ws.config.checkpoint_types();
    if !types.iter().any(|t| t == kind) {
        return Err(Error::usage(
            format!("unknown checkpoint type `{kind}`"),
            Some(format!(
                "use one of: {} (or add it to [checkpoint] types in lifeline.toml)",
                types.join(", ")
            )),
        ));
    }
    id::check_type(kind).map_err(|m| Error::usage(m, None))
}

/// Takes a checkpoint of the protected set as it is in the working tree
/// now and stores it; returns its manifest.
pub fn capture(
    ws: &Workspace,
    env: &dyn Env,
    store: &dyn Store,
    options: &CaptureOptions,
) -> Result<Manifest> {
    check_kind(ws, &options.kind)?;
    let created_at = jiff::Timestamp::now();
    let cache_path = store.cache_path();
    let mut cache = StatCache::load(&ws.root, &cache_path);
    let run = WorkflowRun::from_env(env);
    let key = super::signing::key_from_env(env)?;
    let operation = crate::redact::redact(&options.operation).into_owned();
    // The git state and the actor come from git processes; run them while
    // this thread reads the files (most of create's time is process start).
    let (git, actor, first_read) = std::thread::scope(|scope| {
        let git_thread = scope.spawn(|| ws.git.as_ref().map(git_state).transpose());
        let files_thread = scope.spawn(|| read_protected_set(ws, Some(&cache)));
        let actor = ci::actor(env, ws.git.as_ref());
        let git = git_thread
            .join()
            .expect("the git state thread does not panic");
        let files = files_thread
            .join()
            .expect("the reading thread does not panic");
        (git, actor, files)
    });
    let git = git?;
    let mut first_read = Some(first_read?);
    // A stored object reused through the cache may have been removed since
    // (a pruned checkpoint, a `git gc`): then capture again from scratch.
    let mut use_cache = true;
    loop {
        let files = match first_read.take() {
            Some(files) => files,
            None => read_protected_set(ws, None)?,
        };
        let valid = files.entries.iter().all(|f| f.valid)
            && files.absent.iter().all(|a| a.validator == Validator::None);
        let mut manifest = Manifest {
            schema: SCHEMA,
            id: CheckpointId::generate(&options.kind, created_at),
            kind: options.kind.clone(),
            operation: operation.clone(),
            created_at,
            completed_at: created_at,
            actor: actor.clone(),
            run: run.clone(),
            git: git.clone(),
            valid,
            files: files.entries,
            absent: files.absent,
            skipped: files.skipped,
            lifeline_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        let reused = files
            .contents
            .iter()
            .any(|c| matches!(c, Content::Stored(_)));
        let mut outcome = None;
        for _ in 0..ID_ATTEMPTS {
            manifest.completed_at = jiff::Timestamp::now();
            let seal = key
                .as_ref()
                .map(|k| super::signing::seal(k, &manifest.to_json()));
            match store.write(&manifest, &files.contents, seal.as_deref()) {
                Ok(Written::Created { objects }) => {
                    outcome = Some(Ok(objects));
                    break;
                }
                Ok(Written::IdTaken) => {
                    manifest.id = CheckpointId::generate(&options.kind, created_at);
                }
                Err(e) => {
                    outcome = Some(Err(e));
                    break;
                }
            }
        }
        match outcome {
            Some(Ok(objects)) => {
                let entries = manifest
                    .files
                    .iter()
                    .zip(files.stamps)
                    .zip(objects)
                    .map(|((f, stamp), object)| {
                        let entry = cache::Entry {
                            stamp,
                            validator: f.validator,
                            sha256: f.sha256.clone(),
                            valid: f.valid,
                            errors: f.errors,
                            warnings: f.warnings,
                            object,
                        };
                        (f.path.clone(), entry)
                    })
                    .collect();
                // An unchanged cache is not written again (a rename over
                // the old file is about a third of a millisecond on ext4).
                if cache.replace(entries, created_at) {
                    cache.save(&ws.root, &cache_path);
                }
                return Ok(manifest);
            }
            Some(Err(_)) if reused && use_cache => use_cache = false,
            Some(Err(e)) => return Err(e),
            None => {
                return Err(Error::environment(
                    format!("could not find a free checkpoint ID after {ID_ATTEMPTS} attempts"),
                    None,
                ));
            }
        }
    }
}

struct Captured {
    entries: Vec<FileEntry>,
    contents: Vec<Content>,
    stamps: Vec<Stamp>,
    absent: Vec<AbsentFile>,
    skipped: Vec<crate::config::protected::OddName>,
}

/// The mode a manifest records: what git stores, executable or not.
pub(crate) fn git_mode(mode: u32) -> u32 {
    if mode & 0o100 != 0 { 0o755 } else { 0o644 }
}

fn read_protected_set(ws: &Workspace, cache: Option<&StatCache>) -> Result<Captured> {
    let set = crate::config::protected::ProtectedSet::new(&ws.config)?;
    let mut out = Captured {
        entries: Vec::new(),
        contents: Vec::new(),
        stamps: Vec::new(),
        absent: Vec::new(),
        skipped: Vec::new(),
    };
    let scan = set.scan(&ws.root)?;
    out.skipped = scan.odd;
    // What a glob matched that is not a regular file (a symlink, a FIFO, a
    // socket, a device, a link in place of the glob's directory) is, like
    // such a file at a literal path, a finding for that path alone: the
    // manifest says it was not captured instead of leaving it out unsaid.
    for (path, _) in scan.special {
        let reason = match crate::fs::paths::inspect(&ws.root, &path) {
            Ok(crate::fs::paths::Inspect::Found(found)) => {
                format!("it is {}, not a regular file", found.kind.describe())
            }
            _ => "it is not a regular file".to_string(),
        };
        out.skipped
            .push(crate::config::protected::OddName { path, reason });
    }
    // Files come sorted: neighbours share their directory's descriptor.
    let mut opener = crate::fs::paths::Opener::new(&ws.root);
    for (path, validator) in scan.files {
        if ws.git.is_some() && path == super::store::git::MANIFEST_FILE {
            return Err(Error::usage(
                format!("the protected file `{path}` has the name the checkpoint manifest uses"),
                Some("protect it under another path, or use the directory store ([checkpoint] store = \"directory\")".to_string()),
            ));
        }
        let disk = ws.root.join(&path);
        // An unchanged file is known from its `lstat` alone (taken without
        // following a symlink at any component): it is not even opened.
        if let Some(cache) = cache
            && let Ok(Some(st)) = opener.lstat(&path)
            && crate::fs::paths::is_regular(&st)
        {
            let stamp = Stamp::of_stat(&st);
            if let Some(hit) = cache.get(&path, &stamp, validator) {
                check_size(ws, &path, stamp.size)?;
                out.entries.push(FileEntry {
                    path,
                    sha256: hit.sha256.clone(),
                    size: stamp.size,
                    mode: git_mode(stamp.mode),
                    validator,
                    valid: hit.valid,
                    errors: hit.errors,
                    warnings: hit.warnings,
                });
                out.contents.push(Content::Stored(hit.object.clone()));
                out.stamps.push(stamp);
                continue;
            }
        }
        // Never through a symlink at any component, never a FIFO, socket,
        // device or directory (`open_file` opens regular files only): such
        // a path is a finding for that path alone, and the rest of the set
        // is still captured.
        let mut file = match opener.open_file(&path) {
            Ok(Some(file)) => file,
            Ok(None) => {
                out.absent.push(AbsentFile { path, validator });
                continue;
            }
            Err(e) => {
                out.skipped.push(crate::config::protected::OddName {
                    path,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let st = rustix::fs::fstat(&file).map_err(|e| Error::io(&disk, e.into()))?;
        let stamp = Stamp::of_stat(&st);
        check_size(ws, &path, stamp.size)?;
        // Never more than the size just checked (and one byte to notice
        // growth): a writer appending meanwhile cannot make this read grow
        // without bound.
        let mut bytes = Vec::with_capacity(stamp.size as usize);
        (&mut file)
            .take(stamp.size + 1)
            .read_to_end(&mut bytes)
            .at(&disk)?;
        let after = rustix::fs::fstat(&file).map_err(|e| Error::io(&disk, e.into()))?;
        if Stamp::of_stat(&after) != stamp || bytes.len() as u64 != stamp.size {
            return Err(Error::environment(
                format!("`{path}` changed while it was being captured"),
                Some("run the checkpoint again once the writer has finished".to_string()),
            ));
        }
        let report = crate::validate::validate_bytes(&path, &bytes, validator);
        out.entries.push(FileEntry {
            sha256: super::store::dir::sha256_hex(&bytes),
            size: stamp.size,
            mode: git_mode(stamp.mode),
            validator,
            valid: report.valid,
            errors: report.errors,
            warnings: report.warnings,
            path,
        });
        out.contents.push(Content::Bytes(bytes));
        out.stamps.push(stamp);
    }
    Ok(out)
}

/// Refuses a protected file larger than `[limits] max_file_size`.
fn check_size(ws: &Workspace, path: &str, size: u64) -> Result<()> {
    if size > ws.config.limits.max_file_size {
        return Err(Error::usage(
            format!(
                "protected file `{path}` holds {size} bytes, more than `[limits] max_file_size` ({})",
                ws.config.limits.max_file_size
            ),
            Some("shrink the file, or raise the limit in lifeline.toml".to_string()),
        ));
    }
    Ok(())
}

/// HEAD, branch, dirty paths and the last five commits, from two git
/// processes run side by side (`log` fails on an unborn branch; its answer
/// is used only when `status` names a commit).
pub(crate) fn git_state(git: &Git) -> Result<GitState> {
    let (status, log) = std::thread::scope(|scope| {
        let log = scope.spawn(|| git.run(["log", "-5", LOG_FORMAT]));
        let status = git.run_bytes(["status", "--porcelain=v2", "--branch", "-z"], None);
        (
            status,
            log.join().expect("the git log thread does not panic"),
        )
    });
    let status = status?;
    let mut state = GitState::default();
    let mut records = status.split(|b| *b == 0).filter(|r| !r.is_empty());
    while let Some(record) = records.next() {
        let text = String::from_utf8_lossy(record);
        if let Some(oid) = text.strip_prefix("# branch.oid ") {
            state.head = (oid != "(initial)").then(|| oid.to_string());
            continue;
        }
        if let Some(head) = text.strip_prefix("# branch.head ") {
            state.branch = (head != "(detached)").then(|| head.to_string());
            continue;
        }
        let fields_before_path = match text.chars().next() {
            Some('1') => 8,
            Some('2') => 9,
            Some('u') => 10,
            Some('?') | Some('!') => 1,
            _ => continue,
        };
        if let Some(path) = text
            .splitn(fields_before_path + 1, ' ')
            .nth(fields_before_path)
        {
            state.dirty.push(path.to_string());
        }
        if text.starts_with('2') {
            // A rename's original path follows as its own record.
            records.next();
        }
    }
    if let Some(head) = &state.head {
        state.recent_commits = commits(&log?);
        // HEAD may have moved between the two processes: the commits are
        // recorded only when they start at the HEAD `status` saw.
        if state.recent_commits.first().map(|c| &c.sha) != Some(head) {
            state.recent_commits =
                commits(&git.run(["log", "-5", LOG_FORMAT, head.as_str(), "--"])?);
        }
    }
    Ok(state)
}

/// `git log`'s format for [`commits`].
const LOG_FORMAT: &str = "--format=%H%x00%s";

/// The commits of `git log` output in [`LOG_FORMAT`].
fn commits(log: &str) -> Vec<CommitSummary> {
    log.lines()
        .filter_map(|l| l.split_once('\0'))
        .map(|(sha, summary)| CommitSummary {
            sha: sha.to_string(),
            summary: summary.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache as capture leaves it when it records `captured` at
    /// `captured_at`, each entry naming `object` and a hash no file has: a
    /// capture that uses an entry reports that hash, one that reads the file
    /// reports the real one.
    fn cache_of(captured: Captured, object: &str, captured_at: jiff::Timestamp) -> StatCache {
        let entries = captured
            .entries
            .into_iter()
            .zip(captured.stamps)
            .map(|(f, stamp)| {
                let entry = cache::Entry {
                    stamp,
                    validator: f.validator,
                    sha256: "cached".to_string(),
                    valid: f.valid,
                    errors: f.errors,
                    warnings: f.warnings,
                    object: object.to_string(),
                };
                (f.path, entry)
            })
            .collect();
        let mut cache = StatCache::default();
        cache.replace(entries, captured_at);
        cache
    }

    /// Far enough ahead that files written now are past the racy window.
    fn later() -> jiff::Timestamp {
        jiff::Timestamp::now() + jiff::SignedDuration::from_secs(cache::RACY_SECS + 1)
    }

    #[test]
    fn a_file_the_cache_describes_is_not_read_again_and_a_changed_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let ws = crate::test_support::plain_workspace(dir.path());
        std::fs::create_dir_all(dir.path().join("planning")).unwrap();
        std::fs::write(dir.path().join("planning/sprint.config.json"), "{}\n").unwrap();
        std::fs::create_dir_all(dir.path().join(".github")).unwrap();
        std::fs::write(dir.path().join(".github/labels.yml"), "[]\n").unwrap();

        let cache = cache_of(read_protected_set(&ws, None).unwrap(), "blob-1", later());
        let again = read_protected_set(&ws, Some(&cache)).unwrap();
        assert_eq!(again.entries.len(), 2);
        for (entry, content) in again.entries.iter().zip(&again.contents) {
            assert_eq!(entry.sha256, "cached", "{}", entry.path);
            assert!(matches!(content, Content::Stored(o) if o == "blob-1"));
        }

        // A rewrite changes the file's stamp: it is read, whatever the cache says.
        std::fs::write(dir.path().join("planning/sprint.config.json"), "{ }\n").unwrap();
        let after = read_protected_set(&ws, Some(&cache)).unwrap();
        let config = after
            .entries
            .iter()
            .position(|e| e.path == "planning/sprint.config.json")
            .unwrap();
        assert_eq!(
            after.entries[config].sha256,
            super::super::store::dir::sha256_hex(b"{ }\n")
        );
        assert!(matches!(&after.contents[config], Content::Bytes(b) if b == b"{ }\n"));
        let labels = 1 - config;
        assert_eq!(after.entries[labels].sha256, "cached");
    }

    #[test]
    fn the_cache_keeps_only_files_older_than_the_racy_window() {
        let dir = tempfile::tempdir().unwrap();
        let ws = crate::test_support::plain_workspace(dir.path());
        std::fs::create_dir_all(dir.path().join("planning")).unwrap();
        std::fs::write(dir.path().join("planning/sprint.config.json"), "{}\n").unwrap();
        // Captured in the same instant the file was written: not trusted.
        let cache = cache_of(
            read_protected_set(&ws, None).unwrap(),
            "blob",
            jiff::Timestamp::now(),
        );
        let again = read_protected_set(&ws, Some(&cache)).unwrap();
        assert_eq!(
            again.entries[0].sha256,
            super::super::store::dir::sha256_hex(b"{}\n")
        );
    }
}
