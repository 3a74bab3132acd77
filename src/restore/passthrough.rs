//! Passing a guarded step's output through with its secrets redacted.
//!
//! A step's stdout and stderr reach CI logs, which outlive the run and are
//! often public. Each stream is copied line by line; every run of valid
//! UTF-8 in a line goes through the redactor (token shapes,
//! `Authorization:` values, the token and key values in the environment)
//! and every other byte passes unchanged, so binary output stays
//! byte-exact apart from the secrets. A carriage return ends a line too
//! (progress bars show as they go); a line with neither is cut at
//! [`MAX_LINE`] bytes so memory stays bounded.

use std::borrow::Cow;
use std::io::{ErrorKind, Read, Write};

/// The longest stretch held back waiting for a newline.
pub const MAX_LINE: usize = 1024 * 1024;

/// Copies `from` to `to` until end of file, redacting each line with
/// `redact`. A failing writer (a closed terminal) stops the writing, not
/// the reading, so the step never blocks on a full pipe.
pub fn pump(mut from: impl Read, mut to: impl Write, redact: &dyn Fn(&str) -> Cow<'_, str>) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut writing = true;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        pending.extend_from_slice(&buf[..n]);
        let cut = match memchr::memrchr2(b'\n', b'\r', &pending) {
            Some(i) => i + 1,
            None if pending.len() >= MAX_LINE => pending.len(),
            None => continue,
        };
        if writing {
            writing = emit(&pending[..cut], &mut to, redact).is_ok();
        }
        pending.drain(..cut);
    }
    if writing {
        let _ = emit(&pending, &mut to, redact);
    }
}

fn emit(
    bytes: &[u8],
    to: &mut impl Write,
    redact: &dyn Fn(&str) -> Cow<'_, str>,
) -> std::io::Result<()> {
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        for chunk in line.utf8_chunks() {
            to.write_all(redact(chunk.valid()).as_bytes())?;
            to.write_all(chunk.invalid())?;
        }
    }
    to.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        pump(input, &mut out, &|s| crate::redact::redact(s));
        out
    }

    #[test]
    fn secrets_are_redacted_and_other_bytes_pass_unchanged() {
        let token = format!("ghp_{}", "a1".repeat(15));
        let input = [
            b"push https://x:".as_slice(),
            token.as_bytes(),
            b"@github.com\n\xff\xfe raw ",
            token.as_bytes(),
            b"\x00\nno newline at the end",
        ]
        .concat();
        assert_eq!(
            through(&input),
            b"push https://x:[REDACTED]@github.com\n\xff\xfe raw [REDACTED]\x00\nno newline at the end"
        );
    }

    #[test]
    fn a_line_without_newlines_is_cut_at_the_limit() {
        let input = vec![b'x'; MAX_LINE * 2 + 5];
        assert_eq!(through(&input), input);
    }
}
