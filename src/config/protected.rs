//! The protected set: which files of the repository lifeline guards, and
//! with which validator.
//!
//! lifeline's own records — the audit directory, `docs/incidents/`,
//! `.lifeline/` — and anything under `.git/` are never part of the set,
//! whatever a glob says ([`Records`]): a restore must not roll back or
//! delete the evidence of what happened, nor touch git's own files.

use std::path::Path;

use globset::{Glob, GlobMatcher};

use crate::config::{Config, Validator};
use crate::error::{Error, Result};
use crate::fs::paths::{Inspect, Kind};

/// Paths no checkpoint may hold and no restore may write: git's directory
/// and lifeline's own records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    /// Repo-relative directories, without a trailing `/`.
    dirs: Vec<String>,
}

impl Records {
    /// The records of `config`: its audit directory, the incident records
    /// and `.lifeline/`.
    pub fn new(config: &Config) -> Records {
        let mut dirs = vec![
            config.audit.dir.trim_end_matches('/').to_string(),
            crate::recover::incident::DIR.to_string(),
            ".lifeline".to_string(),
        ];
        dirs.retain(|d| !d.is_empty());
        dirs.sort();
        dirs.dedup();
        Records { dirs }
    }

    /// The record directories, for people (`docs/audit/`, ...), `.git/`
    /// last.
    pub fn describe(&self) -> Vec<String> {
        self.dirs
            .iter()
            .map(|d| format!("{d}/"))
            .chain(std::iter::once(".git/".to_string()))
            .collect()
    }

    /// Why `path` (repo-relative) is off limits, or `None` when it is not.
    /// A `.git` segment anywhere (in any letter case) is git's, as are the
    /// record directories and everything under them.
    pub fn reason(&self, path: &str) -> Option<String> {
        if path
            .split('/')
            .any(|segment| segment.eq_ignore_ascii_case(".git"))
        {
            return Some(format!("`{path}` is inside a `.git` directory"));
        }
        self.dirs
            .iter()
            .find(|d| covers_dir(d, path))
            .map(|d| format!("`{path}` is one of lifeline's own records (under `{d}/`)"))
    }

    /// A stable text naming the rules, to key caches of verdicts on.
    pub fn fingerprint(&self) -> String {
        self.dirs.join("\n")
    }
}

/// True when `path` is `dir` or below it.
fn covers_dir(dir: &str, path: &str) -> bool {
    path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// A file under a protected glob that lifeline cannot name in a manifest
/// (bytes that are not UTF-8, a backslash, a control character): reported
/// for that file alone, never captured as absent and never deleted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OddName {
    /// The name with every byte that is not printable ASCII or UTF-8 shown
    /// as `\xNN`.
    pub path: String,
    pub reason: String,
}

/// What [`ProtectedSet::scan`] found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scan {
    /// Every protected file, sorted, with its validator.
    pub files: Vec<(String, Validator)>,
    /// Files under a protected glob whose name lifeline cannot carry.
    pub odd: Vec<OddName>,
    /// Entries a glob matched that are not regular files (a symlink, FIFO,
    /// socket or device), and a glob base that is a symlink: reported by
    /// `validate`, never captured, restored or followed.
    pub special: Vec<(String, Validator)>,
}

/// The configured entries, compiled.
pub(crate) struct ProtectedSet {
    entries: Vec<Entry>,
    records: Records,
}

enum Entry {
    Literal(String, Validator),
    Glob {
        /// The directory below which the glob can match (its literal prefix).
        base: String,
        matcher: GlobMatcher,
        validator: Validator,
    },
}

impl ProtectedSet {
    pub(crate) fn new(config: &Config) -> Result<Self> {
        let mut entries = Vec::with_capacity(config.protect.len());
        for e in &config.protect {
            if e.is_glob() {
                let glob = compile(&e.path).map_err(|err| {
                    Error::usage(format!("protect path `{}`: {err}", e.path), None)
                })?;
                entries.push(Entry::Glob {
                    base: glob_base(&e.path).to_string(),
                    matcher: glob.compile_matcher(),
                    validator: e.validator,
                });
            } else {
                entries.push(Entry::Literal(e.path.clone(), e.validator));
            }
        }
        Ok(ProtectedSet {
            entries,
            records: Records::new(config),
        })
    }

