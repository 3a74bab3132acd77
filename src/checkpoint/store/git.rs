//! The git store: each checkpoint is a commit under
//! `refs/lifeline/checkpoints/<id>` whose tree holds the captured files at
//! their repo paths plus `manifest.json` — the way `git stash` and git notes
//! keep data in refs. Git deduplicates unchanged files, the refs are
//! invisible to branches, and push/fetch carry them to other clones.
//!
//! Writing takes two git processes whatever the number of files:
//! `git fast-import` writes the blobs, trees and the commit under a private
//! temporary ref, then one `git update-ref --stdin` transaction creates the
//! real ref (only if no checkpoint has the ID yet); the temporary one is
//! deleted after, best effort. That creation is the last step, so a checkpoint is
//! visible only when complete; a crash before it leaves unreachable objects
//! (which `git gc` collects) and at worst a temporary ref that `prune`
//! removes.

use std::path::{Path, PathBuf};

use super::{Content, Damaged, FileVisitor, Listing, Store, SyncReport, Written};
use crate::checkpoint::id::CheckpointId;
use crate::checkpoint::manifest::{Manifest, Summary};
use crate::error::{Error, Result};
use crate::git::Git;

/// Where the checkpoint refs live.
pub const REF_PREFIX: &str = "refs/lifeline/checkpoints/";
/// Where a checkpoint is assembled before its real ref is created.
pub const TMP_PREFIX: &str = "refs/lifeline/tmp/";
/// The manifest's name at the root of a checkpoint's tree.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The first line of every checkpoint commit message.
const MESSAGE_TITLE: &str = "lifeline checkpoint";
/// Temporary refs older than this are leftovers of a crashed create.
const TMP_GRACE_SECS: i64 = 3600;

/// Checkpoints as commits under [`REF_PREFIX`].
#[derive(Debug, Clone)]
pub struct GitStore {
    git: Git,
    git_dir: PathBuf,
}

impl GitStore {
    /// The store of the repository whose work tree is `root`.
    pub fn new(git: Git, root: &Path) -> Result<GitStore> {
        let git_dir = git_dir_of(root).map_or_else(
            || {
                git.run(["rev-parse", "--absolute-git-dir"])
                    .map(|s| PathBuf::from(s.trim_end()))
            },
            Ok,
        )?;
        Ok(GitStore { git, git_dir })
    }

    fn refname(id: &CheckpointId) -> String {
        format!("{REF_PREFIX}{id}")
    }

    /// Deletes temporary refs left by creates that crashed more than an
    /// hour ago; returns how many.
    pub fn remove_stale_temporaries(&self) -> Result<usize> {
        let out = self.git.run([
            "for-each-ref",
            "--format=%(refname) %(objectname) %(committerdate:unix)",
            TMP_PREFIX,
        ])?;
        let now = jiff::Timestamp::now().as_second();
        let mut script = String::new();
        let mut count = 0;
        for line in out.lines() {
            let mut parts = line.split(' ');
            let (Some(name), Some(oid), Some(time)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let time: i64 = time.parse().unwrap_or(0);
            if now - time > TMP_GRACE_SECS {
                script.push_str(&format!("delete {name} {oid}\n"));
                count += 1;
            }
        }
        if count > 0 {
            self.git
                .run_bytes(["update-ref", "--stdin"], Some(script.as_bytes()))?;
        }
        Ok(count)
    }

    /// Lists refs and summaries in one `for-each-ref`; falls back to one
    /// ref at a time when an object is missing (for-each-ref then fails as
    /// a whole).
    fn list_refs(&self) -> Result<Vec<(String, std::result::Result<String, String>)>> {
        let batch = self.git.run_bytes(
            [
                "for-each-ref",
                "--format=%(refname)%00%(contents:body)%00",
                REF_PREFIX,
            ],
            None,
        );
        if let Ok(bytes) = batch {
            let text = String::from_utf8_lossy(&bytes);
            return Ok(text
                .split("\0\n")
                .filter(|r| !r.is_empty())
                .filter_map(|r| {
                    let (name, body) = r.split_once('\0')?;
                    Some((name.to_string(), Ok(body.to_string())))
                })
                .collect());
        }
        let names = self
            .git
            .run(["for-each-ref", "--format=%(refname)", REF_PREFIX])?;
        Ok(names
            .lines()
            .map(|name| {
                let body = self
                    .git
                    .run(["log", "-1", "--format=%b", name])
                    .map_err(|e| e.to_string());
                (name.to_string(), body)
            })
            .collect())
    }
}

/// The git directory of a work tree without running git: `.git` itself, or
/// the `gitdir:` a `.git` file points to.
fn git_dir_of(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    let meta = std::fs::metadata(&dot_git).ok()?;
    if meta.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.strip_prefix("gitdir:")?.trim();
    Some(root.join(target))
}

/// The summary kept in a checkpoint's commit message, so `list` needs one
/// git process however many checkpoints there are.
fn message(manifest: &Manifest) -> String {
    let summary = serde_json::to_string(&manifest.summary()).expect("a summary serializes");
    let message = format!("{MESSAGE_TITLE} {}\n\n{summary}\n", manifest.id);
    crate::redact::redact(&message).into_owned()
}

fn parse_summary(name: &str, body: &str) -> std::result::Result<Summary, String> {
    let id: CheckpointId = name
        .strip_prefix(REF_PREFIX)
        .unwrap_or(name)
        .parse()
        .map_err(|e: String| e)?;
    let line = body
        .lines()
        .find(|l| l.starts_with('{'))
        .ok_or("the commit message has no summary")?;
    let summary: Summary = serde_json::from_str(line)
        .map_err(|e| format!("the commit message summary is corrupt: {e}"))?;
    if summary.id != id {
        return Err(format!("the commit describes `{}`, not `{id}`", summary.id));
    }
    Ok(summary)
}

/// A path in fast-import's C-style quoting.
fn quote(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 2);
    out.push('"');
    for c in path.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A name git accepts in an author line.
fn ident_name(actor: &str) -> String {
    let cleaned: String = actor
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '\n' | '\r' | '\0'))
        .collect();
    if cleaned.trim().is_empty() {
        "lifeline".into()
    } else {
        cleaned.trim().to_string()
    }
}

