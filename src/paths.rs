//! Repo-relative paths: checking them, joining them safely under the root,
//! and turning byte offsets into line and column numbers.
//!
//! Every path that comes from a manifest, a config file or the command line
//! goes through [`check_relative`] before lifeline reads or writes it, and
//! every write goes through [`safe_join`], which refuses to follow a symlink
//! out of the repository.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Checks that `rel` is a normal repo-relative path: not empty, not
/// absolute, no `..`, no `.` segments, no backslashes, no NUL.
pub fn check_relative(rel: &str) -> std::result::Result<(), String> {
    if rel.is_empty() {
        return Err("the path is empty".into());
    }
    if rel.contains('\0') {
        return Err("the path contains a NUL byte".into());
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
/// ancestor inside the root that is a symlink leading outside it.
pub fn safe_join(root: &Path, rel: &str) -> Result<PathBuf> {
    check_relative(rel).map_err(|m| {
        Error::usage(
            format!("refusing path `{rel}`: {m}"),
            Some("paths must stay inside the repository".to_string()),
        )
    })?;
    let canonical_root = root.canonicalize().map_err(|e| Error::io(root, e))?;
    let mut current = root.to_path_buf();
    for component in Path::new(rel).components() {
        let Component::Normal(part) = component else {
            unreachable!("check_relative admits only normal components");
        };
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = current.canonicalize().map_err(|e| Error::io(&current, e))?;
                if !target.starts_with(&canonical_root) {
                    return Err(Error::usage(
                        format!(
                            "refusing path `{rel}`: `{}` is a symlink leading outside the repository",
                            current.display()
                        ),
                        Some("remove the symlink or restore to a path inside the root".to_string()),
                    ));
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(Error::io(&current, e)),
        }
    }
    Ok(root.join(rel))
}

/// The repo-relative, `/`-separated form of `path` under `root`, or `None`
/// when it is not inside the root.
pub fn relative_to(root: &Path, path: &Path) -> Option<String> {
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
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The largest char boundary of `text` at or before byte `i`.
pub fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[cfg(unix)]
    #[test]
    fn symlink_out_of_root_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("planning")).unwrap();
        let err = safe_join(root.path(), "planning/TASK.md").unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        std::fs::create_dir(root.path().join("inside")).unwrap();
        std::os::unix::fs::symlink(root.path().join("inside"), root.path().join("alias")).unwrap();
        assert!(safe_join(root.path(), "alias/x").is_ok());
    }
}
