//! Naming what went wrong in a guarded run, from the command's exit
//! status, what it printed on stderr, and the validation of the protected
//! files afterwards — the plan's failure patterns, so the configured
//! severity policy applies — and how long to wait before retrying a rate
//! limit.

use std::time::Duration;

use crate::config::Pattern;

/// What a finished command left to go on.
#[derive(Debug, Clone, Default)]
pub struct Evidence<'a> {
    /// The exit code (`None` when a signal ended it).
    pub exit_code: Option<i32>,
    /// The tail of its stderr.
    pub stderr: &'a str,
    /// The error rule codes of each protected file left invalid.
    pub invalid: Vec<Vec<&'a str>>,
}

/// The failure pattern of a failed run. Rate limits, credentials and
/// merge conflicts are named by what the command printed (they are causes;
/// a file they truncated is a symptom); then the broken files say what
/// kind of damage it is; then stderr's words for parse errors and
/// corruption; else `unknown`.
pub fn classify(evidence: &Evidence<'_>) -> Pattern {
    let text = evidence.stderr.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&[
        "rate limit",
        "rate-limit",
        "ratelimit",
        "secondary rate",
        "too many requests",
        "429",
        "x-ratelimit-remaining: 0",
        "abuse detection",
    ]) {
        return Pattern::RateLimit;
    }
    if has(&[
        "401",
        "bad credentials",
        "requires authentication",
        "authentication failed",
        "invalid token",
        "token expired",
        "expired token",
        "permission denied (publickey)",
        "resource not accessible by integration",
        "403",
    ]) {
        return Pattern::Auth;
    }
    if has(&[
        "conflict",
        "non-fast-forward",
        "rejected",
        "fetch first",
        "unmerged",
    ]) {
        return Pattern::MergeConflict;
    }
    let codes = || evidence.invalid.iter().flatten();
    if codes().any(|c| *c == "FILE004") {
        return Pattern::MergeConflict;
    }
    if codes().any(|c| {
        matches!(
            *c,
            "FILE001" | "FILE002" | "FILE003" | "FILE005" | "TASK006"
        )
    }) {
        return Pattern::Corruption;
    }
    if codes().any(|c| c.starts_with("SPRINT")) {
        return Pattern::SprintConfigCorruption;
    }
    if !evidence.invalid.is_empty() {
        return Pattern::ParseError;
    }
    if has(&[
        "parse error",
        "failed to parse",
        "could not parse",
        "syntax error",
        "jsondecodeerror",
        "unexpected token",
        "invalid json",
        "invalid yaml",
        "yaml.scanner",
    ]) {
        return Pattern::ParseError;
    }
    if has(&[
        "corrupt",
        "truncated",
        "no space left",
        "input/output error",
    ]) {
        return Pattern::Corruption;
    }
    Pattern::Unknown
}

/// The wait a rate-limited command asked for: a `Retry-After: N` (seconds
/// or an HTTP date), "retry after N seconds", or an `x-ratelimit-reset`
/// epoch second. The last one printed wins; `None` when there is none.
pub fn retry_hint(stderr: &str, now: jiff::Timestamp) -> Option<Duration> {
    let mut hint = None;
    for line in stderr.lines() {
        let lower = line.to_ascii_lowercase();
        if let Some(rest) = after(&lower, &["retry-after:", "retry after", "retry-after"]) {
            let rest = rest.trim_start_matches([' ', ':', '=']);
            if let Some(secs) = leading_number(rest) {
                hint = Some(Duration::from_secs(secs));
            } else if let Some(at) = http_date(line.split_once(':').map_or("", |(_, v)| v)) {
                hint = Some(until(now, at));
            }
        } else if let Some(rest) = after(&lower, &["x-ratelimit-reset:", "x-ratelimit-reset"]) {
            let rest = rest.trim_start_matches([' ', ':', '=']);
            if let Some(epoch) = leading_number(rest)
                && let Ok(at) = jiff::Timestamp::from_second(epoch as i64)
            {
                hint = Some(until(now, at));
            }
        }
    }
    hint
}

fn after<'a>(text: &'a str, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| text.find(k).map(|i| &text[i + k.len()..]))
}

