//! The git store: each checkpoint is a commit under
//! `refs/lifeline/checkpoints/<id>` whose tree holds the captured files at
//! their repo paths plus `manifest.json` — the way `git stash` and git notes
//! keep data in refs. Git deduplicates unchanged files, the refs are
//! invisible to branches, and push/fetch carry them to other clones.
//!
//! Writing takes no git process in the repositories [`crate::git::odb`]
//! models (SHA-1 objects, files refs, no alternates...): the blobs, trees
//! and commit go into one pack, made durable first, and the checkpoint's
//! ref is then created through a lock file, only if no ref has the name
//! yet, so of two racing creators only one wins. Elsewhere one `git
//! fast-import` does the same (without `--force` it never moves an existing
//! ref to a commit that does not contain it, and a checkpoint commit has no
//! parent), with the same commit byte for byte. A checkpoint is therefore
//! visible only when complete; a crash before that leaves unreachable
//! objects, which `git gc` collects. Older versions assembled a checkpoint
//! under a temporary ref ([`TMP_PREFIX`]) first; `prune` still removes any
//! left.

use std::path::{Path, PathBuf};

use super::{Content, Damaged, FileVisitor, Listing, Provenance, Store, SyncReport, Written};
use crate::checkpoint::id::CheckpointId;
use crate::checkpoint::index::{Index, Origin};
use crate::checkpoint::manifest::{Manifest, Summary};
use crate::config::protected::Records;
use crate::error::{Error, Result};
use crate::git::Git;
use crate::git::odb::{self, Kind, Object, Odb, Presence, TreeFile};

/// Where the checkpoint refs live.
pub const REF_PREFIX: &str = "refs/lifeline/checkpoints/";
/// Where older versions assembled a checkpoint before creating its ref.
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
    /// The work tree: private files in the git directory are opened from
    /// it when the git directory is inside it (see
    /// [`crate::fs::atomic::private_anchor`]).
    root: PathBuf,
    git_dir: PathBuf,
    records: Records,
}

