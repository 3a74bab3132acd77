//! Reading a large file to validate on two threads: each copies half of it
//! from the page cache into the buffer. For a 16 MB TASK.md the kernel's
//! copy and the page faults of the fresh buffer were a quarter of the whole
//! `validate` process, on one core. The file is opened through `fs::paths`
//! like any other (no symlink followed, no FIFO or device opened); a small
//! file, or anything unusual, is read by `fs::paths::read_file` as before.

use std::os::unix::fs::FileExt;
use std::path::Path;

/// Files smaller than this are read on one thread: a second thread costs
/// more to start than it saves.
pub(crate) const SPLIT_MIN: u64 = 1 << 20;

/// What [`crate::fs::paths::read_file`] gives for `root`/`rel` (the same
/// bytes, the same errors), a file of at least `split_min` bytes read in
/// two halves at once when the machine has two cores.
pub(crate) fn read_file(
    root: &Path,
    rel: &str,
    limit: u64,
    split_min: u64,
) -> crate::Result<Option<Vec<u8>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads >= 2
        && let Some(bytes) = read_in_two(root, rel, limit, split_min)?
    {
        return Ok(Some(bytes));
    }
    crate::fs::paths::read_file(root, rel, limit)
}

/// The file's bytes read in two halves, or `None` to read it the usual
/// way: a missing, small or oversized file, one whose size changed while
/// it was read, a read error, no second thread.
fn read_in_two(
    root: &Path,
    rel: &str,
    limit: u64,
    split_min: u64,
) -> crate::Result<Option<Vec<u8>>> {
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
    let read = std::thread::scope(|scope| {
        let other = std::thread::Builder::new().spawn_scoped(scope, move || {
            file.read_exact_at(second, half as u64).is_ok()
        });
        let ok = file.read_exact_at(first, 0).is_ok();
        match other {
            Ok(handle) => ok && handle.join().unwrap_or(false),
            Err(_) => false,
        }
    });
    // Nothing after the bytes read: the file did not grow meanwhile.
    let at_end = matches!(file.read_at(&mut [0u8; 1], len), Ok(0));
    Ok((read && at_end).then_some(bytes))
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
                assert_eq!(read.as_deref(), Some(bytes.as_slice()), "{size} bytes");
            }
            assert_eq!(
                read_in_two(root, "f", u64::MAX - 1, 0).unwrap(),
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
}