    /// The paths no entry can bring into the set.
    pub(crate) fn records(&self) -> &Records {
        &self.records
    }

    /// The validator of `path` when the set covers it (the first entry
    /// that names it), whether or not the file exists; `None` for a path
    /// no entry names, and for lifeline's records and `.git/`.
    pub(crate) fn covers(&self, path: &str) -> Option<Validator> {
        if self.records.reason(path).is_some() {
            return None;
        }
        self.entries.iter().find_map(|entry| match entry {
            Entry::Literal(p, v) => (p == path).then_some(*v),
            Entry::Glob {
                matcher, validator, ..
            } => matcher.is_match(path).then_some(*validator),
        })
    }

    /// Every protected file: literal entries whether or not they exist, and
    /// the existing regular files each glob matches, sorted and without
    /// repeats (the first entry that names a file gives its validator).
    /// A glob never reaches through a symlink, not even one staying inside
    /// the root.
    pub(crate) fn files(&self, root: &Path) -> Result<Vec<(String, Validator)>> {
        Ok(self.scan(root)?.files)
    }

    /// [`files`](Self::files), plus the files under a glob whose names
    /// lifeline cannot carry and the entries a glob matched that are not
    /// regular files.
    pub(crate) fn scan(&self, root: &Path) -> Result<Scan> {
        let mut out = Scan::default();
        let mut seen = std::collections::HashSet::new();
        for entry in &self.entries {
            match entry {
                Entry::Literal(path, validator) => {
                    if self.records.reason(path).is_none() && seen.insert(path.clone()) {
                        out.files.push((path.clone(), *validator));
                    }
                }
                Entry::Glob {
                    base,
                    matcher,
                    validator,
                } => {
                    let dir = if base.is_empty() {
                        root.to_path_buf()
                    } else {
                        match crate::fs::paths::inspect(root, base)? {
                            Inspect::Found(found) if found.kind == Kind::Dir => root.join(base),
                            Inspect::Found(found) if found.kind == Kind::Symlink => {
                                if seen.insert(base.clone()) {
                                    out.special.push((base.clone(), *validator));
                                }
                                continue;
                            }
                            Inspect::Blocked {
                                at,
                                kind: Kind::Symlink,
                            } => {
                                if seen.insert(at.clone()) {
                                    out.special.push((at, *validator));
                                }
                                continue;
                            }
                            _ => continue,
                        }
                    };
                    // Symlinks are never followed, the glob's base included
                    // (`docs/sprint-archives -> ../.git/hooks`).
                    let walk = walkdir::WalkDir::new(&dir)
                        .follow_links(false)
                        .follow_root_links(false)
                        .sort_by_file_name()
                        .into_iter()
                        .filter_entry(|e| {
                            // Never descend into `.git` or lifeline's records.
                            e.file_name() != ".git"
                                && crate::fs::paths::relative_to(root, e.path())
                                    .is_none_or(|rel| self.records.reason(&rel).is_none())
                        });
                    for item in walk {
                        let item = item.map_err(|e| {
                            let path = e.path().unwrap_or(&dir).to_path_buf();
                            Error::io(path, e.into())
                        })?;
                        // Temporary files an interrupted atomic write left
                        // behind are not part of the set.
                        if item.file_type().is_dir()
                            || item
                                .file_name()
                                .to_string_lossy()
                                .starts_with(crate::fs::atomic::TMP_PREFIX)
                        {
                            continue;
                        }
                        let Ok(rel_path) = item.path().strip_prefix(root) else {
                            continue;
                        };
                        if !matcher.is_match(rel_path) {
                            continue;
                        }
                        let name = rel_path
                            .to_str()
                            .map(|s| s.replace(std::path::MAIN_SEPARATOR, "/"));
                        let checked = name
                            .ok_or_else(|| "the name is not UTF-8".to_string())
                            .and_then(|rel| crate::fs::paths::check_relative(&rel).map(|()| rel));
                        match checked {
                            Ok(rel) => {
                                if self.records.reason(&rel).is_none() && seen.insert(rel.clone()) {
                                    if item.file_type().is_file() {
                                        out.files.push((rel, *validator));
                                    } else {
                                        out.special.push((rel, *validator));
                                    }
                                }
                            }
                            Err(why) => out.odd.push(OddName {
                                path: escape(rel_path),
                                reason: why,
                            }),
                        }
                    }
                }
            }
        }
        out.files.sort();
        out.special.sort();
        out.odd.sort_by(|a, b| a.path.cmp(&b.path));
        out.odd.dedup();
        Ok(out)
    }
}