impl GitStore {
    /// The store of the repository whose work tree is `root`; a manifest
    /// naming one of `records` is damaged.
    pub fn new(git: Git, root: &Path, records: Records) -> Result<GitStore> {
        let git_dir = crate::git::git_dir_of(root).map_or_else(
            || {
                git.run(["rev-parse", "--absolute-git-dir"])
                    .map(|s| PathBuf::from(s.trim_end()))
            },
            Ok,
        )?;
        Ok(GitStore {
            git,
            root: root.to_path_buf(),
            git_dir,
            records,
        })
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

    fn index_path(&self) -> PathBuf {
        self.git_dir.join("lifeline").join("checkpoint-index.json")
    }

    /// Reads what the index does not know yet about `commits` (ref name,
    /// commit ID): one `cat-file --batch` for the commits and their
    /// manifests, one `ls-tree` per commit.
    fn examine(&self, commits: &[(&str, &str)]) -> Vec<std::result::Result<Examined, String>> {
        if commits.is_empty() {
            return Vec::new();
        }
        let mut input = String::new();
        for (_, oid) in commits {
            input.push_str(&format!("{oid}\n{oid}:{MANIFEST_FILE}\n"));
        }
        let out = self
            .git
            .run_bytes(["cat-file", "--batch"], Some(input.as_bytes()))
            .ok()
            .and_then(|out| parse_batch(&out, 2 * commits.len()));
        let Some(items) = out else {
            return commits
                .iter()
                .map(|_| Err("git could not read the checkpoint's objects".to_string()))
                .collect();
        };
        let mut items = items.into_iter();
        let read: Vec<_> = commits
            .iter()
            .map(|(name, oid)| {
                let commit = items.next().unwrap_or_else(|| Err("missing".into()));
                let manifest = items.next().unwrap_or_else(|| Err("missing".into()));
                self.examine_one(name, oid, commit, manifest)
            })
            .collect();
        let readable: Vec<&str> = commits
            .iter()
            .zip(&read)
            .filter(|(_, r)| r.is_ok())
            .map(|((_, oid), _)| *oid)
            .collect();
        let mut trees = self.trees(&readable);
        commits
            .iter()
            .zip(read)
            .map(|((_, oid), read)| {
                let (examined, manifest) = read?;
                let tree = trees
                    .remove(*oid)
                    .ok_or("git could not list the checkpoint's tree")?;
                check_tree(tree, &manifest)?;
                Ok(examined)
            })
            .collect()
    }

    /// Every file of each of `commits` (root commits) with its tree mode,
    /// from one `git diff-tree --stdin --root`.
    fn trees(
        &self,
        commits: &[&str],
    ) -> std::collections::HashMap<String, std::collections::BTreeMap<String, String>> {
        let mut out = std::collections::HashMap::new();
        if commits.is_empty() {
            return out;
        }
        let input: String = commits.iter().map(|c| format!("{c}\n")).collect();
        let Ok(raw) = self.git.run_bytes(
            ["diff-tree", "--stdin", "-r", "--root", "-z", "--no-renames"],
            Some(input.as_bytes()),
        ) else {
            return out;
        };
        // `<commit>\0` then, per file, `:000000 <mode> <zeros> <oid> A\0<path>\0`.
        let mut current: Option<String> = None;
        let mut tokens = raw.split(|b| *b == 0).filter(|t| !t.is_empty());
        while let Some(token) = tokens.next() {
            if token.first() == Some(&b':') {
                let path = tokens.next().unwrap_or_default();
                let meta = String::from_utf8_lossy(token);
                let mode = meta.split(' ').nth(1).unwrap_or_default().to_string();
                if let Some(commit) = &current {
                    out.entry(commit.clone())
                        .or_insert_with(std::collections::BTreeMap::new)
                        .insert(String::from_utf8_lossy(path).into_owned(), mode);
                }
            } else {
                let commit = String::from_utf8_lossy(token).trim().to_string();
                out.entry(commit.clone()).or_default();
                current = Some(commit);
            }
        }
        out
    }

    /// Checks that a checkpoint commit's manifest, tree and message agree;
    /// the summary derived from the manifest when they do.
    fn examine_one(
        &self,
        name: &str,
        oid: &str,
        commit: std::result::Result<(String, Vec<u8>), String>,
        manifest: std::result::Result<(String, Vec<u8>), String>,
    ) -> std::result::Result<(Examined, Manifest), String> {
        let id: CheckpointId = name
            .strip_prefix(REF_PREFIX)
            .unwrap_or(name)
            .parse()
            .map_err(|e: String| e)?;
        let (kind, commit) = commit.map_err(|e| format!("commit {oid}: {e}"))?;
        if kind != "commit" {
            return Err(format!("the ref points to a {kind}, not a commit"));
        }
        let (kind, json) = manifest.map_err(|e| format!("{MANIFEST_FILE}: {e}"))?;
        if kind != "blob" {
            return Err(format!("{MANIFEST_FILE} is a {kind}, not a file"));
        }
        let origin = format!("{name}:{MANIFEST_FILE}");
        let manifest =
            Manifest::from_json(&json, &origin, &self.records).map_err(|e| e.to_string())?;
        if manifest.id != id {
            return Err(format!(
                "the manifest describes `{}`, not `{id}`",
                manifest.id
            ));
        }
        let (committed, message) = split_commit(&commit)?;
        let claimed = parse_summary(name, &message)?;
        let summary = manifest.summary();
        if claimed != summary {
            return Err("the commit message's summary disagrees with the manifest".to_string());
        }
        let signer = match message.lines().find(|l| l.starts_with("signature:")) {
            Some(line) => Some(super::super::signing::check(line, &json)?),
            None => None,
        };
        Ok((
            Examined {
                summary,
                committed,
                signer,
            },
            manifest,
        ))
    }
}

impl GitStore {
    /// [`Store::write`] through one `git fast-import`, which writes the
    /// objects and creates the ref: for the repositories the in-process
    /// writer does not model (see [`crate::git::Git::odb`]), and for tests
    /// that compare the two.
    pub fn write_with_fast_import(
        &self,
        manifest: &Manifest,
        contents: &[Content],
        seal: Option<&str>,
    ) -> Result<Written> {
        assert_eq!(manifest.files.len(), contents.len(), "one content per file");
        let refname = GitStore::refname(&manifest.id);
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
        let msg = message(manifest, seal);
        let author = ident_name(&manifest.actor);
        stream.extend_from_slice(
            format!(
                "commit {refname}\nmark :{commit_mark}\nauthor {author} <lifeline@localhost> {when} +0000\ncommitter lifeline <lifeline@localhost> {when} +0000\ndata {}\n{msg}\n",
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
        let out = match self
            .git
            .run_bytes(["fast-import", "--quiet", "--done"], Some(&stream))
        {
            Ok(out) => out,
            // fast-import refuses to move a ref that exists: another
            // checkpoint has this ID.
            Err(e) => {
                return match self.git.resolve_commit(&refname) {
                    Some(_) => Ok(Written::IdTaken),
                    None => Err(e),
                };
            }
        };
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
        self.remember(&commit, manifest, &json, seal);
        Ok(Written::Created { objects })
    }

    /// [`Store::write`] without a git process: the new blobs, the trees, the
    /// manifest and the commit (exactly what `fast-import` makes of the same
    /// input) as one pack, then the ref, created only if the name is free.
    /// Files the stat cache names by object are checked to be in the
    /// repository first: a missing one is an error (capture then reads
    /// everything again). `None` when an object's presence cannot be told
    /// here (a pack index this reader does not know): git is asked.
    fn write_in_process(
        &self,
        odb: &Odb,
        manifest: &Manifest,
        contents: &[Content],
        seal: Option<&str>,
    ) -> Result<Option<Written>> {
        let gone = || Error::Git {
            command: "checkpoint write".into(),
            message: "an object the stat cache names is no longer in the repository".into(),
        };
        let mut reused = Vec::new();
        for content in contents {
            if let Content::Stored(oid) = content {
                reused.push(odb::from_hex(oid).ok_or_else(gone)?);
            }
        }
        match odb.presence(&reused)? {
            Presence::All => {}
            Presence::Missing => return Err(gone()),
            Presence::Unknown => return Ok(None),
        }
        let json = manifest.to_json();
        let mut objects: Vec<Object<'_>> = Vec::with_capacity(contents.len() + 8);
        let blobs = odb::blobs(contents.iter().filter_map(|c| match c {
            Content::Bytes(bytes) => Some(bytes.as_slice()),
            Content::Stored(_) => None,
        }));
        let mut blobs = blobs.into_iter();
        let mut stored = reused.into_iter();
        let mut files = Vec::with_capacity(contents.len() + 1);
        let mut names = Vec::with_capacity(contents.len());
        for (entry, content) in manifest.files.iter().zip(contents) {
            let id = match content {
                Content::Bytes(_) => {
                    let blob = blobs.next().expect("one blob per file read");
                    let id = blob.id;
                    objects.push(blob);
                    id
                }
                Content::Stored(_) => stored.next().expect("one ID per stored file"),
            };
            names.push(odb::to_hex(&id));
            files.push(TreeFile {
                path: &entry.path,
                executable: entry.executable(),
                blob: id,
            });
        }
        let manifest_blob = Object::new(Kind::Blob, json.as_slice());
        files.push(TreeFile {
            path: MANIFEST_FILE,
            executable: false,
            blob: manifest_blob.id,
        });
        objects.push(manifest_blob);
        let (tree, trees) = odb::trees(&files).map_err(|why| Error::Git {
            command: "checkpoint write".into(),
            message: why,
        })?;
        objects.extend(trees);
        let when = manifest.created_at.as_second();
        let commit = Object::new(
            Kind::Commit,
            format!(
                "tree {}\nauthor {} <lifeline@localhost> {when} +0000\ncommitter lifeline <lifeline@localhost> {when} +0000\n\n{}",
                odb::to_hex(&tree),
                ident_name(&manifest.actor),
                message(manifest, seal)
            )
            .into_bytes(),
        );
        let commit_id = commit.id;
        objects.push(commit);
        if !odb.write(&objects, &GitStore::refname(&manifest.id), &commit_id)? {
            return Ok(Some(Written::IdTaken));
        }
        self.remember(&odb::to_hex(&commit_id), manifest, &json, seal);
        Ok(Some(Written::Created { objects: names }))
    }

    /// Records a checkpoint this clone just made in the local index.
    fn remember(&self, commit: &str, manifest: &Manifest, json: &[u8], seal: Option<&str>) {
        let path = self.index_path();
        let mut index = Index::load(&self.root, &path, &self.records.fingerprint());
        let signer = seal.and_then(|line| crate::checkpoint::signing::check(line, json).ok());
        let entry = index.entry(commit, jiff::Timestamp::now(), Origin::Local);
        entry.origin = Origin::Local;
        entry.summary = Some(manifest.summary());
        entry.signer = signer;
        index.save(&self.root, &path);
    }
}

/// The tree holds exactly the manifest's files, as regular files with
/// the manifest's executable bit, and `manifest.json`.
fn check_tree(
    mut entries: std::collections::BTreeMap<String, String>,
    manifest: &Manifest,
) -> std::result::Result<(), String> {
    if entries.remove(MANIFEST_FILE).as_deref() != Some("100644") {
        return Err(format!("the tree has no regular {MANIFEST_FILE}"));
    }
    for file in &manifest.files {
        let want = if file.executable() {
            "100755"
        } else {
            "100644"
        };
        match entries.remove(&file.path) {
            Some(mode) if mode == want => {}
            Some(mode) => {
                return Err(format!(
                    "the tree holds `{}` with mode {mode}; the manifest says {want}",
                    file.path
                ));
            }
            None => return Err(format!("the tree has no `{}`", file.path)),
        }
    }
    match entries.keys().next() {
        Some(extra) => Err(format!(
            "the tree holds `{extra}`, which the manifest does not list"
        )),
        None => Ok(()),
    }
}

/// What reading a checkpoint commit found.
struct Examined {
    summary: Summary,
    committed: Option<jiff::Timestamp>,
    signer: Option<String>,
}

/// The committer time and the message of a raw commit object.
fn split_commit(raw: &[u8]) -> std::result::Result<(Option<jiff::Timestamp>, String), String> {
    let text = String::from_utf8_lossy(raw);
    let (headers, message) = text.split_once("\n\n").ok_or("the commit has no message")?;
    if headers.lines().any(|l| l.starts_with("parent ")) {
        return Err("the commit has a parent; a checkpoint commit has none".to_string());
    }
    let committed = headers
        .lines()
        .find_map(|l| l.strip_prefix("committer "))
        .and_then(|l| l.rsplit(' ').nth(1))
        .and_then(|secs| secs.parse::<i64>().ok())
        .and_then(|secs| jiff::Timestamp::from_second(secs).ok());
    Ok((committed, message.to_string()))
}

/// The commit message: a title, the summary for people reading `git log`
/// (checked against the manifest, never believed), and the seal.
fn message(manifest: &Manifest, seal: Option<&str>) -> String {
    let summary = serde_json::to_string(&manifest.summary()).expect("a summary serializes");
    let message = format!("{MESSAGE_TITLE} {}\n\n{summary}\n", manifest.id);
    let message = crate::redact::redact(&message).into_owned();
    // The seal is hex only, and must reach git exactly as signed.
    match seal {
        Some(seal) => format!("{message}{seal}\n"),
        None => message,
    }
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

    /// Every checkpoint ref, each read from its manifest: the commit
    /// message is never believed, only checked. A ref whose manifest is
    /// corrupt or names a path lifeline never restores, or whose tree,
    /// manifest, message summary or signature disagree, is damaged.
    /// Verdicts are kept in the local index by commit ID.
    fn list(&self) -> Result<Listing> {
        let refs = self.git.run_bytes(
            [
                "for-each-ref",
                "--format=%(refname)%00%(objectname)",
                REF_PREFIX,
            ],
            None,
        )?;
        let refs = String::from_utf8_lossy(&refs);
        let refs: Vec<(&str, &str)> = refs.lines().filter_map(|l| l.split_once('\0')).collect();
        let path = self.index_path();
        let mut index = Index::load(&self.root, &path, &self.records.fingerprint());
        let before = index.entries.clone();
        let now = jiff::Timestamp::now();
        let unknown: Vec<(&str, &str)> = refs
            .iter()
            .filter(|(_, oid)| index.entries.get(*oid).is_none_or(|e| e.summary.is_none()))
            .copied()
            .collect();
        let mut verdicts: std::collections::HashMap<&str, std::result::Result<(), String>> =
            std::collections::HashMap::new();
        for ((_, oid), examined) in unknown.iter().zip(self.examine(&unknown)) {
            let entry = index.entry(oid, now, Origin::Remote);
            match examined {
                Ok(found) => {
                    // "Observed": the commit time, capped at when this
                    // clone first saw the ref.
                    if let Some(committed) = found.committed {
                        entry.first_seen = entry.first_seen.min(committed);
                    }
                    entry.summary = Some(found.summary);
                    entry.signer = found.signer;
                    verdicts.insert(oid, Ok(()));
                }
                Err(why) => {
                    verdicts.insert(oid, Err(why));
                }
            }
        }
        let mut listing = Listing::default();
        for (name, oid) in &refs {
            if let Some(Err(why)) = verdicts.remove(oid) {
                // The reason may quote the ref's own bytes (a type, a
                // path): its control characters are made visible.
                listing.damaged.push(Damaged {
                    name: name.to_string(),
                    reason: annotate_snippets::normalize_untrusted_str(&why),
                });
                continue;
            }
            let entry = index.entry(oid, now, Origin::Remote);
            match &entry.summary {
                Some(summary) if GitStore::refname(&summary.id) == *name => {
                    let mut summary = summary.clone();
                    summary.observed_at = Some(entry.first_seen);
                    listing.checkpoints.push(summary);
                }
                _ => listing.damaged.push(Damaged {
                    name: name.to_string(),
                    reason: "its commit describes another checkpoint".to_string(),
                }),
            }
        }
        let live: std::collections::HashSet<&str> = refs.iter().map(|(_, oid)| *oid).collect();
        index.retain(&live);
        if index.entries != before {
            index.save(&self.root, &path);
        }
        Ok(listing)
    }

    fn provenance(&self, id: &CheckpointId) -> Result<Provenance> {
        self.list()?;
        let commit = self
            .git
            .resolve_commit(&GitStore::refname(id))
            .unwrap_or_default();
        let index = Index::load(&self.root, &self.index_path(), &self.records.fingerprint());
        Ok(index.entries.get(&commit).map_or(
            Provenance {
                origin: Origin::Remote,
                signer: None,
            },
            |e| Provenance {
                origin: e.origin,
                signer: e.signer.clone(),
            },
        ))
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
        let manifest = Manifest::from_json(&bytes, &origin, &self.records)?;
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
                    .unwrap_or_else(|| Err("missing from git's output".into()))
                    .and_then(|(kind, bytes)| {
                        if kind == "blob" {
                            Ok(bytes)
                        } else {
                            Err(format!("the object is a {kind}, not a file"))
                        }
                    }),
                None => self
                    .git
                    .run_bytes(["cat-file", "blob", oid], None)
                    .map_err(|e| e.to_string()),
            };
            visit(entry, bytes.map_err(|why| format!("object {oid}: {why}")));
        }
        Ok(())
    }

