//! The protected set: which files of the repository lifeline guards, and
//! with which validator.

use std::path::Path;

use globset::{Glob, GlobMatcher};

use crate::config::{Config, Validator};
use crate::error::{Error, Result};
use crate::paths::{Inspect, Kind};

/// The configured entries, compiled.
pub struct ProtectedSet {
    entries: Vec<Entry>,
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
    pub fn new(config: &Config) -> Result<Self> {
        let mut entries = Vec::with_capacity(config.protect.len());
        for e in &config.protect {
            if e.is_glob() {
                let glob = globset::GlobBuilder::new(&e.path)
                    .literal_separator(true)
                    .build()
                    .map_err(|err| {
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
        Ok(ProtectedSet { entries })
    }

    /// Every protected file: literal entries whether or not they exist, and
    /// the existing regular files each glob matches, sorted and without
    /// repeats (the first entry that names a file gives its validator).
    /// A glob never reaches through a symlink, not even one staying inside
    /// the root.
    pub fn files(&self, root: &Path) -> Result<Vec<(String, Validator)>> {
        Ok(self
            .walk(root)?
            .into_iter()
            .filter(|(_, _, regular)| *regular)
            .map(|(path, validator, _)| (path, validator))
            .collect())
    }

    /// Like [`ProtectedSet::files`], with the third member false for an
    /// entry a glob matched that is not a regular file (a symlink, FIFO,
    /// socket or device): `validate` reports those, capture and restore
    /// leave them alone.
    pub fn walk(&self, root: &Path) -> Result<Vec<(String, Validator, bool)>> {
        let mut out: Vec<(String, Validator, bool)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for entry in &self.entries {
            match entry {
                Entry::Literal(path, validator) => {
                    if seen.insert(path.clone()) {
                        out.push((path.clone(), *validator, true));
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
                        match crate::paths::inspect(root, base)? {
                            Inspect::Found(found) if found.kind == Kind::Dir => root.join(base),
                            Inspect::Found(found) if found.kind == Kind::Symlink => {
                                if seen.insert(base.clone()) {
                                    out.push((base.clone(), *validator, false));
                                }
                                continue;
                            }
                            Inspect::Blocked {
                                at,
                                kind: Kind::Symlink,
                            } => {
                                if seen.insert(at.clone()) {
                                    out.push((at, *validator, false));
                                }
                                continue;
                            }
                            _ => continue,
                        }
                    };
                    let walk = walkdir::WalkDir::new(&dir)
                        .follow_links(false)
                        .follow_root_links(false)
                        .sort_by_file_name()
                        .into_iter()
                        .filter_entry(|e| e.file_name() != ".git");
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
                                .starts_with(crate::atomic::TMP_PREFIX)
                        {
                            continue;
                        }
                        let Some(rel) = crate::paths::relative_to(root, item.path()) else {
                            continue;
                        };
                        if matcher.is_match(&rel) && seen.insert(rel.clone()) {
                            out.push((rel, *validator, item.file_type().is_file()));
                        }
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }
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
pub fn compile(pattern: &str) -> std::result::Result<Glob, globset::Error> {
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
}