/// A path for people and manifests: UTF-8 kept, a backslash doubled, any
/// other byte that is not printable shown as `\xNN`.
pub(crate) fn escape(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().into_owned().into_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The literal directory prefix of a glob: `docs/sprint-archives/**` →
/// `docs/sprint-archives`.
fn glob_base(pattern: &str) -> &str {
    let first_meta = pattern.find(['*', '?', '[', '{']).unwrap_or(pattern.len());
    pattern[..first_meta]
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir)
}

/// Checks that the glob compiles (used by config validation).
pub(crate) fn compile(pattern: &str) -> std::result::Result<Glob, globset::Error> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_base_is_the_literal_directory() {
        assert_eq!(glob_base("docs/sprint-archives/**"), "docs/sprint-archives");
        assert_eq!(glob_base("**/*.md"), "");
        assert_eq!(glob_base("a/b/c*.md"), "a/b");
    }

    #[test]
    fn lists_literals_and_glob_matches() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("docs/sprint-archives/S-1")).unwrap();
        std::fs::write(root.join("docs/sprint-archives/README.md"), "x").unwrap();
        std::fs::write(root.join("docs/sprint-archives/S-1/TASK-v1.md"), "x").unwrap();
        std::fs::write(
            root.join("docs/sprint-archives/S-1/.lifeline-tmp-Ab12"),
            "x",
        )
        .unwrap();
        let set = ProtectedSet::new(&Config::default()).unwrap();
        let files: Vec<String> = set.files(root).unwrap().into_iter().map(|f| f.0).collect();
        assert_eq!(
            files,
            [
                ".github/labels.yml",
                "docs/sprint-archives/README.md",
                "docs/sprint-archives/S-1/TASK-v1.md",
                "planning/TASK.md",
                "planning/sprint.config.json",
            ]
        );
    }

    /// lifeline's records and `.git` stay out of the set whatever a glob
    /// says.
    #[test]
    fn records_are_never_protected() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "docs/audit/audit-2026-11.jsonl",
            "docs/incidents/INC-1.md",
            "docs/notes.md",
            ".lifeline/store/x",
            "sub/.git/config",
        ] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), "x").unwrap();
        }
        let config = Config {
            protect: vec![
                crate::config::ProtectEntry::new("**", Validator::None),
                crate::config::ProtectEntry::new("docs/audit/literal.jsonl", Validator::None),
            ],
            ..Config::default()
        };
        let set = ProtectedSet::new(&config).unwrap();
        let files: Vec<String> = set.files(root).unwrap().into_iter().map(|f| f.0).collect();
        assert_eq!(files, ["docs/notes.md"]);
        assert!(set.covers("docs/audit/audit-2026-11.jsonl").is_none());
        assert!(set.covers("docs/audit/literal.jsonl").is_none());
        assert!(set.covers(".GIT/hooks/x").is_none());
        assert!(set.covers("docs/notes.md").is_some());
        assert_eq!(
            set.records().describe(),
            [".lifeline/", "docs/audit/", "docs/incidents/", ".git/"]
        );
    }

    /// A name a manifest cannot carry is a finding for that file alone.
    #[cfg(unix)]
    #[test]
    fn odd_names_are_findings_for_that_file_alone() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let archives = root.join("docs/sprint-archives");
        std::fs::create_dir_all(&archives).unwrap();
        std::fs::write(archives.join("ok.md"), "x").unwrap();
        std::fs::write(archives.join("back\\slash.md"), "x").unwrap();
        std::fs::write(
            archives.join(std::ffi::OsStr::from_bytes(b"bad\xff.md")),
            "x",
        )
        .unwrap();
        let set = ProtectedSet::new(&Config::default()).unwrap();
        let scan = set.scan(root).unwrap();
        assert!(
            scan.files
                .iter()
                .any(|f| f.0 == "docs/sprint-archives/ok.md")
        );
        let odd: Vec<&str> = scan.odd.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(
            odd,
            [
                "docs/sprint-archives/back\\\\slash.md",
                "docs/sprint-archives/bad\\xff.md"
            ]
        );
    }
}
