//! Reading a large file to validate on two threads: each copies half of it
//! from the page cache into the buffer. For a 16 MB TASK.md the kernel's
//! copy and the page faults of the fresh buffer were a quarter of the whole
//! `validate` process, on one core. The file is opened through `fs::paths`
//! like any other (no symlink followed, no FIFO or device opened); a small
//! file, or anything unusual, is read by `fs::paths::read_file` as before.

use std::os::unix::fs::FileExt;
use std::path::Path;

use super::text;

/// Files smaller than this are read on one thread: a second thread costs
/// more to start than it saves.
pub(crate) const SPLIT_MIN: u64 = 1 << 20;

/// A file's contents as read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Contents {
    /// The bytes, not looked at.
    Bytes(Vec<u8>),
    /// Text the reading threads found [`text::plain`]: UTF-8 without NUL
    /// bytes or conflict markers.
    Plain(String),
}

impl Contents {
    /// The bytes, whichever way they were read.
    #[cfg(test)]
    fn into_bytes(self) -> Vec<u8> {
        match self {
            Contents::Bytes(bytes) => bytes,
            Contents::Plain(text) => text.into_bytes(),
        }
    }
}

/// What [`crate::fs::paths::read_file`] gives for `root`/`rel` (the same
/// bytes, the same errors), a file of at least `split_min` bytes read in
/// two halves at once when the machine has two cores, each half checked
/// for [`text::plain`] on its thread as it is read.
pub(crate) fn read_file(
    root: &Path,
    rel: &str,
    limit: u64,
    split_min: u64,
) -> crate::Result<Option<Contents>> {
    if super::two_cores()
        && let Some(contents) = read_in_two(root, rel, limit, split_min)?
    {
        return Ok(Some(contents));
    }
    Ok(crate::fs::paths::read_file(root, rel, limit)?.map(Contents::Bytes))
}

/// The file's bytes read in two halves, or `None` to read it the usual
/// way: a missing, small or oversized file, one whose size changed while
/// it was read, a read error, no second thread.
fn read_in_two(
    root: &Path,
    rel: &str,
    limit: u64,
    split_min: u64,
) -> crate::Result<Option<Contents>> {
    let Some(file) = crate::fs::paths::open_file(root, rel)? else {
        return Ok(None);
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return Ok(None);
    };
    let Ok(size) = usize::try_from(len) else {
        return Ok(None);
    };
    if len < split_min || len > limit {
        return Ok(None);
    }
    // Zeroed by the allocator with fresh pages: no pass over the buffer
    // before the reads fill it.
    let mut bytes = vec![0u8; size];
    huge_pages(&mut bytes);
    let half = size / 2;
    let (first, second) = bytes.split_at_mut(half);
    let file = &file;
    // Each thread checks its half for `text::plain`, cut at line ends: the
    // first up to its last `\n`, the second from just after its first;
    // the lines between are checked here afterwards. `None`: not read.
    let read = std::thread::scope(|scope| {
        let other = std::thread::Builder::new().spawn_scoped(scope, move || {
            file.read_exact_at(second, half as u64).ok()?;
            let cut = memchr::memchr(b'\n', second).map(|nl| nl + 1);
            Some((cut, cut.is_some_and(|cut| text::plain(&second[cut..]))))
        });
        let ours = file.read_exact_at(first, 0).ok().map(|()| {
            let cut = memchr::memrchr(b'\n', first).map(|nl| nl + 1);
            (cut, cut.is_some_and(|cut| text::plain(&first[..cut])))
        });
        match other {
            Ok(handle) => ours.zip(handle.join().ok().flatten()),
            Err(_) => None,
        }
    });
    // Nothing after the bytes read: the file did not grow meanwhile.
    let at_end = matches!(file.read_at(&mut [0u8; 1], len), Ok(0));
    let Some(((first_cut, first_plain), (second_cut, second_plain))) = read.filter(|_| at_end)
    else {
        return Ok(None);
    };
    let middle = first_cut.zip(second_cut.map(|cut| half + cut));
    let plain = first_plain
        && second_plain
        && !bytes.starts_with(b"\xEF\xBB\xBF")
        && middle.is_some_and(|(from, to)| text::plain(&bytes[from..to]));
    if !plain {
        return Ok(Some(Contents::Bytes(bytes)));
    }
    debug_assert!(std::str::from_utf8(&bytes).is_ok());
    // SAFETY: `text::plain` found every byte valid UTF-8, in three pieces
    // that cover `bytes` ([0, first_cut), [first_cut, half + second_cut),
    // [half + second_cut, len); first_cut <= half, so they meet and do not
    // overlap), and valid UTF-8 pieces put end to end are valid UTF-8
    // (each is also cut just after a `\n`, a character boundary). The
    // pieces were checked in `bytes` itself, this process's memory, which
    // nothing wrote to after the reads: a writer changing the file
    // meanwhile changes what was read, never what was checked.
    Ok(Some(Contents::Plain(unsafe {
        String::from_utf8_unchecked(bytes)
    })))
}

