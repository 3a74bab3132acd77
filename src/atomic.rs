//! Crash-safe file writes: a temporary file in the same directory, fsynced,
//! renamed over the target, and the directory fsynced. A reader (or a crash)
//! sees the old bytes or the new bytes, never a mix.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{IoContext, Result};

/// Writes `bytes` to `path` atomically, creating parent directories.
/// When `mode` is given (Unix permission bits), the file gets it.
pub fn write(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir).at(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".lifeline-tmp-")
        .tempfile_in(dir)
        .at(dir)?;
    tmp.write_all(bytes).at(tmp.path())?;
    if let Some(mode) = mode {
        set_mode(tmp.as_file(), mode).at(tmp.path())?;
    }
    tmp.as_file().sync_all().at(tmp.path())?;
    tmp.persist(path)
        .map_err(|e| crate::Error::io(path, e.error))?;
    sync_dir(dir)
}

/// Fsyncs a directory so a rename or a new entry in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// The Unix permission bits of a file (0o644 on other platforms).
pub fn mode_of(meta: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0o644
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_requested_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file.txt");
        write(&path, b"one", Some(0o600)).unwrap();
        write(&path, b"two", Some(0o640)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        assert_eq!(mode_of(&fs::metadata(&path).unwrap()), 0o640);
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "temporary files left behind: {leftovers:?}"
        );
    }
}