impl Store for GitStore {
    fn name(&self) -> &'static str {
        "git"
    }

    fn location(&self, id: &CheckpointId) -> String {
        GitStore::refname(id)
    }

    fn list(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        for (name, body) in self.list_refs()? {
            match body.and_then(|b| parse_summary(&name, &b)) {
                Ok(summary) => listing.checkpoints.push(summary),
                Err(reason) => listing.damaged.push(Damaged { name, reason }),
            }
        }
        Ok(listing)
    }

    fn manifest(&self, id: &CheckpointId) -> Result<Manifest> {
        let origin = format!("{}:{MANIFEST_FILE}", GitStore::refname(id));
        let bytes = self
            .git
            .run_bytes(["cat-file", "blob", &origin], None)
            .map_err(|e| {
                Error::environment(
                    format!("cannot read checkpoint manifest {origin}: {e}"),
                    Some("`lifeline checkpoint list` shows the checkpoints there are".to_string()),
                )
            })?;
        let manifest = Manifest::from_json(&bytes, &origin)?;
        if manifest.id != *id {
            return Err(Error::environment(
                format!(
                    "checkpoint manifest {origin} is corrupt: it describes `{}`",
                    manifest.id
                ),
                None,
            ));
        }
        Ok(manifest)
    }

    fn visit_files(&self, manifest: &Manifest, visit: &mut FileVisitor<'_>) -> Result<()> {
        let refname = GitStore::refname(&manifest.id);
        let tree = self
            .git
            .run_bytes(["ls-tree", "-r", "-z", &refname], None)?;
        let mut blobs = std::collections::HashMap::new();
        for record in tree.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let text = String::from_utf8_lossy(record);
            let Some((meta, path)) = text.split_once('\t') else {
                continue;
            };
            let mut fields = meta.split(' ');
            let (Some(_mode), Some(kind), Some(oid)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if kind == "blob" {
                blobs.insert(path.to_string(), oid.to_string());
            }
        }
        let wanted: Vec<Option<&String>> =
            manifest.files.iter().map(|f| blobs.get(&f.path)).collect();
        let mut input = String::new();
        for oid in wanted.iter().flatten() {
            input.push_str(oid);
            input.push('\n');
        }
        // One `cat-file --batch` for all; if it dies on a corrupt object,
        // read one object at a time to say which file is damaged.
        let batch = self
            .git
            .run_bytes(["cat-file", "--batch"], Some(input.as_bytes()))
            .ok()
            .and_then(|out| parse_batch(&out, wanted.iter().flatten().count()));
        let mut batch = batch.map(|v| v.into_iter());
        for (entry, oid) in manifest.files.iter().zip(&wanted) {
            let Some(oid) = oid else {
                visit(
                    entry,
                    Err(format!(
                        "`{}` is missing from the checkpoint's tree",
                        entry.path
                    )),
                );
                continue;
            };
            let bytes = match batch.as_mut() {
                Some(items) => items
                    .next()
                    .unwrap_or_else(|| Err("missing from git's output".into())),
                None => self
                    .git
                    .run_bytes(["cat-file", "blob", oid], None)
                    .map_err(|e| e.to_string()),
            };
            visit(entry, bytes.map_err(|why| format!("object {oid}: {why}")));
        }
        Ok(())
    }

    fn write(&self, manifest: &Manifest, contents: &[Content]) -> Result<Written> {
        assert_eq!(manifest.files.len(), contents.len(), "one content per file");
        let tmp_ref = format!("{TMP_PREFIX}{}-{}", manifest.id, std::process::id());
        let when = manifest.created_at.as_second();
        let json = manifest.to_json();
        let size: usize = contents
            .iter()
            .map(|c| match c {
                Content::Bytes(b) => b.len() + 64,
                Content::Stored(_) => 0,
            })
            .sum();
        let mut stream: Vec<u8> = Vec::with_capacity(size + json.len() + 256 * contents.len());
        let mut marks = Vec::new();
        for (i, content) in contents.iter().enumerate() {
            if let Content::Bytes(bytes) = content {
                stream.extend_from_slice(
                    format!("blob\nmark :{}\ndata {}\n", i + 1, bytes.len()).as_bytes(),
                );
                stream.extend_from_slice(bytes);
                stream.push(b'\n');
                marks.push(i);
            }
        }
        let manifest_mark = contents.len() + 1;
        let commit_mark = contents.len() + 2;
        stream.extend_from_slice(
            format!("blob\nmark :{manifest_mark}\ndata {}\n", json.len()).as_bytes(),
        );
        stream.extend_from_slice(&json);
        stream.push(b'\n');
        let msg = message(manifest);
        let author = ident_name(&manifest.actor);
        stream.extend_from_slice(
            format!(
                "commit {tmp_ref}\nmark :{commit_mark}\nauthor {author} <lifeline@localhost> {when} +0000\ncommitter lifeline <lifeline@localhost> {when} +0000\ndata {}\n{msg}\n",
                msg.len()
            )
            .as_bytes(),
        );
        for (i, (entry, content)) in manifest.files.iter().zip(contents).enumerate() {
            let mode = if entry.executable() {
                "100755"
            } else {
                "100644"
            };
            let dataref = match content {
                Content::Bytes(_) => format!(":{}", i + 1),
                Content::Stored(oid) => oid.clone(),
            };
            stream.extend_from_slice(
                format!("M {mode} {dataref} {}\n", quote(&entry.path)).as_bytes(),
            );
        }
        stream
            .extend_from_slice(format!("M 100644 :{manifest_mark} {MANIFEST_FILE}\n\n").as_bytes());
        stream.extend_from_slice(format!("get-mark :{commit_mark}\n").as_bytes());
        for i in &marks {
            stream.extend_from_slice(format!("get-mark :{}\n", i + 1).as_bytes());
        }
        stream.extend_from_slice(b"done\n");
        let out = self
            .git
            .run_bytes(["fast-import", "--quiet", "--done"], Some(&stream))?;
        let out = String::from_utf8_lossy(&out);
        let mut lines = out.lines();
        let commit = lines.next().unwrap_or_default().trim().to_string();
        let mut objects: Vec<String> = contents
            .iter()
            .map(|c| match c {
                Content::Stored(oid) => oid.clone(),
                Content::Bytes(_) => String::new(),
            })
            .collect();
        for i in &marks {
            objects[*i] = lines.next().unwrap_or_default().trim().to_string();
        }
        if commit.is_empty() || objects.iter().any(String::is_empty) {
            return Err(Error::Git {
                command: "fast-import".into(),
                message: "did not report the objects it wrote".into(),
            });
        }
        let refname = GitStore::refname(&manifest.id);
        // Only a creation: deleting a ref takes packed-refs.lock, and a
        // process killed while holding it leaves the lock behind, which
        // would make every later create fail. The temporary ref goes in a
        // separate, best-effort step (prune sweeps what is left).
        let script = format!("create {refname} {commit}\n");
        match self
            .git
            .run_bytes(["update-ref", "--stdin"], Some(script.as_bytes()))
        {
            Ok(_) => {
                let _ = self
                    .git
                    .run_bytes(["update-ref", "-d", &tmp_ref, &commit], None);
                Ok(Written::Created { objects })
            }
            Err(e) => {
                let _ = self
                    .git
                    .run_bytes(["update-ref", "-d", &tmp_ref, &commit], None);
                if self.git.resolve_commit(&refname).is_some() {
                    Ok(Written::IdTaken)
                } else {
                    Err(e)
                }
            }
        }
    }

    fn remove(&self, ids: &[CheckpointId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let script: String = ids
            .iter()
            .map(|id| format!("delete {}\n", GitStore::refname(id)))
            .collect();
        self.git
            .run_bytes(["update-ref", "--stdin"], Some(script.as_bytes()))?;
        Ok(())
    }

    fn push(&self, remote: &str, ids: Option<&[CheckpointId]>) -> Result<SyncReport> {
        let remote = self
            .git
            .checked_remote(remote)
            .map_err(|e| remote_error("push to", remote, e))?;
        let refspecs: Vec<String> = match ids {
            Some(ids) => ids
                .iter()
                .map(|id| format!("{0}:{0}", GitStore::refname(id)))
                .collect(),
            None => vec![format!("{REF_PREFIX}*:{REF_PREFIX}*")],
        };
        let mut args = vec![
            "push".to_string(),
            "--porcelain".into(),
            "--".into(),
            remote.into(),
        ];
        args.extend(refspecs);
        let out = self
            .git
            .run(&args)
            .map_err(|e| remote_error("push to", remote, e))?;
        let mut report = SyncReport {
            remote: remote.to_string(),
            ..SyncReport::default()
        };
        for line in out.lines() {
            let mut fields = line.split('\t');
            let (Some(flag), Some(spec)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Some(id) = spec
                .rsplit_once(':')
                .and_then(|(_, to)| to.strip_prefix(REF_PREFIX))
            else {
                continue;
            };
            match flag.trim() {
                "*" | "+" | "" => report.transferred.push(id.to_string()),
                "=" => report.up_to_date += 1,
                _ => {}
            }
        }
        report.transferred.sort();
        Ok(report)
    }

    fn fetch(&self, remote: &str) -> Result<SyncReport> {
        let remote = self
            .git
            .checked_remote(remote)
            .map_err(|e| remote_error("fetch from", remote, e))?;
        let before = self
            .git
            .run(["for-each-ref", "--format=%(refname)", REF_PREFIX])?;
        let before: std::collections::HashSet<&str> = before.lines().collect();
        self.git
            .run([
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--",
                remote,
                &format!("{REF_PREFIX}*:{REF_PREFIX}*"),
            ])
            .map_err(|e| remote_error("fetch from", remote, e))?;
        let after = self
            .git
            .run(["for-each-ref", "--format=%(refname)", REF_PREFIX])?;
        let mut report = SyncReport {
            remote: remote.to_string(),
            ..SyncReport::default()
        };
        for name in after.lines() {
            if before.contains(name) {
                report.up_to_date += 1;
            } else if let Some(id) = name.strip_prefix(REF_PREFIX) {
                report.transferred.push(id.to_string());
            }
        }
        Ok(report)
    }

    fn cache_path(&self) -> PathBuf {
        self.git_dir.join("lifeline").join("checkpoint-cache.json")
    }
}

fn remote_error(verb: &str, remote: &str, e: Error) -> Error {
    Error::environment(
        format!("could not {verb} `{remote}`: {e}"),
        Some(format!(
            "check that the remote exists (`git remote -v`) and that this runner may {verb} it; --remote or [checkpoint] remote picks another"
        )),
    )
}

/// Splits `git cat-file --batch` output into `count` object bodies
/// (`<oid> missing` becomes an error). `None` when the output is cut short.
fn parse_batch(out: &[u8], count: usize) -> Option<Vec<std::result::Result<Vec<u8>, String>>> {
    let mut items = Vec::with_capacity(count);
    let mut rest = out;
    for _ in 0..count {
        let nl = rest.iter().position(|b| *b == b'\n')?;
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        rest = &rest[nl + 1..];
        let fields: Vec<&str> = header.split(' ').collect();
        match fields.as_slice() {
            [_, "missing"] => items.push(Err("the object is missing".to_string())),
            [_, kind, size] => {
                let size: usize = size.parse().ok()?;
                if rest.len() < size + 1 {
                    return None;
                }
                if *kind == "blob" {
                    items.push(Ok(rest[..size].to_vec()));
                } else {
                    items.push(Err(format!("the object is a {kind}, not a file")));
                }
                rest = &rest[size + 1..];
            }
            _ => items.push(Err(format!("git said `{header}`"))),
        }
    }
    Some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_fast_import() {
        assert_eq!(quote("planning/TASK.md"), "\"planning/TASK.md\"");
        assert_eq!(quote("a \"b\"\\c\nd"), "\"a \\\"b\\\"\\\\c\\nd\"");
        assert_eq!(quote("tab\there"), "\"tab\\011here\"");
    }

    #[test]
    fn batch_output_is_split_per_object() {
        let out = b"aaa blob 3\nabc\nbbb missing\nccc tree 1\nx\n";
        let items = parse_batch(out, 3).unwrap();
        assert_eq!(items[0], Ok(b"abc".to_vec()));
        assert!(items[1].is_err());
        assert!(items[2].is_err());
        assert!(parse_batch(b"aaa blob 10\nabc", 1).is_none());
    }

    #[test]
    fn author_names_are_sanitized() {
        assert_eq!(ident_name("git:Ann <a@b>"), "git:Ann a@b");
        assert_eq!(ident_name("<>"), "lifeline");
    }
}