/// Asks the kernel to back the 2 MiB-aligned interior of `buffer`, not
/// yet touched, with transparent huge pages. A 16 MB file read into 4 KiB
/// pages took 4,000 page faults to fill and as long again to free; with
/// huge pages the read took 11 ms instead of 15 and the free 0.3 ms
/// instead of 2. Only a hint: where huge pages are off or unavailable the
/// kernel says no and nothing changes.
fn huge_pages(buffer: &mut [u8]) {
    const HUGE: usize = 2 << 20;
    let start = buffer.as_mut_ptr() as usize;
    let first = start.next_multiple_of(HUGE);
    let end = (start + buffer.len()) / HUGE * HUGE;
    if end > first {
        // SAFETY: [first, end) lies inside `buffer`, memory this process
        // owns and maps; MADV_HUGEPAGE changes how later faults in it are
        // served, never its contents or its mapping.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn two_halves_give_the_bytes_and_errors_of_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let sizes = [0usize, 1, 2, 3, 4097, (1 << 20) + 7];
        for size in sizes {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 7 + i / 251) as u8).collect();
            std::fs::write(root.join("f"), &bytes).unwrap();
            for split_min in [0, SPLIT_MIN] {
                let read = read_file(root, "f", u64::MAX - 1, split_min).unwrap();
                assert_eq!(
                    read.map(Contents::into_bytes),
                    Some(bytes.clone()),
                    "{size} bytes"
                );
            }
            assert_eq!(
                read_in_two(root, "f", u64::MAX - 1, 0)
                    .unwrap()
                    .map(Contents::into_bytes),
                Some(bytes)
            );
        }
        // Missing, too large, a symlink: as `fs::paths::read_file` says.
        assert!(read_file(root, "missing", 10, 0).unwrap().is_none());
        let too_large = read_file(root, "f", 10, 0).unwrap_err().to_string();
        let usual = crate::fs::paths::read_file(root, "f", 10)
            .unwrap_err()
            .to_string();
        assert_eq!(too_large, usual);
        std::os::unix::fs::symlink(root.join("f"), root.join("link")).unwrap();
        let link = read_file(root, "link", u64::MAX - 1, 0)
            .unwrap_err()
            .to_string();
        let usual = crate::fs::paths::read_file(root, "link", u64::MAX - 1)
            .unwrap_err()
            .to_string();
        assert_eq!(link, usual);
    }

    /// A character of two, three or four bytes, or a CRLF, wherever the
    /// halves meet (inside it included): the same bytes, read as plain
    /// text, with the findings of one pass.
    #[test]
    fn a_split_inside_a_character_or_a_crlf_changes_nothing() {
        let sample = include_bytes!("../../examples/sample-repo/planning/TASK.md");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let half = sample.len() / 2;
        let mid = memchr::memchr(b'\n', &sample[half..]).unwrap() + half + 1;
        let core =
            "<!-- \u{e9}\u{20ac}\u{1f600}\r\n\u{1f600}\u{20ac}\u{e9}\r\n\u{20ac}\u{1f600} -->\r\n";
        let line = |n: usize| {
            let mut l = vec![b'z'; n.saturating_sub(1)];
            l.extend_from_slice(&b"\n"[..n.min(1)]);
            l
        };
        // A first line of `pre` bytes and a last one of `post` put the
        // halves' meeting point at each byte of the core and either side.
        let pre = core.len() + 4;
        for at in mid + pre - 1..=mid + pre + core.len() + 1 {
            let post = 2 * at - (pre + sample.len() + core.len());
            let mut bytes = line(pre);
            bytes.extend_from_slice(&sample[..mid]);
            bytes.extend_from_slice(core.as_bytes());
            bytes.extend_from_slice(&sample[mid..]);
            bytes.extend(line(post));
            assert_eq!(bytes.len() / 2, at);
            std::fs::write(root.join("TASK.md"), &bytes).unwrap();
            let contents = read_in_two(root, "TASK.md", u64::MAX - 1, 0)
                .unwrap()
                .unwrap();
            assert!(matches!(contents, Contents::Plain(_)), "split at {at}");
            let (two, _) =
                super::super::validate_one("TASK.md", contents, crate::config::Validator::TaskMd);
            let (one, _) = super::super::validate_one(
                "TASK.md",
                Contents::Bytes(bytes.clone()),
                crate::config::Validator::TaskMd,
            );
            assert_eq!(
                format!("{:?}", two.diagnostics),
                format!("{:?}", one.diagnostics)
            );
            assert_eq!(
                read_in_two(root, "TASK.md", u64::MAX - 1, 0)
                    .unwrap()
                    .map(Contents::into_bytes),
                Some(bytes)
            );
        }
    }

    /// A file with more bytes than `stat` said (one growing while it is
    /// read, or a /proc file) or fewer (one truncated meanwhile, or a
    /// /sys file), a file that grows past the limit, and a FIFO: the
    /// bytes and errors of `fs::paths::read_file`, never a short read
    /// or a hang.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_file_whose_size_is_not_what_stat_said_is_read_the_usual_way() {
        let own = PathBuf::from(format!("/proc/{}", std::process::id()));
        let thp = Path::new("/sys/kernel/mm/transparent_hugepage");
        for (root, rel) in [(own.as_path(), "cmdline"), (thp, "enabled")] {
            let st = std::fs::metadata(root.join(rel)).unwrap();
            let actual = std::fs::read(root.join(rel)).unwrap();
            assert_ne!(st.len(), actual.len() as u64, "{rel}");
            assert_eq!(read_in_two(root, rel, u64::MAX - 1, 0).unwrap(), None);
            assert_eq!(
                read_file(root, rel, u64::MAX - 1, 0)
                    .unwrap()
                    .map(Contents::into_bytes),
                Some(actual)
            );
        }
        // Grown past the limit after the size was taken: refused, as the
        // usual read refuses it.
        let limit = 3;
        let grown = read_file(&own, "cmdline", limit, 0)
            .unwrap_err()
            .to_string();
        let usual = crate::fs::paths::read_file(&own, "cmdline", limit)
            .unwrap_err()
            .to_string();
        assert_eq!(grown, usual);
        let dir = tempfile::tempdir().unwrap();
        let fifo = std::ffi::CString::new(dir.path().join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: `fifo` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let fifo = read_file(dir.path(), "fifo", u64::MAX - 1, 0)
            .unwrap_err()
            .to_string();
        let usual = crate::fs::paths::read_file(dir.path(), "fifo", u64::MAX - 1)
            .unwrap_err()
            .to_string();
        assert_eq!(fifo, usual);
    }

    /// The plain-text shortcut changes no finding: NUL bytes, bad UTF-8,
    /// conflict markers and a byte-order mark anywhere, the split line
    /// included, give what one pass over the bytes gives.
    #[test]
    fn the_plain_shortcut_gives_the_findings_of_one_pass() {
        let sample = include_bytes!("../../examples/sample-repo/planning/TASK.md");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mid = sample.len() / 2;
        let line_start = |from: usize| memchr::memchr(b'\n', &sample[from..]).unwrap() + from + 1;
        let mut places = vec![0, 1, mid - 1, mid, mid + 1, sample.len() - 1, sample.len()];
        places.extend([line_start(mid - 40), line_start(mid), line_start(0)]);
        let inserts: [&[u8]; 7] = [
            b"\0",
            b"\xff",
            b"<<<<<<< ours\n",
            b"=======\n",
            b"||||||| base\n",
            b">>>>>>> theirs\n",
            b"\xEF\xBB\xBF",
        ];
        let mut files = vec![
            sample.to_vec(),
            b"\xEF\xBB\xBF".iter().chain(sample).copied().collect(),
        ];
        for at in places {
            for insert in inserts {
                let mut bytes = sample[..at].to_vec();
                bytes.extend_from_slice(insert);
                bytes.extend_from_slice(&sample[at..]);
                files.push(bytes);
            }
        }
        let mut plain = 0;
        for bytes in files {
            std::fs::write(root.join("TASK.md"), &bytes).unwrap();
            let contents = read_in_two(root, "TASK.md", u64::MAX - 1, 0)
                .unwrap()
                .unwrap();
            plain += usize::from(matches!(contents, Contents::Plain(_)));
            let (two, _) =
                super::super::validate_one("TASK.md", contents, crate::config::Validator::TaskMd);
            let (one, _) = super::super::validate_one(
                "TASK.md",
                Contents::Bytes(bytes.clone()),
                crate::config::Validator::TaskMd,
            );
            assert_eq!(
                format!("{:?}", two.diagnostics),
                format!("{:?}", one.diagnostics),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        // The shortcut was taken where it could be (the untouched sample),
        // and only there or where an insert is no finding.
        assert!(plain >= 1);
    }
}