fn leading_number(text: &str) -> Option<u64> {
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

fn http_date(text: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::rfc2822::parse(text.trim())
        .ok()
        .map(|z| z.timestamp())
}

fn until(now: jiff::Timestamp, at: jiff::Timestamp) -> Duration {
    let secs = at.as_second() - now.as_second();
    Duration::from_secs(secs.max(0) as u64)
}

/// The wait before retry `attempt` (1-based): `base` doubled each time,
/// capped at `max`, with "equal jitter" (half fixed, half random) so
/// parallel bots do not retry in step — never less than `hint`.
pub fn backoff(attempt: u32, base: Duration, max: Duration, hint: Option<Duration>) -> Duration {
    let exp = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(max);
    let half = exp / 2;
    let jitter = half.mul_f64(random_unit());
    let wait = half + jitter;
    match hint {
        Some(h) => wait.max(h.min(max)),
        None => wait,
    }
}

/// A number in [0, 1) from the standard library's per-process random
/// hash keys (no RNG dependency for one number per retry).
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_stderr(stderr: &str) -> Pattern {
        classify(&Evidence {
            exit_code: Some(1),
            stderr,
            invalid: vec![],
        })
    }

    #[test]
    fn github_and_git_messages_are_classified() {
        let cases = [
            (
                "gh: API rate limit exceeded for installation ID 123. (HTTP 403)",
                Pattern::RateLimit,
            ),
            (
                "You have exceeded a secondary rate limit. Please wait a few minutes",
                Pattern::RateLimit,
            ),
            ("HTTP 429: Too Many Requests", Pattern::RateLimit),
            ("gh: Bad credentials (HTTP 401)", Pattern::Auth),
            (
                "HTTP 403: Resource not accessible by integration",
                Pattern::Auth,
            ),
            (
                "remote: Invalid username or token.\nfatal: Authentication failed for 'https://github.com/o/r/'",
                Pattern::Auth,
            ),
            (
                "CONFLICT (content): Merge conflict in planning/TASK.md",
                Pattern::MergeConflict,
            ),
            (
                " ! [rejected]        main -> main (non-fast-forward)",
                Pattern::MergeConflict,
            ),
            (
                "json.decoder.JSONDecodeError: Expecting value: line 1 column 1",
                Pattern::ParseError,
            ),
            (
                "Error: failed to parse TASK.md table at line 12",
                Pattern::ParseError,
            ),
            ("write error: No space left on device", Pattern::Corruption),
            ("something odd happened", Pattern::Unknown),
            ("", Pattern::Unknown),
        ];
        for (text, want) in cases {
            assert_eq!(from_stderr(text), want, "{text}");
        }
    }

    #[test]
    fn broken_files_name_the_damage_when_stderr_does_not() {
        let evidence = |codes: Vec<&'static str>| Evidence {
            exit_code: Some(0),
            stderr: "done",
            invalid: vec![codes],
        };
        assert_eq!(classify(&evidence(vec!["FILE004"])), Pattern::MergeConflict);
        assert_eq!(classify(&evidence(vec!["FILE002"])), Pattern::Corruption);
        assert_eq!(
            classify(&evidence(vec!["SPRINT001"])),
            Pattern::SprintConfigCorruption
        );
        assert_eq!(classify(&evidence(vec!["TASK011"])), Pattern::ParseError);
        let mut rate = evidence(vec!["FILE002"]);
        rate.stderr = "rate limit exceeded";
        assert_eq!(classify(&rate), Pattern::RateLimit, "the cause wins");
    }

    #[test]
    fn retry_hints_are_read_from_headers_and_messages() {
        let now: jiff::Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let secs = |s: u64| Some(Duration::from_secs(s));
        assert_eq!(retry_hint("< Retry-After: 30\n", now), secs(30));
        assert_eq!(
            retry_hint("secondary rate limit; retry after 7 seconds", now),
            secs(7)
        );
        let reset = now.as_second() + 90;
        assert_eq!(
            retry_hint(&format!("x-ratelimit-reset: {reset}"), now),
            secs(90)
        );
        assert_eq!(
            retry_hint("Retry-After: Wed, 25 Nov 2026 12:01:00 GMT", now),
            secs(60)
        );
        assert_eq!(
            retry_hint("x-ratelimit-reset: 1", now),
            secs(0),
            "already past"
        );
        assert_eq!(retry_hint("no hint here", now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_honours_the_hint() {
        let base = Duration::from_secs(2);
        let max = Duration::from_secs(60);
        for attempt in 1..=8u32 {
            let exp = (base * 2u32.pow(attempt - 1)).min(max);
            let wait = backoff(attempt, base, max, None);
            assert!(
                wait >= exp / 2 && wait <= exp,
                "attempt {attempt}: {wait:?}"
            );
        }
        let hinted = backoff(1, base, max, Some(Duration::from_secs(30)));
        assert!(hinted >= Duration::from_secs(30));
        let capped = backoff(1, base, max, Some(Duration::from_secs(3600)));
        assert!(capped <= max);
    }
}