    /// Writes the objects and creates the ref in-process where the
    /// repository is one [`crate::git::odb`] models, else through `git
    /// fast-import`; the commit is the same byte for byte either way.
    fn write(
        &self,
        manifest: &Manifest,
        contents: &[Content],
        seal: Option<&str>,
    ) -> Result<Written> {
        assert_eq!(manifest.files.len(), contents.len(), "one content per file");
        if let Some(odb) = self.git.odb()
            && let Some(written) = self.write_in_process(&odb, manifest, contents, seal)?
        {
            return Ok(written);
        }
        self.write_with_fast_import(manifest, contents, seal)
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
        let out = push_refs(&self.git, remote, refspecs)
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
        fetch_refs(&self.git, remote, &before)
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

/// Pushes `refspecs` to `remote`, porcelain output. The `--` keeps a
/// remote name from ever being read as an option (`--receive-pack=…` runs
/// a command), whatever checked it before.
fn push_refs(git: &Git, remote: &str, refspecs: Vec<String>) -> Result<String> {
    let mut args = vec![
        "push".to_string(),
        "--porcelain".into(),
        "--".into(),
        remote.into(),
    ];
    args.extend(refspecs);
    git.run(&args)
}

/// Fetches the checkpoint refs of `remote` that this repository does not
/// have (`local`); `--` as in [`push_refs`]. A name already here is never
/// in a refspec, so a remote commit that descends from a local checkpoint
/// cannot fast-forward (move) it.
fn fetch_refs(git: &Git, remote: &str, local: &std::collections::HashSet<&str>) -> Result<()> {
    let listed = git.run([
        "ls-remote",
        "--refs",
        "--",
        remote,
        &format!("{REF_PREFIX}*"),
    ])?;
    let refspecs: String = listed
        .lines()
        .filter_map(|line| line.split_once('\t').map(|(_, name)| name))
        .filter(|name| {
            name.strip_prefix(REF_PREFIX).is_some_and(|rest| {
                !rest.is_empty()
                    && !rest
                        .bytes()
                        .any(|b| b.is_ascii_whitespace() || b":*^~?[\\".contains(&b))
            }) && !local.contains(name)
        })
        .map(|name| format!("{name}:{name}\n"))
        .collect();
    if refspecs.is_empty() {
        return Ok(());
    }
    git.run_bytes(
        [
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--stdin",
            "--",
            remote,
        ],
        Some(refspecs.as_bytes()),
    )
    .map(drop)
}

fn remote_error(verb: &str, remote: &str, e: Error) -> Error {
    Error::environment(
        format!("could not {verb} `{remote}`: {e}"),
        Some(format!(
            "check that the remote exists (`git remote -v`) and that this runner may {verb} it; --remote or [checkpoint] remote picks another"
        )),
    )
}

/// One object from `git cat-file --batch`: its type and bytes.
type BatchItem = std::result::Result<(String, Vec<u8>), String>;

/// Splits `git cat-file --batch` output into `count` objects (`<oid>
/// missing` becomes an error). `None` when the output is cut short.
fn parse_batch(out: &[u8], count: usize) -> Option<Vec<BatchItem>> {
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
                items.push(Ok((kind.to_string(), rest[..size].to_vec())));
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
        assert_eq!(items[0], Ok(("blob".to_string(), b"abc".to_vec())));
        assert!(items[1].is_err());
        assert_eq!(items[2], Ok(("tree".to_string(), b"x".to_vec())));
        assert!(parse_batch(b"aaa blob 10\nabc", 1).is_none());
    }

    // The remote-name check in `push` and `fetch` refuses these names; each
    // test calls the function behind it directly, so only its `--` stands
    // in the way. ssh is `false`: a name misread as `host:path` never
    // reaches a network.

    #[test]
    fn pushing_checkpoints_reads_an_option_as_a_remote_name() {
        use crate::test_support::{assert_read_as_remote, hostile_remote, repo_with_origin};
        let (tmp, work) = repo_with_origin();
        let (remote, marker) = hostile_remote(tmp.path(), "receive-pack");
        let git = Git::new(&work).with_env("GIT_SSH_COMMAND", "false");
        let spec = format!("{REF_PREFIX}*:{REF_PREFIX}*");
        let e = push_refs(&git, &remote, vec![spec]).unwrap_err();
        assert_read_as_remote(&e.to_string(), &remote, &marker);
    }

    #[test]
    fn fetching_checkpoints_reads_an_option_as_a_remote_name() {
        use crate::test_support::{assert_read_as_remote, hostile_remote, repo_with_origin};
        let (tmp, work) = repo_with_origin();
        let (remote, marker) = hostile_remote(tmp.path(), "upload-pack");
        let git = Git::new(&work).with_env("GIT_SSH_COMMAND", "false");
        let e = fetch_refs(&git, &remote, &Default::default()).unwrap_err();
        assert_read_as_remote(&e.to_string(), &remote, &marker);
    }

    /// A repository with one commit, and its store.
    fn store() -> (tempfile::TempDir, GitStore) {
        let tmp = tempfile::tempdir().unwrap();
        crate::test_support::git(tmp.path(), &["init", "-q", "-b", "main"]);
        std::fs::write(tmp.path().join("README.md"), "hello\n").unwrap();
        crate::test_support::git(tmp.path(), &["add", "README.md"]);
        crate::test_support::git(tmp.path(), &["commit", "-q", "-m", "first"]);
        let records = Records::new(&crate::config::Config::default());
        let store = GitStore::new(Git::new(tmp.path()), tmp.path(), records).unwrap();
        (tmp, store)
    }

    /// A manifest of files whose names test tree order and quoting, one
    /// executable and one empty, with their bytes.
    fn odd_manifest(kind: &str) -> (Manifest, Vec<Vec<u8>>) {
        use crate::checkpoint::manifest::{FileEntry, SCHEMA};
        let files: Vec<(&str, u32, &[u8])> = vec![
            ("planning/TASK.md", 0o644, b"# Tasks\n"),
            ("a b/c d.md", 0o644, b"spaces\n"),
            ("a.b/x", 0o644, b"dot dir\n"),
            ("a/x", 0o644, b"plain dir\n"),
            ("a-b", 0o644, b"dash\n"),
            ("a0", 0o644, b"zero\n"),
            ("q\"uote\\d.md", 0o644, b"quote\n"),
            ("\u{fc}n\u{ef}/\u{e7}.md", 0o644, b"utf-8\n"),
            ("tab\there", 0o644, b"tab\n"),
            ("new\nline", 0o644, b"newline\n"),
            ("x/y/z/deep.md", 0o644, b"deep\n"),
            ("tools/run.sh", 0o755, b"#!/bin/sh\n"),
            ("empty", 0o644, b""),
            ("same-as-task", 0o644, b"# Tasks\n"),
        ];
        let now = jiff::Timestamp::from_second(1_796_000_000).unwrap();
        let manifest = Manifest {
            schema: SCHEMA,
            id: CheckpointId::generate(kind, now),
            kind: kind.into(),
            operation: "compare".into(),
            created_at: now,
            completed_at: now,
            actor: "git:Ann <a@b>".into(),
            run: None,
            git: None,
            valid: true,
            files: files
                .iter()
                .map(|(path, mode, bytes)| FileEntry {
                    path: path.to_string(),
                    sha256: crate::checkpoint::store::dir::sha256_hex(bytes),
                    size: bytes.len() as u64,
                    mode: *mode,
                    validator: crate::config::Validator::None,
                    valid: true,
                    errors: 0,
                    warnings: 0,
                })
                .collect(),
            absent: Vec::new(),
            skipped: Vec::new(),
            lifeline_version: "0.1.0".into(),
        };
        (manifest, files.iter().map(|f| f.2.to_vec()).collect())
    }

    fn ref_of(store: &GitStore, id: &CheckpointId) -> String {
        store
            .git
            .run(["rev-parse", &GitStore::refname(id)])
            .unwrap()
    }

    #[test]
    fn the_in_process_writer_makes_the_commit_fast_import_makes() {
        let (ours_dir, ours) = store();
        let (_theirs_dir, theirs) = store();
        assert!(
            ours.git.odb().is_some(),
            "a plain repository is written in-process"
        );
        let seal = "signature: ed25519 00 11";
        let (manifest, bytes) = odd_manifest("manual");
        let contents: Vec<Content> = bytes.iter().cloned().map(Content::Bytes).collect();
        let Written::Created { objects } = ours.write(&manifest, &contents, Some(seal)).unwrap()
        else {
            panic!("the ID is free");
        };
        let Written::Created { objects: expected } = theirs
            .write_with_fast_import(&manifest, &contents, Some(seal))
            .unwrap()
        else {
            panic!("the ID is free");
        };
        assert_eq!(objects, expected);
        assert_eq!(ref_of(&ours, &manifest.id), ref_of(&theirs, &manifest.id));
        // Not one loose object more (the first commit's three): all are
        // in the one pack.
        let loose = ours.git.run(["count-objects", "-v"]).unwrap();
        assert!(loose.starts_with("count: 3\n"), "{loose}");
        assert!(loose.contains("\npacks: 1\n"), "{loose}");
        // Again, the files now named by the objects already stored.
        let (mut second, _) = odd_manifest("task-sync");
        second.operation = "reuse".into();
        let stored: Vec<Content> = objects.iter().cloned().map(Content::Stored).collect();
        ours.write(&second, &stored, None).unwrap();
        theirs
            .write_with_fast_import(&second, &contents, None)
            .unwrap();
        assert_eq!(ref_of(&ours, &second.id), ref_of(&theirs, &second.id));
        crate::test_support::git(
            ours_dir.path(),
            &["fsck", "--strict", "--full", "--no-dangling"],
        );
    }

    #[test]
    fn a_missing_reused_object_is_an_error_and_nothing_is_written() {
        let (tmp, store) = store();
        let (manifest, _) = odd_manifest("manual");
        let contents: Vec<Content> = manifest
            .files
            .iter()
            .map(|_| Content::Stored("0123456789012345678901234567890123456789".into()))
            .collect();
        assert!(store.write(&manifest, &contents, None).is_err());
        assert!(
            store
                .git
                .resolve_commit(&GitStore::refname(&manifest.id))
                .is_none()
        );
        let packs = std::fs::read_dir(tmp.path().join(".git/objects/pack"))
            .unwrap()
            .count();
        assert_eq!(packs, 0);
    }

    #[test]
    fn a_name_taken_loose_or_packed_is_refused_and_the_lock_released() {
        let (tmp, store) = store();
        let (manifest, bytes) = odd_manifest("manual");
        let contents: Vec<Content> = bytes.into_iter().map(Content::Bytes).collect();
        assert!(matches!(
            store.write(&manifest, &contents, None).unwrap(),
            Written::Created { .. }
        ));
        let before = ref_of(&store, &manifest.id);
        let mut again = manifest.clone();
        again.operation = "impostor".into();
        assert_eq!(
            store.write(&again, &contents, None).unwrap(),
            Written::IdTaken
        );
        crate::test_support::git(tmp.path(), &["pack-refs", "--all"]);
        let loose = tmp
            .path()
            .join(".git")
            .join(GitStore::refname(&manifest.id));
        assert!(!loose.exists(), "the ref is packed now");
        assert_eq!(
            store.write(&again, &contents, None).unwrap(),
            Written::IdTaken
        );
        assert_eq!(ref_of(&store, &manifest.id), before);
        let lock = loose.with_file_name(format!("{}.lock", manifest.id));
        assert!(!lock.exists());
    }

    #[test]
    fn small_packs_are_merged_so_git_finds_few() {
        let (tmp, store) = store();
        let (manifest, bytes) = odd_manifest("manual");
        let contents: Vec<Content> = bytes.into_iter().map(Content::Bytes).collect();
        let Written::Created { objects } = store.write(&manifest, &contents, None).unwrap() else {
            panic!("the ID is free");
        };
        let stored: Vec<Content> = objects.into_iter().map(Content::Stored).collect();
        let mut ids = vec![manifest.id.clone()];
        for i in 0..20 {
            let (mut next, _) = odd_manifest("task-sync");
            next.operation = format!("run {i}");
            store.write(&next, &stored, None).unwrap();
            ids.push(next.id);
        }
        let packs = std::fs::read_dir(tmp.path().join(".git/objects/pack"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "idx")
            })
            .count();
        assert!(packs <= 8, "{packs} packs");
        // Every checkpoint, the first one's blobs included, is whole.
        crate::test_support::git(tmp.path(), &["fsck", "--strict", "--full", "--no-dangling"]);
        for id in &ids {
            let tree = format!("{}^{{tree}}", GitStore::refname(id));
            store.git.run(["ls-tree", "-r", &tree]).unwrap();
        }
    }

    #[test]
    fn author_names_are_sanitized() {
        assert_eq!(ident_name("git:Ann <a@b>"), "git:Ann a@b");
        assert_eq!(ident_name("<>"), "lifeline");
    }
}
