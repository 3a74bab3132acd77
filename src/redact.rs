//! Secret redaction, applied before anything is written or printed.
//!
//! GitHub token shapes (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`,
//! `github_pat_` followed by at least 20 token characters) wherever they
//! start in a string (after `%3A` in a URL-encoded credential too), the
//! value of an `Authorization:` header, and the literal values of the
//! process's secret environment variables become `[REDACTED]`.
//!
//! The secret values are registered once per process
//! ([`register_env_secrets`]: `GITHUB_TOKEN`, `GH_TOKEN`,
//! `LIFELINE_AUDIT_KEY`, `LIFELINE_CHECKPOINT_KEY`, `LIFELINE_COSIGN_KEY` and
//! every `[audit] secret_env` variable); every
//! function here redacts them from then on, whatever they look like.
//! Values shorter than [`MIN_SECRET_LEN`] bytes are not registered: they
//! would blank out ordinary words.
//!
//! The sinks apply it: the CLI's stdout and stderr, `$GITHUB_STEP_SUMMARY`
//! and `$GITHUB_OUTPUT`, checkpoint manifests and ref messages, incident
//! files, audit entries and the GitHub client's request bodies. A stream
//! (a guarded command's output) goes through [`RedactingWriter`].

use std::borrow::Cow;
use std::io::Write;
use std::sync::RwLock;

use crate::ci::Env;

/// The text every secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secret values shorter than this (in bytes) are not redacted.
pub const MIN_SECRET_LEN: usize = 4;

/// The environment variables whose values are always secrets.
pub const SECRET_VARS: [&str; 5] = [
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "LIFELINE_AUDIT_KEY",
    "LIFELINE_CHECKPOINT_KEY",
    "LIFELINE_COSIGN_KEY",
];

const TOKEN_PREFIXES: [&[u8]; 6] = [b"github_pat_", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"];

/// Real tokens carry at least this many characters after the prefix;
/// shorter runs are words like "ghs_report".
const MIN_TOKEN_BODY: usize = 20;

/// The secret values registered for this process, longest first.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// The values of [`SECRET_VARS`] and of the variables named in `extra`
/// (`[audit] secret_env`) that are set in `env`, longest first.
pub fn env_secrets(env: &dyn Env, extra: &[String]) -> Vec<String> {
    let mut secrets: Vec<String> = SECRET_VARS
        .iter()
        .map(|k| k.to_string())
        .chain(extra.iter().cloned())
        .filter_map(|k| env.var(&k))
        .filter(|v| v.len() >= MIN_SECRET_LEN)
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// Registers the secret values of `env` (see [`env_secrets`]) for every
/// redaction in this process. Calling it again adds to the set.
pub fn register_env_secrets(env: &dyn Env, extra: &[String]) {
    register_secrets(env_secrets(env, extra));
}

/// Registers literal secret values for every redaction in this process,
/// each also as it reads inside a JSON string (a `"`, `\` or control
/// character escaped), so JSON output built before redaction hides it too.
pub fn register_secrets(values: impl IntoIterator<Item = String>) {
    let mut all = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for v in values {
        let quoted = serde_json::to_string(&v).unwrap_or_default();
        let escaped = quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .map(str::to_string);
        for v in std::iter::once(v).chain(escaped) {
            if v.len() >= MIN_SECRET_LEN && !all.contains(&v) {
                all.push(v);
            }
        }
    }
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

fn with_registered<T>(f: impl FnOnce(&[String]) -> T) -> T {
    let guard = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    f(&guard)
}

/// Redacts token shapes, `Authorization:` values and the registered
/// secrets in `text`.
pub fn redact(text: &str) -> Cow<'_, str> {
    redact_with(text, &[])
}

/// Like [`redact`], and also replaces every occurrence of each of `secrets`
/// (values taken from the environment by the caller; short ones ignored).
pub fn redact_with<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    match redact_bytes_with(text.as_bytes(), secrets) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        // Every replacement is ASCII and starts and ends at character
        // boundaries (a valid UTF-8 needle only matches there), so the
        // result is valid UTF-8; the lossy conversion never replaces.
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// [`redact`] for bytes that need not be UTF-8 (a command's raw output).
pub fn redact_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    redact_bytes_with(bytes, &[])
}

/// [`redact_with`] for bytes.
pub fn redact_bytes_with<'a>(bytes: &'a [u8], secrets: &[String]) -> Cow<'a, [u8]> {
    let mut out = Cow::Borrowed(bytes);
    with_registered(|registered| {
        let mut all: Vec<&str> = registered
            .iter()
            .chain(secrets)
            .map(String::as_str)
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for secret in all {
            if memchr::memmem::find(&out, secret.as_bytes()).is_some() {
                out = Cow::Owned(replace_all(&out, secret.as_bytes()));
            }
        }
    });
    // Every prefix starts with `gh` except `github_pat_`: two scans, not six.
    if memchr::memmem::find(&out, b"gh").is_some()
        || memchr::memmem::find(&out, b"github_pat_").is_some()
    {
        out = Cow::Owned(redact_tokens(&out));
    }
    if contains_ignore_ascii_case(&out, b"authorization:") {
        out = Cow::Owned(redact_authorization(&out));
    }
    out
}

