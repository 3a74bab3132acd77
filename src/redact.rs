//! Secret redaction, applied before anything is written or printed.
//!
//! GitHub token shapes (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`,
//! `github_pat_`), the value of an `Authorization:` header, and the values of
//! configured secret environment variables become `[REDACTED]`.

use std::borrow::Cow;

/// The text every secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

const TOKEN_PREFIXES: [&str; 6] = ["github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"];

/// Redacts token shapes and `Authorization:` values in `text`.
pub fn redact(text: &str) -> Cow<'_, str> {
    redact_with(text, &[])
}

/// Like [`redact`], and also replaces every occurrence of each of `secrets`
/// (values taken from the environment by the caller; empty ones ignored).
pub fn redact_with<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
        }
    }
    if TOKEN_PREFIXES.iter().any(|p| out.contains(p)) {
        out = Cow::Owned(redact_tokens(&out));
    }
    if contains_ignore_ascii_case(&out, "authorization:") {
        out = Cow::Owned(redact_authorization(&out));
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn redact_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for prefix in TOKEN_PREFIXES {
            if rest.starts_with(prefix) && !ends_with_token_char(&out) {
                let body_len = rest[prefix.len()..]
                    .find(|c: char| !is_token_char(c))
                    .unwrap_or(rest.len() - prefix.len());
                // Real tokens carry at least 20 characters after the prefix;
                // shorter runs are words like "ghs_report".
                if body_len >= 20 {
                    out.push_str(REDACTED);
                    rest = &rest[prefix.len() + body_len..];
                    continue 'outer;
                }
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn ends_with_token_char(s: &str) -> bool {
    s.chars().next_back().is_some_and(is_token_char)
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn redact_authorization(text: &str) -> String {
    let needle = b"authorization:";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes.len() - i >= needle.len()
            && bytes[i..i + needle.len()].eq_ignore_ascii_case(needle)
        {
            out.push_str(&text[i..i + needle.len()]);
            i += needle.len();
            // Keep the whitespace, replace the value up to the end of the line
            // or the end of a quoted string.
            while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
                out.push(bytes[i] as char);
                i += 1;
            }
            let end = text[i..]
                .find(['\n', '\r', '"', '\''])
                .map_or(text.len(), |n| i + n);
            if end > i {
                out.push_str(REDACTED);
            }
            i = end;
        } else {
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
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
    fn short_words_with_token_prefixes_survive() {
        assert_eq!(
            redact("see ghs_report and ghp_x"),
            "see ghs_report and ghp_x"
        );
        assert_eq!(
            redact("nightghp_0123456789abcdefghij12"),
            "nightghp_0123456789abcdefghij12"
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
    }

    #[test]
    fn configured_secrets_are_redacted() {
        let secrets = vec!["s3cr3t-value".to_string(), String::new()];
        assert_eq!(
            redact_with("key=s3cr3t-value;", &secrets),
            "key=[REDACTED];"
        );
    }
}