fn replace_all(haystack: &[u8], needle: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut last = 0;
    for at in memchr::memmem::find_iter(haystack, needle) {
        if at < last {
            continue;
        }
        out.extend_from_slice(&haystack[last..at]);
        out.extend_from_slice(REDACTED.as_bytes());
        last = at + needle.len();
    }
    out.extend_from_slice(&haystack[last..]);
    out
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn redact_tokens(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < text.len() {
        for prefix in TOKEN_PREFIXES {
            if text[i..].starts_with(prefix) {
                let body = &text[i + prefix.len()..];
                let body_len = body
                    .iter()
                    .position(|b| !is_token_byte(*b))
                    .unwrap_or(body.len());
                if body_len >= MIN_TOKEN_BODY {
                    out.extend_from_slice(REDACTED.as_bytes());
                    i += prefix.len() + body_len;
                    continue 'outer;
                }
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

/// Whether `haystack` contains `needle` (which starts with a letter),
/// ignoring ASCII case; only positions holding the first letter in either
/// case are compared.
fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    let first = needle[0];
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        haystack,
    )
    .any(|i| {
        haystack
            .get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

fn redact_authorization(text: &[u8]) -> Vec<u8> {
    let needle = b"authorization:";
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text.len() - i >= needle.len() && text[i..i + needle.len()].eq_ignore_ascii_case(needle)
        {
            out.extend_from_slice(&text[i..i + needle.len()]);
            i += needle.len();
            // Keep the whitespace, replace the value up to the end of the
            // line, a quote, or a backslash (an escape in JSON text).
            while i < text.len() && (text[i] == b' ' || text[i] == b'\t') {
                out.push(text[i]);
                i += 1;
            }
            let end = text[i..]
                .iter()
                .position(|b| matches!(b, b'\n' | b'\r' | b'"' | b'\'' | b'\\'))
                .map_or(text.len(), |n| i + n);
            if end > i {
                out.extend_from_slice(REDACTED.as_bytes());
            }
            i = end;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// Partial lines longer than this are redacted and passed on in pieces,
/// cut where no token or secret can be split ([`safe_cut`]).
const MAX_LINE: usize = 64 * 1024;

/// A writer that redacts what goes through it, line by line: each complete
/// line is redacted and written; the rest waits for its newline, for
/// [`RedactingWriter::finish`], or (a line longer than 64 KiB) is cut
/// where no token or secret can be split, so the output is exactly what
/// redacting the whole input at once would give. Bytes need not be UTF-8.
/// [`Write::flush`] flushes complete lines only.
pub struct RedactingWriter<W: Write> {
    /// Always `Some` until [`RedactingWriter::finish`] takes it.
    inner: Option<W>,
    pending: Vec<u8>,
    /// The length `pending` must reach before a cut is tried again.
    next_cut: usize,
}

impl<W: Write> RedactingWriter<W> {
    pub fn new(inner: W) -> RedactingWriter<W> {
        RedactingWriter {
            inner: Some(inner),
            pending: Vec::new(),
            next_cut: MAX_LINE,
        }
    }

    /// Redacts and writes what is still pending (a last line without a
    /// newline), flushes, and returns the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.write_pending_all()?;
        let mut inner = self.inner.take().expect("finish takes the writer once");
        inner.flush()?;
        Ok(inner)
    }

    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.inner.as_mut() {
            Some(inner) => inner.write_all(&redact_bytes(bytes)),
            None => Ok(()),
        }
    }

    fn write_pending_all(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let text = std::mem::take(&mut self.pending);
            self.put(&text)?;
        }
        Ok(())
    }

    /// Takes `buf`: complete lines are redacted and written, the rest
    /// waits; a long partial line is cut where that is safe. Each byte is
    /// scanned a bounded number of times, however the input is chunked.
    fn take(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match memchr::memrchr(b'\n', buf) {
            Some(last_nl) => {
                let mut lines = std::mem::take(&mut self.pending);
                lines.extend_from_slice(&buf[..=last_nl]);
                self.pending.extend_from_slice(&buf[last_nl + 1..]);
                self.next_cut = MAX_LINE;
                self.put(&lines)?;
            }
            None => self.pending.extend_from_slice(buf),
        }
        if self.pending.len() > self.next_cut {
            match with_registered(|secrets| safe_cut(&self.pending, secrets)) {
                Some(cut) => {
                    let rest = self.pending.split_off(cut);
                    let piece = std::mem::replace(&mut self.pending, rest);
                    self.next_cut = self.pending.len() + MAX_LINE;
                    self.put(&piece)?;
                }
                None => self.next_cut = self.pending.len() * 2,
            }
        }
        Ok(())
    }
}

/// Where a long line may be cut so that redacting the two pieces apart
/// redacts exactly what redacting the line whole would: after a byte that
/// is no token character, not inside an occurrence of a registered secret,
/// and at least 256 bytes (and the longest secret) before the end, where
/// more input may complete a secret. `None` (keep buffering) when there is
/// no such place, or when the line holds an `Authorization:` value, which
/// runs to the end of the line.
fn safe_cut(buf: &[u8], secrets: &[String]) -> Option<usize> {
    let longest = secrets.first().map_or(0, String::len);
    if contains_ignore_ascii_case(buf, b"authorization:") {
        return None;
    }
    let mut end = buf.len().checked_sub(longest.max(256))?;
    loop {
        let cut = buf[..end].iter().rposition(|b| !is_token_byte(*b))? + 1;
        let spanning = secrets
            .iter()
            .filter_map(|s| {
                let len = s.len();
                let from = cut.saturating_sub(len - 1);
                let to = (cut + len - 1).min(buf.len());
                memchr::memmem::find_iter(&buf[from..to], s.as_bytes())
                    .map(|i| from + i)
                    .find(|&at| at < cut && cut < at + len)
            })
            .min();
        match spanning {
            None => return Some(cut),
            Some(at) => end = at,
        }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.take(buf)?;
        Ok(buf.len())
    }

    /// Flushes complete lines only: a partial line may still grow into a
    /// secret.
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.write_pending_all();
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes_are_redacted() {
        let t = "push failed: https://x:ghp_0123456789abcdefghijABCDEFGHIJ@github.com";
        assert_eq!(redact(t), "push failed: https://x:[REDACTED]@github.com");
        let pat = "token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz end";
        assert_eq!(redact(pat), "token [REDACTED] end");
        for p in ["gho_", "ghu_", "ghs_", "ghr_"] {
            let s = format!("{p}{}", "a1".repeat(18));
            assert_eq!(redact(&s), REDACTED, "{p}");
        }
    }

    #[test]
    fn token_shapes_are_found_inside_words_and_encodings() {
        let t = "https://x-access-token%3Aghp_0123456789abcdefghijABCDEFGHIJ%40github.com";
        assert_eq!(
            redact(t),
            "https://x-access-token%3A[REDACTED]%40github.com"
        );
        assert_eq!(redact("nightghp_0123456789abcdefghij12"), "night[REDACTED]");
    }

    #[test]
    fn short_words_with_token_prefixes_survive() {
        assert_eq!(
            redact("see ghs_report and ghp_x"),
            "see ghs_report and ghp_x"
        );
    }

    #[test]
    fn authorization_values_are_redacted() {
        assert_eq!(
            redact("Authorization: Bearer abc.def\nnext"),
            "Authorization: [REDACTED]\nnext"
        );
        assert_eq!(
            redact(r#"{"h":"authorization: token xyz"}"#),
            r#"{"h":"authorization: [REDACTED]"}"#
        );
        // An escaped quote inside JSON text stays a valid escape.
        let json = r#"{"h":"authorization: a\"b"}"#;
        let red = redact(json);
        assert!(
            serde_json::from_str::<serde_json::Value>(&red).is_ok(),
            "{red}"
        );
    }

    #[test]
    fn configured_secrets_are_redacted() {
        let secrets = vec!["s3cr3t-value".to_string(), String::new()];
        assert_eq!(
            redact_with("key=s3cr3t-value;", &secrets),
            "key=[REDACTED];"
        );
    }

    #[test]
    fn registered_secrets_are_redacted_everywhere_and_in_bytes() {
        let env = [
            ("GH_TOKEN", "plain-looking-value-1"),
            ("MY_SECRET", "é-unicode-secret"),
            ("NOT_LISTED", "visible-value"),
            ("LIFELINE_AUDIT_KEY", "abc"),
        ];
        let found = env_secrets(&env, &["MY_SECRET".to_string()]);
        assert_eq!(found, vec!["plain-looking-value-1", "é-unicode-secret"]);
        register_env_secrets(&env, &["MY_SECRET".to_string()]);
        assert_eq!(
            redact("a plain-looking-value-1 b é-unicode-secret c visible-value"),
            "a [REDACTED] b [REDACTED] c visible-value"
        );
        let raw = b"\xff\xfeplain-looking-value-1\x00";
        assert_eq!(redact_bytes(raw).as_ref(), b"\xff\xfe[REDACTED]\x00");
    }

    #[test]
    fn the_writer_redacts_lines_split_across_writes() {
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ";
        let mut w = RedactingWriter::new(Vec::new());
        w.write_all(b"one ghp_0123456789").unwrap();
        w.write_all(b"abcdefghijABCDEFGHIJ two\n\xffthree ")
            .unwrap();
        w.write_all(token.as_bytes()).unwrap();
        let out = w.finish().unwrap();
        assert_eq!(out, b"one [REDACTED] two\n\xffthree [REDACTED]".to_vec());
    }

    #[test]
    fn long_lines_cut_in_pieces_redact_as_the_whole_line_would() {
        register_secrets(["se-cr-et-value-9".to_string()]);
        let mut line = Vec::new();
        let mut n = 0u32;
        while line.len() < 4 * MAX_LINE {
            n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            match n % 5 {
                0 => line.extend_from_slice(b"se-cr-et-value-9"),
                1 => line.extend_from_slice(b"ghp_0123456789abcdefghijKLMN"),
                2 => line.extend_from_slice(b"-"),
                _ => line.extend_from_slice(b"word "),
            }
        }
        let whole = redact_bytes(&line).into_owned();
        for chunk in [7, 1000, 65_537] {
            let mut w = RedactingWriter::new(Vec::new());
            for piece in line.chunks(chunk) {
                w.write_all(piece).unwrap();
            }
            assert!(w.finish().unwrap() == whole, "chunks of {chunk}");
        }
    }

    #[test]
    fn the_writer_cuts_long_lines_between_tokens() {
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ";
        let mut w = RedactingWriter::new(Vec::new());
        let mut line = Vec::new();
        while line.len() < 3 * MAX_LINE {
            line.extend_from_slice(format!("x {token} ").as_bytes());
        }
        for chunk in line.chunks(1000) {
            w.write_all(chunk).unwrap();
        }
        let out = w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("ghp_"), "a token survived");
        assert!(!text.contains("ABCDEFGHIJ"), "a token was split");
    }
}
